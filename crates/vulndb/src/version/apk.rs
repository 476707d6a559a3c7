//! Alpine, Wolfi and Chainguard package versions, ordered as apk-tools does.
//!
//! Grammar: `digits{.digits}[letter]{_suffix[digits]}[~hash][-rdigits]`,
//! where a suffix is one of `alpha`, `beta`, `pre`, `rc` (pre-releases,
//! in that order, all before the plain version) or `cvs`, `svn`, `git`,
//! `hg`, `p` (post-releases, in that order, all after it), and the hash is
//! a run of hex digits.
//!
//! The version is read as a sequence of typed tokens (first number, dotted
//! number, letter, suffix, suffix number, hash, revision). Tokens of the
//! same type compare by value: numbers numerically, except that a dotted
//! number where either side has a leading zero compares as a string
//! (`1.01 < 1.1`, `1.001 < 1.01`); letters, suffixes, hashes by their
//! order. Where the two versions first have tokens of different types (or
//! one ends), a pre-release suffix makes its side the smaller; otherwise
//! the side whose token type comes earlier in the grammar is the greater
//! (`1.0.1 > 1.0a > 1.0_p1 > 1.0-r1 > 1.0 > 1.0_rc1`).

use std::cmp::Ordering;

use super::num::{Num, cmp_digits, span};

const PRE: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

#[derive(Debug, Clone)]
enum Token {
    Initial(Num),
    Digit(String),
    Letter(u8),
    /// Negative for the pre-release suffixes, positive for post-release.
    Suffix(i8),
    SuffixNo(Num),
    Hash(String),
    Revision(Num),
}

impl Token {
    /// The token's type, in grammar order; the end of the version is 7.
    fn kind(&self) -> u8 {
        match self {
            Token::Initial(_) => 0,
            Token::Digit(_) => 1,
            Token::Letter(_) => 2,
            Token::Suffix(_) => 3,
            Token::SuffixNo(_) => 4,
            Token::Hash(_) => 5,
            Token::Revision(_) => 6,
        }
    }

    fn is_pre_suffix(&self) -> bool {
        matches!(self, Token::Suffix(s) if *s < 0)
    }
}

const END: u8 = 7;

/// A parsed apk version.
#[derive(Debug, Clone)]
pub struct Version {
    tokens: Vec<Token>,
}

/// Parses an apk version such as `1.2.3_rc1-r0`.
///
/// # Errors
/// A reason when `s` is not a valid apk version.
pub fn parse(s: &str) -> Result<Version, String> {
    let b = s.as_bytes();
    let n = span(b, |c| c.is_ascii_digit());
    if n == 0 {
        return Err("does not start with a digit".into());
    }
    let mut tokens = vec![Token::Initial(Num::new(&s[..n]))];
    let mut i = n;
    let mut kind = 0u8;
    while i < b.len() {
        let c = b[i];
        let token = match c {
            b'a'..=b'z' if kind <= 1 => {
                i += 1;
                Token::Letter(c)
            }
            b'.' if kind <= 1 => {
                let n = span(&b[i + 1..], |c| c.is_ascii_digit());
                if n == 0 {
                    return Err("'.' not followed by a number".into());
                }
                let t = Token::Digit(s[i + 1..i + 1 + n].to_string());
                i += 1 + n;
                t
            }
            b'0'..=b'9' if kind == 3 => {
                let n = span(&b[i..], |c| c.is_ascii_digit());
                let t = Token::SuffixNo(Num::new(&s[i..i + n]));
                i += n;
                t
            }
            b'_' if kind <= 4 => {
                let n = span(&b[i + 1..], |c| c.is_ascii_lowercase());
                let name = &s[i + 1..i + 1 + n];
                i += 1 + n;
                Token::Suffix(suffix_rank(name).ok_or_else(|| format!("unknown suffix {name:?}"))?)
            }
            b'~' if kind < 5 => {
                let n = span(&b[i + 1..], |c| c.is_ascii_hexdigit());
                if n == 0 {
                    return Err("'~' not followed by a hash".into());
                }
                let t = Token::Hash(s[i + 1..i + 1 + n].to_string());
                i += 1 + n;
                t
            }
            b'-' if kind < 6 => {
                if b.get(i + 1) != Some(&b'r') {
                    return Err("'-' not followed by 'r'".into());
                }
                let n = span(&b[i + 2..], |c| c.is_ascii_digit());
                if n == 0 {
                    return Err("'-r' not followed by a number".into());
                }
                let t = Token::Revision(Num::new(&s[i + 2..i + 2 + n]));
                i += 2 + n;
                t
            }
            _ => {
                let c = s[i..].chars().next().unwrap_or('?');
                return Err(format!("unexpected {c:?} at byte {i}"));
            }
        };
        kind = token.kind();
        tokens.push(token);
    }
    Ok(Version { tokens })
}

fn suffix_rank(name: &str) -> Option<i8> {
    if let Some(k) = PRE.iter().position(|&p| p == name) {
        return i8::try_from(k).ok().map(|k| k - 4);
    }
    POST.iter()
        .position(|&p| p == name)
        .and_then(|k| i8::try_from(k + 1).ok())
}

fn token_cmp(a: &Token, b: &Token) -> Ordering {
    match (a, b) {
        (Token::Initial(x), Token::Initial(y))
        | (Token::SuffixNo(x), Token::SuffixNo(y))
        | (Token::Revision(x), Token::Revision(y)) => x.cmp(y),
        (Token::Digit(x), Token::Digit(y)) => {
            if x.starts_with('0') || y.starts_with('0') {
                x.cmp(y)
            } else {
                cmp_digits(x, y)
            }
        }
        (Token::Letter(x), Token::Letter(y)) => x.cmp(y),
        (Token::Suffix(x), Token::Suffix(y)) => x.cmp(y),
        (Token::Hash(x), Token::Hash(y)) => x.cmp(y),
        _ => a.kind().cmp(&b.kind()).reverse(),
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let mut i = 0;
        loop {
            let (a, b) = (self.tokens.get(i), other.tokens.get(i));
            match (a, b) {
                (None, None) => return Ordering::Equal,
                (Some(x), Some(y)) if x.kind() == y.kind() => {
                    let r = token_cmp(x, y);
                    if r != Ordering::Equal {
                        return r;
                    }
                }
                _ => {
                    if a.is_some_and(Token::is_pre_suffix) {
                        return Ordering::Less;
                    }
                    if b.is_some_and(Token::is_pre_suffix) {
                        return Ordering::Greater;
                    }
                    let ka = a.map_or(END, Token::kind);
                    let kb = b.map_or(END, Token::kind);
                    return kb.cmp(&ka);
                }
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
