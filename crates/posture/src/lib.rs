//! Compliance posture for Rampart: facts are collected from a target into
//! one JSON document, and checks, written as Rego policies (evaluated by
//! `regorus`), decide pass, fail or skip over it, each failure with its
//! evidence. Checks carry framework mappings (CIS, PCI DSS 4.0, HIPAA,
//! GDPR, NIST SP 800-53 r5, SOC 2, NSA-CISA, Pod Security Standards), and
//! reports score compliance per benchmark and per framework.
//!
//! Built-in benchmarks: `linux` (host and root file systems), `image`
//! (image configuration and history, Dockerfiles) and `k8s` (manifests).
//! Users add their own checks with a directory of `.rego` files and YAML
//! metadata beside them ([`PolicySet::add_dir`]).

mod check;
mod error;
pub mod facts;
pub mod kube;
mod policy;
mod report;

use std::io::Read as _;
use std::sync::Mutex;

use rampart_source::{FileRef, Opened, Target, VPath, for_each_file};
use serde_json::Value;

pub use check::{Check, Examples, FRAMEWORKS, Requirement, fact_at, truthy};
pub use error::{PostureError, Result};
pub use policy::{BENCHMARKS, PolicySet};
pub use report::{CheckResult, Evidence, FrameworkScore, Report, Score, Status, show};

/// The most bytes read from one manifest or Dockerfile.
const MAX_SOURCE_FILE: u64 = 8 << 20;

/// The facts a benchmark's policies read, and notes on what could not be
/// read.
#[derive(Debug, Clone)]
pub struct Facts {
    pub benchmark: String,
    pub document: Value,
    pub notes: Vec<String>,
}

/// The benchmarks that apply to a target when none is named: `linux` for
/// the host and root file systems, `image` for images; for directories,
/// `k8s` and `image` (Dockerfiles), each only when the directory holds
/// such files (decided by [`assess`]).
#[must_use]
pub fn default_benchmarks(target: &Target) -> Vec<&'static str> {
    match target {
        Target::Host | Target::Rootfs(_) => vec!["linux"],
        Target::Dir(_) => vec!["k8s", "image"],
        Target::Sbom(_) => Vec::new(),
        _ => vec!["image"],
    }
}

/// Collects the facts `benchmark` reads from an opened target.
///
/// # Errors
/// The benchmark does not apply to this kind of target, or reading failed.
pub fn collect(target: &Target, opened: &Opened, benchmark: &str) -> Result<Facts> {
    let unsupported =
        |what: &str| PostureError::Unsupported(format!("the {benchmark} benchmark {what}"));
    let document = match (benchmark, opened) {
        ("linux", Opened::Tree { root, .. }) => {
            let mode = if matches!(target, Target::Host) {
                facts::linux::Mode::Host
            } else {
                facts::linux::Mode::Rootfs
            };
            facts::linux::collect(root, mode)
        }
        ("linux", _) => {
            return Err(unsupported(
                "reads the host or a root file system (host, rootfs:DIR)",
            ));
        }
        ("k8s", Opened::Tree { .. }) => {
            let m = read_manifests(opened)?;
            facts::k8s::facts(&m)
        }
        ("k8s", _) => return Err(unsupported("reads manifest files in a directory (dir:DIR)")),
        ("image", Opened::Image(img)) => {
            serde_json::json!({"kind": "image", "image": facts::image::image_facts(img)?, "dockerfiles": []})
        }
        ("image", Opened::Tree { .. }) => {
            serde_json::json!({"kind": "image", "image": null, "dockerfiles": read_dockerfiles(opened)?})
        }
        ("image", _) => return Err(unsupported("reads images and Dockerfiles")),
        _ => return Err(policy::unknown_benchmark(benchmark)),
    };
    let notes = document
        .get("notes")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Facts {
        benchmark: benchmark.to_string(),
        document,
        notes,
    })
}

/// Collects facts and evaluates `benchmarks` (the target's defaults when
/// empty) over a target. With the defaults, a directory's `k8s` and
/// `image` benchmarks run only when it holds manifests or Dockerfiles.
///
/// # Errors
/// An unknown or inapplicable benchmark, or reading the target failed.
pub fn assess(
    policies: &PolicySet,
    target: &Target,
    spec: &str,
    opened: &Opened,
    benchmarks: &[String],
) -> Result<Vec<Report>> {
    let chosen: Vec<String> = if benchmarks.is_empty() {
        default_benchmarks(target)
            .into_iter()
            .map(str::to_string)
            .collect()
    } else {
        benchmarks.to_vec()
    };
    let mut reports = Vec::new();
    for b in &chosen {
        if !BENCHMARKS.iter().any(|(n, _)| n == b) {
            return Err(policy::unknown_benchmark(b));
        }
        let facts = collect(target, opened, b)?;
        if benchmarks.is_empty()
            && matches!(target, Target::Dir(_))
            && !has_subjects(&facts.document)
        {
            continue;
        }
        let results = policies.evaluate(b, &facts.document)?;
        reports.push(Report::new(b, spec, results, facts.notes));
    }
    Ok(reports)
}

/// Whether a directory's facts hold anything to assess.
fn has_subjects(doc: &Value) -> bool {
    ["objects", "dockerfiles"].iter().any(|k| {
        doc.get(*k)
            .and_then(Value::as_array)
            .is_some_and(|a| !a.is_empty())
    })
}

fn file_name(p: &VPath) -> String {
    String::from_utf8_lossy(p.file_name()).into_owned()
}

fn read_text_files(
    opened: &Opened,
    pick: &(dyn Fn(&str) -> bool + Sync),
) -> Result<Vec<(String, String)>> {
    let out = Mutex::new(Vec::new());
    let want = |p: &VPath, size: u64| size <= MAX_SOURCE_FILE && pick(&file_name(p));
    let visit = |f: &FileRef<'_>, r: &mut dyn std::io::Read| -> std::result::Result<(), String> {
        let mut buf = Vec::new();
        std::io::Read::take(&mut *r, MAX_SOURCE_FILE)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        let Ok(text) = String::from_utf8(buf) else {
            return Ok(());
        };
        out.lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push((f.path.display(), text));
        Ok(())
    };
    for_each_file(opened, false, &want, &visit)?;
    let mut files = out
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    files.sort();
    Ok(files)
}

fn read_manifests(opened: &Opened) -> Result<facts::k8s::Manifests> {
    let mut m = facts::k8s::Manifests::default();
    for (file, text) in read_text_files(opened, &facts::k8s::is_manifest_name)? {
        facts::k8s::parse_file(&file, &text, &mut m);
    }
    Ok(m)
}

fn read_dockerfiles(opened: &Opened) -> Result<Vec<Value>> {
    Ok(
        read_text_files(opened, &facts::dockerfile::is_dockerfile_name)?
            .into_iter()
            .map(|(file, text)| facts::image::dockerfile_facts(&file, &text))
            .collect(),
    )
}

/// Facts from manifest text alone (fixtures, fuzzing, tools).
#[must_use]
pub fn k8s_facts_from_text(file: &str, text: &str) -> Value {
    let mut m = facts::k8s::Manifests::default();
    facts::k8s::parse_file(file, text, &mut m);
    facts::k8s::facts(&m)
}

/// The facts a check's fixture stands for: the benchmark's compliant
/// baseline with `example` applied (a merge patch; for `k8s` and for
/// Dockerfiles, source text replacing the baseline's). Used by the tests
/// and by `rampart posture check`.
#[doc(hidden)]
#[must_use]
pub fn fixture_facts(benchmark: &str, example: Option<&Value>) -> Value {
    let baseline = PolicySet::baseline(benchmark).unwrap_or("{}");
    match (benchmark, example) {
        ("k8s", Some(Value::String(text))) => k8s_facts_from_text("fixture.yaml", text),
        ("k8s", _) => k8s_facts_from_text("baseline.yaml", baseline),
        (_, ex) => {
            let mut base: Value = serde_json::from_str(baseline).unwrap_or(Value::Null);
            let dockerfile = match ex {
                Some(Value::String(text)) => Some(text.clone()),
                _ => base
                    .get("_dockerfile")
                    .and_then(Value::as_str)
                    .map(str::to_string),
            };
            if let Value::Object(o) = &mut base {
                o.remove("_dockerfile");
            }
            if let Some(text) = dockerfile {
                base["dockerfiles"] =
                    Value::Array(vec![facts::image::dockerfile_facts("Dockerfile", &text)]);
            }
            if let Some(p) = ex.filter(|p| p.is_object()) {
                merge_patch(&mut base, p);
            }
            base
        }
    }
}

/// Merges `patch` into `base` (JSON merge patch, RFC 7396: objects merge,
/// `null` deletes, anything else replaces). Fixtures are written this way.
pub fn merge_patch(base: &mut Value, patch: &Value) {
    match (base, patch) {
        (Value::Object(b), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    b.remove(k);
                } else {
                    merge_patch(b.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (b, p) => *b = p.clone(),
    }
}
