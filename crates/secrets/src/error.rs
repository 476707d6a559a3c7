//! The secret scanner's errors. None of them ever carries a matched secret.

use std::path::PathBuf;

/// Why rules could not be loaded or a target could not be scanned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SecretsError {
    /// A rule file is not valid YAML or does not follow the rule schema.
    #[error("rule file {file}: {message}")]
    RuleFile { file: String, message: String },
    /// A rule is well-formed YAML but unusable (bad pattern, bad field).
    #[error("rule {id}: {message}")]
    Rule { id: String, message: String },
    /// Two rules share an id.
    #[error("rule id {0} is defined more than once")]
    DuplicateId(String),
    /// An ignore file could not be read or has a bad line.
    #[error("ignore file {path}: line {line}: {message}")]
    IgnoreFile {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// Reading a file failed.
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading the target failed.
    #[error(transparent)]
    Source(#[from] rampart_source::SourceError),
}

/// The crate's result type.
pub type Result<T, E = SecretsError> = std::result::Result<T, E>;
