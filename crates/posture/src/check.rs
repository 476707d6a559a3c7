//! Check metadata: what a check is called, why it matters, how to fix it and
//! which framework controls it maps to. Read from the YAML file that sits
//! beside each Rego policy.

use std::collections::BTreeMap;

use rampart_model::Severity;
use serde::{Deserialize, Serialize};

use crate::error::{PostureError, Result};

/// The frameworks checks map to, with the names reports print.
pub const FRAMEWORKS: &[(&str, &str)] = &[
    ("cis", "CIS Benchmarks (section numbers)"),
    ("pci-dss-4.0", "PCI DSS 4.0 requirements"),
    ("hipaa", "HIPAA Security Rule (45 CFR 164)"),
    ("gdpr", "GDPR articles"),
    ("nist-800-53r5", "NIST SP 800-53 rev. 5 controls"),
    ("soc2", "SOC 2 trust services criteria"),
    ("nsa-cisa", "NSA-CISA Kubernetes Hardening Guide"),
    ("pss", "Kubernetes Pod Security Standards"),
];

/// A condition on the facts: the check applies only when the value at
/// `fact` (a dotted path) is present and truthy; otherwise it is skipped
/// with `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requirement {
    pub fact: String,
    pub reason: String,
}

/// One check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable id, `RMP-<AREA>-<GROUP>-<NNN>`.
    pub id: String,
    pub title: String,
    pub description: String,
    pub rationale: String,
    pub severity: Severity,
    /// The benchmark the check belongs to (`linux`, `image`, `k8s`, or a
    /// user's own).
    pub benchmark: String,
    pub remediation: String,
    /// A command that applies the remediation, where one is safe to give.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remediation_command: Option<String>,
    pub references: Vec<String>,
    /// Framework name (see [`FRAMEWORKS`]) to control identifiers.
    pub frameworks: BTreeMap<String, Vec<String>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub requires: Vec<Requirement>,
    /// The Rego package that decides it (`data.rampart.linux.ssh`).
    pub package: String,
    /// The policy file it comes from (`builtin:linux/ssh.rego` or a path).
    pub source: String,
    /// Fixtures: facts (or manifest text) on which the check passes and fails.
    #[serde(skip)]
    pub examples: Examples,
}

/// A check's fixtures. An object is a JSON merge patch over the
/// benchmark's compliant baseline facts; a string is source text for the
/// benchmark's collector (Kubernetes manifests, a Dockerfile).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Examples {
    #[serde(default)]
    pub pass: Option<serde_json::Value>,
    #[serde(default)]
    pub fail: Option<serde_json::Value>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Defaults {
    #[serde(default)]
    rationale: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    frameworks: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    requires: Vec<Requirement>,
    #[serde(default)]
    severity: Option<Severity>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    id: String,
    title: String,
    description: String,
    #[serde(default)]
    rationale: Option<String>,
    #[serde(default)]
    severity: Option<Severity>,
    #[serde(default)]
    cis: Option<String>,
    remediation: String,
    #[serde(default)]
    remediation_command: Option<String>,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    frameworks: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    requires: Vec<Requirement>,
    #[serde(default)]
    examples: Examples,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GroupFile {
    benchmark: String,
    #[serde(default)]
    defaults: Defaults,
    checks: Vec<RawCheck>,
}

/// Reads a metadata file's checks, for the policy in `package`.
pub(crate) fn parse_group(file: &str, text: &str, package: &str) -> Result<Vec<Check>> {
    let meta = |message: String| PostureError::Metadata {
        file: file.to_string(),
        message,
    };
    let group: GroupFile = yaml_serde::from_str(text).map_err(|e| meta(e.to_string()))?;
    let d = group.defaults;
    let mut out = Vec::with_capacity(group.checks.len());
    for raw in group.checks {
        if !valid_id(&raw.id) {
            return Err(meta(format!(
                "check id {:?}: ids are upper-case letters, digits and dashes",
                raw.id
            )));
        }
        let severity = raw
            .severity
            .or(d.severity)
            .ok_or_else(|| meta(format!("check {}: no severity", raw.id)))?;
        let rationale = raw
            .rationale
            .or_else(|| d.rationale.clone())
            .ok_or_else(|| meta(format!("check {}: no rationale", raw.id)))?;
        let mut frameworks = d.frameworks.clone();
        for (k, v) in raw.frameworks {
            let entry = frameworks.entry(k).or_default();
            for c in v {
                if !entry.contains(&c) {
                    entry.push(c);
                }
            }
        }
        if let Some(cis) = raw.cis {
            frameworks.insert("cis".to_string(), vec![cis]);
        }
        frameworks.retain(|_, v| !v.is_empty());
        for k in frameworks.keys() {
            if !FRAMEWORKS.iter().any(|(n, _)| n == k) {
                return Err(meta(format!("check {}: unknown framework {k:?}", raw.id)));
            }
        }
        let mut references = d.references.clone();
        references.extend(raw.references);
        let mut requires = d.requires.clone();
        requires.extend(raw.requires);
        out.push(Check {
            id: raw.id,
            title: raw.title,
            description: raw.description,
            rationale,
            severity,
            benchmark: group.benchmark.clone(),
            remediation: raw.remediation,
            remediation_command: raw.remediation_command,
            references,
            frameworks,
            requires,
            package: package.to_string(),
            source: file.to_string(),
            examples: raw.examples,
        });
    }
    Ok(out)
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-')
}

/// Reads the value at a dotted path of `facts` (`ssh.present`).
#[must_use]
pub fn fact_at<'a>(facts: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    let mut v = facts;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    Some(v)
}

/// Whether a requirement holds: the value exists and is not false, null, 0,
/// an empty string, array or object.
#[must_use]
pub fn truthy(v: Option<&serde_json::Value>) -> bool {
    match v {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::Number(n)) => n.as_f64().is_some_and(|f| f != 0.0),
        Some(serde_json::Value::String(s)) => !s.is_empty(),
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(serde_json::Value::Object(o)) => !o.is_empty(),
    }
}
