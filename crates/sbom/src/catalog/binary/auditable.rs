//! The dependency list `cargo auditable` embeds in Rust binaries: a
//! `.dep-v0` section holding zlib-compressed JSON
//! `{"packages": [{name, version, source, kind, dependencies, root}]}`.
//!
//! Reported: every package linked in. Left out: `local` packages (the
//! workspace's own crates and path dependencies: their names say nothing
//! about crates.io, where a `pkg:cargo` purl points) and `build`-only ones
//! (build scripts and proc macros run at build time and are not in the
//! binary).

use std::io::Read;

use serde::Deserialize;

use crate::package::{Ecosystem, Package};

/// The section's name in ELF, PE and (in `__DATA`) Mach-O files.
pub(super) const SECTION: &str = ".dep-v0";
/// Most bytes the JSON may inflate to.
const MAX_JSON: u64 = 16 << 20;

#[derive(Debug, Deserialize)]
struct Info {
    packages: Vec<Dep>,
}

#[derive(Debug, Deserialize)]
struct Dep {
    name: String,
    version: String,
    #[serde(default)]
    source: String,
    #[serde(default)]
    kind: String,
}

/// The packages recorded in a `.dep-v0` section.
///
/// # Errors
/// The section does not inflate, inflates past the bound, or is not the
/// expected JSON.
pub(super) fn packages(section: &[u8], cataloger: &str) -> Result<Vec<Package>, String> {
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(section)
        .take(MAX_JSON + 1)
        .read_to_end(&mut json)
        .map_err(|e| format!("{SECTION}: not zlib data: {e}"))?;
    if json.len() as u64 > MAX_JSON {
        return Err(format!("{SECTION}: inflates past {MAX_JSON} bytes"));
    }
    let info: Info =
        serde_json::from_slice(&json).map_err(|e| format!("{SECTION}: unexpected JSON: {e}"))?;
    Ok(info
        .packages
        .into_iter()
        .filter(|d| d.source != "local" && d.kind != "build")
        .map(|d| Package::new(Ecosystem::Cargo, d.name, d.version, cataloger))
        .collect())
}

#[cfg(test)]
pub(super) mod tests {
    use std::io::Write;

    use super::*;

    pub(crate) const JSON: &str = r#"{"packages":[
        {"name":"tool","version":"0.3.0","source":"local","dependencies":[1,2,3],"root":true},
        {"name":"serde","version":"1.0.190","source":"crates.io"},
        {"name":"serde_derive","version":"1.0.190","source":"crates.io","kind":"build"},
        {"name":"forked","version":"0.1.0","source":"git"}
    ]}"#;

    pub(crate) fn compress(data: &[u8]) -> Vec<u8> {
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = z.write_all(data);
        z.finish().unwrap_or_default()
    }

    #[test]
    fn reads_runtime_dependencies() {
        let got: Vec<String> = packages(&compress(JSON.as_bytes()), "t")
            .unwrap_or_default()
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect();
        assert_eq!(got, ["serde@1.0.190", "forked@0.1.0"]);
    }

    #[test]
    fn refuses_bombs_and_garbage() {
        let bomb = compress(&vec![b' '; 20 << 20]);
        assert!(packages(&bomb, "t").is_err_and(|e| e.contains("inflates past")));
        assert!(packages(b"not zlib", "t").is_err());
        assert!(packages(&compress(b"{\"packages\": 3}"), "t").is_err());
        let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
        assert!(packages(&compress(deep.as_bytes()), "t").is_err());
    }
}
