//! Every distribution Rampart maps to an OSV ecosystem, end to end: records
//! written the way each OSV export names its releases, imported, and matched
//! by a package of that distribution with the real version comparison.

use rampart_vulndb::{Database, DistroRef, ImportOptions, MatchStatus, PackageRef};
use serde_json::json;

use crate::common::{rec, write_zip};

struct Case {
    /// Directory of the export (`osv/<dir>/all.zip`).
    dir: &'static str,
    /// The ecosystem as the export writes it.
    ecosystem: &'static str,
    /// The package's distribution (`ID`, `VERSION_ID`).
    distro: (&'static str, &'static str),
    purl_type: &'static str,
    /// Source package, affected version, fixed version, a version at or
    /// after the fix.
    source: &'static str,
    affected: &'static str,
    fixed: &'static str,
    later: &'static str,
}

const CASES: &[Case] = &[
    Case {
        dir: "Ubuntu",
        ecosystem: "Ubuntu:22.04:LTS",
        distro: ("ubuntu", "22.04"),
        purl_type: "deb",
        source: "openssl",
        affected: "3.0.2-0ubuntu1.14",
        fixed: "3.0.2-0ubuntu1.15",
        later: "3.0.2-0ubuntu1.15",
    },
    Case {
        dir: "Ubuntu",
        ecosystem: "Ubuntu:24.10",
        distro: ("ubuntu", "24.10"),
        purl_type: "deb",
        source: "curl",
        affected: "8.9.1-2ubuntu2",
        fixed: "8.9.1-2ubuntu2.1",
        later: "8.9.1-2ubuntu3",
    },
    Case {
        dir: "Red Hat",
        ecosystem: "Red Hat:enterprise_linux:9::appstream",
        distro: ("rhel", "9.4"),
        purl_type: "rpm",
        source: "nginx",
        affected: "1:1.20.1-14.el9",
        fixed: "1:1.20.1-14.el9_2.1",
        later: "1:1.20.1-16.el9",
    },
    Case {
        dir: "AlmaLinux",
        ecosystem: "AlmaLinux:9",
        distro: ("almalinux", "9.4"),
        purl_type: "rpm",
        source: "openssl",
        affected: "1:3.0.7-25.el9_3",
        fixed: "1:3.0.7-27.el9",
        later: "1:3.0.7-28.el9",
    },
    Case {
        dir: "Rocky Linux",
        ecosystem: "Rocky Linux:9",
        distro: ("rocky", "9.3"),
        purl_type: "rpm",
        source: "glibc",
        affected: "2.34-83.el9.7",
        fixed: "2.34-83.el9.12",
        later: "2.34-100.el9",
    },
    Case {
        dir: "SUSE",
        ecosystem: "SUSE:Linux Enterprise Server 15 SP5",
        distro: ("sles", "15.5"),
        purl_type: "rpm",
        source: "libxml2",
        affected: "2.10.3-150500.5.11.1",
        fixed: "2.10.3-150500.5.17.1",
        later: "2.10.3-150500.5.20.1",
    },
    Case {
        dir: "openSUSE",
        ecosystem: "openSUSE:Leap 15.5",
        distro: ("opensuse-leap", "15.5"),
        purl_type: "rpm",
        source: "sudo",
        affected: "1.9.12p1-150500.7.3.1",
        fixed: "1.9.12p1-150500.7.10.1",
        later: "1.9.15p5-150500.7.11.1",
    },
    Case {
        dir: "Wolfi",
        ecosystem: "Wolfi",
        distro: ("wolfi", "20230201"),
        purl_type: "apk",
        source: "busybox",
        affected: "1.36.1-r7",
        fixed: "1.36.1-r8",
        later: "1.37.0-r0",
    },
    Case {
        dir: "Chainguard",
        ecosystem: "Chainguard",
        distro: ("chainguard", "20230214"),
        purl_type: "apk",
        source: "git",
        affected: "2.45.1-r0",
        fixed: "2.45.2-r0",
        later: "2.45.2-r1",
    },
];

fn package(c: &Case, version: &str) -> PackageRef {
    // rpm versions carry the epoch apart, as catalogers report it.
    let (epoch, plain) = match version.split_once(':') {
        Some((e, v)) if c.purl_type == "rpm" => (e.parse().ok(), v),
        _ => (None, version),
    };
    PackageRef {
        source_name: Some(c.source.to_string()),
        source_version: Some(plain.to_string()),
        epoch,
        distro: Some(DistroRef {
            id: c.distro.0.to_string(),
            version_id: c.distro.1.to_string(),
            codename: None,
        }),
        ..PackageRef::new(c.purl_type, &format!("{}-bin", c.source), plain)
    }
}

#[test]
fn every_mapped_distribution_matches_its_own_ecosystem() {
    let tmp = tempfile::tempdir().unwrap();
    let mirror = tmp.path().join("mirror");
    let mut by_dir: std::collections::BTreeMap<&str, Vec<(String, String)>> =
        std::collections::BTreeMap::new();
    for (i, c) in CASES.iter().enumerate() {
        by_dir.entry(c.dir).or_default().push(rec(json!({
            "id": format!("TEST-{i}"),
            "aliases": [format!("CVE-2099-{i:04}")],
            "modified": "2025-01-01T00:00:00Z",
            "affected": [{
                "package": {"ecosystem": c.ecosystem, "name": c.source},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": c.fixed}]}],
            }],
        })));
    }
    for (dir, recs) in &by_dir {
        write_zip(&mirror.join("osv").join(dir).join("all.zip"), recs);
    }
    let db_dir = tmp.path().join("db");
    Database::import(&db_dir, &mirror, &ImportOptions::default()).unwrap();
    let db = Database::open(&db_dir).unwrap();
    for (i, c) in CASES.iter().enumerate() {
        let cve = format!("CVE-2099-{i:04}");
        let r = db.match_report(&[package(c, c.affected)]).unwrap();
        assert!(r.skipped.is_empty(), "{}: {:?}", c.ecosystem, r.skipped);
        assert_eq!(r.findings.len(), 1, "{}: {:?}", c.ecosystem, r.findings);
        let f = &r.findings[0];
        assert_eq!(f.id, cve, "{}", c.ecosystem);
        assert_eq!(f.status, MatchStatus::Affected, "{}", c.ecosystem);
        assert_eq!(f.osv_ecosystem, c.ecosystem);
        assert_eq!(f.fixed_versions, [c.fixed], "{}", c.ecosystem);
        for v in [c.fixed, c.later] {
            let r = db.match_report(&[package(c, v)]).unwrap();
            assert!(
                r.findings.is_empty(),
                "{} {v} is fixed: {:?}",
                c.ecosystem,
                r.findings
            );
        }
    }
    // A release nobody publishes advisories for is said so, not guessed.
    let other = PackageRef {
        distro: Some(DistroRef {
            id: "fedora".into(),
            version_id: "40".into(),
            codename: None,
        }),
        ..PackageRef::new("rpm", "bash", "5.2.26-3.fc40")
    };
    let r = db.match_report(&[other]).unwrap();
    assert_eq!(r.skipped.len(), 1);
    assert!(
        r.skipped[0].reason.contains("fedora"),
        "{}",
        r.skipped[0].reason
    );
}
