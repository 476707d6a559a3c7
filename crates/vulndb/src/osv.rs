//! The OSV schema (<https://ossf.github.io/osv-schema/>), Rampart's internal
//! advisory model for every source.
//!
//! Deserialisation is lenient where real feeds are: `null` in place of a
//! list, `affected` entries without a `package`, unknown fields, and
//! placeholder dates (`0001-01-01T00:00:00Z` in Go vulndb records) are all
//! accepted; [`Vulnerability::published_date`] and friends hide the
//! placeholders.

use serde::{Deserialize, Deserializer, Serialize};

fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One OSV record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Vulnerability {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub aliases: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub related: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "null_default")]
    pub affected: Vec<Affected>,
    #[serde(default, deserialize_with = "null_default")]
    pub references: Vec<Reference>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// True for the `0001-01-01...` placeholder some feeds put in date fields.
fn real_date(d: Option<&str>) -> Option<&str> {
    d.filter(|d| !d.is_empty() && !d.starts_with("0001-"))
}

impl Vulnerability {
    /// `published`, without placeholder dates.
    #[must_use]
    pub fn published_date(&self) -> Option<&str> {
        real_date(self.published.as_deref())
    }

    /// `modified`, without placeholder dates.
    #[must_use]
    pub fn modified_date(&self) -> Option<&str> {
        real_date(self.modified.as_deref())
    }

    /// True when the record has been withdrawn (a real `withdrawn` date).
    #[must_use]
    pub fn is_withdrawn(&self) -> bool {
        real_date(self.withdrawn.as_deref()).is_some()
    }

    /// True for OpenSSF malicious-package records (`MAL-*`).
    #[must_use]
    pub fn is_malicious(&self) -> bool {
        self.id.starts_with("MAL-")
    }

    /// `database_specific.severity` (GitHub: `LOW`/`MODERATE`/`HIGH`/`CRITICAL`).
    #[must_use]
    pub fn source_severity(&self) -> Option<&str> {
        self.database_specific
            .as_ref()
            .and_then(|d| d.get("severity"))
            .and_then(serde_json::Value::as_str)
    }
}

/// A `severity[]` entry: a scoring system and its vector.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityScore {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub score: String,
}

/// A reference link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reference {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub url: String,
}

/// The package an `affected` entry is about. Real records sometimes carry
/// `"package": {}` (for GIT-only entries): every field defaults to empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsvPackage {
    #[serde(default)]
    pub ecosystem: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

/// One `affected[]` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Affected {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<OsvPackage>,
    #[serde(default, deserialize_with = "null_default")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, deserialize_with = "null_default")]
    pub ranges: Vec<Range>,
    #[serde(default, deserialize_with = "null_default")]
    pub versions: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ecosystem_specific: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_specific: Option<serde_json::Value>,
}

/// The kind of a range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RangeType {
    /// Versions ordered by the ecosystem's own rules.
    Ecosystem,
    /// Semantic Versioning 2.0.
    Semver,
    /// Commit hashes: ignored by version matching.
    Git,
    /// Anything else, kept as written (ignored by matching).
    Other(String),
}

impl<'de> Deserialize<'de> for RangeType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "ECOSYSTEM" => RangeType::Ecosystem,
            "SEMVER" => RangeType::Semver,
            "GIT" => RangeType::Git,
            _ => RangeType::Other(s),
        })
    }
}

impl Serialize for RangeType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(match self {
            RangeType::Ecosystem => "ECOSYSTEM",
            RangeType::Semver => "SEMVER",
            RangeType::Git => "GIT",
            RangeType::Other(o) => o,
        })
    }
}

/// One `ranges[]` entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Range {
    #[serde(rename = "type")]
    pub kind: RangeType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repo: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub events: Vec<Event>,
}

/// One range event. OSV writes each as an object with exactly one of these
/// keys; an object with none is ignored by matching.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub introduced: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_affected: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl Event {
    /// An `introduced` event.
    #[must_use]
    pub fn introduced(v: &str) -> Self {
        Event {
            introduced: Some(v.to_string()),
            ..Event::default()
        }
    }
    /// A `fixed` event.
    #[must_use]
    pub fn fixed(v: &str) -> Self {
        Event {
            fixed: Some(v.to_string()),
            ..Event::default()
        }
    }
    /// A `last_affected` event.
    #[must_use]
    pub fn last_affected(v: &str) -> Self {
        Event {
            last_affected: Some(v.to_string()),
            ..Event::default()
        }
    }
    /// A `limit` event.
    #[must_use]
    pub fn limit(v: &str) -> Self {
        Event {
            limit: Some(v.to_string()),
            ..Event::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_data_quirks_parse() {
        let json = r#"{"id":"GO-2024-0001","modified":"0001-01-01T00:00:00Z",
            "published":"0001-01-01T00:00:00Z","aliases":null,
            "affected":[{"package":{},"ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"abc"}]}]},
                        {"package":{"ecosystem":"Go","name":"m"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.2.0"}]}],
                         "ecosystem_specific":{"imports":[]}}],
            "severity":null, "unknown_field": 3}"#;
        let v: Vulnerability = serde_json::from_str(json).unwrap();
        assert!(v.published_date().is_none());
        assert!(v.aliases.is_empty());
        assert_eq!(v.affected.len(), 2);
        assert_eq!(v.affected[0].ranges[0].kind, RangeType::Git);
        assert_eq!(v.affected[1].ranges[0].events[1], Event::fixed("1.2.0"));
        assert!(!v.is_withdrawn());
    }
}
