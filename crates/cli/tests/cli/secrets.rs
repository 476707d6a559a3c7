//! `rampart scan --scanners secret` and `rampart rules`: every output format
//! against golden files, exit codes, suppression (inline comments, ignore
//! files), archives, and images (deleted files, configuration, layers).
//!
//! Secrets are assembled from parts at run time, so no complete token is
//! stored in the repository.

use std::path::Path;

use super::{common, golden, rampart, run, stderr, stdout};

/// `ghp_` token with a valid checksum, built from parts.
fn gh_token() -> String {
    let prefix = ["gh", "p_"].concat();
    rampart_secrets::corpus::github_token(&prefix, "FAKE0rampart0test0fixture0X1y2")
}

fn stripe_key() -> String {
    ["sk", "_live_", "FAKE4rampart7fixture9Q2w"].concat()
}

fn aws_id() -> String {
    ["AK", "IA", "Z7FAKERAMPART2QW"].concat()
}

fn pem_key() -> String {
    let body = "MIIEowIBAAKCAQEAr4mp4rtF4keFAKEFAKEb2d3d3ZmFrZS1rZXktZm9yLXRlc3Rz\n\
                cmFtcGFydC1maXh0dXJlLW5vdC1hLXJlYWwta2V5LWRvLW5vdC11c2UtYW55d2hl\n\
                cmUtMDEyMzQ1Njc4OWFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJDREVGR0hJ\n";
    format!(
        "-----BEGIN {0}-----\n{body}-----END {0}-----\n",
        ["RSA PRI", "VATE KEY"].concat()
    )
}

/// A small project tree with secrets, decoys, an archive and suppressions.
fn project(root: &Path) {
    let w = |rel: &str, data: &[u8]| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    w(
        ".env",
        format!(
            "# local settings\nGITHUB_TOKEN={}\nDB_PASSWORD=\"Xk9#mP2vL8qR4tZw\"\nAPI_KEY=${{API_KEY}}\n\
             DATABASE_URL=postgresql://app:{}@db.internal:5432/app\n",
            gh_token(),
            ["FAKE7g7x", "eKJl7m1Te9"].concat()
        )
        .as_bytes(),
    );
    w(
        "src/pay.py",
        format!(
            "import stripe\n\nstripe.api_key = \"{}\"\n# documented example, not a key:\nAWS_ID = \"AKIAIOSFODNN7EXAMPLE\"\n",
            stripe_key()
        )
        .as_bytes(),
    );
    w("deploy/id_rsa", pem_key().as_bytes());
    w(
        "tests/fixture.txt",
        format!("aws_access_key_id = {} # rampart:allow\n", aws_id()).as_bytes(),
    );
    w(
        "README.md",
        b"Set `password: \"{{ .Values.db.password }}\"` and `token: <your-token>`.\n",
    );
    // A tar.gz holding a config with a secret.
    let mut tar = tar::Builder::new(Vec::new());
    let data = format!("[default]\naws_access_key_id = {}\n", aws_id());
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "conf/credentials", data.as_bytes())
        .unwrap();
    let tar = tar.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    w("dist/bundle.tar.gz", &gz.finish().unwrap());
}

fn scan(target: &str, extra: &[&str]) -> std::process::Output {
    rampart()
        .args(["scan", target, "--scanners", "secret"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn every_format_matches_its_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    project(&root);
    let target = format!("dir:{}", root.display());
    let tmp_s = tmp.path().display().to_string();
    let redact = [(tmp_s.as_str(), "[TMP]")];
    for (format, file) in [
        ("table", "secrets-dir.txt"),
        ("json", "secrets-dir.json"),
        ("sarif", "secrets-dir.sarif.json"),
        ("junit", "secrets-dir.junit.xml"),
    ] {
        let o = scan(&target, &["--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        let out = stdout(&o);
        // The secrets themselves appear in no output.
        for s in [gh_token(), stripe_key(), aws_id()] {
            assert!(!out.contains(&s), "{format} shows a secret");
        }
        assert!(
            !out.contains("Xk9#mP2vL8qR4tZw"),
            "{format} shows a password"
        );
        golden(file, &out, &redact);
    }
    let o = scan(&target, &["--format", "sarif"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let results = v["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .is_some_and(|l| l >= 1)
    }));
    let rules = v["runs"][0]["tool"]["driver"]["rules"].as_array().unwrap();
    for r in results {
        let i = usize::try_from(r["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[i]["id"], r["ruleId"]);
    }
}

#[test]
fn findings_name_rules_lines_and_archive_members() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    project(&root);
    let o = scan(&format!("dir:{}", root.display()), &["-f", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let found: Vec<(String, String, u64)> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["line"].as_u64().unwrap_or(0),
            )
        })
        .collect();
    let want = [
        ("/.env", "RMP-SECRET-GITHUB-001", 2),
        ("/.env", "RMP-SECRET-GENERIC-001", 3),
        ("/.env", "RMP-SECRET-DB-001", 5),
        ("/deploy/id_rsa", "RMP-SECRET-PRIVATEKEY-001", 1),
        (
            "/dist/bundle.tar.gz!bundle.tar!conf/credentials",
            "RMP-SECRET-AWS-001",
            2,
        ),
        ("/src/pay.py", "RMP-SECRET-STRIPE-001", 3),
    ];
    let want: Vec<(String, String, u64)> = want
        .iter()
        .map(|(p, r, l)| ((*p).to_string(), (*r).to_string(), *l))
        .collect();
    assert_eq!(found, want);
}

#[test]
fn fail_on_sets_the_exit_code_and_ignore_files_suppress() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("proj");
    project(&root);
    let target = format!("dir:{}", root.display());
    assert_eq!(
        scan(&target, &["--fail-on", "critical"]).status.code(),
        Some(1)
    );
    assert_eq!(scan(&target, &["--fail-on", "high"]).status.code(), Some(1));
    let o = scan(&target, &["-f", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let fps: Vec<String> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "critical")
        .map(|f| f["fingerprint"].as_str().unwrap().to_string())
        .collect();
    // The target's own .rampartignore, by fingerprint.
    std::fs::write(
        root.join(".rampartignore"),
        fps.iter()
            .map(|f| format!("{f} # reviewed\n"))
            .collect::<String>(),
    )
    .unwrap();
    let o = scan(&target, &["--fail-on", "critical", "-f", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["secret"]["suppressed"].as_u64(), Some(fps.len() as u64));
    // --ignore-file with rule and path entries.
    let ig = tmp.path().join("ignore");
    std::fs::write(&ig, "rule:RMP-SECRET-GENERIC-001\npath:src/**\n").unwrap();
    let o = scan(
        &target,
        &["--ignore-file", ig.to_str().unwrap(), "-f", "json"],
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["RMP-SECRET-DB-001", "RMP-SECRET-AWS-001"]);
    // A bad ignore file is an error naming the line.
    std::fs::write(&ig, "not-a-fingerprint\n").unwrap();
    let o = scan(&target, &["--ignore-file", ig.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("line 1"), "{}", stderr(&o));
    // Other scanners are named as unavailable, the secret scan still runs.
    let o = rampart().args(["scan", &target]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("scanner vuln is not available"));
}

#[test]
fn images_are_scanned_in_every_layer_and_in_their_configuration() {
    use common::{Comp, LayerBlob, file};
    let token = gh_token();
    let l0 = LayerBlob::new(
        &[file(
            "app/.npmrc",
            &format!("//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}\nGITHUB_TOKEN={token}\n"),
        )],
        Comp::Gzip,
    );
    let l1 = LayerBlob::new(&[file("app/.wh..npmrc", "")], Comp::None);
    let mut fx = common::Fixture::new(vec![l0, l1]);
    let diff_ids: Vec<String> = fx.layers.iter().map(LayerBlob::diff_id).collect();
    fx.config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64",
        "os": "linux",
        "config": {
            "Env": ["PATH=/usr/bin", format!("STRIPE_KEY={}", stripe_key())],
            "Labels": {"org.example.ci-token": aws_id()},
        },
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [
            {"created_by": format!("RUN echo {token} > /tmp/t && rm /tmp/t")},
            {"created_by": "RUN rm /app/.npmrc"},
        ],
    }))
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    fx.write_oci_dir(&dir, Some("v1"));
    let target = format!("oci-dir:{}", dir.display());
    let tmp_s = tmp.path().display().to_string();
    let o = scan(&target, &[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stdout(&o).contains(&token));
    golden("secrets-image.txt", &stdout(&o), &[(&tmp_s, "[TMP]")]);
    let o = scan(&target, &["-f", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let f = v["findings"].as_array().unwrap();
    let npmrc = f.iter().find(|f| f["path"] == "/app/.npmrc").unwrap();
    assert_eq!(npmrc["layer"]["index"], 0);
    assert_eq!(npmrc["layer"]["removed"], true);
    let origins: Vec<&str> = f.iter().map(|f| f["origin"].as_str().unwrap()).collect();
    for o in ["file", "image-env", "image-label", "image-history"] {
        assert!(origins.contains(&o), "{o} missing from {origins:?}");
    }
    golden("secrets-image.json", &stdout(&o), &[(&tmp_s, "[TMP]")]);
}

#[test]
fn rules_check_and_list() {
    let o = run(&["rules", "check", "--kind", "secret"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains(" 0 failures"), "{}", stdout(&o));
    let o = run(&["rules", "list", "--kind", "secret"]);
    assert_eq!(o.status.code(), Some(0));
    golden("secrets-rules-list.txt", &stdout(&o), &[]);
    let o = run(&["rules", "list", "-f", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["rules"].as_array().unwrap().len() >= 150);
    for (name, args) in [
        ("secrets-help-rules.txt", &["rules", "--help"][..]),
        (
            "secrets-help-rules-check.txt",
            &["rules", "check", "--help"][..],
        ),
        ("secrets-help-scan.txt", &["scan", "--help"][..]),
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0));
        golden(name, &stdout(&o), &[]);
    }
}
