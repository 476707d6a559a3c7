//! Installed npm packages: the `package.json` directly inside a
//! `node_modules/<name>/` or `node_modules/@scope/<name>/` directory (at
//! any depth, so nested `node_modules` and pnpm's `.pnpm` store count).
//! Other `package.json` files (a package's own sub-folders, test fixtures,
//! the project root) are not installed packages.

use rampart_source::VPath;
use serde::Deserialize;
use serde_json::Value;

use super::super::pyjs_common::{OptStr, nth_from_end, strip_bom};
use super::super::{Cataloger, Evidence, Found, file_name_is};
use super::{licenses, package};

/// The installed-packages cataloger.
#[derive(Debug)]
pub struct NpmInstalled;

/// The fields of a `package.json` Rampart reads; the rest is skipped
/// unbuilt.
#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    name: OptStr,
    #[serde(default)]
    version: OptStr,
    license: Option<Value>,
    licenses: Option<Value>,
}

/// True for a package directory name (not a scope, `.bin` or `.pnpm`).
fn package_dir(name: &[u8]) -> bool {
    !name.is_empty() && !name.starts_with(b"@") && !name.starts_with(b".")
}

impl Cataloger for NpmInstalled {
    fn name(&self) -> &'static str {
        "npm-installed"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        if !file_name_is(path, "package.json") {
            return false;
        }
        let p = path.as_bytes();
        let (d1, d2) = (nth_from_end(p, 1), nth_from_end(p, 2));
        package_dir(d1)
            && (d2 == b"node_modules"
                || (d2.len() > 1 && d2.starts_with(b"@") && nth_from_end(p, 3) == b"node_modules"))
    }

    fn max_size(&self) -> u64 {
        8 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let manifest: Manifest = serde_json::from_slice(strip_bom(data))
            .map_err(|e| format!("invalid package.json: {e}"))?;
        let name = manifest.name.as_deref().ok_or("package.json has no name")?;
        let version = manifest
            .version
            .as_deref()
            .ok_or("package.json has no version")?;
        let mut p = package(name, version, self.name())
            .ok_or_else(|| format!("unusable package name or version {name:?} {version:?}"))?;
        p.licenses = licenses(manifest.license.as_ref(), manifest.licenses.as_ref());
        Ok(vec![Found::Package(Box::new(p))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp(s: &str) -> VPath {
        VPath::from_relative(s.as_bytes(), 4096, 256).unwrap_or_default()
    }

    #[test]
    fn wants_package_directories_only() {
        for yes in [
            "app/node_modules/ms/package.json",
            "app/node_modules/@babel/core/package.json",
            "node_modules/a/node_modules/b/package.json",
            "app/node_modules/.pnpm/ms@2.1.3/node_modules/ms/package.json",
        ] {
            assert!(NpmInstalled.wants(&vp(yes), 1), "{yes}");
        }
        for no in [
            "app/package.json",
            "app/node_modules/ms/lib/package.json",
            "app/node_modules/ms/test/fixtures/x/package.json",
            "app/node_modules/@babel/package.json",
            "app/node_modules/.bin/package.json",
            "app/node_modules/ms/package.json.bak",
            "@scope/x/package.json",
        ] {
            assert!(!NpmInstalled.wants(&vp(no), 1), "{no}");
        }
    }

    #[test]
    fn reads_the_manifest() {
        let path = vp("node_modules/@babel/core/package.json");
        let ev = Evidence {
            path: &path,
            layer: None,
            size: 1,
        };
        let data = b"\xEF\xBB\xBF{\"name\": \"@babel/core\", \"version\": \"7.24.0\", \"license\": \"MIT\"}";
        match NpmInstalled.parse(&ev, data).unwrap_or_default().first() {
            Some(Found::Package(p)) => {
                assert_eq!(p.namespace.as_deref(), Some("@babel"));
                assert_eq!(p.name, "core");
                assert_eq!(p.version, "7.24.0");
                assert_eq!(p.licenses, ["MIT"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(NpmInstalled.parse(&ev, br#"{"name": "x"}"#).is_err());
        assert!(
            NpmInstalled
                .parse(&ev, br#"{"name": "x", "version": 1}"#)
                .is_err()
        );
        assert!(NpmInstalled.parse(&ev, b"[[[[").is_err());
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(NpmInstalled.parse(&ev, deep.as_bytes()).is_err());
    }
}
