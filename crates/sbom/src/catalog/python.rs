//! Python packages (PyPI): installed distributions (`*.dist-info`,
//! `*.egg-info`, eggs), pinned requirements files and the lock files of
//! Poetry, Pipenv, uv and PDM.
//!
//! Names are reported normalised by PEP 503 (`PyYAML` becomes `pyyaml`,
//! `zope.interface` becomes `zope-interface`), the form pip, PyPI and the
//! advisory databases compare by. Evidence of one package spells its name
//! in many ways (the METADATA `Name`, the escaped dist-info directory name
//! that RECORD is keyed by, lock files, requirements lines); normalising
//! them all is what lets the core merge them into one package and attach
//! RECORD's files (`Found::Owns` keys by exact name) to it.

mod installed;
mod locks;
mod requirements;

pub(super) use installed::PythonInstalled;
pub(super) use locks::PythonLocks;
pub(super) use requirements::PythonRequirements;

use crate::package::{Ecosystem, Package};
use crate::purl::pypi_name;

/// A PyPI package, its name normalised.
fn package(name: &str, version: &str, cataloger: &str) -> Package {
    Package::new(Ecosystem::Pypi, pypi_name(name), version, cataloger)
}

/// A distribution name as PEP 508 allows: ASCII letters and digits, with
/// `.`, `_` and `-` inside.
fn valid_name(n: &str) -> bool {
    let b = n.as_bytes();
    !b.is_empty()
        && b.len() <= 200
        && b.first().is_some_and(u8::is_ascii_alphanumeric)
        && b.last().is_some_and(u8::is_ascii_alphanumeric)
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'-'))
}

/// A version as Python packaging writes one (PEP 440 and the legacy forms
/// it tolerates): no wildcards, spaces or URLs.
fn valid_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && v.bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'+' | b'!' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_versions() {
        assert!(valid_name("zope.interface"));
        assert!(valid_name("A"));
        assert!(!valid_name("-a"));
        assert!(!valid_name("a b"));
        assert!(!valid_name(""));
        assert!(valid_version("1!2.0.post1+local.7"));
        assert!(!valid_version("1.*"));
        assert!(!valid_version("1.0 "));
        assert_eq!(package("Django_REST", "1", "t").name, "django-rest");
    }
}
