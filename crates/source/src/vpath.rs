//! Paths inside a target, kept as raw bytes (file names need not be UTF-8),
//! normalised so that nothing can point outside the target's root.

use std::fmt::{self, Write as _};
use std::ops::Bound;

use serde::{Serialize, Serializer};

/// A normalised path relative to a target's root: no leading `/`, no `.` or
/// `..` components, no empty components. The empty path is the root itself.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct VPath(Vec<u8>);

/// Why an entry's name cannot be used as a path inside the target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathProblem {
    #[error("absolute path")]
    Absolute,
    #[error("path climbs out of the root with '..'")]
    EscapesRoot,
    #[error("path is longer than {0} bytes")]
    TooLong(usize),
    #[error("path is deeper than {0} directories")]
    TooDeep(usize),
    #[error("path contains a NUL byte")]
    Nul,
}

impl VPath {
    /// The root of the target.
    #[must_use]
    pub fn root() -> Self {
        VPath(Vec::new())
    }

    /// Normalises an archive member name. `./` prefixes, repeated slashes and
    /// a trailing slash are accepted; `..` is resolved lexically and refused
    /// when it would leave the root; absolute names are refused.
    ///
    /// # Errors
    /// A [`PathProblem`] saying why the name is unusable.
    pub fn from_archive(raw: &[u8], max_len: usize, max_depth: usize) -> Result<Self, PathProblem> {
        if raw.first() == Some(&b'/') {
            return Err(PathProblem::Absolute);
        }
        Self::normalise(raw, max_len, max_depth)
    }

    /// Normalises a path that is relative to the root by construction (as a
    /// directory walk produces); a leading `/` is simply dropped.
    ///
    /// # Errors
    /// A [`PathProblem`] saying why the path is unusable.
    pub fn from_relative(
        raw: &[u8],
        max_len: usize,
        max_depth: usize,
    ) -> Result<Self, PathProblem> {
        Self::normalise(raw, max_len, max_depth)
    }

    fn normalise(raw: &[u8], max_len: usize, max_depth: usize) -> Result<Self, PathProblem> {
        if raw.contains(&0) {
            return Err(PathProblem::Nul);
        }
        if raw.len() > max_len {
            return Err(PathProblem::TooLong(max_len));
        }
        let mut parts: Vec<&[u8]> = Vec::new();
        for comp in raw.split(|&b| b == b'/') {
            match comp {
                b"" | b"." => {}
                b".." => {
                    if parts.pop().is_none() {
                        return Err(PathProblem::EscapesRoot);
                    }
                }
                c => parts.push(c),
            }
        }
        if parts.len() > max_depth {
            return Err(PathProblem::TooDeep(max_depth));
        }
        Ok(VPath(parts.join(&b'/')))
    }

    /// The raw bytes, without a leading slash.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// True for the root itself.
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The last component (empty for the root).
    #[must_use]
    pub fn file_name(&self) -> &[u8] {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => &self.0[i + 1..],
            None => &self.0,
        }
    }

    /// The containing directory (the root for top-level entries and the root).
    #[must_use]
    pub fn parent(&self) -> VPath {
        match self.0.iter().rposition(|&b| b == b'/') {
            Some(i) => VPath(self.0[..i].to_vec()),
            None => VPath::root(),
        }
    }

    /// `self/name`; `name` must be a single component.
    #[must_use]
    pub fn join(&self, name: &[u8]) -> VPath {
        if self.0.is_empty() {
            return VPath(name.to_vec());
        }
        let mut v = Vec::with_capacity(self.0.len() + 1 + name.len());
        v.extend_from_slice(&self.0);
        v.push(b'/');
        v.extend_from_slice(name);
        VPath(v)
    }

    /// Number of components.
    #[must_use]
    pub fn depth(&self) -> usize {
        if self.0.is_empty() {
            0
        } else {
            self.0.iter().filter(|&&b| b == b'/').count() + 1
        }
    }

    /// True when `self` is `dir` or lies below it.
    #[must_use]
    pub fn is_within(&self, dir: &VPath) -> bool {
        dir.0.is_empty()
            || self.0 == dir.0
            || (self.0.starts_with(&dir.0) && self.0.get(dir.0.len()) == Some(&b'/'))
    }

    /// The key range `[dir/, dir0)` covering everything strictly below `dir`
    /// in a byte-ordered map ('0' is the byte after '/'); for the root,
    /// everything but the root itself.
    #[must_use]
    pub fn children_range(dir: &VPath) -> (Bound<VPath>, Bound<VPath>) {
        if dir.0.is_empty() {
            return (Bound::Excluded(VPath::root()), Bound::Unbounded);
        }
        let mut lo = dir.0.clone();
        lo.push(b'/');
        let mut hi = dir.0.clone();
        hi.push(b'/' + 1);
        (Bound::Included(VPath(lo)), Bound::Excluded(VPath(hi)))
    }

    /// The path for display and JSON: `/`-prefixed, UTF-8 where the bytes
    /// are UTF-8, with every byte that is not (and every backslash) written
    /// as `\xNN` so that no two paths display alike.
    #[must_use]
    pub fn display(&self) -> String {
        let mut out = String::with_capacity(self.0.len() + 1);
        out.push('/');
        escape_into(&self.0, &mut out);
        out
    }
}

/// Writes `bytes` as text: valid UTF-8 as itself, other bytes and `\` as
/// `\xNN`.
pub fn escape_into(bytes: &[u8], out: &mut String) {
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\x5c");
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            let _ = write!(out, "\\x{b:02x}");
        }
    }
}

/// `escape_into` to a fresh string.
#[must_use]
pub fn escape_bytes(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    escape_into(bytes, &mut s);
    s
}

impl fmt::Debug for VPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VPath({})", self.display())
    }
}

impl fmt::Display for VPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

impl Serialize for VPath {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arch(s: &str) -> Result<VPath, PathProblem> {
        VPath::from_archive(s.as_bytes(), 4096, 256)
    }

    #[test]
    fn normalises_common_forms() {
        assert_eq!(arch("./etc/passwd").unwrap().display(), "/etc/passwd");
        assert_eq!(
            arch("etc//ssl/./certs/").unwrap().display(),
            "/etc/ssl/certs"
        );
        assert_eq!(arch("a/b/../c").unwrap().display(), "/a/c");
        assert!(arch("./").unwrap().is_root());
    }

    #[test]
    fn refuses_escapes_and_absolute_names() {
        assert_eq!(arch("../etc/passwd"), Err(PathProblem::EscapesRoot));
        assert_eq!(arch("a/../../x"), Err(PathProblem::EscapesRoot));
        assert_eq!(arch("/etc/shadow"), Err(PathProblem::Absolute));
        assert_eq!(arch("a\0b"), Err(PathProblem::Nul));
        assert_eq!(
            VPath::from_archive(&b"a/".repeat(300), 4096, 256),
            Err(PathProblem::TooDeep(256))
        );
        assert_eq!(
            VPath::from_archive(&[b'a'; 5000], 4096, 256),
            Err(PathProblem::TooLong(4096))
        );
    }

    #[test]
    fn non_utf8_names_display_escaped() {
        let p = VPath::from_archive(b"dir/caf\xe9\\x.txt", 4096, 256).unwrap();
        assert_eq!(p.display(), "/dir/caf\\xe9\\x5cx.txt");
    }

    #[test]
    fn within_and_ranges() {
        let d = arch("usr/lib").unwrap();
        assert!(arch("usr/lib/x").unwrap().is_within(&d));
        assert!(arch("usr/lib").unwrap().is_within(&d));
        assert!(!arch("usr/lib64/x").unwrap().is_within(&d));
        use std::ops::RangeBounds as _;
        let range = VPath::children_range(&d);
        assert!(range.contains(&arch("usr/lib/zzz").unwrap()));
        assert!(!range.contains(&arch("usr/lib64").unwrap()));
        assert!(!range.contains(&d));
        let all = VPath::children_range(&VPath::root());
        assert!(all.contains(&VPath::from_archive(&[b'z'; 5000], 9000, 9).unwrap()));
        assert!(!all.contains(&VPath::root()));
    }

    proptest! {
        #[test]
        fn normalised_paths_never_escape(raw in proptest::collection::vec(
            prop_oneof![Just(b"..".to_vec()), Just(b".".to_vec()), Just(Vec::new()),
                        "[a-z\u{e9}]{1,3}".prop_map(String::into_bytes)], 0..12)) {
            let joined = raw.join(&b'/');
            if let Ok(p) = VPath::from_archive(&joined, 4096, 256) {
                prop_assert!(!p.as_bytes().starts_with(b"/"));
                for comp in p.as_bytes().split(|&b| b == b'/') {
                    prop_assert!(comp != b".." && comp != b".");
                    prop_assert!(!comp.is_empty() || p.is_root());
                }
                // Normalising twice changes nothing.
                let again = VPath::from_archive(p.as_bytes(), 4096, 256);
                prop_assert_eq!(again, Ok(p));
            }
        }
    }
}
