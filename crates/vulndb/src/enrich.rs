//! Severity, CVSS base scores, and the risk score.
//!
//! # The risk score
//!
//! A number from 0 to 100 ranking what to fix first, always shown with the
//! reasons that made it:
//!
//! | part | points |
//! |---|---|
//! | severity: the CVSS base score x 6, or without a vector 54/42/27/12/3/30 for critical/high/medium/low/info/unknown | 0-60 |
//! | EPSS: the probability of exploitation in the next 30 days x 20 | 0-20 |
//! | listed in CISA KEV (known exploited) | +15 |
//! | KEV says it is used in ransomware campaigns | +5 |
//!
//! A malicious package (`MAL-*`) scores 100. The score is rounded to one
//! decimal. Whether a fix exists and whether the match is certain do not
//! change the score; they are listed as reasons.

use std::str::FromStr;

use rampart_model::Severity;
use serde::Serialize;

use crate::feeds::kev::KevEntry;
use crate::osv::SeverityScore;
use crate::store::EpssScore;

/// One CVSS vector with its computed base score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CvssScore {
    /// `2.0`, `3.0`, `3.1` or `4.0`.
    pub version: String,
    pub vector: String,
    /// `None` when the vector does not parse (see `error`).
    pub base_score: Option<f64>,
    pub severity: Option<Severity>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The qualitative rating of a CVSS v3/v4 base score (used for v2 too).
#[must_use]
pub fn severity_from_score(score: f64) -> Severity {
    if score >= 9.0 {
        Severity::Critical
    } else if score >= 7.0 {
        Severity::High
    } else if score >= 4.0 {
        Severity::Medium
    } else if score > 0.0 {
        Severity::Low
    } else {
        Severity::Info
    }
}

/// A severity as sources write it: GitHub `LOW`/`MODERATE`/`HIGH`/
/// `CRITICAL`, Debian urgencies (`unimportant`, `low`, `medium`, `high`,
/// with a trailing `*` sometimes), Ubuntu priorities (`negligible`...).
/// `not yet assigned`, `end-of-life` and unknown words give `None`.
#[must_use]
pub fn source_severity(s: &str) -> Option<Severity> {
    let s = s.trim().trim_end_matches('*').trim().to_ascii_lowercase();
    Some(match s.as_str() {
        "critical" => Severity::Critical,
        "high" | "important" => Severity::High,
        "moderate" | "medium" => Severity::Medium,
        "low" => Severity::Low,
        "unimportant" | "negligible" | "none" => Severity::Info,
        _ => return None,
    })
}

/// Parses the CVSS vectors of a `severity[]` list and computes their base
/// scores with the RustSec `cvss` crate. Other score types are skipped.
#[must_use]
pub fn cvss_scores(list: &[SeverityScore]) -> Vec<CvssScore> {
    list.iter()
        .filter(|s| s.kind.starts_with("CVSS_V"))
        .map(|s| {
            let vector = s.score.trim().to_string();
            let declared = match s.kind.as_str() {
                "CVSS_V2" => "2.0",
                "CVSS_V4" => "4.0",
                _ if vector.starts_with("CVSS:3.0/") => "3.0",
                _ => "3.1",
            };
            match cvss::Cvss::from_str(&vector) {
                Ok(c) => {
                    let version = match c {
                        cvss::Cvss::CvssV20(_) => "2.0",
                        cvss::Cvss::CvssV30(_) => "3.0",
                        cvss::Cvss::CvssV31(_) => "3.1",
                        cvss::Cvss::CvssV40(_) => "4.0",
                        _ => declared,
                    };
                    let score = c.score();
                    CvssScore {
                        version: version.to_string(),
                        vector,
                        base_score: Some(score),
                        severity: Some(severity_from_score(score)),
                        error: None,
                    }
                }
                Err(e) => CvssScore {
                    version: declared.to_string(),
                    vector,
                    base_score: None,
                    severity: None,
                    error: Some(e.to_string()),
                },
            }
        })
        .collect()
}

/// The score a finding's severity comes from: the newest CVSS version
/// present (4.0 over 3.1 over 3.0 over 2.0), its highest score.
#[must_use]
pub fn primary_cvss(scores: &[CvssScore]) -> Option<&CvssScore> {
    scores
        .iter()
        .filter(|s| s.base_score.is_some())
        .max_by(|a, b| {
            a.version.cmp(&b.version).then(
                a.base_score
                    .unwrap_or(0.0)
                    .total_cmp(&b.base_score.unwrap_or(0.0)),
            )
        })
}

/// A risk score with the reasons behind it (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Risk {
    pub score: f64,
    pub reasons: Vec<String>,
}

/// What the risk score reads.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RiskInput<'a> {
    pub malicious: bool,
    pub severity: Severity,
    pub severity_reason: &'a str,
    pub cvss: Option<&'a CvssScore>,
    pub epss: Option<EpssScore>,
    pub epss_date: Option<&'a str>,
    pub kev: Option<&'a KevEntry>,
    pub fixed: &'a [String],
    pub unknown_reason: Option<&'a str>,
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(crate) fn risk(i: &RiskInput<'_>) -> Risk {
    let mut reasons = Vec::new();
    let mut score;
    if i.malicious {
        score = 100.0;
        reasons.push("malicious package: remove it and treat the host as compromised".to_string());
    } else {
        match i.cvss.and_then(|c| c.base_score.map(|s| (c, s))) {
            Some((c, s)) => {
                score = s * 6.0;
                reasons.push(format!(
                    "CVSS {} base score {s:.1} ({}): +{:.1}",
                    c.version,
                    severity_from_score(s),
                    s * 6.0
                ));
            }
            None => {
                score = match i.severity {
                    Severity::Critical => 54.0,
                    Severity::High => 42.0,
                    Severity::Medium => 27.0,
                    Severity::Low => 12.0,
                    Severity::Info => 3.0,
                    Severity::Unknown => 30.0,
                };
                reasons.push(format!(
                    "no CVSS vector; severity {} {}: +{score:.0}",
                    i.severity, i.severity_reason
                ));
            }
        }
        if let Some(e) = i.epss {
            score += e.score * 20.0;
            let date = i
                .epss_date
                .map(|d| format!(", scores of {}", d.get(..10).unwrap_or(d)))
                .unwrap_or_default();
            reasons.push(format!(
                "EPSS {:.1}% chance of exploitation within 30 days (percentile {:.1}{date}): +{:.1}",
                e.score * 100.0,
                e.percentile * 100.0,
                e.score * 20.0
            ));
        }
        if let Some(k) = i.kev {
            score += 15.0;
            reasons.push(format!(
                "in CISA KEV (known exploited) since {}: +15",
                k.date_added
            ));
            if k.ransomware {
                score += 5.0;
                reasons.push("CISA KEV: known use in ransomware campaigns: +5".to_string());
            }
        }
    }
    if let Some(u) = i.unknown_reason {
        reasons.push(format!("match uncertain: {u}"));
    } else if !i.malicious {
        if i.fixed.is_empty() {
            reasons.push("no fixed version released".to_string());
        } else {
            reasons.push(format!("fixed in {}", i.fixed.join(", ")));
        }
    }
    Risk {
        score: round1(score.min(100.0)),
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sev(kind: &str, score: &str) -> SeverityScore {
        SeverityScore {
            kind: kind.into(),
            score: score.into(),
        }
    }

    #[test]
    fn computes_v2_v3_v4_base_scores() {
        let s = cvss_scores(&[
            sev("CVSS_V3", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"),
            sev("CVSS_V2", "AV:N/AC:L/Au:N/C:P/I:P/A:P"),
            sev(
                "CVSS_V4",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            ),
            sev("CVSS_V3", "garbage"),
            sev("Ubuntu", "medium"),
        ]);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].base_score, Some(10.0));
        assert_eq!(s[0].version, "3.1");
        assert_eq!(s[1].base_score, Some(7.5));
        assert_eq!(s[2].base_score, Some(9.3));
        assert!(s[3].error.is_some());
        assert_eq!(primary_cvss(&s).unwrap().version, "4.0");
    }

    #[test]
    fn source_severities() {
        assert_eq!(source_severity("MODERATE"), Some(Severity::Medium));
        assert_eq!(source_severity("low*"), Some(Severity::Low));
        assert_eq!(source_severity("unimportant"), Some(Severity::Info));
        assert_eq!(source_severity("not yet assigned"), None);
    }

    #[test]
    fn risk_adds_up_with_reasons() {
        let c = cvss_scores(&[sev(
            "CVSS_V3",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H",
        )]);
        let kev = KevEntry {
            cve: "CVE-2021-44228".into(),
            date_added: "2021-12-10".into(),
            due_date: None,
            ransomware: true,
            vendor: String::new(),
            product: String::new(),
            name: String::new(),
        };
        let r = risk(&RiskInput {
            malicious: false,
            severity: Severity::Critical,
            severity_reason: "",
            cvss: c.first(),
            epss: Some(EpssScore {
                score: 0.5,
                percentile: 0.99,
            }),
            epss_date: Some("2026-08-16T00:00:00+0000"),
            kev: Some(&kev),
            fixed: &["2.15.0".to_string()],
            unknown_reason: None,
        });
        assert_eq!(r.score, 90.0);
        assert_eq!(r.reasons.len(), 5);
        assert!(r.reasons[1].contains("2026-08-16"));
        let low = risk(&RiskInput {
            malicious: false,
            severity: Severity::Low,
            severity_reason: "from GitHub",
            cvss: None,
            epss: None,
            epss_date: None,
            kev: None,
            fixed: &[],
            unknown_reason: None,
        });
        assert_eq!(low.score, 12.0);
        assert_eq!(low.reasons[1], "no fixed version released");
    }
}
