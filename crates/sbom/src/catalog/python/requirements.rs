//! pip requirements files: `requirements*.txt`, `*requirements.txt` and
//! `requirements/*.txt`. Only exact pins (`name==version`, `name===version`)
//! name a package version; ranges, options (`-r`, `-e`, `--hash`...),
//! URLs, paths and direct references (`name @ url`) are skipped.

use rampart_source::VPath;

use super::super::pyjs_common::{nth_from_end, strip_bom};
use super::super::{Cataloger, Evidence, Found};
use super::{package, valid_name, valid_version};

/// The requirements-file cataloger.
#[derive(Debug)]
pub struct PythonRequirements;

/// Longest logical line considered (continuations joined).
const MAX_LINE: usize = 64 << 10;

/// A pinned requirement: `(name, version)`.
fn parse_line(line: &str) -> Option<(&str, &str)> {
    // Comments: `#` at the start or after whitespace (a URL fragment
    // such as `#egg=` is not one, but URLs are skipped anyway).
    let line = match line.char_indices().find(|&(i, c)| {
        c == '#' && (i == 0 || line.get(..i).is_some_and(|s| s.ends_with([' ', '\t'])))
    }) {
        Some((i, _)) => line.get(..i).unwrap_or_default(),
        None => line,
    };
    // Environment markers, then per-requirement options (` --hash=...`).
    let line = line.split(';').next().unwrap_or_default();
    let line = match line
        .as_bytes()
        .windows(2)
        .position(|w| matches!(w, [b' ' | b'\t', b'-']))
    {
        Some(i) => line.get(..i).unwrap_or_default(),
        None => line,
    };
    let line = line.trim();
    if line.is_empty()
        || line.starts_with(['-', '.', '/'])
        || line.contains("://")
        || line.contains('@')
        || line.contains('$')
    {
        return None;
    }
    let name_end = line
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        .unwrap_or(line.len());
    let (name, mut rest) = line.split_at(name_end);
    if !valid_name(name) {
        return None;
    }
    rest = rest.trim_start();
    if let Some(extras) = rest.strip_prefix('[') {
        rest = extras.split_once(']')?.1.trim_start();
    }
    let version = rest
        .strip_prefix("===")
        .or_else(|| rest.strip_prefix("=="))?
        .trim();
    valid_version(version).then_some((name, version))
}

/// Every pinned requirement of a requirements file, backslash
/// continuations joined.
fn parse(text: &str) -> Vec<(String, String)> {
    let pin = |logical: &str| parse_line(logical).map(|(n, v)| (n.to_string(), v.to_string()));
    let mut out = Vec::new();
    let mut logical = String::new();
    for raw in text.lines() {
        if let Some(head) = raw.strip_suffix('\\') {
            if logical.len() + head.len() <= MAX_LINE {
                logical.push_str(head);
                logical.push(' ');
            }
            continue;
        }
        if logical.len() + raw.len() <= MAX_LINE {
            logical.push_str(raw);
        }
        out.extend(pin(&logical));
        logical.clear();
    }
    out.extend(pin(&logical));
    out
}

impl Cataloger for PythonRequirements {
    fn name(&self) -> &'static str {
        "python-requirements"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        let f = path.file_name();
        f.ends_with(b".txt")
            && (f.starts_with(b"requirements")
                || f.ends_with(b"requirements.txt")
                || nth_from_end(path.as_bytes(), 1) == b"requirements")
    }

    fn max_size(&self) -> u64 {
        8 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = String::from_utf8_lossy(strip_bom(data));
        Ok(parse(&text)
            .into_iter()
            .map(|(n, v)| Found::Package(Box::new(package(&n, &v, self.name()))))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_exact_pins() {
        let cases = [
            ("requests==2.31.0", Some(("requests", "2.31.0"))),
            (
                "Django == 4.2.1 ; python_version >= '3.8'",
                Some(("Django", "4.2.1")),
            ),
            ("uvicorn[standard]==0.23.2", Some(("uvicorn", "0.23.2"))),
            ("a===1.0-legacy", Some(("a", "1.0-legacy"))),
            ("b==1.0 --hash=sha256:abc", Some(("b", "1.0"))),
            ("c==2.0 # pinned for reasons", Some(("c", "2.0"))),
            ("d>=1.0", None),
            ("e==1.*", None),
            ("f==1.0,<2", None),
            ("f", None),
            ("-r base.txt", None),
            ("--index-url https://example.invalid/simple", None),
            ("-e git+https://example.invalid/x.git#egg=x", None),
            ("g @ https://example.invalid/g-1.0.whl", None),
            ("./local/pkg", None),
            ("https://example.invalid/h-1.0.tar.gz", None),
            ("# just a comment", None),
            ("i==${VERSION}", None),
            ("", None),
        ];
        for (line, want) in cases {
            assert_eq!(parse_line(line), want, "{line}");
        }
    }

    #[test]
    fn continuations_are_joined() {
        let text = "# header\nflask==2.3.2 \\\n    --hash=sha256:aaa \\\n    --hash=sha256:bbb\n\
                    numpy==1.26.0\\\n\nrange>=1\n";
        let got = parse(text);
        let got: Vec<(&str, &str)> = got.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        assert_eq!(got, [("flask", "2.3.2"), ("numpy", "1.26.0")]);
    }

    #[test]
    fn wanted_names() {
        let want = |s: &str| {
            PythonRequirements.wants(
                &VPath::from_relative(s.as_bytes(), 4096, 64).unwrap_or_default(),
                1,
            )
        };
        assert!(want("app/requirements.txt"));
        assert!(want("app/requirements-dev.txt"));
        assert!(want("app/dev-requirements.txt"));
        assert!(want("app/requirements/base.txt"));
        assert!(!want("app/notes.txt"));
        assert!(!want("app/requirements.in"));
    }
}
