//! Opening a target and listing what it holds: the one view every scanner
//! and `rampart source ls` share.

use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::digest::Digest;
use crate::error::{Result, SourceError};
use crate::image::{
    Compression, Image, LayerStats, Platform, Removal, open_docker_archive, open_oci_archive,
    open_oci_dir,
};
use crate::limits::Limits;
use crate::record::{FileKind, Skip};
use crate::registry::{RegistryOptions, open_registry_image};
use crate::target::Target;
use crate::vpath::{VPath, escape_bytes};
use crate::walker::{WalkOptions, host_excludes, walk_collect};

/// Everything that shapes how a target is opened.
#[derive(Debug, Clone, Default)]
pub struct OpenOptions {
    pub limits: Limits,
    pub walk: WalkOptions,
    pub registry: RegistryOptions,
    /// The platform to select from multi-platform images.
    pub platform: Option<Platform>,
}

/// An opened target.
#[derive(Debug)]
pub enum Opened {
    /// A directory tree on disk, walked with these options.
    Tree { root: PathBuf, walk: WalkOptions },
    /// A container image.
    Image(Box<Image>),
    /// An SBOM document, read by the SBOM crate.
    Sbom(PathBuf),
}

/// Opens `target`. Images are opened (manifests read and verified, blobs
/// downloaded for registries); trees are only checked to exist.
///
/// # Errors
/// Whatever stops the target from being read at all.
pub fn open(target: &Target, opts: &OpenOptions) -> Result<Opened> {
    let limits = &opts.limits;
    let tree = |root: &PathBuf, walk: WalkOptions| -> Result<Opened> {
        let meta = std::fs::metadata(root).map_err(|e| SourceError::io(root, e))?;
        if !meta.is_dir() {
            return Err(SourceError::InvalidTarget {
                target: root.display().to_string(),
                reason: "not a directory".to_string(),
            });
        }
        Ok(Opened::Tree {
            root: root.clone(),
            walk,
        })
    };
    match target {
        Target::Dir(p) | Target::Rootfs(p) => tree(p, opts.walk.clone()),
        Target::Host => {
            let mut walk = opts.walk.clone();
            let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
            walk.exclude_paths.extend(host_excludes(&mountinfo));
            tree(&PathBuf::from("/"), walk)
        }
        Target::DockerArchive { path, tag } => Ok(Opened::Image(Box::new(open_docker_archive(
            path,
            tag.as_deref(),
            opts.platform.as_ref(),
            limits,
        )?))),
        Target::OciArchive { path, tag } => Ok(Opened::Image(Box::new(open_oci_archive(
            path,
            tag.as_deref(),
            opts.platform.as_ref(),
            limits,
        )?))),
        Target::OciDir { path, tag } => Ok(Opened::Image(Box::new(open_oci_dir(
            path,
            tag.as_deref(),
            opts.platform.as_ref(),
            limits,
        )?))),
        Target::Registry(r) => {
            let mut ro = opts.registry.clone();
            if ro.platform.is_none() {
                ro.platform.clone_from(&opts.platform);
            }
            Ok(Opened::Image(Box::new(open_registry_image(
                r, &ro, limits,
            )?)))
        }
        Target::Sbom(p) => {
            std::fs::metadata(p).map_err(|e| SourceError::io(p, e))?;
            Ok(Opened::Sbom(p.clone()))
        }
    }
}

/// One file in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListedFile {
    pub path: VPath,
    pub kind: FileKind,
    pub size: u64,
    /// Permission bits, written as octal text (`0755`).
    #[serde(serialize_with = "octal")]
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// For images: the index of the layer that introduced this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// For images: that layer's `diff_id` (shared, not copied per file).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_digest: Option<Arc<Digest>>,
    /// For image history: how and in which layer this version went away.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Removal>,
}

fn octal<S: serde::Serializer>(mode: &u32, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(&format_args!("{mode:04o}"))
}

/// A layer as listed.
#[derive(Debug, Clone, Serialize)]
pub struct LayerSummary {
    pub index: usize,
    pub diff_id: Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob_digest: Option<Digest>,
    pub compression: Compression,
    pub compressed_bytes: u64,
    pub uncompressed_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// What is known about a listed image.
#[derive(Debug, Clone, Serialize)]
pub struct ImageSummary {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_digest: Option<Digest>,
    /// The image id: the config blob's digest.
    pub config_digest: Digest,
    pub platform: String,
    pub layers: Vec<LayerSummary>,
}

/// Everything a target holds, as files, history and skips.
#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub target: String,
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<ImageSummary>,
    /// Files visible in the target (for images: in a container's view).
    pub files: Vec<ListedFile>,
    /// For images: versions deleted or replaced by later layers.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<ListedFile>,
    /// Entries not read, with reasons.
    pub skips: Vec<Skip>,
}

/// Opens and lists `target`. `progress(done, total)` is called per layer
/// for images.
///
/// # Errors
/// As [`open`], plus errors reading layers; SBOM documents are not listed
/// here (they hold packages, not files).
pub fn list(
    target: &Target,
    spec: &str,
    opts: &OpenOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Listing> {
    match open(target, opts)? {
        Opened::Tree { root, walk } => {
            let (files, skips) = walk_collect(&root, &walk)?;
            Ok(Listing {
                target: spec.to_string(),
                kind: target.kind(),
                image: None,
                files: files
                    .into_iter()
                    .map(|w| ListedFile {
                        path: w.path,
                        kind: w.kind,
                        size: w.size,
                        mode: w.mode,
                        uid: w.uid,
                        gid: w.gid,
                        link: w.link,
                        layer: None,
                        layer_digest: None,
                        removed: None,
                    })
                    .collect(),
                removed: Vec::new(),
                skips,
            })
        }
        Opened::Image(image) => list_image(&image, spec, target.kind(), progress),
        Opened::Sbom(p) => Err(SourceError::Unsupported {
            what: "listing".to_string(),
            detail: format!(
                "{} is an SBOM document: it lists packages, not files",
                p.display()
            ),
        }),
    }
}

fn list_image(
    image: &Image,
    spec: &str,
    kind: &'static str,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Listing> {
    let total = image.layers.len();
    let (view, stats) = image.index_with_progress(|i, _| progress(i + 1, total))?;
    let digests: Vec<Arc<Digest>> = image
        .layers
        .iter()
        .map(|l| Arc::new(l.diff_id.clone()))
        .collect();
    let digest_of = |layer: usize| digests.get(layer).cloned();
    let listed = |p: &VPath, v: &crate::image::Version| ListedFile {
        path: p.clone(),
        kind: v.kind,
        size: v.size,
        mode: v.mode,
        uid: v.uid,
        gid: v.gid,
        link: v.link.as_deref().map(|l| {
            if v.kind == FileKind::Hardlink {
                format!("/{}", escape_bytes(l))
            } else {
                escape_bytes(l)
            }
        }),
        layer: Some(v.layer),
        layer_digest: digest_of(v.layer),
        removed: v.removed,
    };
    let files = view.files().map(|(p, v)| listed(p, v)).collect();
    let removed = view.removed().map(|(p, v)| listed(p, v)).collect();
    Ok(Listing {
        target: spec.to_string(),
        kind,
        image: Some(summary(image, &stats)),
        files,
        removed,
        skips: view.skips().to_vec(),
    })
}

fn summary(image: &Image, stats: &[LayerStats]) -> ImageSummary {
    ImageSummary {
        reference: image.reference.clone(),
        manifest_digest: image.manifest_digest.clone(),
        config_digest: image.config_digest.clone(),
        platform: image.platform().to_string(),
        layers: image
            .layers
            .iter()
            .zip(stats)
            .map(|(l, s)| LayerSummary {
                index: l.index,
                diff_id: l.diff_id.clone(),
                blob_digest: l.blob_digest.clone(),
                compression: s.compression,
                compressed_bytes: s.compressed_bytes,
                uncompressed_bytes: s.uncompressed_bytes,
                created_by: l.created_by.clone(),
            })
            .collect(),
    }
}
