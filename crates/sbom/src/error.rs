/// Why a target could not be cataloged or an SBOM not read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    #[error("reading the target")]
    Source(#[from] rampart_source::SourceError),
    #[error("{path}: not a CycloneDX or SPDX JSON document: {reason}")]
    NotAnSbom { path: String, reason: String },
    #[error("{path}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("serialising the SBOM")]
    Json(#[from] serde_json::Error),
}
