//! RPM versions (Red Hat family, SUSE, Mageia, openEuler): `[epoch:]version[-release]`,
//! each of version and release ordered by rpmvercmp.
//!
//! rpmvercmp splits a string into runs of digits and runs of ASCII
//! letters; every other character is a separator and only separates.
//! Runs compare pairwise: digits numerically, letters as bytes, and a
//! digit run beats a letter run. `~` sorts before anything, including the
//! end of the string (`1.0~rc1 < 1.0`); `^` sorts after the end but before
//! anything else (`1.0 < 1.0^git1 < 1.0.1`). When all runs match, the
//! string with runs left over is the greater one.
//!
//! A missing epoch is 0. A missing release sorts before any release, even
//! one that starts with `~` (`1.0 < 1.0-~1 < 1.0-0`), as rpm's own EVR
//! comparison (`rpmverCmp`, lua `rpm.vercmp`) does; rpm's dependency
//! matching treats a missing release as "any release" instead, which is
//! not an order.

use std::cmp::Ordering;

use super::num::{Num, all_digits, span};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Tilde,
    Caret,
    Alpha(String),
    Digits(Num),
}

/// A parsed RPM EVR.
#[derive(Debug, Clone)]
pub struct Version {
    epoch: Num,
    version: Vec<Token>,
    release: Option<Vec<Token>>,
}

/// Parses `[epoch:]version[-release]`.
///
/// # Errors
/// A reason when `s` is not a valid RPM version.
pub fn parse(s: &str) -> Result<Version, String> {
    if s.is_empty() {
        return Err("version is empty".into());
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("invalid character {c:?}"));
    }
    let (epoch, rest) = match s.split_once(':') {
        Some(("", rest)) => (Num::zero(), rest),
        Some((e, rest)) if all_digits(e) => (Num::new(e), rest),
        Some(_) => return Err("epoch is not a number".into()),
        None => (Num::zero(), s),
    };
    if rest.contains(':') {
        return Err("more than one ':'".into());
    }
    let (version, release) = match rest.rsplit_once('-') {
        Some((_, "")) => return Err("release is empty".into()),
        Some((v, r)) => (v, Some(r)),
        None => (rest, None),
    };
    if version.is_empty() {
        return Err("version part is empty".into());
    }
    Ok(Version {
        epoch,
        version: tokens(version),
        release: release.map(tokens),
    })
}

fn tokens(s: &str) -> Vec<Token> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'~' {
            out.push(Token::Tilde);
            i += 1;
        } else if c == b'^' {
            out.push(Token::Caret);
            i += 1;
        } else if c.is_ascii_digit() {
            let n = span(&b[i..], |c| c.is_ascii_digit());
            out.push(Token::Digits(Num::new(&s[i..i + n])));
            i += n;
        } else if c.is_ascii_alphabetic() {
            let n = span(&b[i..], |c| c.is_ascii_alphabetic());
            out.push(Token::Alpha(s[i..i + n].to_string()));
            i += n;
        } else {
            i += 1;
        }
    }
    out
}

/// rpmvercmp over token sequences.
fn vercmp(a: &[Token], b: &[Token]) -> Ordering {
    use Ordering::{Equal, Greater, Less};
    use Token::{Alpha, Caret, Digits, Tilde};
    let mut i = 0;
    loop {
        let r = match (a.get(i), b.get(i)) {
            (Some(Tilde), Some(Tilde)) | (Some(Caret), Some(Caret)) => Equal,
            (Some(Tilde), _) | (None | Some(Caret), Some(Caret | Alpha(_) | Digits(_))) => Less,
            (_, Some(Tilde)) | (Some(Caret | Alpha(_) | Digits(_)), None | Some(Caret)) => Greater,
            (None, None) => return Equal,
            (Some(Digits(_)), Some(Alpha(_))) => Greater,
            (Some(Alpha(_)), Some(Digits(_))) => Less,
            (Some(Digits(x)), Some(Digits(y))) => x.cmp(y),
            (Some(Alpha(x)), Some(Alpha(y))) => x.cmp(y),
        };
        if r != Equal {
            return r;
        }
        i += 1;
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| vercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (Some(a), Some(b)) => vercmp(a, b),
                (a, b) => a.is_some().cmp(&b.is_some()),
            })
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}
