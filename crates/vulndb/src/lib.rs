//! Vulnerability data for Rampart: advisory feeds (OSV exports, CISA KEV,
//! FIRST EPSS), the local advisory store, exact version ordering per
//! ecosystem, and matching packages against advisories.
//!
//! The API in brief:
//! - [`Database::update`] downloads the feeds (conditional requests,
//!   retries, integrity checks) and [`Database::import`] reads them from
//!   local files; both build a new database file and swap it in atomically;
//! - [`Database::open`], [`Database::status`];
//! - [`Database::match_packages`] / [`Database::match_report`]: packages
//!   ([`PackageRef`]) in, [`Finding`]s out.

pub mod version;

pub mod enrich;
pub mod error;
pub mod feeds;
pub mod import;
pub mod matching;
pub mod osv;
pub mod package;
pub mod range;
pub mod store;
pub mod update;

pub use error::DbError;
pub use import::{ImportOptions, ImportReport, Limits, Progress};
pub use matching::{Finding, FindingKind, MatchReport, MatchStatus, Skipped};
pub use package::{DistroRef, PackageRef};
pub use store::{Database, EcosystemCount, EpssScore, SourceStatus, Status};
pub use update::{FeedLocations, UpdateOptions, UpdateReport};
