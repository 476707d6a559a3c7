//! Building the database from feed files: a directory in the mirror layout
//! (`osv/<Ecosystem>/all.zip`, `kev/known_exploited_vulnerabilities.json`,
//! `epss/epss_scores-current.csv.gz`) or single files. Sources given replace
//! the same sources in the current database; the others are carried over.
//!
//! Parsing runs on worker threads (one zip each at a time); one writer
//! inserts into a temporary database that is renamed into place at the end.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, mpsc};

use crate::error::{DbError, Result};
use crate::feeds::epss::{self, EpssData};
use crate::feeds::kev::{self, KevCatalog};
use crate::osv::Vulnerability;
use crate::package::normalize_name;
use crate::store::build::{Builder, PreparedRecord};
use crate::store::{Database, RecordMeta, SourceStatus, encode_blob, now_unix, reduce_affected};

/// Bounds on what an import reads: zip bombs and oversized feeds are
/// refused, not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Entries in one zip.
    pub max_zip_entries: u64,
    /// Uncompressed size of one zip entry (one OSV record).
    pub max_entry_bytes: u64,
    /// Uncompressed size of all entries of one zip.
    pub max_zip_total_bytes: u64,
    /// Uncompressed/compressed ratio of one entry (checked for entries
    /// larger than 1 MiB).
    pub max_ratio: u64,
    /// The KEV JSON document.
    pub max_kev_bytes: u64,
    /// The decompressed EPSS CSV.
    pub max_epss_bytes: u64,
    /// One downloaded file.
    pub max_download_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_zip_entries: 2_000_000,
            max_entry_bytes: 64 << 20,
            max_zip_total_bytes: 16 << 30,
            max_ratio: 250,
            max_kev_bytes: 256 << 20,
            max_epss_bytes: 1 << 30,
            max_download_bytes: 4 << 30,
        }
    }
}

/// Progress of an import or update. The callback returns
/// `ControlFlow::Break(())` to cancel; the current database is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Progress<'a> {
    /// Bytes of a download so far.
    Downloading {
        source: &'a str,
        bytes: u64,
        total: Option<u64>,
    },
    /// A download finished (or the server said 304 Not Modified).
    Downloaded { source: &'a str, not_modified: bool },
    /// Records read from a source so far.
    Importing { source: &'a str, records: u64 },
    /// A source is fully read.
    Imported { source: &'a str, records: u64 },
    /// Building indexes and swapping the new database in.
    Finishing,
}

/// A progress callback (see [`Progress`]).
pub type ProgressFn<'a> = &'a (dyn Fn(&Progress<'_>) -> ControlFlow<()> + Sync);

/// Options of [`Database::import`].
#[derive(Clone, Copy, Default)]
pub struct ImportOptions<'a> {
    pub limits: Limits,
    pub progress: Option<ProgressFn<'a>>,
}

impl std::fmt::Debug for ImportOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImportOptions")
            .field("limits", &self.limits)
            .field("progress", &self.progress.is_some())
            .finish()
    }
}

/// What an import or update wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    /// Sources read from the input, with their record counts.
    pub imported: Vec<(String, u64)>,
    /// Sources kept from the previous database.
    pub carried_over: Vec<String>,
    /// Records skipped because their id repeated within a source.
    pub duplicates: u64,
    /// The database file written.
    pub path: PathBuf,
}

/// What a feed file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InputKind {
    /// An OSV export; `ecosystem` when known (from `osv/<Ecosystem>/`), used
    /// to index only that ecosystem's entries (records affecting several
    /// ecosystems appear in each export).
    OsvZip {
        ecosystem: Option<String>,
    },
    Kev,
    Epss {
        gzip: bool,
    },
}

/// One feed file to import.
#[derive(Debug, Clone)]
pub(crate) struct Input {
    pub source: String,
    pub path: PathBuf,
    pub kind: InputKind,
    pub location: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Input {
    pub(crate) fn new(source: String, path: PathBuf, kind: InputKind) -> Self {
        Input {
            location: path.display().to_string(),
            source,
            path,
            kind,
            etag: None,
            last_modified: None,
        }
    }
}

/// The feed files under `path`: a mirror-layout directory or one file.
pub(crate) fn discover(path: &Path) -> Result<Vec<Input>> {
    let meta = std::fs::metadata(path).map_err(|e| DbError::io(path, e))?;
    if meta.is_file() {
        return Ok(vec![classify_file(path)?]);
    }
    let mut out = Vec::new();
    let osv = path.join("osv");
    if osv.is_dir() {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(&osv)
            .map_err(|e| DbError::io(&osv, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("all.zip").is_file())
            .collect();
        dirs.sort();
        for d in dirs {
            let eco = d
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            out.push(Input::new(
                format!("osv/{eco}"),
                d.join("all.zip"),
                InputKind::OsvZip {
                    ecosystem: Some(eco),
                },
            ));
        }
    }
    let kev = path.join("kev/known_exploited_vulnerabilities.json");
    if kev.is_file() {
        out.push(Input::new("kev".into(), kev, InputKind::Kev));
    }
    for (f, gzip) in [
        ("epss/epss_scores-current.csv.gz", true),
        ("epss/epss_scores-current.csv", false),
    ] {
        let p = path.join(f);
        if p.is_file() {
            out.push(Input::new("epss".into(), p, InputKind::Epss { gzip }));
            break;
        }
    }
    if out.is_empty() {
        return Err(DbError::Input {
            path: path.to_path_buf(),
            message: "no feed files found (expected osv/<Ecosystem>/all.zip, \
                      kev/known_exploited_vulnerabilities.json or epss/epss_scores-current.csv.gz)"
                .into(),
        });
    }
    Ok(out)
}

fn classify_file(path: &Path) -> Result<Input> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if name.ends_with(".zip") {
        // `.../osv/<Ecosystem>/all.zip` names its ecosystem; `PyPI.zip` too.
        let eco = if name == "all.zip" {
            path.parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().to_string())
        } else {
            path.file_stem().map(|n| n.to_string_lossy().to_string())
        };
        let source = format!("osv/{}", eco.clone().unwrap_or_else(|| "unknown".into()));
        return Ok(Input::new(
            source,
            path.to_path_buf(),
            InputKind::OsvZip { ecosystem: eco },
        ));
    }
    if name.ends_with(".csv.gz") || name.ends_with(".csv") {
        return Ok(Input::new(
            "epss".into(),
            path.to_path_buf(),
            InputKind::Epss {
                gzip: name.ends_with(".gz"),
            },
        ));
    }
    if name.ends_with(".json") {
        return Ok(Input::new("kev".into(), path.to_path_buf(), InputKind::Kev));
    }
    Err(DbError::Input {
        path: path.to_path_buf(),
        message: "unknown feed file (expected an OSV .zip, a KEV .json or an EPSS .csv[.gz])"
            .into(),
    })
}

enum Msg {
    Record(PreparedRecord),
    Kev(String, KevCatalog),
    Epss(String, EpssData),
    Done { source: String, records: u64 },
}

/// Prepares one record: parse, summarise, compress, index rows.
fn prepare(
    source: &str,
    only: Option<&str>,
    raw: &[u8],
    path: &str,
    entry: &str,
) -> Result<PreparedRecord> {
    let v: Vulnerability = serde_json::from_slice(raw).map_err(|e| DbError::Record {
        path: path.to_string(),
        entry: entry.to_string(),
        source: e,
    })?;
    let meta = RecordMeta::from_vuln(&v);
    let meta = serde_json::to_string(&meta).map_err(|e| DbError::Record {
        path: path.to_string(),
        entry: entry.to_string(),
        source: e,
    })?;
    let mut entries = Vec::new();
    for a in &v.affected {
        let Some(pkg) = &a.package else { continue };
        if pkg.ecosystem.is_empty() || pkg.name.is_empty() {
            continue;
        }
        let base = pkg.ecosystem.split(':').next().unwrap_or_default();
        if only.is_some_and(|o| o != base) {
            continue;
        }
        let reduced = reduce_affected(a);
        if reduced.ranges.is_empty() && reduced.versions.is_empty() {
            continue; // GIT-only: nothing version matching can use
        }
        let json = serde_json::to_vec(&reduced).map_err(|e| DbError::Record {
            path: path.to_string(),
            entry: entry.to_string(),
            source: e,
        })?;
        entries.push((
            pkg.ecosystem.clone(),
            normalize_name(&pkg.ecosystem, &pkg.name),
            encode_blob(&json),
        ));
    }
    Ok(PreparedRecord {
        source: source.to_string(),
        id: v.id.clone(),
        modified: v.modified_date().map(str::to_string),
        withdrawn: v.is_withdrawn(),
        meta,
        doc: encode_blob(raw),
        entries,
    })
}

fn zip_err(path: &str, e: impl std::fmt::Display) -> DbError {
    DbError::Zip {
        path: path.to_string(),
        message: e.to_string(),
    }
}

/// Reads an OSV zip with bounds, sending prepared records.
fn read_osv_zip(
    input: &Input,
    only: Option<&str>,
    limits: &Limits,
    tx: &mpsc::SyncSender<Msg>,
    stop: &AtomicBool,
) -> Result<()> {
    let p = input.path.display().to_string();
    let file = File::open(&input.path).map_err(|e| DbError::io(&input.path, e))?;
    let mut zip = zip::ZipArchive::new(BufReader::new(file)).map_err(|e| zip_err(&p, e))?;
    if zip.len() as u64 > limits.max_zip_entries {
        return Err(DbError::Limit {
            path: p,
            what: format!("the number of entries ({})", zip.len()),
            limit: limits.max_zip_entries,
        });
    }
    let mut total: u64 = 0;
    let mut records: u64 = 0;
    let mut buf = Vec::new();
    for i in 0..zip.len() {
        if stop.load(Ordering::Relaxed) {
            return Err(DbError::Cancelled);
        }
        let mut f = zip.by_index(i).map_err(|e| zip_err(&p, e))?;
        let name = f.name().map_err(|e| zip_err(&p, e))?.to_string();
        if f.is_dir() || !name.ends_with(".json") {
            continue;
        }
        let declared = f.size();
        let compressed = f.compressed_size();
        if declared > limits.max_entry_bytes {
            return Err(DbError::Limit {
                path: p,
                what: format!("entry {name} ({declared} bytes)"),
                limit: limits.max_entry_bytes,
            });
        }
        if declared > (1 << 20) && compressed > 0 && declared / compressed > limits.max_ratio {
            return Err(DbError::Limit {
                path: p,
                what: format!("the compression ratio of entry {name}"),
                limit: limits.max_ratio,
            });
        }
        buf.clear();
        (&mut f)
            .take(limits.max_entry_bytes + 1)
            .read_to_end(&mut buf)
            .map_err(|e| zip_err(&p, format!("entry {name}: {e}")))?;
        if buf.len() as u64 > limits.max_entry_bytes {
            return Err(DbError::Limit {
                path: p,
                what: format!("entry {name} (decompressed)"),
                limit: limits.max_entry_bytes,
            });
        }
        total += buf.len() as u64;
        if total > limits.max_zip_total_bytes {
            return Err(DbError::Limit {
                path: p,
                what: "the decompressed size of the archive".into(),
                limit: limits.max_zip_total_bytes,
            });
        }
        let rec = prepare(&input.source, only, &buf, &p, &name)?;
        records += 1;
        if tx.send(Msg::Record(rec)).is_err() {
            return Err(DbError::Cancelled);
        }
    }
    if records == 0 {
        return Err(zip_err(&p, "no OSV records (*.json) in the archive"));
    }
    let _ = tx.send(Msg::Done {
        source: input.source.clone(),
        records,
    });
    Ok(())
}

fn read_input(
    input: &Input,
    limits: &Limits,
    tx: &mpsc::SyncSender<Msg>,
    stop: &AtomicBool,
) -> Result<()> {
    let p = input.path.display().to_string();
    match &input.kind {
        InputKind::OsvZip { ecosystem } => {
            read_osv_zip(input, ecosystem.as_deref(), limits, tx, stop)
        }
        InputKind::Kev => {
            let f = File::open(&input.path).map_err(|e| DbError::io(&input.path, e))?;
            let cat = kev::read(BufReader::new(f), &p, limits.max_kev_bytes)?;
            if cat.entries.is_empty() {
                return Err(DbError::Kev {
                    path: p,
                    message: "the catalog lists no CVE".into(),
                });
            }
            let _ = tx.send(Msg::Kev(input.source.clone(), cat));
            Ok(())
        }
        InputKind::Epss { gzip } => {
            let f = File::open(&input.path).map_err(|e| DbError::io(&input.path, e))?;
            let data = epss::read(BufReader::new(f), &p, *gzip, limits.max_epss_bytes)?;
            let _ = tx.send(Msg::Epss(input.source.clone(), data));
            Ok(())
        }
    }
}

/// Builds a new database in `dir` from `inputs` plus `carry` (sources of the
/// current database to keep) and swaps it in.
pub(crate) fn build(
    dir: &Path,
    inputs: &[Input],
    carry: &[SourceStatus],
    opts: &ImportOptions<'_>,
) -> Result<ImportReport> {
    let progress = |p: &Progress<'_>| -> Result<()> {
        match opts.progress.map(|f| f(p)) {
            Some(ControlFlow::Break(())) => Err(DbError::Cancelled),
            _ => Ok(()),
        }
    };
    let now = now_unix();
    let mut builder = Builder::new(dir)?;
    builder.carry_over(&Database::file_in(dir), carry, now)?;
    builder.begin()?;
    let stop = AtomicBool::new(false);
    let queue = Mutex::new(inputs.iter().collect::<VecDeque<_>>());
    let workers = std::thread::available_parallelism()
        .map_or(2, std::num::NonZero::get)
        .clamp(1, 4)
        .min(inputs.len().max(1));
    let (tx, rx) = mpsc::sync_channel::<Msg>(512);
    let mut report = ImportReport::default();
    let limits = opts.limits;
    let (write_result, worker_results) = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                let tx = tx.clone();
                let queue = &queue;
                let stop = &stop;
                s.spawn(move || -> Result<()> {
                    loop {
                        let next = queue.lock().ok().and_then(|mut q| q.pop_front());
                        let Some(input) = next else { return Ok(()) };
                        if let Err(e) = read_input(input, &limits, &tx, stop) {
                            stop.store(true, Ordering::Relaxed);
                            return Err(e);
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        let mut counts: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
        let write = (|| -> Result<()> {
            for msg in &rx {
                match msg {
                    Msg::Record(r) => {
                        builder.add_record(&r)?;
                        let n = counts.entry(r.source.clone()).or_default();
                        *n += 1;
                        if (*n).is_multiple_of(2000) {
                            progress(&Progress::Importing {
                                source: &r.source,
                                records: *n,
                            })?;
                        }
                    }
                    Msg::Kev(source, cat) => {
                        builder.add_kev(&cat)?;
                        report
                            .imported
                            .push((source.clone(), cat.entries.len() as u64));
                        finish_source(
                            &mut builder,
                            inputs,
                            &source,
                            cat.entries.len() as u64,
                            cat.version,
                            now,
                        )?;
                        progress(&Progress::Imported {
                            source: &source,
                            records: cat.entries.len() as u64,
                        })?;
                    }
                    Msg::Epss(source, data) => {
                        builder.add_epss(&data)?;
                        report
                            .imported
                            .push((source.clone(), data.rows.len() as u64));
                        finish_source(
                            &mut builder,
                            inputs,
                            &source,
                            data.rows.len() as u64,
                            data.score_date,
                            now,
                        )?;
                        progress(&Progress::Imported {
                            source: &source,
                            records: data.rows.len() as u64,
                        })?;
                    }
                    Msg::Done { source, records } => {
                        report.imported.push((source.clone(), records));
                        finish_source(&mut builder, inputs, &source, records, None, now)?;
                        progress(&Progress::Imported {
                            source: &source,
                            records,
                        })?;
                    }
                }
            }
            Ok(())
        })();
        if write.is_err() {
            stop.store(true, Ordering::Relaxed);
            // Drain so blocked workers see the stop flag.
            for _ in rx.iter() {}
        }
        let results: Vec<Result<()>> = handles
            .into_iter()
            .map(|h| h.join().unwrap_or(Err(DbError::Cancelled)))
            .collect();
        (write, results)
    });
    // A worker's own error explains more than the writer's "cancelled".
    for r in worker_results {
        if let Err(e) = r
            && !matches!(e, DbError::Cancelled)
        {
            return Err(e);
        }
    }
    write_result?;
    if stop.load(Ordering::Relaxed) {
        return Err(DbError::Cancelled);
    }
    progress(&Progress::Finishing)?;
    report.duplicates = builder.duplicates;
    report.carried_over = carry.iter().map(|s| s.name.clone()).collect();
    report.imported.sort();
    report.path = builder.finish(now)?;
    Ok(report)
}

fn finish_source(
    builder: &mut Builder,
    inputs: &[Input],
    source: &str,
    records: u64,
    info: Option<String>,
    now: i64,
) -> Result<()> {
    let Some(input) = inputs.iter().find(|i| i.source == source) else {
        return Ok(());
    };
    let bytes = std::fs::metadata(&input.path).map(|m| m.len()).unwrap_or(0);
    builder.set_source(&SourceStatus {
        name: source.to_string(),
        location: input.location.clone(),
        etag: input.etag.clone(),
        last_modified: input.last_modified.clone(),
        fetched_at: now,
        checked_at: now,
        records,
        bytes,
        info,
    })
}

/// The current database's sources that `inputs` do not replace.
pub(crate) fn carried_sources(dir: &Path, replaced: &[String]) -> Vec<SourceStatus> {
    match Database::open(dir) {
        Ok(db) => Database::sources(&db.conn)
            .unwrap_or_default()
            .into_iter()
            .filter(|s| !replaced.contains(&s.name))
            .collect(),
        Err(_) => Vec::new(),
    }
}

impl Database {
    /// Imports feed files from `path` (a mirror-layout directory or one
    /// file) into the database in `dir`, keeping the sources `path` does not
    /// provide. Built in a temporary file and renamed into place: on any
    /// error the previous database is untouched.
    ///
    /// # Errors
    /// I/O, unreadable or oversized feeds, invalid records, cancellation.
    pub fn import(dir: &Path, path: &Path, opts: &ImportOptions<'_>) -> Result<ImportReport> {
        let inputs = discover(path)?;
        let _lock = crate::store::WriterLock::acquire(dir)?;
        let replaced: Vec<String> = inputs.iter().map(|i| i.source.clone()).collect();
        let carry = carried_sources(dir, &replaced);
        build(dir, &inputs, &carry, opts)
    }
}
