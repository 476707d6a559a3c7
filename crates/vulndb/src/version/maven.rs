//! Maven versions, ordered by the "Version Order Specification" of the
//! POM reference, which Maven's `ComparableVersion` implements.
//!
//! The lower-cased version splits into tokens at `.`, at `-` and at each
//! change between digits and other characters; the separator before a
//! token is kept (a digit/letter change counts as `-`), and an empty token
//! is 0 (`1-1.foo-bar1baz-.1` is `1 -1 .foo -bar -1 -baz -0 .1`). A
//! qualifier after `.` counts as after `-` (`1.foo == 1-foo`). Then the
//! trailing "null" tokens (`0`, `ga`, `final`, `release`, `""`) are removed
//! at the end and before every remaining `-` (`1.0.0 == 1`,
//! `1.0.0-foo.0.0 == 1-foo`, `1-0-2 == 1-2`).
//!
//! Tokens compare in order, the shorter version padded with nulls (0 for a
//! number, `""` for a qualifier): `qualifier < -number < .number`; numbers
//! with the same separator numerically; qualifiers
//! `alpha < beta < milestone < rc == cr < snapshot < "" == ga == final ==
//! release < sp`, then every other qualifier in lexical order; `a`, `b`
//! and `m` directly followed by a digit mean alpha, beta and milestone.
//!
//! Why the specification and not a port of one Maven release: the nested
//! lists of `ComparableVersion` are not transitive in corner cases (`a`,
//! `0`, `0-alpha`: `a > 0 > 0-alpha` yet `a < 0-alpha`), and Maven
//! releases differ in them (3.9's "combination" items, `.X` handling).
//! The specification's flat order agrees with Maven on ordinary versions
//! (`1.0-alpha-1 < 1.0-beta < 1.0-rc1 < 1.0-SNAPSHOT < 1.0 < 1.0-sp <
//! 1.0-foo < 1.0-1 < 1.0.1`) and is a total order. Newer qualifiers some
//! documents list (`ea`, `preview`) are ordinary unknown qualifiers here.
//! Checked against Maven 3.8.7's `ComparableVersion` on random versions
//! that start with a number: they differ only where a null token sits
//! between two `-` before a qualifier (`3-ga-sp1`: Maven keeps an empty
//! nesting level there and puts it above `3-jre`; here it is `3-sp-1`,
//! below `3-jre`), and on versions that start with a qualifier.

use std::cmp::Ordering;

use super::num::Num;

const QUALIFIERS: [&str; 7] = ["alpha", "beta", "milestone", "rc", "snapshot", "", "sp"];
const RELEASE: Qualifier = Qualifier::Known(5);

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Qualifier {
    Known(u8),
    Unknown(String),
}

impl Qualifier {
    fn new(token: &str, followed_by_digit: bool) -> Self {
        let name = match token {
            "a" if followed_by_digit => "alpha",
            "b" if followed_by_digit => "beta",
            "m" if followed_by_digit => "milestone",
            "cr" => "rc",
            "ga" | "final" | "release" => "",
            other => other,
        };
        match QUALIFIERS.iter().position(|&q| q == name) {
            Some(k) => Qualifier::Known(u8::try_from(k).unwrap_or(u8::MAX)),
            None => Qualifier::Unknown(name.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A number and whether `.` (true) or `-` (false) came before it.
    Number {
        dot: bool,
        value: Num,
    },
    Qualifier(Qualifier),
}

impl Token {
    fn is_null(&self) -> bool {
        match self {
            Token::Number { value, .. } => value.is_zero(),
            Token::Qualifier(q) => *q == RELEASE,
        }
    }

    /// Whether the token starts a `-` group (for trimming).
    fn starts_group(&self) -> bool {
        !matches!(self, Token::Number { dot: true, .. })
    }
}

/// A parsed Maven version: its tokens after trimming.
#[derive(Debug, Clone)]
pub struct Version {
    tokens: Vec<Token>,
}

/// Parses a Maven version. Maven accepts any string; this rejects only the
/// empty string and characters outside printable ASCII.
///
/// # Errors
/// A reason when `s` is empty or has whitespace, control or non-ASCII
/// characters.
pub fn parse(s: &str) -> Result<Version, String> {
    if s.is_empty() {
        return Err("version is empty".into());
    }
    if let Some(c) = s.chars().find(|c| !c.is_ascii_graphic()) {
        return Err(format!("invalid character {c:?}"));
    }
    let v = s.to_ascii_lowercase();
    let b = v.as_bytes();
    let mut raw: Vec<Token> = Vec::new();
    let mut dot = true;
    let mut start = 0;
    for i in 0..=b.len() {
        let c = b.get(i).copied();
        let separator = matches!(c, None | Some(b'.' | b'-'));
        let transition = i > start
            && c.is_some_and(|c| c.is_ascii_digit() != b[i - 1].is_ascii_digit())
            && !separator;
        if !(separator || transition) {
            continue;
        }
        let text = &v[start..i];
        if !(c.is_none() && text.is_empty() && start == b.len() && !raw.is_empty()) {
            raw.push(if text.is_empty() || text.as_bytes()[0].is_ascii_digit() {
                Token::Number {
                    dot,
                    value: Num::new(text),
                }
            } else {
                Token::Qualifier(Qualifier::new(text, transition))
            });
        }
        if separator {
            dot = c == Some(b'.');
            start = i + 1;
        } else {
            dot = false;
            start = i;
        }
    }
    // Trim trailing nulls at the end and before every `-` group.
    let mut tokens = Vec::with_capacity(raw.len());
    let mut group: Vec<Token> = Vec::new();
    for t in raw {
        if t.starts_group() && !group.is_empty() {
            flush(&mut group, &mut tokens);
        }
        group.push(t);
    }
    flush(&mut group, &mut tokens);
    Ok(Version { tokens })
}

fn flush(group: &mut Vec<Token>, out: &mut Vec<Token>) {
    while group.last().is_some_and(Token::is_null) {
        group.pop();
    }
    out.append(group);
}

fn cmp_token(a: Option<&Token>, b: Option<&Token>) -> Ordering {
    use Ordering::{Equal, Greater, Less};
    match (a, b) {
        (None, None) => Equal,
        (None, Some(_)) => cmp_token(b, a).reverse(),
        (Some(Token::Number { value, .. }), None) => {
            if value.is_zero() {
                Equal
            } else {
                Greater
            }
        }
        (Some(Token::Qualifier(q)), None) => q.cmp(&RELEASE),
        (Some(Token::Qualifier(p)), Some(Token::Qualifier(q))) => p.cmp(q),
        (Some(Token::Qualifier(_)), Some(Token::Number { .. })) => Less,
        (Some(Token::Number { .. }), Some(Token::Qualifier(_))) => Greater,
        (
            Some(Token::Number { dot: d1, value: v1 }),
            Some(Token::Number { dot: d2, value: v2 }),
        ) => d1.cmp(d2).then_with(|| v1.cmp(v2)),
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        let n = self.tokens.len().max(other.tokens.len());
        (0..n)
            .map(|i| cmp_token(self.tokens.get(i), other.tokens.get(i)))
            .find(|r| *r != Ordering::Equal)
            .unwrap_or(Ordering::Equal)
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
