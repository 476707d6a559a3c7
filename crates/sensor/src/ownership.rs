//! Which package owns a file, from a root's package databases: dpkg's
//! status and file lists, apk's installed database, and rpm's database
//! (SQLite, Berkeley DB or NDB, read with
//! [`rampart_sbom::catalog::read_rpm_database`], whose packages carry
//! their file lists from the headers' `BASENAMES`/`DIRNAMES`/`DIRINDEXES`).
//!
//! Every file is read through a [`RootDir`], so a container's databases
//! are read inside its root, with a size cap; a database that cannot be
//! read is recorded in `skipped` with the reason. The index keeps a 64-bit
//! hash of each owned path, not the path (about 20 bytes per file).

use std::collections::HashMap;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use crate::rootfs::{RootDir, Stamp};

/// A package as its database names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pkg {
    pub ecosystem: &'static str,
    pub name: String,
    pub version: String,
}

/// The database files whose change means the index must be read again.
const DB_FILES: &[&str] = &[
    "var/lib/dpkg/status",
    "var/lib/dpkg/info",
    "lib/apk/db/installed",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages.db",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/Packages",
];

/// At most this many bytes of one dpkg file list.
const MAX_LIST_BYTES: u64 = 16 << 20;

/// Which package owns a path, by the path's hash.
#[derive(Debug, Default)]
pub(crate) struct Ownership {
    /// The database files' stamps when read.
    stamps: Vec<Option<Stamp>>,
    pub databases: Vec<String>,
    /// Databases present but not read, with the reason.
    pub skipped: Vec<String>,
    pub packages: Vec<Pkg>,
    index: HashMap<u64, u32>,
}

fn path_hash(path: &str) -> u64 {
    let mut h = DefaultHasher::new();
    path.hash(&mut h);
    h.finish()
}

fn stamps(root: &RootDir) -> Vec<Option<Stamp>> {
    DB_FILES.iter().map(|f| root.stamp(f)).collect()
}

fn not_found(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

impl Ownership {
    /// True when a database file changed since the index was read.
    pub fn stale(&self, root: &RootDir) -> bool {
        self.stamps != stamps(root)
    }

    /// Reads every database in `root`, each file at most `max_db` bytes.
    pub fn read(root: &RootDir, max_db: u64) -> Ownership {
        let mut o = Ownership {
            stamps: stamps(root),
            ..Ownership::default()
        };
        let aliases = usr_aliases(root);
        if read_dpkg(root, max_db, &aliases, &mut o) {
            o.databases.push("deb".into());
        }
        if read_apk(root, max_db, &aliases, &mut o) {
            o.databases.push("apk".into());
        }
        if read_rpm(root, max_db, &aliases, &mut o) {
            o.databases.push("rpm".into());
        }
        o
    }

    /// How many packages it knows.
    pub fn len(&self) -> usize {
        self.packages.len()
    }

    fn add_package(&mut self, ecosystem: &'static str, name: &str, version: &str) -> u32 {
        let id = u32::try_from(self.packages.len()).unwrap_or(u32::MAX);
        self.packages.push(Pkg {
            ecosystem,
            name: name.to_string(),
            version: version.to_string(),
        });
        id
    }

    fn own(&mut self, aliases: &[(String, String)], path: &str, pkg: u32) {
        self.index.entry(path_hash(path)).or_insert(pkg);
        for (from, to) in aliases {
            if let Some(rest) = path.strip_prefix(from.as_str()) {
                self.index
                    .entry(path_hash(&format!("{to}{rest}")))
                    .or_insert(pkg);
            }
        }
    }

    /// The package that owns `path`.
    pub fn owner(&self, path: &str) -> Option<&Pkg> {
        self.index
            .get(&path_hash(path))
            .and_then(|i| self.packages.get(*i as usize))
    }
}

/// Top-level directories that are links into `/usr` (merged `/usr`): a
/// package list naming `/lib/x.so` owns the `/usr/lib/x.so` a process maps.
fn usr_aliases(root: &RootDir) -> Vec<(String, String)> {
    ["bin", "sbin", "lib", "lib32", "lib64", "libx32"]
        .iter()
        .filter_map(|d| {
            let target = root.read_link(d)?;
            let t = target.trim_start_matches('/');
            let t = t.strip_prefix("./").unwrap_or(t);
            (t == format!("usr/{d}")).then(|| (format!("/{d}/"), format!("/usr/{d}/")))
        })
        .collect()
}

/// A package name usable in a file name (dpkg names never hold `/`).
fn safe_name(s: &str) -> bool {
    !s.is_empty() && !s.contains(['/', '\0']) && s != "." && s != ".."
}

/// The installed packages of a dpkg status file: `(name, version,
/// architecture)`, only those whose `Status` says `installed` and whose name
/// and architecture are usable in a file name (they name the file list).
#[must_use]
pub fn parse_dpkg_status(status: &str) -> Vec<(&str, &str, Option<&str>)> {
    let mut out = Vec::new();
    for para in status.split("\n\n") {
        let (mut name, mut version, mut arch, mut installed) = (None, None, None, false);
        for line in para.lines() {
            if let Some(v) = line.strip_prefix("Package: ") {
                name = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Version: ") {
                version = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Architecture: ") {
                arch = Some(v.trim());
            } else if let Some(v) = line.strip_prefix("Status: ") {
                installed = v.split_whitespace().nth(2) == Some("installed");
            }
        }
        let (Some(name), Some(version), true) = (name, version, installed) else {
            continue;
        };
        if !safe_name(name) || arch.is_some_and(|a| !safe_name(a)) {
            continue;
        }
        out.push((name, version, arch));
    }
    out
}

/// The packages of apk's installed database (`P:` name, `V:` version, `F:`
/// directory, `R:` file): `(name, version, absolute paths of its files)`.
#[must_use]
pub fn parse_apk_installed(db: &str) -> Vec<(&str, &str, Vec<String>)> {
    let mut out = Vec::new();
    for para in db.split("\n\n") {
        let (mut name, mut version) = (None, None);
        for line in para.lines() {
            if let Some(v) = line.strip_prefix("P:") {
                name = Some(v);
            } else if let Some(v) = line.strip_prefix("V:") {
                version = Some(v);
            }
        }
        let (Some(name), Some(version)) = (name, version) else {
            continue;
        };
        let mut dir = "";
        let mut files = Vec::new();
        for line in para.lines() {
            if let Some(d) = line.strip_prefix("F:") {
                dir = d;
            } else if let Some(f) = line.strip_prefix("R:") {
                files.push(if dir.is_empty() {
                    format!("/{f}")
                } else {
                    format!("/{dir}/{f}")
                });
            }
        }
        out.push((name, version, files));
    }
    out
}

/// Reads dpkg's status (installed packages and versions) and file lists;
/// `false` when there is no dpkg database.
fn read_dpkg(root: &RootDir, max: u64, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    let status = match root.read_string("var/lib/dpkg/status", max) {
        Ok(s) => s,
        Err(e) if not_found(&e) => return false,
        Err(e) => {
            o.skipped.push(format!("deb: /var/lib/dpkg/status: {e}"));
            return false;
        }
    };
    for (name, version, arch) in parse_dpkg_status(&status) {
        let with_arch = arch.and_then(|a| {
            root.read_string(
                &format!("var/lib/dpkg/info/{name}:{a}.list"),
                MAX_LIST_BYTES,
            )
            .ok()
        });
        let Some(files) = with_arch.or_else(|| {
            root.read_string(&format!("var/lib/dpkg/info/{name}.list"), MAX_LIST_BYTES)
                .ok()
        }) else {
            continue;
        };
        let id = o.add_package("deb", name, version);
        for f in files.lines().filter(|l| l.starts_with('/')) {
            o.own(aliases, f, id);
        }
    }
    true
}

/// Reads apk's installed database (`P:` name, `V:` version, `F:` directory,
/// `R:` file); `false` when there is none.
fn read_apk(root: &RootDir, max: u64, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    let db = match root.read_string("lib/apk/db/installed", max) {
        Ok(s) => s,
        Err(e) if not_found(&e) => return false,
        Err(e) => {
            o.skipped.push(format!("apk: /lib/apk/db/installed: {e}"));
            return false;
        }
    };
    for (name, version, files) in parse_apk_installed(&db) {
        let id = o.add_package("apk", name, version);
        for path in files {
            o.own(aliases, &path, id);
        }
    }
    true
}

/// Reads the first rpm database found (newest layout first); `false` when
/// there is none or it cannot be read.
fn read_rpm(root: &RootDir, max: u64, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    for path in rampart_sbom::catalog::RPM_DATABASE_PATHS {
        let data = match root.read(path, max) {
            Ok(d) => d,
            Err(e) if not_found(&e) => continue,
            Err(e) => {
                o.skipped.push(format!("rpm: {path}: {e}"));
                return false;
            }
        };
        let file_name = path.rsplit('/').next().unwrap_or(path);
        let packages = match rampart_sbom::catalog::read_rpm_database(file_name, &data) {
            Ok(p) => p,
            Err(e) => {
                o.skipped.push(format!("rpm: {path}: {e}"));
                return false;
            }
        };
        drop(data);
        for p in packages {
            let version = match p.epoch {
                Some(e) => format!("{e}:{}", p.version),
                None => p.version.clone(),
            };
            let id = o.add_package("rpm", &p.name, &version);
            for f in &p.files {
                o.own(aliases, f, id);
            }
        }
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dpkg_status_keeps_installed_packages_with_safe_names() {
        let status = "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\n\
                      Version: 3.0.11-1\n\nPackage: gone\nStatus: deinstall ok config-files\n\
                      Version: 1\n\nPackage: ../etc\nStatus: install ok installed\nVersion: 1\n\n\
                      Package: noarch\nStatus: install ok installed\nVersion: 2\n\n\
                      Package: bad-arch\nStatus: install ok installed\nVersion: 1\n\
                      Architecture: a/b\n\nPackage: nover\nStatus: install ok installed\n";
        assert_eq!(
            parse_dpkg_status(status),
            vec![
                ("libssl3", "3.0.11-1", Some("amd64")),
                ("noarch", "2", None)
            ]
        );
    }

    #[test]
    fn apk_paths_join_their_directory() {
        let db = "P:musl\nV:1.2.4-r2\nR:top\nF:lib\nR:ld-musl-x86_64.so.1\nF:usr/lib\nR:libc.so\n\n\
                  P:noversion\nR:x\n";
        assert_eq!(
            parse_apk_installed(db),
            vec![(
                "musl",
                "1.2.4-r2",
                vec![
                    "/top".to_string(),
                    "/lib/ld-musl-x86_64.so.1".to_string(),
                    "/usr/lib/libc.so".to_string()
                ]
            )]
        );
    }

    proptest! {
        /// Whatever the text: no panic, every dpkg name and architecture is
        /// usable as a file name, every apk path is absolute.
        #[test]
        fn databases_never_yield_unsafe_names(text in "(?s)[PVFRSA:a-z/. \\n\\-]{0,400}|(?s).{0,200}") {
            for (name, _, arch) in parse_dpkg_status(&text) {
                prop_assert!(safe_name(name));
                prop_assert!(arch.is_none_or(safe_name));
            }
            for (_, _, files) in parse_apk_installed(&text) {
                prop_assert!(files.iter().all(|f| f.starts_with('/')));
            }
        }
    }
}
