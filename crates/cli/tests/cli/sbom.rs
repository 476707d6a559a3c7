//! `rampart sbom`: every output format against golden files, validation of
//! CycloneDX and SPDX output with the official tooling (PyPI
//! `cyclonedx-python-lib` and `spdx-tools`, installed by `.ci/run`), and
//! reading SBOMs back as `sbom:` targets.

use std::path::{Path, PathBuf};

use super::{golden, rampart, stderr, stdout};

/// A small Debian-like root file system.
pub fn debian_rootfs(root: &Path) -> PathBuf {
    let w = |rel: &str, data: &str| {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    };
    w(
        "usr/lib/os-release",
        "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nID=debian\nVERSION_ID=\"12\"\nVERSION_CODENAME=bookworm\n",
    );
    w(
        "var/lib/dpkg/status",
        "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n\
         Version: 3.0.15-1~deb12u1\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@lists.alioth.debian.org>\n\
         Description: Secure Sockets Layer toolkit\n\n\
         Package: bash\nStatus: install ok installed\nArchitecture: amd64\nVersion: 5.2.15-2+b7\n\
         Source: bash (5.2.15-2)\nMaintainer: Matthias Klose <doko@debian.org>\n\n\
         Package: gone\nStatus: deinstall ok config-files\nArchitecture: all\nVersion: 1.0\n",
    );
    w(
        "var/lib/dpkg/info/libssl3:amd64.list",
        "/.\n/usr\n/usr/lib/x86_64-linux-gnu/libssl.so.3\n",
    );
    w("var/lib/dpkg/info/bash.list", "/.\n/bin\n/bin/bash\n");
    w(
        "usr/share/doc/bash/copyright",
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nLicense: GPL-3+\n",
    );
    w(
        "usr/share/doc/libssl3/copyright",
        "Files: *\nLicense: Apache-2.0\n",
    );
    w("usr/bin/dpkg", "\x7fELF fake dpkg");
    root.to_path_buf()
}

fn sbom(args: &[&str]) -> std::process::Output {
    rampart()
        .arg("sbom")
        .args(args)
        .env("SOURCE_DATE_EPOCH", "1795824000")
        .output()
        .unwrap()
}

#[test]
fn every_format_matches_its_golden_file() {
    let tmp = tempfile::tempdir().unwrap();
    let root = debian_rootfs(&tmp.path().join("rootfs"));
    let target = format!("rootfs:{}", root.display());
    let tmp_s = tmp.path().display().to_string();
    for (format, file) in [
        ("table", "sbom-rootfs.txt"),
        ("json", "sbom-rootfs.json"),
        ("cyclonedx", "sbom-rootfs.cdx.json"),
        ("spdx", "sbom-rootfs.spdx.json"),
    ] {
        let o = sbom(&[&target, "--format", format]);
        assert_eq!(o.status.code(), Some(0), "{format}: {}", stderr(&o));
        // Serial numbers hash the target's name, which holds the
        // temporary directory: mask them.
        let text: String = stdout(&o)
            .lines()
            .map(|l| {
                if l.contains("\"serialNumber\"") || l.contains("\"documentNamespace\"") {
                    let key = l.split(':').next().unwrap_or_default();
                    format!("{key}: \"[UUID]\",\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        golden(file, &text, &[(&tmp_s, "[TMP]")]);
    }
}

#[test]
fn cyclonedx_output_is_valid_against_the_official_schema() {
    let tmp = tempfile::tempdir().unwrap();
    let root = debian_rootfs(&tmp.path().join("rootfs"));
    let out = tmp.path().join("bom.cdx.json");
    let o = sbom(&[
        &format!("rootfs:{}", root.display()),
        "-f",
        "cyclonedx",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    match super::cyclonedx_errors(&out) {
        None => println!(
            "SKIPPED cyclonedx validation: cyclonedx-python-lib missing (bash .ci/run installs it)"
        ),
        Some(r) => assert!(r.is_ok(), "invalid CycloneDX: {r:?}"),
    }
}

#[test]
fn spdx_output_is_valid_according_to_spdx_tools() {
    let tmp = tempfile::tempdir().unwrap();
    let root = debian_rootfs(&tmp.path().join("rootfs"));
    let out = tmp.path().join("bom.spdx.json");
    let o = sbom(&[
        &format!("rootfs:{}", root.display()),
        "-f",
        "spdx",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    match super::spdx_errors(&out) {
        None => println!(
            "SKIPPED spdx validation: python3 module spdx-tools missing (bash .ci/run installs it)"
        ),
        Some(r) => assert!(r.is_ok(), "invalid SPDX: {r:?}"),
    }
}

#[test]
fn sboms_read_back_as_targets() {
    let tmp = tempfile::tempdir().unwrap();
    let root = debian_rootfs(&tmp.path().join("rootfs"));
    let target = format!("rootfs:{}", root.display());
    let original = sbom(&[&target, "-f", "json"]);
    let original: serde_json::Value = serde_json::from_slice(&original.stdout).unwrap();
    let purls = |v: &serde_json::Value| -> Vec<String> {
        v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["purl"].as_str().unwrap().to_string())
            .collect()
    };
    for format in ["cyclonedx", "spdx"] {
        let file = tmp.path().join(format!("bom.{format}.json"));
        let o = sbom(&[&target, "-f", format, "-o", file.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0));
        // Both the sbom: prefix and detection of a bare path work.
        for spec in [
            format!("sbom:{}", file.display()),
            file.display().to_string(),
        ] {
            let o = sbom(&[&spec, "-f", "json"]);
            assert_eq!(o.status.code(), Some(0), "{spec}: {}", stderr(&o));
            let back: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            assert_eq!(purls(&back), purls(&original), "{format}");
            assert_eq!(back["packages"][0]["name"], original["packages"][0]["name"]);
        }
    }
    let junk = tmp.path().join("junk.json");
    std::fs::write(&junk, r#"{"bomFormat":"CycloneDX","specVersion":"1.2"}"#).unwrap();
    let o = sbom(&[&format!("sbom:{}", junk.display())]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("1.4 to 1.6"), "{}", stderr(&o));
}

#[test]
fn images_are_cataloged_from_their_final_view() {
    use super::common::{Comp, Fixture, LayerBlob, file};
    let tmp = tempfile::tempdir().unwrap();
    let status = "Package: keep\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n\n\
                  Package: removed-later\nStatus: install ok installed\nArchitecture: all\nVersion: 2\n";
    let l0 = LayerBlob::new(
        &[
            file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            file("var/lib/dpkg/status", status),
        ],
        Comp::Gzip,
    );
    let l1 = LayerBlob::new(
        &[file(
            "var/lib/dpkg/status",
            "Package: keep\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n",
        )],
        Comp::Gzip,
    );
    let fx = Fixture::new(vec![l0, l1]);
    let dir = tmp.path().join("layout");
    fx.write_oci_dir(&dir, Some("v1"));
    let o = sbom(&[&format!("oci-dir:{}", dir.display()), "-f", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let names: Vec<&str> = v["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["keep"]);
    let loc = &v["packages"][0]["locations"][0];
    assert_eq!(loc["path"], "/var/lib/dpkg/status");
    assert_eq!(loc["layer"], fx.layers[1].diff_id().as_str());
    assert_eq!(
        v["packages"][0]["purl"],
        "pkg:deb/debian/keep@1?arch=all&distro=debian-12"
    );
    assert_eq!(v["distro"]["distroless"], true);
}
