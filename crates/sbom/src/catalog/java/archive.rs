//! Walking a Java archive (a zip file) and the archives nested in it, with
//! explicit bounds: nesting depth, central-directory entries and
//! decompressed bytes over the whole walk, and the size of each entry read.

use std::collections::HashSet;
use std::io::{Cursor, Read};

use zip::ZipArchive;

use super::meta::{self, Coordinates};
use crate::package::{Ecosystem, Package};

/// Nested archive levels below the file itself.
pub(super) const MAX_DEPTH: usize = 8;
/// Central-directory entries over every archive of one walk.
const MAX_ENTRIES: usize = 1_000_000;
/// Decompressed bytes over every entry read in one walk.
const MAX_BYTES: u64 = 512 << 20;
/// Nested archives opened in one walk (an enterprise archive holds a few
/// thousand jars at most; overlapping-entry bombs hold millions).
const MAX_ARCHIVES: usize = 20_000;
/// One nested archive, decompressed.
const MAX_NESTED: u64 = 256 << 20;
/// One manifest or `pom.properties`.
const MAX_META: u64 = 1 << 20;
/// `pom.properties` files read from one archive (shaded jars hold many).
const MAX_POM_PROPERTIES: usize = 4096;

/// Problems kept with their reasons.
const MAX_PROBLEMS: usize = 32;

/// The signature of a central-directory file header: every entry the zip
/// reader can decode starts with one, so counting them bounds the entries
/// (and the memory) before the archive is opened.
const CENTRAL_HEADER: &[u8] = b"PK\x01\x02";

/// Extensions of Java archives (compared without regard to case).
pub(super) const EXTENSIONS: &[&[u8]] = &[b".jar", b".war", b".ear", b".par", b".jpi", b".hpi"];

/// True when `name` ends with a Java archive extension.
pub(super) fn is_archive_name(name: &[u8]) -> bool {
    EXTENSIONS.iter().any(|ext| {
        name.len() > ext.len()
            && name
                .get(name.len() - ext.len()..)
                .is_some_and(|tail| tail.eq_ignore_ascii_case(ext))
    })
}

fn is_pom_properties(name: &[u8]) -> bool {
    name.starts_with(b"META-INF/maven/") && name.ends_with(b"/pom.properties")
}

/// One walk over an archive and everything nested in it.
#[derive(Debug)]
pub(super) struct Walk<'a> {
    cataloger: &'a str,
    entries_left: usize,
    bytes_left: u64,
    archives_left: usize,
    /// What was emitted already (copies of one jar report it once).
    seen: HashSet<(Coordinates, Option<String>)>,
    pub packages: Vec<Package>,
    /// Nested archives that could not be read, with reasons.
    pub problems: Vec<String>,
    /// Problems beyond the ones kept.
    pub more_problems: usize,
}

impl<'a> Walk<'a> {
    pub(super) fn new(cataloger: &'a str) -> Self {
        Walk {
            cataloger,
            entries_left: MAX_ENTRIES,
            bytes_left: MAX_BYTES,
            archives_left: MAX_ARCHIVES,
            seen: HashSet::new(),
            packages: Vec::new(),
            problems: Vec::new(),
            more_problems: 0,
        }
    }

    /// Reads one entry, refusing more than `limit` bytes or more than what
    /// is left of the walk's budget (zip bombs stop here whatever sizes the
    /// headers declare).
    fn read_entry(
        &mut self,
        zip: &mut ZipArchive<Cursor<&[u8]>>,
        index: usize,
        limit: u64,
    ) -> Result<Vec<u8>, String> {
        let cap = limit.min(self.bytes_left);
        let file = zip.by_index(index).map_err(|e| e.to_string())?;
        if file.size() > cap {
            return Err(format!(
                "declares {} bytes, more than the {cap}-byte limit",
                file.size()
            ));
        }
        let mut buf = Vec::with_capacity(usize::try_from(file.size()).unwrap_or(0));
        file.take(cap + 1)
            .read_to_end(&mut buf)
            .map_err(|e| e.to_string())?;
        let got = buf.len() as u64;
        if got > cap {
            return Err(format!("inflates past the {cap}-byte limit"));
        }
        self.bytes_left -= got;
        Ok(buf)
    }

    /// Catalogs the archive `data` named `file_name`, `depth` levels deep,
    /// whose packages are found inside the artifact `parent`.
    ///
    /// # Errors
    /// A reason when this archive itself cannot be read; problems with
    /// nested archives are collected in `problems` instead.
    pub(super) fn archive(
        &mut self,
        data: &[u8],
        file_name: &str,
        depth: usize,
        parent: Option<&str>,
    ) -> Result<(), String> {
        let headers = memchr::memmem::find_iter(data, CENTRAL_HEADER)
            .take(self.entries_left.saturating_add(1))
            .count();
        if headers > self.entries_left {
            return Err(format!(
                "more than {MAX_ENTRIES} zip entries in all: refused"
            ));
        }
        self.entries_left -= headers;
        let mut zip = ZipArchive::new(Cursor::new(data))
            .map_err(|e| format!("not a readable zip archive: {e}"))?;

        let mut manifest = None;
        let mut poms: Vec<(usize, String)> = Vec::new();
        let mut nested: Vec<(usize, String)> = Vec::new();
        for (i, name) in zip.file_names_raw().enumerate() {
            if name.ends_with(b"/") {
                continue;
            }
            if name.eq_ignore_ascii_case(b"META-INF/MANIFEST.MF") {
                manifest = Some(i);
            } else if is_pom_properties(name) {
                if poms.len() < MAX_POM_PROPERTIES {
                    poms.push((i, String::from_utf8_lossy(name).into_owned()));
                }
            } else if is_archive_name(name) {
                nested.push((i, String::from_utf8_lossy(name).into_owned()));
            }
        }

        let main_headers = match manifest {
            Some(i) => match self.read_entry(&mut zip, i, MAX_META) {
                Ok(b) => meta::manifest_main(&String::from_utf8_lossy(&b)),
                Err(e) => {
                    self.note(format!("{file_name}: META-INF/MANIFEST.MF: {e}"));
                    Vec::new()
                }
            },
            None => Vec::new(),
        };
        let mut found: Vec<Coordinates> = Vec::new();
        for (i, path) in poms {
            match self.read_entry(&mut zip, i, MAX_META) {
                Ok(b) => {
                    found.extend(meta::pom_properties(&String::from_utf8_lossy(&b), &path));
                }
                Err(e) => self.note(format!("{file_name}: {path}: {e}")),
            }
        }

        let found = meta::dedup(found);
        // The archive's own artifact: the pom.properties named like the
        // file, or the only one; without any, the manifest's identity.
        let (stem, _) = meta::split_file_name(file_name);
        let main = found
            .iter()
            .position(|c| c.artifact == stem)
            .or_else(|| (found.len() == 1).then_some(0));
        let from_manifest = if found.is_empty() {
            meta::from_manifest(&main_headers, file_name)
        } else {
            None
        };
        let own = main
            .and_then(|i| found.get(i))
            .or(from_manifest.as_ref())
            .map(Coordinates::parent_id);
        let license = meta::manifest_license(&main_headers);
        let inner_parent = own.as_deref().or(parent);
        let is_main = |i: usize| main == Some(i);
        for (i, c) in found.iter().enumerate() {
            let p = if is_main(i) { parent } else { inner_parent };
            let lic = if is_main(i) { license.clone() } else { None };
            self.emit(c, p, lic);
        }
        if let Some(c) = &from_manifest {
            self.emit(c, parent, license);
        }

        for (i, path) in nested {
            if depth >= MAX_DEPTH {
                self.note(format!(
                    "{file_name}: {path}: nested deeper than {MAX_DEPTH} archives: not read"
                ));
                continue;
            }
            if self.bytes_left == 0 || self.entries_left == 0 || self.archives_left == 0 {
                self.note(format!(
                    "{file_name}: {path}: the walk's budget is spent: not read"
                ));
                continue;
            }
            self.archives_left -= 1;
            let inner_name = path.rsplit('/').next().unwrap_or(&path);
            let result = self
                .read_entry(&mut zip, i, MAX_NESTED)
                .and_then(|b| self.archive(&b, inner_name, depth + 1, inner_parent));
            if let Err(e) = result {
                self.note(format!("{file_name}: {path}: {e}"));
            }
        }
        Ok(())
    }

    /// Records a problem; past a few, only their number grows.
    fn note(&mut self, problem: String) {
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(problem);
        } else {
            self.more_problems += 1;
        }
    }

    fn emit(&mut self, c: &Coordinates, parent: Option<&str>, license: Option<String>) {
        let parent = parent.map(str::to_string);
        if !self.seen.insert((c.clone(), parent.clone())) {
            return;
        }
        let mut p = Package::new(Ecosystem::Maven, &c.artifact, &c.version, self.cataloger);
        p.namespace.clone_from(&c.group);
        p.parent = parent;
        p.licenses.extend(license);
        self.packages.push(p);
    }
}
