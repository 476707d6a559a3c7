//! Typed errors of the console library.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// What can go wrong starting or running the console.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsoleError {
    /// The data directory could not be created or is not a directory.
    #[error("data directory {}", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A file (certificate, key) could not be read or written.
    #[error("{action} {}", path.display())]
    File {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The TLS certificate or key is unusable.
    #[error("TLS: {0}")]
    Tls(String),
    /// The listen address could not be bound.
    #[error("listening on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: io::Error,
    },
    /// The configuration is inconsistent.
    #[error("configuration: {0}")]
    Config(String),
    /// The store failed.
    #[error("storage")]
    Store(#[from] StoreError),
    /// The key that encrypts secrets at rest is unusable.
    #[error("secret key")]
    Crypto(#[from] crate::crypto::CryptoError),
    /// Password hashing failed (a bug or an exhausted system).
    #[error("password hashing: {0}")]
    Hash(String),
}

/// Errors of the storage layer, whatever the backend.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite reported an error.
    #[error("SQLite")]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL reported an error (or the connection failed).
    #[error("PostgreSQL")]
    Postgres(#[from] tokio_postgres::Error),
    /// A uniqueness constraint refused the write (the name is taken).
    #[error("already exists")]
    Conflict,
    /// `--database-url` is not something this build can open.
    #[error("unsupported database URL (expected postgres:// or postgresql://): {0}")]
    Url(String),
    /// The TLS set-up for the database connection failed.
    #[error("database TLS: {0}")]
    Tls(String),
    /// A column held a value of an unexpected type.
    #[error("unexpected value in column {0}")]
    Decode(String),
    /// The blocking database task could not run.
    #[error("database task: {0}")]
    Task(String),
    /// A schema migration would leave the database inconsistent.
    #[error("schema migration: {0}")]
    Migration(String),
    /// The database was migrated by a newer Rampart.
    #[error("database schema version {found} is newer than this build ({known}); upgrade Rampart")]
    SchemaTooNew { found: i64, known: i64 },
    /// Creating the SQLite file's directory failed.
    #[error("creating {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}
