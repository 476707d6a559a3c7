//! Where an image's blobs live: a directory (OCI layout, or blobs a registry
//! pull downloaded), or members of an uncompressed tar archive read in place.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::error::{Result, SourceError};
use crate::limits::Limits;
use crate::vpath::VPath;

/// Something blobs can be read from by their relative path.
pub(crate) trait BlobStore: std::fmt::Debug + Send + Sync {
    /// Opens the member at `rel` (a path relative to the store's root).
    /// `Ok(None)` when there is no such member.
    fn open(&self, rel: &str) -> Result<Option<Blob>>;
}

/// An opened blob: a reader and the size the store knows for it.
pub(crate) struct Blob {
    pub reader: Box<dyn Read + Send>,
    pub size: u64,
}

impl std::fmt::Debug for Blob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blob")
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

/// Normalises a member path named by a document we read (manifest.json can
/// name anything, including `../../etc/shadow`).
fn member_key(rel: &str, limits: &Limits) -> Result<VPath> {
    VPath::from_archive(rel.as_bytes(), limits.max_path_bytes, limits.max_depth)
        .map_err(|p| SourceError::malformed(format!("blob path {rel:?}"), p))
}

/// Blobs in a directory.
#[derive(Debug)]
pub(crate) struct DirStore {
    root: PathBuf,
    limits: Limits,
}

impl DirStore {
    pub(crate) fn new(root: PathBuf, limits: Limits) -> Self {
        DirStore { root, limits }
    }
}

impl BlobStore for DirStore {
    fn open(&self, rel: &str) -> Result<Option<Blob>> {
        let key = member_key(rel, &self.limits)?;
        let mut path = self.root.clone();
        for comp in key.as_bytes().split(|&b| b == b'/') {
            path.push(std::ffi::OsStr::from_bytes(comp));
        }
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(SourceError::io(&path, e)),
        };
        if !meta.is_file() {
            return Err(SourceError::malformed(
                format!("blob {}", path.display()),
                "not a regular file (symlinks and special files are not followed)",
            ));
        }
        let file = File::open(&path).map_err(|e| SourceError::io(&path, e))?;
        Ok(Some(Blob {
            reader: Box::new(BufReader::with_capacity(256 << 10, file)),
            size: meta.len(),
        }))
    }
}

/// Members of an uncompressed tar file, located once by walking its headers
/// and then read in place with seeks: nothing is extracted.
#[derive(Debug)]
pub(crate) struct TarStore {
    path: PathBuf,
    members: HashMap<VPath, (u64, u64)>,
    limits: Limits,
}

impl TarStore {
    /// Indexes the regular-file members of the tar at `path`.
    pub(crate) fn index(path: &Path, limits: &Limits) -> Result<Self> {
        let file = File::open(path).map_err(|e| SourceError::io(path, e))?;
        let mut archive = tar::Archive::new(file);
        let mut members = HashMap::new();
        let ctx = || format!("reading archive {}", path.display());
        let entries = archive
            .entries_with_seek()
            .map_err(|e| SourceError::read(ctx(), e))?;
        for entry in entries {
            let entry = entry.map_err(|e| SourceError::read(ctx(), e))?;
            let kind = entry.header().entry_type();
            if !(kind.is_file() || kind == tar::EntryType::Continuous) {
                continue;
            }
            let Ok(key) =
                VPath::from_archive(&entry.path_bytes(), limits.max_path_bytes, limits.max_depth)
            else {
                // Unusable member names can never be what a manifest names
                // after normalisation, so they are simply not indexed.
                continue;
            };
            members.insert(key, (entry.raw_file_position(), entry.size()));
        }
        Ok(TarStore {
            path: path.to_path_buf(),
            members,
            limits: limits.clone(),
        })
    }

    /// True when a member with this normalised name exists.
    pub(crate) fn contains(&self, rel: &str) -> bool {
        member_key(rel, &self.limits).is_ok_and(|k| self.members.contains_key(&k))
    }
}

impl BlobStore for TarStore {
    fn open(&self, rel: &str) -> Result<Option<Blob>> {
        let key = member_key(rel, &self.limits)?;
        let Some(&(offset, size)) = self.members.get(&key) else {
            return Ok(None);
        };
        let mut file = File::open(&self.path).map_err(|e| SourceError::io(&self.path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| SourceError::io(&self.path, e))?;
        Ok(Some(Blob {
            reader: Box::new(BufReader::with_capacity(256 << 10, file.take(size))),
            size,
        }))
    }
}

/// Reads a whole small document (manifest, index, config) from a store,
/// refusing anything larger than the metadata limit.
pub(crate) fn read_document(
    store: &dyn BlobStore,
    rel: &str,
    what: &str,
    limits: &Limits,
) -> Result<Vec<u8>> {
    let Some(blob) = store.open(rel)? else {
        return Err(SourceError::MissingBlob {
            what: what.to_string(),
            digest: rel.to_string(),
        });
    };
    if blob.size > limits.max_metadata_bytes {
        return Err(SourceError::TooLarge {
            what: what.to_string(),
            limit: limits.max_metadata_bytes,
            hint: " (raise limits.max_metadata_bytes)",
        });
    }
    let mut buf = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
    blob.reader
        .take(limits.max_metadata_bytes + 1)
        .read_to_end(&mut buf)
        .map_err(|e| SourceError::read(format!("reading {what}"), e))?;
    if buf.len() as u64 > limits.max_metadata_bytes {
        return Err(SourceError::TooLarge {
            what: what.to_string(),
            limit: limits.max_metadata_bytes,
            hint: " (raise limits.max_metadata_bytes)",
        });
    }
    Ok(buf)
}
