//! JavaScript packages (the npm registry): installed packages
//! (`node_modules/**/package.json`) and the lock files of npm
//! (`package-lock.json`, `npm-shrinkwrap.json`), Yarn (v1 and berry),
//! pnpm (`pnpm-lock.yaml` v5 to v9) and Bun (text `bun.lock`).
//!
//! A scoped package `@babel/core` is reported with namespace `@babel` and
//! name `core`, as the npm purl type wants. Workspace members, links and
//! local directories are the project's own code, not registry packages,
//! and are left out; so are dependencies whose lock entry records no
//! version (a git URL or a tarball URL in place of one).

mod bun;
mod installed;
mod npm_lock;
mod pnpm;
mod yarn;

pub(super) use bun::BunLock;
pub(super) use installed::NpmInstalled;
pub(super) use npm_lock::NpmLock;
pub(super) use pnpm::PnpmLock;
pub(super) use yarn::YarnLock;

use serde_json::Value;

use super::pyjs_common::{declared_license, plausible_version};
use crate::package::{Ecosystem, Package};

/// Splits `@scope/name` into `(Some("@scope"), "name")` and `name` into
/// `(None, "name")`; `None` for what npm would not accept as a name.
fn split_name(full: &str) -> Option<(Option<&str>, &str)> {
    if full.is_empty()
        || full.len() > 214
        || full
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ':')
    {
        return None;
    }
    if full.starts_with('@') {
        let (scope, name) = full.split_once('/')?;
        if scope.len() < 2 || name.is_empty() || name.contains('/') {
            return None;
        }
        Some((Some(scope), name))
    } else if full.contains('/') {
        None
    } else {
        Some((None, full))
    }
}

/// Splits `name@range` (the name may be scoped) at its separating `@`.
fn split_spec(spec: &str) -> Option<(&str, &str)> {
    let i = spec.get(1..)?.find('@')? + 1;
    Some((spec.get(..i)?, spec.get(i + 1..)?))
}

/// An npm package, if the name and version are usable.
fn package(full_name: &str, version: &str, cataloger: &str) -> Option<Package> {
    let (scope, name) = split_name(full_name)?;
    if !plausible_version(version) {
        return None;
    }
    let mut p = Package::new(Ecosystem::Npm, name, version, cataloger);
    p.namespace = scope.map(str::to_string);
    Some(p)
}

/// YAML reading limits for lock files: room for monorepo-sized files (the
/// core bounds their size), long quoted keys (Yarn joins every range of a
/// package into one key), and the crate's default nesting and alias limits.
/// A repeated key keeps its first value: the "last wins" policy buffers
/// every struct's fields, which costs memory in proportion to the file.
fn yaml_options() -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_events = 50_000_000;
    budget.max_nodes = 20_000_000;
    budget.max_total_scalar_bytes = 256 << 20;
    budget.simple_key_max_lookahead = 1 << 20;
    let mut options = serde_saphyr::Options::default();
    options.budget = Some(budget);
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::FirstWins;
    options.with_snippet = false;
    options
}

/// A YAML error as a one-line reason.
fn yaml_error(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let line = text.lines().next().unwrap_or_default();
    format!("invalid YAML: {line}")
}

/// Declared licenses of a manifest or lock entry from its `license` field
/// (a string, or the legacy `{ "type": ... }` object) or else its legacy
/// `licenses` array.
fn licenses(license: Option<&Value>, legacy: Option<&Value>) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => declared_license(s),
            Value::Object(o) => o
                .get("type")
                .and_then(Value::as_str)
                .and_then(declared_license),
            _ => None,
        }
    };
    let mut out: Vec<String> = Vec::new();
    for field in [license, legacy] {
        match field {
            Some(Value::Array(items)) => out.extend(items.iter().take(32).filter_map(one)),
            Some(v) => out.extend(one(v)),
            None => {}
        }
        if !out.is_empty() {
            break;
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_by_scope() {
        assert_eq!(split_name("@babel/core"), Some((Some("@babel"), "core")));
        assert_eq!(split_name("ms"), Some((None, "ms")));
        for bad in ["", "@babel", "@/x", "@a/b/c", "a/b", "a b", "npm:x"] {
            assert_eq!(split_name(bad), None, "{bad}");
        }
        assert_eq!(
            split_spec("@babel/core@^7.0.0"),
            Some(("@babel/core", "^7.0.0"))
        );
        assert_eq!(split_spec("ms@npm:2.1.3"), Some(("ms", "npm:2.1.3")));
        assert_eq!(split_spec("@babel/core"), None);
        assert_eq!(split_spec(""), None);
    }

    #[test]
    fn license_forms() {
        let l = |license: Value, legacy: Value| licenses(Some(&license), Some(&legacy));
        let none = Value::Null;
        assert_eq!(
            l(Value::from("(MIT OR Apache-2.0)"), none.clone()),
            ["(MIT OR Apache-2.0)"]
        );
        assert_eq!(
            l(serde_json::json!({"type": "mit", "url": "x"}), none.clone()),
            ["MIT"]
        );
        assert_eq!(
            l(
                none.clone(),
                serde_json::json!([{"type": "MIT"}, {"type": "Apache 2.0"}, 7])
            ),
            ["MIT", "Apache-2.0"]
        );
        assert!(l(Value::from(3), none).is_empty());
        assert!(licenses(None, None).is_empty());
    }
}
