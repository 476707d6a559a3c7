//! The installed gem specifications RubyGems writes (`Gem::Specification#to_ruby`):
//! Ruby source, read here without evaluating anything. Only the assignments
//! RubyGems generates are understood: `s.name = "x".freeze`, `s.version =
//! "1.0".freeze`, `s.licenses = ["MIT".freeze]` (and `s.license = "MIT"`),
//! with the `# stub: name version platform paths` comment as a fallback.

use crate::catalog::lockutil::MAX_FIELD;

/// Most licenses kept from one specification.
const MAX_LICENSES: usize = 32;

/// What a specification declares.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Spec {
    pub name: String,
    pub version: String,
    pub licenses: Vec<String>,
}

/// A Ruby string literal at the start of `s`: `"..."` (without
/// interpolation), `'...'`, or `%q`/`%Q`/`%` with any delimiter; an
/// optional `.freeze` after it. Returns the value and the bytes consumed.
fn literal(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    let (_, first) = chars.next()?;
    let (open, close, double) = match first {
        '"' => ('"', '"', true),
        '\'' => ('\'', '\'', false),
        '%' => {
            let (_, mut c) = chars.next()?;
            let double = c != 'q';
            if c == 'q' || c == 'Q' {
                c = chars.next()?.1;
            }
            let close = match c {
                '{' => '}',
                '(' => ')',
                '[' => ']',
                '<' => '>',
                c if c.is_ascii_punctuation() => c,
                _ => return None,
            };
            (c, close, double)
        }
        _ => return None,
    };
    let mut out = String::new();
    let mut nesting = 0_usize;
    let mut end = None;
    while let Some((i, c)) = chars.next() {
        if out.len() > MAX_FIELD {
            return None;
        }
        match c {
            '\\' => {
                let (_, next) = chars.next()?;
                if !double && next != close && next != '\\' {
                    out.push('\\');
                }
                out.push(next);
            }
            '#' if double && s.get(i + 1..).is_some_and(|r| r.starts_with('{')) => {
                return None; // interpolation: not a constant
            }
            c if c == close && nesting == 0 => {
                end = Some(i + c.len_utf8());
                break;
            }
            c if c == close => {
                nesting -= 1;
                out.push(c);
            }
            c if c == open && open != close => {
                nesting += 1;
                out.push(c);
            }
            c => out.push(c),
        }
    }
    let mut end = end?;
    if s.get(end..).is_some_and(|r| r.starts_with(".freeze")) {
        end += ".freeze".len();
    }
    Some((out, end))
}

/// A `[lit, lit, ...]` list (possibly over several lines), or a single
/// literal.
fn literal_list(s: &str) -> Option<Vec<String>> {
    let Some(mut rest) = s.strip_prefix('[') else {
        return literal(s).map(|(v, _)| vec![v]);
    };
    let mut out = Vec::new();
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        if rest.starts_with(']') {
            return Some(out);
        }
        let (v, used) = literal(rest)?;
        if out.len() < MAX_LICENSES {
            out.push(v);
        }
        rest = rest.get(used..)?;
    }
}

/// `ident.field =` at the start of a line (not `==` or `=~`): the field and
/// what follows the `=`.
fn assignment(line: &str) -> Option<(&str, &str)> {
    let (receiver, rest) = line.split_once('.')?;
    if receiver.is_empty()
        || !receiver
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return None;
    }
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    let (field, rest) = rest.split_at(end);
    let rest = rest.trim_start().strip_prefix('=')?;
    if rest.starts_with(['=', '~', '>']) {
        return None;
    }
    Some((field, rest.trim_start()))
}

/// Reads a specification.
///
/// # Errors
/// No name and version could be found.
pub(super) fn parse(text: &str) -> Result<Spec, String> {
    let mut spec = Spec::default();
    let mut stub: Option<(String, String)> = None;
    // Only the first assignment of each field is read: a value is parsed
    // from the rest of the text, so rereading would cost quadratic time.
    let (mut name_seen, mut version_seen, mut licenses_seen) = (false, false, false);
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_start();
        let indent = raw.len() - line.len();
        if let Some(rest) = line.strip_prefix("# stub: ") {
            let mut words = rest.split_whitespace();
            if let (Some(n), Some(v)) = (words.next(), words.next()) {
                stub.get_or_insert((n.to_string(), v.to_string()));
            }
            continue;
        }
        let Some((field, _)) = assignment(line) else {
            continue;
        };
        // The value is read from the whole text: a list may span lines.
        let value_at = text
            .get(start + indent..)
            .and_then(|l| l.find('=').map(|eq| start + indent + eq + 1))
            .and_then(|at| text.get(at..))
            .map(str::trim_start)
            .unwrap_or_default();
        match field {
            "name" if !name_seen => {
                name_seen = true;
                spec.name = literal(value_at).map(|(v, _)| v).unwrap_or_default();
            }
            "version" if !version_seen => {
                version_seen = true;
                spec.version = literal(value_at).map(|(v, _)| v).unwrap_or_default();
            }
            "license" | "licenses" if !licenses_seen => {
                licenses_seen = true;
                spec.licenses = literal_list(value_at)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|l| l.trim().to_string())
                    .filter(|l| !l.is_empty())
                    .collect();
            }
            _ => {}
        }
    }
    if let Some((n, v)) = stub {
        if spec.name.is_empty() {
            spec.name = n;
        }
        if spec.version.is_empty() {
            spec.version = v;
        }
    }
    if spec.name.is_empty() || spec.version.is_empty() {
        return Err("no constant gem name and version in the specification".to_string());
    }
    Ok(spec)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAKE: &str = r#"# -*- encoding: utf-8 -*-
# stub: rake 13.0.6 ruby lib

Gem::Specification.new do |s|
  s.name = "rake".freeze
  s.version = "13.0.6"

  s.required_rubygems_version = Gem::Requirement.new(">= 1.3.2".freeze) if s.respond_to? :required_rubygems_version=
  s.metadata = { "bug_tracker_uri" => "https://example.invalid/issues" } if s.respond_to? :metadata=
  s.require_paths = ["lib".freeze]
  s.authors = ["Hiroshi SHIBATA".freeze, "Eric Hodel".freeze]
  s.licenses = ["MIT".freeze,
    'Ruby'.freeze]
  s.summary = "Rake is a Make-like program implemented in Ruby".freeze
  s.installed_by_version = "3.4.10".freeze if s.respond_to? :installed_by_version
end
"#;

    #[test]
    fn reads_a_generated_specification() {
        let spec = parse(RAKE);
        assert_eq!(
            spec,
            Ok(Spec {
                name: "rake".into(),
                version: "13.0.6".into(),
                licenses: vec!["MIT".into(), "Ruby".into()],
            })
        );
    }

    #[test]
    fn reads_old_style_literals() {
        let text = "Gem::Specification.new do |spec|\n  spec.name = %q{json}\n  \
                    spec.version = %q<2.6.1>\n  spec.license = 'Ruby'\nend\n";
        let spec = parse(text).unwrap_or_default();
        assert_eq!(spec.name, "json");
        assert_eq!(spec.version, "2.6.1");
        assert_eq!(spec.licenses, ["Ruby"]);
    }

    #[test]
    fn falls_back_to_the_stub_comment_and_never_evaluates() {
        let text = "# stub: thing 1.2.3 ruby lib\nGem::Specification.new do |s|\n  \
                    s.name = \"#{prefix}thing\"\n  s.version = Thing::VERSION\nend\n";
        let spec = parse(text).unwrap_or_default();
        assert_eq!(
            (spec.name.as_str(), spec.version.as_str()),
            ("thing", "1.2.3")
        );
        assert!(parse("s.version = Thing::VERSION\n").is_err());
        assert!(parse("").is_err());
    }

    #[test]
    fn hostile_literals_end_cleanly() {
        assert_eq!(literal("\"unterminated"), None);
        assert_eq!(literal("\"a\\\"b\".freeze x"), Some(("a\"b".into(), 13)));
        assert_eq!(literal("'it\\'s' "), Some(("it's".into(), 7)));
        assert_eq!(literal("%q{a{b}c}"), Some(("a{b}c".into(), 9)));
        assert_eq!(literal("%"), None);
        assert_eq!(literal(&format!("\"{}\"", "x".repeat(10_000))), None);
        assert_eq!(literal_list("[\"a\", b]"), None);
        assert_eq!(literal_list("[\"a\""), None);
        let many = format!("[{}]", vec!["\"MIT\""; 1000].join(","));
        assert_eq!(literal_list(&many).map(|l| l.len()), Some(MAX_LICENSES));
        assert_eq!(assignment("s.name == \"x\""), None);
        assert_eq!(assignment("if x"), None);
        assert_eq!(assignment("s.version=\"1\""), Some(("version", "\"1\"")));
    }
}
