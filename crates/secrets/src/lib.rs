//! Secret scanning: rules as data (YAML files embedded at build time, each
//! with examples that `rampart rules check` and the tests assert) and the
//! engine that applies them to any target `rampart-source` can read.
//!
//! The engine reads each file once: an Aho-Corasick automaton finds the
//! rules' keywords, and only the rules whose keywords occur run their regular
//! expression, on the lines where the keywords are. Matches then pass through
//! filters (entropy, placeholders, variable references, checksums, inline
//! `rampart:allow` comments). A matched secret never leaves this crate in
//! clear: findings carry a redacted form and a fingerprint.

mod archive;
mod checksum;
#[doc(hidden)]
pub mod corpus;
mod engine;
mod error;
mod filters;
mod finding;
mod ignore;
mod rules;
mod target;
pub mod targets;

pub use engine::{Engine, ScanOptions};
pub use error::{Result, SecretsError};
pub use filters::shannon_entropy;
pub use finding::{Confidence, Finding, LayerRef, Origin, fingerprint, redact};
pub use ignore::{IGNORE_FILE_NAME, IgnoreList};
pub use rules::{CheckFailure, Rule, RuleSet, Scope};
pub use target::{ScanReport, ScanStats, scan_target};
