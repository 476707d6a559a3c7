//! `rampart scan` reports, one writer per output format for every scanner:
//! table, JSON, SARIF 2.1.0 and JUnit XML. Each scanner hands its results
//! over as a [`Section`]; the writers here decide everything the formats
//! share (severity levels, SARIF URIs and `security-severity`, which JUnit
//! cases fail under `--fail-on`, the combined summary), so the scanners
//! cannot drift apart.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use rampart_model::{ScannerKind, Severity};
use serde_json::{Value, json};

/// Where the project's documentation lives (SARIF `informationUri`).
pub const INFO_URI: &str = "https://example.invalid/rampart";

/// The rule (check, advisory) a finding comes from.
#[derive(Debug, Clone)]
pub struct RuleInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    /// A page about the rule (SARIF `helpUri`).
    pub help_uri: Option<String>,
    /// Default severity of the rule.
    pub severity: Severity,
    /// A 0-10 score when the source has one (CVSS): SARIF
    /// `security-severity` uses it instead of the severity's default.
    pub score: Option<f64>,
    /// `high`, `medium` or `low` when the scanner knows how often the rule
    /// is right (SARIF `precision`).
    pub precision: Option<&'static str>,
    /// SARIF tags besides `security`.
    pub tags: Vec<&'static str>,
}

/// A layer of an image holding the evidence.
#[derive(Debug, Clone)]
pub struct LayerLoc {
    pub index: Option<usize>,
    pub diff_id: String,
}

/// Where in the target a finding is.
#[derive(Debug, Clone, Default)]
pub struct Location {
    /// Path from the target's root.
    pub path: String,
    pub line: Option<u64>,
    pub column: Option<u64>,
    /// Byte offset, when there is no line (binary files).
    pub offset: Option<u64>,
    pub layer: Option<LayerLoc>,
}

/// One finding, as every format sees it.
#[derive(Debug, Clone)]
pub struct Item {
    pub severity: Severity,
    pub rule: RuleInfo,
    /// One sentence: what was found where (SARIF message).
    pub message: String,
    pub location: Option<Location>,
    /// SARIF `partialFingerprints` key and value.
    pub fingerprint: (&'static str, String),
    /// SARIF result properties.
    pub properties: Value,
    /// The scanner's own JSON form of the finding.
    pub json: Value,
}

/// A finding inside a JUnit test case.
#[derive(Debug, Clone)]
pub struct CaseFinding {
    pub severity: Severity,
    /// The failure's `message` attribute.
    pub message: String,
    /// The failure's text.
    pub body: String,
}

/// A JUnit test case: it fails when one of its findings is at or above
/// `--fail-on` (any finding without it), is skipped when all of them are
/// below, and passes without findings.
#[derive(Debug, Clone)]
pub struct Case {
    pub classname: String,
    pub name: String,
    pub findings: Vec<CaseFinding>,
    /// A test that did not run, with the reason (a posture check skipped).
    pub skipped: Option<String>,
}

/// What one scanner contributes to a report.
pub trait Section {
    fn kind(&self) -> ScannerKind;
    /// A heading for the table form ("Secrets").
    fn title(&self) -> &'static str;
    /// What ran, for the table's `Scanners:` line ("secret (211 rules)").
    fn describe(&self) -> String;
    /// `scanners.<kind>` in JSON, besides `"status": "ran"`.
    fn status(&self) -> Value;
    /// The findings, in the scanner's order (most important first).
    fn items(&self) -> Vec<Item>;
    /// The table body: findings, skips, the scanner's own summary line.
    fn table(&self) -> String;
    /// What else the scanner reports in JSON, under its name (statistics,
    /// skipped inputs, suppressions, warnings).
    fn details(&self) -> Value;
    /// Inputs skipped and other remarks (SARIF tool notifications).
    fn notifications(&self) -> Vec<String>;
    /// JUnit test cases.
    fn cases(&self) -> Vec<Case>;
}

/// A whole scan: the target, every scanner that ran, those that could not.
pub struct Report<'a> {
    pub target: &'a str,
    pub kind: &'a str,
    pub sections: Vec<Box<dyn Section + 'a>>,
    pub unavailable: &'a [(ScannerKind, &'static str)],
    pub fail_on: Option<Severity>,
}

impl std::fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Report")
            .field("target", &self.target)
            .field("sections", &self.sections.len())
            .finish_non_exhaustive()
    }
}

impl Report<'_> {
    /// The highest severity found by any scanner.
    pub fn worst(&self) -> Option<Severity> {
        self.sections
            .iter()
            .flat_map(|s| s.items())
            .map(|i| i.severity)
            .max()
    }

    /// True when `--fail-on` is set and some finding reaches it.
    pub fn failing(&self) -> bool {
        self.fail_on
            .is_some_and(|t| self.worst().is_some_and(|w| w >= t))
    }
}

/// "3 critical, 1 low", most severe first.
pub fn severity_counts(items: impl IntoIterator<Item = Severity>) -> String {
    let mut m: BTreeMap<Severity, usize> = BTreeMap::new();
    for s in items {
        *m.entry(s).or_insert(0) += 1;
    }
    let parts: Vec<String> = m.iter().rev().map(|(s, n)| format!("{n} {s}")).collect();
    parts.join(", ")
}

/// Left-aligned columns, two spaces apart, the last one unpadded.
pub fn columns<const N: usize>(head: [&str; N], rows: &[[String; N]]) -> String {
    let mut w = head.map(|h| h.chars().count());
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let line = |cells: [&str; N]| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            l.push_str(c);
            if i + 1 < N {
                l.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
            }
        }
        l.truncate(l.trim_end().len());
        l.push('\n');
        l
    };
    let mut out = line(head);
    for row in rows {
        out.push_str(&line(std::array::from_fn(|i| row[i].as_str())));
    }
    out
}

/// The `Skipped (N):` block of a scanner's table: one line per input not
/// read, `[layer N]` first for image entries; nothing when there are none.
pub fn skipped_lines<'s>(
    out: &mut String,
    skips: impl ExactSizeIterator<Item = (Option<usize>, &'s str, &'s str)>,
) {
    if skips.len() == 0 {
        return;
    }
    let _ = writeln!(out, "\nSkipped ({}):", skips.len());
    for (layer, path, reason) in skips {
        match layer {
            Some(l) => {
                let _ = writeln!(out, "  [layer {l}] {path}: {reason}");
            }
            None => {
                let _ = writeln!(out, "  {path}: {reason}");
            }
        }
    }
}

/// The table form.
pub fn table(r: &Report<'_>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Target: {} ({})", r.target, r.kind);
    let ran: Vec<String> = r.sections.iter().map(|s| s.describe()).collect();
    let _ = write!(out, "Scanners: {}", ran.join(", "));
    if !r.unavailable.is_empty() {
        let names: Vec<&str> = r.unavailable.iter().map(|(k, _)| k.as_str()).collect();
        let _ = write!(out, "; not available: {}", names.join(", "));
    }
    out.push('\n');
    for s in &r.sections {
        let _ = write!(out, "\n{}\n\n{}", s.title(), s.table());
    }
    if r.sections.len() > 1 {
        let all: Vec<Severity> = r
            .sections
            .iter()
            .flat_map(|s| s.items())
            .map(|i| i.severity)
            .collect();
        let by = severity_counts(all.iter().copied());
        let _ = writeln!(
            out,
            "\nTotal: {} finding{}{}",
            all.len(),
            if all.len() == 1 { "" } else { "s" },
            if by.is_empty() {
                String::new()
            } else {
                format!(" ({by})")
            }
        );
    }
    out
}

/// The JSON document (docs/formats/json.md).
pub fn json(r: &Report<'_>) -> Value {
    let mut scanners = serde_json::Map::new();
    let mut details = serde_json::Map::new();
    let mut findings = Vec::new();
    let mut by_scanner = serde_json::Map::new();
    let mut severities = Vec::new();
    for s in &r.sections {
        let mut status = json!({"status": "ran"});
        if let (Some(o), Value::Object(more)) = (status.as_object_mut(), s.status()) {
            o.extend(more);
        }
        scanners.insert(s.kind().to_string(), status);
        let items = s.items();
        by_scanner.insert(s.kind().to_string(), json!(items.len()));
        for i in items {
            severities.push(i.severity);
            let mut v = i.json;
            if let Some(o) = v.as_object_mut() {
                o.insert("scanner".to_string(), json!(s.kind()));
            }
            findings.push(v);
        }
        details.insert(s.kind().to_string(), s.details());
    }
    for (k, why) in r.unavailable {
        scanners.insert(
            k.to_string(),
            json!({"status": "unavailable", "reason": why}),
        );
    }
    let mut by_severity: BTreeMap<String, usize> = BTreeMap::new();
    for s in &severities {
        *by_severity.entry(s.to_string()).or_insert(0) += 1;
    }
    let mut doc = json!({
        "target": r.target,
        "kind": r.kind,
        "tool": {"name": "rampart", "version": env!("CARGO_PKG_VERSION")},
        "scanners": scanners,
        "fail_on": r.fail_on,
        "summary": {
            "findings": findings.len(),
            "by_severity": by_severity,
            "by_scanner": by_scanner,
            "failing": r.failing(),
        },
        "findings": findings,
    });
    if let Some(o) = doc.as_object_mut() {
        o.extend(details);
    }
    doc
}

/// SARIF `level` of a severity.
pub fn sarif_level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low | Severity::Info | Severity::Unknown => "note",
    }
}

/// SARIF `security-severity` (GitHub's 0-10 scale): the rule's own score
/// when it has one, else the middle of its severity's band.
pub fn security_severity(rule: &RuleInfo) -> String {
    let score = rule.score.unwrap_or(match rule.severity {
        Severity::Critical => 9.5,
        Severity::High => 8.0,
        Severity::Medium => 5.5,
        Severity::Low => 3.0,
        Severity::Info | Severity::Unknown => 0.0,
    });
    format!("{score:.1}")
}

/// A relative URI reference for a path in the target (RFC 3986: what is
/// not unreserved, a sub-delimiter, `:`, `@` or `/` is percent-encoded).
pub fn uri(path: &str) -> String {
    let mut out = String::new();
    for b in path.trim_start_matches('/').bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    // A first segment with a colon would read as a scheme.
    if let Some(first) = out.split('/').next()
        && first.contains(':')
    {
        out.insert_str(0, "./");
    }
    out
}

fn sarif_location(l: &Location) -> Value {
    let mut physical = json!({"artifactLocation": {"uri": uri(&l.path)}});
    match (l.line, l.column, l.offset) {
        (Some(line), Some(col), _) => {
            physical["region"] = json!({"startLine": line, "startColumn": col});
        }
        (Some(line), None, _) => physical["region"] = json!({"startLine": line}),
        (None, _, Some(off)) => physical["region"] = json!({"byteOffset": off}),
        (None, _, None) => {}
    }
    let mut loc = json!({"physicalLocation": physical});
    if let Some(layer) = &l.layer {
        loc["logicalLocations"] = json!([{
            "name": layer.index.map_or_else(|| "layer".to_string(), |i| format!("layer {i}")),
            "fullyQualifiedName": layer.diff_id,
            "kind": "module",
        }]);
    }
    loc
}

fn sarif_run(r: &Report<'_>, s: &dyn Section) -> Value {
    let items = s.items();
    let mut rules: BTreeMap<&str, &RuleInfo> = BTreeMap::new();
    for i in &items {
        rules.entry(i.rule.id.as_str()).or_insert(&i.rule);
    }
    let index: BTreeMap<&str, usize> = rules.keys().enumerate().map(|(n, k)| (*k, n)).collect();
    let rule_docs: Vec<Value> = rules
        .values()
        .map(|rule| {
            let mut props = json!({
                "tags": std::iter::once("security").chain(rule.tags.iter().copied()).collect::<Vec<_>>(),
                "security-severity": security_severity(rule),
            });
            if let Some(p) = rule.precision {
                props["precision"] = json!(p);
            }
            json!({
                "id": rule.id,
                "name": rule.name,
                // An advisory's "name" is its id: its summary says more.
                "shortDescription": {"text": if rule.name == rule.id { &rule.description } else { &rule.name }},
                "fullDescription": {"text": rule.description},
                "helpUri": rule.help_uri.as_deref().unwrap_or(INFO_URI),
                "help": {"text": format!("{} ({} rule {})", rule.description, s.kind(), rule.id)},
                "defaultConfiguration": {"level": sarif_level(rule.severity)},
                "properties": props,
            })
        })
        .collect();
    let results: Vec<Value> = items
        .iter()
        .map(|i| {
            let mut res = json!({
                "ruleId": i.rule.id,
                "ruleIndex": index.get(i.rule.id.as_str()).copied().unwrap_or(0),
                "level": sarif_level(i.severity),
                "kind": "fail",
                "message": {"text": i.message},
                "partialFingerprints": {i.fingerprint.0: i.fingerprint.1},
                "properties": i.properties,
            });
            if let Some(l) = &i.location {
                res["locations"] = json!([sarif_location(l)]);
            }
            res
        })
        .collect();
    let notifications: Vec<Value> = s
        .notifications()
        .into_iter()
        .map(|text| json!({"level": "note", "message": {"text": text}}))
        .collect();
    json!({
        "tool": {"driver": {
            "name": "rampart",
            "informationUri": INFO_URI,
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "rules": rule_docs,
        }},
        "automationDetails": {"id": format!("rampart/{}/", s.kind())},
        "columnKind": "unicodeCodePoints",
        "results": results,
        "invocations": [{
            "executionSuccessful": true,
            "toolExecutionNotifications": notifications,
        }],
        "properties": {"target": r.target, "kind": r.kind, "scanner": s.kind()},
    })
}

/// The SARIF 2.1.0 log (docs/formats/sarif.md): one run per scanner.
pub fn sarif(r: &Report<'_>) -> Value {
    let runs: Vec<Value> = r
        .sections
        .iter()
        .map(|s| sarif_run(r, s.as_ref()))
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": runs,
    })
}

/// Text for an XML attribute or element; control characters XML 1.0
/// cannot carry become `?`.
pub fn xml(s: &str) -> String {
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

/// The JUnit XML report (docs/formats/junit.md): a test suite per scanner;
/// one skipped suite per unavailable scanner.
pub fn junit(r: &Report<'_>) -> String {
    let failing = |c: &Case| {
        c.findings
            .iter()
            .any(|f| r.fail_on.is_none_or(|t| f.severity >= t))
    };
    let mut suites = String::new();
    let (mut all_tests, mut all_failures, mut all_skipped) = (0, 0, 0);
    for s in &r.sections {
        let cases = s.cases();
        let failures = cases.iter().filter(|c| failing(c)).count();
        let skipped = cases
            .iter()
            .filter(|c| {
                (!c.findings.is_empty() && !failing(c))
                    || (c.findings.is_empty() && c.skipped.is_some())
            })
            .count();
        all_tests += cases.len();
        all_failures += failures;
        all_skipped += skipped;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{}: {}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\">",
            s.kind(),
            xml(r.target),
            cases.len()
        );
        for c in &cases {
            let open = format!(
                "    <testcase classname=\"{}\" name=\"{}\"",
                xml(&c.classname),
                xml(&c.name)
            );
            if c.findings.is_empty() {
                match &c.skipped {
                    Some(why) => {
                        let _ = writeln!(
                            suites,
                            "{open}>\n      <skipped message=\"{}\"/>\n    </testcase>",
                            xml(why)
                        );
                    }
                    None => {
                        let _ = writeln!(suites, "{open}/>");
                    }
                }
                continue;
            }
            let _ = writeln!(suites, "{open}>");
            if failing(c) {
                for f in &c.findings {
                    let _ = writeln!(
                        suites,
                        "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                        xml(&f.message),
                        f.severity,
                        xml(&f.body)
                    );
                }
            } else {
                let worst = c.findings.iter().map(|f| f.severity).max();
                let _ = writeln!(
                    suites,
                    "      <skipped message=\"{}\"/>",
                    xml(&format!(
                        "{} finding{} up to {} below --fail-on {}",
                        c.findings.len(),
                        if c.findings.len() == 1 { "" } else { "s" },
                        worst.map_or("-", Severity::as_str),
                        r.fail_on.map_or("-", Severity::as_str)
                    ))
                );
            }
            suites.push_str("    </testcase>\n");
        }
        suites.push_str("  </testsuite>\n");
    }
    for (k, why) in r.unavailable {
        all_tests += 1;
        all_skipped += 1;
        let _ = writeln!(
            suites,
            "  <testsuite name=\"{k}\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"1\">\n    \
             <testcase classname=\"{k}\" name=\"{k} scanner\">\n      <skipped message=\"{}\"/>\n    \
             </testcase>\n  </testsuite>",
            xml(why)
        );
    }
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"rampart scan\" tests=\"{all_tests}\" \
         failures=\"{all_failures}\" errors=\"0\" skipped=\"{all_skipped}\">\n{suites}</testsuites>\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_references() {
        assert_eq!(uri("/etc/app config.yml"), "etc/app%20config.yml");
        assert_eq!(uri("/a/b%c#d?e"), "a/b%25c%23d%3Fe");
        assert_eq!(uri("c:/x"), "./c:/x");
        assert_eq!(uri("/lib/x.jar!/META-INF/a"), "lib/x.jar!/META-INF/a");
    }

    #[test]
    fn security_severity_prefers_the_score() {
        let mut rule = RuleInfo {
            id: "x".into(),
            name: "x".into(),
            description: String::new(),
            help_uri: None,
            severity: Severity::High,
            score: None,
            precision: None,
            tags: Vec::new(),
        };
        assert_eq!(security_severity(&rule), "8.0");
        rule.score = Some(9.81);
        assert_eq!(security_severity(&rule), "9.8");
    }

    #[test]
    fn columns_align() {
        let t = columns(["A", "BB"], &[["xxx".to_string(), "y".to_string()]]);
        assert_eq!(t, "A    BB\nxxx  y\n");
    }
}
