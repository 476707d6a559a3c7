//! The `secret` scanner's part of a `rampart scan` report. Findings arrive
//! already redacted: nothing here sees a secret.

use std::fmt::Write as _;

use rampart_model::ScannerKind;
use rampart_secrets::{Confidence, Finding, Origin, RuleSet, ScanReport};
use serde_json::{Value, json};

use crate::report::{self, Case, CaseFinding, Item, LayerLoc, Location, RuleInfo, Section};

/// What the secret scanner found, with the rules it ran.
#[derive(Debug)]
pub struct SecretSection {
    pub result: ScanReport,
    pub rules: RuleSet,
}

fn location_text(f: &Finding) -> String {
    let mut s = f.path.clone();
    match (f.line, f.column) {
        (Some(l), Some(c)) => {
            let _ = write!(s, ":{l}:{c}");
        }
        _ => {
            let _ = write!(s, "@{}", f.offset);
        }
    }
    if let Some(layer) = &f.layer {
        let _ = write!(
            s,
            " [layer {}{}]",
            layer.index,
            if layer.removed { ", deleted later" } else { "" }
        );
    }
    s
}

fn precision(c: Confidence) -> &'static str {
    match c {
        Confidence::High => "high",
        Confidence::Medium => "medium",
        Confidence::Low => "low",
    }
}

fn origin_text(o: Origin) -> &'static str {
    match o {
        Origin::File => "",
        Origin::BinaryStrings => "\norigin: printable strings of a binary file",
        Origin::ImageEnv => "\norigin: image configuration, Env",
        Origin::ImageLabel => "\norigin: image configuration, Labels",
        Origin::ImageHistory => "\norigin: image build history",
    }
}

impl SecretSection {
    fn rule_info(&self, f: &Finding) -> RuleInfo {
        match self.rules.get(&f.rule_id) {
            Some(rule) => RuleInfo {
                id: rule.id.clone(),
                name: rule.name.clone(),
                description: rule.description.clone(),
                help_uri: rule.references.first().cloned(),
                severity: rule.severity,
                score: None,
                precision: Some(precision(rule.confidence)),
                tags: vec!["secret"],
            },
            None => RuleInfo {
                id: f.rule_id.clone(),
                name: f.rule_name.clone(),
                description: f.rule_name.clone(),
                help_uri: None,
                severity: f.severity,
                score: None,
                precision: Some(precision(f.confidence)),
                tags: vec!["secret"],
            },
        }
    }

    fn summary_line(&self) -> String {
        let s = &self.result;
        let by = report::severity_counts(s.findings.iter().map(|f| f.severity));
        format!(
            "{} secret{} found{}; {} files scanned, {} suppressed by ignore files, {} skipped",
            s.findings.len(),
            if s.findings.len() == 1 { "" } else { "s" },
            if by.is_empty() {
                String::new()
            } else {
                format!(" ({by})")
            },
            s.stats.files,
            s.stats.suppressed,
            s.skips.len()
        )
    }
}

impl Section for SecretSection {
    fn kind(&self) -> ScannerKind {
        ScannerKind::Secret
    }

    fn title(&self) -> &'static str {
        "Secrets"
    }

    fn describe(&self) -> String {
        format!("secret ({} rules)", self.rules.rules().len())
    }

    fn status(&self) -> Value {
        json!({"rules": self.rules.rules().len()})
    }

    fn items(&self) -> Vec<Item> {
        self.result
            .findings
            .iter()
            .map(|f| {
                let mut props = json!({
                    "severity": f.severity,
                    "confidence": f.confidence,
                    "redacted": f.redacted,
                    "origin": f.origin,
                });
                if let Some(layer) = &f.layer {
                    props["layer"] = json!(layer);
                }
                Item {
                    severity: f.severity,
                    rule: self.rule_info(f),
                    message: format!(
                        "{} ({}) found: {}. Fingerprint {}.",
                        f.rule_name, f.severity, f.redacted, f.fingerprint
                    ),
                    location: Some(Location {
                        path: f.path.clone(),
                        line: f.line,
                        column: f.column,
                        offset: Some(f.offset),
                        layer: f.layer.as_ref().map(|l| LayerLoc {
                            index: Some(l.index),
                            diff_id: l.diff_id.clone(),
                        }),
                    }),
                    fingerprint: ("rampartSecret/v1", f.fingerprint.clone()),
                    properties: props,
                    json: serde_json::to_value(f).unwrap_or(Value::Null),
                }
            })
            .collect()
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let rows: Vec<[String; 6]> = self
            .result
            .findings
            .iter()
            .map(|f| {
                [
                    f.severity.to_string(),
                    f.confidence.as_str().to_string(),
                    f.rule_id.clone(),
                    location_text(f),
                    f.redacted.clone(),
                    f.fingerprint.clone(),
                ]
            })
            .collect();
        if rows.is_empty() {
            out.push_str("No secrets found.\n");
        } else {
            out.push_str(&report::columns(
                [
                    "SEVERITY",
                    "CONFIDENCE",
                    "RULE",
                    "LOCATION",
                    "SECRET",
                    "FINGERPRINT",
                ],
                &rows,
            ));
        }
        report::skipped_lines(
            &mut out,
            self.result
                .skips
                .iter()
                .map(|s| (s.layer, s.path.as_str(), s.reason.as_str())),
        );
        let _ = writeln!(out, "\n{}", self.summary_line());
        out
    }

    fn details(&self) -> Value {
        let s = &self.result;
        json!({
            "files_scanned": s.stats.files,
            "bytes_scanned": s.stats.bytes,
            "suppressed": s.stats.suppressed,
            "skips": s.skips,
        })
    }

    fn notifications(&self) -> Vec<String> {
        self.result
            .skips
            .iter()
            .map(|s| format!("skipped {}: {}", s.path, s.reason))
            .collect()
    }

    fn cases(&self) -> Vec<Case> {
        let findings = &self.result.findings;
        if findings.is_empty() {
            return vec![Case {
                classname: "secret".to_string(),
                name: format!("no secrets found ({} files)", self.result.stats.files),
                findings: Vec::new(),
                skipped: None,
            }];
        }
        findings
            .iter()
            .map(|f| Case {
                classname: format!("secret.{}", f.path),
                name: format!("{} {}", f.rule_id, location_text(f)),
                findings: vec![CaseFinding {
                    severity: f.severity,
                    message: format!("{}: {}", f.rule_name, f.redacted),
                    body: format!(
                        "rule: {} ({})\nlocation: {}\nseverity: {}, confidence: {}\nsecret: {}\nfingerprint: {}{}",
                        f.rule_id,
                        f.rule_name,
                        location_text(f),
                        f.severity,
                        f.confidence.as_str(),
                        f.redacted,
                        f.fingerprint,
                        origin_text(f.origin)
                    ),
                }],
                skipped: None,
            })
            .collect()
    }
}

/// `rules list` as a table.
pub fn rules_table(rules: &RuleSet) -> String {
    let rows: Vec<[String; 4]> = rules
        .rules()
        .iter()
        .map(|r| {
            [
                r.id.clone(),
                r.severity.as_str().to_string(),
                r.confidence.as_str().to_string(),
                r.name.clone(),
            ]
        })
        .collect();
    let mut out = report::columns(["ID", "SEVERITY", "CONFIDENCE", "NAME"], &rows);
    let _ = writeln!(out, "\n{} secret rules", rules.rules().len());
    out
}

/// `rules list` as JSON.
pub fn rules_json(rules: &RuleSet) -> Value {
    let list: Vec<Value> = rules
        .rules()
        .iter()
        .map(|r| {
            json!({
                "id": r.id,
                "kind": "secret",
                "name": r.name,
                "description": r.description,
                "severity": r.severity,
                "confidence": r.confidence,
                "keywords": r.keywords,
                "pattern": r.pattern,
                "scope": r.scope,
                "generic": r.generic,
                "references": r.references,
            })
        })
        .collect();
    json!({"rules": list})
}
