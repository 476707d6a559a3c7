//! The `vuln` scanner of `rampart scan`: catalog the target, match its
//! packages against the local advisory database, and write the findings.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use rampart_graph::RankedFinding;
use rampart_model::ScannerKind;
use rampart_model::Severity;
use rampart_sbom::{Package, Sbom};
use rampart_vulndb::{Database, DistroRef, Finding, MatchReport, MatchStatus, PackageRef};
use serde_json::{Value, json};

use crate::report::{self, Case, CaseFinding, Item, LayerLoc, Location, RuleInfo, Section};

/// What a vulnerability scan found.
#[derive(Debug, serde::Serialize)]
pub struct VulnReport {
    pub target: String,
    pub kind: String,
    /// Findings kept after filters, most risky first.
    pub findings: Vec<Finding>,
    /// Packages with no advisory source, with the reason.
    pub skipped: Vec<SkippedPackage>,
    /// Findings left out on purpose (ignore file entries, VEX statements).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub suppressed: Vec<Suppressed>,
    /// Warnings about the database (age) and expired ignore entries.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip)]
    pub sbom: Sbom,
}

#[derive(Debug, serde::Serialize)]
pub struct SkippedPackage {
    pub purl: String,
    pub reason: String,
}

/// Filters chosen on the command line.
#[derive(Debug, Clone, Copy, Default)]
pub struct Filters {
    pub min_severity: Option<Severity>,
    pub ignore_unfixed: bool,
}

/// Turns an SBOM package into what matching reads.
fn package_ref(p: &Package, sbom: &Sbom) -> PackageRef {
    PackageRef {
        ecosystem: p.ecosystem.purl_type().to_string(),
        name: p.name.clone(),
        namespace: p.namespace.clone(),
        version: p.version.clone(),
        source_name: p.source_name.clone(),
        source_version: p.source_version.clone(),
        epoch: p.epoch,
        distro: if p.ecosystem.is_os() {
            sbom.distro.as_ref().map(|d| DistroRef {
                id: d.id.clone(),
                version_id: d.version_id.clone(),
                codename: d.version_codename.clone(),
            })
        } else {
            None
        },
        purl: Some(p.purl.clone()),
    }
}

/// Matches a cataloged target.
pub fn scan(sbom: Sbom, db_dir: &Path, max_age_days: u64, filters: Filters) -> Result<VulnReport> {
    let db = Database::open(db_dir).with_context(|| {
        format!(
            "opening the advisory database in {} (run `rampart db update`, or `rampart db import DIR` offline)",
            db_dir.display()
        )
    })?;
    let mut warnings = Vec::new();
    if let Ok(status) = db.status() {
        let max_age = std::time::Duration::from_secs(max_age_days * 86_400);
        for s in status.stale_sources(std::time::SystemTime::now(), max_age) {
            warnings.push(format!(
                "advisory source {} is older than {max_age_days} days",
                s.name
            ));
        }
    }
    let refs: Vec<PackageRef> = sbom
        .packages
        .iter()
        .map(|p| package_ref(p, &sbom))
        .collect();
    let MatchReport { findings, skipped } = db.match_report(&refs).context("matching packages")?;
    let mut findings: Vec<Finding> = findings
        .into_iter()
        .filter(|f| filters.min_severity.is_none_or(|min| f.severity >= min))
        // Malicious packages have no fix by nature: never hidden by
        // --ignore-unfixed.
        .filter(|f| {
            !(filters.ignore_unfixed
                && f.status == MatchStatus::Unfixed
                && f.kind != rampart_vulndb::FindingKind::Malicious)
        })
        .collect();
    findings.sort_by(|a, b| {
        b.risk
            .score
            .total_cmp(&a.risk.score)
            .then_with(|| a.package_name.cmp(&b.package_name))
            .then_with(|| a.id.cmp(&b.id))
    });
    let skipped = skipped
        .into_iter()
        .map(|s| SkippedPackage {
            purl: sbom
                .packages
                .get(s.package)
                .map(|p| p.purl.clone())
                .unwrap_or_default(),
            reason: s.reason,
        })
        .collect();
    Ok(VulnReport {
        target: sbom.target.clone(),
        kind: sbom.kind.clone(),
        findings,
        skipped,
        suppressed: Vec::new(),
        warnings,
        sbom,
    })
}

fn fixed(f: &Finding) -> String {
    match f.status {
        MatchStatus::Unfixed => "(unfixed)".to_string(),
        MatchStatus::Unknown => "(unknown)".to_string(),
        MatchStatus::Affected => f.fixed_versions.join(", "),
    }
}

/// The exploitability score of each finding as ThreatGraph computes it for
/// a standalone scan: runtime use and exposure are unknown (0 points, said
/// so in the reasons), never assumed.
fn exploitability(target: &str, kind: &str, findings: &[Finding]) -> Vec<Option<RankedFinding>> {
    let graph_findings = findings
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let record = serde_json::to_value(f).unwrap_or(Value::Null);
            rampart_graph::Finding {
                id: i.to_string(),
                node: String::new(),
                kind: rampart_graph::FindingKind::Vulnerability,
                severity: f.severity,
                rule_id: f.id.clone(),
                vulnerability: Some(rampart_console::threat::vulnerability_facts(&record)),
                targets: Vec::new(),
            }
        })
        .collect();
    let node_kind = if kind.contains("image") {
        rampart_graph::NodeKind::Image
    } else {
        rampart_graph::NodeKind::Host
    };
    let node = if target.is_empty() { "target" } else { target };
    match rampart_graph::Analysis::run(rampart_graph::GraphInput::standalone(
        node,
        node_kind,
        graph_findings,
    )) {
        Ok(a) => (0..findings.len())
            .map(|i| a.explain(&i.to_string()))
            .collect(),
        Err(e) => {
            tracing::warn!("exploitability scores: {e}");
            vec![None; findings.len()]
        }
    }
}

/// `factor: points: detail` lines (SARIF properties).
fn reason_lines(r: &RankedFinding) -> Vec<String> {
    r.reasons
        .iter()
        .map(|x| {
            let factor = serde_json::to_value(x.factor)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            format!(
                "{factor}: {}: {}",
                crate::graph::signed_points(x.points),
                x.detail
            )
        })
        .collect()
}

/// The JSON of an exploitability score.
fn exploitability_json(r: &RankedFinding) -> Value {
    json!({
        "score": r.score,
        "exposure": "unknown",
        "runtime": "unknown",
        "reasons": r.reasons,
    })
}

impl VulnReport {
    fn table_rows(&self) -> Vec<[String; 8]> {
        let exploit = exploitability(&self.target, &self.kind, &self.findings);
        self.findings
            .iter()
            .zip(exploit)
            .map(|(f, x)| {
                let mut flags = Vec::new();
                if f.kev.is_some() {
                    flags.push("KEV".to_string());
                }
                if let Some(e) = &f.epss {
                    flags.push(format!("EPSS {:.1}%", e.score * 100.0));
                }
                [
                    f.severity.to_string().to_uppercase(),
                    f.id.clone(),
                    f.package_name.clone(),
                    f.package_version.clone(),
                    fixed(f),
                    format!("{:.0}", f.risk.score),
                    x.map_or_else(|| "-".to_string(), |x| format!("{:.0}", x.score)),
                    flags.join(" "),
                ]
            })
            .collect()
    }

    fn location(&self, f: &Finding) -> Option<Location> {
        let l = self.sbom.packages.get(f.package)?.locations.iter().next()?;
        Some(Location {
            path: l.path.clone(),
            layer: l.layer.as_ref().map(|d| LayerLoc {
                index: None,
                diff_id: d.clone(),
            }),
            ..Location::default()
        })
    }
}

fn best_score(f: &Finding) -> Option<f64> {
    f.cvss
        .iter()
        .filter_map(|c| c.base_score)
        .fold(None, |m: Option<f64>, s| Some(m.map_or(s, |m| m.max(s))))
}

impl Section for VulnReport {
    fn kind(&self) -> ScannerKind {
        ScannerKind::Vuln
    }

    fn title(&self) -> &'static str {
        "Vulnerabilities"
    }

    fn describe(&self) -> String {
        format!("vuln ({} packages)", self.sbom.packages.len())
    }

    fn status(&self) -> Value {
        json!({"packages": self.sbom.packages.len()})
    }

    fn items(&self) -> Vec<Item> {
        let exploit = exploitability(&self.target, &self.kind, &self.findings);
        self.findings
            .iter()
            .zip(exploit)
            .map(|(f, x)| Item {
                severity: f.severity,
                rule: RuleInfo {
                    id: f.id.clone(),
                    name: f.id.clone(),
                    description: f.summary.clone().unwrap_or_else(|| f.id.clone()),
                    help_uri: Some(
                        f.references
                            .first()
                            .cloned()
                            .unwrap_or_else(|| format!("https://osv.dev/vulnerability/{}", f.id)),
                    ),
                    severity: f.severity,
                    score: best_score(f),
                    precision: None,
                    tags: vec![if f.kind == rampart_vulndb::FindingKind::Malicious {
                        "malicious-package"
                    } else {
                        "vulnerability"
                    }],
                },
                message: format!(
                    "{} {} is affected by {} ({}); fixed in: {}",
                    f.package_name,
                    f.package_version,
                    f.ids.join(", "),
                    f.severity,
                    fixed(f)
                ),
                location: self.location(f),
                fingerprint: (
                    "rampartVuln/v1",
                    format!(
                        "{}|{}|{}",
                        f.id,
                        f.purl.clone().unwrap_or_default(),
                        f.package_version
                    ),
                ),
                properties: json!({
                    "purl": f.purl,
                    "ids": f.ids,
                    "status": f.status,
                    "fixedVersions": f.fixed_versions,
                    "risk": f.risk.score,
                    "riskReasons": f.risk.reasons,
                    "exploitability": x.as_ref().map(|x| x.score),
                    "exploitabilityReasons": x.as_ref().map(reason_lines),
                }),
                json: {
                    let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
                    if let (Some(obj), Some(x)) = (v.as_object_mut(), x.as_ref()) {
                        obj.insert("exploitability".into(), exploitability_json(x));
                    }
                    v
                },
            })
            .collect()
    }

    fn table(&self) -> String {
        let mut out = String::new();
        for w in &self.warnings {
            let _ = writeln!(out, "warning: {w}");
        }
        let rows = self.table_rows();
        if rows.is_empty() {
            out.push_str("No vulnerabilities found.\n");
        } else {
            out.push_str(&report::columns(
                [
                    "SEVERITY", "ID", "PACKAGE", "VERSION", "FIXED IN", "RISK", "EXPLOIT",
                    "SIGNALS",
                ],
                &rows,
            ));
        }
        let by = report::severity_counts(self.findings.iter().map(|f| f.severity));
        let _ = writeln!(
            out,
            "\n{} findings ({}) in {} packages; {} packages without an advisory source",
            self.findings.len(),
            if by.is_empty() { "none" } else { by.as_str() },
            self.sbom.packages.len(),
            self.skipped.len()
        );
        if !self.suppressed.is_empty() {
            let _ = writeln!(out, "{} suppressed:", self.suppressed.len());
            for s in &self.suppressed {
                let why = s
                    .reason
                    .as_deref()
                    .map(|r| format!(": {r}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "  {} {} by {}{why}", s.id, s.package, s.by);
            }
        }
        out
    }

    fn details(&self) -> Value {
        json!({
            "packages": self.sbom.packages.len(),
            "skipped": self.skipped,
            "suppressed": self.suppressed,
            "warnings": self.warnings,
        })
    }

    fn notifications(&self) -> Vec<String> {
        self.warnings
            .iter()
            .cloned()
            .chain(
                self.skipped
                    .iter()
                    .map(|s| format!("package {} not matched: {}", s.purl, s.reason)),
            )
            .collect()
    }

    /// A test case per package, failing with its findings.
    fn cases(&self) -> Vec<Case> {
        let mut by_pkg: std::collections::BTreeMap<usize, Vec<&Finding>> =
            std::collections::BTreeMap::new();
        for f in &self.findings {
            by_pkg.entry(f.package).or_default().push(f);
        }
        self.sbom
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| Case {
                classname: format!("vuln.{}", p.ecosystem.purl_type()),
                name: format!("{}@{}", p.name, p.version),
                findings: by_pkg
                    .get(&i)
                    .map(|fs| {
                        fs.iter()
                            .map(|f| CaseFinding {
                                severity: f.severity,
                                message: format!(
                                    "{} ({}), fixed in: {}",
                                    f.id,
                                    f.severity,
                                    fixed(f)
                                ),
                                body: format!(
                                    "{}\nids: {}\npurl: {}\nrisk: {:.0} ({})",
                                    f.summary.clone().unwrap_or_default(),
                                    f.ids.join(", "),
                                    f.purl.clone().unwrap_or_default(),
                                    f.risk.score,
                                    f.risk.reasons.join("; ")
                                ),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                skipped: None,
            })
            .collect()
    }
}

/// CycloneDX 1.6 with a `vulnerabilities` array whose `affects[].ref`
/// points at the component (by its bom-ref, the purl).
pub fn cyclonedx(r: &VulnReport, info: &rampart_sbom::format::DocumentInfo) -> Value {
    let mut doc = rampart_sbom::format::to_cyclonedx(&r.sbom, info);
    let vulns: Vec<Value> = r
        .findings
        .iter()
        .map(|f| {
            let ratings: Vec<Value> = f
                .cvss
                .iter()
                .filter_map(|c| {
                    let method = match c.version.as_str() {
                        "2.0" => "CVSSv2",
                        "3.0" => "CVSSv3",
                        "3.1" => "CVSSv31",
                        "4.0" => "CVSSv4",
                        _ => return None,
                    };
                    let mut v = json!({"method": method, "vector": c.vector});
                    if let Some(s) = c.base_score {
                        v["score"] = json!(s);
                    }
                    if let Some(sev) = c.severity {
                        v["severity"] = json!(cdx_severity(sev));
                    }
                    Some(v)
                })
                .chain(std::iter::once(json!({"severity": cdx_severity(f.severity), "method": "other", "source": {"name": "rampart"}})))
                .collect();
            let mut v = json!({
                "bom-ref": format!("{}|{}", f.id, f.purl.clone().unwrap_or_default()),
                "id": f.id,
                "source": {"name": if f.id.starts_with("GHSA-") { "GitHub" } else { "OSV" }},
                "ratings": ratings,
                "affects": [{"ref": f.purl.clone().unwrap_or_default()}],
                "references": f.ids.iter().filter(|i| **i != f.id).map(|i| json!({"id": i, "source": {"name": "OSV"}})).collect::<Vec<_>>(),
            });
            if let Some(s) = &f.summary {
                v["description"] = json!(s);
            }
            if !f.fixed_versions.is_empty() {
                v["recommendation"] = json!(format!("Upgrade {} to {}", f.package_name, f.fixed_versions.join(" or ")));
            }
            v
        })
        .collect();
    doc["vulnerabilities"] = Value::Array(vulns);
    doc
}

fn cdx_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Info => "info",
        Severity::Unknown => "unknown",
    }
}

/// Why a finding was left out of the report on purpose.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Suppressed {
    pub id: String,
    pub package: String,
    /// `ignore file PATH` or `VEX PATH (not_affected: justification)`.
    pub by: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// One `vuln:` line of an ignore file:
/// `vuln:ID [PACKAGE] [until=YYYY-MM-DD] # reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoreEntry {
    pub id: String,
    pub package: Option<String>,
    pub until: Option<String>,
    pub reason: Option<String>,
    pub file: String,
    pub line: usize,
}

/// Reads the `vuln:` entries of an ignore file (other lines belong to the
/// secret scanner).
///
/// # Errors
/// A malformed `vuln:` line or date.
pub fn parse_ignore(path: &Path, text: &str) -> Result<Vec<IgnoreEntry>> {
    let mut out = Vec::new();
    for (n, raw) in text.lines().enumerate() {
        let (entry, reason) = match raw.split_once(" #") {
            Some((e, r)) => (
                e.trim(),
                Some(r.trim().to_string()).filter(|r| !r.is_empty()),
            ),
            None => (raw.trim(), None),
        };
        let Some(rest) = entry.strip_prefix("vuln:") else {
            continue;
        };
        let mut words = rest.split_whitespace();
        let id = words.next().unwrap_or_default().to_string();
        if id.is_empty() {
            anyhow::bail!("{}:{}: `vuln:` needs an advisory id", path.display(), n + 1);
        }
        let mut package = None;
        let mut until = None;
        for w in words {
            if let Some(d) = w.strip_prefix("until=") {
                let ok = d.len() == 10
                    && d.bytes().enumerate().all(|(i, b)| {
                        if i == 4 || i == 7 {
                            b == b'-'
                        } else {
                            b.is_ascii_digit()
                        }
                    });
                if !ok {
                    anyhow::bail!(
                        "{}:{}: until= takes a date YYYY-MM-DD, got {d:?}",
                        path.display(),
                        n + 1
                    );
                }
                until = Some(d.to_string());
            } else if package.is_none() {
                package = Some(w.to_string());
            } else {
                anyhow::bail!(
                    "{}:{}: unexpected {w:?} (vuln:ID [PACKAGE] [until=DATE] # reason)",
                    path.display(),
                    n + 1
                );
            }
        }
        out.push(IgnoreEntry {
            id,
            package,
            until,
            reason,
            file: path.display().to_string(),
            line: n + 1,
        });
    }
    Ok(out)
}

/// A `not_affected` statement from a VEX document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VexStatement {
    pub id: String,
    /// purls (or bom-refs) the statement is about; empty: every product.
    pub products: Vec<String>,
    pub justification: Option<String>,
    pub file: String,
}

/// Reads the `not_affected` statements of an OpenVEX or CycloneDX VEX
/// document (other statuses do not suppress anything).
///
/// # Errors
/// Not JSON, or neither format.
pub fn parse_vex(path: &Path, data: &[u8]) -> Result<Vec<VexStatement>> {
    let doc: Value =
        serde_json::from_slice(data).with_context(|| format!("{}: not JSON", path.display()))?;
    let file = path.display().to_string();
    let s = |v: &Value| v.as_str().map(str::to_string);
    let mut out = Vec::new();
    if let Some(statements) = doc.get("statements").and_then(Value::as_array) {
        for st in statements {
            if st.get("status").and_then(Value::as_str) != Some("not_affected") {
                continue;
            }
            let vuln = st.get("vulnerability");
            let id = vuln
                .and_then(|v| {
                    s(v).or_else(|| v.get("name").and_then(s))
                        .or_else(|| v.get("@id").and_then(s))
                })
                .unwrap_or_default();
            let products = st
                .get("products")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .filter_map(|p| s(p).or_else(|| p.get("@id").and_then(s)))
                        .collect()
                })
                .unwrap_or_default();
            let justification = st.get("justification").and_then(s);
            if !id.is_empty() {
                out.push(VexStatement {
                    id,
                    products,
                    justification,
                    file: file.clone(),
                });
            }
        }
        return Ok(out);
    }
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        for v in doc
            .get("vulnerabilities")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let state = v.pointer("/analysis/state").and_then(Value::as_str);
            if !matches!(state, Some("not_affected" | "false_positive")) {
                continue;
            }
            let products = v
                .get("affects")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(|x| x.get("ref").and_then(s)).collect())
                .unwrap_or_default();
            if let Some(id) = v.get("id").and_then(s) {
                out.push(VexStatement {
                    id,
                    products,
                    justification: v
                        .pointer("/analysis/justification")
                        .and_then(s)
                        .or_else(|| state.map(str::to_string)),
                    file: file.clone(),
                });
            }
        }
        return Ok(out);
    }
    anyhow::bail!(
        "{}: neither an OpenVEX document (statements) nor CycloneDX VEX",
        path.display()
    )
}

/// A purl without its qualifiers and subpath, for comparing products.
fn purl_core(p: &str) -> &str {
    p.split(['?', '#']).next().unwrap_or(p)
}

/// Applies ignore entries (expired ones are warned about and not applied)
/// and VEX statements. Returns the suppressed findings and warnings.
pub fn suppress(
    report: &mut VulnReport,
    ignores: &[IgnoreEntry],
    vex: &[VexStatement],
    today: &str,
) -> Vec<Suppressed> {
    let mut suppressed = Vec::new();
    let mut expired_seen = std::collections::BTreeSet::new();
    let names = |f: &Finding| -> Vec<String> {
        let mut v = vec![f.id.clone()];
        v.extend(f.ids.iter().cloned());
        v
    };
    let mut keep = Vec::new();
    for f in std::mem::take(&mut report.findings) {
        let ids = names(&f);
        let purl = f.purl.clone().unwrap_or_default();
        let by_ignore = ignores.iter().find(|e| {
            ids.contains(&e.id)
                && e.package
                    .as_deref()
                    .is_none_or(|p| p == f.package_name || purl_core(&purl) == purl_core(p))
        });
        if let Some(e) = by_ignore {
            if e.until.as_deref().is_some_and(|u| u < today) {
                if expired_seen.insert((e.file.clone(), e.line)) {
                    report.warnings.push(format!(
                        "{}:{}: ignore entry for {} expired on {}; the finding is reported again",
                        e.file,
                        e.line,
                        e.id,
                        e.until.clone().unwrap_or_default()
                    ));
                }
            } else {
                suppressed.push(Suppressed {
                    id: f.id.clone(),
                    package: purl.clone(),
                    by: format!("ignore file {}:{}", e.file, e.line),
                    reason: e.reason.clone(),
                });
                continue;
            }
        }
        let by_vex = vex.iter().find(|s| {
            ids.contains(&s.id)
                && (s.products.is_empty()
                    || s.products.iter().any(|p| purl_core(p) == purl_core(&purl)))
        });
        if let Some(s) = by_vex {
            suppressed.push(Suppressed {
                id: f.id.clone(),
                package: purl,
                by: format!("VEX {} (not_affected)", s.file),
                reason: s.justification.clone(),
            });
            continue;
        }
        keep.push(f);
    }
    report.findings = keep;
    suppressed
}
