//! `rampart db update`: download the feeds over HTTP(S) and rebuild the
//! database.
//!
//! Each feed is fetched with a conditional request (`If-None-Match` /
//! `If-Modified-Since` from the values the database recorded); a 304 keeps
//! the feed's current data. Failed transfers (connection errors, 5xx, 429,
//! truncated bodies) are retried with exponential backoff. Downloads go to
//! temporary files in the database directory, are checked (length, zip
//! directory, then every record parsed during the import) and the database
//! is rebuilt in a temporary file renamed into place: a failed or
//! interrupted update leaves the previous database working.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

use tempfile::NamedTempFile;

use crate::error::{DbError, Result};
use crate::import::{
    self, ImportOptions, ImportReport, Input, InputKind, Limits, Progress, ProgressFn,
};
use crate::store::{Database, SourceStatus, now_unix, touch_checked};

/// OSV's public bucket.
pub const OSV_BASE: &str = "https://osv-vulnerabilities.storage.googleapis.com";
/// The CISA KEV JSON feed.
pub const KEV_URL: &str =
    "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json";
/// FIRST's EPSS daily scores.
pub const EPSS_URL: &str = "https://epss.cyentia.com/epss_scores-current.csv.gz";

/// The OSV ecosystems downloaded by default.
pub const DEFAULT_ECOSYSTEMS: &[&str] = &[
    "AlmaLinux",
    "Alpine",
    "Chainguard",
    "Debian",
    "Go",
    "Hex",
    "Maven",
    "NuGet",
    "Packagist",
    "Pub",
    "PyPI",
    "Red Hat",
    "Rocky Linux",
    "RubyGems",
    "SUSE",
    "Ubuntu",
    "Wolfi",
    "crates.io",
    "npm",
    "openSUSE",
];

/// Where the feeds are downloaded from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedLocations {
    /// `<osv_base>/<Ecosystem>/all.zip`.
    pub osv_base: String,
    pub osv_ecosystems: Vec<String>,
    pub kev_url: String,
    pub epss_url: String,
}

impl Default for FeedLocations {
    fn default() -> Self {
        FeedLocations {
            osv_base: OSV_BASE.to_string(),
            osv_ecosystems: DEFAULT_ECOSYSTEMS
                .iter()
                .map(|s| (*s).to_string())
                .collect(),
            kev_url: KEV_URL.to_string(),
            epss_url: EPSS_URL.to_string(),
        }
    }
}

impl FeedLocations {
    /// Every feed under one base URL with the mirror layout:
    /// `osv/<Ecosystem>/all.zip`, `kev/known_exploited_vulnerabilities.json`,
    /// `epss/epss_scores-current.csv.gz`.
    #[must_use]
    pub fn mirror(base: &str) -> Self {
        let b = base.trim_end_matches('/');
        FeedLocations {
            osv_base: format!("{b}/osv"),
            kev_url: format!("{b}/kev/known_exploited_vulnerabilities.json"),
            epss_url: format!("{b}/epss/epss_scores-current.csv.gz"),
            ..FeedLocations::default()
        }
    }

    /// (source name, URL, kind) of every feed.
    fn feeds(&self) -> Vec<(String, String, InputKind)> {
        let base = self.osv_base.trim_end_matches('/');
        let mut out: Vec<(String, String, InputKind)> = self
            .osv_ecosystems
            .iter()
            .map(|e| {
                (
                    format!("osv/{e}"),
                    format!("{base}/{}/all.zip", e.replace(' ', "%20")),
                    InputKind::OsvZip {
                        ecosystem: Some(e.clone()),
                    },
                )
            })
            .collect();
        out.push(("kev".into(), self.kev_url.clone(), InputKind::Kev));
        out.push((
            "epss".into(),
            self.epss_url.clone(),
            InputKind::Epss {
                gzip: self.epss_url.ends_with(".gz"),
            },
        ));
        out
    }
}

/// Options of [`Database::update`].
#[derive(Clone)]
pub struct UpdateOptions<'a> {
    pub locations: FeedLocations,
    /// Connect and response-header timeout.
    pub timeout: Duration,
    /// Longest time one download may take.
    pub download_timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// First retry delay; doubled at each retry.
    pub backoff: Duration,
    pub limits: Limits,
    pub progress: Option<ProgressFn<'a>>,
}

impl Default for UpdateOptions<'_> {
    fn default() -> Self {
        UpdateOptions {
            locations: FeedLocations::default(),
            timeout: Duration::from_secs(30),
            download_timeout: Duration::from_secs(1800),
            retries: 3,
            backoff: Duration::from_secs(2),
            limits: Limits::default(),
            progress: None,
        }
    }
}

impl std::fmt::Debug for UpdateOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UpdateOptions")
            .field("locations", &self.locations)
            .field("retries", &self.retries)
            .field("backoff", &self.backoff)
            .finish_non_exhaustive()
    }
}

/// What an update did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UpdateReport {
    /// Sources downloaded anew.
    pub changed: Vec<String>,
    /// Sources the server said were unchanged (304).
    pub not_modified: Vec<String>,
    /// Sources the server does not have (404); previous data, if any, is kept.
    pub missing: Vec<String>,
    /// The rebuild, when something changed.
    pub import: Option<ImportReport>,
}

enum Fetched {
    NotModified,
    Missing,
    New {
        file: NamedTempFile,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// The part of a download an interrupted attempt wrote.
struct Partial {
    file: NamedTempFile,
    bytes: u64,
    /// The ETag (else Last-Modified) it came with, sent back as If-Range.
    validator: String,
}

/// `bytes FIRST-LAST/TOTAL` (TOTAL may be `*`): the first byte and the
/// total size.
fn parse_content_range(v: &str) -> Option<(u64, Option<u64>)> {
    let rest = v.trim().strip_prefix("bytes ")?;
    let (range, total) = rest.split_once('/')?;
    let (first, _) = range.split_once('-')?;
    let total = match total.trim() {
        "*" => None,
        t => Some(t.parse().ok()?),
    };
    Some((first.trim().parse().ok()?, total))
}

enum Failure {
    /// Worth another attempt.
    Transient(String),
    Fatal(DbError),
}

struct Fetcher<'a> {
    agent: ureq::Agent,
    dir: &'a Path,
    opts: &'a UpdateOptions<'a>,
}

impl Fetcher<'_> {
    fn progress(&self, p: &Progress<'_>) -> std::result::Result<(), Failure> {
        match self.opts.progress.map(|f| f(p)) {
            Some(ControlFlow::Break(())) => Err(Failure::Fatal(DbError::Cancelled)),
            _ => Ok(()),
        }
    }

    fn fetch(
        &self,
        source: &str,
        url: &str,
        kind: &InputKind,
        prev: Option<&SourceStatus>,
    ) -> Result<Fetched> {
        let mut last = String::new();
        let attempts = self.opts.retries.saturating_add(1);
        // What an interrupted attempt got, for the next one to resume.
        let mut partial: Option<Partial> = None;
        for attempt in 0..attempts {
            if attempt > 0 {
                let factor = 1u32 << (attempt - 1).min(16);
                std::thread::sleep(self.opts.backoff.saturating_mul(factor));
                tracing::debug!(%url, attempt, "retrying: {last}");
            }
            match self.try_fetch(source, url, kind, prev, &mut partial) {
                Ok(f) => return Ok(f),
                Err(Failure::Fatal(e)) => return Err(e),
                Err(Failure::Transient(m)) => last = m,
            }
        }
        Err(DbError::Http {
            url: url.to_string(),
            message: format!("{last} (gave up after {attempts} attempts)"),
        })
    }

    fn try_fetch(
        &self,
        source: &str,
        url: &str,
        kind: &InputKind,
        prev: Option<&SourceStatus>,
        partial: &mut Option<Partial>,
    ) -> std::result::Result<Fetched, Failure> {
        let mut req = self.agent.get(url);
        let mut conditional = false;
        // Resume what an earlier attempt got, if the server still has the
        // same content (If-Range); otherwise it sends it all again.
        let resuming = partial.take();
        if let Some(p) = &resuming {
            req = req
                .header("Range", &format!("bytes={}-", p.bytes))
                .header("If-Range", &p.validator);
        } else if let Some(p) = prev {
            if let Some(e) = &p.etag {
                req = req.header("If-None-Match", e);
                conditional = true;
            }
            if let Some(lm) = &p.last_modified {
                req = req.header("If-Modified-Since", lm);
                conditional = true;
            }
        }
        let resp = req.call().map_err(|e| Failure::Transient(e.to_string()))?;
        let status = resp.status().as_u16();
        let fatal = |m: String| {
            Failure::Fatal(DbError::Http {
                url: url.to_string(),
                message: m,
            })
        };
        match status {
            304 if conditional => {
                self.progress(&Progress::Downloaded {
                    source,
                    not_modified: true,
                })?;
                return Ok(Fetched::NotModified);
            }
            404 => return Ok(Fetched::Missing),
            // Asked to resume past the end: start over next time.
            416 => return Err(Failure::Transient("HTTP 416 on a resumed download".into())),
            429 | 500..=599 => return Err(Failure::Transient(format!("HTTP {status}"))),
            200 | 206 => {}
            other => return Err(fatal(format!("unexpected HTTP status {other}"))),
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let etag = header("etag");
        let last_modified = header("last-modified");
        let encoded =
            header("content-encoding").is_some_and(|e| !e.eq_ignore_ascii_case("identity"));
        let body_length: Option<u64> = header("content-length").and_then(|l| l.parse().ok());
        // A 206 continues the partial file at the offset asked for; a 200
        // (the content changed, or the server ignores ranges) starts over.
        let (file, start, length) = match (status, resuming) {
            (206, Some(p)) => {
                let range = header("content-range").unwrap_or_default();
                match parse_content_range(&range) {
                    Some((first, total)) if first == p.bytes => (Some(p.file), p.bytes, total),
                    _ => {
                        return Err(Failure::Transient(format!(
                            "resumed download answered with an unusable Content-Range {range:?}"
                        )));
                    }
                }
            }
            (206, None) => return Err(fatal("HTTP 206 to a request without a range".into())),
            _ => (None, 0, body_length),
        };
        let limit = self.opts.limits.max_download_bytes;
        if length.is_some_and(|l| l > limit) {
            return Err(Failure::Fatal(DbError::Limit {
                path: url.to_string(),
                what: "the download".into(),
                limit,
            }));
        }
        let mut file = match file {
            Some(f) => f,
            None => tempfile::Builder::new()
                .prefix(".rampart-download.")
                .tempfile_in(self.dir)
                .map_err(|e| Failure::Fatal(DbError::io(self.dir, e)))?,
        };
        let validator = etag.clone().or_else(|| last_modified.clone());
        let mut reader = resp
            .into_body()
            .into_with_config()
            .limit(limit.saturating_add(1))
            .reader();
        let mut buf = vec![0u8; 64 * 1024];
        let mut bytes: u64 = start;
        let mut reported: u64 = start;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // Resumable next time when the server identified the
                    // content and sent it as is.
                    if let Some(v) = validator.filter(|_| !encoded && bytes > 0) {
                        *partial = Some(Partial {
                            file,
                            bytes,
                            validator: v,
                        });
                    }
                    return Err(Failure::Transient(format!(
                        "download interrupted after {bytes} bytes: {e}"
                    )));
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| Failure::Fatal(DbError::io(file.path(), e)))?;
            bytes += n as u64;
            if bytes > limit {
                return Err(Failure::Fatal(DbError::Limit {
                    path: url.to_string(),
                    what: "the download".into(),
                    limit,
                }));
            }
            if bytes - reported >= 1 << 20 {
                reported = bytes;
                self.progress(&Progress::Downloading {
                    source,
                    bytes,
                    total: length,
                })?;
            }
        }
        if !encoded
            && let Some(l) = length
            && l != bytes
        {
            if let Some(v) = validator.filter(|_| bytes > 0 && bytes < l) {
                *partial = Some(Partial {
                    file,
                    bytes,
                    validator: v,
                });
            }
            return Err(Failure::Transient(format!(
                "truncated download: {bytes} of {l} bytes"
            )));
        }
        if bytes == 0 {
            return Err(Failure::Transient("empty response body".into()));
        }
        file.flush()
            .map_err(|e| Failure::Fatal(DbError::io(file.path(), e)))?;
        if matches!(kind, InputKind::OsvZip { .. }) {
            let f = file
                .reopen()
                .map_err(|e| Failure::Fatal(DbError::io(file.path(), e)))?;
            if let Err(e) = zip::ZipArchive::new(std::io::BufReader::new(f)) {
                return Err(Failure::Transient(format!("not a valid zip archive: {e}")));
            }
        }
        self.progress(&Progress::Downloaded {
            source,
            not_modified: false,
        })?;
        Ok(Fetched::New {
            file,
            etag,
            last_modified,
        })
    }
}

impl Database {
    /// Downloads the feeds and rebuilds the database in `dir` when any of
    /// them changed. The previous database keeps working on any failure.
    ///
    /// # Errors
    /// Network failures after the retries, HTTP errors other than 404,
    /// integrity failures, cancellation; [`DbError::Http`] when no feed at
    /// all could be found and there is no previous database.
    pub fn update(dir: &Path, opts: &UpdateOptions<'_>) -> Result<UpdateReport> {
        std::fs::create_dir_all(dir).map_err(|e| DbError::io(dir, e))?;
        let _lock = crate::store::WriterLock::acquire(dir)?;
        let previous: HashMap<String, SourceStatus> = match Database::open(dir) {
            Ok(db) => Database::sources(&db.conn)?
                .into_iter()
                .map(|s| (s.name.clone(), s))
                .collect(),
            Err(_) => HashMap::new(),
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(opts.timeout))
            .timeout_recv_response(Some(opts.timeout))
            .timeout_recv_body(Some(opts.download_timeout))
            .user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let fetcher = Fetcher { agent, dir, opts };
        let mut report = UpdateReport::default();
        let mut inputs = Vec::new();
        let mut files = Vec::new();
        for (source, url, kind) in opts.locations.feeds() {
            match fetcher.fetch(&source, &url, &kind, previous.get(&source))? {
                Fetched::NotModified => report.not_modified.push(source),
                Fetched::Missing => {
                    tracing::warn!(%url, "feed not found (404)");
                    report.missing.push(source);
                }
                Fetched::New {
                    file,
                    etag,
                    last_modified,
                } => {
                    let mut input = Input::new(source.clone(), file.path().to_path_buf(), kind);
                    input.location = url;
                    input.etag = etag;
                    input.last_modified = last_modified;
                    inputs.push(input);
                    files.push(file);
                    report.changed.push(source);
                }
            }
        }
        if inputs.is_empty() {
            if previous.is_empty() {
                return Err(DbError::Http {
                    url: opts.locations.osv_base.clone(),
                    message: "no feed could be downloaded (every location answered 404)".into(),
                });
            }
            touch_checked(dir, &report.not_modified, now_unix())?;
            return Ok(report);
        }
        let carry: Vec<SourceStatus> = previous
            .into_values()
            .filter(|s| !report.changed.contains(&s.name))
            .collect();
        let import_opts = ImportOptions {
            limits: opts.limits,
            progress: opts.progress,
        };
        let built = import::build(dir, &inputs, &carry, &import_opts)?;
        drop(files);
        report.import = Some(built);
        Ok(report)
    }
}
