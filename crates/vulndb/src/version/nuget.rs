//! NuGet package versions, ordered as NuGet.Versioning's `VersionComparer`.
//!
//! `N[.N[.N[.N]]][-label][+metadata]`: one to four numbers (missing ones
//! are 0, leading zeros allowed and ignored: `1.01 == 1.1.0.0`), a SemVer
//! 2.0 pre-release label, and build metadata that is ignored. A version
//! with a label sorts before the same version without one; labels compare
//! identifier by identifier, all-digit ones numerically (leading zeros
//! ignored, as `int.TryParse` does) and below the others, the others
//! case-insensitively; a shorter label that is a prefix of the other sorts
//! first.
//!
//! Divergence kept on purpose: NuGet caps numbers at `int` range (a
//! longer version part is invalid and a longer numeric label is compared
//! as text); here numbers of any length compare by value.

use super::num::{Num, all_digits};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Ident {
    Numeric(Num),
    /// Upper-cased, for NuGet's ordinal case-insensitive comparison.
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Label {
    Pre(Vec<Ident>),
    Release,
}

/// A parsed NuGet version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    numbers: [Num; 4],
    label: Label,
}

/// Parses a NuGet version.
///
/// # Errors
/// A reason when `s` is not a valid NuGet version.
pub fn parse(s: &str) -> Result<Version, String> {
    let (rest, metadata) = match s.split_once('+') {
        Some((r, m)) => (r, Some(m)),
        None => (s, None),
    };
    if let Some(m) = metadata
        && m.split('.')
            .any(|id| id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    {
        return Err("invalid build metadata".into());
    }
    let (core, label) = match rest.split_once('-') {
        Some((c, l)) => (c, Some(l)),
        None => (rest, None),
    };
    let parts: Vec<&str> = core.split('.').collect();
    if parts.len() > 4 {
        return Err("more than four version numbers".into());
    }
    if !parts.iter().all(|p| all_digits(p)) {
        return Err("version numbers must be digits".into());
    }
    let mut numbers = [Num::zero(), Num::zero(), Num::zero(), Num::zero()];
    for (slot, part) in numbers.iter_mut().zip(&parts) {
        *slot = Num::new(part);
    }
    let label = match label {
        None => Label::Release,
        Some(l) => {
            let mut ids = Vec::new();
            for id in l.split('.') {
                if id.is_empty() || !id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') {
                    return Err(format!("invalid release label identifier {id:?}"));
                }
                ids.push(if all_digits(id) {
                    Ident::Numeric(Num::new(id))
                } else {
                    Ident::Text(id.to_ascii_uppercase())
                });
            }
            Label::Pre(ids)
        }
    };
    Ok(Version { numbers, label })
}

impl Version {
    /// Whether the version has a pre-release label.
    #[must_use]
    pub fn is_prerelease(&self) -> bool {
        matches!(self.label, Label::Pre(_))
    }
}
