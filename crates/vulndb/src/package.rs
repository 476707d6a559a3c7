//! The packages Rampart matches, and how each maps to OSV ecosystems and
//! package names.
//!
//! Ecosystem names on the input side are the SBOM crate's (purl types:
//! `deb`, `apk`, `rpm`, `pypi`, `npm`, `cargo`, `golang`, `maven`, `gem`,
//! `composer`, `nuget`, `pub`, `hex`, `swift`, `conan`). OS packages are
//! looked up in the advisory ecosystem of their release (`Debian:12`,
//! `Alpine:v3.20`, ...) by their SOURCE package name and version.

use serde::{Deserialize, Serialize};

use crate::version::{Scheme, scheme_for_osv_ecosystem};

/// The operating system release an OS package belongs to (from
/// `/etc/os-release`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DistroRef {
    /// `ID`: debian, ubuntu, alpine, rocky, almalinux, rhel, wolfi...
    pub id: String,
    /// `VERSION_ID`: 12, 22.04, 3.20.1, 9.4...
    #[serde(default)]
    pub version_id: String,
    /// `VERSION_CODENAME`, used when `VERSION_ID` is missing (Debian testing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub codename: Option<String>,
}

/// One package to match: the fields of an SBOM package that matching uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackageRef {
    /// The SBOM ecosystem (purl type): `deb`, `pypi`, `npm`...
    pub ecosystem: String,
    pub name: String,
    /// Maven group id, npm scope, Composer vendor, Go module path prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    pub version: String,
    /// Source package (Debian source, Alpine origin, source RPM name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// RPM epoch, when not zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    /// The release OS packages belong to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distro: Option<DistroRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
}

impl PackageRef {
    /// A language package (no distro, no source package).
    #[must_use]
    pub fn new(ecosystem: &str, name: &str, version: &str) -> Self {
        PackageRef {
            ecosystem: ecosystem.to_string(),
            name: name.to_string(),
            version: version.to_string(),
            ..PackageRef::default()
        }
    }
}

/// Where one package is looked up: an OSV ecosystem, the name as the index
/// stores it, and the version as that ecosystem's advisories write it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Target {
    pub ecosystem: String,
    pub name: String,
    pub version: String,
}

impl Target {
    /// The version scheme of the target's ecosystem.
    #[must_use]
    pub fn scheme(&self) -> Option<Scheme> {
        scheme_for_osv_ecosystem(&self.ecosystem)
    }
}

/// PEP 503 normalisation: lowercase, runs of `-`, `_`, `.` become one `-`.
#[must_use]
pub fn pep503(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            sep = true;
            continue;
        }
        if sep && !out.is_empty() {
            out.push('-');
        }
        sep = false;
        out.extend(c.to_lowercase());
    }
    out
}

/// The name as the index stores it for an OSV ecosystem: PEP 503 for PyPI,
/// lowercase where the registry is case-insensitive (npm, NuGet, Packagist),
/// as written elsewhere.
#[must_use]
pub fn normalize_name(osv_ecosystem: &str, name: &str) -> String {
    let base = osv_ecosystem.split(':').next().unwrap_or(osv_ecosystem);
    match base {
        "PyPI" => pep503(name),
        "npm" | "NuGet" | "Packagist" => name.to_lowercase(),
        _ => name.to_string(),
    }
}

fn major(v: &str) -> &str {
    v.split('.').next().unwrap_or(v)
}

fn debian_release(d: &DistroRef) -> Option<String> {
    if !d.version_id.is_empty() {
        return Some(major(&d.version_id).to_string());
    }
    let n = match d.codename.as_deref()? {
        "buster" => "10",
        "bullseye" => "11",
        "bookworm" => "12",
        "trixie" => "13",
        "forky" => "14",
        _ => return None,
    };
    Some(n.to_string())
}

/// Ecosystems from `known` whose name starts with `prefix`.
fn with_prefix(known: &[String], prefix: &str) -> Vec<String> {
    known
        .iter()
        .filter(|e| e.starts_with(prefix))
        .cloned()
        .collect()
}

/// The OSV ecosystems an OS package's release maps to, or why none does.
fn os_ecosystems(pkg: &PackageRef, known: &[String]) -> Result<Vec<String>, String> {
    let Some(d) = &pkg.distro else {
        return Err(format!(
            "{} package without a distro: its advisory ecosystem is unknown",
            pkg.ecosystem
        ));
    };
    let id = d.id.as_str();
    let v = d.version_id.as_str();
    let ecos = match (pkg.ecosystem.as_str(), id) {
        ("deb", "debian") => {
            let rel = debian_release(d)
                .ok_or_else(|| "Debian release without VERSION_ID or known codename".to_string())?;
            vec![format!("Debian:{rel}")]
        }
        ("deb", "ubuntu") => {
            // OSV writes `Ubuntu:22.04:LTS`, `Ubuntu:24.10`; Pro streams are
            // separate subscriptions and not matched.
            let mut v = with_prefix(known, &format!("Ubuntu:{v}:"));
            v.extend(
                known
                    .iter()
                    .filter(|e| **e == format!("Ubuntu:{}", d.version_id))
                    .cloned(),
            );
            v
        }
        ("apk", "alpine") => {
            let mut parts = v.split('.');
            match (parts.next(), parts.next()) {
                (Some(a), Some(b)) => vec![format!("Alpine:v{a}.{b}")],
                _ => return Err(format!("Alpine release {v:?} is not MAJOR.MINOR[.PATCH]")),
            }
        }
        ("apk", "wolfi") => vec!["Wolfi".to_string()],
        ("apk", "chainguard") => vec!["Chainguard".to_string()],
        ("rpm", "rocky") => vec![format!("Rocky Linux:{}", major(v))],
        ("rpm", "almalinux") => vec![format!("AlmaLinux:{}", major(v))],
        ("rpm", "rhel") => with_prefix(known, &format!("Red Hat:enterprise_linux:{}:", major(v))),
        ("rpm", "opensuse-leap") => vec![format!("openSUSE:Leap {v}")],
        ("rpm", "sles") => {
            let (maj, sp) = v.split_once('.').unwrap_or((v, "0"));
            if sp == "0" {
                vec![format!("SUSE:Linux Enterprise Server {maj}")]
            } else {
                vec![format!("SUSE:Linux Enterprise Server {maj} SP{sp}")]
            }
        }
        ("rpm", "mageia") => vec![format!("Mageia:{v}")],
        _ => {
            return Err(format!(
                "no advisory source for {} packages of {id} {v}",
                pkg.ecosystem
            ));
        }
    };
    if ecos.is_empty() {
        return Err(format!(
            "no advisory data for {id} {v} in the database (import its OSV export)"
        ));
    }
    Ok(ecos)
}

/// Go versions as OSV writes them: no `v` prefix, and for the standard
/// library no `go` prefix (`go1.21.3` -> `1.21.3`).
fn go_version(name: &str, version: &str) -> String {
    let v = version.trim();
    if matches!(name, "stdlib" | "toolchain")
        && let Some(rest) = v.strip_prefix("go")
    {
        return rest.to_string();
    }
    v.strip_prefix('v').unwrap_or(v).to_string()
}

/// Where a package is looked up. `known` lists the OSV ecosystems present
/// in the database (for releases OSV names with suffixes, like Ubuntu).
///
/// # Errors
/// A human-readable reason when the package has no advisory source.
pub fn targets(pkg: &PackageRef, known: &[String]) -> Result<Vec<Target>, String> {
    let ns = pkg.namespace.as_deref().filter(|n| !n.is_empty());
    let lang = |eco: &str, name: String, version: String| {
        Ok(vec![Target {
            ecosystem: eco.to_string(),
            name: normalize_name(eco, &name),
            version,
        }])
    };
    let v = pkg.version.clone();
    match pkg.ecosystem.as_str() {
        "deb" | "apk" => {
            let ecos = os_ecosystems(pkg, known)?;
            let name = pkg.source_name.clone().unwrap_or_else(|| pkg.name.clone());
            let version = pkg.source_version.clone().unwrap_or(v);
            Ok(ecos
                .into_iter()
                .map(|e| Target {
                    name: normalize_name(&e, &name),
                    ecosystem: e,
                    version: version.clone(),
                })
                .collect())
        }
        "rpm" => {
            let ecos = os_ecosystems(pkg, known)?;
            let epoch = |ver: &str| match pkg.epoch {
                Some(e) if e != 0 => format!("{e}:{ver}"),
                _ => ver.to_string(),
            };
            let mut out = Vec::new();
            for e in ecos {
                out.push(Target {
                    ecosystem: e.clone(),
                    name: pkg.name.clone(),
                    version: epoch(&pkg.version),
                });
                if let (Some(sn), Some(sv)) = (&pkg.source_name, &pkg.source_version)
                    && sn != &pkg.name
                {
                    out.push(Target {
                        ecosystem: e,
                        name: sn.clone(),
                        version: epoch(sv),
                    });
                }
            }
            Ok(out)
        }
        "pypi" => lang("PyPI", pkg.name.clone(), v),
        "npm" => {
            let name = match ns {
                Some(s) if s.starts_with('@') => format!("{s}/{}", pkg.name),
                Some(s) => format!("@{s}/{}", pkg.name),
                None => pkg.name.clone(),
            };
            lang("npm", name, v)
        }
        "cargo" => lang("crates.io", pkg.name.clone(), v),
        "golang" => {
            let name = match ns {
                Some(s) => format!("{s}/{}", pkg.name),
                None => pkg.name.clone(),
            };
            let version = go_version(&name, &v);
            lang("Go", name, version)
        }
        "maven" => {
            let name = match ns {
                Some(g) => format!("{g}:{}", pkg.name),
                None if pkg.name.contains(':') => pkg.name.clone(),
                None => return Err("Maven package without a group id".to_string()),
            };
            lang("Maven", name, v)
        }
        "gem" => lang("RubyGems", pkg.name.clone(), v),
        "composer" => {
            let name = match ns {
                Some(vendor) => format!("{vendor}/{}", pkg.name),
                None => pkg.name.clone(),
            };
            lang("Packagist", name, v)
        }
        "nuget" => lang("NuGet", pkg.name.clone(), v),
        "pub" => lang("Pub", pkg.name.clone(), v),
        "hex" => lang("Hex", pkg.name.clone(), v),
        "swift" => {
            let name = match ns {
                Some(host) => format!("{host}/{}", pkg.name),
                None => pkg.name.clone(),
            };
            lang("SwiftURL", name, v)
        }
        "conan" => lang("ConanCenter", pkg.name.clone(), v),
        other => Err(format!("no advisory source for the {other:?} ecosystem")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(eco: &str, id: &str, ver: &str) -> PackageRef {
        PackageRef {
            distro: Some(DistroRef {
                id: id.into(),
                version_id: ver.into(),
                codename: None,
            }),
            ..PackageRef::new(eco, "libssl3", "3.0.15-1~deb12u1+b1")
        }
    }

    #[test]
    fn debian_uses_source_name_and_version() {
        let mut p = os("deb", "debian", "12");
        p.source_name = Some("openssl".into());
        p.source_version = Some("3.0.15-1~deb12u1".into());
        let t = targets(&p, &[]).unwrap();
        assert_eq!(
            t,
            vec![Target {
                ecosystem: "Debian:12".into(),
                name: "openssl".into(),
                version: "3.0.15-1~deb12u1".into()
            }]
        );
        let mut testing = os("deb", "debian", "");
        testing.distro.as_mut().unwrap().codename = Some("trixie".into());
        assert_eq!(targets(&testing, &[]).unwrap()[0].ecosystem, "Debian:13");
    }

    #[test]
    fn alpine_release_from_point_version() {
        let t = targets(&os("apk", "alpine", "3.20.3"), &[]).unwrap();
        assert_eq!(t[0].ecosystem, "Alpine:v3.20");
        assert!(targets(&os("apk", "alpine", "edge"), &[]).is_err());
    }

    #[test]
    fn ubuntu_picks_known_lts_stream() {
        let known = vec![
            "Ubuntu:22.04:LTS".to_string(),
            "Ubuntu:Pro:22.04:LTS".to_string(),
            "Ubuntu:24.10".to_string(),
        ];
        let t = targets(&os("deb", "ubuntu", "22.04"), &known).unwrap();
        assert_eq!(t.len(), 1);
        assert_eq!(t[0].ecosystem, "Ubuntu:22.04:LTS");
        assert_eq!(
            targets(&os("deb", "ubuntu", "24.10"), &known).unwrap()[0].ecosystem,
            "Ubuntu:24.10"
        );
    }

    #[test]
    fn os_package_without_distro_is_unsupported() {
        let p = PackageRef::new("deb", "bash", "5.2");
        assert!(targets(&p, &[]).unwrap_err().contains("without a distro"));
    }

    #[test]
    fn language_names() {
        let t = |p: PackageRef| targets(&p, &[]).unwrap().remove(0);
        assert_eq!(
            t(PackageRef::new("pypi", "Django_REST.framework", "1")).name,
            "django-rest-framework"
        );
        let mut npm = PackageRef::new("npm", "core", "7.0.0");
        npm.namespace = Some("@babel".into());
        assert_eq!(t(npm).name, "@babel/core");
        let mut mvn = PackageRef::new("maven", "log4j-core", "2.14.1");
        mvn.namespace = Some("org.apache.logging.log4j".into());
        assert_eq!(t(mvn).name, "org.apache.logging.log4j:log4j-core");
        let go = t(PackageRef::new("golang", "golang.org/x/net", "v0.17.0"));
        assert_eq!(
            (go.ecosystem.as_str(), go.version.as_str()),
            ("Go", "0.17.0")
        );
        assert_eq!(
            t(PackageRef::new("golang", "stdlib", "go1.21.3")).version,
            "1.21.3"
        );
        assert_eq!(
            t(PackageRef::new("cargo", "time", "0.1.0")).ecosystem,
            "crates.io"
        );
        assert!(targets(&PackageRef::new("cobol", "x", "1"), &[]).is_err());
    }

    #[test]
    fn rpm_carries_epoch_and_source() {
        let mut p = os("rpm", "rocky", "9.4");
        p.name = "openssl-libs".into();
        p.version = "3.0.7-27.el9".into();
        p.epoch = Some(1);
        p.source_name = Some("openssl".into());
        p.source_version = Some("3.0.7-27.el9".into());
        let t = targets(&p, &[]).unwrap();
        assert_eq!(t.len(), 2);
        assert_eq!(t[0].ecosystem, "Rocky Linux:9");
        assert_eq!(t[0].version, "1:3.0.7-27.el9");
        assert_eq!(t[1].name, "openssl");
    }
}
