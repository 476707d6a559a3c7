//! Container images: opening them from archives, layouts and registries,
//! and reading their layers as streams.

mod archive;
mod layer;
mod spec;
mod store;
mod view;

use std::io::Read;
use std::ops::ControlFlow;

use serde::Serialize;

pub(crate) use archive::{ArchiveKind, sniff_archive};
pub use archive::{open_docker_archive, open_oci_archive, open_oci_dir};
pub use layer::{Compression, LayerStats};
pub(crate) use spec::DockerArchiveEntry;
pub use spec::{Descriptor, History, ImageConfig, Platform, RuntimeConfig};
pub use view::{LayeredView, Removal, Version};

/// Layout helpers the registry client shares.
pub(crate) mod archive_internals {
    pub(crate) use super::archive::{Candidate, blob_path, expand_remote, manifest_parts, select};
}

pub(crate) use spec::{Index, Manifest, MediaTypeProbe, is_index_type, is_manifest_type};
pub(crate) use store::{BlobStore, DirStore, read_document};

use crate::digest::{Algorithm, Digest};
use crate::error::{Result, SourceError};
use crate::limits::Limits;
use crate::record::{FileKind, Skip};
use crate::vpath::VPath;
use layer::LayerStream;
use view::LayerItem;

/// Where a layer's blob is and what it must hash to.
#[derive(Debug, Clone, Serialize)]
pub struct Layer {
    /// Position, 0 = bottom layer.
    pub index: usize,
    /// Digest of the uncompressed tar (from the config's `rootfs.diff_ids`):
    /// the same whichever format the image came in, so files are attributed
    /// to it.
    pub diff_id: Digest,
    /// Digest of the blob as stored, when the format names blobs by digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_digest: Option<Digest>,
    /// Media type from the manifest, when there is one.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub media_type: String,
    /// The build step that made the layer, from the config's history.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
    #[serde(skip)]
    pub(crate) location: String,
}

/// An opened image: its configuration and layers, ready to be read.
#[derive(Debug)]
pub struct Image {
    /// How the image was named on the command line.
    pub source: String,
    /// The tag or reference selected, if any.
    pub reference: Option<String>,
    /// Digest of the manifest, when the format has one.
    pub manifest_digest: Option<Digest>,
    /// Digest of the configuration blob: the image id.
    pub config_digest: Digest,
    pub config: ImageConfig,
    pub layers: Vec<Layer>,
    store: Box<dyn BlobStore>,
    limits: Limits,
    /// A temporary directory Rampart owns for this image (downloaded blobs),
    /// removed when the image is dropped.
    _scratch: Option<tempfile::TempDir>,
}

/// A file met while reading layers, handed to a [`Image::visit`] callback.
#[derive(Debug)]
pub struct FileEvent<'a> {
    pub path: &'a VPath,
    pub version: &'a Version,
    /// The layer's `diff_id`.
    pub layer_digest: &'a Digest,
    /// False when a later layer deleted or replaced this version: the bytes
    /// are still in the image, but not in a container's file system.
    pub visible: bool,
}

/// Parts of an image needed to build it, shared by every format.
pub(crate) struct ImageParts {
    pub source: String,
    pub reference: Option<String>,
    pub manifest_digest: Option<Digest>,
    pub config_location: String,
    pub config_digest: Option<Digest>,
    /// Per layer: where its blob is, its expected digest, its media type.
    pub layers: Vec<(String, Option<Digest>, String)>,
    pub scratch: Option<tempfile::TempDir>,
}

impl Image {
    pub(crate) fn build(
        store: Box<dyn BlobStore>,
        parts: ImageParts,
        limits: &Limits,
    ) -> Result<Image> {
        if parts.layers.len() > limits.max_layers {
            return Err(SourceError::TooMany {
                what: format!("{} layer count", parts.source),
                limit: limits.max_layers as u64,
                hint: " (raise limits.max_layers)",
            });
        }
        let raw = read_document(
            store.as_ref(),
            &parts.config_location,
            "image config",
            limits,
        )?;
        let config_digest = match &parts.config_digest {
            Some(d) => {
                d.verify("image config", &raw)?;
                d.clone()
            }
            None => Digest::sha256_of(&raw),
        };
        let config: ImageConfig =
            serde_json::from_slice(&raw).map_err(|e| SourceError::malformed("image config", e))?;
        if config.rootfs.diff_ids.len() != parts.layers.len() {
            return Err(SourceError::malformed(
                "image",
                format!(
                    "the manifest lists {} layers but the config has {} diff_ids",
                    parts.layers.len(),
                    config.rootfs.diff_ids.len()
                ),
            ));
        }
        let mut steps = config.history.iter().filter(|h| !h.empty_layer);
        let layers = parts
            .layers
            .into_iter()
            .zip(&config.rootfs.diff_ids)
            .enumerate()
            .map(
                |(index, ((location, blob_digest, media_type), diff_id))| Layer {
                    index,
                    diff_id: diff_id.clone(),
                    blob_digest,
                    media_type,
                    created_by: steps.next().and_then(|h| h.created_by.clone()),
                    location,
                },
            )
            .collect();
        Ok(Image {
            source: parts.source,
            reference: parts.reference,
            manifest_digest: parts.manifest_digest,
            config_digest,
            config,
            layers,
            store,
            limits: limits.clone(),
            _scratch: parts.scratch,
        })
    }

    /// The platform the config declares.
    #[must_use]
    pub fn platform(&self) -> Platform {
        Platform {
            os: self.config.os.clone(),
            architecture: self.config.architecture.clone(),
            variant: self.config.variant.clone(),
        }
    }

    fn open_layer(&self, layer: &Layer) -> Result<LayerStream> {
        let what = format!("layer {} ({})", layer.index, layer.diff_id);
        let blob = self
            .store
            .open(&layer.location)?
            .ok_or_else(|| SourceError::MissingBlob {
                what: format!("layer {}", layer.index),
                digest: layer
                    .blob_digest
                    .as_ref()
                    .map_or_else(|| layer.location.clone(), ToString::to_string),
            })?;
        if blob.size > self.limits.max_blob_bytes {
            return Err(SourceError::TooLarge {
                what,
                limit: self.limits.max_blob_bytes,
                hint: " (raise limits.max_blob_bytes)",
            });
        }
        let blob_alg = layer
            .blob_digest
            .as_ref()
            .map_or(Algorithm::Sha256, Digest::algorithm);
        LayerStream::open(
            blob.reader,
            blob_alg,
            layer.diff_id.algorithm(),
            what,
            &self.limits,
        )
    }

    /// Reads every layer once and builds the merged view, verifying every
    /// layer's digests. Memory is proportional to the number of entries,
    /// not to the image's size.
    ///
    /// # Errors
    /// A missing or corrupt layer, a digest mismatch, or a tripped limit.
    pub fn index(&self) -> Result<(LayeredView, Vec<LayerStats>)> {
        self.index_with_progress(|_, _| {})
    }

    /// [`Image::index`], calling `progress(layer, uncompressed_bytes)` after
    /// each layer.
    ///
    /// # Errors
    /// As [`Image::index`].
    pub fn index_with_progress(
        &self,
        mut progress: impl FnMut(usize, u64),
    ) -> Result<(LayeredView, Vec<LayerStats>)> {
        let mut view = LayeredView::default();
        let mut stats = Vec::with_capacity(self.layers.len());
        for layer in &self.layers {
            let st = self.read_layer(layer, |item, _| {
                match item {
                    Item::Layer(i) => view.apply(layer.index, i),
                    Item::Skip(s) => view.skip(s),
                }
                Ok(ControlFlow::Continue(()))
            })?;
            progress(layer.index, st.uncompressed_bytes);
            stats.push(st);
        }
        Ok((view, stats))
    }

    /// Streams every layer again and calls `f` for every regular file with
    /// a reader over its content: visible files and the ones later layers
    /// deleted (secrets stay in an image after `rm`). Hard links, symlinks
    /// and directories are not passed (their content is their target's).
    ///
    /// # Errors
    /// Whatever reading a layer or `f` returns. `f` can stop early with
    /// `ControlFlow::Break`.
    pub fn visit(
        &self,
        view: &LayeredView,
        mut f: impl FnMut(&FileEvent<'_>, &mut dyn Read) -> Result<ControlFlow<()>>,
    ) -> Result<()> {
        for layer in &self.layers {
            let mut stop = false;
            self.read_layer(layer, |item, reader| {
                let Item::Layer(LayerItem::Entry(path, v)) = item else {
                    return Ok(ControlFlow::Continue(()));
                };
                if v.kind != FileKind::File {
                    return Ok(ControlFlow::Continue(()));
                }
                let Some(version) = view.version_from(&path, layer.index, v.ordinal) else {
                    return Ok(ControlFlow::Continue(()));
                };
                let ev = FileEvent {
                    path: &path,
                    version,
                    layer_digest: &layer.diff_id,
                    visible: version.removed.is_none(),
                };
                let flow = f(&ev, reader)?;
                stop = flow.is_break();
                Ok(flow)
            })?;
            if stop {
                break;
            }
        }
        Ok(())
    }

    /// Streams the files of the final view only, in one pass over each
    /// layer, reading layers from the top down: what upper layers hold,
    /// delete or hide is known before a lower layer is read, so visibility
    /// is decided as entries stream by, without a separate indexing pass.
    /// `f` gets every visible regular file (and `Ok(ControlFlow::Break)`
    /// stops early). Returns the entries skipped on the way. Every layer's
    /// digests are still verified (when read to the end).
    ///
    /// One difference from [`Image::index`]: when a single layer's tar holds
    /// the same path twice, both copies are passed.
    ///
    /// # Errors
    /// Whatever reading a layer or `f` returns.
    pub fn visit_visible(
        &self,
        mut f: impl FnMut(&FileEvent<'_>, &mut dyn Read) -> Result<ControlFlow<()>>,
    ) -> Result<Vec<Skip>> {
        let mut shadow: std::collections::HashMap<VPath, Shadow> = std::collections::HashMap::new();
        let mut skips = Vec::new();
        for layer in self.layers.iter().rev() {
            let mut stop = false;
            let mut this_layer: Vec<(VPath, Shadow)> = Vec::new();
            let keep_shadow = layer.index > 0;
            self.read_layer(layer, |item, reader| {
                let (path, version) = match item {
                    Item::Skip(s) => {
                        skips.push(s);
                        return Ok(ControlFlow::Continue(()));
                    }
                    Item::Layer(LayerItem::Whiteout(p)) => {
                        if keep_shadow {
                            this_layer.push((p, Shadow::Gone));
                        }
                        return Ok(ControlFlow::Continue(()));
                    }
                    Item::Layer(LayerItem::Opaque(p)) => {
                        if keep_shadow {
                            this_layer.push((p, Shadow::Opaque));
                        }
                        return Ok(ControlFlow::Continue(()));
                    }
                    Item::Layer(LayerItem::Entry(p, v)) => (p, v),
                };
                let hidden = is_shadowed(&shadow, &path);
                if keep_shadow {
                    let s = if version.kind == FileKind::Dir {
                        Shadow::Dir
                    } else {
                        Shadow::Gone
                    };
                    this_layer.push((path.clone(), s));
                }
                if hidden || version.kind != FileKind::File {
                    return Ok(ControlFlow::Continue(()));
                }
                let ev = FileEvent {
                    path: &path,
                    version: &version,
                    layer_digest: &layer.diff_id,
                    visible: true,
                };
                let flow = f(&ev, reader)?;
                stop = flow.is_break();
                Ok(flow)
            })?;
            if stop {
                break;
            }
            for (p, s) in this_layer {
                // An upper layer's mark wins over a lower one's.
                shadow.entry(p).or_insert(s);
            }
        }
        skips.sort();
        Ok(skips)
    }

    /// Reads one file of the final view into memory (at most `max` bytes),
    /// following symlinks inside the image. `Ok(None)` when it is absent.
    ///
    /// # Errors
    /// Reading the layer failed, or the file is larger than `max`.
    pub fn read_file(&self, view: &LayeredView, path: &VPath, max: u64) -> Result<Option<Vec<u8>>> {
        let Some((mut real, mut version)) = view.resolve(path) else {
            return Ok(None);
        };
        // Hard links name their target by path; chains are followed a
        // bounded number of times.
        for _ in 0..40 {
            if version.kind != FileKind::Hardlink {
                break;
            }
            let target = version.link.clone().unwrap_or_default();
            real = VPath::from_relative(&target, usize::MAX, usize::MAX).unwrap_or_default();
            match view.visible(&real) {
                Some(v) => version = v,
                None => return Ok(None),
            }
        }
        if version.kind != FileKind::File {
            return Ok(None);
        }
        if version.size > max {
            return Err(SourceError::TooLarge {
                what: real.display(),
                limit: max,
                hint: "",
            });
        }
        let Some(layer) = self.layers.get(version.layer) else {
            return Ok(None);
        };
        let (want_layer, want_ordinal) = (version.layer, version.ordinal);
        let mut out = None;
        self.read_layer(layer, |item, reader| {
            if let Item::Layer(LayerItem::Entry(p, v)) = item
                && p == real
                && v.layer == want_layer
                && v.ordinal == want_ordinal
            {
                let mut buf = Vec::new();
                reader
                    .take(max)
                    .read_to_end(&mut buf)
                    .map_err(|e| SourceError::read(format!("reading {}", real.display()), e))?;
                out = Some(buf);
                return Ok(ControlFlow::Break(()));
            }
            Ok(ControlFlow::Continue(()))
        })?;
        Ok(out)
    }

    /// Streams one layer's tar, normalising every entry.
    fn read_layer(
        &self,
        layer: &Layer,
        f: impl FnMut(Item, &mut dyn Read) -> Result<ControlFlow<()>>,
    ) -> Result<LayerStats> {
        let stream = self.open_layer(layer)?;
        read_stream(
            stream,
            layer.index,
            layer.blob_digest.as_ref(),
            Some(&layer.diff_id),
            &self.limits,
            f,
        )
    }
}

/// Reads one layer blob on its own (any supported compression) into a
/// view, with its measured digests. For inspecting single layers.
///
/// # Errors
/// A corrupt or truncated stream, or a tripped limit.
pub fn index_layer_blob(
    blob: Box<dyn Read + Send>,
    limits: &Limits,
) -> Result<(LayeredView, LayerStats)> {
    let stream = LayerStream::open(
        blob,
        Algorithm::Sha256,
        Algorithm::Sha256,
        "layer".to_string(),
        limits,
    )?;
    let mut view = LayeredView::default();
    let stats = read_stream(stream, 0, None, None, limits, |item, _| {
        match item {
            Item::Layer(i) => view.apply(0, i),
            Item::Skip(s) => view.skip(s),
        }
        Ok(ControlFlow::Continue(()))
    })?;
    Ok((view, stats))
}

/// Streams a layer's tar through `f`, then checks the digests. Stops early
/// when `f` breaks (then digests are not checked: nothing was fully read).
fn read_stream(
    mut stream: LayerStream,
    index: usize,
    expected_blob: Option<&Digest>,
    expected_diff: Option<&Digest>,
    limits: &Limits,
    mut f: impl FnMut(Item, &mut dyn Read) -> Result<ControlFlow<()>>,
) -> Result<LayerStats> {
    let outcome: Result<bool> = (|| {
        let mut archive = tar::Archive::new(&mut stream);
        let entries = archive
            .entries()
            .map_err(|e| SourceError::read("layer", e))?;
        for (ordinal, entry) in (0_u64..).zip(entries) {
            if ordinal >= limits.max_entries_per_layer {
                return Err(SourceError::TooMany {
                    what: format!("layer {index} entry count"),
                    limit: limits.max_entries_per_layer,
                    hint: " (raise limits.max_entries_per_layer)",
                });
            }
            let mut entry = entry.map_err(|e| SourceError::read("layer", e))?;
            let Some(item) = classify(&entry, index, ordinal, limits) else {
                continue;
            };
            if f(item, &mut entry)?.is_break() {
                return Ok(true);
            }
        }
        Ok(false)
    })();
    match outcome {
        Ok(true) => Ok(LayerStats {
            compression: stream.compression,
            compressed_bytes: 0,
            uncompressed_bytes: 0,
            blob_digest: expected_blob
                .or(expected_diff)
                .cloned()
                .unwrap_or_else(|| Digest::sha256_of(b"")),
            diff_id: expected_diff
                .cloned()
                .unwrap_or_else(|| Digest::sha256_of(b"")),
        }),
        Ok(false) => stream.finish(expected_blob, expected_diff),
        Err(SourceError::Read { source, .. }) => Err(stream.explain(source)),
        Err(e) => Err(e),
    }
}

/// What upper layers did to a path, as seen from the layers below.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shadow {
    /// A directory: lower versions of the path are replaced, but what lies
    /// below it in lower layers stays visible.
    Dir,
    /// A file, link or whiteout: the path and everything below it are gone.
    Gone,
    /// An opaque directory: everything below it in lower layers is gone.
    Opaque,
}

/// True when upper layers replace `path` or hide it through an ancestor.
fn is_shadowed(shadow: &std::collections::HashMap<VPath, Shadow>, path: &VPath) -> bool {
    if shadow.contains_key(path) {
        return true;
    }
    let mut cur = path.parent();
    loop {
        match shadow.get(&cur) {
            Some(Shadow::Gone | Shadow::Opaque) => return true,
            Some(Shadow::Dir) | None => {}
        }
        if cur.is_root() {
            return false;
        }
        cur = cur.parent();
    }
}

/// An item of a layer: something for the view, or a skip.
enum Item {
    Layer(LayerItem),
    Skip(Skip),
}

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_MARKER: &[u8] = b".wh..wh..opq";

/// Turns one tar entry into a view item or a skip (`None` for the root
/// directory entry, which carries nothing).
fn classify<R: Read>(
    entry: &tar::Entry<'_, R>,
    layer: usize,
    ordinal: u64,
    limits: &Limits,
) -> Option<Item> {
    let raw = entry.path_bytes();
    let path = match VPath::from_archive(&raw, limits.max_path_bytes, limits.max_depth) {
        Ok(p) => p,
        Err(problem) => return Some(Item::Skip(Skip::new(&raw, Some(layer), problem))),
    };
    let skip = |reason: String| Some(Item::Skip(Skip::at(&path, Some(layer), reason)));
    if path.is_root() {
        return None;
    }
    let name = path.file_name();
    if name == OPAQUE_MARKER {
        return Some(Item::Layer(LayerItem::Opaque(path.parent())));
    }
    if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
        if target.is_empty()
            || target == b"."
            || target == b".."
            || target.starts_with(WHITEOUT_PREFIX)
        {
            return skip("malformed whiteout name".to_string());
        }
        return Some(Item::Layer(LayerItem::Whiteout(path.parent().join(target))));
    }
    let header = entry.header();
    let et = header.entry_type();
    let (kind, link) = match et {
        tar::EntryType::Regular | tar::EntryType::Continuous | tar::EntryType::GNUSparse => {
            (FileKind::File, None)
        }
        tar::EntryType::Directory => (FileKind::Dir, None),
        tar::EntryType::Symlink | tar::EntryType::Link => {
            let Some(target) = entry.link_name_bytes() else {
                return skip("link without a target".to_string());
            };
            if et == tar::EntryType::Symlink {
                (FileKind::Symlink, Some(target.into_owned()))
            } else {
                match VPath::from_relative(&target, limits.max_path_bytes, limits.max_depth) {
                    Ok(t) if !t.is_root() && target.first() != Some(&b'/') => {
                        (FileKind::Hardlink, Some(t.as_bytes().to_vec()))
                    }
                    Ok(_) | Err(_) => {
                        return skip(format!(
                            "hard link target {:?} leaves the layer root",
                            crate::vpath::escape_bytes(&target)
                        ));
                    }
                }
            }
        }
        tar::EntryType::Char => return skip("character device (not read)".to_string()),
        tar::EntryType::Block => return skip("block device (not read)".to_string()),
        tar::EntryType::Fifo => return skip("named pipe (not read)".to_string()),
        other => {
            return skip(format!(
                "unsupported tar entry type {:?}",
                other.as_byte() as char
            ));
        }
    };
    Some(Item::Layer(LayerItem::Entry(
        path,
        Version {
            layer,
            ordinal,
            kind,
            size: if kind == FileKind::File {
                entry.size()
            } else {
                0
            },
            mode: header.mode().unwrap_or(0) & 0o7777,
            uid: header.uid().unwrap_or(0),
            gid: header.gid().unwrap_or(0),
            mtime: header.mtime().unwrap_or(0),
            link,
            removed: None,
        },
    )))
}
