//! Reading files of a root file system without ever leaving it: every path
//! is resolved inside the root (symlinks included, absolute ones taken as
//! relative to the root), and reads are bounded.

use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use rampart_source::VPath;
use rampart_source::walker::resolve_in_root;
use serde_json::{Value, json};

/// The most bytes read from one configuration file.
pub(crate) const MAX_FILE: u64 = 4 << 20;
/// The most entries read from one directory.
const MAX_DIR: usize = 4096;

/// A root file system (the host's `/` or an unpacked tree).
#[derive(Debug, Clone)]
pub(crate) struct Root {
    base: PathBuf,
}

impl Root {
    pub(crate) fn new(base: &Path) -> Self {
        Root {
            base: base.to_path_buf(),
        }
    }

    /// The on-disk path of `path` (absolute inside the root), with every
    /// symlink resolved inside the root.
    pub(crate) fn resolve(&self, path: &str) -> Option<PathBuf> {
        let vp = VPath::from_relative(path.as_bytes(), 4096, 256).ok()?;
        resolve_in_root(&self.base, &vp)
    }

    /// A file's text (lossy UTF-8), at most [`MAX_FILE`] bytes.
    pub(crate) fn read(&self, path: &str) -> Option<String> {
        let p = self.resolve(path)?;
        let meta = std::fs::metadata(&p).ok()?;
        if !meta.is_file() {
            return None;
        }
        let mut buf = Vec::new();
        std::fs::File::open(&p)
            .ok()?
            .take(MAX_FILE)
            .read_to_end(&mut buf)
            .ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    }

    /// Whether something exists at `path` (after resolution).
    pub(crate) fn exists(&self, path: &str) -> bool {
        self.resolve(path)
            .is_some_and(|p| std::fs::symlink_metadata(p).is_ok())
    }

    /// Mode, owner and type of `path`, as facts.
    pub(crate) fn stat(&self, path: &str) -> Option<Stat> {
        let p = self.resolve(path)?;
        let m = std::fs::symlink_metadata(&p).ok()?;
        let kind = if m.is_dir() {
            "dir"
        } else if m.is_file() {
            "file"
        } else if m.file_type().is_symlink() {
            "symlink"
        } else {
            "other"
        };
        Some(Stat {
            mode: m.mode() & 0o7777,
            uid: u64::from(m.uid()),
            gid: u64::from(m.gid()),
            kind,
        })
    }

    /// Names in a directory, sorted (empty when absent).
    pub(crate) fn list(&self, dir: &str) -> Vec<String> {
        let Some(p) = self.resolve(dir) else {
            return Vec::new();
        };
        let Ok(rd) = std::fs::read_dir(p) else {
            return Vec::new();
        };
        let mut names: Vec<String> = rd
            .filter_map(std::result::Result::ok)
            .take(MAX_DIR)
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// The files of `dir` whose names end with `suffix` (all when empty),
    /// with their text, sorted by name.
    pub(crate) fn read_dir_files(&self, dir: &str, suffix: &str) -> Vec<(String, String)> {
        self.list(dir)
            .into_iter()
            .filter(|n| n.ends_with(suffix) && !n.starts_with('.'))
            .filter_map(|n| {
                let path = format!("{}/{n}", dir.trim_end_matches('/'));
                self.read(&path).map(|t| (path, t))
            })
            .collect()
    }

    /// Where a symlink at `path` points, read without following it (its
    /// parent directories are resolved inside the root).
    pub(crate) fn link_target(&self, path: &str) -> Option<String> {
        let (parent, name) = path.rsplit_once('/')?;
        let dir = self.resolve(if parent.is_empty() { "/" } else { parent })?;
        let t = std::fs::read_link(dir.join(name)).ok()?;
        Some(t.to_string_lossy().into_owned())
    }
}

/// Mode (permission bits with setuid/setgid/sticky), owner and type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stat {
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub kind: &'static str,
}

impl Stat {
    pub(crate) fn to_json(
        self,
        users: &dyn Fn(u64) -> Option<String>,
        groups: &dyn Fn(u64) -> Option<String>,
    ) -> Value {
        json!({
            "type": self.kind,
            "mode": self.mode,
            "perm": format!("{:04o}", self.mode),
            "uid": self.uid,
            "gid": self.gid,
            "owner": users(self.uid),
            "group": groups(self.gid),
        })
    }
}
