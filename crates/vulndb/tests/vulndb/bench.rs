//! The benchmark (`bench/run-vulndb-bench.sh` runs it in release mode):
//! import of all of ../shared/vulndata, then open + match of 2,000
//! packages drawn from the database's own index.

use std::time::Instant;

use rampart_vulndb::{Database, DistroRef, ImportOptions, PackageRef};

use crate::common::num;
use crate::real_data::vulndata;

/// (SBOM ecosystem, OSV ecosystem, distro, how many, version)
type Mix = (
    &'static str,
    &'static str,
    Option<(&'static str, &'static str)>,
    usize,
    &'static str,
);

const MIX: &[Mix] = &[
    ("deb", "Debian:12", Some(("debian", "12")), 700, "1.0-1"),
    (
        "apk",
        "Alpine:v3.20",
        Some(("alpine", "3.20.3")),
        200,
        "1.0-r0",
    ),
    ("pypi", "PyPI", None, 300, "1.0.0"),
    ("npm", "npm", None, 300, "1.0.0"),
    ("maven", "Maven", None, 150, "1.0.0"),
    ("golang", "Go", None, 150, "v1.0.0"),
    ("cargo", "crates.io", None, 100, "0.1.0"),
    ("gem", "RubyGems", None, 50, "1.0.0"),
    ("composer", "Packagist", None, 50, "1.0.0"),
];

fn packages(dir: &std::path::Path) -> Vec<PackageRef> {
    let conn = rusqlite::Connection::open(Database::file_in(dir)).unwrap();
    let mut out = Vec::new();
    for (eco, osv, distro, n, version) in MIX {
        let mut st = conn
            .prepare(
                "SELECT DISTINCT name FROM affected WHERE ecosystem = ?1 ORDER BY name LIMIT ?2",
            )
            .unwrap();
        let names: Vec<String> = st
            .query_map(rusqlite::params![osv, *n as i64], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        for name in names {
            let mut p = match *eco {
                "maven" => {
                    let (g, a) = name.split_once(':').unwrap_or(("", &name));
                    let mut p = PackageRef::new(eco, a, version);
                    p.namespace = Some(g.to_string());
                    p
                }
                _ => PackageRef::new(eco, &name, version),
            };
            if let Some((id, v)) = distro {
                p.distro = Some(DistroRef {
                    id: (*id).into(),
                    version_id: (*v).into(),
                    codename: None,
                });
            }
            out.push(p);
        }
    }
    out
}

#[test]
#[ignore = "benchmark: run by bench/run-vulndb-bench.sh in release mode"]
fn bench_import_and_match() {
    let Some(data) = vulndata() else {
        println!("SKIPPED: ../shared/vulndata not found next to the workspace");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let t = Instant::now();
    let r = Database::import(&dir, &data, &ImportOptions::default()).unwrap();
    let import = t.elapsed();
    let size = std::fs::metadata(Database::file_in(&dir)).unwrap().len();
    let records: u64 = r.imported.iter().map(|(_, n)| n).sum();
    println!(
        "BENCH import: {:.2} s, {records} rows from {} sources, database {:.1} MiB",
        import.as_secs_f64(),
        r.imported.len(),
        size as f64 / 1048576.0
    );

    let pkgs = packages(&dir);
    assert_eq!(pkgs.len(), 2000);
    for round in 0..3 {
        let t = Instant::now();
        let db = Database::open(&dir).unwrap();
        let opened = t.elapsed();
        let f = db.match_report_with(&pkgs, &num).unwrap();
        let total = t.elapsed();
        println!(
            "BENCH open+match 2000 packages (test comparator), round {round}: open {:.1} ms, total {:.1} ms, {} findings",
            opened.as_secs_f64() * 1e3,
            total.as_secs_f64() * 1e3,
            f.findings.len()
        );
    }
    let t = Instant::now();
    let db = Database::open(&dir).unwrap();
    let f = db.match_report(&pkgs).unwrap();
    println!(
        "BENCH open+match 2000 packages (crate comparator), {:.1} ms, {} findings ({} unknown)",
        t.elapsed().as_secs_f64() * 1e3,
        f.findings.len(),
        f.findings
            .iter()
            .filter(|x| x.status == rampart_vulndb::MatchStatus::Unknown)
            .count()
    );
}
