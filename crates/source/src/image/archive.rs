//! Images stored locally: an OCI image layout directory, the same layout in
//! a tar file (oci-archive), and `docker save` output (docker-archive).

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::Path;

use super::spec::{ANNOTATION_REF_NAME, DockerArchiveEntry};
use super::store::TarStore;
use super::{
    BlobStore, DirStore, Image, ImageParts, Index, Manifest, MediaTypeProbe, Platform,
    is_index_type, is_manifest_type, read_document,
};
use crate::digest::Digest;
use crate::error::{Result, SourceError};
use crate::limits::Limits;
use crate::vpath::VPath;

const CONTAINERD_NAME: &str = "io.containerd.image.name";

/// Opens an OCI image layout directory, selecting the manifest tagged `tag`
/// (or the only one), for `platform` when the layout holds an index.
///
/// # Errors
/// Not a layout, ambiguous or unmatched selection, missing or corrupt blobs.
pub fn open_oci_dir(
    path: &Path,
    tag: Option<&str>,
    platform: Option<&Platform>,
    limits: &Limits,
) -> Result<Image> {
    let meta = std::fs::metadata(path).map_err(|e| SourceError::io(path, e))?;
    if !meta.is_dir() {
        return Err(SourceError::InvalidTarget {
            target: path.display().to_string(),
            reason: "oci-dir: needs a directory holding an OCI image layout".to_string(),
        });
    }
    let store = DirStore::new(path.to_path_buf(), limits.clone());
    let source = format!("oci-dir:{}", path.display());
    open_layout(Box::new(store), source, tag, platform, limits, None)
}

/// Opens an OCI image layout packed in a tar file.
///
/// # Errors
/// As [`open_oci_dir`], plus an unreadable archive.
pub fn open_oci_archive(
    path: &Path,
    tag: Option<&str>,
    platform: Option<&Platform>,
    limits: &Limits,
) -> Result<Image> {
    let (store, scratch) = archive_store(path, limits)?;
    let source = format!("oci-archive:{}", path.display());
    open_layout(store, source, tag, platform, limits, scratch)
}

/// Opens `docker save` output, selecting the image tagged `tag` when the
/// archive holds several.
///
/// # Errors
/// Not a docker archive, ambiguous or unmatched selection, missing or
/// corrupt members.
pub fn open_docker_archive(
    path: &Path,
    tag: Option<&str>,
    platform: Option<&Platform>,
    limits: &Limits,
) -> Result<Image> {
    let (store, scratch) = archive_store(path, limits)?;
    let what = format!("docker-archive {}", path.display());
    let raw = read_document(store.as_ref(), "manifest.json", "manifest.json", limits).map_err(
        |e| match e {
            SourceError::MissingBlob { .. } => SourceError::malformed(
                what.clone(),
                "no manifest.json (is this `docker save` output?)",
            ),
            other => other,
        },
    )?;
    let entries: Vec<DockerArchiveEntry> = serde_json::from_slice(&raw)
        .map_err(|e| SourceError::malformed(format!("{what} manifest.json"), e))?;
    let tags = |e: &DockerArchiveEntry| e.repo_tags.clone().unwrap_or_default();
    let chosen = match tag {
        Some(t) => entries
            .iter()
            .find(|e| tags(e).iter().any(|rt| rt == t))
            .or_else(|| {
                let by_tag: Vec<_> = entries
                    .iter()
                    .filter(|e| {
                        tags(e)
                            .iter()
                            .any(|rt| rt.rsplit_once(':').is_some_and(|(_, tt)| tt == t))
                    })
                    .collect();
                // A bare tag selects only when it is unambiguous.
                if let [one] = by_tag.as_slice() {
                    Some(*one)
                } else {
                    None
                }
            })
            .ok_or_else(|| SourceError::NoMatch {
                what: what.clone(),
                wanted: format!("tag {t:?}"),
                choices: entries.iter().flat_map(tags).collect(),
            })?,
        None => match entries.as_slice() {
            [one] => one,
            [] => {
                return Err(SourceError::malformed(
                    format!("{what} manifest.json"),
                    "lists no image",
                ));
            }
            many => {
                return Err(SourceError::Ambiguous {
                    what,
                    reason: format!("{} images; add :TAG to the target", many.len()),
                    choices: many
                        .iter()
                        .enumerate()
                        .map(|(i, e)| {
                            let t = tags(e);
                            if t.is_empty() {
                                format!("#{i} (untagged)")
                            } else {
                                t.join(" ")
                            }
                        })
                        .collect(),
                });
            }
        },
    };
    let layers = chosen
        .layers
        .iter()
        .map(|l| (l.clone(), digest_from_member_name(l), String::new()))
        .collect();
    let parts = ImageParts {
        source: format!("docker-archive:{}", path.display()),
        reference: tag
            .map(str::to_string)
            .or_else(|| tags(chosen).into_iter().next()),
        manifest_digest: None,
        config_location: chosen.config.clone(),
        config_digest: digest_from_member_name(&chosen.config),
        layers,
        scratch,
    };
    let image = Image::build(store, parts, limits)?;
    if let Some(want) = platform
        && !want.accepts(&image.platform())
    {
        return Err(SourceError::NoMatch {
            what: format!("docker-archive {}", path.display()),
            wanted: format!("platform {want}"),
            choices: vec![format!(
                "{} [{}]",
                image.reference.clone().unwrap_or_default(),
                image.platform()
            )],
        });
    }
    Ok(image)
}

/// Member names that are digests (`blobs/sha256/<hex>`, `<hex>.json`) are
/// checked against their content.
fn digest_from_member_name(name: &str) -> Option<Digest> {
    let trimmed = name.trim_start_matches("./");
    if let Some(rest) = trimmed.strip_prefix("blobs/") {
        let (alg, hex) = rest.split_once('/')?;
        return format!("{alg}:{hex}").parse().ok();
    }
    let hex = trimmed.strip_suffix(".json")?;
    format!("sha256:{hex}").parse().ok()
}

/// A store over an archive file: read in place when uncompressed; a gzip-
/// compressed archive is unpacked (regular files only, names normalised,
/// size bounded) into a temporary directory Rampart owns.
fn archive_store(
    path: &Path,
    limits: &Limits,
) -> Result<(Box<dyn BlobStore>, Option<tempfile::TempDir>)> {
    let mut file = File::open(path).map_err(|e| SourceError::io(path, e))?;
    let mut magic = [0_u8; 2];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| SourceError::io(path, e))?;
    if n == 2 && magic == [0x1f, 0x8b] {
        let (dir, scratch) = unpack_gzip_archive(path, limits)?;
        return Ok((Box::new(DirStore::new(dir, limits.clone())), Some(scratch)));
    }
    Ok((Box::new(TarStore::index(path, limits)?), None))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match r.read(&mut buf[filled..])? {
            0 => break,
            n => filled += n,
        }
    }
    Ok(filled)
}

fn unpack_gzip_archive(
    path: &Path,
    limits: &Limits,
) -> Result<(std::path::PathBuf, tempfile::TempDir)> {
    let scratch = tempfile::Builder::new()
        .prefix("rampart-archive-")
        .tempdir()
        .map_err(|e| SourceError::io(std::env::temp_dir(), e))?;
    let file = File::open(path).map_err(|e| SourceError::io(path, e))?;
    let (counted, compressed) =
        crate::digest::HashingReader::new(file, crate::digest::Algorithm::Sha256);
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(BufReader::new(counted)));
    let ctx = || format!("reading compressed archive {}", path.display());
    let mut total: u64 = 0;
    for entry in archive.entries().map_err(|e| SourceError::read(ctx(), e))? {
        let mut entry = entry.map_err(|e| SourceError::read(ctx(), e))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let Ok(key) =
            VPath::from_archive(&entry.path_bytes(), limits.max_path_bytes, limits.max_depth)
        else {
            continue;
        };
        total = total.saturating_add(entry.size());
        if total > limits.ratio_check_after
            && total / compressed.bytes().max(1) > limits.max_compression_ratio
        {
            return Err(SourceError::CompressionRatio {
                what: format!("compressed archive {}", path.display()),
                ratio: limits.max_compression_ratio,
            });
        }
        if total > limits.max_blob_bytes {
            return Err(SourceError::TooLarge {
                what: format!("unpacked archive {}", path.display()),
                limit: limits.max_blob_bytes,
                hint: " (raise limits.max_blob_bytes)",
            });
        }
        let mut dest = scratch.path().to_path_buf();
        for comp in key.as_bytes().split(|&b| b == b'/') {
            dest.push(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(comp));
        }
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SourceError::io(parent, e))?;
        }
        let mut out = File::create(&dest).map_err(|e| SourceError::io(&dest, e))?;
        io::copy(&mut (&mut entry).take(limits.max_blob_bytes), &mut out)
            .map_err(|e| SourceError::read(ctx(), e))?;
    }
    let dir = scratch.path().to_path_buf();
    Ok((dir, scratch))
}

/// A manifest the selection can choose.
#[derive(Debug, Clone)]
pub(crate) struct Candidate {
    pub descriptor: super::Descriptor,
    pub platform: Option<Platform>,
    pub name: Option<String>,
}

impl Candidate {
    fn label(&self) -> String {
        let mut s = self
            .name
            .clone()
            .unwrap_or_else(|| "(untagged)".to_string());
        if let Some(p) = &self.platform {
            s.push_str(&format!(" [{p}]"));
        }
        s.push_str(&format!(" {}", self.descriptor.digest));
        s
    }
}

/// Chooses one manifest among candidates: by platform when asked, else the
/// only one, else the host's platform; otherwise an error listing choices.
pub(crate) fn select(
    candidates: Vec<Candidate>,
    platform: Option<&Platform>,
    what: &str,
) -> Result<Candidate> {
    // Attestation and signature manifests in build indexes say
    // unknown/unknown: they are not images to scan.
    let real: Vec<Candidate> = candidates
        .into_iter()
        .filter(|c| c.platform.as_ref().is_none_or(|p| p.os != "unknown"))
        .collect();
    let labels = || real.iter().map(Candidate::label).collect::<Vec<_>>();
    if let Some(want) = platform {
        let mut matching: Vec<&Candidate> = real
            .iter()
            .filter(|c| c.platform.as_ref().is_none_or(|p| want.accepts(p)))
            .collect();
        // Prefer candidates that state the platform over ones that don't.
        if matching.iter().any(|c| c.platform.is_some()) {
            matching.retain(|c| c.platform.is_some());
        }
        return match matching.as_slice() {
            [one] => Ok((*one).clone()),
            [] => Err(SourceError::NoMatch {
                what: what.to_string(),
                wanted: format!("platform {want}"),
                choices: labels(),
            }),
            _ => Err(SourceError::Ambiguous {
                what: what.to_string(),
                reason: format!(
                    "several manifests match platform {want}; add a variant (os/arch/variant) or select a tag"
                ),
                choices: labels(),
            }),
        };
    }
    match real.as_slice() {
        [one] => return Ok(one.clone()),
        [] => {
            return Err(SourceError::malformed(
                what,
                "the index lists no image manifest",
            ));
        }
        _ => {}
    }
    let host = Platform::host();
    let on_host: Vec<&Candidate> = real
        .iter()
        .filter(|c| c.platform.as_ref().is_some_and(|p| host.accepts(p)))
        .collect();
    let names: std::collections::BTreeSet<_> = real.iter().map(|c| c.name.clone()).collect();
    if let [one] = on_host.as_slice()
        && names.len() == 1
    {
        return Ok((*one).clone());
    }
    Err(SourceError::Ambiguous {
        what: what.to_string(),
        reason: if names.len() > 1 {
            "several images; add :TAG to the target".to_string()
        } else {
            "several platforms; choose one with --platform".to_string()
        },
        choices: labels(),
    })
}

/// Expands index entries that are themselves indexes into their manifests;
/// `fetch` returns a nested index's bytes, verified against its digest.
pub(crate) fn expand(
    fetch: &mut dyn FnMut(&Digest) -> Result<Vec<u8>>,
    descriptors: Vec<(super::Descriptor, Option<String>)>,
    limits: &Limits,
    depth: usize,
) -> Result<Vec<Candidate>> {
    let mut out = Vec::new();
    for (d, name) in descriptors {
        if is_index_type(&d.media_type) {
            if depth >= limits.max_index_depth {
                return Err(SourceError::malformed(
                    "image index",
                    "indexes nested too deeply",
                ));
            }
            let raw = fetch(&d.digest)?;
            let index: Index = serde_json::from_slice(&raw)
                .map_err(|e| SourceError::malformed("image index", e))?;
            out.extend(expand_remote(fetch, index, name, limits, depth + 1)?);
        } else if is_manifest_type(&d.media_type) || d.media_type.is_empty() {
            out.push(Candidate {
                platform: d.platform.clone(),
                descriptor: d,
                name,
            });
        }
        // Other media types (signatures, artifacts) are not images.
    }
    Ok(out)
}

/// [`expand`] for the entries of an index already read.
pub(crate) fn expand_remote(
    fetch: &mut dyn FnMut(&Digest) -> Result<Vec<u8>>,
    index: Index,
    name: Option<String>,
    limits: &Limits,
    depth: usize,
) -> Result<Vec<Candidate>> {
    let inner = index
        .manifests
        .into_iter()
        .map(|m| (m, name.clone()))
        .collect();
    expand(fetch, inner, limits, depth)
}

/// The path of a blob inside an OCI layout.
pub(crate) fn blob_path(d: &Digest) -> String {
    format!("blobs/{}/{}", d.algorithm().as_str(), d.hex())
}

/// Reads a manifest blob, verifies it, and turns it into image parts.
pub(crate) fn manifest_parts(
    store: &dyn BlobStore,
    chosen: &Candidate,
    source: String,
    limits: &Limits,
    scratch: Option<tempfile::TempDir>,
) -> Result<ImageParts> {
    let raw = read_document(
        store,
        &blob_path(&chosen.descriptor.digest),
        "image manifest",
        limits,
    )?;
    chosen.descriptor.digest.verify("image manifest", &raw)?;
    let probe: MediaTypeProbe =
        serde_json::from_slice(&raw).map_err(|e| SourceError::malformed("image manifest", e))?;
    if !is_manifest_type(probe.kind()) {
        return Err(SourceError::Unsupported {
            what: "manifest".to_string(),
            detail: format!("media type {:?} is not an image manifest", probe.kind()),
        });
    }
    let manifest: Manifest =
        serde_json::from_slice(&raw).map_err(|e| SourceError::malformed("image manifest", e))?;
    Ok(ImageParts {
        source,
        reference: chosen.name.clone(),
        manifest_digest: Some(chosen.descriptor.digest.clone()),
        config_location: blob_path(&manifest.config.digest),
        config_digest: Some(manifest.config.digest.clone()),
        layers: manifest
            .layers
            .iter()
            .map(|l| {
                (
                    blob_path(&l.digest),
                    Some(l.digest.clone()),
                    l.media_type.clone(),
                )
            })
            .collect(),
        scratch,
    })
}

fn open_layout(
    store: Box<dyn BlobStore>,
    source: String,
    tag: Option<&str>,
    platform: Option<&Platform>,
    limits: &Limits,
    scratch: Option<tempfile::TempDir>,
) -> Result<Image> {
    let raw_layout =
        read_document(store.as_ref(), "oci-layout", "oci-layout", limits).map_err(|e| match e {
            SourceError::MissingBlob { .. } => SourceError::malformed(
                source.clone(),
                "no oci-layout file: not an OCI image layout",
            ),
            other => other,
        })?;
    let layout: serde_json::Value =
        serde_json::from_slice(&raw_layout).map_err(|e| SourceError::malformed("oci-layout", e))?;
    if layout
        .get("imageLayoutVersion")
        .and_then(serde_json::Value::as_str)
        .is_none()
    {
        return Err(SourceError::malformed(
            "oci-layout",
            "no imageLayoutVersion",
        ));
    }
    let raw = read_document(store.as_ref(), "index.json", "index.json", limits)?;
    let index: Index =
        serde_json::from_slice(&raw).map_err(|e| SourceError::malformed("index.json", e))?;
    let name_of = |d: &super::Descriptor| {
        d.annotations
            .get(ANNOTATION_REF_NAME)
            .or_else(|| d.annotations.get(CONTAINERD_NAME))
            .cloned()
    };
    let all: Vec<(super::Descriptor, Option<String>)> = index
        .manifests
        .into_iter()
        .map(|d| (name_of(&d), d))
        .map(|(n, d)| (d, n))
        .collect();
    let tagged: Vec<_> = match tag {
        Some(t) => {
            let matches_tag = |n: &Option<String>| {
                n.as_deref()
                    .is_some_and(|n| n == t || n.rsplit_once(':').is_some_and(|(_, tt)| tt == t))
            };
            let found: Vec<_> = all
                .iter()
                .filter(|(_, n)| matches_tag(n))
                .cloned()
                .collect();
            if found.is_empty() {
                return Err(SourceError::NoMatch {
                    what: source,
                    wanted: format!("tag {t:?}"),
                    choices: all
                        .iter()
                        .map(|(d, n)| format!("{} {}", n.clone().unwrap_or_default(), d.digest))
                        .collect(),
                });
            }
            found
        }
        None => all,
    };
    let mut fetch = |d: &Digest| -> Result<Vec<u8>> {
        let raw = read_document(store.as_ref(), &blob_path(d), "image index", limits)?;
        d.verify("image index", &raw)?;
        Ok(raw)
    };
    let candidates = expand(&mut fetch, tagged, limits, 0)?;
    let chosen = select(candidates, platform, &source)?;
    let mut parts = manifest_parts(store.as_ref(), &chosen, source, limits, scratch)?;
    if parts.reference.is_none() {
        parts.reference = tag.map(str::to_string);
    }
    Image::build(store, parts, limits)
}

/// [`sniff_archive`] for a gzip-compressed tar: reads member names only
/// (bounded by the entry limit), writing nothing.
fn sniff_gzip_archive(path: &Path, limits: &Limits) -> Option<ArchiveKind> {
    let file = File::open(path).ok()?;
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(BufReader::new(file)));
    let (mut manifest, mut layout, mut index) = (false, false, false);
    let max = usize::try_from(limits.max_entries_per_layer).unwrap_or(usize::MAX);
    for entry in archive.entries().ok()?.take(max) {
        let entry = entry.ok()?;
        let Ok(name) =
            VPath::from_archive(&entry.path_bytes(), limits.max_path_bytes, limits.max_depth)
        else {
            continue;
        };
        match name.as_bytes() {
            b"manifest.json" => manifest = true,
            b"oci-layout" => layout = true,
            b"index.json" => index = true,
            _ => {}
        }
    }
    if manifest {
        Some(ArchiveKind::Docker)
    } else if layout && index {
        Some(ArchiveKind::Oci)
    } else {
        None
    }
}

/// What an image archive file holds, judged by its members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ArchiveKind {
    Docker,
    Oci,
}

/// Looks at an (uncompressed) tar's member names to tell docker-archive
/// from oci-archive. `None` when it is neither (or not a tar).
pub(crate) fn sniff_archive(path: &Path, limits: &Limits) -> Option<ArchiveKind> {
    let mut file = File::open(path).ok()?;
    let mut magic = [0_u8; 2];
    if read_up_to(&mut file, &mut magic).ok()? == 2 && magic == [0x1f, 0x8b] {
        return sniff_gzip_archive(path, limits);
    }
    let store = TarStore::index(path, limits).ok()?;
    if store.contains("manifest.json") {
        Some(ArchiveKind::Docker)
    } else if store.contains("oci-layout") && store.contains("index.json") {
        Some(ArchiveKind::Oci)
    } else {
        None
    }
}
