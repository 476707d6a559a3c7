//! Policies: Rego modules (built in, embedded at build time, and the user's
//! own from `--policies DIR`) with the check metadata beside them, and
//! their evaluation over a facts document.
//!
//! A check package declares `fail contains {"check": ID, ...evidence}` for
//! every failure it finds, and may declare `skip contains {"check": ID,
//! "reason": TEXT}`. A check with no failure and no skip passes.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::Deserialize;

use crate::check::{Check, fact_at, parse_group, truthy};
use crate::error::{PostureError, Result};
use crate::report::{CheckResult, Evidence, Status};

/// The built-in benchmarks: name and what they assess.
pub const BENCHMARKS: &[(&str, &str)] = &[
    (
        "linux",
        "Linux host or root file system, in the spirit of the CIS Level 1 server benchmarks (Debian, Ubuntu, RHEL family)",
    ),
    (
        "image",
        "Container images (configuration and history) and Dockerfiles, in the spirit of CIS Docker section 4",
    ),
    (
        "k8s",
        "Kubernetes manifests: Pod Security Standards baseline and restricted, NSA-CISA hardening, CIS workload and RBAC",
    ),
];

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../policies/", $name)))),*]
    };
}

/// Every built-in policy file: Rego modules and their metadata.
const BUILTIN: &[(&str, &str)] = builtin![
    "lib/util.rego",
    "linux/filesystem.rego",
    "linux/filesystem.yaml",
    "linux/boot.rego",
    "linux/boot.yaml",
    "linux/services.rego",
    "linux/services.yaml",
    "linux/network.rego",
    "linux/network.yaml",
    "linux/logging.rego",
    "linux/logging.yaml",
    "linux/ssh.rego",
    "linux/ssh.yaml",
    "linux/access.rego",
    "linux/access.yaml",
    "linux/accounts.rego",
    "linux/accounts.yaml",
    "linux/permissions.rego",
    "linux/permissions.yaml",
    "image/image.rego",
    "image/image.yaml",
    "k8s/pod.rego",
    "k8s/pod.yaml",
    "k8s/workload.rego",
    "k8s/workload.yaml",
    "k8s/rbac.rego",
    "k8s/rbac.yaml",
];

/// The benchmarks' compliant baseline facts, for fixtures.
const BASELINES: &[(&str, &str)] = &[
    ("linux", include_str!("../policies/linux/baseline.json")),
    ("image", include_str!("../policies/image/baseline.json")),
    ("k8s", include_str!("../policies/k8s/baseline.yaml")),
];

/// A set of policies ready to evaluate.
#[derive(Debug, Clone)]
pub struct PolicySet {
    checks: Vec<Check>,
    engine: regorus::Engine,
    /// Which packages define `skip`.
    with_skip: HashSet<String>,
    sources: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct FailEntry {
    check: String,
    #[serde(flatten)]
    evidence: Evidence,
}

#[derive(Debug, Deserialize)]
struct SkipEntry {
    check: String,
    reason: String,
}

impl PolicySet {
    /// The built-in policies.
    ///
    /// # Errors
    /// A built-in file does not parse (a test guards against it).
    pub fn builtin() -> Result<Self> {
        let mut set = PolicySet {
            checks: Vec::new(),
            engine: new_engine(),
            with_skip: HashSet::new(),
            sources: Vec::new(),
        };
        let files: BTreeMap<&str, &str> = BUILTIN.iter().copied().collect();
        for (name, text) in &files {
            let Some(stem) = name.strip_suffix(".rego") else {
                continue;
            };
            let meta = files.get(format!("{stem}.yaml").as_str()).copied();
            set.add(
                &format!("builtin:{name}"),
                text,
                meta.map(|m| (format!("builtin:{stem}.yaml"), m)),
            )?;
        }
        Ok(set)
    }

    /// Adds every `*.rego` file of `dir` (and its subdirectories), each with
    /// the `*.yaml` (or `*.yml`) file of the same name beside it when it
    /// declares checks. Rego files without metadata are libraries.
    ///
    /// # Errors
    /// A file cannot be read or does not parse; a check id is taken.
    pub fn add_dir(&mut self, dir: &Path) -> Result<()> {
        let mut files = Vec::new();
        collect_rego(dir, 0, &mut files)?;
        files.sort();
        for rego in files {
            let text = std::fs::read_to_string(&rego).map_err(|e| PostureError::io(&rego, e))?;
            let mut meta = None;
            for ext in ["yaml", "yml"] {
                let m = rego.with_extension(ext);
                if m.is_file() {
                    let t = std::fs::read_to_string(&m).map_err(|e| PostureError::io(&m, e))?;
                    meta = Some((m.display().to_string(), t));
                    break;
                }
            }
            self.add(
                &rego.display().to_string(),
                &text,
                meta.as_ref().map(|(n, t)| (n.clone(), t.as_str())),
            )?;
        }
        self.prepare()
    }

    /// Analyses the modules once (rule order, imports), so that every
    /// evaluation, on a clone of the engine, starts from a prepared one.
    /// Conflicts between modules (a user's package redefining a built-in
    /// rule) are reported here.
    fn prepare(&mut self) -> Result<()> {
        self.engine
            .eval_query("true".to_string(), false)
            .map(|_| ())
            .map_err(|e| PostureError::Policy {
                file: self.sources.last().cloned().unwrap_or_default(),
                message: format!("{e:#}"),
            })
    }

    fn add(&mut self, file: &str, rego: &str, meta: Option<(String, &str)>) -> Result<()> {
        let package = self
            .engine
            .add_policy(file.to_string(), rego.to_string())
            .map_err(|e| PostureError::Policy {
                file: file.to_string(),
                message: format!("{e:#}"),
            })?;
        self.sources.push(file.to_string());
        if has_rule(rego, "skip") {
            self.with_skip.insert(package.clone());
        }
        let Some((meta_file, meta_text)) = meta else {
            return Ok(());
        };
        let checks = parse_group(&meta_file, meta_text, &package)?;
        for c in &checks {
            if !BENCHMARKS.iter().any(|(b, _)| *b == c.benchmark) {
                return Err(PostureError::Metadata {
                    file: meta_file,
                    message: format!("unknown benchmark {:?}", c.benchmark),
                });
            }
            if self.checks.iter().any(|o| o.id == c.id) {
                return Err(PostureError::DuplicateId(c.id.clone()));
            }
        }
        if !checks.is_empty() && !has_rule(rego, "fail") {
            return Err(PostureError::Policy {
                file: file.to_string(),
                message: "declares checks but no `fail` rule".to_string(),
            });
        }
        self.checks.extend(checks);
        Ok(())
    }

    /// Every check, in load order (built-in first).
    #[must_use]
    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// The check with this id.
    #[must_use]
    pub fn check(&self, id: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.id.eq_ignore_ascii_case(id))
    }

    /// The files the set was built from.
    #[must_use]
    pub fn sources(&self) -> &[String] {
        &self.sources
    }

    /// The compliant facts a benchmark's fixtures start from (facts for
    /// `linux` and `image`, manifest text for `k8s`).
    #[must_use]
    pub fn baseline(benchmark: &str) -> Option<&'static str> {
        BASELINES
            .iter()
            .find(|(b, _)| *b == benchmark)
            .map(|(_, t)| *t)
    }

    /// Evaluates every check of `benchmark` over `facts`. A package whose
    /// evaluation fails (a user policy's runtime error) skips its checks
    /// with the error as the reason; the others still run.
    ///
    /// # Errors
    /// `benchmark` has no checks in this set.
    pub fn evaluate(&self, benchmark: &str, facts: &serde_json::Value) -> Result<Vec<CheckResult>> {
        let mut by_pkg: BTreeMap<&str, Vec<&Check>> = BTreeMap::new();
        for c in self.checks.iter().filter(|c| c.benchmark == benchmark) {
            by_pkg.entry(c.package.as_str()).or_default().push(c);
        }
        if by_pkg.is_empty() {
            return Err(unknown_benchmark(benchmark));
        }
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from(facts.clone()));
        let mut out = Vec::new();
        for (pkg, checks) in by_pkg {
            self.evaluate_package(&mut engine, pkg, &checks, facts, &mut out);
        }
        Ok(out)
    }

    /// Evaluates one check (and only its package) over `facts`.
    ///
    /// # Errors
    /// No check has this id.
    pub fn evaluate_check(&self, id: &str, facts: &serde_json::Value) -> Result<CheckResult> {
        let check = self
            .check(id)
            .ok_or_else(|| PostureError::Eval(format!("no check {id}")))?;
        let mut engine = self.engine.clone();
        engine.set_input(regorus::Value::from(facts.clone()));
        let mut out = Vec::new();
        self.evaluate_package(&mut engine, &check.package, &[check], facts, &mut out);
        out.pop()
            .ok_or_else(|| PostureError::Eval(format!("no result for {id}")))
    }

    fn evaluate_package(
        &self,
        engine: &mut regorus::Engine,
        pkg: &str,
        checks: &[&Check],
        facts: &serde_json::Value,
        out: &mut Vec<CheckResult>,
    ) {
        let fails = eval_set::<FailEntry>(engine, &format!("{pkg}.fail"));
        let skips = if self.with_skip.contains(pkg) {
            eval_set::<SkipEntry>(engine, &format!("{pkg}.skip"))
        } else {
            Ok(Vec::new())
        };
        match (fails, skips) {
            (Ok(fails), Ok(skips)) => {
                for c in checks {
                    out.push(decide(c, facts, &fails, &skips));
                }
            }
            (Err(e), _) | (_, Err(e)) => {
                for c in checks {
                    let mut r = CheckResult::new(c, Status::Skip);
                    r.reason = Some(format!("policy error: {e}"));
                    out.push(r);
                }
            }
        }
    }
}

fn decide(
    c: &Check,
    facts: &serde_json::Value,
    fails: &[FailEntry],
    skips: &[SkipEntry],
) -> CheckResult {
    if let Some(req) = c.requires.iter().find(|r| !truthy(fact_at(facts, &r.fact))) {
        let mut r = CheckResult::new(c, Status::Skip);
        r.reason = Some(req.reason.clone());
        return r;
    }
    let mut evidence: Vec<Evidence> = fails
        .iter()
        .filter(|f| f.check == c.id)
        .map(|f| f.evidence.clone())
        .collect();
    if !evidence.is_empty() {
        evidence.sort_by_key(Evidence::summary);
        evidence.dedup();
        let mut r = CheckResult::new(c, Status::Fail);
        r.evidence = evidence;
        return r;
    }
    if let Some(s) = skips
        .iter()
        .filter(|s| s.check == c.id)
        .min_by(|a, b| a.reason.cmp(&b.reason))
    {
        let mut r = CheckResult::new(c, Status::Skip);
        r.reason = Some(s.reason.clone());
        return r;
    }
    CheckResult::new(c, Status::Pass)
}

pub(crate) fn unknown_benchmark(name: &str) -> PostureError {
    PostureError::UnknownBenchmark {
        name: name.to_string(),
        known: BENCHMARKS
            .iter()
            .map(|(b, _)| *b)
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn new_engine() -> regorus::Engine {
    let mut e = regorus::Engine::new();
    // Hostile values (`MaxAuthTries abc`) make a builtin such as
    // `to_number` fail: that expression is then undefined, as in OPA,
    // instead of failing the whole package.
    e.set_strict_builtin_errors(false);
    e
}

/// Evaluates a rule that is a set of objects; an undefined rule is empty.
fn eval_set<T: serde::de::DeserializeOwned>(
    engine: &mut regorus::Engine,
    rule: &str,
) -> Result<Vec<T>, String> {
    let v = engine
        .eval_rule(rule.to_string())
        .map_err(|e| format!("{e:#}"))?;
    if v == regorus::Value::Undefined {
        return Ok(Vec::new());
    }
    let json = serde_json::to_value(&v).map_err(|e| e.to_string())?;
    let items = match json {
        serde_json::Value::Array(a) => a,
        serde_json::Value::Null => Vec::new(),
        other => return Err(format!("{rule} is not a set: {other}")),
    };
    items
        .into_iter()
        .map(|i| serde_json::from_value(i).map_err(|e| format!("{rule}: {e}")))
        .collect()
}

/// Whether the module defines a rule of this name (at the start of a line).
fn has_rule(rego: &str, name: &str) -> bool {
    rego.lines().any(|l| {
        l.strip_prefix(name)
            .is_some_and(|rest| rest.starts_with([' ', '[', '{', ':', '=', '\t']))
    })
}

fn collect_rego(dir: &Path, depth: usize, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    if depth > 8 {
        return Ok(());
    }
    let rd = std::fs::read_dir(dir).map_err(|e| PostureError::io(dir, e))?;
    for entry in rd {
        let entry = entry.map_err(|e| PostureError::io(dir, e))?;
        let p = entry.path();
        let ft = entry.file_type().map_err(|e| PostureError::io(&p, e))?;
        if ft.is_dir() {
            collect_rego(&p, depth + 1, out)?;
        } else if p.extension().is_some_and(|e| e == "rego") {
            out.push(p);
        }
    }
    Ok(())
}
