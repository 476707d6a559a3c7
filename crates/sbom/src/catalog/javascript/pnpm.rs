//! `pnpm-lock.yaml`: the `packages` map, whose keys changed with the lock
//! file version: `/name/1.0.0` and `/@scope/name/1.0.0_peer@2.0.0` (v5),
//! `/name@1.0.0(peer@2.0.0)` (v6), `name@1.0.0` (v9). An entry's own `name`
//! and `version` fields (tarball and git dependencies) win over the key.
//! Local directories (`resolution: {type: directory}`, `file:` and `link:`
//! keys) are the project's own files and left out. Only the last YAML
//! document of the file is read (pnpm may write a package-manager lock
//! document before the project's).

use std::collections::BTreeMap;

use rampart_source::VPath;
use serde::Deserialize;

use super::super::pyjs_common::strip_bom;
use super::super::{Cataloger, Evidence, Found, file_name_is};
use super::{package, split_spec, yaml_error, yaml_options};
use crate::package::Package;

/// The pnpm lock-file cataloger.
#[derive(Debug)]
pub struct PnpmLock;

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(rename = "lockfileVersion")]
    lockfile_version: Option<String>,
    packages: Option<BTreeMap<String, Option<Entry>>>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    name: Option<String>,
    version: Option<String>,
    resolution: Option<Resolution>,
}

#[derive(Debug, Deserialize)]
struct Resolution {
    #[serde(rename = "type")]
    kind: Option<String>,
}

/// How `packages` keys are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyFormat {
    /// Before v6: `/name/1.0.0_peers`.
    Slashes,
    /// v6 to v8: `/name@1.0.0(peers)`.
    SlashAt,
    /// v9: `name@1.0.0(peers)`.
    At,
}

impl KeyFormat {
    /// From `lockfileVersion` (`5.4`, `'6.0'`, `'9.0'`); the current
    /// format when it is missing or unreadable.
    fn of(version: Option<&str>) -> Self {
        match version
            .and_then(|v| v.trim().split('.').next())
            .and_then(|major| major.parse::<u32>().ok())
        {
            Some(m) if m < 6 => KeyFormat::Slashes,
            Some(m) if m < 9 => KeyFormat::SlashAt,
            _ => KeyFormat::At,
        }
    }
}

/// `(name, version)` from a `packages` key. Before v9, registry packages'
/// keys start with `/`; other keys (`github.com/user/repo/sha`) carry no
/// usable name and version, which the entry's own fields then give.
fn from_key(key: &str, format: KeyFormat) -> Option<(&str, &str)> {
    match format {
        KeyFormat::Slashes => {
            let k = key.strip_prefix('/')?;
            // `name/version` or `@scope/name/version`, then `_peers`.
            let split = if k.starts_with('@') {
                let first = k.find('/')?;
                first + 1 + k.get(first + 1..)?.find('/')?
            } else {
                k.find('/')?
            };
            let name = k.get(..split)?;
            let rest = k.get(split + 1..)?;
            Some((name, rest.split('_').next().unwrap_or(rest)))
        }
        KeyFormat::SlashAt | KeyFormat::At => {
            let k = if format == KeyFormat::SlashAt {
                key.strip_prefix('/')?
            } else {
                key
            };
            split_spec(k.split('(').next().unwrap_or(k))
        }
    }
}

fn parse_lock(text: &str, cataloger: &str) -> Result<Vec<Package>, String> {
    let docs: Vec<Lock> = serde_saphyr::from_multiple_with_options(text, yaml_options())
        .map_err(|e| yaml_error(&e))?;
    let Some(lock) = docs.into_iter().last() else {
        return Ok(Vec::new());
    };
    let format = KeyFormat::of(lock.lockfile_version.as_deref());
    let mut out = Vec::new();
    for (key, entry) in lock.packages.iter().flatten() {
        let entry = entry.as_ref();
        if entry
            .and_then(|e| e.resolution.as_ref())
            .and_then(|r| r.kind.as_deref())
            == Some("directory")
            || key.starts_with("file:")
            || key.starts_with("link:")
        {
            continue;
        }
        let keyed = from_key(key, format);
        let name = entry
            .and_then(|e| e.name.as_deref())
            .or(keyed.map(|(n, _)| n));
        let version = entry
            .and_then(|e| e.version.as_deref())
            .or(keyed.map(|(_, v)| v));
        if let (Some(name), Some(version)) = (name, version) {
            // A URL or protocol in place of a version is skipped here.
            out.extend(package(name, version, cataloger));
        }
    }
    Ok(out)
}

impl Cataloger for PnpmLock {
    fn name(&self) -> &'static str {
        "pnpm-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        (file_name_is(path, "pnpm-lock.yaml"))
            // Lock files that installed packages ship pin their own
            // development trees, which are not installed.
            && !crate::catalog::lockutil::under_dir_named(path, "node_modules")
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = std::str::from_utf8(strip_bom(data)).map_err(|e| format!("not UTF-8: {e}"))?;
        Ok(parse_lock(text, self.name())?
            .into_iter()
            .map(|p| Found::Package(Box::new(p)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(text: &str) -> Vec<String> {
        let mut v: Vec<String> = parse_lock(text, "t")
            .unwrap_or_default()
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
    fn keys_of_every_version() {
        use KeyFormat::{At, SlashAt, Slashes};
        assert_eq!(from_key("/ms/2.1.3", Slashes), Some(("ms", "2.1.3")));
        assert_eq!(
            from_key("/@babel/core/7.0.0_react@17.0.2", Slashes),
            Some(("@babel/core", "7.0.0"))
        );
        assert_eq!(from_key("github.com/user/repo/abc", Slashes), None);
        assert_eq!(from_key("/ms@2.1.3", SlashAt), Some(("ms", "2.1.3")));
        assert_eq!(
            from_key(
                "/@babel/core@7.0.0(@types/react@18.0.0)(react@18.2.0)",
                SlashAt
            ),
            Some(("@babel/core", "7.0.0"))
        );
        assert_eq!(from_key("github.com/user/repo@abc", SlashAt), None);
        assert_eq!(
            from_key("@babel/core@7.0.0", At),
            Some(("@babel/core", "7.0.0"))
        );
        assert_eq!(from_key("/@babel", Slashes), None);
        assert_eq!(KeyFormat::of(Some("5.4")), Slashes);
        assert_eq!(KeyFormat::of(Some("6.0")), SlashAt);
        assert_eq!(KeyFormat::of(Some("9.0")), At);
        assert_eq!(KeyFormat::of(None), At);
    }

    #[test]
    fn v5_lock() {
        let text = "lockfileVersion: 5.4\n\nspecifiers:\n  ms: ^2.1.3\n\n\
                    dependencies:\n  ms: 2.1.3\n\npackages:\n\n  /ms/2.1.3:\n    \
                    resolution: {integrity: sha512-abc}\n    dev: false\n\n  \
                    /@types/node/20.1.0_typescript@5.0.0:\n    resolution: {integrity: sha512-x}\n    dev: true\n\n  \
                    github.com/user/repo/abcdef:\n    resolution: {tarball: https://codeload.example.invalid/x}\n    \
                    name: repo-pkg\n    version: 1.2.0\n\n  github.com/user/other/abcdef:\n    resolution: {tarball: https://codeload.example.invalid/y}\n\n  file:../local:\n    resolution: {directory: ../local, type: directory}\n    \
                    name: local\n    version: 0.0.1\n";
        assert_eq!(
            ids(text),
            ["@types/node@20.1.0", "ms@2.1.3", "repo-pkg@1.2.0"]
        );
    }

    #[test]
    fn v6_and_v9_locks() {
        let v6 = "lockfileVersion: '6.0'\n\npackages:\n\n  /ms@2.1.3:\n    \
                  resolution: {integrity: sha512-abc}\n    dev: false\n\n  \
                  /@babel/core@7.0.0(supports-color@8.0.0):\n    resolution: {integrity: sha512-x}\n";
        assert_eq!(ids(v6), ["@babel/core@7.0.0", "ms@2.1.3"]);
        let v9 = "---\nlockfileVersion: '9.0'\nimporters:\n  .: {}\n---\n\
                  lockfileVersion: '9.0'\n\nsettings:\n  autoInstallPeers: true\n\n\
                  importers:\n\n  .:\n    dependencies:\n      ms:\n        specifier: ^2.1.3\n        version: 2.1.3\n\n\
                  packages:\n\n  ms@2.1.3:\n    resolution: {integrity: sha512-abc}\n\n  \
                  tarball@https://example.invalid/t.tgz:\n    resolution: {tarball: https://example.invalid/t.tgz}\n    version: 3.0.0\n\n  \
                  local@file:../local:\n    resolution: {directory: ../local, type: directory}\n\n\
                  snapshots:\n\n  ms@2.1.3: {}\n";
        assert_eq!(ids(v9), ["ms@2.1.3", "tarball@3.0.0"]);
    }

    #[test]
    fn broken_yaml_is_a_reason() {
        assert!(parse_lock("packages: [\n", "t").is_err());
        assert!(parse_lock("packages:\n  x: {version: [1, 2]}\n", "t").is_err());
        let deep = format!("packages: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_lock(&deep, "t").is_err());
        assert_eq!(ids(""), Vec::<String>::new());
    }
}
