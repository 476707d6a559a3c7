//! Looking inside archives (zip, jar, whl..., tar, gzip) with bounded depth,
//! size and entry count; everything else goes to the text/binary scanner.

use std::io::{Cursor, Read};
use std::time::Instant;

use crate::engine::{Engine, SNIFF};
use crate::finding::Finding;

/// What one top-level file may still spend on archive members.
#[derive(Debug)]
pub(crate) struct Budget {
    pub bytes: u64,
    pub entries: usize,
    pub deadline: Option<Instant>,
}

/// File name endings whose content is media or compressed formats Rampart
/// does not open: their strings are noise, so they are not scanned.
const OPAQUE_EXT: &[&str] = &[
    ".png", ".jpg", ".jpeg", ".gif", ".bmp", ".ico", ".webp", ".tif", ".tiff", ".svgz", ".woff",
    ".woff2", ".ttf", ".otf", ".eot", ".mp3", ".mp4", ".ogg", ".wav", ".flac", ".avi", ".mov",
    ".mkv", ".webm", ".xz", ".bz2", ".zst", ".lz4", ".7z", ".rar", ".lzma", ".pdf",
];

/// Whether a path names a media or compressed file the scanner leaves alone.
#[must_use]
pub(crate) fn is_opaque(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    OPAQUE_EXT.iter().any(|e| lower.ends_with(e))
}

#[derive(Debug, PartialEq, Eq)]
enum Kind {
    Zip,
    Gzip,
    Tar,
    Other,
}

fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Kind::Zip
    } else if head.starts_with(&[0x1f, 0x8b]) {
        Kind::Gzip
    } else if head.len() >= 262 && &head[257..262] == b"ustar" {
        Kind::Tar
    } else {
        Kind::Other
    }
}

/// Directories where distributions install their packages' documentation.
const PACKAGE_DOC_DIRS: &[&str] = &["/usr/share/man/", "/usr/share/doc/", "/usr/share/info/"];

/// Whether a path is compressed package documentation (`.gz` man pages,
/// changelogs and info files under `/usr/share`): text shipped by the
/// distribution, not configuration, and ten times its size once inflated.
#[must_use]
pub(crate) fn is_package_doc(path: &str) -> bool {
    !path.contains('!')
        && path.ends_with(".gz")
        && PACKAGE_DOC_DIRS.iter().any(|d| path.contains(d))
}

/// Scans `reader` as whatever it holds, opening archives up to the
/// configured depth.
pub(crate) fn scan_any(
    engine: &Engine<'_>,
    path: &str,
    reader: &mut dyn Read,
    depth: usize,
    budget: &mut Budget,
    emit: &mut dyn FnMut(Finding),
) -> Result<(), String> {
    if is_opaque(path) || (!engine.opts.package_docs && depth == 0 && is_package_doc(path)) {
        return Ok(());
    }
    let mut head = Vec::with_capacity(SNIFF);
    reader
        .take(SNIFF as u64)
        .read_to_end(&mut head)
        .map_err(|e| format!("read: {e}"))?;
    let kind = sniff(&head);
    if kind == Kind::Other {
        return engine.scan_stream(path, &head, reader, budget.deadline, emit);
    }
    if depth >= engine.opts.archive_depth {
        // Too deep: compressed bytes hold no readable secrets.
        return Ok(());
    }
    let mut chained = Cursor::new(head).chain(reader);
    match kind {
        Kind::Zip => scan_zip(engine, path, &mut chained, depth, budget, emit),
        Kind::Gzip => {
            let mut gz = flate2::read::GzDecoder::new(chained).take(budget.bytes);
            let inner = format!("{path}!{}", gunzipped_name(path));
            let r = scan_any(engine, &inner, &mut gz, depth + 1, budget, emit);
            let used = budget.bytes - gz.limit();
            budget.bytes = budget.bytes.saturating_sub(used);
            r
        }
        Kind::Tar => scan_tar(engine, path, &mut chained, depth, budget, emit),
        Kind::Other => Ok(()),
    }
}

fn gunzipped_name(path: &str) -> String {
    let name = path.rsplit(['/', '!']).next().unwrap_or(path);
    if let Some(stem) = name.strip_suffix(".tgz") {
        format!("{stem}.tar")
    } else if let Some(stem) = name.strip_suffix(".gz") {
        stem.to_string()
    } else {
        format!("{name}.out")
    }
}

fn scan_zip(
    engine: &Engine<'_>,
    path: &str,
    reader: &mut dyn Read,
    depth: usize,
    budget: &mut Budget,
    emit: &mut dyn FnMut(Finding),
) -> Result<(), String> {
    let limit = engine.opts.archive_max_bytes;
    let mut data = Vec::new();
    reader
        .take(limit + 1)
        .read_to_end(&mut data)
        .map_err(|e| format!("read: {e}"))?;
    if data.len() as u64 > limit {
        return Err(format!(
            "zip archive larger than the {limit}-byte limit: members not scanned"
        ));
    }
    let mut zip =
        zip::ZipArchive::new(Cursor::new(data)).map_err(|e| format!("not a readable zip: {e}"))?;
    for i in 0..zip.len() {
        if budget.entries == 0 || budget.bytes == 0 {
            return Err("archive limits reached (members or bytes): rest not scanned".to_string());
        }
        if budget.deadline.is_some_and(|d| Instant::now() > d) {
            return Err("time budget spent inside an archive".to_string());
        }
        let Ok(mut entry) = zip.by_index(i) else {
            continue; // encrypted or unsupported compression
        };
        if !entry.is_file() {
            continue;
        }
        budget.entries -= 1;
        let name = entry.name().map_or_else(
            |_| format!("entry-{i}"),
            |n| n.trim_start_matches('/').to_string(),
        );
        let inner = format!("{path}!{name}");
        let mut limited = (&mut entry).take(budget.bytes);
        let r = scan_any(engine, &inner, &mut limited, depth + 1, budget, emit);
        let used = budget.bytes - limited.limit();
        budget.bytes = budget.bytes.saturating_sub(used);
        r?;
    }
    Ok(())
}

fn scan_tar(
    engine: &Engine<'_>,
    path: &str,
    reader: &mut dyn Read,
    depth: usize,
    budget: &mut Budget,
    emit: &mut dyn FnMut(Finding),
) -> Result<(), String> {
    let mut ar = tar::Archive::new(reader);
    let entries = ar
        .entries()
        .map_err(|e| format!("not a readable tar: {e}"))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("tar: {e}"))?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        if budget.entries == 0 || budget.bytes == 0 {
            return Err("archive limits reached (members or bytes): rest not scanned".to_string());
        }
        if budget.deadline.is_some_and(|d| Instant::now() > d) {
            return Err("time budget spent inside an archive".to_string());
        }
        budget.entries -= 1;
        let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let inner = format!("{path}!{}", name.trim_start_matches("./"));
        let mut limited = (&mut entry).take(budget.bytes);
        let r = scan_any(engine, &inner, &mut limited, depth + 1, budget, emit);
        let used = budget.bytes - limited.limit();
        budget.bytes = budget.bytes.saturating_sub(used);
        r?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compressed_package_docs_are_recognised() {
        assert!(is_package_doc("/usr/share/doc/bash/changelog.Debian.gz"));
        assert!(is_package_doc("/usr/share/man/man1/ls.1.gz"));
        assert!(is_package_doc("/usr/share/info/grep.info.gz"));
        assert!(!is_package_doc("/usr/share/doc/app/README"));
        assert!(!is_package_doc("/var/log/auth.log.1.gz"));
        assert!(!is_package_doc("/srv/backup.tar.gz!usr/share/doc/x.gz"));
    }

    #[test]
    fn names_of_gunzipped_members() {
        assert_eq!(gunzipped_name("/a/b.tar.gz"), "b.tar");
        assert_eq!(gunzipped_name("/a/b.tgz"), "b.tar");
        assert_eq!(gunzipped_name("/x.zip!log.gz"), "log");
    }
}
