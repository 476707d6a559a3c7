//! The CISA Known Exploited Vulnerabilities catalog (JSON feed).

use std::io::Read;

use serde::{Deserialize, Serialize};

use crate::error::{DbError, Result};

/// One KEV entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KevEntry {
    pub cve: String,
    /// `dateAdded` (YYYY-MM-DD).
    pub date_added: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_date: Option<String>,
    /// `knownRansomwareCampaignUse` is `Known`.
    pub ransomware: bool,
    #[serde(default)]
    pub vendor: String,
    #[serde(default)]
    pub product: String,
    #[serde(default)]
    pub name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Catalog {
    #[serde(default)]
    catalog_version: Option<String>,
    vulnerabilities: Vec<Raw>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    #[serde(rename = "cveID")]
    cve_id: String,
    #[serde(default)]
    vendor_project: String,
    #[serde(default)]
    product: String,
    #[serde(default)]
    vulnerability_name: String,
    #[serde(default)]
    date_added: String,
    #[serde(default)]
    due_date: Option<String>,
    #[serde(default)]
    known_ransomware_campaign_use: Option<String>,
}

/// A parsed catalog.
#[derive(Debug, Clone, Default)]
pub struct KevCatalog {
    pub version: Option<String>,
    pub entries: Vec<KevEntry>,
}

/// Reads a KEV catalog, at most `limit` bytes.
///
/// # Errors
/// [`DbError::Kev`] when the document is not a KEV catalog,
/// [`DbError::Limit`] when it is larger than `limit`.
pub fn read(mut r: impl Read, path: &str, limit: u64) -> Result<KevCatalog> {
    let mut buf = Vec::new();
    r.by_ref()
        .take(limit.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(|e| DbError::Kev {
            path: path.to_string(),
            message: e.to_string(),
        })?;
    if buf.len() as u64 > limit {
        return Err(DbError::Limit {
            path: path.to_string(),
            what: "the KEV catalog".into(),
            limit,
        });
    }
    let cat: Catalog = serde_json::from_slice(&buf).map_err(|e| DbError::Kev {
        path: path.to_string(),
        message: e.to_string(),
    })?;
    let entries = cat
        .vulnerabilities
        .into_iter()
        .filter(|v| v.cve_id.starts_with("CVE-"))
        .map(|v| KevEntry {
            cve: v.cve_id,
            date_added: v.date_added,
            due_date: v.due_date.filter(|d| !d.is_empty()),
            ransomware: v
                .known_ransomware_campaign_use
                .is_some_and(|k| k.eq_ignore_ascii_case("known")),
            vendor: v.vendor_project,
            product: v.product,
            name: v.vulnerability_name,
        })
        .collect();
    Ok(KevCatalog {
        version: cat.catalog_version,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_catalog() {
        let json = br#"{"catalogVersion":"2026.08.07","count":1,"vulnerabilities":[
            {"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","vulnerabilityName":"Log4Shell",
             "dateAdded":"2021-12-10","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known"}]}"#;
        let c = read(&json[..], "kev.json", 1 << 20).unwrap();
        assert_eq!(c.entries.len(), 1);
        assert!(c.entries[0].ransomware);
        assert!(read(&b"{}"[..], "kev.json", 1 << 20).is_err());
        assert!(matches!(
            read(&json[..], "kev.json", 10),
            Err(DbError::Limit { .. })
        ));
    }
}
