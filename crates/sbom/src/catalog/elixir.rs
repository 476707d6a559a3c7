//! Elixir packages: `mix.lock`, an Elixir map literal written by Mix:
//!
//! ```text
//! %{
//!   "cowboy": {:hex, :cowboy, "2.10.0", "<hash>", [:make, :rebar3], [...], "hexpm", "<hash>"},
//!   "phoenix": {:git, "https://...", "<sha>", [branch: "main"]},
//! }
//! ```
//!
//! Read with a small tokenizer, never evaluated. Hex entries give the
//! package (its Hex name, the tuple's second element) and version; git and
//! path dependencies carry no version and are left out.

use rampart_source::VPath;

use super::lockutil::{MAX_FIELD, ancestor_is, found, package};
use super::{Cataloger, Evidence, Found, file_name_is};
use crate::package::{Ecosystem, Package};

/// `mix.lock`.
#[derive(Debug)]
pub struct MixLock;

/// Deepest nesting of maps, tuples and lists accepted.
const MAX_DEPTH: usize = 64;

#[derive(Debug, PartialEq, Eq)]
enum Tok {
    /// `%{` (as `%`), `{` or `[`.
    Open(u8),
    /// `}` or `]`.
    Close(u8),
    Comma,
    Arrow,
    /// A keyword key: `name:` or `"name":`.
    Key(String),
    Str(String),
    Atom(String),
    /// Numbers, `true`, `nil`, identifiers: nothing we read.
    Other,
}

struct Lexer<'a> {
    s: &'a [u8],
    i: usize,
}

fn is_delimiter(b: u8) -> bool {
    b.is_ascii_whitespace() || matches!(b, b',' | b'{' | b'}' | b'[' | b']' | b'"' | b'#')
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<u8> {
        self.s.get(self.i + ahead).copied()
    }

    /// True when a `:` then whitespace (or the end) follows: a keyword key.
    fn key_colon(&mut self) -> bool {
        let key =
            self.peek(0) == Some(b':') && self.peek(1).is_none_or(|b| b.is_ascii_whitespace());
        if key {
            self.i += 1;
        }
        key
    }

    /// A double-quoted string; the opening quote is at `self.i`.
    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let b = self.peek(0).ok_or("unterminated string")?;
            self.i += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    let e = self.peek(0).ok_or("unterminated string")?;
                    self.i += 1;
                    out.push(match e {
                        b'n' => b'\n',
                        b't' => b'\t',
                        other => other,
                    });
                }
                b'#' if self.peek(0) == Some(b'{') => {
                    return Err("string interpolation in a lock file".to_string());
                }
                other => out.push(other),
            }
            if out.len() > MAX_FIELD * 8 {
                return Err("string longer than any lock file field".to_string());
            }
        }
        String::from_utf8(out).map_err(|_| "string is not UTF-8".to_string())
    }

    /// A run of bytes up to the next delimiter (at least one byte).
    fn word(&mut self) -> &[u8] {
        let start = self.i;
        self.i += 1;
        while self.peek(0).is_some_and(|b| !is_delimiter(b) && b != b':') {
            self.i += 1;
        }
        self.s.get(start..self.i).unwrap_or_default()
    }

    fn next(&mut self) -> Result<Option<Tok>, String> {
        loop {
            match self.peek(0) {
                None => return Ok(None),
                Some(b) if b.is_ascii_whitespace() => self.i += 1,
                Some(b'#') => {
                    while self.peek(0).is_some_and(|b| b != b'\n') {
                        self.i += 1;
                    }
                }
                Some(_) => break,
            }
        }
        let b = self.peek(0).ok_or("unexpected end")?;
        let tok = match b {
            b'%' if self.peek(1) == Some(b'{') => {
                self.i += 2;
                Tok::Open(b'%')
            }
            b'{' | b'[' => {
                self.i += 1;
                Tok::Open(b)
            }
            b'}' | b']' => {
                self.i += 1;
                Tok::Close(b)
            }
            b',' => {
                self.i += 1;
                Tok::Comma
            }
            b'=' if self.peek(1) == Some(b'>') => {
                self.i += 2;
                Tok::Arrow
            }
            b'"' => {
                let s = self.string()?;
                if self.key_colon() {
                    Tok::Key(s)
                } else {
                    Tok::Str(s)
                }
            }
            b':' if self.peek(1) == Some(b'"') => {
                self.i += 1;
                Tok::Atom(self.string()?)
            }
            b':' => {
                self.i += 1;
                if self.peek(0).is_none_or(is_delimiter) {
                    return Err(format!("stray ':' at byte {}", self.i));
                }
                Tok::Atom(String::from_utf8_lossy(self.word()).into_owned())
            }
            _ => {
                let w = String::from_utf8_lossy(self.word()).into_owned();
                if self.key_colon() {
                    Tok::Key(w)
                } else {
                    Tok::Other
                }
            }
        };
        Ok(Some(tok))
    }
}

/// The first elements of an entry's tuple.
#[derive(Debug)]
enum Elem {
    Atom(String),
    Str(String),
    Other,
}

fn entry(key: Option<&str>, elems: &[Elem], cataloger: &str) -> Option<Package> {
    let [Elem::Atom(scm), second, Elem::Str(version), ..] = elems else {
        return None;
    };
    if scm != "hex" {
        return None;
    }
    let name = match second {
        Elem::Atom(n) => n.as_str(),
        _ => key?,
    };
    package(Ecosystem::Hex, name, version, cataloger)
}

/// Records an element of the entry's tuple being read (only the first three
/// matter).
fn push(tuple: &mut Option<Vec<Elem>>, e: Elem) {
    if let Some(t) = tuple
        && t.len() < 3
    {
        t.push(e);
    }
}

fn parse_lock(data: &[u8], cataloger: &str) -> Result<Vec<Package>, String> {
    let mut lx = Lexer { s: data, i: 0 };
    match lx.next()? {
        None => return Ok(Vec::new()),
        Some(Tok::Open(b'%')) => {}
        Some(_) => return Err("not an Elixir map".to_string()),
    }
    let mut stack: Vec<u8> = vec![b'%'];
    let mut out = Vec::new();
    let mut key: Option<String> = None;
    let mut tuple: Option<Vec<Elem>> = None;
    while !stack.is_empty() {
        let tok = lx.next()?.ok_or("truncated: the map is not closed")?;
        let depth = stack.len();
        match tok {
            Tok::Open(c) => {
                if depth >= MAX_DEPTH {
                    return Err(format!("nested deeper than {MAX_DEPTH}"));
                }
                if depth == 1 && c == b'{' {
                    tuple = Some(Vec::new());
                } else if depth == 2 {
                    push(&mut tuple, Elem::Other);
                }
                stack.push(c);
            }
            Tok::Close(c) => {
                let open = stack.pop().unwrap_or_default();
                let matching = if c == b']' {
                    open == b'['
                } else {
                    open != b'['
                };
                if !matching {
                    return Err(format!("mismatched '{}' at byte {}", char::from(c), lx.i));
                }
                if depth == 2
                    && let Some(elems) = tuple.take()
                {
                    out.extend(entry(key.take().as_deref(), &elems, cataloger));
                }
            }
            Tok::Key(k) if depth == 1 => key = Some(k),
            Tok::Str(k) if depth == 1 => key = Some(k),
            Tok::Atom(a) if depth == 2 => push(&mut tuple, Elem::Atom(a)),
            Tok::Str(s) if depth == 2 => push(&mut tuple, Elem::Str(s)),
            Tok::Other | Tok::Key(_) if depth == 2 => push(&mut tuple, Elem::Other),
            _ => {}
        }
    }
    Ok(out)
}

impl Cataloger for MixLock {
    fn name(&self) -> &'static str {
        "mix-lock"
    }

    /// Not the lock files of fetched dependencies (`deps/plug/mix.lock`):
    /// they pin that dependency's own development set.
    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "mix.lock") && !ancestor_is(path, 2, "deps")
    }

    fn max_size(&self) -> u64 {
        8 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        found(parse_lock(data, self.name())?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"%{
  "cowboy": {:hex, :cowboy, "2.10.0", "31ab5afd5552440783814e512a5983cb3562e2dce08b78a7c74b4f4e92f1c776", [:make, :rebar3], [{:cowlib, "2.12.1", [hex: :cowlib, repo: "hexpm", optional: false]}, {:ranch, "1.8.0", [hex: :ranch, repo: "hexpm", optional: false]}], "hexpm", "44a76fb46981e256ba5bcdcec6cda306c70f2cd420f8c1de7a45f5c38c03b809"},
  "cowlib": {:hex, :cowlib, "2.12.1", "fcc1afed12a8f57f350c389226555b9abb33f1565217c4058e0ce160185b2c89", [:make, :rebar3], [], "hexpm", "f246f32c16c60d47593e57fbc55ef060f547be5c9fdacc2d6b2f5c14a71eb6ac"},
  "my_fork": {:git, "https://example.invalid/my_fork.git", "f85fedca183bfcd146f3ffac4f5542fa4b1d4115", [branch: "main"]},
  "renamed_app": {:hex, :real_name, "0.4.0", "00", [:mix], [], "hexpm:acme", "00"},
  "plug": {:hex, :plug, "1.15.2", "bce5e34d01874e6c86f57371fe98f2dfb3cc0c3e75e177741406eec858ca8f9d", [:mix], [{:mime, "~> 1.0 or ~> 2.0", [hex: :mime, repo: "hexpm", optional: false]}], "hexpm", "52e55299dd95c153ee075e71087f749d592a45737d58e7b91e3cb0f1240440e0"},
}
"#;

    fn got(text: &str) -> Result<Vec<String>, String> {
        parse_lock(text.as_bytes(), "t").map(|ps| {
            ps.into_iter()
                .map(|p| format!("{}@{}", p.name, p.version))
                .collect()
        })
    }

    #[test]
    fn reads_hex_entries_and_skips_git() {
        assert_eq!(
            got(LOCK),
            Ok(vec![
                "cowboy@2.10.0".to_string(),
                "cowlib@2.12.1".to_string(),
                "real_name@0.4.0".to_string(),
                "plug@1.15.2".to_string(),
            ])
        );
    }

    #[test]
    fn wants_the_project_lock_not_those_of_dependencies() {
        let v = |p: &str| VPath::from_relative(p.as_bytes(), 200, 20).unwrap_or_default();
        assert!(MixLock.wants(&v("app/mix.lock"), 1));
        assert!(MixLock.wants(&v("mix.lock"), 1));
        assert!(!MixLock.wants(&v("app/deps/plug/mix.lock"), 1));
    }

    #[test]
    fn older_arrow_syntax_and_comments() {
        let text =
            "# a comment\n%{\"jason\" => {:hex, :jason, \"1.4.1\", \"00\", [:mix], [], \"hexpm\"}}";
        assert_eq!(got(text), Ok(vec!["jason@1.4.1".to_string()]));
        assert_eq!(got(""), Ok(vec![]));
    }

    #[test]
    fn hostile_input_fails_cleanly() {
        assert!(got("%{\"a\": {:hex, :a, \"1\"").is_err());
        assert!(got("%{\"a\": {:hex, :a, \"1\"]}").is_err());
        assert!(got("[1]").is_err());
        assert!(got("%{\"a\": {:hex, :a, \"#{x}\"}}").is_err());
        assert!(got("%{\"a\": {:hex, : , \"1\"}}").is_err());
        assert!(got(&format!("%{{\"a\": {}", "[".repeat(100_000))).is_err());
        assert!(got(&format!("%{{\"a\": \"{}", "x".repeat(100_000))).is_err());
        assert_eq!(
            got("%{\"a\": {:hex, [1], \"1\"}}"),
            Ok(vec!["a@1".to_string()])
        );
    }
}
