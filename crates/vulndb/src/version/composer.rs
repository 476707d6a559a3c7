//! Composer (Packagist) versions: Composer's `VersionParser::normalize`,
//! then PHP's `version_compare` on the normalised form.
//!
//! Accepted: `[v]N[.N[.N[.N]]]` (the first number at most five digits;
//! missing numbers are 0), an optional stability suffix `stable`,
//! `alpha`/`a`, `beta`/`b`, `RC`, `patch`/`pl`/`p` with optional numbers
//! (`1.0.0-beta2`, `1.0.0-RC.1`, `1.0.0-p1`), an optional `-dev`, build
//! metadata after `+` (ignored), a `@stability` flag (ignored),
//! case-insensitive. Date versions written as one run of 6 to 22 digits
//! (`20240115`) are one number. Branch aliases `1.x-dev` / `1.2.*-dev`
//! become `1.9999999.9999999.9999999-dev` as Composer does.
//!
//! Order: the numbers, then `dev < alpha < beta < RC < (release) <
//! patch`, then the stability numbers; a `-dev` suffix sorts before the
//! version it is attached to (`1.0.0-beta2-dev < 1.0.0-beta2`).
//!
//! Dev branches (`dev-master`, `dev-feature`, `master`, `trunk`,
//! `default`) have no place in the order (Composer compares them only for
//! equality): they are errors, so a range check on them is "unknown".
//! Date versions with separators (`2024-01-15.1`) are not supported (an
//! error), and neither are aliases written `1.0 as 2.0`.

use std::cmp::Ordering;

use super::num::{Num, span};

const DEV: u8 = 0;
const NUMBER: u8 = 4;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Number(Num),
    /// dev 0, alpha 1, beta 2, RC 3, patch 5 (a number ranks 4).
    Special(u8),
}

/// A normalised Composer version.
#[derive(Debug, Clone)]
pub struct Version {
    parts: Vec<Part>,
}

/// Parses and normalises a Composer version.
///
/// # Errors
/// A reason when `s` is not a valid, orderable Composer version.
pub fn parse(s: &str) -> Result<Version, String> {
    let mut v = s.trim().to_ascii_lowercase();
    if let Some(at) = v.rfind('@')
        && ["stable", "rc", "beta", "alpha", "dev"].contains(&&v[at + 1..])
    {
        v.truncate(at);
    }
    if v.starts_with("dev-") || ["master", "trunk", "default"].contains(&v.as_str()) {
        return Err("a dev branch has no place in the version order".into());
    }
    if let Some((main, build)) = v.split_once('+') {
        if build.is_empty() || build.contains(char::is_whitespace) {
            return Err("invalid build metadata".into());
        }
        v = main.to_string();
    }
    if v.is_empty() || !v.is_ascii() || v.contains(char::is_whitespace) {
        return Err("empty or contains whitespace or non-ASCII".into());
    }
    classical(&v)
        .or_else(|| branch(&v))
        .ok_or_else(|| "not a Composer version".to_string())
        .map(|parts| Version { parts })
}

fn classical(v: &str) -> Option<Vec<Part>> {
    let b = v.as_bytes();
    let mut i = usize::from(b.first() == Some(&b'v'));
    let n = span(&b[i..], |c| c.is_ascii_digit());
    let mut parts = Vec::new();
    if (1..=5).contains(&n) {
        parts.push(Part::Number(Num::new(&v[i..i + n])));
        i += n;
        while parts.len() < 4 && b.get(i) == Some(&b'.') {
            let n = span(&b[i + 1..], |c| c.is_ascii_digit());
            if n == 0 {
                break;
            }
            parts.push(Part::Number(Num::new(&v[i + 1..i + 1 + n])));
            i += 1 + n;
        }
        parts.resize(4, Part::Number(Num::zero()));
    } else if (6..=22).contains(&n) {
        parts.push(Part::Number(Num::new(&v[i..i + n])));
        i += n;
    } else {
        return None;
    }
    modifiers(&v[i..], &mut parts).then_some(parts)
}

/// `[._-]?((stability)((?:[.-]?\d+)*))?([.-]?dev)?` to the end of `rest`.
fn modifiers(rest: &str, parts: &mut Vec<Part>) -> bool {
    let b = rest.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'.' | b'_' | b'-')));
    let words: [(&str, Option<u8>); 9] = [
        ("stable", None),
        ("beta", Some(2)),
        ("b", Some(2)),
        ("rc", Some(3)),
        ("alpha", Some(1)),
        ("a", Some(1)),
        ("patch", Some(5)),
        ("pl", Some(5)),
        ("p", Some(5)),
    ];
    let mut stable = false;
    let mut dev = false;
    if let Some(&(word, rank)) = words.iter().find(|(w, _)| rest[i..].starts_with(w)) {
        i += word.len();
        let mut numbers = Vec::new();
        loop {
            let sep = usize::from(matches!(b.get(i), Some(b'.' | b'-')));
            let n = span(&b[(i + sep).min(b.len())..], |c| c.is_ascii_digit());
            if n == 0 {
                break;
            }
            numbers.push(Part::Number(Num::new(&rest[i + sep..i + sep + n])));
            i += sep + n;
        }
        match rank {
            Some(r) => {
                parts.push(Part::Special(r));
                parts.extend(numbers);
            }
            None => stable = true,
        }
    }
    let tail = &rest[i..];
    if ["dev", ".dev", "-dev"].contains(&tail) {
        dev = true;
    } else if !tail.is_empty() {
        return false;
    }
    if dev && !stable {
        parts.push(Part::Special(DEV));
    }
    true
}

/// `1.x-dev`, `1.2.*-dev`: Composer's branch alias normalisation.
fn branch(v: &str) -> Option<Vec<Part>> {
    let name = v.strip_suffix("dev")?;
    let name = name.strip_suffix(['.', '-']).unwrap_or(name);
    let name = name.strip_prefix('v').unwrap_or(name);
    let pieces: Vec<&str> = name.split('.').collect();
    if pieces.len() > 4 || !pieces[0].bytes().all(|c| c.is_ascii_digit()) || pieces[0].is_empty() {
        return None;
    }
    let wildcard = Part::Number(Num::new("9999999"));
    let mut parts = Vec::new();
    for (k, p) in pieces.iter().enumerate() {
        if k > 0 && (*p == "x" || *p == "*") {
            parts.push(wildcard.clone());
        } else if !p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()) {
            parts.push(Part::Number(Num::new(p)));
        } else {
            return None;
        }
    }
    parts.resize(4, wildcard);
    parts.push(Part::Special(DEV));
    Some(parts)
}

fn rank(p: &Part) -> u8 {
    match p {
        Part::Number(_) => NUMBER,
        Part::Special(r) => *r,
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut i = 0;
        loop {
            let r = match (self.parts.get(i), other.parts.get(i)) {
                (None, None) => return Ordering::Equal,
                (Some(Part::Number(x)), Some(Part::Number(y))) => x.cmp(y),
                (Some(x), Some(y)) => rank(x).cmp(&rank(y)),
                // PHP compares what is left over against a number's rank.
                (Some(Part::Number(_)), None) => return Ordering::Greater,
                (None, Some(Part::Number(_))) => return Ordering::Less,
                (Some(x), None) => return rank(x).cmp(&NUMBER),
                (None, Some(y)) => return NUMBER.cmp(&rank(y)),
            };
            if r != Ordering::Equal {
                return r;
            }
            i += 1;
        }
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
