//! Python package versions (PEP 440, as normalised by `packaging`).
//!
//! `[v][N!]N(.N)*[{a|b|rc}N][.postN][.devN][+local]`, case-insensitive,
//! with the spellings PEP 440 normalises: `alpha`, `beta`, `c`, `pre`,
//! `preview` for the pre-release letters; `-`, `_` or `.` (or nothing) as
//! separators; `rev` and `r` for `post`, and `1.0-1` for `1.0.post1`; a
//! missing pre, post or dev number is 0; surrounding whitespace is ignored.
//!
//! Order: epoch, then the release with trailing zeros ignored
//! (`1.0 == 1.0.0`), then `X.devN < XaN < XbN < XrcN < X < X.postN`, where
//! a dev release sorts before the release it is attached to
//! (`1.0a1.dev1 < 1.0a1`, `1.0.post1.dev1 < 1.0.post1`), then the local
//! label: none sorts first, segments compare one by one with numbers
//! numerically and above strings, strings lexically, and a shorter label
//! that is a prefix of the other first.

use super::num::{Num, span};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PreKind {
    Alpha,
    Beta,
    Rc,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum PreKey {
    /// A dev release of the final version (`1.0.dev1`): before every pre-release.
    DevOnly,
    Pre(PreKind, Num),
    Final,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum DevKey {
    Dev(Num),
    NotDev,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum LocalSegment {
    Text(String),
    Number(Num),
}

/// A parsed, normalised PEP 440 version; its `Ord` is PEP 440's order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    epoch: Num,
    /// Trailing zeros removed.
    release: Vec<Num>,
    pre: PreKey,
    post: Option<Num>,
    dev: DevKey,
    local: Option<Vec<LocalSegment>>,
}

struct Cursor<'a> {
    s: &'a str,
    i: usize,
}

impl Cursor<'_> {
    fn rest(&self) -> &[u8] {
        &self.s.as_bytes()[self.i..]
    }

    fn eat(&mut self, word: &str) -> bool {
        if self.rest().starts_with(word.as_bytes()) {
            self.i += word.len();
            true
        } else {
            false
        }
    }

    fn eat_sep(&mut self) -> bool {
        matches!(self.rest().first(), Some(b'-' | b'_' | b'.')) && {
            self.i += 1;
            true
        }
    }

    fn digits(&mut self) -> Option<Num> {
        let n = span(self.rest(), |c| c.is_ascii_digit());
        (n > 0).then(|| {
            let d = Num::new(&self.s[self.i..self.i + n]);
            self.i += n;
            d
        })
    }

    /// `[sep] word [sep] [digits]` for the first of `words` that matches;
    /// leaves the cursor untouched when none does.
    fn labelled(&mut self, words: &[&str]) -> Option<(usize, Num)> {
        let start = self.i;
        self.eat_sep();
        if let Some(k) = words.iter().position(|w| self.eat(w)) {
            // The separator after the label may stand alone (`1.0a-` is `1.0a0`).
            self.eat_sep();
            return Some((k, self.digits().unwrap_or_else(Num::zero)));
        }
        self.i = start;
        None
    }
}

/// Parses and normalises a PEP 440 version.
///
/// # Errors
/// A reason when `s` is not a valid PEP 440 version.
pub fn parse(s: &str) -> Result<Version, String> {
    if !s.is_ascii() {
        return Err("non-ASCII characters".into());
    }
    let lower = s.trim().to_ascii_lowercase();
    let mut c = Cursor { s: &lower, i: 0 };
    c.eat("v");
    let start = c.i;
    let mut epoch = Num::zero();
    if let Some(e) = c.digits() {
        if c.eat("!") {
            epoch = e;
        } else {
            c.i = start;
        }
    }
    let mut release = vec![c.digits().ok_or("release does not start with a number")?];
    loop {
        let here = c.i;
        if c.eat(".")
            && let Some(n) = c.digits()
        {
            release.push(n);
            continue;
        }
        c.i = here;
        break;
    }
    while release.last().is_some_and(Num::is_zero) {
        release.pop();
    }
    // Longer spellings first, so that `alpha` is not read as `a` + `lpha`.
    let pre_words = ["alpha", "a", "beta", "b", "preview", "pre", "rc", "c"];
    let pre = c.labelled(&pre_words).map(|(k, n)| {
        let kind = match pre_words[k] {
            "alpha" | "a" => PreKind::Alpha,
            "beta" | "b" => PreKind::Beta,
            _ => PreKind::Rc,
        };
        (kind, n)
    });
    let mut post = None;
    let here = c.i;
    if c.eat("-")
        && let Some(n) = c.digits()
    {
        post = Some(n);
    } else {
        c.i = here;
        post = c.labelled(&["post", "rev", "r"]).map(|(_, n)| n).or(post);
    }
    let dev = c.labelled(&["dev"]).map(|(_, n)| n);
    let local = if c.eat("+") {
        let text = &lower[c.i..];
        let segments: Vec<&str> = text.split(['-', '_', '.']).collect();
        if segments
            .iter()
            .any(|seg| seg.is_empty() || !seg.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err("invalid local version label".into());
        }
        c.i = lower.len();
        Some(
            segments
                .into_iter()
                .map(|seg| {
                    if seg.bytes().all(|b| b.is_ascii_digit()) {
                        LocalSegment::Number(Num::new(seg))
                    } else {
                        LocalSegment::Text(seg.to_string())
                    }
                })
                .collect(),
        )
    } else {
        None
    };
    if c.i != lower.len() {
        return Err(format!("unexpected text {:?}", &lower[c.i..]));
    }
    let pre = match (pre, &post, &dev) {
        (Some((kind, n)), _, _) => PreKey::Pre(kind, n),
        (None, None, Some(_)) => PreKey::DevOnly,
        (None, _, _) => PreKey::Final,
    };
    Ok(Version {
        epoch,
        release,
        pre,
        post,
        dev: dev.map_or(DevKey::NotDev, DevKey::Dev),
        local,
    })
}

impl Version {
    /// Whether this is a pre-release or dev release (PEP 440's `is_prerelease`).
    #[must_use]
    pub fn is_prerelease(&self) -> bool {
        matches!(self.pre, PreKey::Pre(..) | PreKey::DevOnly) || matches!(self.dev, DevKey::Dev(_))
    }
}
