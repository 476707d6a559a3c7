//! Debian and Ubuntu package versions, ordered as dpkg does
//! (deb-version(7), Debian Policy 5.6.12): `[epoch:]upstream[-revision]`.
//!
//! Each of upstream and revision is compared left to right in alternating
//! non-digit and digit runs. In a non-digit run `~` sorts before
//! everything, even the end of the string; letters sort before all other
//! characters. Digit runs compare numerically; a missing run counts as 0.
//!
//! Strictness: dpkg only warns about an upstream version that does not
//! start with a digit or that holds characters outside the policy's set;
//! here both are errors, so that a malformed advisory or package version is
//! reported rather than ordered by accident.

use std::cmp::Ordering;

use super::num::{Num, all_digits};

/// A parsed dpkg version.
#[derive(Debug, Clone)]
pub struct Version {
    epoch: Num,
    upstream: String,
    revision: String,
}

/// Parses `[epoch:]upstream[-revision]`.
///
/// # Errors
/// A reason when `s` is not a valid Debian version.
pub fn parse(s: &str) -> Result<Version, String> {
    if s.is_empty() {
        return Err("version is empty".into());
    }
    if s.bytes().any(|c| c.is_ascii_whitespace()) {
        return Err("version contains whitespace".into());
    }
    let (epoch, rest) = match s.split_once(':') {
        Some((e, rest)) => {
            if !all_digits(e) {
                return Err("epoch is not a number".into());
            }
            (Num::new(e), rest)
        }
        None => (Num::zero(), s),
    };
    if rest.is_empty() {
        return Err("nothing after the epoch".into());
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((_, "")) => return Err("revision is empty".into()),
        Some((u, r)) => (u, r),
        None => (rest, ""),
    };
    if upstream.is_empty() {
        return Err("upstream version is empty".into());
    }
    if !upstream.as_bytes()[0].is_ascii_digit() {
        return Err("upstream version does not start with a digit".into());
    }
    if let Some(c) = upstream
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~-:".contains(c)))
    {
        return Err(format!("invalid character {c:?} in upstream version"));
    }
    if let Some(c) = revision
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || ".+~".contains(c)))
    {
        return Err(format!("invalid character {c:?} in revision"));
    }
    Ok(Version {
        epoch,
        upstream: upstream.to_string(),
        revision: revision.to_string(),
    })
}

/// The weight of one character in a non-digit run; the end of the string
/// and a digit weigh 0.
fn weight(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(b'~') => -1,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's comparison of one upstream version or revision.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    let digit_at = |s: &[u8], k: usize| s.get(k).is_some_and(u8::is_ascii_digit);
    let non_digit_at = |s: &[u8], k: usize| s.get(k).is_some_and(|c| !c.is_ascii_digit());
    while i < a.len() || j < b.len() {
        while non_digit_at(a, i) || non_digit_at(b, j) {
            let (wa, wb) = (weight(a.get(i).copied()), weight(b.get(j).copied()));
            if wa != wb {
                return wa.cmp(&wb);
            }
            i += 1;
            j += 1;
        }
        while a.get(i) == Some(&b'0') {
            i += 1;
        }
        while b.get(j) == Some(&b'0') {
            j += 1;
        }
        let mut first_diff = Ordering::Equal;
        while digit_at(a, i) && digit_at(b, j) {
            if first_diff == Ordering::Equal {
                first_diff = a[i].cmp(&b[j]);
            }
            i += 1;
            j += 1;
        }
        if digit_at(a, i) {
            return Ordering::Greater;
        }
        if digit_at(b, j) {
            return Ordering::Less;
        }
        if first_diff != Ordering::Equal {
            return first_diff;
        }
    }
    Ordering::Equal
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
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
