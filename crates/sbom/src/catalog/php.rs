//! PHP packages from Composer: `composer.lock` (`packages` and
//! `packages-dev`) and the installed list `vendor/composer/installed.json`
//! (Composer 1 writes a bare array, Composer 2 `{"packages": [...]}`).
//! A Composer name is `vendor/package`: the vendor is the purl namespace.

use rampart_source::VPath;
use serde::Deserialize;
use serde_json::Value;

use super::lockutil::{ancestor_is, dir_ends_with, found, json_licenses, json_str, package};
use super::{Cataloger, Evidence, Found, file_name_is};
use crate::package::{Ecosystem, Package};

/// `composer.lock`.
#[derive(Debug)]
pub struct ComposerLock;

/// `vendor/composer/installed.json`.
#[derive(Debug)]
pub struct ComposerInstalled;

/// One package entry; fields are kept loose so that one odd entry does
/// not cost the whole file.
#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    name: Option<Value>,
    #[serde(default)]
    version: Option<Value>,
    #[serde(default)]
    license: Option<Value>,
}

#[derive(Deserialize)]
struct Lock {
    #[serde(default)]
    packages: Option<Vec<Entry>>,
    #[serde(default, rename = "packages-dev")]
    packages_dev: Option<Vec<Entry>>,
}

fn to_package(e: &Entry, cataloger: &str) -> Option<Package> {
    let full = json_str(e.name.as_ref())?;
    let version = json_str(e.version.as_ref())?;
    let (vendor, name) = match full.split_once('/') {
        Some((v, n)) if !v.is_empty() && !n.is_empty() => (Some(v), n),
        _ => (None, full),
    };
    let mut p = package(Ecosystem::Composer, name, version, cataloger)?;
    p.namespace = vendor.map(str::to_string);
    p.licenses = json_licenses(e.license.as_ref());
    Some(p)
}

fn packages(entries: &[Entry], cataloger: &str) -> Vec<Package> {
    entries
        .iter()
        .filter_map(|e| to_package(e, cataloger))
        .collect()
}

impl Cataloger for ComposerLock {
    fn name(&self) -> &'static str {
        "composer-lock"
    }

    /// Not the lock files some packages ship (`vendor/acme/lib/composer.lock`):
    /// they pin that package's development set, which is not installed.
    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "composer.lock") && !ancestor_is(path, 3, "vendor")
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let lock: Lock = serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
        if lock.packages.is_none() && lock.packages_dev.is_none() {
            return Err("no packages or packages-dev list".to_string());
        }
        let mut out = packages(lock.packages.as_deref().unwrap_or_default(), self.name());
        out.extend(packages(
            lock.packages_dev.as_deref().unwrap_or_default(),
            self.name(),
        ));
        found(out)
    }
}

impl Cataloger for ComposerInstalled {
    fn name(&self) -> &'static str {
        "composer-installed"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "installed.json") && dir_ends_with(path, "composer")
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let first = data.iter().find(|b| !b.is_ascii_whitespace());
        let entries: Vec<Entry> = match first {
            Some(b'[') => serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?,
            Some(b'{') => {
                let lock: Lock =
                    serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
                lock.packages.ok_or("no packages list")?
            }
            _ => return Err("neither a JSON array nor an object".to_string()),
        };
        found(packages(&entries, self.name()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(path: &VPath) -> Evidence<'_> {
        Evidence {
            path,
            layer: None,
            size: 0,
        }
    }

    fn summary(found: Result<Vec<Found>, String>) -> Vec<String> {
        found
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| match f {
                Found::Package(p) => Some(format!(
                    "{}|{}|{}|{}",
                    p.namespace.unwrap_or_default(),
                    p.name,
                    p.version,
                    p.licenses.join(",")
                )),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn lock_lists_runtime_and_dev_packages() {
        let path = VPath::from_relative(b"app/composer.lock", 100, 10).unwrap_or_default();
        let text = br#"{"packages":[
            {"name":"monolog/monolog","version":"3.5.0","license":["MIT"]},
            {"name":"broken","version":"1.0"},
            {"name":"x/y","version":7},
            {"name":"a/b","version":"v1.0.0","license":"BSD-3-Clause"}],
          "packages-dev":[{"name":"phpunit/phpunit","version":"10.5.1","license":["BSD-3-Clause"]}]}"#;
        assert_eq!(
            summary(ComposerLock.parse(&ev(&path), text)),
            [
                "monolog|monolog|3.5.0|MIT",
                "|broken|1.0|",
                "a|b|v1.0.0|BSD-3-Clause",
                "phpunit|phpunit|10.5.1|BSD-3-Clause"
            ]
        );
        assert!(ComposerLock.wants(&path, 1));
        let shipped =
            VPath::from_relative(b"app/vendor/acme/lib/composer.lock", 100, 10).unwrap_or_default();
        assert!(!ComposerLock.wants(&shipped, 1));
        assert!(ComposerLock.parse(&ev(&path), b"{}").is_err());
        assert!(
            ComposerLock
                .parse(&ev(&path), b"{\"packages\": 3}")
                .is_err()
        );
        let deep = "[".repeat(100_000);
        assert!(ComposerLock.parse(&ev(&path), deep.as_bytes()).is_err());
    }

    #[test]
    fn installed_json_v1_and_v2() {
        let path = VPath::from_relative(b"app/vendor/composer/installed.json", 100, 10)
            .unwrap_or_default();
        assert!(ComposerInstalled.wants(&path, 1));
        let v1 = br#"[{"name":"psr/log","version":"1.1.4","version_normalized":"1.1.4.0"}]"#;
        assert_eq!(
            summary(ComposerInstalled.parse(&ev(&path), v1)),
            ["psr|log|1.1.4|"]
        );
        let v2 = br#"{"packages":[{"name":"psr/log","version":"3.0.0","license":["MIT"]}],"dev":true,"dev-package-names":[]}"#;
        assert_eq!(
            summary(ComposerInstalled.parse(&ev(&path), v2)),
            ["psr|log|3.0.0|MIT"]
        );
        assert!(ComposerInstalled.parse(&ev(&path), b"").is_err());
        assert!(
            ComposerInstalled
                .parse(&ev(&path), b"{\"dev\":true}")
                .is_err()
        );
    }
}
