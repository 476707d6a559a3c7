//! What listing a target produces: file records and skip records.

use serde::Serialize;

use crate::vpath::escape_bytes;

/// The type of a file system entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileKind {
    File,
    Dir,
    Symlink,
    /// A tar hard link: same content as the entry it names.
    Hardlink,
}

impl FileKind {
    /// One letter for tables, as `ls -l` shows it.
    #[must_use]
    pub fn letter(self) -> char {
        match self {
            FileKind::File => '-',
            FileKind::Dir => 'd',
            FileKind::Symlink => 'l',
            FileKind::Hardlink => 'h',
        }
    }
}

/// An entry that was not read, and why. Skips are part of every result:
/// nothing is left out silently.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Skip {
    /// The entry's path as displayed (non-UTF-8 bytes escaped as `\xNN`).
    pub path: String,
    /// The layer (index, bottom first) the entry came from, for images.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<usize>,
    /// Why it was skipped.
    pub reason: String,
}

impl Skip {
    /// A skip of a normalised path, displayed like listed files (`/a/b`).
    pub(crate) fn at(
        path: &crate::vpath::VPath,
        layer: Option<usize>,
        reason: impl ToString,
    ) -> Self {
        Self::from_display(path.display(), layer, reason)
    }

    /// A skip of a raw archive member name that could not be normalised;
    /// displayed as stored (escaped), without a leading `/`.
    pub(crate) fn new(raw_path: &[u8], layer: Option<usize>, reason: impl ToString) -> Self {
        Self::from_display(escape_bytes(raw_path), layer, reason)
    }

    fn from_display(mut path: String, layer: Option<usize>, reason: impl ToString) -> Self {
        if path.len() > 512 {
            let mut cut = 512;
            while !path.is_char_boundary(cut) {
                cut -= 1;
            }
            path.truncate(cut);
            path.push_str("...");
        }
        Skip {
            path,
            layer,
            reason: reason.to_string(),
        }
    }
}
