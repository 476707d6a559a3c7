use std::io;
use std::path::PathBuf;

/// Why a target could not be opened or read.
///
/// Problems with single entries (a tar member with `../` in its name, a
/// device file) are not errors: they are recorded as [`crate::Skip`]s and the
/// rest of the target is still read. An error means the target as a whole
/// cannot be trusted or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    #[error("invalid target {target:?}: {reason}")]
    InvalidTarget { target: String, reason: String },

    #[error("{path}")]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{context}")]
    Read {
        context: String,
        #[source]
        source: io::Error,
    },

    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },

    #[error("{what} names blob {digest}, which is not in the image")]
    MissingBlob { what: String, digest: String },

    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },

    #[error("{what} exceeds the limit of {limit} bytes{hint}")]
    TooLarge {
        what: String,
        limit: u64,
        hint: &'static str,
    },

    #[error("{what}: more than {limit}{hint}")]
    TooMany {
        what: String,
        limit: u64,
        hint: &'static str,
    },

    #[error(
        "{what}: decompressed data is more than {ratio} times its compressed size (a decompression bomb?)"
    )]
    CompressionRatio { what: String, ratio: u64 },

    #[error("ambiguous image selection in {what}: {reason}; choices: {}", choices.join(", "))]
    Ambiguous {
        what: String,
        reason: String,
        choices: Vec<String>,
    },

    #[error("no image in {what} matches {wanted}; choices: {}", choices.join(", "))]
    NoMatch {
        what: String,
        wanted: String,
        choices: Vec<String>,
    },

    #[error("unsupported {what}: {detail}")]
    Unsupported { what: String, detail: String },

    #[error("registry {registry}: {message}")]
    Registry { registry: String, message: String },

    #[error("registry {registry}: authentication failed: {message}")]
    Auth { registry: String, message: String },
}

impl SourceError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        SourceError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn read(context: impl Into<String>, source: io::Error) -> Self {
        SourceError::Read {
            context: context.into(),
            source,
        }
    }

    pub(crate) fn malformed(what: impl Into<String>, reason: impl ToString) -> Self {
        SourceError::Malformed {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// Shorthand for results in this crate.
pub type Result<T, E = SourceError> = std::result::Result<T, E>;
