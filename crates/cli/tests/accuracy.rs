//! Accuracy against the package managers themselves, on real inputs built
//! here. Slow (debootstrap downloads and unpacks ~120 packages, about two
//! minutes), so the tests are `#[ignore]`d in the normal run and `.ci/run`
//! runs them as their own step: `cargo test -p rampart-cli --test accuracy
//! -- --ignored`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn rampart_json(args: &[&str]) -> serde_json::Value {
    let bin = std::env::var_os("RAMPART_TEST_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_rampart")),
        PathBuf::from,
    );
    let o = Command::new(bin)
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
