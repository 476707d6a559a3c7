//! Version ordering, exact per ecosystem. An unknown scheme or a version
//! that does not parse in its scheme is an explicit error, never a guess.

use std::cmp::Ordering;

/// The version schemes Rampart orders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scheme {
    /// Debian and Ubuntu (dpkg).
    Dpkg,
    /// Red Hat family, SUSE (rpmvercmp with epoch).
    Rpm,
    /// Alpine and Wolfi/Chainguard (apk).
    Apk,
    /// Python (PEP 440).
    Pep440,
    /// Semantic Versioning 2.0 (crates.io, npm, Hex, Pub, Swift...).
    Semver,
    /// Go modules (semver with `v` prefix, pseudo-versions, +incompatible).
    Go,
    /// Maven (ComparableVersion rules).
    Maven,
    /// RubyGems (Gem::Version).
    RubyGems,
    /// NuGet (semver 2 with four-part numbers, case-insensitive labels).
    NuGet,
    /// Composer (PHP).
    Composer,
}

/// Why two versions could not be ordered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VersionError {
    #[error("{version:?} is not a valid {scheme:?} version: {reason}")]
    Invalid {
        scheme: Scheme,
        version: String,
        reason: String,
    },
}

/// The scheme an OSV ecosystem name uses (`Debian:12` -> dpkg, `PyPI` ->
/// PEP 440...). `None` for ecosystems without a known scheme.
#[must_use]
pub fn scheme_for_osv_ecosystem(ecosystem: &str) -> Option<Scheme> {
    let base = ecosystem.split(':').next().unwrap_or(ecosystem);
    Some(match base {
        "Debian" | "Ubuntu" => Scheme::Dpkg,
        "Red Hat" | "Rocky Linux" | "AlmaLinux" | "SUSE" | "openSUSE" | "Mageia" | "openEuler" => {
            Scheme::Rpm
        }
        "Alpine" | "Wolfi" | "Chainguard" => Scheme::Apk,
        "PyPI" => Scheme::Pep440,
        "crates.io" | "npm" | "Hex" | "Pub" | "SwiftURL" => Scheme::Semver,
        "Go" => Scheme::Go,
        "Maven" => Scheme::Maven,
        "RubyGems" => Scheme::RubyGems,
        "NuGet" => Scheme::NuGet,
        "Packagist" => Scheme::Composer,
        _ => return None,
    })
}

/// Orders two versions in `scheme`.
///
/// # Errors
/// [`VersionError::Invalid`] when either version does not parse.
pub fn compare(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, VersionError> {
    // [schemes: dispatch]
    Err(VersionError::Invalid {
        scheme,
        version: if a.is_empty() {
            b.to_string()
        } else {
            a.to_string()
        },
        reason: "ordering for this scheme is not implemented yet".to_string(),
    })
}
