//! The local advisory store: one SQLite file, `rampart-vuln.db`, in the
//! database directory. It is always built whole into a temporary file next
//! to it and renamed into place, so readers only ever see a complete
//! database and a failed build leaves the previous one working.
//!
//! Tables:
//! - `records`: one row per OSV record and source (`osv/<Ecosystem>`), with
//!   a small JSON summary (`meta`) and the original JSON (`doc`);
//! - `affected`: the index, (OSV ecosystem, normalised name) -> record, with
//!   the `affected[]` entry reduced to what matching reads (`entry`);
//! - `kev`, `epss`: enrichment by CVE id;
//! - `sources`: one row per feed (location, ETag, Last-Modified, fetch and
//!   check times, counts); `ecosystems`: counts per OSV ecosystem;
//!   `meta`: schema version and build time.
//!
//! Blobs are stored plain when small and deflate-compressed otherwise: a
//! blob starting with `{` is plain JSON, one starting with byte 1 is
//! compressed.

pub(crate) mod build;

use std::borrow::Cow;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use flate2::Compression;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::error::{DbError, Result};
use crate::feeds::kev::KevEntry;
use crate::osv::{Affected, SeverityScore, Vulnerability};

/// The database file name inside the database directory.
pub const DB_FILE: &str = "rampart-vuln.db";
/// The layout version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) const SCHEMA: &str = "
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sources(
    name TEXT PRIMARY KEY, location TEXT NOT NULL, etag TEXT, last_modified TEXT,
    fetched_at INTEGER NOT NULL, checked_at INTEGER NOT NULL,
    records INTEGER NOT NULL, bytes INTEGER NOT NULL, info TEXT);
CREATE TABLE records(
    rid INTEGER PRIMARY KEY, source TEXT NOT NULL, id TEXT NOT NULL,
    modified TEXT, withdrawn INTEGER NOT NULL, meta TEXT NOT NULL, doc BLOB NOT NULL,
    UNIQUE(source, id));
CREATE TABLE affected(ecosystem TEXT NOT NULL, name TEXT NOT NULL, rid INTEGER NOT NULL, entry BLOB NOT NULL);
CREATE TABLE ecosystems(ecosystem TEXT PRIMARY KEY, records INTEGER NOT NULL, packages INTEGER NOT NULL);
CREATE TABLE kev(cve TEXT PRIMARY KEY, date_added TEXT NOT NULL, due_date TEXT,
    ransomware INTEGER NOT NULL, vendor TEXT NOT NULL, product TEXT NOT NULL, name TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE epss(cve TEXT PRIMARY KEY, score REAL NOT NULL, percentile REAL NOT NULL) WITHOUT ROWID;
";

const COMPRESS_ABOVE: usize = 200;

thread_local! {
    /// One compressor and one decompressor per thread, reset between
    /// records: setting one up allocates and clears its window, which
    /// costs more than deflating a typical record.
    static DEFLATE: std::cell::RefCell<flate2::Compress> =
        std::cell::RefCell::new(flate2::Compress::new(Compression::fast(), false));
    static INFLATE: std::cell::RefCell<flate2::Decompress> =
        std::cell::RefCell::new(flate2::Decompress::new(false));
}

/// Stores `json` plain when small, deflated otherwise.
pub(crate) fn encode_blob(json: &[u8]) -> Vec<u8> {
    if json.len() <= COMPRESS_ABOVE {
        return json.to_vec();
    }
    let deflated = DEFLATE.with(|c| {
        let mut c = c.borrow_mut();
        c.reset();
        let mut out = Vec::with_capacity(json.len() / 4 + 64);
        out.push(1u8);
        loop {
            let consumed = usize::try_from(c.total_in()).ok()?;
            let status = c
                .compress_vec(
                    json.get(consumed..)?,
                    &mut out,
                    flate2::FlushCompress::Finish,
                )
                .ok()?;
            match status {
                flate2::Status::StreamEnd => return Some(out),
                flate2::Status::Ok | flate2::Status::BufError => {
                    out.reserve(out.capacity().max(256));
                }
            }
        }
    });
    deflated.unwrap_or_else(|| json.to_vec())
}

/// The JSON a blob holds.
pub(crate) fn decode_blob<'a>(blob: &'a [u8], id: &str) -> Result<Cow<'a, [u8]>> {
    let corrupt = |message: String| DbError::Corrupt {
        id: id.to_string(),
        message,
    };
    match blob.first() {
        Some(1) => {
            let input = &blob[1..];
            INFLATE.with(|d| {
                let mut d = d.borrow_mut();
                d.reset(false);
                let mut out = Vec::with_capacity(blob.len() * 4);
                loop {
                    let consumed =
                        usize::try_from(d.total_in()).map_err(|e| corrupt(e.to_string()))?;
                    let rest = input.get(consumed..).unwrap_or_default();
                    let before = (d.total_in(), d.total_out());
                    let status = d
                        .decompress_vec(rest, &mut out, flate2::FlushDecompress::Finish)
                        .map_err(|e| corrupt(e.to_string()))?;
                    match status {
                        flate2::Status::StreamEnd => return Ok(Cow::Owned(out)),
                        _ if out.len() > MAX_RECORD_BYTES => {
                            return Err(corrupt("inflates beyond the record size limit".into()));
                        }
                        _ if (d.total_in(), d.total_out()) == before
                            && out.len() < out.capacity() =>
                        {
                            return Err(corrupt("truncated deflate stream".into()));
                        }
                        _ => out.reserve(out.capacity().max(1024)),
                    }
                }
            })
        }
        _ => Ok(Cow::Borrowed(blob)),
    }
}

/// Largest record JSON a stored blob may inflate to.
const MAX_RECORD_BYTES: usize = 256 << 20;

/// What matching reads about a record, stored next to the full document.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct RecordMeta {
    pub id: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<SeverityScore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_severity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default)]
    pub withdrawn: bool,
}

impl RecordMeta {
    pub(crate) fn from_vuln(v: &Vulnerability) -> Self {
        let summary = v
            .summary
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or_else(|| {
                v.details.as_deref().map(|d| {
                    let first = d.trim().lines().next().unwrap_or_default();
                    first.chars().take(200).collect()
                })
            });
        RecordMeta {
            id: v.id.clone(),
            aliases: v.aliases.clone(),
            summary: summary.filter(|s: &String| !s.is_empty()),
            severity: v.severity.clone(),
            source_severity: v.source_severity().map(str::to_string),
            published: v.published_date().map(str::to_string),
            modified: v.modified_date().map(str::to_string),
            references: v
                .references
                .iter()
                .map(|r| r.url.clone())
                .take(20)
                .collect(),
            withdrawn: v.is_withdrawn(),
        }
    }
}

/// Reduces an `affected[]` entry to what matching reads: no package (the
/// index has it), no GIT ranges, only the `severity`/`urgency` keys of
/// `ecosystem_specific`, no `database_specific`.
pub(crate) fn reduce_affected(a: &Affected) -> Affected {
    use crate::osv::RangeType;
    let ecosystem_specific = a.ecosystem_specific.as_ref().and_then(|es| {
        let mut m = serde_json::Map::new();
        for k in ["severity", "urgency"] {
            if let Some(v) = es.get(k) {
                m.insert(k.to_string(), v.clone());
            }
        }
        (!m.is_empty()).then_some(serde_json::Value::Object(m))
    });
    Affected {
        package: None,
        severity: a.severity.clone(),
        ranges: a
            .ranges
            .iter()
            .filter(|r| matches!(r.kind, RangeType::Ecosystem | RangeType::Semver))
            .cloned()
            .collect(),
        versions: a.versions.clone(),
        ecosystem_specific,
        database_specific: None,
    }
}

pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// One feed as the database recorded it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    /// `osv/<Ecosystem>`, `kev` or `epss`.
    pub name: String,
    /// The URL or file it was read from.
    pub location: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// When its current content was downloaded or imported (Unix seconds).
    pub fetched_at: i64,
    /// When the source was last checked (a 304 counts).
    pub checked_at: i64,
    pub records: u64,
    pub bytes: u64,
    /// Extra: the EPSS score date, the KEV catalog version.
    pub info: Option<String>,
}

impl SourceStatus {
    /// How old the data is at `now` (zero if the clock is behind).
    #[must_use]
    pub fn age(&self, now: SystemTime) -> Duration {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        Duration::from_secs(u64::try_from(now - self.fetched_at).unwrap_or(0))
    }
}

/// Counts for one OSV ecosystem (`Debian:12`, `PyPI`...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcosystemCount {
    pub ecosystem: String,
    pub records: u64,
    pub packages: u64,
}

/// What `rampart db status` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    pub path: PathBuf,
    pub schema_version: u32,
    /// When the file was built (Unix seconds).
    pub built_at: i64,
    pub sources: Vec<SourceStatus>,
    pub ecosystems: Vec<EcosystemCount>,
    /// OSV records (withdrawn ones included).
    pub records: u64,
    pub withdrawn: u64,
    pub kev_entries: u64,
    pub epss_scores: u64,
}

impl Status {
    /// The sources whose data is older than `max_age` at `now`: what a scan
    /// warns about.
    #[must_use]
    pub fn stale_sources(&self, now: SystemTime, max_age: Duration) -> Vec<&SourceStatus> {
        self.sources
            .iter()
            .filter(|s| s.age(now) > max_age)
            .collect()
    }
}

/// EPSS scores for one CVE.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpssScore {
    /// Probability of exploitation activity in the next 30 days.
    pub score: f64,
    pub percentile: f64,
}

/// An open advisory database (read-only).
#[derive(Debug)]
pub struct Database {
    pub(crate) conn: Connection,
    path: PathBuf,
    pub(crate) ecosystems: Vec<String>,
    pub(crate) epss_date: Option<String>,
}

impl Database {
    /// The database file inside `dir`.
    #[must_use]
    pub fn file_in(dir: &Path) -> PathBuf {
        dir.join(DB_FILE)
    }

    /// Opens the database in `dir` read-only.
    ///
    /// # Errors
    /// [`DbError::Missing`] when there is none; [`DbError::SchemaVersion`]
    /// when it was written by another layout version.
    pub fn open(dir: &Path) -> Result<Self> {
        let path = Self::file_in(dir);
        if !path.is_file() {
            return Err(DbError::Missing(dir.to_path_buf()));
        }
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        // Writers never modify this file: they build a new one and rename
        // it over this one. So a reader may keep its shared lock for the
        // connection's life instead of taking and dropping it around every
        // query (two fcntl calls each), and may map the file instead of
        // copying pages in with read calls.
        conn.pragma_update(None, "locking_mode", "EXCLUSIVE")?;
        conn.pragma_update(None, "mmap_size", 1_i64 << 30)?;
        conn.pragma_update(None, "cache_size", -65_536_i64)?;
        let found: Option<String> = conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .unwrap_or(None);
        if found.as_deref() != Some(&SCHEMA_VERSION.to_string()) {
            return Err(DbError::SchemaVersion {
                path,
                found: found.unwrap_or_else(|| "none".into()),
                expected: SCHEMA_VERSION,
            });
        }
        let ecosystems = {
            let mut st = conn.prepare("SELECT ecosystem FROM ecosystems ORDER BY ecosystem")?;
            st.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let epss_date = conn
            .query_row("SELECT info FROM sources WHERE name = 'epss'", [], |r| {
                r.get::<_, Option<String>>(0)
            })
            .optional()?
            .flatten();
        Ok(Database {
            conn,
            path,
            ecosystems,
            epss_date,
        })
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The OSV ecosystems present (`Alpine:v3.20`, `Debian:12`, `PyPI`...).
    #[must_use]
    pub fn ecosystems(&self) -> &[String] {
        &self.ecosystems
    }

    pub(crate) fn sources(conn: &Connection) -> Result<Vec<SourceStatus>> {
        let mut st = conn.prepare(
            "SELECT name, location, etag, last_modified, fetched_at, checked_at, records, bytes, info
             FROM sources ORDER BY name",
        )?;
        let rows = st
            .query_map([], |r| {
                Ok(SourceStatus {
                    name: r.get(0)?,
                    location: r.get(1)?,
                    etag: r.get(2)?,
                    last_modified: r.get(3)?,
                    fetched_at: r.get(4)?,
                    checked_at: r.get(5)?,
                    records: r.get::<_, i64>(6)?.try_into().unwrap_or(0),
                    bytes: r.get::<_, i64>(7)?.try_into().unwrap_or(0),
                    info: r.get(8)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Sources, counts per ecosystem, ages.
    ///
    /// # Errors
    /// Database errors.
    pub fn status(&self) -> Result<Status> {
        let c = &self.conn;
        let count = |sql: &str| -> Result<u64> {
            let n: i64 = c.query_row(sql, [], |r| r.get(0))?;
            Ok(n.try_into().unwrap_or(0))
        };
        let built_at: i64 = c
            .query_row("SELECT value FROM meta WHERE key = 'built_at'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let mut st =
            c.prepare("SELECT ecosystem, records, packages FROM ecosystems ORDER BY ecosystem")?;
        let ecosystems = st
            .query_map([], |r| {
                Ok(EcosystemCount {
                    ecosystem: r.get(0)?,
                    records: r.get::<_, i64>(1)?.try_into().unwrap_or(0),
                    packages: r.get::<_, i64>(2)?.try_into().unwrap_or(0),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Status {
            path: self.path.clone(),
            schema_version: SCHEMA_VERSION,
            built_at,
            sources: Self::sources(c)?,
            ecosystems,
            records: count("SELECT COUNT(*) FROM records")?,
            withdrawn: count("SELECT COUNT(*) FROM records WHERE withdrawn != 0")?,
            kev_entries: count("SELECT COUNT(*) FROM kev")?,
            epss_scores: count("SELECT COUNT(*) FROM epss")?,
        })
    }

    /// Every stored record with this id (one per source that has it), as
    /// published.
    ///
    /// # Errors
    /// Database errors; [`DbError::Corrupt`] for an unreadable blob.
    pub fn record(&self, id: &str) -> Result<Vec<Vulnerability>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT doc FROM records WHERE id = ?1 ORDER BY source")?;
        let blobs = st
            .query_map([id], |r| r.get::<_, Vec<u8>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        blobs
            .iter()
            .map(|b| {
                let json = decode_blob(b, id)?;
                serde_json::from_slice(&json).map_err(|e| DbError::Corrupt {
                    id: id.to_string(),
                    message: e.to_string(),
                })
            })
            .collect()
    }

    /// Index rows for one (ecosystem, normalised name): (record row id,
    /// reduced affected entry).
    pub(crate) fn affected_rows(
        &self,
        ecosystem: &str,
        name: &str,
    ) -> Result<Vec<(i64, Affected)>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT rid, entry FROM affected WHERE ecosystem = ?1 AND name = ?2")?;
        let rows = st
            .query_map(params![ecosystem, name], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(rid, blob)| {
                let label = format!("{ecosystem}/{name}#{rid}");
                let json = decode_blob(&blob, &label)?;
                let a: Affected = serde_json::from_slice(&json).map_err(|e| DbError::Corrupt {
                    id: label,
                    message: e.to_string(),
                })?;
                Ok((rid, a))
            })
            .collect()
    }

    pub(crate) fn meta(&self, rid: i64) -> Result<RecordMeta> {
        let mut st = self
            .conn
            .prepare_cached("SELECT meta FROM records WHERE rid = ?1")?;
        let text: String = st.query_row([rid], |r| r.get(0))?;
        serde_json::from_str(&text).map_err(|e| DbError::Corrupt {
            id: format!("record #{rid}"),
            message: e.to_string(),
        })
    }

    /// The KEV entry for a CVE.
    ///
    /// # Errors
    /// Database errors.
    pub fn kev(&self, cve: &str) -> Result<Option<KevEntry>> {
        let mut st = self.conn.prepare_cached(
            "SELECT cve, date_added, due_date, ransomware, vendor, product, name FROM kev WHERE cve = ?1",
        )?;
        Ok(st
            .query_row([cve], |r| {
                Ok(KevEntry {
                    cve: r.get(0)?,
                    date_added: r.get(1)?,
                    due_date: r.get(2)?,
                    ransomware: r.get::<_, i64>(3)? != 0,
                    vendor: r.get(4)?,
                    product: r.get(5)?,
                    name: r.get(6)?,
                })
            })
            .optional()?)
    }

    /// The EPSS scores for a CVE.
    ///
    /// # Errors
    /// Database errors.
    pub fn epss(&self, cve: &str) -> Result<Option<EpssScore>> {
        let mut st = self
            .conn
            .prepare_cached("SELECT score, percentile FROM epss WHERE cve = ?1")?;
        Ok(st
            .query_row([cve], |r| {
                Ok(EpssScore {
                    score: r.get(0)?,
                    percentile: r.get(1)?,
                })
            })
            .optional()?)
    }

    /// The date of the EPSS scores, as the file states it.
    #[must_use]
    pub fn epss_date(&self) -> Option<&str> {
        self.epss_date.as_deref()
    }
}

/// Records that a check found every source unchanged (HTTP 304): only the
/// `checked_at` times move. Done in place; the database stays valid either
/// way.
pub(crate) fn touch_checked(dir: &Path, names: &[String], at: i64) -> Result<()> {
    let path = Database::file_in(dir);
    let conn = Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_WRITE)?;
    for n in names {
        conn.execute(
            "UPDATE sources SET checked_at = ?1 WHERE name = ?2",
            params![at, n],
        )?;
    }
    Ok(())
}

/// The lock file writers hold while they update a database directory.
pub const LOCK_FILE: &str = ".rampart-vuln.lock";

/// Prefixes of the temporary files writers make in the directory.
const TEMP_PREFIXES: [&str; 2] = [".rampart-vuln.db.", ".rampart-download."];

/// An exclusive hold on a database directory for one writer (update or
/// import), released when dropped. Readers never wait: they see the old
/// database until the atomic rename.
#[derive(Debug)]
pub(crate) struct WriterLock {
    _file: std::fs::File,
}

impl WriterLock {
    /// Takes the lock, failing at once when another writer holds it, then
    /// removes temporary files an earlier writer left behind when it was
    /// killed (no writer can be using them now).
    pub(crate) fn acquire(dir: &std::path::Path) -> crate::error::Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| crate::DbError::io(dir, e))?;
        let path = dir.join(LOCK_FILE);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| crate::DbError::io(&path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(crate::DbError::Busy(dir.to_path_buf()));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(crate::DbError::io(&path, e)),
        }
        if let Ok(entries) = std::fs::read_dir(dir) {
            for e in entries.flatten() {
                let name = e.file_name();
                let name = name.to_string_lossy();
                if TEMP_PREFIXES.iter().any(|p| name.starts_with(p)) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Ok(WriterLock { _file: file })
    }
}

#[cfg(test)]
mod blob_tests {
    use super::*;

    #[test]
    fn blobs_round_trip_and_damage_is_an_error() {
        let small = br#"{"id":"X"}"#.to_vec();
        assert_eq!(encode_blob(&small), small);
        let big: Vec<u8> = (0..50_000u32)
            .flat_map(|i| format!("{{\"n\":{i}}},").into_bytes())
            .collect();
        for _ in 0..3 {
            // The same compressor serves record after record.
            let blob = encode_blob(&big);
            assert_eq!(blob[0], 1);
            assert!(
                blob.len() < big.len() / 2,
                "{} of {}",
                blob.len(),
                big.len()
            );
            assert_eq!(decode_blob(&blob, "x").unwrap().as_ref(), big.as_slice());
            let cut = &blob[..blob.len() / 2];
            assert!(matches!(
                decode_blob(cut, "x"),
                Err(DbError::Corrupt { .. })
            ));
            let mut garbage = blob.clone();
            for b in garbage.iter_mut().skip(5).step_by(7) {
                *b ^= 0x5a;
            }
            let _ = decode_blob(&garbage, "x");
        }
    }
}
