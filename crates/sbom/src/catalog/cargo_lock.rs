//! Rust `Cargo.lock` files, versions 1 to 4.
//!
//! Reported: every `[[package]]` with a `source` (a crates.io or other
//! registry, or git). Left out: packages without one, which are the
//! workspace's own members and path dependencies; a `pkg:cargo` purl names
//! a crates.io crate, and a local crate that shares a name with one would
//! be matched against the wrong advisories.

use serde::Deserialize;

use rampart_source::VPath;

use super::{Cataloger, Evidence, Found, file_name_is};
use crate::package::{Ecosystem, Package};

/// The `Cargo.lock` cataloger.
#[derive(Debug)]
pub struct CargoLock;

#[derive(Debug, Deserialize)]
struct Lock {
    #[serde(default)]
    package: Vec<Locked>,
}

#[derive(Debug, Deserialize)]
struct Locked {
    name: String,
    version: String,
    source: Option<String>,
}

/// True inside cargo's own caches (`~/.cargo/registry`, `~/.cargo/git`),
/// whose lock files came with downloaded sources.
fn in_cargo_cache(p: &[u8]) -> bool {
    [&b".cargo/registry/"[..], b".cargo/git/"]
        .iter()
        .any(|d| memchr::memmem::find_iter(p, d).any(|i| i == 0 || p.get(i - 1) == Some(&b'/')))
}

impl Cataloger for CargoLock {
    fn name(&self) -> &'static str {
        "cargo-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "Cargo.lock") && !in_cargo_cache(path.as_bytes())
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
        let lock: Lock = toml::from_str(text).map_err(|e| format!("not a Cargo.lock: {e}"))?;
        Ok(lock
            .package
            .into_iter()
            .filter(|p| p.source.as_deref().is_some_and(|s| !s.is_empty()))
            .map(|p| {
                Found::Package(Box::new(Package::new(
                    Ecosystem::Cargo,
                    p.name,
                    p.version,
                    self.name(),
                )))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<String>, String> {
        let p = VPath::from_relative(b"Cargo.lock", 100, 10).unwrap_or_default();
        let ev = Evidence {
            path: &p,
            layer: None,
            size: 0,
        };
        Ok(CargoLock
            .parse(&ev, text.as_bytes())?
            .iter()
            .filter_map(|f| match f {
                Found::Package(p) => Some(format!("{}@{}", p.name, p.version)),
                _ => None,
            })
            .collect())
    }

    #[test]
    fn reads_v1_and_v4() {
        let v1 = r#"
[[package]]
name = "app"
version = "0.1.0"
dependencies = ["libc 0.2.150 (registry+https://github.com/rust-lang/crates.io-index)"]

[[package]]
name = "libc"
version = "0.2.150"
source = "registry+https://github.com/rust-lang/crates.io-index"

[metadata]
"checksum libc 0.2.150 (registry+https://github.com/rust-lang/crates.io-index)" = "89d9"
"#;
        assert_eq!(parse(v1), Ok(vec!["libc@0.2.150".to_string()]));
        let v4 = r#"version = 4

[[package]]
name = "ws-member"
version = "0.1.0"
dependencies = ["anyhow", "gitdep"]

[[package]]
name = "anyhow"
version = "1.0.86"
source = "sparse+https://index.crates.io/"
checksum = "b3d1"

[[package]]
name = "gitdep"
version = "0.3.0"
source = "git+https://example.com/gitdep?branch=main#0123abcd"
"#;
        assert_eq!(
            parse(v4),
            Ok(vec![
                "anyhow@1.0.86".to_string(),
                "gitdep@0.3.0".to_string()
            ])
        );
        assert!(parse("[[package]]\nname = 3\n").is_err());
        assert!(parse(&format!("a = {}", "[".repeat(100_000))).is_err());
        let cache = VPath::from_relative(
            b"root/.cargo/registry/src/index.crates.io-6f17/ripgrep-14.1.0/Cargo.lock",
            4096,
            64,
        )
        .unwrap_or_default();
        assert!(!CargoLock.wants(&cache, 10));
    }
}
