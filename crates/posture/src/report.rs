//! Results: pass, fail or skip per check, and compliance per benchmark and
//! per framework.

use std::collections::BTreeMap;

use rampart_model::Severity;
use serde::{Deserialize, Serialize};

use crate::check::{Check, FRAMEWORKS};

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
}

impl Status {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// What a failed check found: where, which setting, the value found and
/// the value expected. Every field is optional; policies fill what applies.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based line in `file`, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// A Kubernetes object (`Deployment/prod/web`) or an image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl Evidence {
    /// One line for people: `file: key = found (expected ...)`.
    #[must_use]
    pub fn summary(&self) -> String {
        let mut s = String::new();
        if let Some(r) = &self.resource {
            s.push_str(r);
        }
        if let Some(f) = &self.file {
            if !s.is_empty() {
                s.push_str(" in ");
            }
            s.push_str(f);
            if let Some(l) = self.line {
                s.push_str(&format!(":{l}"));
            }
        }
        if let Some(k) = &self.key {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(k);
        }
        match (&self.found, &self.expected) {
            (Some(v), _) => s.push_str(&format!(" = {}", show(v))),
            (None, Some(_)) if self.key.is_some() => s.push_str(" not set"),
            _ => {}
        }
        if let Some(v) = &self.expected {
            s.push_str(&format!(" (expected {})", show(v)));
        }
        if let Some(m) = &self.message {
            if !s.is_empty() {
                s.push_str(": ");
            }
            s.push_str(m);
        }
        s
    }
}

/// A value as text: strings bare, everything else as JSON.
#[must_use]
pub fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "(not set)".to_string(),
        other => other.to_string(),
    }
}

/// One check's result.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    /// Why a check was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
    pub remediation: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_command: Option<String>,
    pub frameworks: BTreeMap<String, Vec<String>>,
}

impl CheckResult {
    pub(crate) fn new(check: &Check, status: Status) -> Self {
        CheckResult {
            id: check.id.clone(),
            title: check.title.clone(),
            severity: check.severity,
            status,
            reason: None,
            evidence: Vec::new(),
            remediation: check.remediation.clone(),
            remediation_command: check.remediation_command.clone(),
            frameworks: check.frameworks.clone(),
        }
    }
}

/// Counts and the compliance percentage: passed / (passed + failed);
/// skipped checks do not count either way.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Score {
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    /// Percent, one decimal; 100 when nothing was assessed.
    pub compliance: f64,
}

impl Score {
    fn add(&mut self, s: Status) {
        match s {
            Status::Pass => self.passed += 1,
            Status::Fail => self.failed += 1,
            Status::Skip => self.skipped += 1,
        }
    }

    fn finish(&mut self) {
        let assessed = self.passed + self.failed;
        self.compliance = if assessed == 0 {
            100.0
        } else {
            #[allow(clippy::cast_precision_loss)]
            let pct = self.passed as f64 * 100.0 / assessed as f64;
            (pct * 10.0).round() / 10.0
        };
    }
}

/// A framework's score, with the controls that have a failed check.
#[derive(Debug, Clone, Serialize)]
pub struct FrameworkScore {
    pub framework: String,
    pub title: String,
    #[serde(flatten)]
    pub score: Score,
    pub failed_controls: Vec<String>,
}

/// One benchmark run over one target.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub benchmark: String,
    pub target: String,
    /// Sorted by id.
    pub results: Vec<CheckResult>,
    pub summary: Score,
    pub frameworks: Vec<FrameworkScore>,
    /// What the collector could not read, and other notes.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

impl Report {
    /// Builds the scores from `results`.
    #[must_use]
    pub fn new(
        benchmark: &str,
        target: &str,
        mut results: Vec<CheckResult>,
        notes: Vec<String>,
    ) -> Self {
        results.sort_by(|a, b| a.id.cmp(&b.id));
        let mut summary = Score::default();
        let mut per: BTreeMap<&str, (Score, Vec<String>)> = BTreeMap::new();
        for r in &results {
            summary.add(r.status);
            for (fw, controls) in &r.frameworks {
                let e = per.entry(fw.as_str()).or_default();
                e.0.add(r.status);
                if r.status == Status::Fail {
                    e.1.extend(controls.iter().cloned());
                }
            }
        }
        summary.finish();
        let frameworks = FRAMEWORKS
            .iter()
            .filter_map(|(name, title)| {
                let (mut score, mut failed) = per.remove(name)?;
                score.finish();
                failed.sort();
                failed.dedup();
                Some(FrameworkScore {
                    framework: (*name).to_string(),
                    title: (*title).to_string(),
                    score,
                    failed_controls: failed,
                })
            })
            .collect();
        Report {
            benchmark: benchmark.to_string(),
            target: target.to_string(),
            results,
            summary,
            frameworks,
            notes,
        }
    }

    /// Turns the results of the checks `patterns` name (an id, or a prefix
    /// ending in `*`) into skips with the reason "disabled by
    /// configuration", and scores again: a disabled check is neither a
    /// pass nor a failure, and the report still lists it.
    #[must_use]
    pub fn disable(self, patterns: &[String]) -> Report {
        if patterns.is_empty() {
            return self;
        }
        let hit = |id: &str| {
            patterns.iter().any(|p| match p.strip_suffix('*') {
                Some(prefix) => id.starts_with(prefix),
                None => id == p,
            })
        };
        let results = self
            .results
            .into_iter()
            .map(|mut r| {
                if hit(&r.id) {
                    r.status = Status::Skip;
                    r.reason = Some("disabled by configuration".to_string());
                    r.evidence.clear();
                }
                r
            })
            .collect();
        Report::new(&self.benchmark, &self.target, results, self.notes)
    }

    /// The failed results.
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.results.iter().filter(|r| r.status == Status::Fail)
    }
}
