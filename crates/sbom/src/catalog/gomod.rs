//! Go modules: the requirements of a `go.mod` (single lines and blocks,
//! `// indirect` ones too), with `replace` directives applied when they
//! name a module version. The main module itself has no version and is not
//! reported; `go.sum` is not read (it lists every module consulted, not
//! only the ones built in).

use std::collections::HashMap;

use rampart_source::VPath;

use super::{Cataloger, Evidence, Found, file_name_is};
use crate::package::{Ecosystem, Package};

/// The `go.mod` cataloger.
#[derive(Debug)]
pub struct GoMod;

/// Splits a line into tokens: quoted (`"..."`, `` `...` ``) or bare
/// strings, `(`, `)` and `=>`; `//` starts a comment.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        match c {
            c if c.is_whitespace() => {
                chars.next();
            }
            '(' | ')' => {
                out.push(c.to_string());
                chars.next();
            }
            '"' | '`' => {
                chars.next();
                let mut s = String::new();
                while let Some(d) = chars.next() {
                    match d {
                        '\\' if c == '"' => s.extend(chars.next()),
                        d if d == c => break,
                        d => s.push(d),
                    }
                }
                out.push(s);
            }
            _ => {
                let mut s = String::new();
                while let Some(&d) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '"' | '`') {
                        break;
                    }
                    s.push(d);
                    chars.next();
                    if s.ends_with("//") {
                        s.truncate(s.len() - 2);
                        if !s.is_empty() {
                            out.push(s);
                        }
                        return out;
                    }
                }
                out.push(s);
            }
        }
    }
    out
}

#[derive(Debug)]
struct Replace {
    old: String,
    old_version: Option<String>,
    new: String,
    new_version: Option<String>,
}

fn is_version(v: &str) -> bool {
    v.starts_with('v') && v.len() > 1 && !v.contains(char::is_whitespace)
}

/// The modules a `go.mod` requires, replacements applied: `(path, version)`.
fn requirements(text: &str) -> Vec<(String, String)> {
    let mut requires: Vec<(String, String)> = Vec::new();
    let mut replaces: Vec<Replace> = Vec::new();
    let mut block: Option<String> = None;
    for line in text.lines() {
        let toks = tokens(line);
        let Some(first) = toks.first() else {
            continue;
        };
        let (verb, args) = match &block {
            Some(_) if first == ")" => {
                block = None;
                continue;
            }
            Some(verb) => (verb.clone(), toks.as_slice()),
            None => {
                if toks.get(1).is_some_and(|t| t == "(") {
                    block = Some(first.clone());
                    continue;
                }
                (first.clone(), toks.get(1..).unwrap_or_default())
            }
        };
        match (verb.as_str(), args) {
            ("require", [path, version, ..]) if is_version(version) => {
                requires.push((path.clone(), version.clone()));
            }
            ("replace", _) => {
                let Some(arrow) = args.iter().position(|t| t == "=>") else {
                    continue;
                };
                let (left, right) = (
                    args.get(..arrow).unwrap_or_default(),
                    args.get(arrow + 1..).unwrap_or_default(),
                );
                if let (Some(old), Some(new)) = (left.first(), right.first()) {
                    replaces.push(Replace {
                        old: old.clone(),
                        old_version: left.get(1).cloned(),
                        new: new.clone(),
                        new_version: right.get(1).cloned().filter(|v| is_version(v)),
                    });
                }
            }
            _ => {}
        }
    }
    let mut by_path: HashMap<&str, Vec<&Replace>> = HashMap::new();
    for r in &replaces {
        by_path.entry(r.old.as_str()).or_default().push(r);
    }
    requires
        .into_iter()
        .map(|(path, version)| {
            // A replacement of this exact version wins over one of all versions.
            let rep = by_path
                .get(path.as_str())
                .into_iter()
                .flatten()
                .filter(|r| r.old_version.as_ref().is_none_or(|v| *v == version))
                .max_by_key(|r| r.old_version.is_some());
            match rep {
                Some(Replace {
                    new,
                    new_version: Some(v),
                    ..
                }) => (new.clone(), v.clone()),
                _ => (path, version),
            }
        })
        .collect()
}

/// True inside a module cache (`$GOPATH/pkg/mod`), whose `go.mod` files
/// belong to downloaded sources, not to anything built here.
fn in_module_cache(p: &[u8]) -> bool {
    p.starts_with(b"pkg/mod/") || memchr::memmem::find(p, b"/pkg/mod/").is_some()
}

impl Cataloger for GoMod {
    fn name(&self) -> &'static str {
        "go-mod"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "go.mod") && !in_module_cache(path.as_bytes())
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
        Ok(requirements(text)
            .into_iter()
            .map(|(path, version)| {
                Found::Package(Box::new(Package::new(
                    Ecosystem::Golang,
                    path,
                    version,
                    self.name(),
                )))
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = r#"module example.com/app // the app

go 1.21
toolchain go1.21.5

require golang.org/x/text v0.14.0
require (
	github.com/sirupsen/logrus v1.9.3
	golang.org/x/sys v0.15.0 // indirect
	"github.com/quoted/mod" v1.0.0
	github.com/replaced/all v1.0.0
	github.com/replaced/local v1.2.0
	github.com/pinned/one v0.1.0
)

exclude github.com/bad/mod v0.0.1

replace github.com/replaced/all => github.com/fork/all v1.0.1
replace (
	github.com/replaced/local => ../local
	github.com/pinned/one v0.1.0 => github.com/pinned/one v0.1.1
	github.com/pinned/one => github.com/pinned/other v9.9.9
)
retract [v1.0.0, v1.0.1]
"#;

    #[test]
    fn reads_requirements_with_replacements() {
        assert_eq!(
            requirements(GO_MOD),
            [
                ("golang.org/x/text", "v0.14.0"),
                ("github.com/sirupsen/logrus", "v1.9.3"),
                ("golang.org/x/sys", "v0.15.0"),
                ("github.com/quoted/mod", "v1.0.0"),
                ("github.com/fork/all", "v1.0.1"),
                ("github.com/replaced/local", "v1.2.0"),
                ("github.com/pinned/one", "v0.1.1"),
            ]
            .map(|(a, b)| (a.to_string(), b.to_string()))
        );
    }

    #[test]
    fn tokenizes_comments_and_quotes() {
        assert_eq!(tokens("a//b"), ["a"]);
        assert_eq!(tokens("require(x v1)"), ["require", "(", "x", "v1", ")"]);
        assert_eq!(tokens(r#""a\"b" `c d` // e"#), ["a\"b", "c d"]);
        assert_eq!(tokens("\"unterminated"), ["unterminated"]);
        assert!(requirements("require (\nbroken\n").is_empty());
    }

    #[test]
    fn skips_module_caches() {
        let cached =
            VPath::from_relative(b"root/go/pkg/mod/github.com/x/y@v1.0.0/go.mod", 4096, 64)
                .unwrap_or_default();
        assert!(!GoMod.wants(&cached, 10));
        let own = VPath::from_relative(b"src/app/go.mod", 4096, 64).unwrap_or_default();
        assert!(GoMod.wants(&own, 10));
    }
}
