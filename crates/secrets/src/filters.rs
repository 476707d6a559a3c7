//! Filters that tell real secrets from the text around code that merely
//! talks about them: entropy, placeholders, variable references.

/// Shannon entropy of `s` in bits per byte (0 for empty input).
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn shannon_entropy(s: &[u8]) -> f64 {
    if s.is_empty() {
        return 0.0;
    }
    let mut counts = [0u32; 256];
    for &b in s {
        counts[usize::from(b)] += 1;
    }
    let len = s.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / len;
            -p * p.log2()
        })
        .sum()
}

/// Words that mark documentation values, templates and placeholders.
const PLACEHOLDER_PARTS: &[&str] = &[
    "example",
    "sample",
    "placeholder",
    "changeme",
    "change_me",
    "change-me",
    "changeit",
    "your_",
    "your-",
    "yourkey",
    "yourtoken",
    "yoursecret",
    "_here",
    "-here",
    "redacted",
    "dummy",
    "replace",
    "insert",
    "xxxx",
    "****",
    "....",
    "<",
    ">",
    "${",
    "{{",
    "}}",
    "$(",
    "%(",
    "#{",
    "lorem",
    "foobar",
    "0000000000",
    "1234567890",
    "abcdefghij",
];

/// Whole values that are placeholders in generic assignments.
const WEAK_VALUES: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "pass",
    "admin",
    "root",
    "test",
    "guest",
    "null",
    "none",
    "nil",
    "true",
    "false",
    "undefined",
    "example",
    "default",
    "required",
    "optional",
    "string",
    "hidden",
    "empty",
    "unset",
    "disabled",
    "notset",
    "not-set",
    "n/a",
];

/// Whether `v` looks like a placeholder rather than a secret.
#[must_use]
pub fn is_placeholder(v: &[u8]) -> bool {
    let lower = String::from_utf8_lossy(v).to_ascii_lowercase();
    if PLACEHOLDER_PARTS.iter().any(|p| lower.contains(p)) {
        return true;
    }
    // Very low variety: "aaaaaaaa", "abababab".
    let mut seen = [false; 256];
    let mut distinct = 0;
    for &b in v {
        if !seen[usize::from(b)] {
            seen[usize::from(b)] = true;
            distinct += 1;
        }
    }
    v.len() >= 8 && distinct <= 3
}

/// Stricter checks for values of generic assignments (`password = ...`):
/// variable references, identifiers, paths, URLs and weak words are not
/// secrets.
#[must_use]
pub fn generic_reject(v: &[u8]) -> bool {
    let s = String::from_utf8_lossy(v);
    let lower = s.to_ascii_lowercase();
    let trimmed = lower.trim_matches(|c| c == '"' || c == '\'');
    if WEAK_VALUES.contains(&trimmed) || trimmed.contains("password") {
        return true;
    }
    let first = v.first().copied().unwrap_or(b' ');
    if matches!(first, b'$' | b'%' | b'@' | b'&' | b'*' | b'!' | b'#' | b'`') {
        return true;
    }
    // Code: calls, indexing and type annotations (`Optional[str]`), paths
    // in namespaces, and interpolation (`pre$VAR`, `x${Y}`).
    if s.contains(['(', ')', '[', ']', '\\']) || s.contains("::") || s.contains("->") {
        return true;
    }
    if v.ends_with(b";") || v.ends_with(b",") {
        return true;
    }
    if v.windows(2)
        .any(|w| w[0] == b'$' && (w[1].is_ascii_alphabetic() || matches!(w[1], b'_' | b'{' | b'(')))
    {
        return true;
    }
    if [
        "process.env",
        "os.environ",
        "getenv",
        "env.",
        "secrets.",
        "vars.",
        "var.",
    ]
    .iter()
    .any(|p| lower.contains(p))
    {
        return true;
    }
    if lower.starts_with("http://")
        || lower.starts_with("https://")
        || lower.starts_with('/')
        || lower.starts_with("./")
        || lower.starts_with("../")
        || lower.starts_with("~/")
    {
        return true;
    }
    const FILE_EXT: &[&str] = &[
        ".pem", ".key", ".json", ".yaml", ".yml", ".txt", ".crt", ".p12", ".pfx", ".env", ".conf",
        ".cfg", ".ini", ".toml", ".xml", ".py", ".js", ".ts", ".rb", ".go", ".rs", ".html", ".jks",
        ".asc", ".gpg",
    ];
    if FILE_EXT.iter().any(|e| lower.ends_with(e)) {
        return true;
    }
    if looks_like_identifier(v) {
        return true;
    }
    // kebab-case and snake_case names of resources: `app-db-credentials`.
    if v.iter().any(|b| matches!(b, b'-' | b'_'))
        && v.iter()
            .all(|b| b.is_ascii_lowercase() || matches!(b, b'-' | b'_'))
    {
        return true;
    }
    // Character classes: real secrets mix at least two of lower, upper,
    // digit, symbol.
    let classes = [
        v.iter().any(u8::is_ascii_lowercase),
        v.iter().any(u8::is_ascii_uppercase),
        v.iter().any(u8::is_ascii_digit),
        v.iter().any(|b| !b.is_ascii_alphanumeric()),
    ];
    classes.iter().filter(|&&c| c).count() < 2
}

/// Whether `v` reads as a name in code rather than a random value:
/// `self.password`, `RESUME_TOKEN_CHANGED`, `postBatchResumeToken`,
/// `ExclusiveStartTableName`, `constants_1.X`. Split at `_`, `.`, `$`, `-`
/// and case changes, every word of a name is lowercase, Capitalized or
/// UPPERCASE and at least three letters long (or a common short word), with
/// at most two numbers; random strings break into many odd fragments.
#[must_use]
pub fn looks_like_identifier(v: &[u8]) -> bool {
    if v.is_empty()
        || v[0].is_ascii_digit()
        || !v
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$' | b'-'))
    {
        return false;
    }
    let mut words: Vec<&[u8]> = Vec::new();
    let mut start = 0;
    let kind = |b: u8| {
        if b.is_ascii_digit() {
            0
        } else if b.is_ascii_uppercase() {
            1
        } else if b.is_ascii_lowercase() {
            2
        } else {
            3
        }
    };
    for i in 1..=v.len() {
        let cut = i == v.len() || {
            let (a, b) = (kind(v[i - 1]), kind(v[i]));
            a == 3
                || b == 3
                || (a == 2 && b == 1)
                || (a == 0) != (b == 0)
                // "HTTPServer": the last capital starts the next word.
                || (a == 1 && b == 1 && v.get(i + 1).is_some_and(u8::is_ascii_lowercase))
        };
        if cut {
            let w = &v[start..i];
            if !w.iter().all(|b| kind(*b) == 3) {
                words.push(w.strip_prefix(b"_").unwrap_or(w));
            }
            start = i;
        }
    }
    let words: Vec<&[u8]> = words
        .into_iter()
        .filter(|w| !w.is_empty() && kind(w[0]) != 3)
        .collect();
    const SHORT: &[&[u8]] = &[
        b"in", b"of", b"to", b"id", b"is", b"at", b"by", b"on", b"or", b"as", b"up", b"db", b"io",
        b"ui", b"ok", b"no", b"do", b"if", b"it", b"my", b"be", b"go", b"an", b"pk", b"ip", b"os",
        b"js",
    ];
    let word_ok = |w: &&[u8]| {
        let rest = &w[1..];
        let upper = w.iter().all(u8::is_ascii_uppercase);
        // Words have vowels; acronyms (HTTP, SQL, MQ) may not.
        let vowel = w.iter().any(|b| {
            matches!(
                b.to_ascii_lowercase(),
                b'a' | b'e' | b'i' | b'o' | b'u' | b'y'
            )
        });
        (w.len() >= 3 || SHORT.contains(&w.to_ascii_lowercase().as_slice()))
            && (rest.iter().all(u8::is_ascii_lowercase) || upper)
            && (vowel || (upper && w.len() <= 4))
    };
    let (numbers, letters): (Vec<&[u8]>, Vec<&[u8]>) =
        words.into_iter().partition(|w| w[0].is_ascii_digit());
    let odd = letters.iter().filter(|w| !word_ok(w)).count();
    // One odd word (an acronym such as `MQ`, a one-letter receiver such
    // as `e.`) is tolerated in a name of three words or more.
    !letters.is_empty() && numbers.len() <= 2 && (odd == 0 || (odd == 1 && letters.len() >= 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_known_strings() {
        assert!((shannon_entropy(b"aaaa") - 0.0).abs() < 1e-9);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"FAKEq8Xz3LmN0pR7sT2vW9yB4cD6eG1h") > 4.0);
    }

    #[test]
    fn placeholders_and_references_are_recognised() {
        for p in [
            "YOUR_API_KEY_HERE",
            "${TOKEN}",
            "{{ .Values.x }}",
            "xxxxxxxxxxxx",
            "<token>",
            "AKIAIOSFODNN7EXAMPLE",
            "aaaaaaaaaaaa",
        ] {
            assert!(is_placeholder(p.as_bytes()), "{p}");
        }
        assert!(!is_placeholder(b"FAKEq8Xz3LmN0pR7sT2vW9yB4cD6eG1h"));
        for g in [
            "self.password",
            "os.environ['X']",
            "$DB_PASSWORD",
            "password123",
            "/run/secrets/db",
            "secret_key_base",
            "get_token()",
            "credentials.json",
            "gmggqcbg-credentials",
            "Optional[HiddenText]",
            "geheim$parole",
        ] {
            assert!(generic_reject(g.as_bytes()), "{g}");
        }
        assert!(!generic_reject(b"Tr0ub4dor&3xyz"));
        assert!(generic_reject(b"tokenizerVocabularyName"));
        for id in [
            "ExclusiveStartTableName",
            "constants_1.RESUME_TOKEN_CHANGED",
            "postBatchResumeToken",
            "AzureTokenCacheEntry",
            "HTTPServerToken",
            "allowPositionInLeadingTrivia",
            "MQBrokerAccessCredentials",
            "e.Credentials.AccessKeyId",
            "NonEmptySensitiveString1600",
        ] {
            assert!(looks_like_identifier(id.as_bytes()), "{id}");
        }
        for random in [
            "WNDFGPjmVEpyVqEG",
            "FAKEikbDeYFEt0Nzfdo39Nd3",
            "Lear77hdgWZMLxc3",
            "cithWqnv5tAmxnOF",
            "FAKEq8Xz3LmN0pR7sT2vW9yB4cD6eG1h",
            "aB3dE5fG7hJ9kL2m",
        ] {
            assert!(!looks_like_identifier(random.as_bytes()), "{random}");
        }
        assert!(!generic_reject(b"WNDFGPjmVEpyVqEG"));
    }
}
