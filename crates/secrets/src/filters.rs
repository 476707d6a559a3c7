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
    if s.contains('(') || s.contains(')') || s.contains("::") || s.contains("->") {
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
    // Identifiers and dotted names: letters, `_`, `.`, `-` and no digit,
    // with few case changes (camelCase, snake_case), unlike random letters.
    if v.iter()
        .all(|b| b.is_ascii_alphabetic() || matches!(b, b'_' | b'.' | b'-' | b'[' | b']'))
    {
        let letters: Vec<bool> = v
            .iter()
            .filter(|b| b.is_ascii_alphabetic())
            .map(u8::is_ascii_uppercase)
            .collect();
        let switches = letters.windows(2).filter(|w| w[0] != w[1]).count();
        if switches * 4 <= letters.len() || v.iter().any(|b| matches!(b, b'_' | b'.')) {
            return true;
        }
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
        ] {
            assert!(generic_reject(g.as_bytes()), "{g}");
        }
        assert!(!generic_reject(b"Tr0ub4dor&3xyz"));
        assert!(generic_reject(b"tokenizerVocabularyName"));
        assert!(!generic_reject(b"WNDFGPjmVEpyVqEG"));
    }
}
