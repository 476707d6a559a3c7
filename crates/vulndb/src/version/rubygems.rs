//! RubyGems versions, ordered as `Gem::Version`.
//!
//! Valid: digits, then `.`-separated alphanumeric segments, then an
//! optional `-` part (`1.0`, `1.0.0.rc1`, `2.0.0-beta.1`); surrounding
//! whitespace is ignored. A `-` reads as `.pre.`. The version splits into
//! runs of digits and runs of letters (`rc1` is `rc`, `1`); any letter
//! makes it a pre-release, which sorts before the release
//! (`1.0.a < 1.0`). Trailing zeros of the numeric head and of the part
//! from the first letter on are dropped (`1.0.0 == 1`, `1.0.a.0 == 1.a`).
//! Segments compare one by one, the shorter padded with 0: numbers
//! numerically, strings bytewise (case-sensitive), a string below a number.

use std::cmp::Ordering;

use super::num::{Num, span};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Segment {
    Text(String),
    Number(Num),
}

/// A parsed RubyGems version (its canonical segments).
#[derive(Debug, Clone)]
pub struct Version {
    segments: Vec<Segment>,
}

impl Version {
    /// Whether the version has a letter in it (`Gem::Version#prerelease?`).
    #[must_use]
    pub fn is_prerelease(&self) -> bool {
        self.segments.iter().any(|s| matches!(s, Segment::Text(_)))
    }
}

fn valid(s: &str) -> Result<(), String> {
    let (main, pre) = match s.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (s, None),
    };
    let mut parts = main.split('.');
    let first = parts.next().unwrap_or_default();
    if first.is_empty() || !first.bytes().all(|c| c.is_ascii_digit()) {
        return Err("does not start with a number".into());
    }
    if parts.any(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_alphanumeric())) {
        return Err("segments must be non-empty and alphanumeric".into());
    }
    if let Some(pre) = pre
        && pre
            .split('.')
            .any(|p| p.is_empty() || !p.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-'))
    {
        return Err("invalid pre-release part after '-'".into());
    }
    Ok(())
}

/// Parses a RubyGems version.
///
/// # Errors
/// A reason when `s` is not a valid `Gem::Version`.
pub fn parse(s: &str) -> Result<Version, String> {
    let s = s.trim_matches(|c: char| c.is_ascii_whitespace());
    if s.is_empty() {
        return Err("version is empty".into());
    }
    valid(s)?;
    let expanded = s.replace('-', ".pre.");
    let b = expanded.as_bytes();
    let mut raw = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let n = span(&b[i..], |c| c.is_ascii_digit());
            raw.push(Segment::Number(Num::new(&expanded[i..i + n])));
            i += n;
        } else if b[i].is_ascii_alphabetic() {
            let n = span(&b[i..], |c| c.is_ascii_alphabetic());
            raw.push(Segment::Text(expanded[i..i + n].to_string()));
            i += n;
        } else {
            i += 1;
        }
    }
    let first_text = raw
        .iter()
        .position(|s| matches!(s, Segment::Text(_)))
        .unwrap_or(raw.len());
    let text_part = raw.split_off(first_text);
    let mut segments = trim_zeros(raw);
    segments.extend(trim_zeros(text_part));
    Ok(Version { segments })
}

fn trim_zeros(mut v: Vec<Segment>) -> Vec<Segment> {
    while matches!(v.last(), Some(Segment::Number(n)) if n.is_zero()) {
        v.pop();
    }
    v
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let zero = Segment::Number(Num::zero());
        let n = self.segments.len().max(other.segments.len());
        for i in 0..n {
            let a = self.segments.get(i).unwrap_or(&zero);
            let b = other.segments.get(i).unwrap_or(&zero);
            let r = a.cmp(b);
            if r != Ordering::Equal {
                return r;
            }
        }
        Ordering::Equal
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
