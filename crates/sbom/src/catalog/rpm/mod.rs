//! RPM packages, from the three database formats rpm has used: the SQLite
//! `rpmdb.sqlite` (Fedora 33+, RHEL 9+), the Berkeley DB Hash `Packages`
//! (RHEL 7/8, CentOS, Amazon Linux 2) and the NDB `Packages.db` (SUSE).
//! Each stores one RPM header blob per installed package.

use rampart_source::VPath;

use super::{Cataloger, Evidence, Found};
use crate::package::{Ecosystem, Package};

mod bdb;
mod header;
mod ndb;
mod sqlite;
#[cfg(test)]
mod testgen;

use header::Header;

/// The rpm database cataloger.
#[derive(Debug)]
pub struct Rpm;

/// Where rpm keeps its database: the classic place, and the one Fedora 36+
/// and openSUSE moved it to (`/var/lib/rpm` is then a symlink).
const DB_DIRS: &[&[u8]] = &[b"var/lib/rpm/", b"usr/lib/sysimage/rpm/"];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Sqlite,
    BerkeleyDb,
    Ndb,
}

fn format_of(path: &VPath) -> Option<Format> {
    let format = match path.file_name() {
        b"rpmdb.sqlite" => Format::Sqlite,
        b"Packages" => Format::BerkeleyDb,
        b"Packages.db" => Format::Ndb,
        _ => return None,
    };
    let p = path.as_bytes();
    DB_DIRS
        .iter()
        .any(|d| p.len() == d.len() + path.file_name().len() && p.starts_with(d))
        .then_some(format)
}

/// Memory spent on file paths per database: a hostile header can make a
/// short blob expand into many long paths (one long directory name shared
/// by many entries), so the expansion is bounded by the file's size.
fn files_budget(db_len: usize) -> usize {
    db_len
        .saturating_mul(16)
        .saturating_add(16 << 20)
        .min(1 << 30)
}

/// `openssl-3.0.7-27.el9.src.rpm` -> (`openssl`, `3.0.7-27.el9`).
fn split_source_rpm(s: &str) -> Option<(&str, &str)> {
    let stem = s
        .strip_suffix(".src.rpm")
        .or_else(|| s.strip_suffix(".nosrc.rpm"))?;
    let (rest, _release) = stem.rsplit_once('-')?;
    let (name, _version) = rest.rsplit_once('-')?;
    if name.is_empty() {
        return None;
    }
    let version = stem.get(name.len() + 1..)?;
    Some((name, version))
}

/// What one header blob yields.
#[derive(Debug)]
enum Record {
    Package(Box<Package>),
    /// Not an installed package: rpm's bookkeeping record 0, or the
    /// gpg-pubkey pseudo-packages that hold imported signing keys.
    Ignored,
}

/// Reads the package a header describes, spending at most `budget` bytes
/// on its file paths (reduced by what was used).
fn package_from_header(blob: &[u8], cataloger: &str, budget: &mut usize) -> Result<Record, String> {
    // Record 0 of the Berkeley DB holds a 4-byte counter, not a header.
    if blob.len() < 8 {
        return Ok(Record::Ignored);
    }
    let h = Header::parse(blob)?;
    let name = h
        .string(header::TAG_NAME)
        .filter(|n| !n.is_empty())
        .ok_or("header without a NAME")?;
    if name == "gpg-pubkey" {
        return Ok(Record::Ignored);
    }
    let version = h
        .string(header::TAG_VERSION)
        .ok_or_else(|| format!("package {name} without a VERSION"))?;
    let version = match h.string(header::TAG_RELEASE).filter(|r| !r.is_empty()) {
        Some(release) => format!("{version}-{release}"),
        None => version.to_string(),
    };
    let mut p = Package::new(Ecosystem::Rpm, name, version, cataloger);
    p.epoch = h
        .int32(header::TAG_EPOCH)
        .filter(|e| *e != 0)
        .map(u64::from);
    p.arch = h
        .string(header::TAG_ARCH)
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    if let Some((src, src_version)) = h.string(header::TAG_SOURCERPM).and_then(split_source_rpm) {
        p.source_name = Some(src.to_string());
        p.source_version = Some(src_version.to_string());
    }
    if let Some(l) = h.string(header::TAG_LICENSE).map(str::trim)
        && !l.is_empty()
    {
        p.licenses.push(l.to_string());
    }
    p.supplier = h
        .string(header::TAG_VENDOR)
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string);
    let (files, used, complete) = h.files(*budget);
    *budget = budget.saturating_sub(used);
    if !complete {
        tracing::warn!(
            package = %p.name,
            "rpm file list malformed or over the size budget; kept {} paths",
            files.len()
        );
    }
    p.files = files.into_iter().collect();
    Ok(Record::Package(Box::new(p)))
}

/// The rpm databases' places inside a root, newest layout first.
pub const DATABASE_PATHS: &[&str] = &[
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/Packages.db",
    "/var/lib/rpm/Packages.db",
    "/var/lib/rpm/Packages",
];

/// Reads the installed packages from an rpm database whose file name
/// (`rpmdb.sqlite`, `Packages` or `Packages.db`) says its format, for
/// callers that only need names and versions (the posture facts). Broken
/// records are skipped; a database that yields no package at all is an
/// error.
pub fn read_database(file_name: &str, data: &[u8]) -> Result<Vec<Package>, String> {
    let format = match file_name {
        "rpmdb.sqlite" => Format::Sqlite,
        "Packages" => Format::BerkeleyDb,
        "Packages.db" => Format::Ndb,
        other => return Err(format!("{other:?} is not an rpm database name")),
    };
    let mut out = Vec::new();
    let mut broken = 0usize;
    let mut first_error = None;
    let mut budget = files_budget(data.len());
    let mut each = |blob: &[u8]| match package_from_header(blob, "rpm", &mut budget) {
        Ok(Record::Package(p)) => out.push(*p),
        Ok(Record::Ignored) => {}
        Err(e) => {
            broken += 1;
            first_error.get_or_insert(e);
        }
    };
    broken += match format {
        Format::Sqlite => sqlite::for_each_blob(data, &mut each)?,
        Format::BerkeleyDb => bdb::for_each_value(data, &mut each)?,
        Format::Ndb => ndb::for_each_blob(data, &mut each)?,
    };
    if out.is_empty() && broken > 0 {
        let reason = first_error.unwrap_or_else(|| "unreadable record".to_string());
        return Err(format!("{broken} broken records and no package ({reason})"));
    }
    Ok(out)
}

impl Cataloger for Rpm {
    fn name(&self) -> &'static str {
        "rpm"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        format_of(path).is_some()
    }

    fn max_size(&self) -> u64 {
        // Real databases reach a few hundred MiB on large hosts (Berkeley
        // DB files keep much free space).
        512 << 20
    }

    fn parse(&self, ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let Some(format) = format_of(ev.path) else {
            return Ok(Vec::new());
        };
        let mut out = Vec::new();
        let mut broken = 0usize;
        let mut first_error = None;
        let mut budget = files_budget(data.len());
        let mut each = |blob: &[u8]| match package_from_header(blob, self.name(), &mut budget) {
            Ok(Record::Package(p)) => out.push(Found::Package(p)),
            Ok(Record::Ignored) => {}
            Err(e) => {
                broken += 1;
                first_error.get_or_insert(e);
            }
        };
        let unreadable = match format {
            Format::Sqlite => sqlite::for_each_blob(data, &mut each)?,
            Format::BerkeleyDb => bdb::for_each_value(data, &mut each)?,
            Format::Ndb => ndb::for_each_blob(data, &mut each)?,
        };
        broken += unreadable;
        if broken > 0 {
            let reason = first_error.unwrap_or_else(|| "unreadable record".to_string());
            if out.is_empty() {
                return Err(format!("{broken} broken records and no package ({reason})"));
            }
            tracing::warn!(
                path = %ev.path.display(),
                "{broken} broken records in the rpm database skipped ({reason})"
            );
        }
        out.push(Found::PackageDb);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::testgen::{Value, bdb_hash, header as make_header, ndb, package, tag};
    use super::*;

    fn vpath(p: &str) -> VPath {
        VPath::from_relative(p.as_bytes(), 4096, 64).unwrap_or_default()
    }

    fn parse(path: &str, data: &[u8]) -> Result<Vec<Found>, String> {
        let path = vpath(path);
        assert!(Rpm.wants(&path, 0), "{path:?} is wanted");
        Rpm.parse(
            &Evidence {
                path: &path,
                layer: None,
                size: 0,
            },
            data,
        )
    }

    fn packages(found: &[Found]) -> Vec<&Package> {
        found
            .iter()
            .filter_map(|f| match f {
                Found::Package(p) => Some(p.as_ref()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn wants_only_the_databases() {
        for p in [
            "var/lib/rpm/Packages",
            "var/lib/rpm/Packages.db",
            "var/lib/rpm/rpmdb.sqlite",
            "usr/lib/sysimage/rpm/rpmdb.sqlite",
            "usr/lib/sysimage/rpm/Packages.db",
        ] {
            assert!(Rpm.wants(&vpath(p), 1), "{p}");
        }
        for p in [
            "var/lib/rpm/Name",
            "var/lib/rpm/rpmdb.sqlite-wal",
            "opt/var/lib/rpm/Packages",
            "var/lib/rpm/x/Packages",
            "Packages",
            "var/lib/rpmPackages",
        ] {
            assert!(!Rpm.wants(&vpath(p), 1), "{p}");
        }
    }

    #[test]
    fn source_rpm_names_split_off_version_and_release() {
        assert_eq!(
            split_source_rpm("openssl-3.0.7-27.el9.src.rpm"),
            Some(("openssl", "3.0.7-27.el9"))
        );
        assert_eq!(
            split_source_rpm("python-setuptools-53.0.0-12.el9.noarch.src.rpm"),
            Some(("python-setuptools", "53.0.0-12.el9.noarch"))
        );
        assert_eq!(split_source_rpm("x-1.nosrc.rpm"), None);
        assert_eq!(split_source_rpm("-1-2.src.rpm"), None);
        assert_eq!(split_source_rpm("bash-5.1"), None);
    }

    #[test]
    fn header_fields_become_a_package() {
        let blob = package(
            "bash",
            "5.1.8",
            "9.el9",
            Some(1),
            "x86_64",
            &[("/usr/bin/", "bash"), ("/etc/", "bashrc")],
        );
        let mut budget = 1 << 20;
        let Ok(Record::Package(p)) = package_from_header(&blob, "rpm", &mut budget) else {
            panic!("not a package");
        };
        assert_eq!(
            (p.name.as_str(), p.version.as_str()),
            ("bash", "5.1.8-9.el9")
        );
        assert_eq!(p.epoch, Some(1));
        assert_eq!(p.arch.as_deref(), Some("x86_64"));
        assert_eq!(p.source_name.as_deref(), Some("bash"));
        assert_eq!(p.source_version.as_deref(), Some("5.1.8-9.el9"));
        assert_eq!(p.licenses, ["MIT"]);
        assert_eq!(p.supplier.as_deref(), Some("Rampart Test"));
        let files: Vec<&str> = p.files.iter().map(String::as_str).collect();
        assert_eq!(files, ["/etc/bashrc", "/usr/bin/bash"]);
        assert_eq!(budget, (1 << 20) - 24 - 2 * std::mem::size_of::<String>());
        // Epoch 0 is the same as none.
        let blob = package("a", "1", "1", Some(0), "noarch", &[]);
        let Ok(Record::Package(p)) = package_from_header(&blob, "rpm", &mut budget) else {
            panic!("not a package");
        };
        assert_eq!(p.epoch, None);
    }

    #[test]
    fn keys_and_bookkeeping_are_not_packages() {
        let key = make_header(&[
            (tag::NAME, Value::Str("gpg-pubkey")),
            (tag::VERSION, Value::Str("fd431d51")),
        ]);
        let mut budget = 100;
        assert!(matches!(
            package_from_header(&key, "rpm", &mut budget),
            Ok(Record::Ignored)
        ));
        assert!(matches!(
            package_from_header(&[0, 0, 0, 5], "rpm", &mut budget),
            Ok(Record::Ignored)
        ));
        let nameless = make_header(&[(tag::VERSION, Value::Str("1"))]);
        assert!(package_from_header(&nameless, "rpm", &mut budget).is_err());
    }

    #[test]
    fn the_file_budget_is_shared_by_the_whole_database() {
        // One 1000-byte directory named by 1000 entries: 1 MB of paths
        // from a 3 KB header.
        let dir = "d".repeat(1000);
        let blob = make_header(&[
            (tag::NAME, Value::Str("x")),
            (tag::VERSION, Value::Str("1")),
            (tag::DIRNAMES, Value::Strs(vec![&dir])),
            (tag::BASENAMES, Value::Strs(vec!["f"; 1000])),
            (tag::DIRINDEXES, Value::Int32s(vec![0; 1000])),
        ]);
        let mut budget = 10_000;
        let Ok(Record::Package(p)) = package_from_header(&blob, "rpm", &mut budget) else {
            panic!("not a package");
        };
        assert_eq!(
            p.files.len(),
            1,
            "identical paths collapse; the rest is cut"
        );
        assert!(budget < 10_000);
    }

    fn three() -> Vec<Vec<u8>> {
        vec![
            package(
                "bash",
                "5.1.8",
                "9.el9",
                None,
                "x86_64",
                &[("/usr/bin/", "bash")],
            ),
            make_header(&[
                (tag::NAME, Value::Str("gpg-pubkey")),
                (tag::VERSION, Value::Str("fd431d51")),
                (tag::RELEASE, Value::Str("4ae0493b")),
            ]),
            // Large enough for overflow pages.
            package(
                "glibc",
                "2.34",
                "100.el9",
                None,
                "x86_64",
                &(0..400)
                    .map(|_| ("/usr/lib64/", "libc.so.6"))
                    .collect::<Vec<_>>(),
            ),
        ]
    }

    fn names(found: &[Found]) -> Vec<String> {
        packages(found)
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect()
    }

    #[test]
    fn reads_berkeley_db_in_both_byte_orders_and_page_sizes() {
        for big_endian in [false, true] {
            for page_size in [512, 4096] {
                let file = bdb_hash(&three(), page_size, big_endian, true);
                let found = parse("var/lib/rpm/Packages", &file).unwrap_or_default();
                assert_eq!(
                    names(&found),
                    ["bash@5.1.8-9.el9", "glibc@2.34-100.el9"],
                    "big endian {big_endian}, pages of {page_size}"
                );
                assert!(matches!(found.last(), Some(Found::PackageDb)));
            }
        }
    }

    #[test]
    fn reads_ndb() {
        let mut blobs: Vec<Option<Vec<u8>>> = three().into_iter().map(Some).collect();
        blobs.insert(1, None);
        let found = parse("usr/lib/sysimage/rpm/Packages.db", &ndb(&blobs)).unwrap_or_default();
        assert_eq!(names(&found), ["bash@5.1.8-9.el9", "glibc@2.34-100.el9"]);
    }

    #[test]
    fn an_empty_database_is_still_a_database() {
        let found = parse("var/lib/rpm/Packages.db", &ndb(&[])).unwrap_or_default();
        assert!(matches!(found.as_slice(), [Found::PackageDb]));
    }

    #[test]
    fn broken_records_are_skipped_when_others_read() {
        let mut blobs: Vec<Option<Vec<u8>>> = three().into_iter().map(Some).collect();
        blobs.push(Some(vec![0xff; 64]));
        let found = parse("var/lib/rpm/Packages.db", &ndb(&blobs)).unwrap_or_default();
        assert_eq!(names(&found).len(), 2);
        let only_broken = ndb(&[Some(vec![0xff; 64])]);
        let err = parse("var/lib/rpm/Packages.db", &only_broken).err();
        assert!(err.is_some_and(|e| e.contains("1 broken records")));
    }

    #[test]
    fn the_wrong_format_under_a_name_is_an_error() {
        let file = ndb(&[Some(three().remove(0))]);
        assert!(parse("var/lib/rpm/Packages", &file).is_err());
        assert!(parse("var/lib/rpm/rpmdb.sqlite", &file).is_err());
        let file = bdb_hash(&three(), 4096, false, false);
        assert!(parse("var/lib/rpm/Packages.db", &file).is_err());
    }
}

#[cfg(test)]
mod hostile {
    use std::sync::LazyLock;

    use super::testgen::{bdb_hash, ndb, package};
    use super::*;

    fn blobs() -> Vec<Vec<u8>> {
        vec![
            package("a", "1", "1", Some(3), "x86_64", &[("/usr/bin/", "a")]),
            package(
                "b",
                "2",
                "1",
                None,
                "noarch",
                &(0..50)
                    .map(|_| ("/usr/share/b/", "file"))
                    .collect::<Vec<_>>(),
            ),
        ]
    }

    /// One valid file of each format, damaged at will by the cases.
    static FILES: LazyLock<Vec<(&'static str, Vec<u8>)>> = LazyLock::new(|| {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("rpmdb.sqlite");
        let conn = rusqlite::Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB);")
            .unwrap_or_else(|e| panic!("{e}"));
        for b in blobs() {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap_or_else(|e| panic!("{e}"));
        }
        drop(conn);
        let sqlite = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        vec![
            ("var/lib/rpm/Packages", bdb_hash(&blobs(), 512, false, true)),
            (
                "var/lib/rpm/Packages.db",
                ndb(&blobs().into_iter().map(Some).collect::<Vec<_>>()),
            ),
            ("var/lib/rpm/rpmdb.sqlite", sqlite),
        ]
    });

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(200))]

        /// Damaged databases give packages or reasons, never a panic.
        #[test]
        fn damaged_databases_never_panic(
            which in 0usize..3,
            edits in proptest::collection::vec((0usize..1 << 16, proptest::num::u8::ANY), 1..12),
            cut in proptest::option::of(0usize..1 << 16),
        ) {
            let (path, file) = &FILES[which];
            let mut data = file.clone();
            for (at, byte) in edits {
                let len = data.len();
                if let Some(b) = data.get_mut(at % len) {
                    *b = byte;
                }
            }
            if let Some(c) = cut {
                data.truncate(c % (data.len() + 1));
            }
            let path = VPath::from_relative(path.as_bytes(), 100, 10).unwrap_or_default();
            let ev = Evidence { path: &path, layer: None, size: 0 };
            let _ = Rpm.parse(&ev, &data);
        }

        /// Header blobs with any bytes changed are read safely.
        #[test]
        fn damaged_headers_never_panic(
            edits in proptest::collection::vec((0usize..4096, proptest::num::u8::ANY), 1..16),
        ) {
            let mut blob = blobs().remove(1);
            for (at, byte) in edits {
                let len = blob.len();
                if let Some(b) = blob.get_mut(at % len) {
                    *b = byte;
                }
            }
            let mut budget = 1 << 20;
            let _ = package_from_header(&blob, "rpm", &mut budget);
        }
    }
}
