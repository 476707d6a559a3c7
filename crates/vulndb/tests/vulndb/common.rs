//! Fixture feeds written by the tests, and a test version comparator.

use std::cmp::Ordering;
use std::io::Write;
use std::path::{Path, PathBuf};

use rampart_vulndb::version::{Scheme, VersionError};

/// Writes a zip of (entry name, content) pairs.
pub fn write_zip(path: &Path, entries: &[(String, String)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let f = std::fs::File::create(path).unwrap();
    let mut z = zip::ZipWriter::new(f);
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in entries {
        z.start_file(name.as_str(), opts).unwrap();
        z.write_all(content.as_bytes()).unwrap();
    }
    z.finish().unwrap();
}

pub fn rec(json: serde_json::Value) -> (String, String) {
    let id = json["id"].as_str().unwrap().to_string();
    (format!("{id}.json"), json.to_string())
}

pub fn pypi_records() -> Vec<(String, String)> {
    use serde_json::json;
    vec![
        rec(
            json!({"id":"GHSA-462w-v97r-4m45","modified":"2024-01-01T00:00:00Z","published":"2019-04-10T00:00:00Z",
            "aliases":["CVE-2019-10906","PYSEC-2019-217"],"summary":"Jinja2 sandbox escape",
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:N/A:N"}],
            "affected":[{"package":{"ecosystem":"PyPI","name":"jinja2"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.10.1"}]}]}],
            "database_specific":{"severity":"HIGH"}}),
        ),
        rec(
            json!({"id":"PYSEC-2019-217","modified":"2024-01-01T00:00:00Z",
            "aliases":["CVE-2019-10906","GHSA-462w-v97r-4m45"],
            "affected":[{"package":{"ecosystem":"PyPI","name":"Jinja2"},
                "ranges":[{"type":"GIT","repo":"https://github.com/pallets/jinja","events":[{"introduced":"0"},{"fixed":"a2a6c930bcca591a25d2b316fcfd2d6793897b26"}]},
                          {"type":"ECOSYSTEM","events":[{"fixed":"2.10.1"},{"introduced":"0"}]}]}]}),
        ),
        rec(
            json!({"id":"GHSA-withdrawn-0001","modified":"2024-01-01T00:00:00Z","withdrawn":"2024-02-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"PyPI","name":"jinja2"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}),
        ),
        rec(
            json!({"id":"MAL-2024-0001","modified":"2024-01-01T00:00:00Z","summary":"Malicious code in evil-pkg (PyPI)",
            "affected":[{"package":{"ecosystem":"PyPI","name":"evil_pkg"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}]}]}),
        ),
        rec(
            json!({"id":"GHSA-gitonly-0001","modified":"2024-01-01T00:00:00Z",
            "affected":[{"package":{},"ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"0"}]}]}]}),
        ),
        rec(
            json!({"id":"GHSA-npmalso-0001","aliases":["CVE-2020-0001"],"modified":"2024-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"npm","name":"left-pad"},
                "ranges":[{"type":"SEMVER","events":[{"introduced":"0"}]}]},
                {"package":{"ecosystem":"PyPI","name":"left-pad"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"1.0"},{"last_affected":"1.4"}]}]}]}),
        ),
    ]
}

pub fn debian_records() -> Vec<(String, String)> {
    use serde_json::json;
    vec![
        rec(
            json!({"id":"CVE-2023-2975","modified":"2025-01-14T10:01:58Z","published":"2023-07-14T12:15:09Z",
            "related":["DSA-5532-1"],
            "severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:L/A:N"}],
            "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl","purl":"pkg:deb/debian/openssl?arch=source"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"3.0.10-1~deb12u1"}]}],
                "versions":["3.0.9-1"],"ecosystem_specific":{"urgency":"not yet assigned"}},
                {"package":{},"ranges":[{"type":"GIT","repo":"https://github.com/openssl/openssl","events":[{"introduced":"0"}]}]}]}),
        ),
        rec(
            json!({"id":"CVE-2010-0928","modified":"0001-01-01T00:00:00Z",
            "affected":[{"package":{"ecosystem":"Debian:12","name":"openssl"},
                "ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"}]}],
                "ecosystem_specific":{"urgency":"unimportant"}}]}),
        ),
    ]
}

pub const KEV: &str = r#"{"title":"CISA Catalog","catalogVersion":"2026.08.07","count":1,"vulnerabilities":[
 {"cveID":"CVE-2019-10906","vendorProject":"Pallets","product":"Jinja2","vulnerabilityName":"test",
  "dateAdded":"2022-01-10","dueDate":"2022-02-10","knownRansomwareCampaignUse":"Unknown"}]}"#;

pub fn epss_gz() -> Vec<u8> {
    let csv = "#model_version:v2025.03.14,score_date:2026-08-16T00:00:00+0000\ncve,epss,percentile\nCVE-2019-10906,0.02500,0.85000\nCVE-2023-2975,0.00100,0.20000\n";
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(csv.as_bytes()).unwrap();
    e.finish().unwrap()
}

/// A mirror-layout directory with the fixture feeds.
pub fn mirror(root: &Path) -> PathBuf {
    let m = root.join("mirror");
    write_zip(&m.join("osv/PyPI/all.zip"), &pypi_records());
    write_zip(&m.join("osv/Debian/all.zip"), &debian_records());
    std::fs::create_dir_all(m.join("kev")).unwrap();
    std::fs::write(m.join("kev/known_exploited_vulnerabilities.json"), KEV).unwrap();
    std::fs::create_dir_all(m.join("epss")).unwrap();
    std::fs::write(m.join("epss/epss_scores-current.csv.gz"), epss_gz()).unwrap();
    m
}

/// Test ordering: dot-separated integers, with a Debian-ish `-revision`
/// and `~` suffix compared as text; anything else is an error.
pub fn num(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    let parse = |s: &str| -> Result<Vec<u64>, VersionError> {
        let main = s.split(['-', '~', '+']).next().unwrap_or(s);
        main.split('.')
            .map(|p| {
                p.parse::<u64>().map_err(|_| VersionError::Invalid {
                    scheme,
                    version: s.to_string(),
                    reason: "test comparator: not dotted digits".into(),
                })
            })
            .collect()
    };
    let (mut x, mut y) = (parse(a)?, parse(b)?);
    let n = x.len().max(y.len());
    x.resize(n, 0);
    y.resize(n, 0);
    Ok(x.cmp(&y).then_with(|| a.cmp(b)))
}

/// Temporary files a build may have left in the database directory.
pub fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with('.') && n != rampart_vulndb::store::LOCK_FILE)
        .collect()
}
