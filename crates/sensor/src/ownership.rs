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
//!
//! Building one index has a [`Budget`]: the total bytes of dpkg file lists
//! read (each list is also capped), the packages considered and the paths
//! indexed. A container's status file can name a million packages whose
//! lists are all symlinks to one large file; when a budget is used up the
//! index keeps what was read, stops, and says why in `skipped`.

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

/// What building one index may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The largest database file read (bytes).
    pub max_db: u64,
    /// The largest single dpkg file list read (bytes).
    pub max_list: u64,
    /// The total bytes of dpkg file lists read.
    pub list_bytes: u64,
    /// At most this many packages are considered (dpkg status entries,
    /// apk and rpm packages).
    pub packages: usize,
    /// At most this many paths are indexed.
    pub paths: usize,
}

impl Budget {
    /// A container's: databases up to 64 MiB, each list up to 16 MiB and
    /// 256 MiB of lists in all, 200,000 packages, 5,000,000 paths.
    pub const CONTAINER: Budget = Budget {
        max_db: 64 << 20,
        max_list: 16 << 20,
        list_bytes: 256 << 20,
        packages: 200_000,
        paths: 5_000_000,
    };

    /// The host's: databases up to 512 MiB, each list up to 16 MiB and
    /// 1 GiB of lists in all, 500,000 packages, 20,000,000 paths.
    pub const HOST: Budget = Budget {
        max_db: 512 << 20,
        max_list: 16 << 20,
        list_bytes: 1 << 30,
        packages: 500_000,
        paths: 20_000_000,
    };
}

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
    /// Set when a budget was used up while building.
    exhausted: Option<String>,
    /// Packages considered so far.
    considered: usize,
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

    /// Reads every database in `root` within `budget`; when it is used
    /// up, what was read is kept and the reason is in `skipped`.
    pub fn read(root: &RootDir, budget: &Budget) -> Ownership {
        let mut o = Ownership {
            stamps: stamps(root),
            ..Ownership::default()
        };
        let aliases = usr_aliases(root);
        let readers: [(&str, Reader); 3] =
            [("deb", read_dpkg), ("apk", read_apk), ("rpm", read_rpm)];
        for (name, reader) in readers {
            if reader(root, budget, &aliases, &mut o) {
                o.databases.push(name.into());
            }
            if let Some(why) = o.exhausted.take() {
                o.skipped
                    .push(format!("{name}: index incomplete, stopped: {why}"));
                break;
            }
        }
        o
    }

    /// Counts one more package against the budget; `false` (and the
    /// reason kept) when none is left.
    fn consider(&mut self, budget: &Budget) -> bool {
        if self.considered >= budget.packages {
            self.exhausted = Some(format!("more than {} packages", budget.packages));
            return false;
        }
        self.considered += 1;
        true
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

    /// Indexes `path` (and its merged-`/usr` aliases); `false` (and the
    /// reason kept) when the budget of paths is used up.
    fn own(&mut self, budget: &Budget, aliases: &[(String, String)], path: &str, pkg: u32) -> bool {
        let put = |index: &mut HashMap<u64, u32>, p: &str| {
            if index.len() >= budget.paths {
                return false;
            }
            index.entry(path_hash(p)).or_insert(pkg);
            true
        };
        let mut ok = put(&mut self.index, path);
        for (from, to) in aliases {
            if let Some(rest) = path.strip_prefix(from.as_str()) {
                ok &= put(&mut self.index, &format!("{to}{rest}"));
            }
        }
        if !ok {
            self.exhausted = Some(format!("more than {} paths", budget.paths));
        }
        ok
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

/// Reads one database into the index; `false` when there is none.
type Reader = fn(&RootDir, &Budget, &[(String, String)], &mut Ownership) -> bool;

/// Reads dpkg's status (installed packages and versions) and file lists;
/// `false` when there is no dpkg database.
fn read_dpkg(root: &RootDir, b: &Budget, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    let status = match root.read_string("var/lib/dpkg/status", b.max_db) {
        Ok(s) => s,
        Err(e) if not_found(&e) => return false,
        Err(e) => {
            o.skipped.push(format!("deb: /var/lib/dpkg/status: {e}"));
            return false;
        }
    };
    let mut list_bytes = 0u64;
    'packages: for (name, version, arch) in parse_dpkg_status(&status) {
        if !o.consider(b) {
            break;
        }
        // A list may be no larger than what is left of the total.
        let left = b.list_bytes.saturating_sub(list_bytes);
        let cap = b.max_list.min(left);
        let read = |file: String| match root.read_string(&file, cap) {
            Ok(s) => Some(Ok(s)),
            Err(e) if e.kind() == std::io::ErrorKind::FileTooLarge && cap < b.max_list => {
                Some(Err(()))
            }
            Err(_) => None,
        };
        let with_arch = arch.and_then(|a| read(format!("var/lib/dpkg/info/{name}:{a}.list")));
        let files = match with_arch.or_else(|| read(format!("var/lib/dpkg/info/{name}.list"))) {
            Some(Ok(f)) => f,
            Some(Err(())) => {
                o.exhausted = Some(format!("more than {} bytes of file lists", b.list_bytes));
                break;
            }
            None => continue,
        };
        list_bytes = list_bytes.saturating_add(files.len() as u64);
        let id = o.add_package("deb", name, version);
        for f in files.lines().filter(|l| l.starts_with('/')) {
            if !o.own(b, aliases, f, id) {
                break 'packages;
            }
        }
    }
    true
}

/// Reads apk's installed database (`P:` name, `V:` version, `F:` directory,
/// `R:` file); `false` when there is none.
fn read_apk(root: &RootDir, b: &Budget, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    let db = match root.read_string("lib/apk/db/installed", b.max_db) {
        Ok(s) => s,
        Err(e) if not_found(&e) => return false,
        Err(e) => {
            o.skipped.push(format!("apk: /lib/apk/db/installed: {e}"));
            return false;
        }
    };
    'packages: for (name, version, files) in parse_apk_installed(&db) {
        if !o.consider(b) {
            break;
        }
        let id = o.add_package("apk", name, version);
        for path in files {
            if !o.own(b, aliases, &path, id) {
                break 'packages;
            }
        }
    }
    true
}

/// Reads the first rpm database found (newest layout first); `false` when
/// there is none or it cannot be read.
fn read_rpm(root: &RootDir, b: &Budget, aliases: &[(String, String)], o: &mut Ownership) -> bool {
    for path in rampart_sbom::catalog::RPM_DATABASE_PATHS {
        let data = match root.read(path, b.max_db) {
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
        'packages: for p in packages {
            if !o.consider(b) {
                break;
            }
            let version = match p.epoch {
                Some(e) => format!("{e}:{}", p.version),
                None => p.version.clone(),
            };
            let id = o.add_package("rpm", &p.name, &version);
            for f in &p.files {
                if !o.own(b, aliases, f, id) {
                    break 'packages;
                }
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

    /// A hostile root: 50 installed packages whose lists are all symlinks
    /// to one list of 100 paths.
    fn many_links_to_one_list() -> (tempfile::TempDir, u64) {
        let d = tempfile::tempdir().unwrap();
        let info = d.path().join("var/lib/dpkg/info");
        std::fs::create_dir_all(&info).unwrap();
        let mut status = String::new();
        for i in 0..50 {
            status.push_str(&format!(
                "Package: pkg{i}\nStatus: install ok installed\nVersion: 1.{i}\n\n"
            ));
            std::os::unix::fs::symlink("big.list", info.join(format!("pkg{i}.list"))).unwrap();
        }
        std::fs::write(d.path().join("var/lib/dpkg/status"), status).unwrap();
        let list: String = (0..100).map(|i| format!("/usr/lib/f{i}\n")).collect();
        std::fs::write(info.join("big.list"), &list).unwrap();
        (d, list.len() as u64)
    }

    #[test]
    fn an_index_stops_when_its_budget_is_used_up_and_says_why() {
        let (d, list_len) = many_links_to_one_list();
        let root = RootDir::open(d.path()).unwrap();
        let all = Ownership::read(&root, &Budget::CONTAINER);
        assert_eq!(all.len(), 50);
        assert!(all.skipped.is_empty(), "{:?}", all.skipped);

        let small = Budget {
            list_bytes: 3 * list_len + list_len / 2,
            ..Budget::CONTAINER
        };
        let o = Ownership::read(&root, &small);
        assert_eq!(o.len(), 3, "three lists fit, the fourth does not");
        assert_eq!(o.databases, ["deb"], "what was read is kept");
        assert_eq!(
            o.skipped,
            [format!(
                "deb: index incomplete, stopped: more than {} bytes of file lists",
                small.list_bytes
            )]
        );
        assert_eq!(
            o.owner("/usr/lib/f7").map(|p| p.name.as_str()),
            Some("pkg0")
        );

        let o = Ownership::read(
            &root,
            &Budget {
                packages: 2,
                ..Budget::CONTAINER
            },
        );
        assert_eq!(o.len(), 2);
        assert_eq!(
            o.skipped,
            ["deb: index incomplete, stopped: more than 2 packages"]
        );

        let o = Ownership::read(
            &root,
            &Budget {
                paths: 40,
                ..Budget::CONTAINER
            },
        );
        assert_eq!(o.len(), 1);
        assert_eq!(o.index.len(), 40);
        assert!(o.owner("/usr/lib/f39").is_some() && o.owner("/usr/lib/f40").is_none());
        assert_eq!(
            o.skipped,
            ["deb: index incomplete, stopped: more than 40 paths"]
        );

        // One list over its own cap is skipped, not the end of the index.
        let o = Ownership::read(
            &root,
            &Budget {
                max_list: list_len - 1,
                ..Budget::CONTAINER
            },
        );
        assert_eq!((o.len(), o.skipped.len()), (0, 0), "{:?}", o.skipped);
    }

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
