//! Command-line redaction: secret-looking values in a process's arguments
//! are replaced by [`REDACTED`] before they leave the host.
//!
//! Rules (documented in docs/sensor.md):
//! - `--NAME=VALUE` and `NAME=VALUE` (flags and environment-style
//!   assignments) when NAME names a secret (`password`, `passwd`, `pwd`,
//!   `secret`, `token`, `apikey`/`api-key`/`api_key`, `access-key`,
//!   `private-key`, `credential`, `auth`, `session`, `cookie`...);
//! - `--NAME VALUE`: the argument after such a flag;
//! - `-p VALUE` and `-pVALUE` (the MySQL/Postgres-client convention) unless
//!   the value looks like a port mapping (`8080`, `127.0.0.1:80:80/tcp`);
//! - URLs with a password (`scheme://user:PASSWORD@host`);
//! - `Bearer`/`Basic` credentials in header arguments;
//! - AWS access key ids (`AKIA...`, `ASIA...`) anywhere.

/// What replaces a secret.
pub const REDACTED: &str = "[REDACTED]";

const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api-key",
    "accesskey",
    "access-key",
    "privatekey",
    "private-key",
    "credential",
    "auth",
    "session",
    "cookie",
    "signature",
    "dsn",
];

/// Words that contain a secret word but are not secrets.
const NOT_SECRET: &[&str] = &[
    "author",
    "authority",
    "oauth-url",
    "auth-url",
    "token-file",
    "password-file",
    "secret-file",
    "passwd-file",
];

/// Whether a flag or variable name names a secret.
#[must_use]
pub fn is_secret_name(name: &str) -> bool {
    // Only names made of flag and variable characters; anything else (spaces,
    // URLs, the brackets of an earlier redaction) is not a name.
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
    {
        return false;
    }
    let n: String = name
        .trim_start_matches('-')
        .chars()
        .map(|c| {
            if c == '_' || c == '.' {
                '-'
            } else {
                c.to_ascii_lowercase()
            }
        })
        .collect();
    if n.is_empty() || n.len() > 64 {
        return false;
    }
    if NOT_SECRET.iter().any(|w| n.ends_with(w)) {
        return false;
    }
    n == "pass"
        || (n == "p" && name.starts_with('-') && name.len() == 2)
        || SECRET_WORDS.iter().any(|w| n.contains(w))
}

/// A value that reads as a port or port mapping (`8080`, `0.0.0.0:80:80/tcp`).
fn is_port_like(v: &str) -> bool {
    !v.is_empty()
        && v.bytes().any(|b| b.is_ascii_digit())
        && v.trim_end_matches("/tcp")
            .trim_end_matches("/udp")
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b':' || b == b'.' || b == b'-')
}

/// Redacts one command line.
#[must_use]
pub fn redact_cmdline(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut redact_next = Next::Keep;
    for arg in args {
        let pending = std::mem::replace(&mut redact_next, Next::Keep);
        let is_value = !arg.starts_with('-') || arg.len() == 1;
        if is_value
            && (pending == Next::Secret || pending == Next::SecretUnlessPort && !is_port_like(arg))
        {
            out.push(REDACTED.to_string());
            continue;
        }
        let (value, next) = redact_arg(arg);
        redact_next = next;
        out.push(value);
    }
    out
}

/// What the argument after this one is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Next {
    Keep,
    Secret,
    /// After `-p`: a secret unless it reads as a port.
    SecretUnlessPort,
}

/// Redacts one argument, and says what the next argument is.
fn redact_arg(arg: &str) -> (String, Next) {
    if arg == REDACTED {
        return (arg.to_string(), Next::Keep);
    }
    // `-pVALUE` / `-p VALUE`.
    if let Some(v) = arg.strip_prefix("-p")
        && !arg.starts_with("--")
    {
        if v.is_empty() {
            return (arg.to_string(), Next::SecretUnlessPort);
        }
        if !is_port_like(v) && !v.starts_with('=') && v != REDACTED {
            return (format!("-p{REDACTED}"), Next::Keep);
        }
    }
    if let Some((name, _)) = arg.split_once('=')
        && !name.contains("://")
        && !name.contains(' ')
        && is_secret_name(name)
    {
        return (format!("{name}={REDACTED}"), Next::Keep);
    }
    if arg.starts_with("--") && !arg.contains('=') && is_secret_name(arg) {
        return (arg.to_string(), Next::Secret);
    }
    let mut s = redact_url_passwords(arg);
    s = redact_auth_header(&s);
    s = redact_aws_key_ids(&s);
    (s, Next::Keep)
}

/// `scheme://user:password@host` -> `scheme://user:[REDACTED]@host`.
fn redact_url_passwords(s: &str) -> String {
    if !s.contains("://") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends at the first '/', '?', '#' or whitespace.
        let end = tail
            .find(|c: char| c == '/' || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(at) => {
                let userinfo = &authority[..at];
                match userinfo.split_once(':') {
                    Some((user, pw)) if !pw.is_empty() && pw != REDACTED => {
                        out.push_str(user);
                        out.push(':');
                        out.push_str(REDACTED);
                    }
                    _ => out.push_str(userinfo),
                }
                out.push_str(&authority[at..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// `Authorization: Bearer X`, `Bearer X`, `Basic X`: every occurrence of
/// every scheme (the credential runs to the next whitespace).
fn redact_auth_header(s: &str) -> String {
    let mut out = s.to_string();
    for scheme in ["Bearer ", "Basic ", "bearer ", "basic "] {
        let mut from = 0;
        while let Some(i) = out.get(from..).and_then(|rest| rest.find(scheme)) {
            let start = from + i + scheme.len();
            let end = out[start..]
                .find(char::is_whitespace)
                .map_or(out.len(), |e| start + e);
            if end > start && &out[start..end] != REDACTED {
                out.replace_range(start..end, REDACTED);
                from = start + REDACTED.len();
            } else {
                from = end.max(start);
            }
        }
    }
    out
}

/// AWS access key ids: `AKIA`/`ASIA` + 16 upper-case letters or digits, as
/// a whole word (a longer run of letters and digits is not a key id).
fn redact_aws_key_ids(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() < 20 {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i + 20 <= b.len() {
        let w = &b[i..i + 20];
        let prefix = &w[..4];
        if (prefix == b"AKIA" || prefix == b"ASIA")
            && w[4..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            && (i == 0 || !b[i - 1].is_ascii_alphanumeric())
            && b.get(i + 20).is_none_or(|c| !c.is_ascii_alphanumeric())
        {
            out.push_str(&s[copied..i]);
            out.push_str(REDACTED);
            i += 20;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(args: &[&str]) -> Vec<String> {
        redact_cmdline(&args.iter().map(|s| (*s).to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn flags_and_assignments() {
        assert_eq!(
            r(&["app", "--password=hunter22", "--db-token", "abc", "-v"]),
            [
                "app",
                "--password=[REDACTED]",
                "--db-token",
                "[REDACTED]",
                "-v"
            ]
        );
        assert_eq!(
            r(&[
                "env",
                "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI",
                "PATH=/bin",
                "token=xyz"
            ]),
            [
                "env",
                "AWS_SECRET_ACCESS_KEY=[REDACTED]",
                "PATH=/bin",
                "token=[REDACTED]"
            ]
        );
        assert_eq!(
            r(&["mysql", "-psecret", "-u", "root"]),
            ["mysql", "-p[REDACTED]", "-u", "root"]
        );
        assert_eq!(r(&["psql", "-p", "s3cr3t!"]), ["psql", "-p", "[REDACTED]"]);
        assert_eq!(
            r(&["ssh", "-p", "2222", "host"]),
            ["ssh", "-p", "2222", "host"]
        );
        assert_eq!(
            r(&["docker", "run", "-p", "127.0.0.1:80:80/tcp"]),
            ["docker", "run", "-p", "127.0.0.1:80:80/tcp"]
        );
        assert_eq!(
            r(&["git", "--author=me", "--token-file=/run/t"]),
            ["git", "--author=me", "--token-file=/run/t"]
        );
    }

    #[test]
    fn urls_headers_and_aws_keys() {
        assert_eq!(
            r(&[
                "psql",
                "postgres://app:pw@db:5432/x",
                "https://example.com/a"
            ]),
            [
                "psql",
                "postgres://app:[REDACTED]@db:5432/x",
                "https://example.com/a"
            ]
        );
        assert_eq!(
            r(&[
                "curl",
                "-H",
                "Authorization: Bearer eyJhbGc.x.y",
                "https://u@h/"
            ]),
            [
                "curl",
                "-H",
                "Authorization: Bearer [REDACTED]",
                "https://u@h/"
            ]
        );
        assert_eq!(
            r(&["aws", "--profile", "x", "key:AKIAIOSFODNN7EXAMPLE"]),
            ["aws", "--profile", "x", "key:[REDACTED]"]
        );
    }

    /// Found by the `sensor_parsers` fuzz target: a "flag" holding a newline
    /// and a long bearer token was over 64 characters before redaction and
    /// under after, so a second pass redacted the next argument.
    #[test]
    fn only_real_names_are_secret_names() {
        let long = format!("--x-auth\nBearer {}", "t".repeat(80));
        let once = r(&[&long, "value"]);
        assert_eq!(once[1], "value");
        assert_eq!(redact_cmdline(&once), once);
        assert!(!is_secret_name("--token [REDACTED]"));
        assert!(is_secret_name("--db.password"));
    }

    /// Found by the `sensor_parsers` fuzz target: in a run of key-like text
    /// a second pass found a key id next to the first pass's `[REDACTED]`.
    #[test]
    fn aws_key_ids_are_whole_words() {
        let run = "AKIAFFF000000AKIAFFF000000AKIAFFF000001";
        assert_eq!(r(&[run]), [run]);
        assert_eq!(r(&["a=AKIAIOSFODNN7EXAMPLE,b"]), ["a=[REDACTED],b"]);
    }

    /// Found by the `sensor_parsers` fuzz target: with `Bearer` and `Basic`
    /// in one argument only the first scheme's credential was redacted.
    #[test]
    fn every_auth_scheme_in_an_argument_is_redacted() {
        assert_eq!(
            r(&["x", "Basic abc Bearer def bearer ghi Basic [REDACTED]tail"]),
            [
                "x",
                "Basic [REDACTED] Bearer [REDACTED] bearer [REDACTED] Basic [REDACTED]"
            ]
        );
    }

    #[test]
    fn a_secret_flag_followed_by_a_flag_does_not_eat_it() {
        assert_eq!(
            r(&["app", "--token", "--verbose"]),
            ["app", "--token", "--verbose"]
        );
    }

    proptest! {
        #[test]
        fn secrets_never_survive(secret in "[A-Za-z0-9!#%+]{8,24}", other in proptest::collection::vec("[a-z/]{1,6}", 0..4)) {
            let forms: Vec<Vec<String>> = vec![
                vec![format!("--password={secret}")],
                vec!["--api-key".into(), secret.clone()],
                vec![format!("DB_PASSWORD={secret}")],
                vec![format!("https://user:{secret}@example.com/path")],
                vec![format!("-p{secret}x")],
                vec!["Authorization: Bearer ".to_string() + &secret],
            ];
            for form in forms {
                let mut args = vec!["prog".to_string()];
                args.extend(other.iter().cloned());
                args.extend(form);
                let out = redact_cmdline(&args);
                prop_assert_eq!(out.len(), args.len());
                for a in &out {
                    prop_assert!(!a.contains(&secret), "{:?} leaked in {:?}", secret, out);
                }
                // Idempotent.
                prop_assert_eq!(redact_cmdline(&out), out.clone());
            }
        }

        #[test]
        fn plain_arguments_are_untouched(args in proptest::collection::vec("[a-z0-9/._]{1,12}", 0..8)) {
            prop_assert_eq!(redact_cmdline(&args), args);
        }
    }
}
