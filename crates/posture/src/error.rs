//! The posture scanner's errors. A failed check is not an error: it is a
//! result with evidence.

use std::path::PathBuf;

/// Why policies could not be loaded or facts could not be collected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostureError {
    /// A check metadata file is not valid YAML or breaks the schema.
    #[error("check metadata {file}: {message}")]
    Metadata { file: String, message: String },
    /// A Rego policy does not parse or declares no package.
    #[error("policy {file}: {message}")]
    Policy { file: String, message: String },
    /// Two checks share an id.
    #[error("check id {0} is defined more than once")]
    DuplicateId(String),
    /// No benchmark of that name.
    #[error("unknown benchmark {name:?} (expected one of: {known})")]
    UnknownBenchmark { name: String, known: String },
    /// Evaluating the policies failed as a whole.
    #[error("evaluating policies: {0}")]
    Eval(String),
    /// The target cannot be assessed by the selected benchmark.
    #[error("{0}")]
    Unsupported(String),
    /// Reading a file failed.
    #[error("reading {path}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading the target failed.
    #[error(transparent)]
    Source(#[from] rampart_source::SourceError),
}

impl PostureError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        PostureError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The crate's result type.
pub type Result<T, E = PostureError> = std::result::Result<T, E>;
