//! Package catalogers for operating-system and language ecosystems, and the
//! SBOM formats Rampart writes (CycloneDX 1.6, SPDX 2.3, its own JSON) and
//! reads (CycloneDX 1.4-1.6 and SPDX 2.2/2.3 JSON, for `sbom:` targets).
//!
//! Catalogers run in one pass over the target: each declares, from the path
//! alone, which files it wants; the pass reads those files once and hands
//! them to every cataloger that asked.

pub mod catalog;
mod error;
pub mod format;
mod licenses;
mod package;
pub mod purl;
mod read;
mod time;

pub use catalog::{Cataloger, Evidence, Found};
pub use error::SbomError;
pub use package::{Distro, Ecosystem, Location, Package, Sbom};
pub use read::read_sbom;
pub use time::rfc3339;

use rampart_source::Opened;

/// Catalogs an opened target with every cataloger. An `sbom:` target is
/// read instead.
///
/// # Errors
/// The target could not be read as a whole.
pub fn catalog(opened: &Opened, target: &str, kind: &str) -> Result<Sbom, SbomError> {
    if let Opened::Sbom(path) = opened {
        return read_sbom(path, target);
    }
    catalog::run(opened, &catalog::all(), target, kind)
}
