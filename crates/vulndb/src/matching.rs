//! Matching packages against the advisory store.
//!
//! For each package: find its OSV ecosystem(s) and indexed name
//! ([`crate::package::targets`]), evaluate every indexed `affected[]` entry
//! with the OSV range rules ([`crate::range`]) and the ecosystem's version
//! ordering, then group the records that matched by alias (a CVE and its
//! GHSA/DSA/PYSEC records become one finding listing every id) and enrich
//! each group (CVSS, severity, EPSS, KEV, risk).

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};
use std::rc::Rc;

use rampart_model::Severity;
use serde::Serialize;

use crate::enrich::{self, CvssScore, Risk, RiskInput};
use crate::error::Result;
use crate::feeds::kev::KevEntry;
use crate::osv::Affected;
use crate::package::{PackageRef, targets};
use crate::range::{Verdict, evaluate_affected};
use crate::store::{Database, EpssScore, RecordMeta};
use crate::version::{Scheme, VersionError, compare, scheme_for_osv_ecosystem};

/// What kind of problem a finding reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FindingKind {
    /// A vulnerability in a legitimate package.
    Vulnerability,
    /// The package itself is malicious (OpenSSF `MAL-*` records).
    Malicious,
}

/// How certain the match is and whether a fix exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MatchStatus {
    /// The installed version is affected; a fixed version exists.
    Affected,
    /// The installed version is affected; no fix is recorded.
    Unfixed,
    /// The version could not be ordered against the advisory's versions
    /// (see `reason`): it may or may not be affected.
    Unknown,
}

/// One vulnerability (or malicious-package record) of one package.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Index of the package in the input slice.
    pub package: usize,
    pub package_name: String,
    pub package_version: String,
    /// The SBOM ecosystem of the package (`deb`, `pypi`...).
    pub ecosystem: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    /// The preferred id: the `MAL-*` id for malicious packages, else the
    /// first CVE, else the first advisory id.
    pub id: String,
    /// Every id: the matched records' ids and their aliases, sorted.
    pub ids: Vec<String>,
    /// The records that matched (OSV ids), sorted.
    pub advisories: Vec<String>,
    pub kind: FindingKind,
    pub status: MatchStatus,
    /// For `unknown`: why the version could not be ordered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The advisory ecosystem and package name that matched (`Debian:12`,
    /// `openssl`) and the version compared (the source version for OS
    /// packages).
    pub osv_ecosystem: String,
    pub osv_package: String,
    pub matched_version: String,
    pub fixed_versions: Vec<String>,
    /// Which range or list matched, per record.
    pub evidence: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    pub severity: Severity,
    /// Where the severity comes from (`CVSS 3.1 base score 9.8`, `GitHub`...).
    pub severity_source: String,
    pub cvss: Vec<CvssScore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epss: Option<EpssScore>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kev: Option<KevEntry>,
    /// Debian urgency / distro-specific severity, as written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urgency: Option<String>,
    pub risk: Risk,
    pub references: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
}

/// A package that could not be looked up at all (no advisory source for its
/// ecosystem or distro).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub package: usize,
    pub reason: String,
}

/// Orders versions by their scheme, lowest first; versions the scheme
/// cannot parse follow in text order.
fn sort_versions(scheme: Option<Scheme>, versions: &mut Vec<String>) {
    let Some(s) = scheme else { return };
    let (mut ok, bad): (Vec<String>, Vec<String>) =
        versions.drain(..).partition(|v| compare(s, v, v).is_ok());
    ok.sort_by(|a, b| compare(s, a, b).unwrap_or(Ordering::Equal));
    versions.extend(ok);
    versions.extend(bad);
}

/// Findings plus the packages that had no advisory source.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MatchReport {
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
}

/// One record's verdict for one package.
#[derive(Debug, Clone)]
struct Hit {
    rid: i64,
    affected: bool,
    fixed: Vec<String>,
    evidence: Vec<String>,
    reason: Option<String>,
    entry_severity: Option<String>,
    urgency: Option<String>,
    cvss_extra: Vec<crate::osv::SeverityScore>,
    osv_ecosystem: String,
    osv_package: String,
    version: String,
}

fn entry_str(a: &Affected, key: &str) -> Option<String> {
    a.ecosystem_specific
        .as_ref()
        .and_then(|e| e.get(key))
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

/// Union-find over advisory ids.
#[derive(Default)]
struct Groups {
    index: HashMap<String, usize>,
    parent: Vec<usize>,
}

impl Groups {
    fn node(&mut self, id: &str) -> usize {
        if let Some(&i) = self.index.get(id) {
            return i;
        }
        let i = self.parent.len();
        self.parent.push(i);
        self.index.insert(id.to_string(), i);
        i
    }
    fn find(&mut self, mut i: usize) -> usize {
        while self.parent[i] != i {
            self.parent[i] = self.parent[self.parent[i]];
            i = self.parent[i];
        }
        i
    }
    fn union(&mut self, a: usize, b: usize) {
        let (ra, rb) = (self.find(a), self.find(b));
        if ra != rb {
            self.parent[rb] = ra;
        }
    }
}

type RowCache = HashMap<(String, String), Rc<Vec<(i64, Affected)>>>;

impl Database {
    /// Matches packages with the exact version ordering of each ecosystem.
    ///
    /// # Errors
    /// Database errors only: unparseable versions become `unknown` findings.
    pub fn match_packages(&self, packages: &[PackageRef]) -> Result<Vec<Finding>> {
        Ok(self.match_report(packages)?.findings)
    }

    /// Like [`Database::match_packages`], also listing the packages that had
    /// no advisory source.
    ///
    /// # Errors
    /// Database errors.
    pub fn match_report(&self, packages: &[PackageRef]) -> Result<MatchReport> {
        self.match_report_with(packages, &compare)
    }

    /// Matching with an injected version comparator (tests, or a caller
    /// with its own ordering).
    ///
    /// # Errors
    /// Database errors.
    pub fn match_report_with(
        &self,
        packages: &[PackageRef],
        cmp: &dyn Fn(Scheme, &str, &str) -> std::result::Result<Ordering, VersionError>,
    ) -> Result<MatchReport> {
        let mut report = MatchReport::default();
        let mut rows: RowCache = HashMap::new();
        let mut metas: HashMap<i64, Rc<RecordMeta>> = HashMap::new();
        for (idx, pkg) in packages.iter().enumerate() {
            let tgts = match targets(pkg, &self.ecosystems) {
                Ok(t) => t,
                Err(reason) => {
                    report.skipped.push(Skipped {
                        package: idx,
                        reason,
                    });
                    continue;
                }
            };
            let mut hits: Vec<Hit> = Vec::new();
            for t in &tgts {
                let key = (t.ecosystem.clone(), t.name.clone());
                let entries = match rows.get(&key) {
                    Some(r) => Rc::clone(r),
                    None => {
                        let r = Rc::new(self.affected_rows(&t.ecosystem, &t.name)?);
                        rows.insert(key, Rc::clone(&r));
                        r
                    }
                };
                if entries.is_empty() {
                    continue;
                }
                let scheme = scheme_for_osv_ecosystem(&t.ecosystem);
                let eco = t.ecosystem.as_str();
                let c = |a: &str, b: &str| -> std::result::Result<Ordering, String> {
                    match scheme {
                        Some(s) => cmp(s, a, b).map_err(|e| e.to_string()),
                        None => Err(format!("no version ordering is known for ecosystem {eco}")),
                    }
                };
                for (rid, entry) in entries.iter() {
                    let verdict = evaluate_affected(&t.version, entry, &c);
                    let (affected, fixed, evidence, reason) = match verdict {
                        Verdict::NotAffected => continue,
                        Verdict::Affected { fixed, evidence } => (true, fixed, evidence, None),
                        Verdict::Unknown { reason } => {
                            (false, Vec::new(), String::new(), Some(reason))
                        }
                    };
                    let h = Hit {
                        rid: *rid,
                        affected,
                        fixed,
                        evidence: if evidence.is_empty() {
                            vec![]
                        } else {
                            vec![evidence]
                        },
                        reason,
                        entry_severity: entry_str(entry, "severity"),
                        urgency: entry_str(entry, "urgency"),
                        cvss_extra: entry.severity.clone(),
                        osv_ecosystem: t.ecosystem.clone(),
                        osv_package: t.name.clone(),
                        version: t.version.clone(),
                    };
                    // One record, several entries or targets: affected wins.
                    match hits.iter_mut().find(|x| x.rid == h.rid) {
                        Some(prev) if !prev.affected && h.affected => *prev = h,
                        Some(prev) if prev.affected && h.affected => {
                            prev.fixed.extend(h.fixed);
                            prev.evidence.extend(h.evidence);
                        }
                        Some(_) => {}
                        None => hits.push(h),
                    }
                }
            }
            if hits.is_empty() {
                continue;
            }
            let mut hit_metas = Vec::with_capacity(hits.len());
            for h in hits {
                let m = match metas.get(&h.rid) {
                    Some(m) => Rc::clone(m),
                    None => {
                        let m = Rc::new(self.meta(h.rid)?);
                        metas.insert(h.rid, Rc::clone(&m));
                        m
                    }
                };
                if !m.withdrawn {
                    hit_metas.push((h, m));
                }
            }
            let mut groups = Groups::default();
            for (_, m) in &hit_metas {
                let a = groups.node(&m.id);
                for al in &m.aliases {
                    let b = groups.node(al);
                    groups.union(a, b);
                }
            }
            let mut by_root: HashMap<usize, Vec<(Hit, Rc<RecordMeta>)>> = HashMap::new();
            for (h, m) in hit_metas {
                let n = groups.node(&m.id);
                let root = groups.find(n);
                by_root.entry(root).or_default().push((h, m));
            }
            for members in by_root.into_values() {
                report.findings.push(self.finding(idx, pkg, &members)?);
            }
        }
        report.findings.sort_by(|a, b| {
            a.package
                .cmp(&b.package)
                .then(b.risk.score.total_cmp(&a.risk.score))
                .then(a.id.cmp(&b.id))
        });
        Ok(report)
    }

    fn finding(
        &self,
        idx: usize,
        pkg: &PackageRef,
        members: &[(Hit, Rc<RecordMeta>)],
    ) -> Result<Finding> {
        let mut ids = BTreeSet::new();
        let mut advisories = BTreeSet::new();
        for (_, m) in members {
            ids.insert(m.id.clone());
            advisories.insert(m.id.clone());
            ids.extend(m.aliases.iter().cloned());
        }
        let malicious = advisories.iter().any(|a| a.starts_with("MAL-"));
        let kind = if malicious {
            FindingKind::Malicious
        } else {
            FindingKind::Vulnerability
        };
        let id = if malicious {
            advisories.iter().find(|a| a.starts_with("MAL-")).cloned()
        } else {
            ids.iter().find(|a| a.starts_with("CVE-")).cloned()
        }
        .or_else(|| advisories.iter().next().cloned())
        .unwrap_or_default();

        let affected: Vec<&(Hit, Rc<RecordMeta>)> =
            members.iter().filter(|(h, _)| h.affected).collect();
        let (status, reason, mut fixed, mut evidence) = if affected.is_empty() {
            let reason = members.iter().find_map(|(h, _)| h.reason.clone());
            (MatchStatus::Unknown, reason, Vec::new(), Vec::new())
        } else {
            let mut fixed: Vec<String> =
                affected.iter().flat_map(|(h, _)| h.fixed.clone()).collect();
            fixed.sort();
            fixed.dedup();
            sort_versions(
                scheme_for_osv_ecosystem(&affected[0].0.osv_ecosystem),
                &mut fixed,
            );
            let evidence: Vec<String> = affected
                .iter()
                .flat_map(|(h, m)| {
                    h.evidence.iter().map(move |e| {
                        format!(
                            "{}: {} {} {}: {e}",
                            m.id, h.osv_ecosystem, h.osv_package, h.version
                        )
                    })
                })
                .collect();
            let st = if fixed.is_empty() {
                MatchStatus::Unfixed
            } else {
                MatchStatus::Affected
            };
            (st, None, fixed, evidence)
        };
        evidence.sort();
        evidence.dedup();
        fixed.dedup();

        // CVSS from every member, deduplicated by vector.
        let mut cvss: Vec<CvssScore> = Vec::new();
        for (h, m) in members {
            for s in enrich::cvss_scores(&m.severity)
                .into_iter()
                .chain(enrich::cvss_scores(&h.cvss_extra))
            {
                if !cvss.iter().any(|c| c.vector == s.vector) {
                    cvss.push(s);
                }
            }
        }
        let primary = enrich::primary_cvss(&cvss);
        let (severity, severity_source) = if malicious {
            (Severity::Critical, "malicious package".to_string())
        } else if let Some(p) = primary {
            let s = p.base_score.unwrap_or(0.0);
            (
                enrich::severity_from_score(s),
                format!("CVSS {} base score {s:.1}", p.version),
            )
        } else {
            let mut best: Option<(Severity, String)> = None;
            for (h, m) in members {
                let cands = [
                    (
                        m.source_severity.as_deref(),
                        "the advisory's database_specific.severity",
                    ),
                    (
                        h.entry_severity.as_deref(),
                        "the advisory's ecosystem_specific.severity",
                    ),
                    (h.urgency.as_deref(), "the distribution's urgency"),
                ];
                for (v, from) in cands {
                    if let Some(sv) = v.and_then(enrich::source_severity)
                        && best.as_ref().is_none_or(|(b, _)| sv > *b)
                    {
                        best = Some((sv, format!("{from} ({})", v.unwrap_or_default())));
                    }
                }
            }
            best.unwrap_or((Severity::Unknown, "no severity in the advisory".to_string()))
        };

        let mut epss: Option<EpssScore> = None;
        let mut kev: Option<KevEntry> = None;
        for cve in ids.iter().filter(|i| i.starts_with("CVE-")) {
            if let Some(e) = self.epss(cve)?
                && epss.is_none_or(|p| e.score > p.score)
            {
                epss = Some(e);
            }
            if kev.is_none() {
                kev = self.kev(cve)?;
            }
        }
        let risk = enrich::risk(&RiskInput {
            malicious,
            severity,
            severity_reason: &format!("from {severity_source}"),
            cvss: primary,
            epss,
            epss_date: self.epss_date(),
            kev: kev.as_ref(),
            fixed: &fixed,
            unknown_reason: reason.as_deref(),
        });
        let first = &members[0];
        let best_meta = members
            .iter()
            .find(|(_, m)| m.id == id)
            .map_or(&first.1, |(_, m)| m);
        let mut references: Vec<String> = Vec::new();
        for (_, m) in members {
            for r in &m.references {
                if !references.contains(r) {
                    references.push(r.clone());
                }
            }
        }
        Ok(Finding {
            package: idx,
            package_name: pkg.name.clone(),
            package_version: pkg.version.clone(),
            ecosystem: pkg.ecosystem.clone(),
            purl: pkg.purl.clone(),
            id,
            ids: ids.into_iter().collect(),
            advisories: advisories.into_iter().collect(),
            kind,
            status,
            reason,
            osv_ecosystem: first.0.osv_ecosystem.clone(),
            osv_package: first.0.osv_package.clone(),
            matched_version: first.0.version.clone(),
            fixed_versions: fixed,
            evidence,
            summary: members.iter().find_map(|(_, m)| m.summary.clone()),
            severity,
            severity_source,
            cvss,
            epss,
            kev,
            urgency: members.iter().find_map(|(h, _)| h.urgency.clone()),
            risk,
            references,
            published: best_meta.published.clone(),
            modified: best_meta.modified.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_versions_are_ordered_by_their_scheme() {
        let mut v: Vec<String> = ["1.10.0", "1.9.2", "not a version!", "1.2.0"]
            .map(String::from)
            .to_vec();
        sort_versions(Some(Scheme::Semver), &mut v);
        assert_eq!(v, ["1.2.0", "1.9.2", "1.10.0", "not a version!"]);
    }
}
