//! The `posture` scanner's part of a `rampart scan` report, and the
//! `rampart posture` subcommands' output.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use rampart_model::ScannerKind;
use rampart_posture::{BENCHMARKS, Check, Evidence, FRAMEWORKS, PolicySet, Report, Status};
use serde_json::{Value, json};

use crate::args::PostureArgs;
use crate::config::PostureConfig;
use crate::report::{self, Case, CaseFinding, Item, Location, RuleInfo, Section};

/// The built-in policies plus the user's directories.
pub fn policies(dirs: &[PathBuf]) -> Result<PolicySet> {
    let mut set = PolicySet::builtin().context("loading the built-in posture policies")?;
    for d in dirs {
        set.add_dir(d)
            .with_context(|| format!("loading posture policies from {}", d.display()))?;
    }
    Ok(set)
}

/// The posture options in force: `--benchmark` replaces the configured
/// `benchmarks`, `--policies` adds to the configured `policies`, and
/// `--kubeconfig` wins over the configured one.
pub fn effective_args(args: &PostureArgs, cfg: &PostureConfig) -> PostureArgs {
    PostureArgs {
        benchmark: if args.benchmark.is_empty() {
            cfg.benchmarks.clone()
        } else {
            args.benchmark.clone()
        },
        policies: cfg.policies.iter().chain(&args.policies).cloned().collect(),
        kubeconfig: args.kubeconfig.clone().or_else(|| cfg.kubeconfig.clone()),
    }
}

/// What the posture scanner found: one report per benchmark that ran.
#[derive(Debug)]
pub struct PostureSection {
    pub reports: Vec<Report>,
    /// The checks that appear in the reports, by id.
    pub checks: BTreeMap<String, Check>,
}

impl PostureSection {
    pub fn new(reports: Vec<Report>, set: &PolicySet) -> Self {
        let checks = reports
            .iter()
            .flat_map(|r| &r.results)
            .filter_map(|r| set.check(&r.id).map(|c| (r.id.clone(), c.clone())))
            .collect();
        PostureSection { reports, checks }
    }

    fn rule(&self, id: &str) -> RuleInfo {
        let c = self.checks.get(id);
        RuleInfo {
            id: id.to_string(),
            name: c.map_or_else(|| id.to_string(), |c| c.title.clone()),
            description: c.map_or_else(String::new, |c| c.description.clone()),
            help_uri: c.and_then(|c| c.references.first().cloned()),
            severity: c.map_or(rampart_model::Severity::Unknown, |c| c.severity),
            score: None,
            precision: Some("high"),
            tags: vec!["compliance"],
        }
    }
}

fn evidence_text(e: &Evidence) -> String {
    e.summary()
}

fn count_line(r: &Report) -> String {
    let s = &r.summary;
    format!(
        "{} checks: {} passed, {} failed, {} skipped; compliance {:.1}%",
        s.passed + s.failed + s.skipped,
        s.passed,
        s.failed,
        s.skipped,
        s.compliance
    )
}

impl Section for PostureSection {
    fn kind(&self) -> ScannerKind {
        ScannerKind::Posture
    }

    fn title(&self) -> &'static str {
        "Compliance posture"
    }

    fn describe(&self) -> String {
        if self.reports.is_empty() {
            return "posture (nothing to assess)".to_string();
        }
        let names: Vec<String> = self
            .reports
            .iter()
            .map(|r| format!("{}: {} checks", r.benchmark, r.results.len()))
            .collect();
        format!("posture ({})", names.join(", "))
    }

    fn status(&self) -> Value {
        json!({"benchmarks": self.reports.iter().map(|r| r.benchmark.as_str()).collect::<Vec<_>>()})
    }

    fn items(&self) -> Vec<Item> {
        let mut out = Vec::new();
        for rep in &self.reports {
            for r in rep.failed() {
                for e in &r.evidence {
                    let location = e.file.as_ref().map(|f| Location {
                        path: f.clone(),
                        line: e.line,
                        ..Location::default()
                    });
                    let key = format!(
                        "{}|{}|{}|{}",
                        r.id,
                        e.resource.as_deref().unwrap_or_default(),
                        e.file.as_deref().unwrap_or_default(),
                        e.key.as_deref().unwrap_or_default()
                    );
                    out.push(Item {
                        severity: r.severity,
                        rule: self.rule(&r.id),
                        message: format!("{} ({}): {}", r.title, r.id, evidence_text(e)),
                        location,
                        fingerprint: ("rampartPosture/v1", key),
                        properties: json!({
                            "benchmark": rep.benchmark,
                            "severity": r.severity,
                            "frameworks": r.frameworks,
                            "remediation": r.remediation,
                        }),
                        json: json!({
                            "check": r.id,
                            "title": r.title,
                            "benchmark": rep.benchmark,
                            "severity": r.severity,
                            "evidence": e,
                            "remediation": r.remediation,
                            "remediation_command": r.remediation_command,
                            "frameworks": r.frameworks,
                        }),
                    });
                }
            }
        }
        out
    }

    fn table(&self) -> String {
        let mut out = String::new();
        if self.reports.is_empty() {
            out.push_str(
                "Nothing to assess: no benchmark applies to this target (use --benchmark).\n",
            );
            return out;
        }
        for rep in &self.reports {
            let _ = writeln!(out, "Benchmark {}: {}", rep.benchmark, count_line(rep));
            let rows: Vec<[String; 4]> = rep
                .failed()
                .map(|r| {
                    let first = r.evidence.first().map(evidence_text).unwrap_or_default();
                    let more = if r.evidence.len() > 1 {
                        format!(" (+{} more)", r.evidence.len() - 1)
                    } else {
                        String::new()
                    };
                    [
                        r.severity.to_string(),
                        r.id.clone(),
                        r.title.clone(),
                        format!("{first}{more}"),
                    ]
                })
                .collect();
            if rows.is_empty() {
                out.push_str("\nNo failed checks.\n");
            } else {
                out.push('\n');
                out.push_str(&report::columns(
                    ["SEVERITY", "CHECK", "TITLE", "EVIDENCE"],
                    &rows,
                ));
            }
            if !rep.frameworks.is_empty() {
                out.push_str("\nFrameworks:\n");
                let rows: Vec<[String; 4]> = rep
                    .frameworks
                    .iter()
                    .map(|f| {
                        [
                            format!("  {}", f.framework),
                            format!("{:.1}%", f.score.compliance),
                            format!("{} passed, {} failed", f.score.passed, f.score.failed),
                            if f.failed_controls.is_empty() {
                                String::new()
                            } else {
                                format!("failed: {}", f.failed_controls.join(", "))
                            },
                        ]
                    })
                    .collect();
                let table =
                    report::columns(["  FRAMEWORK", "COMPLIANCE", "CHECKS", "CONTROLS"], &rows);
                out.push_str(&table);
            }
            for n in &rep.notes {
                let _ = writeln!(out, "note: {n}");
            }
            out.push('\n');
        }
        let failed: usize = self.reports.iter().map(|r| r.summary.failed).sum();
        let by = report::severity_counts(
            self.reports
                .iter()
                .flat_map(|r| r.failed())
                .map(|r| r.severity),
        );
        let _ = writeln!(
            out,
            "{failed} failed check{}{}; `rampart posture explain ID` shows a check's remediation",
            if failed == 1 { "" } else { "s" },
            if by.is_empty() {
                String::new()
            } else {
                format!(" ({by})")
            }
        );
        out
    }

    fn details(&self) -> Value {
        json!({"benchmarks": self.reports})
    }

    fn notifications(&self) -> Vec<String> {
        self.reports
            .iter()
            .flat_map(|r| r.notes.iter().cloned())
            .collect()
    }

    fn cases(&self) -> Vec<Case> {
        let mut cases = Vec::new();
        for rep in &self.reports {
            for r in &rep.results {
                let findings = r
                    .evidence
                    .iter()
                    .filter(|_| r.status == Status::Fail)
                    .map(|e| CaseFinding {
                        severity: r.severity,
                        message: format!("{}: {}", r.title, evidence_text(e)),
                        body: format!(
                            "check: {} ({})\nseverity: {}\nevidence: {}\nremediation: {}{}",
                            r.id,
                            r.title,
                            r.severity,
                            evidence_text(e),
                            r.remediation,
                            r.remediation_command
                                .as_ref()
                                .map(|c| format!("\ncommand: {c}"))
                                .unwrap_or_default()
                        ),
                    })
                    .collect();
                cases.push(Case {
                    classname: format!("posture.{}", rep.benchmark),
                    name: format!("{} {}", r.id, r.title),
                    findings,
                    skipped: (r.status == Status::Skip)
                        .then(|| r.reason.clone().unwrap_or_default()),
                });
            }
        }
        cases
    }
}

/// `rampart posture list` as a table.
pub fn list_table(set: &PolicySet, benchmark: Option<&str>) -> String {
    let mut out = String::new();
    out.push_str("Benchmarks:\n");
    for (name, about) in BENCHMARKS {
        let n = set.checks().iter().filter(|c| c.benchmark == *name).count();
        let _ = writeln!(out, "  {name:<6} {n:>3} checks  {about}");
    }
    out.push_str("\nFrameworks:\n");
    for (key, title) in FRAMEWORKS {
        let _ = writeln!(out, "  {key:<14} {title}");
    }
    out.push('\n');
    let rows: Vec<[String; 5]> = set
        .checks()
        .iter()
        .filter(|c| benchmark.is_none_or(|b| c.benchmark == b))
        .map(|c| {
            [
                c.id.clone(),
                c.benchmark.clone(),
                c.severity.to_string(),
                c.frameworks
                    .get("cis")
                    .map(|v| v.join(","))
                    .unwrap_or_default(),
                c.title.clone(),
            ]
        })
        .collect();
    let n = rows.len();
    out.push_str(&report::columns(
        ["ID", "BENCHMARK", "SEVERITY", "CIS", "TITLE"],
        &rows,
    ));
    let _ = writeln!(out, "\n{n} checks");
    out
}

/// `rampart posture list` as JSON.
pub fn list_json(set: &PolicySet, benchmark: Option<&str>) -> Value {
    let checks: Vec<&Check> = set
        .checks()
        .iter()
        .filter(|c| benchmark.is_none_or(|b| c.benchmark == b))
        .collect();
    json!({
        "benchmarks": BENCHMARKS.iter().map(|(n, d)| json!({
            "name": n,
            "description": d,
            "checks": set.checks().iter().filter(|c| c.benchmark == *n).count(),
        })).collect::<Vec<_>>(),
        "frameworks": FRAMEWORKS.iter().map(|(k, t)| json!({"key": k, "title": t})).collect::<Vec<_>>(),
        "checks": checks,
    })
}

/// `rampart posture explain ID` as text.
pub fn explain_text(c: &Check) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}  {}", c.id, c.title);
    let _ = writeln!(
        out,
        "benchmark: {}    severity: {}",
        c.benchmark, c.severity
    );
    let _ = writeln!(
        out,
        "\n{}\n\nWhy: {}\n\nFix: {}",
        c.description, c.rationale, c.remediation
    );
    if let Some(cmd) = &c.remediation_command {
        let _ = writeln!(out, "\n    {cmd}");
    }
    if !c.frameworks.is_empty() {
        out.push_str("\nControls:\n");
        for (fw, controls) in &c.frameworks {
            let _ = writeln!(out, "  {fw:<14} {}", controls.join(", "));
        }
    }
    if !c.requires.is_empty() {
        out.push_str("\nApplies when:\n");
        for r in &c.requires {
            let _ = writeln!(out, "  {} (else skipped: {})", r.fact, r.reason);
        }
    }
    if !c.references.is_empty() {
        out.push_str("\nReferences:\n");
        for r in &c.references {
            let _ = writeln!(out, "  {r}");
        }
    }
    let _ = writeln!(out, "\nPolicy: {} ({})", c.source, c.package);
    out
}
