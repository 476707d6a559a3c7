//! Import of fixture feeds, matching over them, and the atomic swap.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_model::Severity;
use rampart_vulndb::{
    Database, DbError, DistroRef, FindingKind, ImportOptions, Limits, MatchStatus, PackageRef,
    Progress,
};

use crate::common::{self, leftovers, mirror, num, write_zip};

fn debian(name: &str, version: &str, source: &str, source_version: &str) -> PackageRef {
    PackageRef {
        source_name: Some(source.into()),
        source_version: Some(source_version.into()),
        distro: Some(DistroRef {
            id: "debian".into(),
            version_id: "12".into(),
            codename: Some("bookworm".into()),
        }),
        ..PackageRef::new("deb", name, version)
    }
}

#[test]
fn imports_a_mirror_directory_and_matches() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let dir = tmp.path().join("db");
    let report = Database::import(&dir, &m, &ImportOptions::default()).unwrap();
    assert_eq!(
        report.imported,
        vec![
            ("epss".to_string(), 2),
            ("kev".to_string(), 1),
            ("osv/Debian".to_string(), 2),
            ("osv/PyPI".to_string(), 6)
        ]
    );
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    let db = Database::open(&dir).unwrap();
    let st = db.status().unwrap();
    assert_eq!(st.records, 8);
    assert_eq!(st.withdrawn, 1);
    assert_eq!((st.kev_entries, st.epss_scores), (1, 2));
    let ecos: Vec<&str> = st.ecosystems.iter().map(|e| e.ecosystem.as_str()).collect();
    // The npm entry of a record in the PyPI export is not indexed from it.
    assert_eq!(ecos, vec!["Debian:12", "PyPI"]);
    assert_eq!(
        st.sources
            .iter()
            .find(|s| s.name == "epss")
            .unwrap()
            .info
            .as_deref(),
        Some("2026-08-16T00:00:00+0000")
    );

    let pkgs = vec![
        PackageRef::new("pypi", "Jinja2", "2.10"),
        PackageRef::new("pypi", "jinja2", "2.10.1"),
        PackageRef::new("pypi", "evil-pkg", "0.0.1"),
        debian("libssl3", "3.0.9-1+b1", "openssl", "3.0.9-1"),
        PackageRef::new("pypi", "left_pad", "1.4"),
        PackageRef::new("pypi", "left_pad", "1.5"),
        PackageRef::new("deb", "bash", "5.2"),
    ];
    let r = db.match_report_with(&pkgs, &num).unwrap();
    assert_eq!(r.skipped.len(), 1);
    assert_eq!(r.skipped[0].package, 6);

    // jinja2 2.10: GHSA + PYSEC + CVE alias group -> one finding.
    let j: Vec<_> = r.findings.iter().filter(|f| f.package == 0).collect();
    assert_eq!(j.len(), 1, "{j:#?}");
    let f = j[0];
    assert_eq!(f.id, "CVE-2019-10906");
    assert_eq!(
        f.ids,
        vec!["CVE-2019-10906", "GHSA-462w-v97r-4m45", "PYSEC-2019-217"]
    );
    assert_eq!(f.advisories, vec!["GHSA-462w-v97r-4m45", "PYSEC-2019-217"]);
    assert_eq!(f.status, MatchStatus::Affected);
    assert_eq!(f.fixed_versions, vec!["2.10.1"]);
    assert_eq!(f.severity, Severity::High);
    assert_eq!(f.cvss[0].base_score, Some(8.6));
    assert_eq!(f.kev.as_ref().unwrap().date_added, "2022-01-10");
    assert_eq!(f.epss.unwrap().percentile, 0.85);
    // 8.6*6 + 0.025*20 + 15
    assert_eq!(f.risk.score, 67.1);
    assert!(
        f.risk.reasons.iter().any(|r| r.contains("CISA KEV")),
        "{:?}",
        f.risk.reasons
    );
    assert!(f.evidence.iter().any(|e| e.contains("fixed 2.10.1")));

    // Fixed version: nothing; withdrawn record never matches.
    assert!(r.findings.iter().all(|f| f.package != 1));

    let mal: Vec<_> = r.findings.iter().filter(|f| f.package == 2).collect();
    assert_eq!(mal.len(), 1);
    assert_eq!(mal[0].kind, FindingKind::Malicious);
    assert_eq!(mal[0].severity, Severity::Critical);
    assert_eq!(mal[0].risk.score, 100.0);

    // Debian: by source package and source version; versions[] hit + unfixed.
    let mut d: Vec<_> = r.findings.iter().filter(|f| f.package == 3).collect();
    d.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(d.len(), 2);
    assert_eq!(d[0].id, "CVE-2010-0928");
    assert_eq!(d[0].status, MatchStatus::Unfixed);
    assert_eq!(d[0].severity, Severity::Info);
    assert_eq!(d[0].urgency.as_deref(), Some("unimportant"));
    assert_eq!(d[1].id, "CVE-2023-2975");
    assert_eq!(d[1].status, MatchStatus::Affected);
    assert_eq!(d[1].fixed_versions, vec!["3.0.10-1~deb12u1"]);
    assert_eq!(
        (d[1].osv_ecosystem.as_str(), d[1].osv_package.as_str()),
        ("Debian:12", "openssl")
    );
    assert_eq!(d[1].matched_version, "3.0.9-1");

    // last_affected is inclusive.
    assert!(
        r.findings
            .iter()
            .any(|f| f.package == 4 && f.status == MatchStatus::Unfixed)
    );
    assert!(r.findings.iter().all(|f| f.package != 5));

    // The full record is kept as published.
    let full = db.record("GHSA-462w-v97r-4m45").unwrap();
    assert_eq!(full[0].summary.as_deref(), Some("Jinja2 sandbox escape"));
}

#[test]
fn unparseable_versions_are_unknown_with_a_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let dir = tmp.path().join("db");
    Database::import(&dir, &m, &ImportOptions::default()).unwrap();
    let db = Database::open(&dir).unwrap();
    // The real comparator: "!!" is no PEP 440 version, whatever the state
    // of the version module.
    let f = db
        .match_packages(&[PackageRef::new("pypi", "jinja2", "not a version!!")])
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].status, MatchStatus::Unknown);
    assert!(
        f[0].reason.as_deref().unwrap().contains("not a version!!"),
        "{:?}",
        f[0].reason
    );
    assert!(
        f[0].risk
            .reasons
            .iter()
            .any(|r| r.starts_with("match uncertain"))
    );
    // introduced "0" alone needs no ordering: malicious packages still match.
    let f = db
        .match_packages(&[PackageRef::new("pypi", "evil_pkg", "?")])
        .unwrap();
    assert_eq!(f[0].kind, FindingKind::Malicious);
}

fn assert_old_db_intact(dir: &std::path::Path) {
    let db = Database::open(dir).unwrap();
    let st = db.status().unwrap();
    assert_eq!(st.records, 8);
    let f = db
        .match_report_with(&[PackageRef::new("pypi", "jinja2", "2.10")], &num)
        .unwrap();
    assert_eq!(f.findings.len(), 1);
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
}

#[test]
fn a_failed_import_leaves_the_previous_database_working() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let dir = tmp.path().join("db");
    Database::import(&dir, &m, &ImportOptions::default()).unwrap();

    // A bad record in the middle of an archive.
    let mut recs = common::pypi_records();
    recs.insert(2, ("BROKEN-1.json".into(), "{\"id\": ".into()));
    let bad = tmp.path().join("bad");
    write_zip(&bad.join("osv/PyPI/all.zip"), &recs);
    let e = Database::import(&dir, &bad, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, DbError::Record { .. }), "{e}");
    assert_old_db_intact(&dir);

    // Not a zip at all.
    let garbage = tmp.path().join("garbage/osv/npm/all.zip");
    std::fs::create_dir_all(garbage.parent().unwrap()).unwrap();
    std::fs::write(&garbage, b"PK\x03\x04 this is not a zip").unwrap();
    let e = Database::import(&dir, &garbage, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, DbError::Zip { .. }), "{e}");
    assert_old_db_intact(&dir);
}

#[test]
fn an_import_cancelled_midway_leaves_the_previous_database_working() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let dir = tmp.path().join("db");
    Database::import(&dir, &m, &ImportOptions::default()).unwrap();

    // A bigger archive, cancelled (the injected failure) after the first
    // progress report, halfway through.
    let big: Vec<(String, String)> = (0..5000)
        .map(|i| {
            common::rec(serde_json::json!({"id": format!("GHSA-big-{i}"),
                "affected":[{"package":{"ecosystem":"PyPI","name":format!("p{i}")},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}))
        })
        .collect();
    let bigdir = tmp.path().join("big");
    write_zip(&bigdir.join("osv/PyPI/all.zip"), &big);
    let seen = AtomicU64::new(0);
    let cancel = |p: &Progress<'_>| {
        if let Progress::Importing { records, .. } = p {
            seen.store(*records, Ordering::Relaxed);
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    };
    let opts = ImportOptions {
        progress: Some(&cancel),
        ..ImportOptions::default()
    };
    let e = Database::import(&dir, &bigdir, &opts).unwrap_err();
    assert!(matches!(e, DbError::Cancelled), "{e}");
    assert_eq!(seen.load(Ordering::Relaxed), 2000);
    assert_old_db_intact(&dir);
}

#[test]
fn zip_bombs_and_oversized_entries_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let dir = tmp.path().join("db");
    Database::import(&dir, &m, &ImportOptions::default()).unwrap();

    // 8 MiB of spaces compresses about 1000:1.
    let padded = format!("{{\"id\":\"GHSA-bomb\"{}}}", " ".repeat(8 << 20));
    let bomb = tmp.path().join("bomb");
    write_zip(
        &bomb.join("osv/PyPI/all.zip"),
        &[("GHSA-bomb.json".into(), padded)],
    );
    let e = Database::import(&dir, &bomb, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, DbError::Limit { .. }), "{e}");
    assert_old_db_intact(&dir);

    // Per-entry and total limits.
    let small = ImportOptions {
        limits: Limits {
            max_entry_bytes: 100,
            ..Limits::default()
        },
        ..ImportOptions::default()
    };
    let e = Database::import(&dir, &m, &small).unwrap_err();
    assert!(matches!(e, DbError::Limit { .. }), "{e}");
    let total = ImportOptions {
        limits: Limits {
            max_zip_total_bytes: 1000,
            ..Limits::default()
        },
        ..ImportOptions::default()
    };
    assert!(matches!(
        Database::import(&dir, &m, &total),
        Err(DbError::Limit { .. })
    ));
    assert_old_db_intact(&dir);
}

#[test]
fn a_single_file_import_keeps_the_other_sources() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let dir = tmp.path().join("db");
    Database::import(&dir, &m, &ImportOptions::default()).unwrap();
    let kev = m.join("kev/known_exploited_vulnerabilities.json");
    let r = Database::import(&dir, &kev, &ImportOptions::default()).unwrap();
    assert_eq!(r.imported, vec![("kev".to_string(), 1)]);
    assert_eq!(r.carried_over.len(), 3);
    assert_old_db_intact(&dir);
    let db = Database::open(&dir).unwrap();
    assert_eq!(db.status().unwrap().epss_scores, 2);
    assert!(matches!(
        Database::open(&tmp.path().join("none")),
        Err(DbError::Missing(_))
    ));
}

/// One writer at a time; what a killed writer left behind is cleaned up by
/// the next one, and readers are never blocked.
#[test]
fn writers_take_turns_and_clean_up_after_a_killed_one() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let dir = tmp.path().join("db");
    Database::import(&dir, &m, &ImportOptions::default()).unwrap();
    // A writer killed with SIGKILL leaves its temporary files.
    std::fs::write(dir.join(".rampart-vuln.db.abc123"), b"half a database").unwrap();
    std::fs::write(dir.join(".rampart-download.xyz"), b"half a download").unwrap();
    // Another writer holds the lock: refused at once, nothing touched.
    let held = std::fs::File::open(dir.join(rampart_vulndb::store::LOCK_FILE)).unwrap();
    held.lock().unwrap();
    let e = Database::import(&dir, &m, &ImportOptions::default()).unwrap_err();
    assert!(matches!(e, DbError::Busy(_)), "{e}");
    assert!(e.to_string().contains("another"), "{e}");
    assert!(dir.join(".rampart-vuln.db.abc123").exists());
    // Readers still work meanwhile.
    assert_eq!(Database::open(&dir).unwrap().status().unwrap().records, 8);
    held.unlock().unwrap();
    drop(held);
    Database::import(&dir, &m, &ImportOptions::default()).unwrap();
    assert!(!dir.join(".rampart-vuln.db.abc123").exists());
    assert!(!dir.join(".rampart-download.xyz").exists());
    assert_old_db_intact(&dir);
}
