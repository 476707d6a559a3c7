//! The Berkeley DB Hash file of rpm's `Packages` database (RHEL 7/8,
//! CentOS, Amazon Linux 2), read without the library.
//!
//! Page 0 is the hash metadata page; the magic number tells the byte order
//! (the machine's that wrote it). Hash pages hold key/data item pairs
//! addressed by an index of 16-bit offsets after the 26-byte page header;
//! values too large for a page are "off-page" items pointing to a chain of
//! overflow pages. Every hash page is visited in file order, so the bucket
//! layout does not matter.

const HASH_MAGIC: u32 = 0x0006_1561;
const BTREE_MAGIC: u32 = 0x0005_3162;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

/// Item types on hash pages.
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;

/// Size of the generic page header (lsn, pgno, prev, next, entries,
/// hf_offset, level, type).
const PAGE_HEADER: usize = 26;

/// What the metadata page says about the file.
#[derive(Debug, Clone, Copy)]
struct Meta {
    big_endian: bool,
    page_size: usize,
    pages: usize,
}

fn u32_at(b: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let s: [u8; 4] = b.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(s)
    } else {
        u32::from_le_bytes(s)
    })
}

fn u16_at(b: &[u8], at: usize, big_endian: bool) -> Option<u16> {
    let s: [u8; 2] = b.get(at..at.checked_add(2)?)?.try_into().ok()?;
    Some(if big_endian {
        u16::from_be_bytes(s)
    } else {
        u16::from_le_bytes(s)
    })
}

fn meta(data: &[u8]) -> Result<Meta, String> {
    let big_endian = match u32_at(data, 12, false) {
        Some(HASH_MAGIC) => false,
        Some(m) if m.swap_bytes() == HASH_MAGIC => true,
        Some(BTREE_MAGIC) => return Err("a Berkeley DB Btree, not a Hash database".into()),
        Some(m) if m.swap_bytes() == BTREE_MAGIC => {
            return Err("a Berkeley DB Btree, not a Hash database".into());
        }
        _ => return Err("not a Berkeley DB Hash database (bad magic)".into()),
    };
    let page_size = u32_at(data, 20, big_endian)
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(0);
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(format!("Berkeley DB page size {page_size} is invalid"));
    }
    if data.get(24).copied().unwrap_or(0) != 0 {
        return Err("encrypted Berkeley DB databases are not supported".into());
    }
    if data.get(25).copied() != Some(P_HASHMETA) {
        return Err("Berkeley DB metadata page is not a hash metadata page".into());
    }
    // DBMETA_CHKSUM: page checksums move every page's index; rpm does not
    // enable them.
    if data.get(26).copied().unwrap_or(0) & 1 != 0 {
        return Err("Berkeley DB databases with page checksums are not supported".into());
    }
    let last_pgno = u32_at(data, 32, big_endian)
        .and_then(|p| usize::try_from(p).ok())
        .unwrap_or(0);
    // A truncated file is read as far as it goes.
    let pages = last_pgno.saturating_add(1).min(data.len() / page_size);
    Ok(Meta {
        big_endian,
        page_size,
        pages,
    })
}

/// Calls `f` with every data value stored in the hash database; values
/// that cannot be read (broken overflow chains, lying offsets) are counted
/// and skipped. Returns that count.
///
/// # Errors
/// A reason when the file is not a readable Berkeley DB Hash database.
pub fn for_each_value(data: &[u8], mut f: impl FnMut(&[u8])) -> Result<usize, String> {
    let m = meta(data)?;
    let mut broken = 0;
    let mut offsets: Vec<(usize, usize)> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let mut buf = Vec::new();
    for pgno in 1..m.pages {
        let Some(page) = data.get(pgno * m.page_size..(pgno + 1) * m.page_size) else {
            break;
        };
        let ty = page.get(25).copied().unwrap_or(0);
        // A page that does not know its own number is not in use.
        if (ty != P_HASH && ty != P_HASH_UNSORTED) || !numbered(page, pgno, &m) {
            continue;
        }
        let entries = usize::from(u16_at(page, 20, m.big_endian).unwrap_or(0));
        if PAGE_HEADER + entries * 2 > m.page_size {
            broken += 1;
            continue;
        }
        // Item lengths follow from the offsets: each item runs up to the
        // next item above it (or the end of the page).
        offsets.clear();
        for i in 0..entries {
            let off = usize::from(u16_at(page, PAGE_HEADER + i * 2, m.big_endian).unwrap_or(0));
            offsets.push((off, i));
        }
        offsets.sort_unstable();
        ends.clear();
        ends.resize(entries, m.page_size);
        for w in offsets.windows(2) {
            if let [(_, i), (next, _)] = *w
                && let Some(end) = ends.get_mut(i)
            {
                *end = next;
            }
        }
        // Pairs: even indexes are keys, odd ones their values.
        for i in (1..entries).step_by(2) {
            let off = usize::from(u16_at(page, PAGE_HEADER + i * 2, m.big_endian).unwrap_or(0));
            let end = ends.get(i).copied().unwrap_or(0);
            let Some(item) = page
                .get(off..end)
                .filter(|_| off >= PAGE_HEADER + entries * 2)
            else {
                broken += 1;
                continue;
            };
            match item.first() {
                Some(&H_KEYDATA) => f(item.get(1..).unwrap_or_default()),
                Some(&H_OFFPAGE) => match overflow(data, &m, item, &mut buf) {
                    Some(()) => f(&buf),
                    None => broken += 1,
                },
                // Duplicates and external blobs are not used by rpm.
                _ => broken += 1,
            }
        }
    }
    Ok(broken)
}

fn numbered(page: &[u8], pgno: usize, m: &Meta) -> bool {
    u32_at(page, 8, m.big_endian).and_then(|n| usize::try_from(n).ok()) == Some(pgno)
}

/// Reads an off-page item (type, 3 unused bytes, first page, total length)
/// by following its overflow chain into `buf`.
fn overflow(data: &[u8], m: &Meta, item: &[u8], buf: &mut Vec<u8>) -> Option<()> {
    let mut pgno = usize::try_from(u32_at(item, 4, m.big_endian)?).ok()?;
    let total = usize::try_from(u32_at(item, 8, m.big_endian)?).ok()?;
    // The value cannot be longer than the pages that could hold it.
    if total > m.pages.saturating_mul(m.page_size - PAGE_HEADER) {
        return None;
    }
    buf.clear();
    buf.reserve(total);
    // Each page is visited at most once: a longer chain is a loop.
    for _ in 0..m.pages {
        if pgno == 0 || pgno >= m.pages {
            return None;
        }
        let page = data.get(pgno * m.page_size..(pgno + 1) * m.page_size)?;
        if page.get(25).copied() != Some(P_OVERFLOW) || !numbered(page, pgno, m) {
            return None;
        }
        let len = usize::from(u16_at(page, 22, m.big_endian)?);
        let chunk = page.get(PAGE_HEADER..PAGE_HEADER + len)?;
        let want = total - buf.len();
        buf.extend_from_slice(chunk.get(..want.min(len))?);
        if buf.len() == total {
            return Some(());
        }
        pgno = usize::try_from(u32_at(page, 16, m.big_endian)?).ok()?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::super::testgen::bdb_hash;
    use super::*;

    fn collect(data: &[u8]) -> Result<(Vec<Vec<u8>>, usize), String> {
        let mut out = Vec::new();
        let broken = for_each_value(data, |v| out.push(v.to_vec()))?;
        Ok((out, broken))
    }

    fn values() -> Vec<Vec<u8>> {
        vec![b"small".to_vec(), vec![0xab; 3000], b"tiny".to_vec()]
    }

    #[test]
    fn reads_on_page_and_overflow_values() {
        for big_endian in [false, true] {
            let file = bdb_hash(&values(), 512, big_endian, false);
            assert_eq!(collect(&file), Ok((values(), 0)));
        }
    }

    #[test]
    fn refuses_other_files() {
        assert!(collect(b"").is_err());
        assert!(collect(&[0u8; 4096]).is_err());
        let mut file = bdb_hash(&values(), 512, false, false);
        file[12..16].copy_from_slice(&BTREE_MAGIC.to_le_bytes());
        assert!(collect(&file).is_err_and(|e| e.contains("Btree")));
        let mut file = bdb_hash(&values(), 512, false, false);
        file[20..24].copy_from_slice(&1000u32.to_le_bytes());
        assert!(collect(&file).is_err_and(|e| e.contains("page size")));
        let mut file = bdb_hash(&values(), 512, false, false);
        file[26] = 1;
        assert!(collect(&file).is_err_and(|e| e.contains("checksums")));
    }

    #[test]
    fn broken_overflow_chains_are_counted() {
        let file = bdb_hash(&values(), 512, false, false);
        // The overflow pages of the big value come right after the first
        // hash page: a page pointing to itself ends when the value's length
        // is reached, never loops.
        let mut looped = file.clone();
        let second = 2 * 512;
        assert_eq!(looped[second + 25], P_OVERFLOW);
        looped[second + 16..second + 20].copy_from_slice(&2u32.to_le_bytes());
        let (got, _) = collect(&looped).unwrap_or_default();
        assert!(got.iter().all(|v| v.len() <= 3000));
        // A chain that ends early.
        let mut short = file.clone();
        short[second + 16..second + 20].copy_from_slice(&0u32.to_le_bytes());
        let (got, broken) = collect(&short).unwrap_or_default();
        assert_eq!((got.len(), broken), (2, 1));
        // An overflow chain into a hash page.
        let mut wrong = file.clone();
        wrong[second + 16..second + 20].copy_from_slice(&1u32.to_le_bytes());
        let (got, broken) = collect(&wrong).unwrap_or_default();
        assert_eq!((got.len(), broken), (2, 1));
        // Truncation cuts the chain; what is left still reads.
        let (got, broken) = collect(&file[..5 * 512]).unwrap_or_default();
        assert_eq!((got.len(), broken), (2, 1));
        // A lying item offset.
        let mut bad = file;
        bad[512 + PAGE_HEADER + 2..512 + PAGE_HEADER + 4].copy_from_slice(&5u16.to_le_bytes());
        let (got, broken) = collect(&bad).unwrap_or_default();
        assert_eq!((got.len(), broken), (2, 1));
    }
}
