//! Writers of the rpm database formats, for tests only: RPM header blobs,
//! Berkeley DB Hash files and NDB `Packages.db` files, built from the
//! formats' descriptions (no tool here writes the last two). The
//! integration tests include this file too (`#[path]`), so it stands alone.
#![allow(dead_code, reason = "each test binary uses a different part")]

/// RPM header tags the tests write.
pub mod tag {
    pub const NAME: i32 = 1000;
    pub const VERSION: i32 = 1001;
    pub const RELEASE: i32 = 1002;
    pub const EPOCH: i32 = 1003;
    pub const VENDOR: i32 = 1011;
    pub const LICENSE: i32 = 1014;
    pub const ARCH: i32 = 1022;
    pub const SOURCERPM: i32 = 1044;
    pub const DIRINDEXES: i32 = 1116;
    pub const BASENAMES: i32 = 1117;
    pub const DIRNAMES: i32 = 1118;
}

/// A value to store under a tag.
#[derive(Debug, Clone)]
pub enum Value<'a> {
    Str(&'a str),
    Strs(Vec<&'a str>),
    Int32s(Vec<u32>),
}

fn u32_of(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Serialises `(tag, value)` entries into a header blob (big-endian index
/// of tag, type, offset, count; then the data store).
#[must_use]
pub fn header(entries: &[(i32, Value<'_>)]) -> Vec<u8> {
    let mut index = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for (tag, v) in entries {
        let (ty, count): (u32, usize) = match v {
            Value::Str(_) => (6, 1),
            Value::Strs(s) => (8, s.len()),
            Value::Int32s(n) => {
                while !data.len().is_multiple_of(4) {
                    data.push(0);
                }
                (4, n.len())
            }
        };
        index.extend_from_slice(&tag.to_be_bytes());
        index.extend_from_slice(&ty.to_be_bytes());
        index.extend_from_slice(&u32_of(data.len()).to_be_bytes());
        index.extend_from_slice(&u32_of(count).to_be_bytes());
        match v {
            Value::Str(s) => {
                data.extend_from_slice(s.as_bytes());
                data.push(0);
            }
            Value::Strs(ss) => {
                for s in ss {
                    data.extend_from_slice(s.as_bytes());
                    data.push(0);
                }
            }
            Value::Int32s(ns) => {
                for n in ns {
                    data.extend_from_slice(&n.to_be_bytes());
                }
            }
        }
    }
    let mut out = Vec::new();
    out.extend_from_slice(&u32_of(entries.len()).to_be_bytes());
    out.extend_from_slice(&u32_of(data.len()).to_be_bytes());
    out.extend_from_slice(&index);
    out.extend_from_slice(&data);
    out
}

/// A typical package header: name, version, release, arch, source RPM,
/// license, vendor, optional epoch and files (`dir/`, `base` pairs).
#[must_use]
pub fn package(
    name: &str,
    version: &str,
    release: &str,
    epoch: Option<u32>,
    arch: &str,
    files: &[(&str, &str)],
) -> Vec<u8> {
    let source = format!("{name}-{version}-{release}.src.rpm");
    let mut dirs: Vec<&str> = Vec::new();
    let mut bases = Vec::new();
    let mut idx = Vec::new();
    for (d, b) in files {
        let i = match dirs.iter().position(|x| x == d) {
            Some(i) => i,
            None => {
                dirs.push(d);
                dirs.len() - 1
            }
        };
        bases.push(*b);
        idx.push(u32_of(i));
    }
    let mut entries = vec![
        (tag::NAME, Value::Str(name)),
        (tag::VERSION, Value::Str(version)),
        (tag::RELEASE, Value::Str(release)),
        (tag::ARCH, Value::Str(arch)),
        (tag::SOURCERPM, Value::Str(&source)),
        (tag::LICENSE, Value::Str("MIT")),
        (tag::VENDOR, Value::Str("Rampart Test")),
    ];
    if let Some(e) = epoch {
        entries.push((tag::EPOCH, Value::Int32s(vec![e])));
    }
    if !files.is_empty() {
        entries.push((tag::DIRINDEXES, Value::Int32s(idx)));
        entries.push((tag::BASENAMES, Value::Strs(bases)));
        entries.push((tag::DIRNAMES, Value::Strs(dirs)));
    }
    header(&entries)
}

/// Writes integers in the database's byte order.
#[derive(Debug, Clone, Copy)]
struct Order {
    big_endian: bool,
}

impl Order {
    fn u32(self, page: &mut [u8], at: usize, v: u32) {
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        page[at..at + 4].copy_from_slice(&b);
    }
    fn u16(self, page: &mut [u8], at: usize, v: usize) {
        let v = u16::try_from(v).unwrap_or(u16::MAX);
        let b = if self.big_endian {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        };
        page[at..at + 2].copy_from_slice(&b);
    }
}

const PAGE_HEADER: usize = 26;

/// A Berkeley DB Hash database (version 9, one bucket whose pages are
/// chained) mapping instance numbers 1.. to `values`, in the byte order
/// asked (pages of at most 32 KiB). Values larger than a quarter page go to overflow pages, as
/// Berkeley DB does. `key0` adds rpm's record 0 (the next instance number).
#[must_use]
pub fn bdb_hash(values: &[Vec<u8>], page_size: usize, big_endian: bool, key0: bool) -> Vec<u8> {
    let o = Order { big_endian };
    let new_page = |pages: &mut Vec<Vec<u8>>, ty: u8| -> usize {
        let n = pages.len();
        let mut p = vec![0u8; page_size];
        o.u32(&mut p, 8, u32_of(n));
        p[25] = ty;
        o.u16(&mut p, 22, page_size);
        pages.push(p);
        n
    };
    let mut pages: Vec<Vec<u8>> = vec![vec![0u8; page_size]];
    let mut current = new_page(&mut pages, 13);
    let mut records: Vec<(usize, Vec<u8>)> = Vec::new();
    if key0 {
        let mut next = vec![0u8; 4];
        o.u32(&mut next, 0, u32_of(values.len() + 1));
        records.push((0, next));
    }
    records.extend(values.iter().enumerate().map(|(i, v)| (i + 1, v.clone())));
    for (instance, value) in &records {
        let mut key_item = vec![1u8, 0, 0, 0, 0];
        o.u32(&mut key_item, 1, u32_of(*instance));
        let value_item = if value.len() + 1 > page_size / 4 {
            // Off-page: type 3, three unused bytes, first page, length.
            let mut first = 0;
            let mut prev = 0;
            for chunk in value.chunks(page_size - PAGE_HEADER) {
                let pg = new_page(&mut pages, 7);
                o.u16(&mut pages[pg], 20, 1);
                o.u16(&mut pages[pg], 22, chunk.len());
                pages[pg][PAGE_HEADER..PAGE_HEADER + chunk.len()].copy_from_slice(chunk);
                if prev == 0 {
                    first = pg;
                } else {
                    o.u32(&mut pages[pg], 12, u32_of(prev));
                    o.u32(&mut pages[prev], 16, u32_of(pg));
                }
                prev = pg;
            }
            let mut item = vec![3u8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
            o.u32(&mut item, 4, u32_of(first));
            o.u32(&mut item, 8, u32_of(value.len()));
            item
        } else {
            let mut item = vec![1u8];
            item.extend_from_slice(value);
            item
        };
        let need = key_item.len() + value_item.len() + 4;
        let entries = entries_of(&pages[current], o);
        let free_low = PAGE_HEADER + entries * 2;
        let high = high_free(&pages[current], o);
        if high < free_low + need {
            let next = new_page(&mut pages, 13);
            o.u32(&mut pages[current], 16, u32_of(next));
            o.u32(&mut pages[next], 12, u32_of(current));
            current = next;
        }
        let page = &mut pages[current];
        let mut high = high_free(page, o);
        for item in [&key_item, &value_item] {
            high -= item.len();
            page[high..high + item.len()].copy_from_slice(item);
            let slot = entries_of(page, o);
            o.u16(page, PAGE_HEADER + slot * 2, high);
            o.u16(page, 20, slot + 1);
        }
        o.u16(page, 22, high);
    }
    // The metadata page.
    let last = pages.len() - 1;
    let meta = &mut pages[0];
    o.u32(meta, 12, 0x0006_1561);
    o.u32(meta, 16, 9);
    o.u32(meta, 20, u32_of(page_size));
    meta[25] = 8;
    o.u32(meta, 32, u32_of(last));
    o.u32(meta, 40, u32_of(records.len()));
    o.u32(meta, 44, u32_of(records.len()));
    o.u32(meta, 72, 0); // max_bucket
    o.u32(meta, 76, 1); // high_mask
    o.u32(meta, 80, 0); // low_mask
    o.u32(meta, 84, 40); // fill factor
    o.u32(meta, 88, u32_of(records.len()));
    o.u32(meta, 96, 1); // spares[0]: bucket 0 is page 0 + 1
    pages.concat()
}

fn entries_of(page: &[u8], o: Order) -> usize {
    let b = [page[20], page[21]];
    usize::from(if o.big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

fn high_free(page: &[u8], o: Order) -> usize {
    let b = [page[22], page[23]];
    usize::from(if o.big_endian {
        u16::from_be_bytes(b)
    } else {
        u16::from_le_bytes(b)
    })
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + u32::from(x)) % 65521;
        b = (b + a) % 65521;
    }
    (b << 16) | a
}

/// An NDB `Packages.db` holding `values` under package indexes 1..; a
/// `None` leaves a free slot (a removed package) in its place.
#[must_use]
pub fn ndb(values: &[Option<Vec<u8>>]) -> Vec<u8> {
    const PAGE: usize = 4096;
    let le = |v: usize| u32_of(v).to_le_bytes();
    let slot_pages = (values.len() + 2).div_ceil(PAGE / 16);
    let mut out = vec![0u8; slot_pages * PAGE];
    for s in 0..slot_pages * PAGE / 16 {
        out[s * 16..s * 16 + 4].copy_from_slice(b"Slot");
    }
    out[0..4].copy_from_slice(b"RpmP");
    out[4..8].copy_from_slice(&le(0));
    out[8..12].copy_from_slice(&le(7));
    out[12..16].copy_from_slice(&le(slot_pages));
    out[16..20].copy_from_slice(&le(values.len() + 1));
    for (i, v) in values.iter().enumerate() {
        let Some(blob) = v else { continue };
        let pkgidx = i + 1;
        let blkoff = out.len() / 16;
        let blkcnt = (16 + blob.len() + 12).div_ceil(16);
        let slot = (2 + i) * 16;
        out[slot + 4..slot + 8].copy_from_slice(&le(pkgidx));
        out[slot + 8..slot + 12].copy_from_slice(&le(blkoff));
        out[slot + 12..slot + 16].copy_from_slice(&le(blkcnt));
        let mut area = Vec::with_capacity(blkcnt * 16);
        area.extend_from_slice(b"BlbS");
        area.extend_from_slice(&le(pkgidx));
        area.extend_from_slice(&le(1_700_000_000));
        area.extend_from_slice(&le(blob.len()));
        area.extend_from_slice(blob);
        area.resize(blkcnt * 16 - 12, 0);
        let sum = adler32(&area);
        area.extend_from_slice(&sum.to_le_bytes());
        area.extend_from_slice(&le(blob.len()));
        area.extend_from_slice(b"BlbE");
        out.extend_from_slice(&area);
    }
    out
}
