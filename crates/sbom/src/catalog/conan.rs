//! C and C++ packages from Conan lock files (`conan.lock`). Conan 1 writes a
//! `graph_lock` whose nodes carry a reference `name/version@user/channel#rrev`
//! (`ref`, or `pref` with a package id in older files); Conan 2 lists
//! references `name/version#rrev%timestamp` under `requires` and
//! `build_requires` (tools used to build, still part of the supply chain).
//! The user and channel of a Conan 1 reference are purl qualifiers, which
//! packages cannot carry yet: they are dropped.

use std::collections::BTreeMap;

use rampart_source::VPath;
use serde::Deserialize;
use serde_json::Value;

use super::lockutil::{found, json_str, package};
use super::{Cataloger, Evidence, Found, file_name_is};
use crate::package::{Ecosystem, Package};

/// `conan.lock`.
#[derive(Debug)]
pub struct ConanLock;

#[derive(Deserialize)]
struct Node {
    #[serde(default, rename = "ref")]
    reference: Option<Value>,
    #[serde(default)]
    pref: Option<Value>,
}

#[derive(Deserialize)]
struct GraphLock {
    #[serde(default)]
    nodes: BTreeMap<String, Node>,
}

#[derive(Deserialize)]
struct Lock {
    graph_lock: Option<GraphLock>,
    requires: Option<Vec<Value>>,
    build_requires: Option<Vec<Value>>,
}

/// Name and version of a reference; `None` for the consumer's own
/// `conanfile` and anything that is not `name/version...`.
fn reference(r: &str) -> Option<(&str, &str)> {
    let r = r.split(['#', ':', '%']).next()?;
    let r = r.split_once('@').map_or(r, |(nv, _)| nv);
    let (name, version) = r.split_once('/')?;
    (!name.is_empty() && !version.is_empty()).then_some((name.trim(), version.trim()))
}

fn parse_lock(data: &[u8], cataloger: &str) -> Result<Vec<Package>, String> {
    let lock: Lock = serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
    let mut refs: Vec<&str> = Vec::new();
    if let Some(g) = &lock.graph_lock {
        refs.extend(
            g.nodes.values().filter_map(|n| {
                json_str(n.reference.as_ref()).or_else(|| json_str(n.pref.as_ref()))
            }),
        );
    }
    for list in [&lock.requires, &lock.build_requires].into_iter().flatten() {
        refs.extend(list.iter().filter_map(|v| json_str(Some(v))));
    }
    if lock.graph_lock.is_none() && lock.requires.is_none() && lock.build_requires.is_none() {
        return Err("neither a graph_lock nor requires".to_string());
    }
    Ok(refs
        .into_iter()
        .filter_map(reference)
        .filter_map(|(n, v)| package(Ecosystem::Conan, n, v, cataloger))
        .collect())
}

impl Cataloger for ConanLock {
    fn name(&self) -> &'static str {
        "conan-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "conan.lock")
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        found(parse_lock(data, self.name())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(text: &str) -> Result<Vec<String>, String> {
        parse_lock(text.as_bytes(), "t").map(|ps| {
            ps.into_iter()
                .map(|p| format!("{}@{}", p.name, p.version))
                .collect()
        })
    }

    #[test]
    fn references_are_split() {
        assert_eq!(reference("zlib/1.2.13"), Some(("zlib", "1.2.13")));
        assert_eq!(
            reference("openssl/1.1.1k@conan/stable#0123abcd"),
            Some(("openssl", "1.1.1k"))
        );
        assert_eq!(
            reference("zlib/1.2.13#97d5%1692672717.068"),
            Some(("zlib", "1.2.13"))
        );
        assert_eq!(
            reference("zlib/1.2.11#rrev:pkgid#prev"),
            Some(("zlib", "1.2.11"))
        );
        assert_eq!(reference("conanfile"), None);
        assert_eq!(reference("/1.0"), None);
    }

    #[test]
    fn conan_1_graph_lock() {
        let text = r#"{"graph_lock": {"nodes": {
            "0": {"path": "../conanfile.txt", "requires": ["1", "2"], "context": "host"},
            "1": {"ref": "zlib/1.2.11#b7a9d5a1", "package_id": "6af9", "prev": "0", "context": "host"},
            "2": {"ref": "openssl/1.1.1k@conan/stable", "context": "host"},
            "3": {"pref": "bzip2/1.0.8#aa:bb#cc"}
          }, "revisions_enabled": true}, "version": "0.4"}"#;
        assert_eq!(
            got(text),
            Ok(vec![
                "zlib@1.2.11".to_string(),
                "openssl@1.1.1k".to_string(),
                "bzip2@1.0.8".to_string()
            ])
        );
    }

    #[test]
    fn conan_2_requires() {
        let text = r#"{"version": "0.5",
            "requires": ["zlib/1.3.1#b8342b72b1befb091e92bc69ed714e9c%1708593606.497", "fmt/10.2.1#c16ace7a2c5b79007e2f512fdbfd7344%1702683348.77"],
            "build_requires": ["cmake/3.28.1#c2dde744b7b1d33ab581d4666e799c3e%1703000000.0"],
            "python_requires": [], "config_requires": []}"#;
        assert_eq!(
            got(text),
            Ok(vec![
                "zlib@1.3.1".to_string(),
                "fmt@10.2.1".to_string(),
                "cmake@3.28.1".to_string()
            ])
        );
        assert!(got("{\"version\": \"0.5\"}").is_err());
        assert!(got("{\"requires\": [1, \"x\", \"a/1\"]}").is_ok_and(|v| v == ["a@1"]));
    }
}
