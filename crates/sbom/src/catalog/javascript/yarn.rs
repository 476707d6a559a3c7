//! `yarn.lock`, in Yarn 1's own text format and in Yarn berry's YAML (told
//! apart by berry's `__metadata` block).
//!
//! Yarn 1: each entry's header lists the ranges it satisfies
//! (`"@babel/core@^7.0.0", "@babel/core@^7.1.0":`), the indented `version`
//! field the version installed; an alias (`x@npm:real@^1`) is reported as
//! the real package; `file:` and `link:` entries are local.
//!
//! Berry: the `resolution` (`@babel/core@npm:7.24.0`) names the package
//! and `version` its version; workspace, link and portal resolutions (and
//! `linkType: soft` entries) are local.

use std::collections::BTreeMap;

use rampart_source::VPath;
use serde::Deserialize;

use super::super::pyjs_common::strip_bom;
use super::super::{Cataloger, Evidence, Found, file_name_is};
use super::{package, split_spec, yaml_error, yaml_options};
use crate::package::Package;

/// The Yarn lock-file cataloger.
#[derive(Debug)]
pub struct YarnLock;

/// Protocols of dependencies that are the project's own files.
const LOCAL: &[&str] = &["file:", "link:", "portal:", "workspace:"];

fn is_local(range: &str) -> bool {
    LOCAL.iter().any(|p| range.starts_with(p))
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

/// The package name of a Yarn 1 entry from the first range of its header.
fn v1_name(header: &str) -> Option<&str> {
    let first = unquote(header.split(", ").next()?);
    let (name, range) = split_spec(first)?;
    if is_local(range) {
        return None;
    }
    match range.strip_prefix("npm:") {
        // `alias@npm:real@^1.0.0`, or `alias@npm:real` for any version.
        Some(real) => Some(split_spec(real).map_or(real, |(n, _)| n)),
        None => Some(name),
    }
}

/// `(name, version)` of every Yarn 1 entry.
fn parse_v1(text: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    let mut name: Option<&str> = None;
    let mut version: Option<&str> = None;
    for line in text.lines() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            if let (Some(n), Some(v)) = (name, version) {
                out.push((n, v));
            }
            version = None;
            name = line.trim_end().strip_suffix(':').and_then(v1_name);
            continue;
        }
        // Only the entry's own fields (two spaces), not its dependencies.
        if let Some(field) = line.strip_prefix("  ")
            && !field.starts_with(' ')
            && let Some(v) = field.strip_prefix("version ")
        {
            version = Some(unquote(v));
        }
    }
    if let (Some(n), Some(v)) = (name, version) {
        out.push((n, v));
    }
    out
}

/// The fields of a berry entry Rampart reads (the `__metadata` block
/// shares the shape: its `version` is the lock file's).
#[derive(Debug, Deserialize)]
struct BerryEntry {
    version: Option<String>,
    resolution: Option<String>,
    #[serde(rename = "linkType")]
    link_type: Option<String>,
}

fn parse_berry(text: &str, cataloger: &str) -> Result<Vec<Package>, String> {
    let entries: BTreeMap<String, BerryEntry> =
        serde_saphyr::from_str_with_options(text, yaml_options()).map_err(|e| yaml_error(&e))?;
    let mut out = Vec::new();
    for (key, entry) in &entries {
        if key == "__metadata" || entry.link_type.as_deref() == Some("soft") {
            continue;
        }
        let (Some(resolution), Some(version)) = (&entry.resolution, &entry.version) else {
            continue;
        };
        let Some((name, reference)) = split_spec(resolution) else {
            continue;
        };
        if is_local(reference) {
            continue;
        }
        out.extend(package(name, version, cataloger));
    }
    Ok(out)
}

fn is_berry(text: &str) -> bool {
    text.lines().any(|l| l.trim_end() == "__metadata:")
}

impl Cataloger for YarnLock {
    fn name(&self) -> &'static str {
        "yarn-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        // Lock files that installed packages ship pin their own development
        // trees, which are not installed.
        file_name_is(path, "yarn.lock")
            && !crate::catalog::lockutil::under_dir_named(path, "node_modules")
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = std::str::from_utf8(strip_bom(data)).map_err(|e| format!("not UTF-8: {e}"))?;
        let packages = if is_berry(text) {
            parse_berry(text, self.name())?
        } else {
            parse_v1(text)
                .into_iter()
                .filter_map(|(n, v)| package(n, v, self.name()))
                .collect()
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

    fn ids(ps: &[Package]) -> Vec<String> {
        let mut v: Vec<String> = ps
            .iter()
            .map(|p| {
                format!(
                    "{}{}@{}",
                    p.namespace.clone().map(|n| n + "/").unwrap_or_default(),
                    p.name,
                    p.version
                )
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn v1_entries() {
        let text = r#"# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.
# yarn lockfile v1


"@babel/code-frame@^7.0.0", "@babel/code-frame@^7.10.4":
  version "7.12.13"
  resolved "https://registry.yarnpkg.com/@babel/code-frame/-/code-frame-7.12.13.tgz#abc"
  dependencies:
    "@babel/highlight" "^7.12.13"
    version "9.9.9"

ms@2.0.0:
  version "2.0.0"

"string-width-cjs@npm:string-width@^4.2.0":
  version "4.2.3"

local@file:../local:
  version "1.0.0"

noversion@^1.0.0:
  resolved "x"
"#;
        let got = parse_v1(text);
        assert_eq!(
            got,
            [
                ("@babel/code-frame", "7.12.13"),
                ("ms", "2.0.0"),
                ("string-width", "4.2.3")
            ]
        );
        assert!(!is_berry(text));
    }

    #[test]
    fn berry_entries() {
        let text = r#"# This file is generated by running "yarn install" inside your project.

__metadata:
  version: 8
  cacheKey: 10c0

"@babel/core@npm:^7.0.0, @babel/core@npm:^7.1.0":
  version: 7.24.0
  resolution: "@babel/core@npm:7.24.0"
  dependencies:
    "@babel/types": "npm:^7.24.0"
  checksum: 10c0/abc
  languageName: node
  linkType: hard

"app@workspace:.":
  version: 0.0.0-use.local
  resolution: "app@workspace:."
  languageName: unknown
  linkType: soft

"resolve@patch:resolve@npm%3A^1.0.0#optional!builtin<compat/resolve>":
  version: 1.10
  resolution: "resolve@patch:resolve@npm%3A1.10#optional!builtin<compat/resolve>::version=1.10&hash=c3c19d"
  languageName: node
  linkType: hard
"#;
        assert!(is_berry(text));
        let got = parse_berry(text, "t").unwrap_or_default();
        assert_eq!(ids(&got), ["@babel/core@7.24.0", "resolve@1.10"]);
        assert!(parse_berry("__metadata:\n  version: [\n", "t").is_err());
        let bomb = "__metadata:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n  e: [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n";
        // An alias bomb is refused or read within the budget, never expanded
        // without bound.
        let _ = parse_berry(bomb, "t");
    }
}
