//! Semantic Versioning 2.0.0 (crates.io, npm, Hex, Pub, Swift) and Go
//! module versions.
//!
//! SemVer is strict: `MAJOR.MINOR.PATCH[-pre][+build]`, no leading zeros in
//! numbers or numeric pre-release identifiers, no empty identifiers, no
//! `v` or `=` prefix. Precedence: the three numbers, then a version with a
//! pre-release before the same version without one; pre-release
//! identifiers compare one by one, numeric ones numerically and below
//! alphanumeric ones, alphanumeric ones in ASCII order, and a shorter list
//! that is a prefix of the other first. Build metadata is ignored.
//!
//! Go: the same, with the `v` prefix of module versions optional (OSV's
//! Go records drop it), the shorthands `v1` and `v1.2` of Go's `semver`
//! package (`v1.2 == v1.2.0`; only with the `v` and without pre-release
//! or build), and `+incompatible` being build metadata, so ignored.
//! Pseudo-versions (`v0.0.0-20240101120000-abcdef123456`,
//! `v1.2.4-0.20240101120000-abcdef123456`, `v1.2.3-pre.0.2024...`) need no
//! special case: their pre-release identifiers order them by commit time,
//! after the tag they build on and before the next release.

use super::num::Num;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Numeric(Num),
    Alpha(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Pre {
    Pre(Vec<Ident>),
    Release,
}

/// A parsed semantic version; its `Ord` is SemVer precedence (build
/// metadata ignored, so `1.0.0+a == 1.0.0+b`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    major: Num,
    minor: Num,
    patch: Num,
    pre: Pre,
}

impl Version {
    /// Whether the version has a pre-release part.
    #[must_use]
    pub fn is_prerelease(&self) -> bool {
        matches!(self.pre, Pre::Pre(_))
    }
}

fn number(s: &str, what: &str) -> Result<Num, String> {
    if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
        return Err(format!("{what} is not a number"));
    }
    if s.len() > 1 && s.starts_with('0') {
        return Err(format!("{what} has a leading zero"));
    }
    Ok(Num::new(s))
}

fn identifiers<'a>(s: &'a str, what: &str) -> Result<Vec<&'a str>, String> {
    let ids: Vec<&str> = s.split('.').collect();
    for id in &ids {
        if id.is_empty() {
            return Err(format!("empty {what} identifier"));
        }
        if !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
            return Err(format!("invalid character in {what} identifier {id:?}"));
        }
    }
    Ok(ids)
}

/// Parses a strict SemVer 2.0.0 version.
///
/// # Errors
/// A reason when `s` is not a valid semantic version.
pub fn parse(s: &str) -> Result<Version, String> {
    let (rest, build) = match s.split_once('+') {
        Some((r, b)) => (r, Some(b)),
        None => (s, None),
    };
    if let Some(b) = build {
        identifiers(b, "build")?;
    }
    let (core, pre) = match rest.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    let [major, minor, patch] = parts.as_slice() else {
        return Err("expected MAJOR.MINOR.PATCH".into());
    };
    let pre = match pre {
        None => Pre::Release,
        Some(p) => Pre::Pre(
            identifiers(p, "pre-release")?
                .into_iter()
                .map(|id| {
                    if id.bytes().all(|c| c.is_ascii_digit()) {
                        number(id, "numeric pre-release identifier").map(Ident::Numeric)
                    } else {
                        Ok(Ident::Alpha(id.to_string()))
                    }
                })
                .collect::<Result<_, _>>()?,
        ),
    };
    Ok(Version {
        major: number(major, "major version")?,
        minor: number(minor, "minor version")?,
        patch: number(patch, "patch version")?,
        pre,
    })
}

/// Parses a Go module version (`v1.2.3`, `1.2.3`, `v1.2`, pseudo-versions,
/// `+incompatible`).
///
/// # Errors
/// A reason when `s` is not a valid Go module version.
pub fn parse_go(s: &str) -> Result<Version, String> {
    let Some(body) = s.strip_prefix('v') else {
        return parse(s);
    };
    let simple = !body.is_empty() && body.bytes().all(|c| c.is_ascii_digit() || c == b'.');
    match body.split('.').count() {
        1 if simple => parse(&format!("{body}.0.0")),
        2 if simple => parse(&format!("{body}.0")),
        _ => parse(body),
    }
}
