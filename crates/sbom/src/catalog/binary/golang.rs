//! Go build information embedded in binaries (`go version -m`): the
//! `\xff Go buildinf:` header in `.go.buildinfo` (ELF), `__go_buildinfo`
//! (Mach-O) or the data section (PE), in the Go 1.18+ inline format or the
//! older pointer format, and the module lines it carries.

use object::{Object, ObjectSection, ObjectSegment};

use crate::package::{Ecosystem, Package};

const MAGIC: &[u8] = b"\xff Go buildinf:";
/// Flag: the header holds the strings themselves (Go 1.18+).
const FLAG_INLINE: u8 = 0x2;
/// Flag: big-endian pointers (pointer format).
const FLAG_BIG_ENDIAN: u8 = 0x1;
/// Longest version or module-info string read.
const MAX_STRING: u64 = 4 << 20;
/// Header candidates tried when scanning a whole file.
const MAX_CANDIDATES: usize = 16;

/// What the build info says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct BuildInfo {
    /// `go1.22.5`.
    pub go_version: String,
    /// The module lines (`path`, `mod`, `dep`, `=>`, `build`), sentinels removed.
    pub modinfo: String,
}

/// Reads a Go varint-prefixed string at the start of `data`; returns it
/// and the rest.
fn varint_string(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let mut len: u64 = 0;
    for (i, &b) in data.iter().enumerate().take(10) {
        len |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            if len > MAX_STRING {
                return None;
            }
            let start = i + 1;
            let end = start.checked_add(usize::try_from(len).ok()?)?;
            return Some((data.get(start..end)?, data.get(end..)?));
        }
    }
    None
}

/// Reads an unsigned pointer-sized integer.
fn read_uint(data: &[u8], size: usize, big_endian: bool) -> Option<u64> {
    let b = data.get(..size)?;
    let mut v: u64 = 0;
    if big_endian {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    Some(v)
}

/// Bytes at a virtual address, through the segments (else sections) that
/// map it.
fn read_at<'d>(obj: &object::File<'d>, address: u64, size: u64) -> Option<&'d [u8]> {
    obj.segments()
        .find_map(|s| s.data_range(address, size).ok().flatten())
        .or_else(|| {
            obj.sections()
                .find_map(|s| s.data_range(address, size).ok().flatten())
        })
}

/// Reads a Go string header (pointer, length) at `address`, then its bytes.
fn go_string<'d>(obj: &object::File<'d>, address: u64, ptr: usize, be: bool) -> Option<&'d [u8]> {
    let header = read_at(obj, address, 2 * ptr as u64)?;
    let data = read_uint(header, ptr, be)?;
    let len = read_uint(header.get(ptr..)?, ptr, be)?;
    if len > MAX_STRING {
        return None;
    }
    read_at(obj, data, len)
}

/// Decodes the header at the start of `at`.
fn decode(at: &[u8], obj: Option<&object::File<'_>>) -> Option<BuildInfo> {
    let ptr = usize::from(*at.get(14)?);
    let flags = *at.get(15)?;
    let (version, modinfo) = if flags & FLAG_INLINE != 0 {
        let (version, rest) = varint_string(at.get(32..)?)?;
        let (modinfo, _) = varint_string(rest)?;
        (version, modinfo)
    } else {
        if ptr != 4 && ptr != 8 {
            return None;
        }
        let obj = obj?;
        let be = flags & FLAG_BIG_ENDIAN != 0;
        let version_at = read_uint(at.get(16..)?, ptr, be)?;
        let modinfo_at = read_uint(at.get(16 + ptr..)?, ptr, be)?;
        (
            go_string(obj, version_at, ptr, be)?,
            go_string(obj, modinfo_at, ptr, be).unwrap_or_default(),
        )
    };
    let go_version = String::from_utf8_lossy(version).into_owned();
    // The module info is wrapped in 16-byte sentinels.
    let modinfo = match modinfo.len() {
        n if n >= 33 && modinfo.get(n - 17) == Some(&b'\n') => {
            String::from_utf8_lossy(modinfo.get(16..n - 16).unwrap_or_default()).into_owned()
        }
        _ => String::new(),
    };
    Some(BuildInfo {
        go_version,
        modinfo,
    })
}

/// Finds and decodes the build info of a binary; `None` for anything that
/// is not a Go binary.
pub(super) fn find(data: &[u8], obj: Option<&object::File<'_>>) -> Option<BuildInfo> {
    let section = obj.and_then(|o| {
        o.section_by_name(".go.buildinfo")
            .or_else(|| o.section_by_name("__go_buildinfo"))
    });
    if let Some(s) = section {
        let d = s.data().ok()?;
        return memchr::memmem::find(d, MAGIC).and_then(|i| decode(d.get(i..)?, obj));
    }
    // An ELF file with a section table but no build-info section is not a
    // Go binary (Go has written that section since 1.13).
    if let Some(o) = obj
        && o.format() == object::BinaryFormat::Elf
        && o.sections().next().is_some()
    {
        return None;
    }
    memchr::memmem::find_iter(data, MAGIC)
        .take(MAX_CANDIDATES)
        .find_map(|i| decode(data.get(i..)?, obj))
}

fn go_package(path: &str, version: &str, cataloger: &str) -> Package {
    Package::new(Ecosystem::Golang, path, version, cataloger)
}

/// The packages build info describes: the main module (unless built from a
/// working tree, `(devel)`), every dependency (replacements with a version
/// win) and the toolchain as `stdlib`.
pub(super) fn packages(info: &BuildInfo, cataloger: &str) -> Vec<Package> {
    let mut out: Vec<Package> = Vec::new();
    // The last module line a `=>` line replaces.
    let mut last: Option<usize> = None;
    for line in info.modinfo.lines() {
        let mut f = line.split('\t');
        let kind = f.next().unwrap_or_default();
        let path = f.next().unwrap_or_default();
        let version = f.next().unwrap_or_default();
        let sum = f
            .next()
            .filter(|s| s.starts_with("h1:"))
            .map(str::to_string);
        if path.is_empty() {
            continue;
        }
        match kind {
            "mod" | "dep" => {
                last = None;
                // `(devel)` and the zero pseudo-version Go writes for modules
                // replaced by local directories are no release anyone
                // published: matching them would be guesswork.
                if version.is_empty()
                    || version == "(devel)"
                    || version.starts_with("v0.0.0-00010101000000-")
                {
                    continue;
                }
                let mut p = go_package(path, version, cataloger);
                p.checksum = sum;
                out.push(p);
                last = Some(out.len() - 1);
            }
            "=>" => {
                // A local directory replacement has no version (or
                // `(devel)`): the module keeps the identity it was required as.
                if let Some(p) = last.and_then(|i| out.get_mut(i))
                    && !version.is_empty()
                    && version != "(devel)"
                {
                    path.clone_into(&mut p.name);
                    version.clone_into(&mut p.version);
                    p.checksum = sum;
                }
                last = None;
            }
            _ => last = None,
        }
    }
    let go = info
        .go_version
        .split_whitespace()
        .next()
        .unwrap_or_default();
    if go.starts_with("go") && go.as_bytes().get(2).is_some_and(u8::is_ascii_digit) {
        out.push(go_package("stdlib", go, cataloger));
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    const START: &[u8] = b"\x30\x77\xaf\x0c\x92\x74\x08\x02\x41\xe1\xc1\x07\xe6\xd6\x18\xe6";
    const END: &[u8] = b"\xf9\x32\x43\x31\x86\x18\x20\x72\x00\x82\x42\x10\x41\x16\xd8\xf2";

    fn varint(mut n: usize, out: &mut Vec<u8>) {
        while n >= 0x80 {
            out.push(u8::try_from(n & 0x7f).unwrap_or(0) | 0x80);
            n >>= 7;
        }
        out.push(u8::try_from(n).unwrap_or(0));
    }

    /// An inline (Go 1.18+) build-info blob.
    pub(crate) fn inline_blob(version: &str, modinfo: &str) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend([8, FLAG_INLINE]);
        b.resize(32, 0);
        varint(version.len(), &mut b);
        b.extend(version.as_bytes());
        let wrapped = [START, modinfo.as_bytes(), END].concat();
        varint(wrapped.len(), &mut b);
        b.extend(wrapped);
        b
    }

    const MODINFO: &str = "path\texample.com/cmd/tool\n\
        mod\texample.com\tv1.4.0\th1:abc=\n\
        dep\tgithub.com/a/b\tv1.0.0\th1:x=\n\
        dep\tgithub.com/c/d\tv0.2.0\n\
        =>\tgithub.com/fork/d\tv0.2.1\th1:y=\n\
        dep\tgithub.com/e/f\tv3.0.0\n\
        =>\t../f\t(devel)\t\n\
        build\t-compiler=gc\n";

    #[test]
    fn decodes_inline_build_info() {
        let mut file = vec![0u8; 100];
        file.extend(inline_blob("go1.22.5 X:boringcrypto", MODINFO));
        let info = find(&file, None);
        assert_eq!(
            info.as_ref().map(|i| i.go_version.as_str()),
            Some("go1.22.5 X:boringcrypto")
        );
        let got: Vec<String> = info
            .map(|i| packages(&i, "t"))
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "{}@{} {}",
                    p.name,
                    p.version,
                    p.checksum.as_deref().unwrap_or("-")
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                "example.com@v1.4.0 h1:abc=",
                "github.com/a/b@v1.0.0 h1:x=",
                "github.com/fork/d@v0.2.1 h1:y=",
                "github.com/e/f@v3.0.0 -",
                "stdlib@go1.22.5 -",
            ]
        );
    }

    #[test]
    fn skips_devel_main_modules_and_bad_sentinels() {
        let info = BuildInfo {
            go_version: "devel go1.23-abc".into(),
            modinfo: "mod\texample.com\t(devel)\t\n".into(),
        };
        assert!(packages(&info, "t").is_empty());
        // Module info that does not end with a newline before the sentinel.
        let blob = inline_blob("go1.21.0", "x");
        assert_eq!(find(&blob, None).map(|i| i.modinfo), Some(String::new()));
    }

    /// A minimal ELF64 executable, one loadable segment at 0x400000 and no
    /// section table, holding pre-1.18 (pointer format) build info.
    fn pointer_format_elf(version: &str, modinfo: &str) -> Vec<u8> {
        const BASE: u64 = 0x40_0000;
        let wrapped = [START, modinfo.as_bytes(), END].concat();
        let info_at = 128u64;
        let headers_at = info_at + 32;
        let version_at = headers_at + 32;
        let modinfo_at = version_at + version.len() as u64;
        let total = modinfo_at + wrapped.len() as u64;
        let mut f = Vec::new();
        f.extend(b"\x7fELF\x02\x01\x01");
        f.resize(16, 0);
        f.extend(2u16.to_le_bytes()); // executable
        f.extend(0x3eu16.to_le_bytes()); // x86-64
        f.extend(1u32.to_le_bytes());
        f.extend(BASE.to_le_bytes()); // entry
        f.extend(64u64.to_le_bytes()); // program headers
        f.extend(0u64.to_le_bytes()); // no section headers
        f.extend(0u32.to_le_bytes());
        for v in [64u16, 56, 1, 64, 0, 0] {
            f.extend(v.to_le_bytes());
        }
        f.extend(1u32.to_le_bytes()); // PT_LOAD
        f.extend(6u32.to_le_bytes());
        for v in [0, BASE, BASE, total, total, 0x1000] {
            f.extend(v.to_le_bytes());
        }
        f.resize(usize::try_from(info_at).unwrap_or(0), 0);
        f.extend(MAGIC);
        f.extend([8, 0]);
        f.extend((BASE + headers_at).to_le_bytes());
        f.extend((BASE + headers_at + 16).to_le_bytes());
        for (at, len) in [(version_at, version.len()), (modinfo_at, wrapped.len())] {
            f.extend((BASE + at).to_le_bytes());
            f.extend((len as u64).to_le_bytes());
        }
        f.extend(version.as_bytes());
        f.extend(wrapped);
        f
    }

    #[test]
    fn decodes_pointer_format_through_segments() {
        let file = pointer_format_elf("go1.16.15", MODINFO);
        let obj = object::File::parse(file.as_slice()).ok();
        assert!(obj.is_some());
        let info = find(&file, obj.as_ref());
        assert_eq!(
            info.as_ref().map(|i| i.go_version.as_str()),
            Some("go1.16.15")
        );
        assert_eq!(info.map(|i| packages(&i, "t").len()), Some(5));
        // Without the address map the pointers lead nowhere.
        assert_eq!(find(&file, None), None);
        // Pointers outside every segment.
        let mut bad = file.clone();
        if let Some(p) = bad.get_mut(128 + 16..128 + 24) {
            p.copy_from_slice(&u64::MAX.to_le_bytes());
        }
        let obj = object::File::parse(bad.as_slice()).ok();
        assert_eq!(find(&bad, obj.as_ref()), None);
    }

    #[test]
    fn survives_truncated_and_hostile_headers() {
        let blob = inline_blob("go1.21.0", MODINFO);
        for n in 0..blob.len() {
            let _ = find(blob.get(..n).unwrap_or_default(), None);
        }
        // A length beyond the data, and a varint that never ends.
        let mut huge = MAGIC.to_vec();
        huge.extend([8, FLAG_INLINE]);
        huge.resize(32, 0);
        huge.extend([0xff; 12]);
        assert_eq!(find(&huge, None), None);
        // The pointer format needs the object file's address map.
        let mut ptr = MAGIC.to_vec();
        ptr.extend([8, 0]);
        ptr.extend([0x10; 16]);
        assert_eq!(find(&ptr, None), None);
    }
}
