//! Everything Rampart scans is read through this crate: directories, root
//! file systems, the live host, and container images from archives, OCI
//! layouts and registries.
//!
//! Hostile input is expected. Archive member names are normalised so nothing
//! points outside the target ([`VPath`]); symlinks are never followed out of
//! a root; decompression is bounded ([`Limits`]); every blob is checked
//! against its digest; and every entry that is not read is reported as a
//! [`Skip`] with its reason.

pub mod digest;
mod error;
mod files;
#[doc(hidden)]
pub mod fuzzing;
pub mod image;
mod limits;
mod listing;
mod record;
pub mod registry;
mod target;
mod vpath;
pub mod walker;

pub use error::{Result, SourceError};
pub use files::{FileRef, Visit, Want, for_each_file};
pub use limits::Limits;
pub use listing::{
    ImageSummary, LayerSummary, ListedFile, Listing, OpenOptions, Opened, list, open,
};
pub use record::{FileKind, Skip};
pub use target::{TARGET_KINDS, Target};
pub use vpath::{PathProblem, VPath, escape_bytes};
