//! Which operating system a target runs: os-release and its predecessors,
//! and whether a package manager exists at all (distroless images have
//! none).

use rampart_source::VPath;

use super::{Cataloger, Evidence, Found};
use crate::package::Distro;

/// Reads os-release, debian_version, alpine-release and redhat-release.
#[derive(Debug)]
pub struct OsRelease;

const RELEASE_FILES: &[(&str, u8)] = &[
    ("etc/os-release", 0),
    ("usr/lib/os-release", 1),
    ("etc/alpine-release", 5),
    ("etc/debian_version", 6),
    ("etc/redhat-release", 7),
    ("etc/centos-release", 7),
    ("etc/fedora-release", 7),
];

const PACKAGE_MANAGERS: &[&str] = &[
    "usr/bin/dpkg",
    "bin/dpkg",
    "sbin/apk",
    "bin/apk",
    "usr/bin/apk",
    "usr/bin/rpm",
    "bin/rpm",
    "usr/bin/apt",
    "usr/bin/dnf",
    "usr/bin/yum",
    "usr/bin/microdnf",
    "usr/bin/zypper",
    "usr/bin/tdnf",
];

/// Parses os-release text: `KEY=value` lines, values optionally quoted.
#[must_use]
pub fn parse_os_release(text: &str) -> Distro {
    let mut d = Distro::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, raw)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(raw.trim());
        match key.trim() {
            "ID" => d.id = value.to_ascii_lowercase(),
            "VERSION_ID" => d.version_id = value,
            "PRETTY_NAME" => d.pretty_name = value,
            "ID_LIKE" => d.id_like = value.split_whitespace().map(str::to_string).collect(),
            "VERSION_CODENAME" if !value.is_empty() => d.version_codename = Some(value),
            _ => {}
        }
    }
    d
}

fn unquote(v: &str) -> String {
    let inner = if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        &v[1..v.len() - 1]
    } else {
        v
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            if let Some(n) = chars.next() {
                out.push(n);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn first_version(text: &str) -> String {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|s| s.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .unwrap_or("")
        .trim_end_matches('.')
        .to_string()
}

impl Cataloger for OsRelease {
    fn name(&self) -> &'static str {
        "os-release"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        let p = path.as_bytes();
        RELEASE_FILES.iter().any(|(f, _)| p == f.as_bytes())
            || PACKAGE_MANAGERS.iter().any(|f| p == f.as_bytes())
    }

    fn max_size(&self) -> u64 {
        // Package manager programs are read whole (they are small); only
        // their presence matters.
        32 << 20
    }

    fn parse(&self, ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let p = ev.path.as_bytes();
        if PACKAGE_MANAGERS.iter().any(|f| p == f.as_bytes()) {
            return Ok(vec![Found::PackageManager]);
        }
        let Some(&(name, rank)) = RELEASE_FILES.iter().find(|(f, _)| p == f.as_bytes()) else {
            return Ok(Vec::new());
        };
        let text = String::from_utf8_lossy(data);
        let distro = match name {
            "etc/os-release" | "usr/lib/os-release" => parse_os_release(&text),
            "etc/alpine-release" => Distro {
                id: "alpine".into(),
                version_id: text.trim().to_string(),
                ..Distro::default()
            },
            "etc/debian_version" => Distro {
                id: "debian".into(),
                // "12.5" -> "12"; testing/sid say "trixie/sid".
                version_id: first_version(&text)
                    .split('.')
                    .next()
                    .unwrap_or("")
                    .to_string(),
                ..Distro::default()
            },
            _ => {
                let lower = text.to_ascii_lowercase();
                let id = if lower.contains("centos") {
                    "centos"
                } else if lower.contains("fedora") {
                    "fedora"
                } else if lower.contains("rocky") {
                    "rocky"
                } else if lower.contains("alma") {
                    "almalinux"
                } else {
                    "rhel"
                };
                Distro {
                    id: id.into(),
                    version_id: first_version(&text),
                    pretty_name: text.trim().to_string(),
                    ..Distro::default()
                }
            }
        };
        if distro.id.is_empty() {
            return Err("no ID in os-release".to_string());
        }
        Ok(vec![Found::Distro { distro, rank }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_os_release_quoting() {
        let d = parse_os_release(
            "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\n\
             VERSION_CODENAME=bookworm\nID=debian\nID_LIKE='rhel fedora'\n# comment\nBAD LINE\n",
        );
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id, "12");
        assert_eq!(d.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(d.version_codename.as_deref(), Some("bookworm"));
        assert_eq!(d.id_like, ["rhel", "fedora"]);
    }

    #[test]
    fn reads_old_release_files() {
        let c = OsRelease;
        let path = VPath::from_relative(b"etc/redhat-release", 100, 10).unwrap_or_default();
        let ev = Evidence {
            path: &path,
            layer: None,
            size: 0,
        };
        let found = c
            .parse(&ev, b"CentOS Linux release 7.9.2009 (Core)\n")
            .unwrap_or_default();
        let Some(Found::Distro { distro, .. }) = found.first() else {
            panic!("no distro")
        };
        assert_eq!(
            (distro.id.as_str(), distro.version_id.as_str()),
            ("centos", "7.9.2009")
        );
    }
}
