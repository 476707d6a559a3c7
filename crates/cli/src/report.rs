//! Scan reports in every output format: table, JSON, SARIF 2.1.0, JUnit XML.
//! Findings arrive already redacted; nothing here sees a secret.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rampart_model::{ScannerKind, Severity};
use rampart_secrets::{Finding, Origin, RuleSet, ScanReport};
use serde_json::{Value, json};

/// What a scan produced, with what the outputs need around it.
#[derive(Debug)]
pub struct Report<'a> {
    pub target: &'a str,
    pub kind: &'a str,
    pub secrets: &'a ScanReport,
    pub rules: &'a RuleSet,
    pub unavailable: &'a [(ScannerKind, &'static str)],
    pub fail_on: Option<Severity>,
}

const INFO_URI: &str = "https://example.invalid/rampart";

fn location(f: &Finding) -> String {
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

fn counts(findings: &[Finding]) -> BTreeMap<Severity, usize> {
    let mut m = BTreeMap::new();
    for f in findings {
        *m.entry(f.severity).or_insert(0) += 1;
    }
    m
}

fn summary_line(r: &Report<'_>) -> String {
    let s = r.secrets;
    let by: Vec<String> = counts(&s.findings)
        .iter()
        .rev()
        .map(|(sev, n)| format!("{n} {sev}"))
        .collect();
    format!(
        "{} secret{} found{}; {} files scanned, {} suppressed by ignore files, {} skipped",
        s.findings.len(),
        if s.findings.len() == 1 { "" } else { "s" },
        if by.is_empty() {
            String::new()
        } else {
            format!(" ({})", by.join(", "))
        },
        s.stats.files,
        s.stats.suppressed,
        s.skips.len()
    )
}

/// The table form.
pub fn table(r: &Report<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Target: {} ({})", r.target, r.kind);
    let _ = write!(out, "Scanners: secret ({} rules)", r.rules.rules().len());
    if !r.unavailable.is_empty() {
        let names: Vec<&str> = r.unavailable.iter().map(|(k, _)| k.as_str()).collect();
        let _ = write!(out, "; not available: {}", names.join(", "));
    }
    out.push_str("\n\n");
    let rows: Vec<[String; 6]> = r
        .secrets
        .findings
        .iter()
        .map(|f| {
            [
                f.severity.to_string(),
                f.confidence.as_str().to_string(),
                f.rule_id.clone(),
                location(f),
                f.redacted.clone(),
                f.fingerprint.clone(),
            ]
        })
        .collect();
    if rows.is_empty() {
        out.push_str("No secrets found.\n");
    } else {
        let header = [
            "SEVERITY",
            "CONFIDENCE",
            "RULE",
            "LOCATION",
            "SECRET",
            "FINGERPRINT",
        ];
        let mut w = header.map(str::len);
        for row in &rows {
            for (i, c) in row.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |cells: [&str; 6]| {
            let mut l = String::new();
            for (i, c) in cells.iter().enumerate() {
                if i == 5 {
                    l.push_str(c);
                } else {
                    let pad = w[i] - c.chars().count();
                    l.push_str(c);
                    l.push_str(&" ".repeat(pad + 2));
                }
            }
            l.push('\n');
            l
        };
        out.push_str(&line(header));
        for row in &rows {
            out.push_str(&line([
                &row[0], &row[1], &row[2], &row[3], &row[4], &row[5],
            ]));
        }
    }
    if !r.secrets.skips.is_empty() {
        let _ = writeln!(out, "\nSkipped ({}):", r.secrets.skips.len());
        for s in &r.secrets.skips {
            match s.layer {
                Some(l) => {
                    let _ = writeln!(out, "  [layer {l}] {}: {}", s.path, s.reason);
                }
                None => {
                    let _ = writeln!(out, "  {}: {}", s.path, s.reason);
                }
            }
        }
    }
    let _ = writeln!(out, "\n{}", summary_line(r));
    out
}

/// The JSON document (docs/formats/json.md).
pub fn json(r: &Report<'_>) -> Value {
    let mut scanners = serde_json::Map::new();
    scanners.insert(
        "secret".to_string(),
        json!({"status": "ran", "rules": r.rules.rules().len()}),
    );
    for (k, why) in r.unavailable {
        scanners.insert(
            k.to_string(),
            json!({"status": "unavailable", "reason": why}),
        );
    }
    let by: BTreeMap<String, usize> = counts(&r.secrets.findings)
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
    let findings: Vec<Value> = r
        .secrets
        .findings
        .iter()
        .map(|f| {
            let mut v = serde_json::to_value(f).unwrap_or(Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("scanner".to_string(), json!("secret"));
            }
            v
        })
        .collect();
    json!({
        "target": r.target,
        "kind": r.kind,
        "tool": {"name": "rampart", "version": env!("CARGO_PKG_VERSION")},
        "scanners": scanners,
        "fail_on": r.fail_on,
        "summary": {
            "findings": r.secrets.findings.len(),
            "by_severity": by,
            "files_scanned": r.secrets.stats.files,
            "bytes_scanned": r.secrets.stats.bytes,
            "suppressed": r.secrets.stats.suppressed,
            "skipped": r.secrets.skips.len(),
        },
        "findings": findings,
        "skips": r.secrets.skips,
    })
}

fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info | Severity::Unknown => "note",
    }
}

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Info | Severity::Unknown => "0.0",
    }
}

/// A relative URI for a path in the target (SARIF artifact locations).
fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The SARIF 2.1.0 log (docs/formats/sarif.md).
pub fn sarif(r: &Report<'_>) -> Value {
    let mut used: Vec<&str> = r
        .secrets
        .findings
        .iter()
        .map(|f| f.rule_id.as_str())
        .collect();
    used.sort_unstable();
    used.dedup();
    let rules: Vec<Value> = used
        .iter()
        .filter_map(|id| r.rules.get(id))
        .map(|rule| {
            let precision = match rule.confidence {
                rampart_secrets::Confidence::High => "high",
                rampart_secrets::Confidence::Medium => "medium",
                rampart_secrets::Confidence::Low => "low",
            };
            json!({
                "id": rule.id,
                "name": rule.name,
                "shortDescription": {"text": rule.name},
                "fullDescription": {"text": rule.description},
                "helpUri": rule.references.first().map_or(INFO_URI, String::as_str),
                "help": {"text": format!("{} Rule {}; see docs/secrets.md.", rule.description, rule.id)},
                "defaultConfiguration": {"level": sarif_level(rule.severity)},
                "properties": {
                    "tags": ["security", "secret"],
                    "precision": precision,
                    "security-severity": security_severity(rule.severity),
                },
            })
        })
        .collect();
    let results: Vec<Value> = r
        .secrets
        .findings
        .iter()
        .map(|f| {
            let index = used.iter().position(|u| *u == f.rule_id).unwrap_or(0);
            let region = match (f.line, f.column) {
                (Some(l), Some(c)) => json!({"startLine": l, "startColumn": c}),
                _ => json!({"byteOffset": f.offset}),
            };
            let mut loc = json!({
                "physicalLocation": {
                    "artifactLocation": {"uri": uri(&f.path)},
                    "region": region,
                }
            });
            if let Some(layer) = &f.layer {
                loc["logicalLocations"] = json!([{
                    "name": format!("layer {}", layer.index),
                    "fullyQualifiedName": layer.diff_id,
                    "kind": "module",
                }]);
            }
            let mut props = json!({
                "severity": f.severity,
                "confidence": f.confidence,
                "redacted": f.redacted,
                "origin": f.origin,
            });
            if let Some(layer) = &f.layer {
                props["layer"] = json!(layer);
            }
            json!({
                "ruleId": f.rule_id,
                "ruleIndex": index,
                "level": sarif_level(f.severity),
                "kind": "fail",
                "message": {"text": format!(
                    "{} ({}) found: {}. Fingerprint {}.",
                    f.rule_name, f.severity, f.redacted, f.fingerprint
                )},
                "locations": [loc],
                "partialFingerprints": {"rampartSecret/v1": f.fingerprint},
                "properties": props,
            })
        })
        .collect();
    let notifications: Vec<Value> = r
        .secrets
        .skips
        .iter()
        .map(|s| {
            json!({
                "level": "note",
                "message": {"text": format!("skipped {}: {}", s.path, s.reason)},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "rampart",
                "informationUri": INFO_URI,
                "version": env!("CARGO_PKG_VERSION"),
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "columnKind": "unicodeCodePoints",
            "results": results,
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "properties": {"target": r.target, "kind": r.kind},
        }],
    })
}

fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// The JUnit XML report (docs/formats/junit.md): one test case per
/// finding, failing when at or above `--fail-on` (every finding without
/// it), skipped below; one skipped case per unavailable scanner.
pub fn junit(r: &Report<'_>) -> String {
    let findings = &r.secrets.findings;
    let failing = |f: &Finding| r.fail_on.is_none_or(|t| f.severity >= t);
    let failures = findings.iter().filter(|f| failing(f)).count();
    let below = findings.len() - failures;
    let tests = findings.len().max(1);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"rampart scan\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{}\">",
        tests + r.unavailable.len(),
        below + r.unavailable.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"secret: {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{below}\">",
        xml(r.target)
    );
    if findings.is_empty() {
        let _ = writeln!(
            out,
            "    <testcase classname=\"secret\" name=\"no secrets found ({} files)\"/>",
            r.secrets.stats.files
        );
    }
    for f in findings {
        let name = format!("{} {}", f.rule_id, location(f));
        let _ = writeln!(
            out,
            "    <testcase classname=\"secret.{}\" name=\"{}\">",
            xml(&f.path),
            xml(&name)
        );
        let body = format!(
            "rule: {} ({})\nlocation: {}\nseverity: {}, confidence: {}\nsecret: {}\nfingerprint: {}{}",
            f.rule_id,
            f.rule_name,
            location(f),
            f.severity,
            f.confidence.as_str(),
            f.redacted,
            f.fingerprint,
            match f.origin {
                Origin::File => "",
                Origin::BinaryStrings => "\norigin: printable strings of a binary file",
                Origin::ImageEnv => "\norigin: image configuration, Env",
                Origin::ImageLabel => "\norigin: image configuration, Labels",
                Origin::ImageHistory => "\norigin: image build history",
            }
        );
        if failing(f) {
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                xml(&format!("{}: {}", f.rule_name, f.redacted)),
                f.severity,
                xml(&body)
            );
        } else {
            let _ = writeln!(
                out,
                "      <skipped message=\"{}\"/>",
                xml(&format!(
                    "{} finding below --fail-on {}",
                    f.severity,
                    r.fail_on.map_or("-", Severity::as_str)
                ))
            );
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n");
    for (k, why) in r.unavailable {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{k}\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n    \
             <testcase classname=\"{k}\" name=\"{k} scanner\">\n      <skipped message=\"{}\"/>\n    \
             </testcase>\n  </testsuite>",
            xml(why)
        );
    }
    out.push_str("</testsuites>\n");
    out
}

/// `rules list` as a table.
pub fn rules_table(rules: &RuleSet) -> String {
    let w = rules.rules().iter().map(|r| r.id.len()).max().unwrap_or(2);
    let mut out = format!("{:<w$}  SEVERITY  CONFIDENCE  NAME\n", "ID");
    for r in rules.rules() {
        let _ = writeln!(
            out,
            "{:<w$}  {:<8}  {:<10}  {}",
            r.id,
            r.severity.as_str(),
            r.confidence.as_str(),
            r.name
        );
    }
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
