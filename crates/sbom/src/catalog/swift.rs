//! Swift packages: `Package.resolved`, the pins of Swift Package Manager
//! (and Xcode). Version 1 nests them as `object.pins` with `package`,
//! `repositoryURL` and `state`; versions 2 and 3 list `pins` with
//! `identity`, `kind`, `location` and `state`. The purl namespace is the
//! repository's host and owner (`github.com/apple`), the name its last path
//! segment without `.git`. A pin on a branch or commit only has a
//! revision, which then stands as the version.

use rampart_source::VPath;
use serde::Deserialize;
use serde_json::Value;

use super::lockutil::{ancestor_is, found, json_str, package};
use super::{Cataloger, Evidence, Found, file_name_is};
use crate::package::{Ecosystem, Package};

/// `Package.resolved`.
#[derive(Debug)]
pub struct PackageResolved;

#[derive(Deserialize, Default)]
struct State {
    #[serde(default)]
    version: Option<Value>,
    #[serde(default)]
    revision: Option<Value>,
}

#[derive(Deserialize)]
struct Pin {
    /// v1 display name.
    #[serde(default)]
    package: Option<Value>,
    /// v1 location.
    #[serde(default, rename = "repositoryURL")]
    repository_url: Option<Value>,
    /// v2/v3.
    #[serde(default)]
    identity: Option<Value>,
    #[serde(default)]
    kind: Option<Value>,
    #[serde(default)]
    location: Option<Value>,
    #[serde(default)]
    state: Option<State>,
}

#[derive(Deserialize)]
struct Pins {
    pins: Option<Vec<Pin>>,
}

#[derive(Deserialize)]
struct Resolved {
    /// v1.
    object: Option<Pins>,
    /// v2 and v3.
    pins: Option<Vec<Pin>>,
}

/// Host (lowercased, without user or port) and path segments of a
/// repository URL: `https://github.com/apple/swift-nio.git`,
/// `git@github.com:apple/swift-nio.git`, `ssh://git@host:22/a/b`. `None`
/// for local paths.
fn coordinates(url: &str) -> Option<(String, String)> {
    let url = url.trim().trim_end_matches('/');
    let url = url.strip_suffix(".git").unwrap_or(url);
    let rest = if let Some((_, rest)) = url.split_once("://") {
        rest.to_string()
    } else {
        // scp-like `user@host:path`: a ':' before any '/'.
        let colon = url.find(':')?;
        if url.find('/').is_some_and(|slash| slash < colon) || url.starts_with('/') {
            return None;
        }
        format!("{}/{}", url.get(..colon)?, url.get(colon + 1..)?)
    };
    let (authority, path) = rest.split_once('/')?;
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host
        .split_once(':')
        .map_or(host, |(h, _)| h)
        .to_ascii_lowercase();
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (name, owner) = segments.split_last()?;
    if host.is_empty() || name.is_empty() {
        return None;
    }
    let mut namespace = host;
    for s in owner {
        namespace.push('/');
        namespace.push_str(s);
    }
    Some((namespace, (*name).to_string()))
}

fn to_package(pin: &Pin, cataloger: &str) -> Option<Package> {
    let state = pin.state.as_ref()?;
    let version = json_str(state.version.as_ref()).or_else(|| json_str(state.revision.as_ref()))?;
    let url = json_str(pin.location.as_ref()).or_else(|| json_str(pin.repository_url.as_ref()));
    let kind = json_str(pin.kind.as_ref());
    let identity = json_str(pin.identity.as_ref()).or_else(|| json_str(pin.package.as_ref()));
    let (namespace, name) = match kind {
        // Registry identities are `scope.name`.
        Some("registry") => {
            let (scope, name) = identity?.split_once('.')?;
            (Some(scope.to_string()), name.to_string())
        }
        Some("localSourceControl" | "fileSystem") => (None, identity?.to_string()),
        _ => match url.and_then(coordinates) {
            Some((ns, name)) => (Some(ns), name),
            None => (None, identity?.to_string()),
        },
    };
    let mut p = package(Ecosystem::Swift, &name, version, cataloger)?;
    p.namespace = namespace;
    Some(p)
}

fn parse_resolved(data: &[u8], cataloger: &str) -> Result<Vec<Package>, String> {
    let r: Resolved = serde_json::from_slice(data).map_err(|e| format!("invalid JSON: {e}"))?;
    let pins = r
        .pins
        .or_else(|| r.object.and_then(|o| o.pins))
        .ok_or("no pins")?;
    Ok(pins
        .iter()
        .filter_map(|p| to_package(p, cataloger))
        .collect())
}

impl Cataloger for PackageResolved {
    fn name(&self) -> &'static str {
        "swift-package-resolved"
    }

    /// Not the pins of checked-out dependencies (`.build/checkouts/x/`,
    /// Xcode's `SourcePackages/checkouts/x/`): the root's pins decide.
    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "Package.resolved") && !ancestor_is(path, 2, "checkouts")
    }

    fn max_size(&self) -> u64 {
        8 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        found(parse_resolved(data, self.name())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(text: &str) -> Result<Vec<String>, String> {
        parse_resolved(text.as_bytes(), "t").map(|ps| {
            ps.into_iter()
                .map(|p| {
                    format!(
                        "{}|{}|{}",
                        p.namespace.unwrap_or_default(),
                        p.name,
                        p.version
                    )
                })
                .collect()
        })
    }

    #[test]
    fn repository_urls_give_namespace_and_name() {
        let c = |u: &str| coordinates(u);
        let want = |ns: &str, n: &str| Some((ns.to_string(), n.to_string()));
        assert_eq!(
            c("https://github.com/apple/swift-nio.git"),
            want("github.com/apple", "swift-nio")
        );
        assert_eq!(
            c("git@GitHub.com:apple/swift-nio.git"),
            want("github.com/apple", "swift-nio")
        );
        assert_eq!(
            c("ssh://git@gitlab.example:2222/group/sub/repo/"),
            want("gitlab.example/group/sub", "repo")
        );
        assert_eq!(c("/Users/me/src/LocalKit"), None);
        assert_eq!(c("../LocalKit"), None);
        assert_eq!(c("https://"), None);
    }

    #[test]
    fn wants_the_root_pins_not_those_of_checkouts() {
        let v = |p: &str| VPath::from_relative(p.as_bytes(), 200, 20).unwrap_or_default();
        assert!(PackageResolved.wants(&v("app/Package.resolved"), 1));
        assert!(PackageResolved.wants(
            &v("App.xcodeproj/project.xcworkspace/xcshareddata/swiftpm/Package.resolved"),
            1
        ));
        assert!(!PackageResolved.wants(&v("app/.build/checkouts/swift-nio/Package.resolved"), 1));
    }

    #[test]
    fn version_1() {
        let text = r#"{"object": {"pins": [
            {"package": "Alamofire", "repositoryURL": "https://github.com/Alamofire/Alamofire.git",
             "state": {"branch": null, "revision": "8507806ddc5d7f13522b2de8e47951f63fdbf4dc", "version": "5.6.4"}},
            {"package": "OnBranch", "repositoryURL": "https://github.com/acme/OnBranch",
             "state": {"branch": "main", "revision": "0123456789abcdef", "version": null}}
          ]}, "version": 1}"#;
        assert_eq!(
            got(text),
            Ok(vec![
                "github.com/Alamofire|Alamofire|5.6.4".to_string(),
                "github.com/acme|OnBranch|0123456789abcdef".to_string(),
            ])
        );
    }

    #[test]
    fn versions_2_and_3() {
        let text = r#"{"originHash": "abc", "pins": [
            {"identity": "swift-log", "kind": "remoteSourceControl", "location": "https://github.com/apple/swift-log.git",
             "state": {"revision": "c231110b052b217c75377e6ea4e2fa84fde53464", "version": "1.5.4"}},
            {"identity": "localkit", "kind": "localSourceControl", "location": "/src/LocalKit",
             "state": {"revision": "00ff", "version": "0.1.0"}},
            {"identity": "mona.linkedlist", "kind": "registry", "location": "",
             "state": {"version": "1.2.0"}},
            {"identity": "nostate", "kind": "remoteSourceControl", "location": "https://github.com/a/b"}
          ], "version": 3}"#;
        assert_eq!(
            got(text),
            Ok(vec![
                "github.com/apple|swift-log|1.5.4".to_string(),
                "|localkit|0.1.0".to_string(),
                "mona|linkedlist|1.2.0".to_string(),
            ])
        );
        assert!(got("{\"version\": 2}").is_err());
        assert!(got("[").is_err());
    }
}
