//! Debian packages: `/var/lib/dpkg/status`, the per-package files of
//! distroless images (`status.d/`), the file lists (`info/*.list`) and the
//! machine-readable copyright files for licenses.

use rampart_source::VPath;

use super::{Cataloger, Evidence, Found, file_name_ends_with};
use crate::package::{Ecosystem, Package};

/// The dpkg database cataloger.
#[derive(Debug)]
pub struct Dpkg;

const STATUS: &[u8] = b"var/lib/dpkg/status";
const STATUS_D: &[u8] = b"var/lib/dpkg/status.d/";
const INFO: &[u8] = b"var/lib/dpkg/info/";
const DOC: &[u8] = b"usr/share/doc/";

/// One `Key: value` paragraph, with continuation lines joined.
fn paragraphs(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            if let Some((_, v)) = cur.last_mut() {
                v.push('\n');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            cur.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn field<'a>(p: &'a [(String, String)], key: &str) -> Option<&'a str> {
    p.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_str())
}

/// Parses a status file (or a status.d entry) into installed packages.
fn parse_status(text: &str, cataloger: &str) -> Vec<Package> {
    let mut out = Vec::new();
    for para in paragraphs(text) {
        let (Some(name), Some(version)) = (field(&para, "Package"), field(&para, "Version")) else {
            continue;
        };
        // The status database keeps removed packages with their config
        // files; status.d entries have no Status (they are installed).
        if let Some(status) = field(&para, "Status")
            && status
                .split_whitespace()
                .last()
                .is_none_or(|s| s != "installed")
        {
            continue;
        }
        let mut p = Package::new(Ecosystem::Deb, name, version, cataloger);
        p.arch = field(&para, "Architecture").map(str::to_string);
        p.supplier = field(&para, "Maintainer").map(str::to_string);
        // "Source: openssl" or "Source: openssl (3.0.11-1)".
        let (src, src_version) = match field(&para, "Source") {
            Some(s) => match s.split_once('(') {
                Some((n, v)) => (
                    n.trim().to_string(),
                    v.trim_end_matches(')').trim().to_string(),
                ),
                None => (s.trim().to_string(), version.to_string()),
            },
            None => (name.to_string(), version.to_string()),
        };
        p.source_name = Some(src);
        p.source_version = Some(src_version);
        out.push(p);
    }
    out
}

/// License short names from a DEP-5 copyright file, deduplicated.
fn copyright_licenses(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("License:") {
            let l = rest.trim();
            if !l.is_empty() && l.len() < 100 && !out.iter().any(|x| x == l) {
                out.push(l.to_string());
            }
        }
    }
    out
}

impl Cataloger for Dpkg {
    fn name(&self) -> &'static str {
        "dpkg"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        let p = path.as_bytes();
        p == STATUS
            || (p.starts_with(STATUS_D) && !file_name_ends_with(path, ".md5sums"))
            || (p.starts_with(INFO) && file_name_ends_with(path, ".list"))
            || (p.starts_with(DOC) && p.ends_with(b"/copyright") && path.depth() == 5)
    }

    fn parse(&self, ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let p = ev.path.as_bytes();
        let text = String::from_utf8_lossy(data);
        if p.starts_with(INFO) {
            let file = String::from_utf8_lossy(ev.path.file_name());
            let stem = file.trim_end_matches(".list");
            let name = stem.split_once(':').map_or(stem, |(n, _)| n);
            let files = text
                .lines()
                .filter(|l| !l.is_empty() && *l != "/.")
                .map(str::to_string)
                .collect();
            return Ok(vec![Found::Owns {
                ecosystem: Ecosystem::Deb,
                name: name.to_string(),
                files,
            }]);
        }
        if p.starts_with(DOC) {
            let name = ev.path.parent();
            let pkg = String::from_utf8_lossy(name.file_name()).into_owned();
            let licenses = copyright_licenses(&text);
            if licenses.is_empty() {
                return Ok(Vec::new());
            }
            return Ok(vec![Found::Licenses {
                ecosystem: Ecosystem::Deb,
                name: pkg,
                licenses,
            }]);
        }
        let packages = parse_status(&text, self.name());
        if packages.is_empty() && p == STATUS && !text.trim().is_empty() {
            return Err("no installed package in the dpkg status file".to_string());
        }
        let mut out: Vec<Found> = packages
            .into_iter()
            .map(|p| Found::Package(Box::new(p)))
            .collect();
        out.push(Found::PackageDb);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_TEXT: &str = "\
Package: libssl3
Status: install ok installed
Priority: optional
Architecture: amd64
Multi-Arch: same
Source: openssl
Version: 3.0.15-1~deb12u1
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Description: Secure Sockets Layer toolkit - shared libraries
 This package is part of the OpenSSL project's implementation.

Package: removed-pkg
Status: deinstall ok config-files
Architecture: amd64
Version: 1.0

Package: bash
Status: install ok installed
Architecture: amd64
Version: 5.2.15-2+b7
Source: bash (5.2.15-2)
";

    #[test]
    fn parses_installed_packages_with_sources() {
        let pkgs = parse_status(STATUS_TEXT, "dpkg");
        let names: Vec<_> = pkgs.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["libssl3", "bash"]);
        assert_eq!(pkgs[0].source_name.as_deref(), Some("openssl"));
        assert_eq!(pkgs[0].source_version.as_deref(), Some("3.0.15-1~deb12u1"));
        assert_eq!(pkgs[1].source_name.as_deref(), Some("bash"));
        assert_eq!(pkgs[1].source_version.as_deref(), Some("5.2.15-2"));
        assert_eq!(pkgs[1].arch.as_deref(), Some("amd64"));
    }

    #[test]
    fn reads_file_lists_and_copyright() {
        let path = VPath::from_relative(b"var/lib/dpkg/info/libssl3:amd64.list", 200, 10)
            .unwrap_or_default();
        assert!(Dpkg.wants(&path, 10));
        let ev = Evidence {
            path: &path,
            layer: None,
            size: 10,
        };
        let found = Dpkg
            .parse(&ev, b"/.\n/usr\n/usr/lib/x86_64-linux-gnu/libssl.so.3\n")
            .unwrap_or_default();
        match found.first() {
            Some(Found::Owns { name, files, .. }) => {
                assert_eq!(name, "libssl3");
                assert_eq!(files, &["/usr", "/usr/lib/x86_64-linux-gnu/libssl.so.3"]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let text = "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\
                    Files: *\nLicense: Apache-2.0\n\nFiles: debian/*\nLicense: GPL-2+\n\nLicense: Apache-2.0\n Text\n";
        assert_eq!(copyright_licenses(text), ["Apache-2.0", "GPL-2+"]);
        let doc =
            VPath::from_relative(b"usr/share/doc/bash/copyright", 200, 10).unwrap_or_default();
        assert!(Dpkg.wants(&doc, 10));
        let deep = VPath::from_relative(b"usr/share/doc/bash/examples/copyright", 200, 10)
            .unwrap_or_default();
        assert!(!Dpkg.wants(&deep, 10));
    }
}
