//! Entry points for the fuzz targets in `fuzz/`: each feeds untrusted bytes
//! to a parser the way real input reaches it. Not a stable API.

use std::io::Cursor;

use crate::image::{
    DockerArchiveEntry, ImageConfig, Index, Manifest, MediaTypeProbe, Platform, index_layer_blob,
    open_docker_archive, open_oci_archive,
};
use crate::limits::Limits;
use crate::registry::{ImageRef, lookup_docker_config, parse_challenge};
use crate::vpath::VPath;

/// Small limits so a fuzz input cannot make an iteration slow.
fn limits() -> Limits {
    Limits {
        max_metadata_bytes: 1 << 20,
        max_blob_bytes: 8 << 20,
        max_layer_bytes: 16 << 20,
        ratio_check_after: 1 << 20,
        max_entries_per_layer: 10_000,
        ..Limits::default()
    }
}

/// A layer blob (gzip, zstd or plain tar) through the layer reader and the
/// layered view.
pub fn layer(data: &[u8]) {
    if let Ok((view, _)) = index_layer_blob(Box::new(Cursor::new(data.to_vec())), &limits()) {
        for (p, _) in view.files() {
            let _ = view.resolve(p);
        }
    }
}

/// The JSON documents of images, and the strings users and registries hand
/// us (references, challenges, Docker config, platforms, paths).
pub fn documents(data: &[u8]) {
    let _ = serde_json::from_slice::<Index>(data);
    let _ = serde_json::from_slice::<Manifest>(data);
    let _ = serde_json::from_slice::<ImageConfig>(data);
    let _ = serde_json::from_slice::<Vec<DockerArchiveEntry>>(data);
    let _ = serde_json::from_slice::<MediaTypeProbe>(data).map(|p| p.kind().to_string());
    let _ = VPath::from_archive(data, 4096, 256);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = text.parse::<ImageRef>();
        let _ = parse_challenge(text);
        let _ = lookup_docker_config(text, "localhost:5000");
        let _ = Platform::parse(text);
        let _ = text.parse::<crate::digest::Digest>();
    }
}

/// Bytes as a whole image archive file: opened as a docker-archive and as
/// an oci-archive, and every layer read.
pub fn archive(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else { return };
    let path = dir.path().join("image.tar");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let lim = limits();
    if let Ok(img) = open_docker_archive(&path, None, None, &lim) {
        let _ = img.index();
    }
    if let Ok(img) = open_oci_archive(&path, None, None, &lim) {
        let _ = img.index();
    }
}
