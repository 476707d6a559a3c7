//! Alpine packages: the apk database `lib/apk/db/installed` (and
//! `usr/lib/apk/db/installed`, for systems that moved it under `/usr`).
//!
//! One record per package, records separated by blank lines, one `X:value`
//! field per line: `P` name, `V` version, `A` architecture, `o` origin
//! (the source package), `L` license, `m` maintainer; `F` starts a
//! directory (relative to the root) and each `R` that follows names a file
//! in it.

use rampart_source::VPath;

use super::{Cataloger, Evidence, Found};
use crate::package::{Ecosystem, Package};

/// The apk database cataloger.
#[derive(Debug)]
pub struct Apk;

const INSTALLED: &[&[u8]] = &[b"lib/apk/db/installed", b"usr/lib/apk/db/installed"];

/// One record being read.
#[derive(Debug, Default)]
struct Record {
    name: Option<String>,
    version: Option<String>,
    arch: Option<String>,
    origin: Option<String>,
    license: Option<String>,
    maintainer: Option<String>,
    dir: Option<String>,
    files: Vec<String>,
}

impl Record {
    fn finish(self, cataloger: &str) -> Option<Package> {
        let (Some(name), Some(version)) = (self.name, self.version) else {
            return None;
        };
        let mut p = Package::new(Ecosystem::Apk, name, version.clone(), cataloger);
        p.arch = self.arch;
        p.source_name = self.origin;
        if p.source_name.is_some() {
            // Every package built from an origin shares its version.
            p.source_version = Some(version);
        }
        p.licenses.extend(self.license);
        p.supplier = self.maintainer;
        p.files = self.files.into_iter().collect();
        Some(p)
    }
}

fn non_empty(v: &str) -> Option<String> {
    let v = v.trim();
    (!v.is_empty()).then(|| v.to_string())
}

/// Parses the installed database into packages (with the files each owns).
fn parse_installed(text: &str, cataloger: &str) -> Vec<Package> {
    let mut out = Vec::new();
    let mut cur = Record::default();
    for line in text.lines() {
        if line.trim().is_empty() {
            out.extend(std::mem::take(&mut cur).finish(cataloger));
            continue;
        }
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        match key {
            "P" => cur.name = non_empty(value),
            "V" => cur.version = non_empty(value),
            "A" => cur.arch = non_empty(value),
            "o" => cur.origin = non_empty(value),
            "L" => cur.license = non_empty(value),
            "m" => cur.maintainer = non_empty(value),
            "F" => {
                let dir = value.trim_matches('/');
                if dir.is_empty() {
                    cur.dir = None;
                } else {
                    cur.files.push(format!("/{dir}"));
                    cur.dir = Some(dir.to_string());
                }
            }
            "R" if !value.is_empty() => cur.files.push(match &cur.dir {
                Some(d) => format!("/{d}/{value}"),
                None => format!("/{value}"),
            }),
            _ => {}
        }
    }
    out.extend(cur.finish(cataloger));
    out
}

impl Cataloger for Apk {
    fn name(&self) -> &'static str {
        "apk"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        let p = path.as_bytes();
        INSTALLED.contains(&p)
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = String::from_utf8_lossy(data);
        let packages = parse_installed(&text, self.name());
        if packages.is_empty() && !text.trim().is_empty() {
            return Err("no package record in the apk database".to_string());
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

    const INSTALLED_TEXT: &str = "\
C:Q1Xj0kqj8zSBvmLy+ls7VtIjH4nJs=
P:musl
V:1.2.4_git20230717-r4
A:x86_64
S:407278
I:667648
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Timo Teräs <timo.teras@iki.fi>
t:1700000000
c:0123456789abcdef
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:Q1abc=
R:libc.musl-x86_64.so.1
a:0:0:777

C:Q1other=
P:libcrypto3
V:3.1.4-r5
A:x86_64
L:Apache-2.0
o:openssl
m:Ariadne Conill <ariadne@dereferenced.org>
F:etc
F:etc/ssl
R:openssl.cnf
F:usr/lib
R:libcrypto.so.3
";

    #[test]
    fn parses_packages_origins_and_files() {
        let pkgs = parse_installed(INSTALLED_TEXT, "apk");
        let names: Vec<_> = pkgs
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(
            names,
            [("musl", "1.2.4_git20230717-r4"), ("libcrypto3", "3.1.4-r5")]
        );
        let crypto = &pkgs[1];
        assert_eq!(crypto.source_name.as_deref(), Some("openssl"));
        assert_eq!(crypto.arch.as_deref(), Some("x86_64"));
        assert_eq!(crypto.licenses, ["Apache-2.0"]);
        assert_eq!(
            crypto.supplier.as_deref(),
            Some("Ariadne Conill <ariadne@dereferenced.org>")
        );
        let files: Vec<_> = crypto.files.iter().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "/etc",
                "/etc/ssl",
                "/etc/ssl/openssl.cnf",
                "/usr/lib",
                "/usr/lib/libcrypto.so.3"
            ]
        );
        let files: Vec<_> = pkgs[0].files.iter().map(String::as_str).collect();
        assert_eq!(
            files,
            [
                "/lib",
                "/lib/ld-musl-x86_64.so.1",
                "/lib/libc.musl-x86_64.so.1"
            ]
        );
    }

    #[test]
    fn tolerates_odd_records() {
        // No trailing blank line, CRLF endings, a record without a version,
        // files before any directory, several blank lines.
        let text = "P:noversion\r\nA:x86_64\r\n\r\n\r\n\nR:top-level\nP:ok\nV:1-r0\n";
        let pkgs = parse_installed(text, "apk");
        assert_eq!(pkgs.len(), 1);
        assert_eq!(pkgs[0].name, "ok");
        let files: Vec<_> = pkgs[0].files.iter().map(String::as_str).collect();
        assert_eq!(files, ["/top-level"]);
        assert!(parse_installed("", "apk").is_empty());
        assert!(parse_installed("garbage without colons\n\n", "apk").is_empty());
    }

    #[test]
    fn wants_the_database_only() {
        let ok = VPath::from_relative(b"lib/apk/db/installed", 200, 10).unwrap_or_default();
        let v3 = VPath::from_relative(b"usr/lib/apk/db/installed", 200, 10).unwrap_or_default();
        let no = VPath::from_relative(b"lib/apk/db/triggers", 200, 10).unwrap_or_default();
        let deep = VPath::from_relative(b"x/lib/apk/db/installed", 200, 10).unwrap_or_default();
        assert!(Apk.wants(&ok, 1) && Apk.wants(&v3, 1));
        assert!(!Apk.wants(&no, 1) && !Apk.wants(&deep, 1));
        let ev = Evidence {
            path: &ok,
            layer: None,
            size: 1,
        };
        assert!(Apk.parse(&ev, b"not a database").is_err());
        assert!(matches!(
            Apk.parse(&ev, b"").as_deref(),
            Ok([Found::PackageDb])
        ));
    }
}
