//! The errors the advisory store, importer and updater return.

use std::path::PathBuf;

/// Everything that can go wrong opening, building, updating or querying the
/// advisory database. Findings are never errors: a package whose version
/// cannot be ordered becomes a finding with status "unknown".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no advisory database in {0} (run `rampart db update` or `rampart db import`)")]
    Missing(PathBuf),
    #[error(
        "the advisory database in {path} has schema version {found}, this build reads {expected}; rebuild it with `rampart db update`"
    )]
    SchemaVersion {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: not a readable zip archive: {message}")]
    Zip { path: String, message: String },
    #[error("{path}: entry {entry}: invalid OSV JSON: {source}")]
    Record {
        path: String,
        entry: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {what} exceeds the limit of {limit}")]
    Limit {
        path: String,
        what: String,
        limit: u64,
    },
    #[error("{path}: invalid KEV catalog: {message}")]
    Kev { path: String, message: String },
    #[error("{path}: line {line}: invalid EPSS data: {message}")]
    Epss {
        path: String,
        line: u64,
        message: String,
    },
    #[error("{path}: {message}")]
    Input { path: PathBuf, message: String },
    #[error("GET {url}: {message}")]
    Http { url: String, message: String },
    #[error("cancelled")]
    Cancelled,
    #[error(
        "another `rampart db update` or `db import` is writing the database in {0}; wait for it to finish"
    )]
    Busy(PathBuf),
    #[error("stored record {id} is corrupt: {message}")]
    Corrupt { id: String, message: String },
}

impl DbError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DbError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = DbError> = std::result::Result<T, E>;
