//! Import of the real feed data in ../shared/vulndata (next to the
//! workspace), with spot checks of known records. Skipped, saying why, when
//! the data is not there.

use std::path::PathBuf;
use std::time::Instant;

use rampart_model::Severity;
use rampart_vulndb::{Database, DistroRef, FindingKind, ImportOptions, MatchStatus, PackageRef};

use crate::common::num;

/// `<workspace>/../shared/vulndata`, if present.
pub fn vulndata() -> Option<PathBuf> {
    let ws = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let p = ws.join("../shared/vulndata");
    p.join("osv").is_dir().then_some(p)
}

pub fn bookworm(name: &str, version: &str, source: &str, source_version: &str) -> PackageRef {
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
fn imports_the_real_feeds() {
    let Some(data) = vulndata() else {
        println!("SKIPPED: ../shared/vulndata not found next to the workspace");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("db");
    let t = Instant::now();
    let report = Database::import(&dir, &data, &ImportOptions::default()).unwrap();
    println!(
        "imported {:?} in {:.1?} (debug build)",
        report.imported,
        t.elapsed()
    );
    let db = Database::open(&dir).unwrap();
    let st = db.status().unwrap();
    assert_eq!(st.kev_entries, 1662);
    assert_eq!(st.epss_scores, 360_142);
    assert!(st.records > 100_000, "{}", st.records);
    for eco in [
        "Debian:12",
        "Alpine:v3.20",
        "PyPI",
        "npm",
        "Go",
        "crates.io",
        "Maven",
    ] {
        assert!(
            st.ecosystems.iter().any(|e| e.ecosystem == eco),
            "{eco} missing"
        );
    }

    // Debian 12 openssl 3.0.9-1 (source package of libssl3): CVE-2023-2975
    // lists 3.0.9-1 and is fixed in 3.0.10-1~deb12u1.
    let pkgs = vec![
        bookworm("libssl3", "3.0.9-1", "openssl", "3.0.9-1"),
        PackageRef::new("pypi", "Jinja2", "2.10"),
    ];
    let r = db.match_report_with(&pkgs, &num).unwrap();
    let cve = r
        .findings
        .iter()
        .find(|f| f.package == 0 && f.id == "CVE-2023-2975")
        .expect("CVE-2023-2975 for openssl 3.0.9-1");
    assert_eq!(cve.status, MatchStatus::Affected);
    assert_eq!(cve.fixed_versions, vec!["3.0.10-1~deb12u1"]);
    assert_eq!(cve.osv_ecosystem, "Debian:12");
    // PyPI: GHSA-462w-v97r-4m45 and PYSEC-2019-217 are one finding.
    let j = r
        .findings
        .iter()
        .find(|f| f.package == 1 && f.id == "CVE-2019-10906")
        .expect("CVE-2019-10906 for jinja2 2.10");
    assert!(j.advisories.contains(&"GHSA-462w-v97r-4m45".to_string()));
    assert!(j.advisories.contains(&"PYSEC-2019-217".to_string()));
    assert_eq!(j.fixed_versions, vec!["2.10.1"]);
    assert!(j.severity >= Severity::High);
    assert!(j.epss.is_some());
    assert_eq!(
        r.findings
            .iter()
            .filter(|f| f.package == 1 && f.id == "CVE-2019-10906")
            .count(),
        1
    );
    // A malicious PyPI package from the real data.
    let mal = db
        .match_packages(&[PackageRef::new("pypi", "py-vmkillencode", "1.0")])
        .unwrap();
    assert_eq!(mal[0].kind, FindingKind::Malicious);
    assert_eq!(mal[0].id, "MAL-2023-5784");
    println!(
        "openssl 3.0.9-1: {} findings, jinja2 2.10: {} findings",
        r.findings.iter().filter(|f| f.package == 0).count(),
        r.findings.iter().filter(|f| f.package == 1).count()
    );
}
