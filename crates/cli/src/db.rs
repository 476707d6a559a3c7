//! `rampart db`: the local advisory database (update, import, status).

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use rampart_vulndb::{Database, FeedLocations, ImportOptions, UpdateOptions};

use crate::args::Format;
use crate::exit;
use crate::output;
use crate::progress::FeedProgress;

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Download the advisory feeds (OSV exports, CISA KEV, FIRST EPSS) and
    /// rebuild the database; unchanged feeds are not downloaded again.
    Update(UpdateArgs),
    /// Build the database from local files: a directory in the mirror
    /// layout or single feed files (air-gapped sites).
    Import(ImportArgs),
    /// Show the database's sources, record counts and ages.
    Status(StatusArgs),
}

/// Where the database lives.
#[derive(Debug, Args, Clone)]
pub struct DbDirArgs {
    /// Database directory. Default: $XDG_CACHE_HOME/rampart/db (or
    /// ~/.cache/rampart/db).
    #[arg(long, env = "RAMPART_DB_DIR", value_name = "DIR")]
    pub db_dir: Option<PathBuf>,
}

impl DbDirArgs {
    pub fn resolve(&self) -> Result<PathBuf> {
        if let Some(d) = &self.db_dir {
            return Ok(d.clone());
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .context("no database directory: give --db-dir or set RAMPART_DB_DIR")?;
        Ok(base.join("rampart").join("db"))
    }
}

#[derive(Debug, Args)]
pub struct UpdateArgs {
    #[command(flatten)]
    pub dir: DbDirArgs,
    /// One base URL for every feed, laid out as osv/<Ecosystem>/all.zip,
    /// kev/known_exploited_vulnerabilities.json, epss/epss_scores-current.csv.gz.
    #[arg(long, value_name = "URL")]
    pub mirror: Option<String>,
    /// Base URL of the OSV exports (`<base>/<Ecosystem>/all.zip`).
    #[arg(long, value_name = "URL")]
    pub osv_base: Option<String>,
    /// URL of the CISA KEV JSON feed.
    #[arg(long, value_name = "URL")]
    pub kev_url: Option<String>,
    /// URL of the FIRST EPSS CSV (gzip).
    #[arg(long, value_name = "URL")]
    pub epss_url: Option<String>,
    /// Only these OSV ecosystems (repeatable; default: all Rampart matches).
    #[arg(long = "ecosystem", value_name = "NAME")]
    pub ecosystems: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub dir: DbDirArgs,
    /// A directory in the mirror layout, or a feed file (all.zip, the KEV
    /// JSON, the EPSS CSV).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub dir: DbDirArgs,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table")]
    pub format: Format,
}

pub fn run(cmd: &DbCommand, quiet: bool) -> Result<u8> {
    match cmd {
        DbCommand::Update(a) => {
            let dir = a.dir.resolve()?;
            let mut locations = match &a.mirror {
                Some(m) => FeedLocations::mirror(m),
                None => FeedLocations::default(),
            };
            if let Some(u) = &a.osv_base {
                locations.osv_base.clone_from(u);
            }
            if let Some(u) = &a.kev_url {
                locations.kev_url.clone_from(u);
            }
            if let Some(u) = &a.epss_url {
                locations.epss_url.clone_from(u);
            }
            if !a.ecosystems.is_empty() {
                locations.osv_ecosystems.clone_from(&a.ecosystems);
            }
            let progress = FeedProgress::new(quiet);
            let callback = |p: &rampart_vulndb::Progress<'_>| progress.report(p);
            let opts = UpdateOptions {
                locations,
                progress: Some(&callback),
                ..UpdateOptions::default()
            };
            let report = Database::update(&dir, &opts)
                .with_context(|| format!("updating {}", dir.display()));
            progress.finish();
            let report = report?;
            let mut out = String::new();
            let _ = writeln!(out, "database: {}", dir.display());
            let _ = writeln!(out, "downloaded: {}", list(&report.changed));
            let _ = writeln!(out, "unchanged: {}", list(&report.not_modified));
            if !report.missing.is_empty() {
                let _ = writeln!(
                    out,
                    "not on the server (previous data kept): {}",
                    list(&report.missing)
                );
            }
            output::emit(None, &out)?;
            Ok(exit::OK)
        }
        DbCommand::Import(a) => {
            let dir = a.dir.resolve()?;
            let progress = FeedProgress::new(quiet);
            let callback = |p: &rampart_vulndb::Progress<'_>| progress.report(p);
            let opts = ImportOptions {
                limits: rampart_vulndb::Limits::default(),
                progress: Some(&callback),
            };
            let report = Database::import(&dir, &a.path, &opts)
                .with_context(|| format!("importing {} into {}", a.path.display(), dir.display()));
            progress.finish();
            let report = report?;
            let mut out = String::new();
            let _ = writeln!(out, "database: {}", report.path.display());
            for (source, n) in &report.imported {
                let _ = writeln!(out, "imported {source}: {n} records");
            }
            if !report.carried_over.is_empty() {
                let _ = writeln!(
                    out,
                    "kept from the previous database: {}",
                    list(&report.carried_over)
                );
            }
            output::emit(None, &out)?;
            Ok(exit::OK)
        }
        DbCommand::Status(a) => {
            let dir = a.dir.resolve()?;
            let db = Database::open(&dir)
                .with_context(|| format!("opening the database in {}", dir.display()))?;
            let status = db.status()?;
            match a.format {
                Format::Json => output::emit_json(None, &status)?,
                Format::Table => output::emit(None, &status_table(&status))?,
            }
            Ok(exit::OK)
        }
    }
}

fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items.join(", ")
    }
}

fn age(secs: i64) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    let d = Duration::from_secs(u64::try_from(now.saturating_sub(secs)).unwrap_or(0));
    let h = d.as_secs() / 3600;
    if h >= 48 {
        format!("{} days", h / 24)
    } else {
        format!("{h} h")
    }
}

fn status_table(s: &rampart_vulndb::Status) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Database: {} (schema {})",
        s.path.display(),
        s.schema_version
    );
    let _ = writeln!(
        out,
        "Records: {} ({} withdrawn); KEV entries: {}; EPSS scores: {}\n",
        s.records, s.withdrawn, s.kev_entries, s.epss_scores
    );
    let _ = writeln!(out, "{:<28} {:>9} {:>8}  FROM", "SOURCE", "RECORDS", "AGE");
    for src in &s.sources {
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>8}  {}",
            src.name,
            src.records,
            age(src.fetched_at),
            src.location
        );
    }
    let _ = writeln!(
        out,
        "\n{:<28} {:>9} {:>9}",
        "ECOSYSTEM", "RECORDS", "PACKAGES"
    );
    for e in &s.ecosystems {
        let _ = writeln!(
            out,
            "{:<28} {:>9} {:>9}",
            e.ecosystem, e.records, e.packages
        );
    }
    out
}
