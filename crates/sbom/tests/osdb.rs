//! Integration tests of the OS package database catalogers: Alpine's apk
//! database and rpm's three database formats, each read from a directory
//! tree through the whole cataloging pass.
//!
//! The SQLite rpmdb is made by the real `rpm` (Debian's `rpm` package) from
//! packages built by `rpmbuild`; the test skips, saying so, when it is
//! missing. No tool here writes Berkeley DB or NDB rpm databases: those are
//! written by `testgen` from the same header blobs, and when `rpm` is here
//! its read-only Berkeley DB reader (`bdb_ro`) checks the generated file.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests fail loudly and say why they skip"
)]

#[path = "../src/catalog/rpm/testgen.rs"]
mod testgen;

use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_sbom::{Ecosystem, Package, Sbom};
use rampart_source::{OpenOptions, Target};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/osdb")
        .join(name)
}

fn put(root: &Path, rel: &str, data: &[u8]) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, data).unwrap();
}

fn put_fixture(root: &Path, rel: &str, name: &str) {
    put(root, rel, &std::fs::read(fixture(name)).unwrap());
}

fn catalog(root: &Path) -> Sbom {
    let opened =
        rampart_source::open(&Target::Dir(root.to_path_buf()), &OpenOptions::default()).unwrap();
    rampart_sbom::catalog(&opened, "dir:x", "dir").unwrap()
}

/// name, version, purl, locations: what must come out exactly.
fn summary(p: &Package) -> (String, String, String, Vec<String>) {
    (
        p.name.clone(),
        p.version.clone(),
        p.purl.clone(),
        p.locations.iter().map(|l| l.path.clone()).collect(),
    )
}

fn owned(p: &Package) -> Vec<&str> {
    p.files.iter().map(String::as_str).collect()
}

fn s(v: &str) -> String {
    v.to_string()
}

#[test]
fn alpine_apk_database() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put_fixture(root, "etc/os-release", "alpine-os-release");
    put_fixture(root, "lib/apk/db/installed", "apk-installed");
    put(root, "sbin/apk", b"\x7fELF");
    let sbom = catalog(root);
    assert!(sbom.skips.is_empty(), "{:?}", sbom.skips);
    let distro = sbom.distro.as_ref().unwrap();
    assert_eq!((distro.id.as_str(), distro.distroless), ("alpine", false));
    let db = vec![s("/lib/apk/db/installed")];
    let got: Vec<_> = sbom.packages.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            (
                s("ca-certificates-bundle"),
                s("20240705-r0"),
                s(
                    "pkg:apk/alpine/ca-certificates-bundle@20240705-r0?arch=x86_64\
                   &distro=alpine-3.20.3&upstream=ca-certificates"
                ),
                db.clone(),
            ),
            (
                s("libcrypto3"),
                s("3.3.2-r0"),
                s(
                    "pkg:apk/alpine/libcrypto3@3.3.2-r0?arch=x86_64&distro=alpine-3.20.3\
                   &upstream=openssl"
                ),
                db.clone(),
            ),
            (
                s("musl"),
                s("1.2.5-r0"),
                s("pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"),
                db,
            ),
        ]
    );
    let crypto = &sbom.packages[1];
    assert_eq!(crypto.ecosystem, Ecosystem::Apk);
    assert_eq!(crypto.cataloger, "apk");
    assert_eq!(crypto.licenses, ["Apache-2.0"]);
    assert_eq!(crypto.source_name.as_deref(), Some("openssl"));
    assert_eq!(
        crypto.supplier.as_deref(),
        Some("Ariadne Conill <ariadne@dereferenced.org>")
    );
    assert_eq!(
        owned(crypto),
        [
            "/etc",
            "/etc/ssl",
            "/etc/ssl/openssl.cnf",
            "/usr",
            "/usr/lib",
            "/usr/lib/libcrypto.so.3"
        ]
    );
    assert_eq!(sbom.packages[0].licenses, ["MPL-2.0 AND MIT"]);
}

/// Runs a command, returning its stdout when it succeeded.
fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{cmd:?}: {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Builds the fixture packages with `rpmbuild` and installs them with `rpm
/// --justdb` into a fresh database at `dbpath` (rpm's default backend,
/// SQLite on current rpm). Returns the `rpm -qa` view of the result.
fn real_rpmdb(work: &Path, dbpath: &Path) -> Result<Vec<String>, String> {
    let top = work.join("rpmbuild");
    let mut rpms = Vec::new();
    for spec in ["hello-osdb.spec", "hello-osdb-doc.spec"] {
        run(Command::new("rpmbuild")
            .arg("-bb")
            .arg("--quiet")
            .arg("--define")
            .arg(format!("_topdir {}", top.display()))
            .arg("--define")
            .arg("_build_id_links none")
            .arg(fixture(spec)))?;
    }
    for entry in std::fs::read_dir(top.join("RPMS/noarch")).map_err(|e| e.to_string())? {
        rpms.push(entry.map_err(|e| e.to_string())?.path());
    }
    std::fs::create_dir_all(dbpath).map_err(|e| e.to_string())?;
    run(Command::new("rpm")
        .arg("--dbpath")
        .arg(dbpath)
        .arg("--initdb"))?;
    run(Command::new("rpm")
        .arg("--dbpath")
        .arg(dbpath)
        .args(["-i", "--justdb", "--nodeps", "--noscripts"])
        .args(&rpms))?;
    let qa = run(Command::new("rpm").arg("--dbpath").arg(dbpath).args([
        "-qa",
        "--qf",
        "%{NAME}@%{VERSION}-%{RELEASE}\\n",
    ]))?;
    Ok(sorted_by_name(qa.lines()))
}

/// `name@version` strings, in the SBOM's order (by name, then version).
fn sorted_by_name<'a>(list: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut v: Vec<(&str, &str)> = list.filter_map(|l| l.split_once('@')).collect();
    v.sort_unstable();
    v.into_iter().map(|(n, ver)| format!("{n}@{ver}")).collect()
}

fn name_versions(sbom: &Sbom) -> Vec<String> {
    sbom.packages
        .iter()
        .map(|p| format!("{}@{}", p.name, p.version))
        .collect()
}

#[test]
fn fedora_sqlite_rpmdb_made_by_rpm() {
    if !have("rpm") || !have("rpmbuild") {
        eprintln!(
            "SKIPPED fedora_sqlite_rpmdb_made_by_rpm because rpm/rpmbuild are missing \
             (apt-get install rpm)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    put_fixture(&root, "etc/os-release", "fedora-os-release");
    let dbpath = root.join("var/lib/rpm");
    let rpm_qa = real_rpmdb(tmp.path(), &dbpath).unwrap();
    let sqlite = dbpath.join("rpmdb.sqlite");
    if !sqlite.exists() {
        eprintln!(
            "SKIPPED fedora_sqlite_rpmdb_made_by_rpm because this rpm's default backend \
             is not sqlite"
        );
        return;
    }
    let sbom = catalog(&root);
    assert!(sbom.skips.is_empty(), "{:?}", sbom.skips);
    // The same packages rpm itself lists.
    assert_eq!(name_versions(&sbom), rpm_qa);
    let db = vec![s("/var/lib/rpm/rpmdb.sqlite")];
    let got: Vec<_> = sbom.packages.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            (
                s("hello-osdb"),
                s("1.2.3-4.fc40"),
                s(
                    "pkg:rpm/fedora/hello-osdb@1.2.3-4.fc40?arch=noarch&distro=fedora-40\
                   &epoch=2&upstream=hello-osdb"
                ),
                db.clone(),
            ),
            (
                s("hello-osdb-doc"),
                s("0.9-1.fc40"),
                s(
                    "pkg:rpm/fedora/hello-osdb-doc@0.9-1.fc40?arch=noarch&distro=fedora-40\
                   &upstream=hello-osdb-doc"
                ),
                db,
            ),
        ]
    );
    let hello = &sbom.packages[0];
    assert_eq!(hello.epoch, Some(2));
    assert_eq!(hello.cataloger, "rpm");
    assert_eq!(hello.licenses, ["MIT AND Apache-2.0"]);
    assert_eq!(hello.supplier.as_deref(), Some("Rampart Test"));
    assert_eq!(hello.source_name.as_deref(), Some("hello-osdb"));
    assert_eq!(hello.source_version.as_deref(), Some("1.2.3-4.fc40"));
    assert_eq!(
        owned(hello),
        [
            "/usr/bin/hello-osdb",
            "/usr/share/hello-osdb",
            "/usr/share/hello-osdb/greeting.txt"
        ]
    );
    assert_eq!(
        owned(&sbom.packages[1]),
        ["/usr/share/doc/hello-osdb-doc/README"]
    );
}

/// Header blobs: from a database the real rpm wrote when it is here, else
/// written by `testgen`.
fn header_blobs(work: &Path) -> (Vec<Vec<u8>>, bool) {
    if have("rpm") && have("rpmbuild") {
        let dbpath = work.join("realdb");
        match real_rpmdb(work, &dbpath) {
            Ok(_) if dbpath.join("rpmdb.sqlite").exists() => {
                let conn = rusqlite::Connection::open(dbpath.join("rpmdb.sqlite")).unwrap();
                let mut stmt = conn
                    .prepare("SELECT blob FROM Packages ORDER BY hnum")
                    .unwrap();
                let blobs = stmt
                    .query_map([], |r| r.get::<_, Vec<u8>>(0))
                    .unwrap()
                    .collect::<Result<Vec<_>, _>>()
                    .unwrap();
                return (blobs, true);
            }
            Ok(_) => eprintln!("note: rpm made no sqlite database; using generated headers"),
            Err(e) => eprintln!("note: rpm failed ({e}); using generated headers"),
        }
    } else {
        eprintln!("note: rpm/rpmbuild missing; the Berkeley DB is not checked by rpm's reader");
    }
    let blobs = vec![
        testgen::package(
            "hello-osdb",
            "1.2.3",
            "4.fc40",
            Some(2),
            "noarch",
            &[
                ("/usr/bin/", "hello-osdb"),
                ("/usr/share/", "hello-osdb"),
                ("/usr/share/hello-osdb/", "greeting.txt"),
            ],
        ),
        testgen::package(
            "hello-osdb-doc",
            "0.9",
            "1.fc40",
            None,
            "noarch",
            &[("/usr/share/doc/hello-osdb-doc/", "README")],
        ),
    ];
    (blobs, false)
}

const EXPECTED: [&str; 2] = ["hello-osdb@1.2.3-4.fc40", "hello-osdb-doc@0.9-1.fc40"];

#[test]
fn centos_berkeley_db_rpmdb() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut blobs, real) = header_blobs(tmp.path());
    // A signing key's pseudo-package, as `rpm --import` records it.
    blobs.push(testgen::header(&[
        (testgen::tag::NAME, testgen::Value::Str("gpg-pubkey")),
        (testgen::tag::VERSION, testgen::Value::Str("f4a80eb5")),
        (testgen::tag::RELEASE, testgen::Value::Str("53a7ff4b")),
    ]));
    let root = tmp.path().join("root");
    put_fixture(&root, "etc/os-release", "centos-os-release");
    // Small pages, so that the headers take overflow chains.
    let bdb = testgen::bdb_hash(&blobs, 1024, false, true);
    put(&root, "var/lib/rpm/Packages", &bdb);
    let sbom = catalog(&root);
    assert!(sbom.skips.is_empty(), "{:?}", sbom.skips);
    assert_eq!(name_versions(&sbom), EXPECTED);
    let hello = &sbom.packages[0];
    assert_eq!(
        hello.purl,
        "pkg:rpm/centos/hello-osdb@1.2.3-4.fc40?arch=noarch&distro=centos-7&epoch=2\
         &upstream=hello-osdb"
    );
    assert_eq!(
        hello
            .locations
            .iter()
            .map(|l| l.path.as_str())
            .collect::<Vec<_>>(),
        ["/var/lib/rpm/Packages"]
    );
    assert_eq!(owned(hello).len(), 3);
    if real {
        rpm_reads_the_same(&root.join("var/lib/rpm"));
    }
    // The same database written on a big-endian machine.
    let root_be = tmp.path().join("root-be");
    put(
        &root_be,
        "var/lib/rpm/Packages",
        &testgen::bdb_hash(&blobs, 4096, true, true),
    );
    let sbom = catalog(&root_be);
    assert!(sbom.skips.is_empty(), "{:?}", sbom.skips);
    assert_eq!(name_versions(&sbom), EXPECTED);
    if real {
        rpm_reads_the_same(&root_be.join("var/lib/rpm"));
    }
}

/// rpm's own read-only Berkeley DB reader agrees with a generated file (it
/// lists gpg-pubkey too: filtered as the cataloger does).
fn rpm_reads_the_same(dbpath: &Path) {
    let qa = run(Command::new("rpm")
        .arg("--dbpath")
        .arg(dbpath)
        .args(["--define", "_db_backend bdb_ro"])
        .args(["-qa", "--qf", "%{NAME}@%{VERSION}-%{RELEASE}\\n"]));
    match qa {
        Ok(qa) => {
            let listed = sorted_by_name(qa.lines().filter(|l| !l.starts_with("gpg-pubkey@")));
            assert_eq!(listed, EXPECTED, "rpm -qa with bdb_ro: {qa}");
        }
        Err(e) if e.contains("bdb_ro") => {
            eprintln!("note: this rpm cannot read Berkeley DB ({e})");
        }
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn suse_ndb_rpmdb() {
    let tmp = tempfile::tempdir().unwrap();
    let (blobs, _) = header_blobs(tmp.path());
    let root = tmp.path().join("root");
    put_fixture(&root, "etc/os-release", "suse-os-release");
    // A removed package leaves a free slot between the two.
    let slots = vec![Some(blobs[0].clone()), None, Some(blobs[1].clone())];
    put(
        &root,
        "usr/lib/sysimage/rpm/Packages.db",
        &testgen::ndb(&slots),
    );
    let sbom = catalog(&root);
    assert!(sbom.skips.is_empty(), "{:?}", sbom.skips);
    assert_eq!(name_versions(&sbom), EXPECTED);
    let got: Vec<_> = sbom.packages.iter().map(summary).collect();
    assert_eq!(
        got[1],
        (
            s("hello-osdb-doc"),
            s("0.9-1.fc40"),
            s(
                "pkg:rpm/opensuse-leap/hello-osdb-doc@0.9-1.fc40?arch=noarch\
               &distro=opensuse-leap-15.6&upstream=hello-osdb-doc"
            ),
            vec![s("/usr/lib/sysimage/rpm/Packages.db")],
        )
    );
}

#[test]
fn damaged_databases_are_recorded_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    put(
        root,
        "var/lib/rpm/rpmdb.sqlite",
        b"SQLite format 3\0 but not really",
    );
    put(root, "var/lib/rpm/Packages", &[0u8; 8192]);
    put(root, "var/lib/rpm/Packages.db", b"RpmP");
    put(root, "lib/apk/db/installed", b"\x00\x01\x02 binary junk");
    let sbom = catalog(root);
    assert!(sbom.packages.is_empty());
    let mut skipped: Vec<_> = sbom
        .skips
        .iter()
        .map(|s| (s.path.as_str(), s.reason.split(':').next().unwrap_or("")))
        .collect();
    skipped.sort_unstable();
    assert_eq!(
        skipped,
        [
            ("/lib/apk/db/installed", "apk"),
            ("/var/lib/rpm/Packages", "rpm"),
            ("/var/lib/rpm/Packages.db", "rpm"),
            ("/var/lib/rpm/rpmdb.sqlite", "rpm"),
        ]
    );
}
