//! Test fixtures: tar layers with any entry (including hostile ones the
//! `tar` crate's safe builders refuse), and images written as OCI layout
//! directories, OCI archives and docker archives.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;

use sha2::{Digest as _, Sha256};

/// One tar entry.
#[derive(Debug, Clone)]
pub enum E {
    File(Vec<u8>, Vec<u8>),
    Dir(Vec<u8>),
    Symlink(Vec<u8>, Vec<u8>),
    Hardlink(Vec<u8>, Vec<u8>),
    CharDev(Vec<u8>),
    Fifo(Vec<u8>),
}

pub fn file(name: &str, data: &str) -> E {
    E::File(name.as_bytes().to_vec(), data.as_bytes().to_vec())
}
pub fn dir(name: &str) -> E {
    E::Dir(name.as_bytes().to_vec())
}
pub fn symlink(name: &str, target: &str) -> E {
    E::Symlink(name.as_bytes().to_vec(), target.as_bytes().to_vec())
}
pub fn hardlink(name: &str, target: &str) -> E {
    E::Hardlink(name.as_bytes().to_vec(), target.as_bytes().to_vec())
}

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comp {
    None,
    Gzip,
    Zstd,
}

fn header(name: &[u8], kind: tar::EntryType, size: u64, mode: u32) -> (Vec<u8>, tar::Header) {
    let mut out = Vec::new();
    if name.len() > 100 {
        // GNU long name: a pseudo-entry whose data is the name.
        let mut data = name.to_vec();
        data.push(0);
        let mut h = tar::Header::new_gnu();
        h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
        h.set_entry_type(tar::EntryType::GNULongName);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(&data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    let mut h = tar::Header::new_gnu();
    let n = name.len().min(100);
    h.as_old_mut().name[..n].copy_from_slice(&name[..n]);
    h.set_entry_type(kind);
    h.set_size(size);
    h.set_mode(mode);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(1_700_000_000);
    (out, h)
}

/// A tar stream holding `entries` exactly as given.
pub fn tar_bytes(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in entries {
        let (name, kind, data, link, mode): (&[u8], _, &[u8], Option<&[u8]>, u32) = match e {
            E::File(n, d) => (n, tar::EntryType::Regular, d, None, 0o644),
            E::Dir(n) => (n, tar::EntryType::Directory, &[], None, 0o755),
            E::Symlink(n, t) => (n, tar::EntryType::Symlink, &[], Some(t), 0o777),
            E::Hardlink(n, t) => (n, tar::EntryType::Link, &[], Some(t), 0o644),
            E::CharDev(n) => (n, tar::EntryType::Char, &[], None, 0o600),
            E::Fifo(n) => (n, tar::EntryType::Fifo, &[], None, 0o600),
        };
        let (prefix, mut h) = header(name, kind, data.len() as u64, mode);
        if let Some(l) = link {
            h.as_old_mut().linkname[..l.len()].copy_from_slice(l);
        }
        h.set_cksum();
        out.extend_from_slice(&prefix);
        out.extend_from_slice(h.as_bytes());
        out.extend_from_slice(data);
        out.resize(out.len().div_ceil(512) * 512, 0);
    }
    out.extend_from_slice(&[0_u8; 1024]);
    out
}

pub fn compress(data: &[u8], comp: Comp) -> Vec<u8> {
    match comp {
        Comp::None => data.to_vec(),
        Comp::Gzip => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(data).unwrap();
            enc.finish().unwrap()
        }
        Comp::Zstd => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
    }
}

pub fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

/// A layer ready to write: its blob, and both digests.
#[derive(Debug, Clone)]
pub struct LayerBlob {
    pub tar: Vec<u8>,
    pub blob: Vec<u8>,
    pub comp: Comp,
}

impl LayerBlob {
    pub fn new(entries: &[E], comp: Comp) -> Self {
        let tar = tar_bytes(entries);
        let blob = compress(&tar, comp);
        LayerBlob { tar, blob, comp }
    }
    pub fn diff_id(&self) -> String {
        sha(&self.tar)
    }
    pub fn digest(&self) -> String {
        sha(&self.blob)
    }
    pub fn media_type(&self) -> &'static str {
        match self.comp {
            Comp::None => "application/vnd.oci.image.layer.v1.tar",
            Comp::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Comp::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// An image: layers plus a config.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub layers: Vec<LayerBlob>,
    pub config: Vec<u8>,
    pub arch: String,
}

impl Fixture {
    pub fn new(layers: Vec<LayerBlob>) -> Self {
        Self::for_arch(layers, "amd64")
    }

    pub fn for_arch(layers: Vec<LayerBlob>, arch: &str) -> Self {
        let diff_ids: Vec<String> = layers.iter().map(LayerBlob::diff_id).collect();
        let history: Vec<serde_json::Value> = (0..layers.len())
            .map(|i| serde_json::json!({"created_by": format!("step {i}")}))
            .collect();
        let config = serde_json::json!({
            "architecture": arch,
            "os": "linux",
            "config": {"User": "1000", "Env": ["PATH=/usr/bin"], "Entrypoint": ["/bin/app"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": history,
        });
        Fixture {
            layers,
            config: serde_json::to_vec(&config).unwrap(),
            arch: arch.to_string(),
        }
    }

    pub fn manifest(&self) -> Vec<u8> {
        let layers: Vec<serde_json::Value> = self
            .layers
            .iter()
            .map(|l| serde_json::json!({"mediaType": l.media_type(), "digest": l.digest(), "size": l.blob.len()}))
            .collect();
        serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": sha(&self.config), "size": self.config.len()},
            "layers": layers,
        }))
        .unwrap()
    }

    /// Blobs (path inside a layout, content) of this image.
    pub fn blobs(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = vec![
            (blob_path(&sha(&self.config)), self.config.clone()),
            (blob_path(&sha(&self.manifest())), self.manifest()),
        ];
        for l in &self.layers {
            out.push((blob_path(&l.digest()), l.blob.clone()));
        }
        out
    }

    pub fn descriptor(&self, tag: Option<&str>, platform: bool) -> serde_json::Value {
        let m = self.manifest();
        let mut d = serde_json::json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha(&m), "size": m.len(),
        });
        if let Some(t) = tag {
            d["annotations"] = serde_json::json!({"org.opencontainers.image.ref.name": t});
        }
        if platform {
            d["platform"] = serde_json::json!({"os": "linux", "architecture": self.arch});
        }
        d
    }
}

pub fn blob_path(digest: &str) -> String {
    format!("blobs/{}", digest.replacen(':', "/", 1))
}

/// Files of an OCI layout holding `images` (each with an optional tag).
pub fn layout_files(images: &[(&Fixture, Option<&str>)]) -> Vec<(String, Vec<u8>)> {
    let mut files = vec![(
        "oci-layout".to_string(),
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )];
    let descs: Vec<_> = images
        .iter()
        .map(|(f, t)| f.descriptor(*t, false))
        .collect();
    files.push((
        "index.json".to_string(),
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2, "manifests": descs})).unwrap(),
    ));
    for (f, _) in images {
        files.extend(f.blobs());
    }
    files
}

pub fn write_dir(root: &Path, files: &[(String, Vec<u8>)]) {
    for (name, data) in files {
        let p = root.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
}

/// A tar of plain files (names as given, no normalisation).
pub fn write_tar(path: &Path, files: &[(String, Vec<u8>)]) {
    let entries: Vec<E> = files
        .iter()
        .map(|(n, d)| E::File(n.as_bytes().to_vec(), d.clone()))
        .collect();
    std::fs::write(path, tar_bytes(&entries)).unwrap();
}

impl Fixture {
    pub fn write_oci_dir(&self, root: &Path, tag: Option<&str>) {
        write_dir(root, &layout_files(&[(self, tag)]));
    }

    pub fn write_oci_archive(&self, path: &Path, tag: Option<&str>) {
        write_tar(path, &layout_files(&[(self, tag)]));
    }

    /// Classic `docker save` layout: `<id>/layer.tar` (uncompressed),
    /// `<config hex>.json`, `manifest.json`.
    pub fn docker_archive_files(&self, tag: &str) -> Vec<(String, Vec<u8>)> {
        let config_name = format!("{}.json", &sha(&self.config)[7..]);
        let mut files = vec![(config_name.clone(), self.config.clone())];
        let mut layer_names = Vec::new();
        for l in &self.layers {
            let name = format!("{}/layer.tar", &l.diff_id()[7..]);
            files.push((name.clone(), l.tar.clone()));
            layer_names.push(name);
        }
        let manifest =
            serde_json::json!([{"Config": config_name, "RepoTags": [tag], "Layers": layer_names}]);
        files.push((
            "manifest.json".to_string(),
            serde_json::to_vec(&manifest).unwrap(),
        ));
        files
    }

    pub fn write_docker_archive(&self, path: &Path, tag: &str) {
        write_tar(path, &self.docker_archive_files(tag));
    }
}

/// The image most tests use: three layers exercising whiteouts, opaque
/// directories, replacement, links and compression kinds.
pub fn sample() -> Fixture {
    let l0 = LayerBlob::new(
        &[
            dir("etc"),
            file("etc/os-release", "ID=debian\nVERSION_ID=12\n"),
            dir("app"),
            file("app/config.yml", "password: hunter2\n"),
            file("app/keep.txt", "keep\n"),
            dir("cache"),
            file("cache/a", "a"),
            file("cache/b", "b"),
            dir("usr/bin"),
            file("usr/bin/tool", "#!/bin/sh\necho tool\n"),
            hardlink("usr/bin/tool-alias", "usr/bin/tool"),
            symlink("usr/bin/sh-link", "/bin/sh"),
        ],
        Comp::Gzip,
    );
    let l1 = LayerBlob::new(
        &[
            file("app/.wh.config.yml", ""),
            dir("cache"),
            file("cache/.wh..wh..opq", ""),
            file("cache/c", "c"),
            file(
                "etc/os-release",
                "ID=debian\nVERSION_ID=12\nPRETTY_NAME=\"Debian 12\"\n",
            ),
        ],
        Comp::Zstd,
    );
    let l2 = LayerBlob::new(
        &[file("app/new.txt", "new\n"), E::Fifo(b"app/pipe".to_vec())],
        Comp::None,
    );
    Fixture::new(vec![l0, l1, l2])
}
