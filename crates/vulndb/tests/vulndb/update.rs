//! `Database::update` against a local mirror: full download, conditional
//! requests (304), partial changes, retries, and interrupted downloads.

use std::time::Duration;

use rampart_vulndb::{Database, DbError, FeedLocations, PackageRef, UpdateOptions};

use crate::common::{self, leftovers, mirror, num, write_zip};
use crate::server::Server;

fn opts(base: &str) -> UpdateOptions<'static> {
    let mut locations = FeedLocations::mirror(base);
    // The fixture mirror has two ecosystems; a third is absent (404).
    locations.osv_ecosystems = vec!["PyPI".into(), "Debian".into(), "Red Hat".into()];
    UpdateOptions {
        locations,
        timeout: Duration::from_secs(10),
        retries: 2,
        backoff: Duration::from_millis(10),
        ..UpdateOptions::default()
    }
}

fn jinja_findings(dir: &std::path::Path) -> usize {
    let db = Database::open(dir).unwrap();
    db.match_report_with(&[PackageRef::new("pypi", "jinja2", "2.10")], &num)
        .unwrap()
        .findings
        .len()
}

#[test]
fn update_downloads_then_uses_conditional_requests() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let server = Server::start(m.clone());
    let dir = tmp.path().join("db");
    let o = opts(&server.base);

    let r = Database::update(&dir, &o).unwrap();
    assert_eq!(r.changed, vec!["osv/PyPI", "osv/Debian", "kev", "epss"]);
    assert_eq!(r.missing, vec!["osv/Red Hat"]);
    assert!(r.import.is_some());
    assert_eq!(jinja_findings(&dir), 1);
    let st = Database::open(&dir).unwrap().status().unwrap();
    let pypi = st.sources.iter().find(|s| s.name == "osv/PyPI").unwrap();
    assert!(pypi.etag.is_some());
    assert_eq!(pypi.location, format!("{}/osv/PyPI/all.zip", server.base));
    assert_eq!(
        pypi.last_modified.as_deref(),
        Some("Sat, 28 Nov 2026 10:00:00 GMT")
    );

    // Nothing changed: every feed answers 304, no rebuild.
    let r = Database::update(&dir, &o).unwrap();
    assert!(r.changed.is_empty());
    assert_eq!(r.not_modified.len(), 4);
    assert!(r.import.is_none());
    assert_eq!(server.count("all.zip", 304), 2);

    // One feed changes: only it is downloaded, the rest carried over.
    let mut recs = common::pypi_records();
    recs.push(common::rec(
        serde_json::json!({"id":"GHSA-new-0001","aliases":["CVE-2030-0001"],
        "affected":[{"package":{"ecosystem":"PyPI","name":"jinja2"},
        "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0"},{"fixed":"2.11"}]}]}]}),
    ));
    write_zip(&m.join("osv/PyPI/all.zip"), &recs);
    let r = Database::update(&dir, &o).unwrap();
    assert_eq!(r.changed, vec!["osv/PyPI"]);
    assert_eq!(r.not_modified.len(), 3);
    let imp = r.import.unwrap();
    assert_eq!(imp.imported, vec![("osv/PyPI".to_string(), 7)]);
    assert_eq!(jinja_findings(&dir), 2);
    // Debian data survived the carry-over.
    let db = Database::open(&dir).unwrap();
    assert_eq!(db.status().unwrap().records, 9);
    assert_eq!(db.status().unwrap().kev_entries, 1);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn transient_failures_are_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let server = Server::start(m);
    server
        .state
        .lock()
        .unwrap()
        .fail
        .insert("/kev/known_exploited_vulnerabilities.json".into(), 2);
    server
        .state
        .lock()
        .unwrap()
        .truncate
        .insert("/osv/Debian/all.zip".into(), 1);
    let dir = tmp.path().join("db");
    let r = Database::update(&dir, &opts(&server.base)).unwrap();
    assert_eq!(r.changed.len(), 4);
    assert_eq!(server.count("known_exploited_vulnerabilities.json", 503), 2);
    // The cut download was resumed where it stopped (If-Range with its
    // ETag, answered 206), not started over.
    assert_eq!(server.count("Debian/all.zip", 200), 1);
    assert_eq!(server.count("Debian/all.zip", 206), 1);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    assert_eq!(
        Database::open(&dir).unwrap().status().unwrap().kev_entries,
        1
    );
}

#[test]
fn an_interrupted_download_leaves_the_previous_database_working() {
    let tmp = tempfile::tempdir().unwrap();
    let m = mirror(tmp.path());
    let server = Server::start(m.clone());
    let dir = tmp.path().join("db");
    let o = opts(&server.base);
    Database::update(&dir, &o).unwrap();

    // New content, and every transfer of it is cut halfway.
    let mut recs = common::pypi_records();
    recs.push(common::rec(serde_json::json!({"id":"GHSA-new-0002",
        "affected":[{"package":{"ecosystem":"PyPI","name":"jinja2"},
        "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]})));
    write_zip(&m.join("osv/PyPI/all.zip"), &recs);
    server
        .state
        .lock()
        .unwrap()
        .truncate
        .insert("/osv/PyPI/all.zip".into(), 10);
    let e = Database::update(&dir, &o).unwrap_err();
    match &e {
        DbError::Http { message, .. } => assert!(message.contains("3 attempts"), "{message}"),
        other => panic!("{other}"),
    }
    // The first update, then one full transfer; the two retries resumed
    // where the previous one stopped (and were cut again).
    assert_eq!(server.count("PyPI/all.zip", 200), 2);
    assert_eq!(server.count("PyPI/all.zip", 206), 2);
    assert_eq!(jinja_findings(&dir), 1);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));

    // A corrupt feed that downloads fine fails the integrity check instead.
    std::fs::write(
        m.join("kev/known_exploited_vulnerabilities.json"),
        "{\"vulnerabilities\": 3}",
    )
    .unwrap();
    server.state.lock().unwrap().truncate.clear();
    let e = Database::update(&dir, &o).unwrap_err();
    assert!(matches!(e, DbError::Kev { .. }), "{e}");
    assert_eq!(jinja_findings(&dir), 1);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}

#[test]
fn update_with_nothing_available_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let server = Server::start(empty);
    let dir = tmp.path().join("db");
    let e = Database::update(&dir, &opts(&server.base)).unwrap_err();
    assert!(matches!(e, DbError::Http { .. }), "{e}");
    assert!(matches!(Database::open(&dir), Err(DbError::Missing(_))));
}
