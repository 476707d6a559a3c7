//! .NET packages from NuGet: what a built application ships with
//! (`*.deps.json`), what restore resolved (`packages.lock.json`), and what a
//! project asks for (`PackageReference` items of `*.csproj`, `*.fsproj`,
//! `*.vbproj`, and the pins of the older `packages.config`).

use std::collections::BTreeMap;

use rampart_source::VPath;
use serde::Deserialize;
use serde_json::Value;

use super::lockutil::{found, json_str, package};
use super::{Cataloger, Evidence, Found, file_name_ends_with, file_name_is};
use crate::package::{Ecosystem, Package};

mod project;

/// `*.deps.json` next to a built application.
#[derive(Debug)]
pub struct DepsJson;

/// `packages.lock.json`.
#[derive(Debug)]
pub struct NugetLock;

/// MSBuild project files and `packages.config`.
#[derive(Debug)]
pub struct ProjectFile;

#[derive(Deserialize)]
struct Library {
    #[serde(default, rename = "type")]
    ty: Option<Value>,
}

#[derive(Deserialize)]
struct Deps {
    libraries: Option<BTreeMap<String, Library>>,
}

/// Libraries of type `package` (from NuGet) and `runtimepack` (the .NET
/// runtime a self-contained application carries, itself a NuGet package
/// with its own advisories, keyed `runtimepack.NAME/VERSION`); `project`
/// entries are the application itself.
fn parse_deps(data: &[u8], cataloger: &str) -> Result<Vec<Package>, String> {
    let deps: Deps = serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
    let libraries = deps.libraries.ok_or("no libraries object")?;
    Ok(libraries
        .iter()
        .filter(|(_, lib)| matches!(json_str(lib.ty.as_ref()), Some("package" | "runtimepack")))
        .filter_map(|(key, _)| key.split_once('/'))
        .filter_map(|(name, version)| {
            let name = name.strip_prefix("runtimepack.").unwrap_or(name);
            package(Ecosystem::Nuget, name, version, cataloger)
        })
        .collect())
}

#[derive(Deserialize)]
struct Locked {
    #[serde(default, rename = "type")]
    ty: Option<Value>,
    #[serde(default)]
    resolved: Option<Value>,
}

#[derive(Deserialize)]
struct Lock {
    dependencies: Option<BTreeMap<String, BTreeMap<String, Locked>>>,
}

/// Resolved versions for every target framework (and runtime); projects
/// of the same solution carry no version and are left out.
fn parse_lock(data: &[u8], cataloger: &str) -> Result<Vec<Package>, String> {
    let lock: Lock = serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
    let frameworks = lock.dependencies.ok_or("no dependencies object")?;
    Ok(frameworks
        .values()
        .flat_map(BTreeMap::iter)
        .filter(|(_, d)| json_str(d.ty.as_ref()).is_none_or(|t| !t.eq_ignore_ascii_case("project")))
        .filter_map(|(name, d)| {
            package(
                Ecosystem::Nuget,
                name,
                json_str(d.resolved.as_ref())?,
                cataloger,
            )
        })
        .collect())
}

impl Cataloger for DepsJson {
    fn name(&self) -> &'static str {
        "dotnet-deps"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_ends_with(path, ".deps.json")
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        found(parse_deps(data, self.name())?)
    }
}

impl Cataloger for NugetLock {
    fn name(&self) -> &'static str {
        "nuget-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "packages.lock.json")
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        found(parse_lock(data, self.name())?)
    }
}

impl Cataloger for ProjectFile {
    fn name(&self) -> &'static str {
        "dotnet-project"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_ends_with(path, ".csproj")
            || file_name_ends_with(path, ".fsproj")
            || file_name_ends_with(path, ".vbproj")
            || file_name_is(path, "packages.config")
    }

    fn max_size(&self) -> u64 {
        8 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let refs = project::package_references(data)?;
        found(
            refs.iter()
                .filter_map(|(name, version)| package(Ecosystem::Nuget, name, version, self.name()))
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: Result<Vec<Package>, String>) -> Vec<String> {
        r.unwrap_or_default()
            .into_iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn deps_json_keeps_packages_and_runtime_packs() {
        let text = br#"{
          "runtimeTarget": {"name": ".NETCoreApp,Version=v8.0/linux-x64"},
          "targets": {},
          "libraries": {
            "MyApp/1.0.0": {"type": "project", "serviceable": false, "sha512": ""},
            "Newtonsoft.Json/13.0.3": {"type": "package", "serviceable": true},
            "runtimepack.Microsoft.NETCore.App.Runtime.linux-x64/8.0.1": {"type": "runtimepack"},
            "NoVersion": {"type": "package"},
            "Odd/1.0": {"type": 3}
          }
        }"#;
        assert_eq!(
            names(parse_deps(text, "t")),
            [
                "Newtonsoft.Json@13.0.3",
                "Microsoft.NETCore.App.Runtime.linux-x64@8.0.1"
            ]
        );
        assert!(parse_deps(b"{}", "t").is_err());
        assert!(parse_deps(b"[1]", "t").is_err());
    }

    #[test]
    fn lock_resolves_every_framework_once() {
        let text = br#"{
          "version": 1,
          "dependencies": {
            "net8.0": {
              "Serilog": {"type": "Direct", "requested": "[3.1.1, )", "resolved": "3.1.1", "contentHash": "x"},
              "System.Text.Json": {"type": "Transitive", "resolved": "8.0.0"},
              "MyLib": {"type": "Project", "dependencies": {"Serilog": "[3.1.1, )"}}
            },
            "net8.0/linux-x64": {
              "Serilog": {"type": "Direct", "requested": "[3.1.1, )", "resolved": "3.1.1"}
            }
          }
        }"#;
        let pkgs = parse_lock(text, "t").unwrap_or_default();
        assert_eq!(
            names(Ok(pkgs.clone())),
            ["Serilog@3.1.1", "System.Text.Json@8.0.0", "Serilog@3.1.1"]
        );
        assert_eq!(found(pkgs).map(|f| f.len()), Ok(2));
        assert!(parse_lock(b"{\"version\": 1}", "t").is_err());
    }
}
