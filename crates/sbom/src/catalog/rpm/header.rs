//! RPM header blobs, as the package databases store them: an index of
//! tagged entries followed by a data store, all big-endian.
//!
//! Layout: `il` (u32, number of index entries), `dl` (u32, bytes of data),
//! `il` entries of 16 bytes (tag i32, type u32, offset i32, count u32), then
//! `dl` bytes of data. Every entry's offset is relative to the data store.

/// Entry types this reader decodes.
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
const TYPE_I18NSTRING: u32 = 9;

pub const TAG_NAME: i32 = 1000;
pub const TAG_VERSION: i32 = 1001;
pub const TAG_RELEASE: i32 = 1002;
pub const TAG_EPOCH: i32 = 1003;
pub const TAG_VENDOR: i32 = 1011;
pub const TAG_LICENSE: i32 = 1014;
pub const TAG_ARCH: i32 = 1022;
pub const TAG_OLDFILENAMES: i32 = 1027;
pub const TAG_SOURCERPM: i32 = 1044;
pub const TAG_DIRINDEXES: i32 = 1116;
pub const TAG_BASENAMES: i32 = 1117;
pub const TAG_DIRNAMES: i32 = 1118;

/// rpm's own limits: at most 65535 index entries and 256 MiB of data.
const MAX_ENTRIES: usize = 0xffff;
const MAX_DATA: usize = 0x0fff_ffff;
/// The most values read from one array entry. The largest real packages
/// own about a hundred thousand files; a lying count of empty strings
/// would otherwise cost 16 bytes of memory per byte of data.
const MAX_ARRAY: usize = 1 << 20;
/// What a path costs besides its bytes, charged against the budget.
const PATH_OVERHEAD: usize = std::mem::size_of::<String>();

/// One index entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: i32,
    ty: u32,
    offset: usize,
    count: usize,
}

/// A parsed header: the index and the data store it points into.
#[derive(Debug)]
pub struct Header<'a> {
    entries: Vec<Entry>,
    data: &'a [u8],
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

impl<'a> Header<'a> {
    /// Parses the index of a header blob, checking that it fits the blob.
    ///
    /// # Errors
    /// A reason when the blob is not a well-formed header.
    pub fn parse(blob: &'a [u8]) -> Result<Self, String> {
        let (Some(il), Some(dl)) = (be32(blob, 0), be32(blob, 4)) else {
            return Err(format!("{}-byte header blob is too short", blob.len()));
        };
        let il = usize::try_from(il).map_err(|_| "index count out of range".to_string())?;
        let dl = usize::try_from(dl).map_err(|_| "data length out of range".to_string())?;
        if il == 0 || il > MAX_ENTRIES {
            return Err(format!("header index count {il} is out of range"));
        }
        if dl > MAX_DATA {
            return Err(format!("header data length {dl} is out of range"));
        }
        let index_end = 8 + il * 16;
        let data = index_end
            .checked_add(dl)
            .and_then(|end| blob.get(index_end..end))
            .ok_or_else(|| {
                format!(
                    "header of {il} entries and {dl} data bytes does not fit its {}-byte blob",
                    blob.len()
                )
            })?;
        let mut entries = Vec::with_capacity(il);
        for i in 0..il {
            let at = 8 + i * 16;
            let field = |k: usize| be32(blob, at + k * 4).unwrap_or(0);
            // The tag and offset are signed on disk; region trailers use
            // negative offsets, which no tag read here has.
            let tag = i32::from_be_bytes(field(0).to_be_bytes());
            let offset = i32::from_be_bytes(field(2).to_be_bytes());
            let (Ok(offset), Ok(count)) = (usize::try_from(offset), usize::try_from(field(3)))
            else {
                continue;
            };
            entries.push(Entry {
                tag,
                ty: field(1),
                offset,
                count,
            });
        }
        Ok(Header { entries, data })
    }

    fn entry(&self, tag: i32) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }

    /// The NUL-terminated string at `offset`, if it lies inside the data.
    fn string_at(&self, offset: usize) -> Option<(&'a str, usize)> {
        let rest = self.data.get(offset..)?;
        let len = rest.iter().position(|&b| b == 0)?;
        let s = std::str::from_utf8(rest.get(..len)?).ok()?;
        Some((s, offset + len + 1))
    }

    /// A string entry (the first string of an array or i18n table).
    #[must_use]
    pub fn string(&self, tag: i32) -> Option<&'a str> {
        let e = self.entry(tag)?;
        match e.ty {
            TYPE_STRING | TYPE_STRING_ARRAY | TYPE_I18NSTRING if e.count >= 1 => {
                self.string_at(e.offset).map(|(s, _)| s)
            }
            _ => None,
        }
    }

    /// A string array entry; `None` when absent or malformed.
    #[must_use]
    pub fn strings(&self, tag: i32) -> Option<Vec<&'a str>> {
        let e = self.entry(tag)?;
        if !matches!(e.ty, TYPE_STRING_ARRAY | TYPE_I18NSTRING) {
            return None;
        }
        // Every string takes at least its NUL: a count beyond the data
        // left is a lie, refused before allocating for it.
        if e.count > MAX_ARRAY || e.count > self.data.len().saturating_sub(e.offset) {
            return None;
        }
        let mut out = Vec::with_capacity(e.count);
        let mut at = e.offset;
        for _ in 0..e.count {
            let (s, next) = self.string_at(at)?;
            out.push(s);
            at = next;
        }
        Some(out)
    }

    /// An INT32 array entry; `None` when absent or malformed.
    #[must_use]
    pub fn int32s(&self, tag: i32) -> Option<Vec<u32>> {
        let e = self.entry(tag)?;
        if e.ty != TYPE_INT32 || e.count > MAX_ARRAY {
            return None;
        }
        let bytes = e
            .count
            .checked_mul(4)
            .and_then(|n| e.offset.checked_add(n))
            .and_then(|end| self.data.get(e.offset..end))?;
        Some(
            bytes
                .chunks_exact(4)
                .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    }

    /// The first value of an INT32 entry.
    #[must_use]
    pub fn int32(&self, tag: i32) -> Option<u32> {
        let e = self.entry(tag)?;
        if e.ty != TYPE_INT32 || e.count == 0 {
            return None;
        }
        be32(self.data, e.offset)
    }

    /// The installed file paths: DIRNAMES joined with BASENAMES through
    /// DIRINDEXES (or the OLDFILENAMES of very old headers). Stops adding
    /// once `budget` bytes (path bytes plus a per-path overhead) are used.
    /// Returns the paths, the bytes used, and whether the list is complete.
    #[must_use]
    pub fn files(&self, budget: usize) -> (Vec<String>, usize, bool) {
        let mut out = Vec::new();
        let mut used = 0usize;
        let add = |out: &mut Vec<String>, used: &mut usize, path: String| {
            let after = used.saturating_add(path.len() + PATH_OVERHEAD);
            if after > budget {
                return false;
            }
            *used = after;
            out.push(path);
            true
        };
        if let (Some(dirs), Some(bases), Some(idx)) = (
            self.strings(TAG_DIRNAMES),
            self.strings(TAG_BASENAMES),
            self.int32s(TAG_DIRINDEXES),
        ) {
            if bases.len() != idx.len() {
                return (out, 0, false);
            }
            for (base, i) in bases.iter().zip(idx) {
                let Some(dir) = usize::try_from(i).ok().and_then(|i| dirs.get(i)) else {
                    return (out, used, false);
                };
                if !add(&mut out, &mut used, format!("{dir}{base}")) {
                    return (out, used, false);
                }
            }
            return (out, used, true);
        }
        if let Some(old) = self.strings(TAG_OLDFILENAMES) {
            for f in old {
                if !add(&mut out, &mut used, f.to_string()) {
                    return (out, used, false);
                }
            }
        }
        (out, used, true)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testgen::{Value, header};
    use super::*;

    fn sample() -> Vec<u8> {
        header(&[
            (TAG_NAME, Value::Str("bash")),
            (TAG_VERSION, Value::Str("5.1.8")),
            (TAG_EPOCH, Value::Int32s(vec![1])),
            (TAG_DIRNAMES, Value::Strs(vec!["/usr/bin/", "/etc/"])),
            (TAG_BASENAMES, Value::Strs(vec!["bash", "sh", "bashrc"])),
            (TAG_DIRINDEXES, Value::Int32s(vec![0, 0, 1])),
        ])
    }

    #[test]
    fn reads_strings_numbers_and_files() {
        let blob = sample();
        let h = Header::parse(&blob).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.string(TAG_NAME), Some("bash"));
        assert_eq!(h.string(TAG_VERSION), Some("5.1.8"));
        assert_eq!(h.string(TAG_RELEASE), None);
        assert_eq!(h.int32(TAG_EPOCH), Some(1));
        assert_eq!(h.int32(TAG_NAME), None, "a string is not a number");
        let (files, used, complete) = h.files(1 << 20);
        assert!(complete);
        assert_eq!(files, ["/usr/bin/bash", "/usr/bin/sh", "/etc/bashrc"]);
        assert_eq!(used, 13 + 11 + 11 + 3 * PATH_OVERHEAD);
        let (files, used, complete) = h.files(20 + PATH_OVERHEAD);
        assert!(!complete);
        assert_eq!(files, ["/usr/bin/bash"]);
        assert_eq!(used, 13 + PATH_OVERHEAD);
    }

    #[test]
    fn refuses_blobs_that_lie_about_their_size() {
        assert!(Header::parse(b"").is_err());
        assert!(Header::parse(&[0, 0, 0, 1, 0, 0, 0, 0]).is_err());
        assert!(Header::parse(&[0xff; 64]).is_err());
        let mut blob = sample();
        blob.truncate(blob.len() - 1);
        assert!(Header::parse(&blob).is_err());
    }

    #[test]
    fn out_of_range_offsets_and_counts_read_as_absent() {
        // NAME points past the data; BASENAMES claims a million strings;
        // DIRINDEXES points outside the dirnames.
        let mut blob = header(&[
            (TAG_NAME, Value::Str("x")),
            (TAG_DIRNAMES, Value::Strs(vec!["/"])),
            (TAG_BASENAMES, Value::Strs(vec!["a"])),
            (TAG_DIRINDEXES, Value::Int32s(vec![7])),
        ]);
        blob[8 + 8..8 + 12].copy_from_slice(&1000u32.to_be_bytes());
        let h = Header::parse(&blob).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.string(TAG_NAME), None);
        assert_eq!(h.files(1 << 20), (Vec::new(), 0, false));
        blob[8 + 32 + 12..8 + 32 + 16].copy_from_slice(&1_000_000u32.to_be_bytes());
        let h = Header::parse(&blob).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.strings(TAG_BASENAMES), None);
        // A string without its NUL terminator is not read past the data.
        let blob = header(&[(TAG_NAME, Value::Str("abc"))]);
        let cut = &blob[..blob.len() - 1];
        let mut fixed = cut.to_vec();
        fixed[4..8].copy_from_slice(&3u32.to_be_bytes());
        let h = Header::parse(&fixed).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(h.string(TAG_NAME), None);
    }
}
