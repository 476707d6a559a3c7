//! rpm's own "NDB" package database (`Packages.db`, as SUSE uses it):
//! little-endian, 4096-byte slot pages then 16-byte blocks of blobs.
//!
//! The file starts with a 32-byte header (`RpmP`, version 0, generation,
//! number of slot pages, next package index), followed by 16-byte slots
//! (`Slot`, package index, first block, block count; block 0 means free)
//! filling the slot pages. Each blob occupies its blocks: a head (`BlbS`,
//! package index, timestamp, length), the header blob, padding, and a tail
//! (adler32, length, `BlbE`).

const PAGE: usize = 4096;
const SLOT: usize = 16;
const BLOCK: usize = 16;
const HEAD: usize = 16;
const TAIL: usize = 12;
/// rpm refuses more slot pages than this.
const MAX_SLOT_PAGES: usize = 2048;

fn le32(b: &[u8], at: usize) -> Option<usize> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    usize::try_from(u32::from_le_bytes(s)).ok()
}

/// Calls `f` with every package blob; returns how many slots were broken.
///
/// # Errors
/// A reason when the file is not an NDB package database.
pub fn for_each_blob(data: &[u8], mut f: impl FnMut(&[u8])) -> Result<usize, String> {
    if data.get(0..4) != Some(b"RpmP") {
        return Err("not an rpm NDB package database (bad magic)".into());
    }
    let version = le32(data, 4).unwrap_or(usize::MAX);
    if version != 0 {
        return Err(format!("unsupported NDB version {version}"));
    }
    let slot_pages = le32(data, 12).unwrap_or(0);
    if slot_pages == 0 || slot_pages > MAX_SLOT_PAGES || slot_pages * PAGE > data.len() {
        return Err(format!("NDB slot page count {slot_pages} is invalid"));
    }
    // Blobs live after the slot pages.
    let first_block = slot_pages * PAGE / BLOCK;
    let mut broken = 0;
    // The first two slots' room is the file header.
    for at in (2 * SLOT..slot_pages * PAGE).step_by(SLOT) {
        if data.get(at..at + 4) != Some(b"Slot") {
            broken += 1;
            continue;
        }
        let (Some(pkgidx), Some(blkoff), Some(blkcnt)) =
            (le32(data, at + 4), le32(data, at + 8), le32(data, at + 12))
        else {
            broken += 1;
            continue;
        };
        if blkoff == 0 {
            continue;
        }
        match blob(data, pkgidx, blkoff, blkcnt, first_block) {
            Some(b) => f(b),
            None => broken += 1,
        }
    }
    Ok(broken)
}

/// The blob a slot points to, when its head and tail agree with the slot.
fn blob(data: &[u8], pkgidx: usize, blkoff: usize, blkcnt: usize, first: usize) -> Option<&[u8]> {
    if pkgidx == 0 || blkoff < first || blkcnt * BLOCK < HEAD + TAIL {
        return None;
    }
    let start = blkoff.checked_mul(BLOCK)?;
    let area = data.get(start..start.checked_add(blkcnt.checked_mul(BLOCK)?)?)?;
    if area.get(0..4)? != b"BlbS" || le32(area, 4)? != pkgidx {
        return None;
    }
    let len = le32(area, 12)?;
    if (HEAD + len + TAIL).div_ceil(BLOCK) != blkcnt {
        return None;
    }
    let tail = area.len() - TAIL;
    if le32(area, tail + 4)? != len || area.get(tail + 8..)? != b"BlbE" {
        return None;
    }
    area.get(HEAD..HEAD + len)
}

#[cfg(test)]
mod tests {
    use super::super::testgen::ndb;
    use super::*;

    fn collect(data: &[u8]) -> Result<(Vec<Vec<u8>>, usize), String> {
        let mut out = Vec::new();
        let broken = for_each_blob(data, |b| out.push(b.to_vec()))?;
        Ok((out, broken))
    }

    #[test]
    fn reads_every_used_slot() {
        let a = b"first blob".to_vec();
        let b = vec![7u8; 5000];
        let file = ndb(&[Some(a.clone()), None, Some(b.clone())]);
        assert_eq!(collect(&file), Ok((vec![a, b], 0)));
    }

    #[test]
    fn many_packages_spill_into_more_slot_pages() {
        let blobs: Vec<Option<Vec<u8>>> = (0..300u32)
            .map(|i| Some(i.to_be_bytes().to_vec()))
            .collect();
        let file = ndb(&blobs);
        let (got, broken) = collect(&file).unwrap_or_default();
        assert_eq!((got.len(), broken), (300, 0));
        assert_eq!(
            got.last().map(Vec::as_slice),
            Some(&299u32.to_be_bytes()[..])
        );
    }

    #[test]
    fn damaged_blobs_are_counted_not_followed() {
        let file = ndb(&[Some(b"one".to_vec()), Some(b"two".to_vec())]);
        // The first blob's head claims a different package index.
        let mut bad = file.clone();
        let blob = le32(&file, 40).unwrap_or(0) * BLOCK;
        bad[blob + 4] = 9;
        assert_eq!(collect(&bad), Ok((vec![b"two".to_vec()], 1)));
        // A slot pointing past the end of the file.
        let mut bad = file.clone();
        bad[40..44].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(collect(&bad), Ok((vec![b"two".to_vec()], 1)));
        // A slot whose block count disagrees with the blob length.
        let mut bad = file.clone();
        bad[44] += 1;
        assert_eq!(collect(&bad), Ok((vec![b"two".to_vec()], 1)));
        // Truncated inside the slot pages, and a lying slot page count.
        assert!(collect(&file[..100]).is_err());
        let mut bad = file;
        bad[12..16].copy_from_slice(&100_000u32.to_le_bytes());
        assert!(collect(&bad).is_err());
        assert!(collect(b"").is_err());
        assert!(collect(b"RpmP").is_err());
    }
}
