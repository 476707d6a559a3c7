//! npm lock files: `package-lock.json` and `npm-shrinkwrap.json`.
//!
//! Versions 2 and 3 list every installed package in `packages`, keyed by
//! its path (`node_modules/a/node_modules/@s/b`); the root (`""`), links
//! (`"link": true`) and workspace folders (paths outside `node_modules`)
//! are the project's own and left out. Version 1 has only the nested
//! `dependencies` tree, walked with an explicit stack.

use std::collections::BTreeMap;

use rampart_source::VPath;
use serde::Deserialize;
use serde_json::Value;

use super::super::pyjs_common::{OptStr, strip_bom};
use super::super::{Cataloger, Evidence, Found, file_name_is};
use super::{licenses, package, split_spec};
use crate::package::Package;

/// The npm lock-file cataloger.
#[derive(Debug)]
pub struct NpmLock;

/// Deepest `dependencies` nesting followed in a version 1 lock file (the
/// JSON parser already refuses more than 128 levels).
const MAX_DEPTH: usize = 64;

const NODE_MODULES: &str = "node_modules/";

/// The parts of a lock file Rampart reads; the rest is skipped unbuilt.
#[derive(Debug, Deserialize)]
struct LockFile {
    packages: Option<BTreeMap<String, Entry>>,
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

/// An entry of the v2/v3 `packages` map.
#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    name: OptStr,
    #[serde(default)]
    version: OptStr,
    link: Option<Value>,
    license: Option<Value>,
    licenses: Option<Value>,
}

/// An entry of the v1 `dependencies` tree.
#[derive(Debug, Deserialize)]
struct V1Entry {
    #[serde(default)]
    version: OptStr,
    dependencies: Option<BTreeMap<String, V1Entry>>,
}

/// Packages of the v2/v3 `packages` map.
fn from_packages(map: &BTreeMap<String, Entry>, cataloger: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for (key, entry) in map {
        let Some(i) = key.rfind(NODE_MODULES) else {
            // The root ("") and workspace folders.
            continue;
        };
        if entry.link == Some(Value::Bool(true)) {
            continue;
        }
        let path_name = key.get(i + NODE_MODULES.len()..).unwrap_or_default();
        // An alias (`"x": "npm:real@1"`) is installed under the alias
        // with the real name recorded.
        let name = entry.name.as_deref().unwrap_or(path_name);
        let Some(version) = entry.version.as_deref() else {
            continue;
        };
        if let Some(mut p) = package(name, version, cataloger) {
            p.licenses = licenses(entry.license.as_ref(), entry.licenses.as_ref());
            out.push(p);
        }
    }
    out
}

/// Packages of the v1 `dependencies` tree.
fn from_dependencies(root: &BTreeMap<String, V1Entry>, cataloger: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut stack: Vec<(&BTreeMap<String, V1Entry>, usize)> = vec![(root, 0)];
    while let Some((deps, depth)) = stack.pop() {
        for (name, entry) in deps {
            if let Some(version) = entry.version.as_deref() {
                // `"version": "npm:real@1.2.3"` for an alias.
                let (name, version) = match version.strip_prefix("npm:").and_then(split_spec) {
                    Some((real, v)) => (real, v),
                    None => (name.as_str(), version),
                };
                out.extend(package(name, version, cataloger));
            }
            if depth < MAX_DEPTH
                && let Some(nested) = &entry.dependencies
            {
                stack.push((nested, depth + 1));
            }
        }
    }
    out
}

impl Cataloger for NpmLock {
    fn name(&self) -> &'static str {
        "npm-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        (file_name_is(path, "package-lock.json") || file_name_is(path, "npm-shrinkwrap.json"))
            // Lock files that installed packages ship pin their own
            // development trees, which are not installed.
            && !crate::catalog::lockutil::under_dir_named(path, "node_modules")
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let doc: LockFile = serde_json::from_slice(strip_bom(data))
            .map_err(|e| format!("invalid lock file JSON: {e}"))?;
        let packages = match (&doc.packages, &doc.dependencies) {
            (Some(map), _) => from_packages(map, self.name()),
            (None, Some(deps)) => from_dependencies(deps, self.name()),
            (None, None) => Vec::new(),
        };
        Ok(packages
            .into_iter()
            .map(|p| Found::Package(Box::new(p)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(data: &str) -> Result<Vec<String>, String> {
        let path = VPath::from_relative(b"app/package-lock.json", 100, 10).unwrap_or_default();
        let ev = Evidence {
            path: &path,
            layer: None,
            size: 1,
        };
        let mut out: Vec<String> = NpmLock
            .parse(&ev, data.as_bytes())?
            .into_iter()
            .filter_map(|f| match f {
                Found::Package(p) => Some(format!(
                    "{}{}@{}",
                    p.namespace.map(|n| n + "/").unwrap_or_default(),
                    p.name,
                    p.version
                )),
                _ => None,
            })
            .collect();
        out.sort();
        Ok(out)
    }

    #[test]
    fn v3_packages_map() {
        let lock = r#"{"name": "app", "lockfileVersion": 3, "packages": {
            "": {"name": "app", "version": "1.0.0", "workspaces": ["packages/*"]},
            "node_modules/ms": {"version": "2.1.3", "license": "MIT"},
            "node_modules/debug/node_modules/ms": {"version": "2.0.0"},
            "node_modules/@babel/core": {"version": "7.24.0"},
            "node_modules/string-width-cjs": {"name": "string-width", "version": "4.2.3"},
            "node_modules/member": {"resolved": "packages/member", "link": true},
            "packages/member": {"name": "member", "version": "0.1.0"},
            "node_modules/broken": {"resolved": "x"}
        }}"#;
        assert_eq!(
            parse(lock).unwrap_or_default(),
            [
                "@babel/core@7.24.0",
                "ms@2.0.0",
                "ms@2.1.3",
                "string-width@4.2.3"
            ]
        );
    }

    #[test]
    fn v1_dependency_tree() {
        let lock = r#"{"name": "app", "lockfileVersion": 1, "dependencies": {
            "debug": {"version": "2.6.9", "dependencies": {"ms": {"version": "2.0.0"}}},
            "ms": {"version": "2.1.3", "dev": true},
            "alias": {"version": "npm:@scope/real@1.0.0"},
            "local": {"version": "file:../local"},
            "gitdep": {"version": "git+https://example.invalid/x.git#abc"}
        }}"#;
        assert_eq!(
            parse(lock).unwrap_or_default(),
            ["@scope/real@1.0.0", "debug@2.6.9", "ms@2.0.0", "ms@2.1.3"]
        );
    }

    #[test]
    fn hostile_input() {
        assert!(parse("[").is_err());
        assert!(parse("3").is_err());
        assert_eq!(parse("{}").unwrap_or_default(), Vec::<String>::new());
        // Deep nesting beyond the parser's limit is an error, not a crash.
        let mut deep = String::from(r#"{"dependencies": "#);
        for _ in 0..200 {
            deep.push_str(r#"{"a": {"version": "1.0.0", "dependencies": "#);
        }
        deep.push_str("{}");
        for _ in 0..200 {
            deep.push_str("}}");
        }
        deep.push('}');
        assert!(parse(&deep).is_err());
    }
}
