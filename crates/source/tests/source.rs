//! Integration tests of the source crate: image formats, the layered view,
//! hostile input, and the directory walker.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

mod common;

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::Path;

use common::*;
use rampart_source::image::{Platform, Removal};
use rampart_source::walker::{WalkOptions, resolve_in_root, walk_collect};
use rampart_source::{
    FileKind, Limits, Listing, OpenOptions, SourceError, Target, VPath, list, open,
};

fn opts() -> OpenOptions {
    OpenOptions::default()
}

fn list_spec(spec: &str, o: &OpenOptions) -> Result<Listing, SourceError> {
    let target = Target::parse(spec, &o.limits)?;
    list(&target, spec, o, &mut |_, _| {})
}

fn paths(l: &Listing) -> Vec<String> {
    l.files.iter().map(|f| f.path.display()).collect()
}

/// What must agree across formats: every file and removed version with its
/// layer attribution.
fn comparable(l: &Listing) -> serde_json::Value {
    serde_json::json!({"files": l.files, "removed": l.removed, "skips": l.skips})
}

#[test]
fn the_same_image_lists_identically_in_every_local_format() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = sample();
    let dir = tmp.path().join("layout");
    fx.write_oci_dir(&dir, Some("v1"));
    let oci_tar = tmp.path().join("img.oci.tar");
    fx.write_oci_archive(&oci_tar, Some("v1"));
    let docker_tar = tmp.path().join("img.docker.tar");
    fx.write_docker_archive(&docker_tar, "example/app:v1");

    let a = list_spec(&format!("oci-dir:{}", dir.display()), &opts()).unwrap();
    let b = list_spec(&format!("oci-archive:{}", oci_tar.display()), &opts()).unwrap();
    let c = list_spec(&format!("docker-archive:{}", docker_tar.display()), &opts()).unwrap();
    // Bare paths are detected as the right kinds.
    let d = list_spec(docker_tar.to_str().unwrap(), &opts()).unwrap();
    let e = list_spec(oci_tar.to_str().unwrap(), &opts()).unwrap();
    let f = list_spec(dir.to_str().unwrap(), &opts()).unwrap();
    assert_eq!(
        (d.kind, e.kind, f.kind),
        ("docker-archive", "oci-archive", "oci-dir")
    );
    for other in [&b, &c, &d, &e, &f] {
        assert_eq!(comparable(&a), comparable(other));
    }
    assert_eq!(
        paths(&a),
        [
            "/app",
            "/app/keep.txt",
            "/app/new.txt",
            "/cache",
            "/cache/c",
            "/etc",
            "/etc/os-release",
            "/usr/bin",
            "/usr/bin/sh-link",
            "/usr/bin/tool",
            "/usr/bin/tool-alias",
        ]
    );
    let by_path: BTreeMap<String, _> = a.files.iter().map(|f| (f.path.display(), f)).collect();
    assert_eq!(by_path["/etc/os-release"].layer, Some(1));
    assert_eq!(by_path["/app/new.txt"].layer, Some(2));
    assert_eq!(by_path["/usr/bin/tool-alias"].kind, FileKind::Hardlink);
    assert_eq!(by_path["/usr/bin/sh-link"].link.as_deref(), Some("/bin/sh"));
    let removed: Vec<_> = a
        .removed
        .iter()
        .map(|f| (f.path.display(), f.removed))
        .collect();
    assert!(removed.contains(&(
        "/app/config.yml".into(),
        Some(Removal::Whiteout { layer: 1 })
    )));
    assert!(removed.contains(&("/cache/a".into(), Some(Removal::Opaque { layer: 1 }))));
    assert!(removed.contains(&(
        "/etc/os-release".into(),
        Some(Removal::Replaced { layer: 1 })
    )));
    // The fifo in layer 2 is a recorded skip.
    assert_eq!(a.skips.len(), 1);
    assert!(a.skips[0].reason.contains("named pipe"), "{:?}", a.skips);
    let img = a.image.as_ref().unwrap();
    assert_eq!(img.layers.len(), 3);
    assert_eq!(img.platform, "linux/amd64");
    assert_eq!(img.layers[1].created_by.as_deref(), Some("step 1"));
}

#[test]
fn deleted_files_are_still_readable_for_history_scanners() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("layout");
    sample().write_oci_dir(&dir, None);
    let image = rampart_source::image::open_oci_dir(&dir, None, None, &Limits::default()).unwrap();
    let (view, _) = image.index().unwrap();
    let mut seen = Vec::new();
    image
        .visit(&view, |ev, r| {
            let mut s = String::new();
            r.read_to_string(&mut s).unwrap();
            seen.push((ev.path.display(), ev.visible, s));
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
    assert!(seen.contains(&(
        "/app/config.yml".into(),
        false,
        "password: hunter2\n".into()
    )));
    assert!(seen.contains(&("/cache/c".into(), true, "c".into())));
    let os = image
        .read_file(
            &view,
            &VPath::from_relative(b"etc/os-release", 100, 10).unwrap(),
            1 << 20,
        )
        .unwrap()
        .unwrap();
    assert!(String::from_utf8(os).unwrap().contains("PRETTY_NAME"));
    // Through the hard link, the content is the target's.
    let alias = image
        .read_file(
            &view,
            &VPath::from_relative(b"usr/bin/tool-alias", 100, 10).unwrap(),
            1 << 20,
        )
        .unwrap()
        .unwrap();
    assert_eq!(alias, b"#!/bin/sh\necho tool\n");
}

fn one_layer_image(tmp: &Path, entries: &[E]) -> std::path::PathBuf {
    let dir = tmp.join("layout");
    Fixture::new(vec![LayerBlob::new(entries, Comp::Gzip)]).write_oci_dir(&dir, None);
    dir
}

#[test]
fn hostile_tar_entries_become_skips() {
    let tmp = tempfile::tempdir().unwrap();
    let deep = "d/".repeat(10_000) + "f";
    let dir = one_layer_image(
        tmp.path(),
        &[
            file("ok.txt", "fine"),
            file("../escape.txt", "x"),
            file("a/../../escape2.txt", "x"),
            file("/etc/absolute", "x"),
            symlink("evil-link", "../../../../etc/shadow"),
            hardlink("evil-hard", "../../etc/passwd"),
            hardlink("abs-hard", "/etc/passwd"),
            hardlink("dangling", "not/there"),
            E::CharDev(b"dev/null".to_vec()),
            E::Fifo(b"fifo".to_vec()),
            E::File(deep.into_bytes(), b"deep".to_vec()),
            E::File(b"caf\xe9-\xff.txt".to_vec(), b"latin1".to_vec()),
            file(".wh...", ""),
        ],
    );
    let l = list_spec(&format!("oci-dir:{}", dir.display()), &opts()).unwrap();
    assert_eq!(paths(&l), ["/caf\\xe9-\\xff.txt", "/evil-link", "/ok.txt"]);
    let reasons: Vec<String> = l
        .skips
        .iter()
        .map(|s| format!("{} => {}", s.path, s.reason))
        .collect();
    let expect = [
        ("../escape.txt", "climbs out"),
        ("a/../../escape2.txt", "climbs out"),
        ("/etc/absolute", "absolute"),
        ("/evil-hard", "leaves the layer root"),
        ("/abs-hard", "leaves the layer root"),
        ("/dangling", "missing"),
        ("/dev/null", "character device"),
        ("/fifo", "named pipe"),
        ("d/d/d/", "longer than 4096"),
        ("/.wh...", "malformed whiteout"),
    ];
    for (path, reason) in expect {
        assert!(
            reasons
                .iter()
                .any(|r| r.starts_with(path) && r.contains(reason)),
            "no skip for {path} ({reason}) in {reasons:#?}"
        );
    }
    assert_eq!(l.skips.len(), expect.len(), "{reasons:#?}");
    // The escaping symlink is data; resolving it stays inside the image.
    let image = rampart_source::image::open_oci_dir(&dir, None, None, &Limits::default()).unwrap();
    let (view, _) = image.index().unwrap();
    assert!(
        view.resolve(&VPath::from_relative(b"evil-link", 100, 10).unwrap())
            .is_none()
    );
}

fn expect_err(spec: &str, o: &OpenOptions) -> String {
    match list_spec(spec, o) {
        Ok(_) => panic!("{spec} listed without error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn truncated_and_corrupt_layers_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let mut fx = Fixture::new(vec![LayerBlob::new(
        &[file("big.bin", &"z".repeat(200_000)), file("x", "y")],
        Comp::Gzip,
    )]);
    // Truncated: cut the gzip stream in half, keeping digests consistent
    // so that the decompressor, not the digest check, meets the problem.
    let half = fx.layers[0].blob.len() / 2;
    fx.layers[0].blob.truncate(half);
    let dir = tmp.path().join("trunc");
    fx.write_oci_dir(&dir, None);
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &opts());
    assert!(e.contains("corrupt or truncated"), "{e}");

    let mut fx = Fixture::new(vec![LayerBlob::new(
        &[file("a", &"q".repeat(100_000))],
        Comp::Gzip,
    )]);
    let n = fx.layers[0].blob.len();
    for b in &mut fx.layers[0].blob[20..n - 20] {
        *b ^= 0x5a;
    }
    let dir = tmp.path().join("corrupt");
    fx.write_oci_dir(&dir, None);
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &opts());
    assert!(e.contains("layer 0"), "{e}");
}

#[test]
fn decompression_bombs_are_stopped() {
    let tmp = tempfile::tempdir().unwrap();
    // 64 MiB of zeros gzip to about 64 KiB: a ratio near 1000.
    let zeros = vec![0_u8; 64 << 20];
    let entries = [E::File(b"zeros".to_vec(), zeros)];
    let dir = one_layer_image(tmp.path(), &entries);
    let mut o = opts();
    o.limits.ratio_check_after = 1 << 20;
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &o);
    assert!(e.contains("decompression bomb"), "{e}");
    let mut o = opts();
    o.limits.max_layer_bytes = 8 << 20;
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &o);
    assert!(e.contains("exceeds the limit"), "{e}");
    // With the defaults the same layer is genuine enough to read.
    assert!(list_spec(&format!("oci-dir:{}", dir.display()), &opts()).is_ok());
}

#[test]
fn missing_and_mismatched_blobs_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = sample();
    // Missing layer blob.
    let dir = tmp.path().join("missing");
    fx.write_oci_dir(&dir, None);
    std::fs::remove_file(dir.join(blob_path(&fx.layers[1].digest()))).unwrap();
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &opts());
    assert!(e.contains("not in the image"), "{e}");
    // Blob whose content does not match its digest (same size, one byte
    // flipped inside the uncompressed layer).
    let dir = tmp.path().join("mismatch");
    fx.write_oci_dir(&dir, None);
    let p = dir.join(blob_path(&fx.layers[2].digest()));
    let mut data = std::fs::read(&p).unwrap();
    data[600] ^= 1;
    std::fs::write(&p, data).unwrap();
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &opts());
    assert!(e.contains("digest mismatch"), "{e}");
    // A config that does not match the diff_ids the layers hash to.
    let mut bad = sample();
    bad.layers[0] = LayerBlob::new(&[file("other", "content")], Comp::Gzip);
    let good_diff = sample().layers[0].diff_id();
    let cfg = String::from_utf8(sample().config).unwrap();
    bad.config = cfg.into_bytes();
    assert!(String::from_utf8_lossy(&bad.config).contains(&good_diff));
    let dir = tmp.path().join("diffid");
    bad.write_oci_dir(&dir, None);
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &opts());
    assert!(e.contains("diff_id"), "{e}");
    // A manifest tampered after the index recorded its digest.
    let dir = tmp.path().join("manifest");
    fx.write_oci_dir(&dir, None);
    let mp = dir.join(blob_path(&sha(&fx.manifest())));
    let mut m = std::fs::read(&mp).unwrap();
    m.push(b' ');
    std::fs::write(&mp, m).unwrap();
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &opts());
    assert!(e.contains("digest mismatch for image manifest"), "{e}");
}

#[test]
fn docker_archive_member_names_cannot_escape() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = sample();
    let mut files = fx.docker_archive_files("x:1");
    let manifest = serde_json::json!([{"Config": "../../../../etc/passwd", "RepoTags": ["x:1"], "Layers": []}]);
    files.retain(|(n, _)| n != "manifest.json");
    files.push((
        "manifest.json".into(),
        serde_json::to_vec(&manifest).unwrap(),
    ));
    let p = tmp.path().join("evil.tar");
    write_tar(&p, &files);
    let e = expect_err(&format!("docker-archive:{}", p.display()), &opts());
    assert!(e.contains("climbs out"), "{e}");
}

#[test]
fn compressed_archives_unpack_only_inside_rampart_temp_dirs() {
    let tmp = tempfile::tempdir().unwrap();
    let fx = sample();
    let mut files = layout_files(&[(&fx, None)]);
    let sentinel = tmp.path().join("escaped.txt");
    // A member that tries to climb out of wherever it is unpacked.
    let climb = format!(
        "{}{}",
        "../".repeat(30),
        sentinel.display().to_string().trim_start_matches('/')
    );
    files.push((climb, b"gotcha".to_vec()));
    let tar = tar_bytes(
        &files
            .iter()
            .map(|(n, d)| E::File(n.as_bytes().to_vec(), d.clone()))
            .collect::<Vec<_>>(),
    );
    let p = tmp.path().join("img.oci.tar.gz");
    std::fs::write(&p, compress(&tar, Comp::Gzip)).unwrap();
    let l = list_spec(&format!("oci-archive:{}", p.display()), &opts()).unwrap();
    assert_eq!(l.files.len(), 11);
    assert!(
        !sentinel.exists(),
        "a member was written outside the temporary directory"
    );
}

#[test]
fn selection_by_tag_and_platform() {
    let tmp = tempfile::tempdir().unwrap();
    let amd = Fixture::for_arch(
        vec![LayerBlob::new(&[file("arch", "amd64")], Comp::Gzip)],
        "amd64",
    );
    let arm = Fixture::for_arch(
        vec![LayerBlob::new(&[file("arch", "arm64")], Comp::Gzip)],
        "arm64",
    );
    // Two tagged images: ambiguous without a tag; the error lists both.
    let dir = tmp.path().join("two");
    write_dir(
        &dir,
        &layout_files(&[(&amd, Some("v1")), (&arm, Some("v2"))]),
    );
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &opts());
    assert!(
        e.contains("ambiguous") && e.contains("v1") && e.contains("v2"),
        "{e}"
    );
    let l = list_spec(&format!("oci-dir:{}:v2", dir.display()), &opts()).unwrap();
    assert_eq!(l.image.unwrap().platform, "linux/arm64");
    let e = expect_err(&format!("oci-dir:{}:v9", dir.display()), &opts());
    assert!(e.contains("no image") && e.contains("v1"), "{e}");

    // One tag pointing at an index of two platforms.
    let mut files = layout_files(&[(&amd, None), (&arm, None)]);
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [amd.descriptor(None, true), arm.descriptor(None, true)],
    }))
    .unwrap();
    files.retain(|(n, _)| n != "index.json");
    files.push((blob_path(&sha(&index)), index.clone()));
    files.push((
        "index.json".into(),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": sha(&index), "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": "multi"}}]}))
        .unwrap(),
    ));
    let dir = tmp.path().join("multi");
    write_dir(&dir, &files);
    let mut o = opts();
    o.platform = Some(Platform::parse("linux/arm64").unwrap());
    let l = list_spec(&format!("oci-dir:{}:multi", dir.display()), &o).unwrap();
    assert_eq!(l.image.unwrap().platform, "linux/arm64");
    o.platform = Some(Platform::parse("linux/s390x").unwrap());
    let e = expect_err(&format!("oci-dir:{}", dir.display()), &o);
    assert!(
        e.contains("linux/amd64") && e.contains("linux/arm64"),
        "{e}"
    );
    // Without --platform the host's platform is chosen.
    let l = list_spec(&format!("oci-dir:{}", dir.display()), &opts()).unwrap();
    assert_eq!(l.image.unwrap().platform, Platform::host().to_string());
}

#[test]
fn sbom_targets_open_but_do_not_list_files() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("bom.json");
    std::fs::write(
        &p,
        r#"{"bomFormat":"CycloneDX","specVersion":"1.6","components":[]}"#,
    )
    .unwrap();
    let target = Target::parse(p.to_str().unwrap(), &Limits::default()).unwrap();
    assert!(matches!(
        open(&target, &opts()).unwrap(),
        rampart_source::Opened::Sbom(_)
    ));
    assert!(list_spec(p.to_str().unwrap(), &opts()).is_err());
}

// ---------------------------------------------------------------- walker

#[test]
fn walker_records_special_files_and_does_not_follow_symlinks() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("root");
    std::fs::create_dir_all(root.join("src/nested")).unwrap();
    std::fs::write(root.join("src/main.rs"), "fn main() {}").unwrap();
    std::fs::write(root.join("src/nested/big.bin"), vec![1_u8; 5000]).unwrap();
    std::fs::write(root.join("debug.log"), "log").unwrap();
    std::fs::create_dir_all(root.join("target")).unwrap();
    std::fs::write(root.join("target/out"), "x").unwrap();
    // Outside the root: must never be reached through the links.
    std::fs::create_dir_all(tmp.path().join("outside")).unwrap();
    std::fs::write(tmp.path().join("outside/secret"), "s").unwrap();
    std::os::unix::fs::symlink("../outside", root.join("escape-dir")).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", root.join("abs-link")).unwrap();
    let _sock = std::os::unix::net::UnixListener::bind(root.join("app.sock")).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(root.join("fifo"))
        .status();
    let have_fifo = status.is_ok_and(|s| s.success());
    let name = std::ffi::OsStr::new_from_bytes(b"caf\xe9");
    std::fs::write(root.join(name), "x").unwrap();
    std::fs::write(
        root.join(std::ffi::OsStr::new_from_bytes(b"caf\xe9.log")),
        "x",
    )
    .unwrap();

    let o = WalkOptions {
        exclude: vec!["*.log".into(), "/target".into()],
        max_file_size: Some(4096),
        ..WalkOptions::default()
    };
    let (files, skips) = walk_collect(&root, &o).unwrap();
    let listed: Vec<String> = files.iter().map(|f| f.path.display()).collect();
    assert_eq!(
        listed,
        [
            "/abs-link",
            "/caf\\xe9",
            "/escape-dir",
            "/src",
            "/src/main.rs",
            "/src/nested"
        ]
    );
    let link = files
        .iter()
        .find(|f| f.path.display() == "/escape-dir")
        .unwrap();
    assert_eq!(link.kind, FileKind::Symlink);
    assert_eq!(link.link.as_deref(), Some("../outside"));
    let reasons: Vec<String> = skips
        .iter()
        .map(|s| format!("{} => {}", s.path, s.reason))
        .collect();
    for (p, r) in [
        ("/app.sock", "socket"),
        ("/debug.log", "excluded"),
        ("/target", "excluded"),
        ("/src/nested/big.bin", "size limit"),
        ("/caf\\xe9.log", "excluded"),
    ] {
        assert!(
            reasons.iter().any(|x| x.starts_with(p) && x.contains(r)),
            "{p}: {reasons:#?}"
        );
    }
    if have_fifo {
        assert!(
            reasons
                .iter()
                .any(|x| x.starts_with("/fifo") && x.contains("named pipe"))
        );
    }
    // Resolving through the links inside the root never leaves it.
    let in_root = resolve_in_root(
        &root,
        &VPath::from_relative(b"escape-dir/secret", 100, 10).unwrap(),
    );
    assert_eq!(in_root, None, "resolved outside the root");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), "root:x:0:0").unwrap();
    let p = resolve_in_root(&root, &VPath::from_relative(b"abs-link", 100, 10).unwrap()).unwrap();
    assert_eq!(p, root.join("etc/passwd"));
}

trait FromBytes {
    fn new_from_bytes(b: &[u8]) -> &std::ffi::OsStr;
}
impl FromBytes for std::ffi::OsStr {
    fn new_from_bytes(b: &[u8]) -> &std::ffi::OsStr {
        <std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b)
    }
}

#[test]
fn exclude_paths_apply_to_relative_roots() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(tmp.path().join("keep")).unwrap();
    std::fs::create_dir_all(tmp.path().join("cache/deep")).unwrap();
    std::fs::write(tmp.path().join("cache/deep/x"), "x").unwrap();
    let o = WalkOptions {
        exclude_paths: vec![std::fs::canonicalize(tmp.path()).unwrap().join("cache")],
        ..WalkOptions::default()
    };
    // Walk the same tree through a relative path.
    let cwd = std::env::current_dir().unwrap();
    let rel = pathdiff(tmp.path(), &cwd);
    let (files, skips) = walk_collect(&rel, &o).unwrap();
    let listed: Vec<String> = files.iter().map(|f| f.path.display()).collect();
    assert_eq!(listed, ["/keep"]);
    assert_eq!(skips.len(), 1, "{skips:?}");
}

/// `target` relative to `base` through `..` components.
fn pathdiff(target: &Path, base: &Path) -> std::path::PathBuf {
    let t: Vec<_> = target.components().collect();
    let b: Vec<_> = base.components().collect();
    let common = t.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..b.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}

#[test]
fn docker_archive_honours_platform_and_full_tags() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("img.tar");
    sample().write_docker_archive(&p, "localhost:5000/team/app:v1");
    let mut o = opts();
    o.platform = Some(Platform::parse("linux/arm64").unwrap());
    let e = expect_err(&format!("docker-archive:{}", p.display()), &o);
    assert!(
        e.contains("linux/arm64") && e.contains("linux/amd64"),
        "{e}"
    );
    let l = list_spec(
        &format!("docker-archive:{}:localhost:5000/team/app:v1", p.display()),
        &opts(),
    )
    .unwrap();
    assert_eq!(
        l.image.unwrap().reference.as_deref(),
        Some("localhost:5000/team/app:v1")
    );
    assert!(list_spec(&format!("docker-archive:{}:v1", p.display()), &opts()).is_ok());
    let e = expect_err(&format!("docker-archive:{}:v2", p.display()), &opts());
    assert!(e.contains("localhost:5000/team/app:v1"), "{e}");
}

#[test]
fn gzip_compressed_archives_are_detected_as_bare_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let files = sample().docker_archive_files("x:1");
    let tar = tar_bytes(
        &files
            .iter()
            .map(|(n, d)| E::File(n.as_bytes().to_vec(), d.clone()))
            .collect::<Vec<_>>(),
    );
    let p = tmp.path().join("img.tar.gz");
    std::fs::write(&p, compress(&tar, Comp::Gzip)).unwrap();
    let l = list_spec(p.to_str().unwrap(), &opts()).unwrap();
    assert_eq!(l.kind, "docker-archive");
    assert_eq!(l.files.len(), 11);
}

#[test]
fn compressed_archive_bombs_are_stopped_while_unpacking() {
    let tmp = tempfile::tempdir().unwrap();
    let mut files = layout_files(&[(&sample(), None)]);
    files.push(("padding".into(), vec![0_u8; 32 << 20]));
    let tar = tar_bytes(
        &files
            .iter()
            .map(|(n, d)| E::File(n.as_bytes().to_vec(), d.clone()))
            .collect::<Vec<_>>(),
    );
    let p = tmp.path().join("bomb.oci.tar.gz");
    std::fs::write(&p, compress(&tar, Comp::Gzip)).unwrap();
    let mut o = opts();
    o.limits.ratio_check_after = 1 << 20;
    let e = expect_err(&format!("oci-archive:{}", p.display()), &o);
    assert!(e.contains("decompression bomb"), "{e}");
}

#[test]
fn walker_survives_a_ten_thousand_level_tree() {
    let tmp = tempfile::tempdir().unwrap();
    // Built with relative mkdir calls: the full path is far beyond PATH_MAX.
    let status = std::process::Command::new("python3")
        .arg("-c")
        .arg("import os\nfor _ in range(10000):\n    os.mkdir('d'); os.chdir('d')\nopen('f', 'w').write('deep')")
        .current_dir(tmp.path())
        .status()
        .unwrap();
    assert!(status.success());
    let (files, skips) = walk_collect(tmp.path(), &WalkOptions::default()).unwrap();
    assert_eq!(files.len(), 256, "directories down to the depth limit");
    assert!(
        skips.iter().any(|s| s.reason.contains("deeper than 256")),
        "{skips:?}"
    );
    // Clean up without recursion limits biting: rm -rf copes with depth.
    let _ = std::process::Command::new("rm")
        .arg("-rf")
        .arg(tmp.path().join("d"))
        .status();
}

#[test]
fn for_each_file_reads_trees_and_images_alike() {
    use std::sync::Mutex;
    let tmp = tempfile::tempdir().unwrap();
    let layout = tmp.path().join("layout");
    sample().write_oci_dir(&layout, None);
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("app")).unwrap();
    std::fs::write(tree.join("app/keep.txt"), "keep\n").unwrap();
    std::fs::write(tree.join("app/skip.bin"), "x").unwrap();
    let want =
        |p: &VPath, _size: u64| p.as_bytes().ends_with(b".txt") || p.as_bytes().ends_with(b".yml");
    let run = |spec: &str, history: bool| {
        let target = Target::parse(spec, &Limits::default()).unwrap();
        let opened = open(&target, &opts()).unwrap();
        let seen = Mutex::new(Vec::new());
        let skips = rampart_source::for_each_file(&opened, history, &want, &|f, r| {
            let mut s = String::new();
            r.read_to_string(&mut s).map_err(|e| e.to_string())?;
            if s.starts_with("new") {
                return Err("rejected by the visitor".into());
            }
            seen.lock()
                .unwrap()
                .push((f.path.display(), f.visible, f.layer.is_some(), s));
            Ok(())
        })
        .unwrap();
        let mut seen = seen.into_inner().unwrap();
        seen.sort();
        (seen, skips)
    };
    let (seen, _) = run(&format!("dir:{}", tree.display()), false);
    assert_eq!(
        seen,
        [(
            "/app/keep.txt".to_string(),
            true,
            false,
            "keep\n".to_string()
        )]
    );
    let (seen, skips) = run(&format!("oci-dir:{}", layout.display()), false);
    assert_eq!(
        seen,
        [(
            "/app/keep.txt".to_string(),
            true,
            true,
            "keep\n".to_string()
        )]
    );
    assert!(
        skips
            .iter()
            .any(|s| s.path == "/app/new.txt" && s.reason == "rejected by the visitor"),
        "{skips:?}"
    );
    let (seen, _) = run(&format!("oci-dir:{}", layout.display()), true);
    assert!(seen.contains(&(
        "/app/config.yml".to_string(),
        false,
        true,
        "password: hunter2\n".to_string()
    )));
}

#[test]
fn top_down_single_pass_agrees_with_the_layered_view() {
    let tmp = tempfile::tempdir().unwrap();
    // The sample image plus a layer that replaces a directory with a file
    // and re-creates a whited-out directory.
    let mut fx = sample();
    let extra = LayerBlob::new(
        &[
            file("cache", "now a file"),
            file("usr/.wh.bin", ""),
            dir("usr/bin"),
            file("usr/bin/fresh", "fresh"),
            file("etc/.wh..wh..opq", ""),
            file("etc/only", "only"),
        ],
        Comp::Gzip,
    );
    fx = Fixture::new(
        fx.layers
            .into_iter()
            .chain(std::iter::once(extra))
            .collect(),
    );
    let dir = tmp.path().join("layout");
    fx.write_oci_dir(&dir, None);
    let image = rampart_source::image::open_oci_dir(&dir, None, None, &Limits::default()).unwrap();
    let (view, _) = image.index().unwrap();
    let expected: Vec<(String, usize)> = view
        .files()
        .filter(|(_, v)| v.kind == FileKind::File)
        .map(|(p, v)| (p.display(), v.layer))
        .collect();
    let mut got = Vec::new();
    image
        .visit_visible(|ev, _| {
            got.push((ev.path.display(), ev.version.layer));
            Ok(ControlFlow::Continue(()))
        })
        .unwrap();
    got.sort();
    assert_eq!(got, expected);
    assert!(got.iter().any(|(p, _)| p == "/usr/bin/fresh"));
    assert!(
        !got.iter()
            .any(|(p, _)| p == "/usr/bin/tool" || p == "/etc/os-release" || p == "/cache/c")
    );
}
