//! Python lock files: `poetry.lock`, `uv.lock` and `pdm.lock` (TOML, a
//! `[[package]]` array of name and version) and `Pipfile.lock` (JSON,
//! `default` and `develop` maps of `"==version"` pins).
//!
//! Entries that are the project itself or local source trees (Poetry
//! `directory` sources, uv `editable`/`virtual`/`directory` sources, PDM
//! editable entries) are left out: they are not published packages.
//! Pipfile entries without a pinned version (git, path, editable) are too.

use std::collections::BTreeMap;

use rampart_source::VPath;
use serde::Deserialize;
use toml::Table;

use super::super::pyjs_common::{OptStr, strip_bom};
use super::super::{Cataloger, Evidence, Found, file_name_is};
use super::{package, valid_name, valid_version};
use crate::package::Package;

/// The Python lock-file cataloger.
#[derive(Debug)]
pub struct PythonLocks;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lock {
    Poetry,
    Uv,
    Pdm,
    Pipfile,
}

fn lock_kind(path: &VPath) -> Option<Lock> {
    match path.file_name() {
        b"poetry.lock" => Some(Lock::Poetry),
        b"uv.lock" => Some(Lock::Uv),
        b"pdm.lock" => Some(Lock::Pdm),
        b"Pipfile.lock" => Some(Lock::Pipfile),
        _ => None,
    }
}

/// True when a TOML `[[package]]` entry is a local source tree rather than
/// a published distribution.
fn is_local(kind: Lock, entry: &Table) -> bool {
    match kind {
        Lock::Poetry => {
            entry
                .get("source")
                .and_then(|s| s.get("type"))
                .and_then(toml::Value::as_str)
                == Some("directory")
        }
        Lock::Uv => entry
            .get("source")
            .and_then(toml::Value::as_table)
            .is_some_and(|s| {
                s.contains_key("editable")
                    || s.contains_key("virtual")
                    || s.contains_key("directory")
            }),
        Lock::Pdm => entry.get("editable").and_then(toml::Value::as_bool) == Some(true),
        Lock::Pipfile => false,
    }
}

fn parse_toml(kind: Lock, text: &str, cataloger: &str) -> Result<Vec<Package>, String> {
    let doc: Table = toml::from_str(text).map_err(|e| format!("invalid TOML: {}", e.message()))?;
    let Some(entries) = doc.get("package").and_then(toml::Value::as_array) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for entry in entries.iter().filter_map(toml::Value::as_table) {
        let name = entry.get("name").and_then(toml::Value::as_str);
        let version = entry.get("version").and_then(toml::Value::as_str);
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        if is_local(kind, entry) || !valid_name(name) || !valid_version(version) {
            continue;
        }
        out.push(package(name, version, cataloger));
    }
    Ok(out)
}

/// The parts of `Pipfile.lock` Rampart reads.
#[derive(Debug, Deserialize)]
struct Pipfile {
    default: Option<BTreeMap<String, PipfileEntry>>,
    develop: Option<BTreeMap<String, PipfileEntry>>,
}

#[derive(Debug, Deserialize)]
struct PipfileEntry {
    #[serde(default)]
    version: OptStr,
}

fn parse_pipfile(data: &[u8], cataloger: &str) -> Result<Vec<Package>, String> {
    let doc: Pipfile =
        serde_json::from_slice(data).map_err(|e| format!("invalid Pipfile.lock JSON: {e}"))?;
    let mut out = Vec::new();
    for (name, entry) in doc.default.iter().chain(doc.develop.iter()).flatten() {
        let Some(pin) = entry.version.as_deref() else {
            continue;
        };
        let Some(version) = pin.strip_prefix("===").or_else(|| pin.strip_prefix("==")) else {
            continue;
        };
        if valid_name(name) && valid_version(version) {
            out.push(package(name, version, cataloger));
        }
    }
    Ok(out)
}

impl Cataloger for PythonLocks {
    fn name(&self) -> &'static str {
        "python-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "poetry.lock")
            || file_name_is(path, "uv.lock")
            || file_name_is(path, "pdm.lock")
            || file_name_is(path, "Pipfile.lock")
    }

    fn parse(&self, ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let kind = lock_kind(ev.path).ok_or("not a Python lock file")?;
        let data = strip_bom(data);
        let packages = if kind == Lock::Pipfile {
            parse_pipfile(data, self.name())?
        } else {
            let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
            parse_toml(kind, text, self.name())?
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

    fn names(ps: &[Package]) -> Vec<String> {
        ps.iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn poetry_skips_directory_sources() {
        let text = r#"
[[package]]
name = "Requests"
version = "2.31.0"
optional = false

[[package]]
name = "mylib"
version = "0.1.0"
[package.source]
type = "directory"
url = "../mylib"

[[package]]
name = "gitdep"
version = "1.0"
[package.source]
type = "git"
url = "https://example.invalid/gitdep.git"

[[package]]
name = "no-version"

[metadata]
lock-version = "2.0"
"#;
        let ps = parse_toml(Lock::Poetry, text, "t").unwrap_or_default();
        assert_eq!(names(&ps), ["requests@2.31.0", "gitdep@1.0"]);
    }

    #[test]
    fn uv_skips_the_project_and_workspace_members() {
        let text = r#"
version = 1
requires-python = ">=3.12"

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }

[[package]]
name = "member"
version = "0.2.0"
source = { virtual = "packages/member" }

[[package]]
name = "idna"
version = "3.7"
source = { registry = "https://pypi.org/simple" }
"#;
        let ps = parse_toml(Lock::Uv, text, "t").unwrap_or_default();
        assert_eq!(names(&ps), ["idna@3.7"]);
    }

    #[test]
    fn pipfile_pins() {
        let data = br#"{"_meta": {"hash": {}},
            "default": {"six": {"version": "==1.16.0"}, "local": {"path": ".", "editable": true},
                        "weird": {"version": "*"}},
            "develop": {"pytest": {"version": "==8.0.0", "markers": "python_version >= '3.8'"}}}"#;
        let ps = parse_pipfile(data, "t").unwrap_or_default();
        assert_eq!(names(&ps), ["six@1.16.0", "pytest@8.0.0"]);
        assert!(parse_pipfile(b"{", "t").is_err());
    }

    #[test]
    fn hostile_toml_is_an_error_not_a_crash() {
        let deep = format!("a = {}1{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(parse_toml(Lock::Pdm, &deep, "t").is_err());
        assert!(parse_toml(Lock::Pdm, "[[package]\nname=", "t").is_err());
        let pdm = "[[package]]\nname = \"x\"\nversion = \"1\"\neditable = true\n\
                   [[package]]\nname = \"y\"\nversion = \"2\"\n";
        let ps = parse_toml(Lock::Pdm, pdm, "t").unwrap_or_default();
        assert_eq!(names(&ps), ["y@2"]);
    }
}
