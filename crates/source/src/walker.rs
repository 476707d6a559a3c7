//! The file walker every scanner shares: parallel, with gitignore-style
//! excludes, size and depth limits; symlinks are reported, never followed;
//! special files are skipped; every skip is recorded with its reason.

use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::overrides::{Override, OverrideBuilder};
use ignore::{WalkBuilder, WalkState};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SourceError};
use crate::record::{FileKind, Skip};
use crate::vpath::VPath;

/// How to walk a directory tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WalkOptions {
    /// gitignore-style patterns of paths to leave out (`*.log`, `/var/cache`,
    /// `node_modules/`), relative to the target root.
    pub exclude: Vec<String>,
    /// Absolute directories never entered (the host's /proc, /sys, ...).
    pub exclude_paths: Vec<PathBuf>,
    /// Files larger than this are skipped (with a record); `None`: no limit.
    pub max_file_size: Option<u64>,
    /// Directories deeper than this are not entered (with a record).
    pub max_depth: usize,
    /// Honour `.gitignore` files found in the tree (off by default: ignored
    /// files can still hold secrets).
    pub respect_gitignore: bool,
    /// Worker threads; 0 picks one per core.
    pub threads: usize,
}

impl Default for WalkOptions {
    fn default() -> Self {
        WalkOptions {
            exclude: Vec::new(),
            exclude_paths: Vec::new(),
            max_file_size: None,
            max_depth: 256,
            respect_gitignore: false,
            threads: 0,
        }
    }
}

/// A file system entry the walk found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WalkedFile {
    /// Path relative to the walk's root.
    pub path: VPath,
    /// The path on disk.
    #[serde(skip)]
    pub abs: PathBuf,
    pub kind: FileKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// Symlink target as stored (not followed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
}

/// One thing the walk reports.
#[derive(Debug, Clone)]
pub enum WalkEvent {
    File(WalkedFile),
    Skip(Skip),
}

/// File system types under which the host walk never goes: kernel pseudo
/// file systems and network file systems.
const PSEUDO_FS: &[&str] = &[
    "proc",
    "sysfs",
    "devtmpfs",
    "devpts",
    "cgroup",
    "cgroup2",
    "securityfs",
    "debugfs",
    "tracefs",
    "pstore",
    "bpf",
    "configfs",
    "fusectl",
    "mqueue",
    "hugetlbfs",
    "binfmt_misc",
    "autofs",
    "efivarfs",
    "nsfs",
    "rpc_pipefs",
    "selinuxfs",
];
const NETWORK_FS: &[&str] = &[
    "nfs",
    "nfs4",
    "cifs",
    "smb3",
    "smbfs",
    "ceph",
    "glusterfs",
    "fuse.glusterfs",
    "fuse.sshfs",
    "afs",
    "lustre",
    "9p",
    "fuse.s3fs",
    "fuse.rclone",
    "fuse.gcsfuse",
    "fuse.davfs2",
    "davfs",
    "fuse.cephfs",
    "ncpfs",
    "coda",
];

/// The default directories a `host` walk leaves out: /proc, /sys, /dev,
/// /run, plus every mount of a pseudo or network file system listed in
/// `mountinfo` (the text of /proc/self/mountinfo).
#[must_use]
pub fn host_excludes(mountinfo: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = ["/proc", "/sys", "/dev", "/run"]
        .iter()
        .map(PathBuf::from)
        .collect();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let Some(mount_point) = left.split(' ').nth(4) else {
            continue;
        };
        let Some(fstype) = right.split(' ').next() else {
            continue;
        };
        if PSEUDO_FS.contains(&fstype) || NETWORK_FS.contains(&fstype) {
            let p = PathBuf::from(unescape_mountinfo(mount_point));
            if !out.iter().any(|e| p.starts_with(e)) && p != Path::new("/") {
                out.push(p);
            }
        }
    }
    out
}

/// mountinfo escapes space, tab, newline and backslash as `\ooo`.
fn unescape_mountinfo(s: &str) -> std::ffi::OsString {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    std::ffi::OsStr::from_bytes(&out).to_os_string()
}

/// Walks `root`, calling `f` from several threads for every entry and skip.
///
/// # Errors
/// Only when the root itself cannot be read or a pattern is invalid; every
/// problem below the root is a recorded skip.
pub fn walk(root: &Path, opts: &WalkOptions, f: impl Fn(WalkEvent) + Sync) -> Result<()> {
    // Absolute and free of symlinks, so that `exclude_paths` compare with
    // what the walk meets whatever path the user typed.
    let root = &std::fs::canonicalize(root).map_err(|e| SourceError::io(root, e))?;
    let meta = std::fs::metadata(root).map_err(|e| SourceError::io(root, e))?;
    if !meta.is_dir() {
        return Err(SourceError::InvalidTarget {
            target: root.display().to_string(),
            reason: "not a directory".to_string(),
        });
    }
    let excludes = build_excludes(root, &opts.exclude)?;
    let mut builder = WalkBuilder::new(root);
    builder
        .standard_filters(false)
        .git_ignore(opts.respect_gitignore)
        .require_git(false)
        .follow_links(false)
        .threads(opts.threads);
    let f = &f;
    let excludes = &excludes;
    builder
        .build_parallel()
        .run(|| Box::new(move |res| visit(root, opts, excludes, res, f)));
    Ok(())
}

/// [`walk`], collecting everything, sorted by path.
///
/// # Errors
/// As [`walk`].
pub fn walk_collect(root: &Path, opts: &WalkOptions) -> Result<(Vec<WalkedFile>, Vec<Skip>)> {
    let files = Mutex::new(Vec::new());
    let skips = Mutex::new(Vec::new());
    walk(root, opts, |ev| match ev {
        WalkEvent::File(w) => files
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(w),
        WalkEvent::Skip(s) => skips
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(s),
    })?;
    let mut files = files
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let mut skips = skips
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    files.sort_by(|a, b| a.path.cmp(&b.path));
    skips.sort();
    Ok((files, skips))
}

fn build_excludes(root: &Path, patterns: &[String]) -> Result<Override> {
    let mut b = OverrideBuilder::new(root);
    for p in patterns {
        // Override globs whitelist; a leading '!' turns one into an ignore.
        b.add(&format!("!{p}"))
            .map_err(|e| SourceError::InvalidTarget {
                target: p.clone(),
                reason: format!("invalid exclude pattern: {e}"),
            })?;
    }
    b.build().map_err(|e| SourceError::InvalidTarget {
        target: patterns.join(","),
        reason: format!("invalid exclude patterns: {e}"),
    })
}

fn rel_path(root: &Path, abs: &Path) -> VPath {
    let rel = abs.strip_prefix(root).unwrap_or(abs);
    VPath::from_relative(rel.as_os_str().as_bytes(), usize::MAX, usize::MAX).unwrap_or_default()
}

fn visit(
    root: &Path,
    opts: &WalkOptions,
    excludes: &Override,
    res: std::result::Result<ignore::DirEntry, ignore::Error>,
    f: &(impl Fn(WalkEvent) + Sync),
) -> WalkState {
    let entry = match res {
        Ok(e) => e,
        Err(err) => {
            let path = error_path(&err)
                .map(|p| rel_path(root, p))
                .unwrap_or_default();
            f(WalkEvent::Skip(Skip::at(
                &path,
                None,
                format!("unreadable: {}", error_message(&err)),
            )));
            return WalkState::Continue;
        }
    };
    if entry.depth() == 0 {
        return WalkState::Continue;
    }
    let abs = entry.path();
    let rel = rel_path(root, abs);
    let skip = |reason: String| {
        f(WalkEvent::Skip(Skip::at(&rel, None, reason)));
    };
    let Some(ft) = entry.file_type() else {
        skip("no file type (stdin?)".to_string());
        return WalkState::Continue;
    };
    if let Some(p) = opts.exclude_paths.iter().find(|p| abs.starts_with(p)) {
        skip(format!("excluded path {}", p.display()));
        return WalkState::Skip;
    }
    if excludes.matched(abs, ft.is_dir()).is_ignore() {
        skip("excluded by pattern".to_string());
        return WalkState::Skip;
    }
    let meta = match std::fs::symlink_metadata(abs) {
        Ok(m) => m,
        Err(e) => {
            skip(format!("unreadable: {e}"));
            return WalkState::Continue;
        }
    };
    let kind = if ft.is_dir() {
        FileKind::Dir
    } else if ft.is_file() {
        FileKind::File
    } else if ft.is_symlink() {
        FileKind::Symlink
    } else {
        let what = if ft.is_socket() {
            "socket"
        } else if ft.is_fifo() {
            "named pipe"
        } else if ft.is_block_device() {
            "block device"
        } else if ft.is_char_device() {
            "character device"
        } else {
            "special file"
        };
        skip(format!("{what} (not read)"));
        return WalkState::Continue;
    };
    if kind == FileKind::File
        && let Some(max) = opts.max_file_size
        && meta.len() > max
    {
        skip(format!("larger than the {max}-byte file size limit"));
        return WalkState::Continue;
    }
    let link = if kind == FileKind::Symlink {
        std::fs::read_link(abs)
            .ok()
            .map(|t| crate::vpath::escape_bytes(t.as_os_str().as_bytes()))
    } else {
        None
    };
    f(WalkEvent::File(WalkedFile {
        path: rel.clone(),
        abs: abs.to_path_buf(),
        kind,
        size: if kind == FileKind::File {
            meta.len()
        } else {
            0
        },
        mode: meta.mode() & 0o7777,
        uid: u64::from(meta.uid()),
        gid: u64::from(meta.gid()),
        mtime: u64::try_from(meta.mtime()).unwrap_or(0),
        link,
    }));
    if kind == FileKind::Dir && entry.depth() >= opts.max_depth {
        skip(format!(
            "contents not read: deeper than {} directories",
            opts.max_depth
        ));
        return WalkState::Skip;
    }
    WalkState::Continue
}

fn error_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            error_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

fn error_message(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. }
        | ignore::Error::WithDepth { err, .. }
        | ignore::Error::WithLineNumber { err, .. } => error_message(err),
        other => other.to_string(),
    }
}

/// Resolves `path` inside a root file system on disk the way a process
/// chrooted into `root` would: symlinks are followed (absolute targets start
/// at `root`, `..` stops at `root`), at most 40. Returns the resolved path on
/// disk, or `None` when it does not exist or loops. Nothing outside `root`
/// is ever touched.
#[must_use]
pub fn resolve_in_root(root: &Path, path: &VPath) -> Option<PathBuf> {
    let mut pending: Vec<Vec<u8>> = path
        .as_bytes()
        .split(|&b| b == b'/')
        .rev()
        .filter(|c| !c.is_empty())
        .map(<[u8]>::to_vec)
        .collect();
    let mut current: Vec<Vec<u8>> = Vec::new();
    let mut hops = 0;
    while let Some(comp) = pending.pop() {
        match comp.as_slice() {
            b"." => continue,
            b".." => {
                current.pop();
                continue;
            }
            _ => {}
        }
        let mut on_disk = root.to_path_buf();
        for c in current.iter().chain(std::iter::once(&comp)) {
            on_disk.push(std::ffi::OsStr::from_bytes(c));
        }
        let meta = std::fs::symlink_metadata(&on_disk).ok()?;
        if meta.file_type().is_symlink() {
            hops += 1;
            if hops > 40 {
                return None;
            }
            let target = std::fs::read_link(&on_disk).ok()?;
            let t = target.as_os_str().as_bytes();
            if t.first() == Some(&b'/') {
                current.clear();
            }
            pending.extend(
                t.split(|&b| b == b'/')
                    .rev()
                    .filter(|c| !c.is_empty())
                    .map(<[u8]>::to_vec),
            );
        } else {
            current.push(comp);
        }
    }
    let mut out = root.to_path_buf();
    for c in &current {
        out.push(std::ffi::OsStr::from_bytes(c));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_excludes_pick_pseudo_and_network_mounts() {
        let mi = "\
22 1 8:1 / / rw,relatime - ext4 /dev/vda rw
23 22 0:5 / /proc rw - proc proc rw
24 22 0:6 / /mnt/share rw - nfs4 srv:/export rw
25 22 0:7 / /mnt/my\\040disk rw - cifs //x/y rw
26 22 0:8 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
27 22 0:9 / /data rw - xfs /dev/vdb rw
";
        let ex = host_excludes(mi);
        assert!(ex.contains(&PathBuf::from("/mnt/share")));
        assert!(ex.contains(&PathBuf::from("/mnt/my disk")));
        assert!(!ex.contains(&PathBuf::from("/data")));
        assert!(
            !ex.contains(&PathBuf::from("/sys/fs/cgroup")),
            "already under /sys"
        );
        assert!(ex.contains(&PathBuf::from("/proc")));
    }
}
