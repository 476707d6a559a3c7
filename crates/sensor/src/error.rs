//! The sensor's errors.

use std::path::PathBuf;

/// What can go wrong in discovery, in the agent loop and in jobs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SensorError {
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file had content the parser does not accept.
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    /// The configuration (flags, URL, CA file) is unusable.
    #[error("{0}")]
    Config(String),
    /// The console could not be reached or answered something unexpected.
    #[error("console: {0}")]
    Console(String),
    /// The console refused the agent's credential: it was revoked, or the
    /// console forgot it. Enroll again with a new token.
    #[error(
        "the console refused this agent's credential (401): it was revoked or is unknown; \
         remove {} and enroll again with a new enrollment token",
        state.display()
    )]
    Unauthorized { state: PathBuf },
    /// Enrollment failed (bad, used or expired token...).
    #[error("enrollment refused ({status}): {message}")]
    Enrollment { status: u16, message: String },
}

impl SensorError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SensorError::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        SensorError::Parse {
            path: path.into(),
            message: message.into(),
        }
    }
}

/// `Result` with [`SensorError`].
pub type Result<T, E = SensorError> = std::result::Result<T, E>;
