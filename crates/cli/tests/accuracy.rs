//! Accuracy against the package managers themselves, on real inputs built
//! here. Slow (debootstrap downloads and unpacks ~120 packages, about two
//! minutes), so the tests are `#[ignore]`d in the normal run and `.ci/run`
//! runs them as their own step: `cargo test -p rampart-cli --test accuracy
//! -- --ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The binary under test (`RAMPART_TEST_BIN` overrides it).
fn rampart_bin() -> PathBuf {
    std::env::var_os("RAMPART_TEST_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_rampart")),
        PathBuf::from,
    )
}

fn rampart_json(args: &[&str]) -> serde_json::Value {
    let o = Command::new(rampart_bin())
        .args(args)
        .env_remove("RAMPART_TEST_BIN")
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&o.stdout).unwrap()
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

/// A debootstrapped bookworm, kept under the target directory between runs
/// (delete it to rebuild).
fn bookworm() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bookworm-minbase");
    if dir.join("var/lib/dpkg/status").is_file() {
        return Some(dir);
    }
    if !have("debootstrap") {
        println!("SKIPPED: debootstrap missing (bash .ci/run installs it)");
        return None;
    }
    let mirror = std::env::var("DEBIAN_MIRROR")
        .unwrap_or_else(|_| "http://deb.debian.org/debian".to_string());
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new("debootstrap")
        .args(["--variant=minbase", "bookworm"])
        .arg(&dir)
        .arg(&mirror)
        .output()
        .unwrap();
    if !out.status.success() {
        println!(
            "SKIPPED: debootstrap from {mirror} failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        let _ = std::fs::remove_dir_all(&dir);
        return None;
    }
    Some(dir)
}

#[test]
#[ignore = "slow: debootstrap (~2 min); .ci/run runs it as its own step"]
fn debootstrap_rootfs_matches_dpkg_query() {
    let Some(root) = bookworm() else { return };
    let q = Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args([
            "-W",
            "-f",
            "${db:Status-Status} ${Package} ${Version} ${Architecture}\n",
        ])
        .output()
        .unwrap();
    assert!(q.status.success());
    let expected: BTreeSet<String> = String::from_utf8_lossy(&q.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("installed "))
        .map(str::to_string)
        .collect();
    assert!(
        expected.len() > 80,
        "only {} packages installed?",
        expected.len()
    );
    let sbom = rampart_json(&["sbom", &format!("rootfs:{}", root.display()), "-f", "json"]);
    let got: BTreeSet<String> = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "deb")
        .map(|p| {
            format!(
                "{} {} {}",
                p["name"].as_str().unwrap(),
                p["version"].as_str().unwrap(),
                p["arch"].as_str().unwrap_or("")
            )
        })
        .collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}\nextra {extra:?}"
    );
    assert_eq!(sbom["distro"]["id"], "debian");
    assert_eq!(sbom["distro"]["version_id"], "12");
    // Every package carries its source package and file list.
    let libc = sbom["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "libc6")
        .unwrap();
    assert_eq!(libc["source_name"], "glibc");
    assert!(
        libc["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f.as_str().unwrap().contains("libc.so.6"))
    );
    println!(
        "dpkg-query and rampart agree on {} packages",
        expected.len()
    );
}

/// The workspace's sibling `../shared/vulndata` (real OSV exports), if any.
fn vulndata() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/vulndata");
    if p.join("osv").is_dir() {
        Some(p)
    } else {
        println!("SKIPPED: ../shared/vulndata not found next to the workspace");
        None
    }
}

/// Runs a set-up command; `None` (with the reason printed) when it fails,
/// as package registries may be out of reach.
fn setup(what: &str, cmd: &mut Command) -> Option<()> {
    match cmd.output() {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => {
            println!(
                "SKIPPED {what}: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or("")
            );
            None
        }
        Err(e) => {
            println!("SKIPPED {what}: {e}");
            None
        }
    }
}

/// Real inputs with old packages, kept under the target directory between
/// runs (delete `vuln-accuracy` to rebuild): the bookworm rootfs, a Python
/// site-packages installed by pip, a Node project installed by npm, a
/// Cargo.lock resolved by cargo, Go binaries and jars installed by apt.
fn accuracy_fixtures() -> Vec<(String, String)> {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("vuln-accuracy");
    std::fs::create_dir_all(&base).unwrap();
    let mut out = Vec::new();
    if let Some(root) = bookworm() {
        out.push((
            "debian-bookworm".to_string(),
            format!("rootfs:{}", root.display()),
        ));
    }
    let py = base.join("python/lib/python3.11/site-packages");
    if py.join("requests").is_dir()
        || setup(
            "python packages (pip install from PyPI)",
            Command::new("python3")
                .args(["-m", "pip", "install", "-q", "--no-deps"])
                .args(["--disable-pip-version-check", "--target"])
                .arg(&py)
                .args([
                    "django==3.2",
                    "requests==2.19.0",
                    "urllib3==1.24.1",
                    "jinja2==2.10",
                    "sqlparse==0.4.1",
                    "flask==1.0",
                    "werkzeug==0.15.0",
                    "certifi==2019.3.9",
                    "idna==2.7",
                    "pip==20.0",
                ]),
        )
        .is_some()
    {
        out.push((
            "python".to_string(),
            format!("dir:{}", base.join("python").display()),
        ));
    }
    let node = base.join("node");
    std::fs::create_dir_all(&node).unwrap();
    std::fs::write(
        node.join("package.json"),
        r#"{"name":"accuracy","version":"1.0.0","private":true}"#,
    )
    .unwrap();
    if node.join("package-lock.json").is_file()
        || setup(
            "node packages (npm install from the npm registry)",
            Command::new("npm")
                .current_dir(&node)
                .args(["install", "--no-audit", "--no-fund", "--ignore-scripts"])
                .args([
                    "lodash@4.17.15",
                    "minimist@1.2.0",
                    "axios@0.21.0",
                    "express@4.16.0",
                    "jsonwebtoken@8.5.0",
                    "node-fetch@2.6.0",
                    "ws@7.4.0",
                    "moment@2.29.1",
                ]),
        )
        .is_some()
    {
        out.push(("node".to_string(), format!("dir:{}", node.display())));
    }
    let rust = base.join("rust");
    std::fs::create_dir_all(rust.join("src")).unwrap();
    std::fs::write(
        rust.join("Cargo.toml"),
        "[package]\nname = \"accuracy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[workspace]\n\n[dependencies]\n\
         smallvec = \"=1.6.0\"\ntime = \"=0.1.43\"\nhyper = \"=0.14.9\"\n\
         tokio = { version = \"=1.8.0\", features = [\"rt\"] }\nregex = \"=1.5.4\"\n\
         chrono = \"=0.4.19\"\nopenssl = \"=0.10.35\"\n",
    )
    .unwrap();
    std::fs::write(rust.join("src/main.rs"), "fn main() {}\n").unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    if rust.join("Cargo.lock").is_file()
        || setup(
            "Cargo.lock (cargo generate-lockfile from crates.io)",
            Command::new(cargo)
                .current_dir(&rust)
                .args(["generate-lockfile", "-q"])
                .env_remove("CARGO_TARGET_DIR"),
        )
        .is_some()
    {
        out.push(("rust".to_string(), format!("dir:{}", rust.display())));
    }
    // Go binaries and jars that apt installed (.ci/run installs them).
    let gj = base.join("go-java");
    let bin = gj.join("usr/bin");
    let java = gj.join("usr/share/java");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&java).unwrap();
    for tool in ["skopeo", "docker-registry", "umoci"] {
        if let Some(p) = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
            .map(|d| d.join(tool))
            .find(|p| p.is_file())
        {
            std::fs::copy(p, bin.join(tool)).unwrap();
        }
    }
    if let Ok(dir) = std::fs::read_dir("/usr/share/java") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            // The versioned file of each jar (the unversioned names are links).
            if name.ends_with(".jar") && name.chars().any(|c| c.is_ascii_digit()) {
                let _ = std::fs::copy(e.path(), java.join(&name));
            }
        }
    }
    out.push(("go-java".to_string(), format!("dir:{}", gj.display())));
    out
}

type Pairs = BTreeSet<(String, String)>;

#[test]
#[ignore = "slow: builds real inputs with pip, npm, cargo and debootstrap; .ci/run runs it"]
fn vulnerability_findings_match_an_independent_oracle() {
    let Some(data) = vulndata() else { return };
    let python = ["/usr/bin/python3", "python3"]
        .into_iter()
        .find(|p| have(p))
        .unwrap_or("python3");
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("db");
    let o = Command::new(rampart_bin())
        .args(["db", "import", "-q", "--db-dir"])
        .arg(&db)
        .arg(&data)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let oracle = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oracle/vuln_oracle.py");
    let mut failures = Vec::new();
    for (name, target) in accuracy_fixtures() {
        let sbom_path = tmp.path().join(format!("{name}.sbom.json"));
        let sbom = rampart_json(&["sbom", &target, "-f", "json"]);
        std::fs::write(&sbom_path, sbom.to_string()).unwrap();
        let scan = rampart_json(&[
            "scan",
            &target,
            "--scanners",
            "vuln",
            "--db-dir",
            db.to_str().unwrap(),
            "-f",
            "json",
            "-q",
        ]);
        let o = Command::new(python)
            .arg(&oracle)
            .arg("--sbom")
            .arg(&sbom_path)
            .arg("--osv")
            .arg(data.join("osv"))
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "oracle: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let expected: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let want: Pairs = expected["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                (
                    m[0].as_str().unwrap().to_string(),
                    m[1].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let findings = scan["findings"].as_array().unwrap();
        let got: Pairs = findings
            .iter()
            .flat_map(|f| {
                let purl = f["purl"].as_str().unwrap().to_string();
                f["advisories"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(move |a| (purl.clone(), a.as_str().unwrap().to_string()))
            })
            .collect();
        let unknown: Vec<&serde_json::Value> = findings
            .iter()
            .filter(|f| f["status"] == "unknown")
            .collect();
        let unchecked = expected["unchecked"].as_array().unwrap();
        let packages = sbom["packages"].as_array().unwrap().len();
        println!(
            "{name}: {packages} packages, {} findings ({} advisory matches); oracle {} matches, \
             {} agree, {} unchecked by the oracle, {} unknown to rampart",
            findings.len(),
            got.len(),
            want.len(),
            got.intersection(&want).count(),
            unchecked.len(),
            unknown.len()
        );
        for (purl, id) in got.difference(&want) {
            failures.push(format!("{name}: rampart only: {purl} {id}"));
        }
        for (purl, id) in want.difference(&got) {
            failures.push(format!("{name}: oracle only: {purl} {id}"));
        }
        for u in unchecked {
            failures.push(format!("{name}: oracle could not check: {u}"));
        }
        for f in unknown {
            failures.push(format!(
                "{name}: unknown: {} {} {}",
                f["purl"], f["id"], f["reason"]
            ));
        }
        if name != "go-java" {
            assert!(
                !want.is_empty(),
                "{name}: the oracle found nothing: a broken fixture?"
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} differences:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
