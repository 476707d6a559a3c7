//! The exploitability score: 0-100, the sum of the contributions below,
//! clamped, rounded to one decimal. Every contribution is a [`Reason`].
//! Rankings order by the unclamped sum, so two findings that both show 100
//! (or 0) still come in a meaningful order.
//!
//! | factor | contribution |
//! |---|---|
//! | `cvss` | 4 x the CVSS base score (0-40) |
//! | `severity` | without a CVSS score: critical 36, high 28, medium 18, low 8, info 2, unknown 16 |
//! | `attack_vector` | from the vector's `AV`: network +8, adjacent +3, local 0, physical -4; unreadable or absent: 0, shown as unknown |
//! | `epss` | +15 x the EPSS probability |
//! | `kev` | in CISA KEV +15 |
//! | `ransomware` | KEV lists known ransomware use +5 |
//! | `fix` | a fixed version exists +2 (actionable); none: 0, shown |
//! | `runtime` | package in use +10; not in use -15; unknown 0, shown as unknown |
//! | `exposure` | hops from the internet to the node: 1 -> +20, 2 -> +17, 3 -> +14, 4 -> +11, 5 or more -> +8; no path on an observed topology -> -10; topology unknown (node not observed) -> 0, shown as unknown |
//! | `malware_here` | vulnerabilities and secrets on a node with a malware finding +8 |
//! | `secret_here` | vulnerabilities on a node with a secret finding +4 |
//! | `malware` | a malware finding itself +20 (the attacker is already there) |
//! | `credential` | a secret that opens other monitored nodes: +5 per node, at most +10 |
//!
//! Runtime use and the attack vector only apply to vulnerabilities; EPSS,
//! KEV and fixes only when the advisory data has them.

use std::fmt::Write as _;

use rampart_model::Severity;
use serde::{Deserialize, Serialize};

use crate::cvss::{AttackVector, attack_vector};
use crate::model::{Finding, FindingKind};
use crate::runtime::{UnknownUse, Use};

/// What a contribution is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Factor {
    Cvss,
    Severity,
    AttackVector,
    Epss,
    Kev,
    Ransomware,
    Fix,
    Runtime,
    Exposure,
    MalwareHere,
    SecretHere,
    Malware,
    Credential,
}

/// One contribution to a score, with what it is based on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    pub factor: Factor,
    /// Points added (negative: ranked lower).
    pub points: f64,
    /// What the contribution is based on, in words; `unknown: ...` when the
    /// evidence is missing (0 points, never assumed either way).
    pub detail: String,
}

/// How far the internet is from a node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reach", rename_all = "snake_case")]
pub enum Reach {
    /// Reachable in this many hops (1: exposed directly).
    Hops { hops: u32 },
    /// Observed and not reachable.
    Isolated,
    /// Not observed: no topology to tell.
    Unknown,
}

/// The per-finding facts the score reads, resolved by the analysis.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub reach: Reach,
    pub runtime: Option<Use<'a>>,
    pub malware_here: u32,
    pub secret_here: u32,
    pub credential_targets: u32,
}

struct Acc<'r> {
    total: f64,
    reasons: Option<&'r mut Vec<Reason>>,
}

impl Acc<'_> {
    fn add(&mut self, factor: Factor, points: f64, detail: impl FnOnce() -> String) {
        self.total += points;
        if let Some(r) = self.reasons.as_deref_mut() {
            r.push(Reason {
                factor,
                points,
                detail: detail(),
            });
        }
    }
}

fn severity_points(s: Severity) -> f64 {
    match s {
        Severity::Critical => 36.0,
        Severity::High => 28.0,
        Severity::Medium => 18.0,
        Severity::Low => 8.0,
        Severity::Info => 2.0,
        Severity::Unknown => 16.0,
    }
}

/// Exposure points for a hop count (1 = exposed directly).
#[must_use]
pub fn hop_points(hops: u32) -> f64 {
    match hops {
        0 | 1 => 20.0,
        2 => 17.0,
        3 => 14.0,
        4 => 11.0,
        _ => 8.0,
    }
}

/// The shown score: the sum clamped to 0-100, one decimal.
#[must_use]
pub fn shown(raw: f64) -> f64 {
    (raw.clamp(0.0, 100.0) * 10.0).round() / 10.0
}

/// Scores one finding: the raw sum of the contributions (the ranking key,
/// which orders findings that both show 100); [`shown`] makes it the score.
/// The reasons go to `reasons` when given.
pub(crate) fn score(f: &Finding, cx: &Context<'_>, reasons: Option<&mut Vec<Reason>>) -> f64 {
    let mut acc = Acc {
        total: 0.0,
        reasons,
    };
    let vuln = f
        .vulnerability
        .as_ref()
        .filter(|_| f.kind == FindingKind::Vulnerability);
    match vuln.and_then(|v| v.cvss_score) {
        Some(s) => acc.add(Factor::Cvss, 4.0 * s, || {
            format!("CVSS base score {s:.1}: 4 x {s:.1}")
        }),
        None => {
            let p = severity_points(f.severity);
            acc.add(Factor::Severity, p, || format!("severity {}", f.severity));
        }
    }
    if let Some(v) = vuln {
        match v.cvss_vector.as_deref().map(attack_vector) {
            Some(Ok(av)) => {
                let p = match av {
                    AttackVector::Network => 8.0,
                    AttackVector::Adjacent => 3.0,
                    AttackVector::Local => 0.0,
                    AttackVector::Physical => -4.0,
                };
                acc.add(Factor::AttackVector, p, || {
                    format!("attack vector {}", av.as_str())
                });
            }
            Some(Err(e)) => acc.add(Factor::AttackVector, 0.0, || {
                format!("unknown: the CVSS vector is unreadable ({e})")
            }),
            None => acc.add(Factor::AttackVector, 0.0, || {
                "unknown: no CVSS vector".into()
            }),
        }
        if let Some(p) = v.epss {
            acc.add(Factor::Epss, 15.0 * p, || {
                let mut d = format!("EPSS {:.1}% chance of exploitation in 30 days", p * 100.0);
                if let Some(pc) = v.epss_percentile {
                    let _ = write!(d, " (percentile {:.1})", pc * 100.0);
                }
                d
            });
        }
        if v.kev {
            acc.add(Factor::Kev, 15.0, || "in CISA KEV: known exploited".into());
            if v.ransomware {
                acc.add(Factor::Ransomware, 5.0, || {
                    "CISA KEV: known use in ransomware campaigns".into()
                });
            }
        }
        if v.fixed_versions.is_empty() {
            acc.add(Factor::Fix, 0.0, || "no fixed version released".into());
        } else {
            acc.add(Factor::Fix, 2.0, || {
                format!("fixed in {}", v.fixed_versions.join(", "))
            });
        }
        match cx.runtime {
            Some(Use::InUse(file)) => acc.add(Factor::Runtime, 10.0, || {
                format!("package in use: {file} is loaded or open")
            }),
            Some(Use::NotInUse) => acc.add(Factor::Runtime, -15.0, || {
                "package not in use: no running process loads or opens any of its files".into()
            }),
            Some(Use::Unknown(why)) => acc.add(Factor::Runtime, 0.0, || {
                format!("unknown runtime use: {}", why.as_str())
            }),
            None => acc.add(Factor::Runtime, 0.0, || {
                format!("unknown runtime use: {}", UnknownUse::NoPackage.as_str())
            }),
        }
    }
    match cx.reach {
        Reach::Hops { hops } => acc.add(Factor::Exposure, hop_points(hops), || {
            if hops <= 1 {
                "exposed to the internet directly".into()
            } else {
                format!("reachable from the internet in {hops} hops")
            }
        }),
        Reach::Isolated => acc.add(Factor::Exposure, -10.0, || {
            "no path from the internet".into()
        }),
        Reach::Unknown => acc.add(Factor::Exposure, 0.0, || {
            "unknown exposure: the node's network was not observed".into()
        }),
    }
    match f.kind {
        FindingKind::Malware => acc.add(Factor::Malware, 20.0, || {
            "malware found: the attacker may already be there".into()
        }),
        FindingKind::Vulnerability | FindingKind::Secret if cx.malware_here > 0 => {
            let n = cx.malware_here;
            acc.add(Factor::MalwareHere, 8.0, || {
                format!("{n} malware finding(s) on the same node")
            });
        }
        _ => {}
    }
    if f.kind == FindingKind::Vulnerability && cx.secret_here > 0 {
        let n = cx.secret_here;
        acc.add(Factor::SecretHere, 4.0, || {
            format!("{n} secret(s) on the same node")
        });
    }
    if f.kind == FindingKind::Secret && cx.credential_targets > 0 {
        let n = cx.credential_targets;
        acc.add(Factor::Credential, (5.0 * f64::from(n)).min(10.0), || {
            format!("the credential names {n} other monitored node(s)")
        });
    }
    acc.total
}
