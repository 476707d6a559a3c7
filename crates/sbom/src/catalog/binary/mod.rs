//! Compiled binaries, read once for what their toolchains embed: Go build
//! information (modules and the Go toolchain as `stdlib`) and Rust
//! `cargo auditable` dependency lists. ELF, PE and thin Mach-O files.

mod auditable;
mod golang;

use object::{Object, ObjectSection};
use rampart_source::VPath;

use super::{Cataloger, Evidence, Found};

/// The binaries cataloger.
#[derive(Debug)]
pub struct Binaries;

const MIN_SIZE: u64 = 1 << 10;
const MAX_SIZE: u64 = 256 << 20;

/// Directories, at most this deep from the root, whose files are all
/// candidates (`/opt/tool/tool`, `/app/server`); deeper ones only in a
/// `bin` or `sbin` directory (a JDK's 100 MiB `lib/modules` is not read).
const APP_DIRS: &[&[u8]] = &[b"opt/", b"app/", b"ko-app/"];
const APP_DIR_DEPTH: usize = 3;

/// True for a name an executable plausibly has: no extension, or `.exe`.
fn executable_name(name: &[u8]) -> bool {
    !name.contains(&b'.')
        || name
            .len()
            .checked_sub(4)
            .and_then(|i| name.get(i..))
            .is_some_and(|ext| ext.eq_ignore_ascii_case(b".exe"))
}

/// True for a path where executables are installed: any `bin` or `sbin`
/// directory, `/usr/libexec`, the top of the tree (distroless images put
/// their one program at `/manager` or `/app`), and shallow application
/// directories.
fn executable_place(p: &[u8]) -> bool {
    let depth = p.iter().filter(|&&b| b == b'/').count() + 1;
    if depth == 1 || p.starts_with(b"usr/libexec/") {
        return true;
    }
    if depth <= APP_DIR_DEPTH && APP_DIRS.iter().any(|d| p.starts_with(d)) {
        return true;
    }
    let dir = match memchr::memrchr(b'/', p) {
        Some(i) => p.get(..i).unwrap_or_default(),
        None => return false,
    };
    let parent = match memchr::memrchr(b'/', dir) {
        Some(i) => dir.get(i + 1..).unwrap_or_default(),
        None => dir,
    };
    parent == b"bin" || parent == b"sbin"
}

/// True for ELF, PE (MZ) and thin Mach-O magic numbers.
fn executable_format(data: &[u8]) -> bool {
    matches!(
        data.get(..4),
        Some(
            b"\x7fELF"
                | [0xfe, 0xed, 0xfa, 0xce | 0xcf]
                | [0xce | 0xcf, 0xfa, 0xed, 0xfe]
                | [b'M', b'Z', _, _]
        )
    )
}

impl Cataloger for Binaries {
    fn name(&self) -> &'static str {
        "binary"
    }

    fn wants(&self, path: &VPath, size: u64) -> bool {
        (MIN_SIZE..=MAX_SIZE).contains(&size)
            && executable_name(path.file_name())
            && executable_place(path.as_bytes())
    }

    fn max_size(&self) -> u64 {
        MAX_SIZE
    }

    fn parse(&self, ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        if !executable_format(data) {
            return Ok(Vec::new());
        }
        // A file the object reader refuses may still hold Go build info
        // (found by its magic); it cannot hold a readable section.
        let obj = object::File::parse(data).ok();
        let mut packages = Vec::new();
        if let Some(info) = golang::find(data, obj.as_ref()) {
            packages.extend(golang::packages(&info, self.name()));
        }
        let section = obj
            .as_ref()
            .and_then(|o| o.section_by_name(auditable::SECTION))
            .and_then(|s| s.data().ok());
        if let Some(section) = section {
            match auditable::packages(section, self.name()) {
                Ok(p) => packages.extend(p),
                Err(e) if packages.is_empty() => return Err(e),
                Err(e) => tracing::debug!("{}: {e}", ev.path.display()),
            }
        }
        Ok(packages
            .into_iter()
            .map(|p| Found::Package(Box::new(p)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> VPath {
        VPath::from_relative(p.as_bytes(), 4096, 64).unwrap_or_default()
    }

    #[test]
    fn wants_executables_where_they_live() {
        let yes = [
            "usr/bin/kubectl",
            "usr/local/bin/helm",
            "root/go/bin/gopls",
            "home/me/.cargo/bin/rg",
            "manager",
            "opt/tool/tool",
            "app/server",
            "usr/libexec/docker/cli-plugins/docker-compose",
            "bin/tool.EXE",
        ];
        for p in yes {
            assert!(Binaries.wants(&path(p), 4096), "{p}");
        }
        let no = [
            "usr/lib/x86_64-linux-gnu/libc.so.6",
            "opt/java/openjdk/lib/modules",
            "usr/share/doc/README",
            "usr/bin/python3.11",
            "src/bin/main.rs",
        ];
        for p in no {
            assert!(!Binaries.wants(&path(p), 4096), "{p}");
        }
        assert!(!Binaries.wants(&path("usr/bin/tiny"), 100));
        assert!(!Binaries.wants(&path("usr/bin/huge"), 1 << 30));
    }

    #[test]
    fn ignores_what_is_not_an_executable() {
        let p = path("usr/bin/script");
        let ev = Evidence {
            path: &p,
            layer: None,
            size: 2000,
        };
        assert!(
            Binaries
                .parse(&ev, b"#!/bin/sh\necho hi\n")
                .is_ok_and(|f| f.is_empty())
        );
        // A broken ELF with Go build info still yields it.
        let mut data = b"\x7fELF".to_vec();
        data.resize(64, 0);
        data.extend(golang::tests::inline_blob(
            "go1.21.4",
            "path\tx.io/y\nmod\tx.io/y\tv1.0.0\t\n",
        ));
        let found = Binaries.parse(&ev, &data).unwrap_or_default();
        let names: Vec<String> = found
            .iter()
            .filter_map(|f| match f {
                Found::Package(p) => Some(format!("{}@{}", p.name, p.version)),
                _ => None,
            })
            .collect();
        assert_eq!(names, ["x.io/y@v1.0.0", "stdlib@go1.21.4"]);
        // Random bytes behind each magic number never panic.
        for magic in [
            &b"\x7fELF"[..],
            b"MZ\0\0",
            b"\xcf\xfa\xed\xfe",
            b"\xfe\xed\xfa\xce",
        ] {
            for len in [4usize, 16, 64, 200, 4096] {
                let mut d = magic.to_vec();
                d.extend((0..len).map(|i| u8::try_from(i * 7 % 251).unwrap_or(0)));
                let _ = Binaries.parse(&ev, &d);
            }
        }
    }
}
