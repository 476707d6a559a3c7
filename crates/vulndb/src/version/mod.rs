//! Version ordering, exact per ecosystem. An unknown scheme or a version
//! that does not parse in its scheme is an explicit error, never a guess.
//!
//! Each scheme has its own module with a `parse` function and a `Version`
//! type whose `Ord` is the ecosystem's order (equality is "same
//! precedence", so `1.0 == 1.0.0` in PEP 440). [`compare`] parses both
//! sides and orders them. Input is untrusted: versions longer than
//! [`MAX_VERSION_LEN`] bytes are rejected, numbers of any length compare
//! by value without being parsed into machine integers, and no input
//! panics.

use std::cmp::Ordering;

pub mod apk;
pub mod composer;
pub mod dpkg;
pub mod maven;
pub mod nuget;
mod num;
pub mod pep440;
pub mod rpm;
pub mod rubygems;
pub mod semver;

/// The longest version string accepted, in bytes.
pub const MAX_VERSION_LEN: usize = 256;

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
    match scheme {
        Scheme::Dpkg => order(scheme, a, b, dpkg::parse),
        Scheme::Rpm => order(scheme, a, b, rpm::parse),
        Scheme::Apk => order(scheme, a, b, apk::parse),
        Scheme::Pep440 => order(scheme, a, b, pep440::parse),
        Scheme::Semver => order(scheme, a, b, semver::parse),
        Scheme::Go => order(scheme, a, b, semver::parse_go),
        Scheme::Maven => order(scheme, a, b, maven::parse),
        Scheme::RubyGems => order(scheme, a, b, rubygems::parse),
        Scheme::NuGet => order(scheme, a, b, nuget::parse),
        Scheme::Composer => order(scheme, a, b, composer::parse),
    }
}

/// Checks that `version` parses in `scheme`.
///
/// # Errors
/// [`VersionError::Invalid`] with the reason when it does not.
pub fn validate(scheme: Scheme, version: &str) -> Result<(), VersionError> {
    compare(scheme, version, version).map(|_| ())
}

/// Whether `version` parses in `scheme`.
#[must_use]
pub fn is_valid(scheme: Scheme, version: &str) -> bool {
    validate(scheme, version).is_ok()
}

fn checked<V>(
    scheme: Scheme,
    version: &str,
    parse: fn(&str) -> Result<V, String>,
) -> Result<V, VersionError> {
    let invalid = |reason: String| VersionError::Invalid {
        scheme,
        version: version.chars().take(MAX_VERSION_LEN).collect(),
        reason,
    };
    if version.len() > MAX_VERSION_LEN {
        return Err(invalid(format!(
            "longer than {MAX_VERSION_LEN} bytes ({})",
            version.len()
        )));
    }
    parse(version).map_err(invalid)
}

fn order<V: Ord>(
    scheme: Scheme,
    a: &str,
    b: &str,
    parse: fn(&str) -> Result<V, String>,
) -> Result<Ordering, VersionError> {
    let va = checked(scheme, a, parse)?;
    let vb = checked(scheme, b, parse)?;
    Ok(va.cmp(&vb))
}
