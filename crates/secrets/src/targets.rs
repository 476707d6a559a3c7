//! What a credential is for: the hosts that its line names, read without
//! keeping the secret.
//!
//! Recognised on the line of a finding (within [`WINDOW`] bytes of it):
//!
//! - URLs with user information, `scheme://user:pass@host:port/...` ->
//!   `host:port` (`host` without a port);
//! - JDBC URLs, `jdbc:postgresql://host:5432/db?password=...` (the
//!   password need not be in the URL) and Oracle's
//!   `jdbc:oracle:thin:user/pass@host:1521:SID` -> `host:port`;
//! - key-value connection strings with a password,
//!   `Host=db;Port=5432;Password=...` or
//!   `Server=tcp:db,1433;Pwd=...` (keys `Host`, `Server`, `Data Source`,
//!   `Address`, `Addr`, `Network Address`, with `Port`) -> `host:port`.
//!
//! A target never contains the secret: one whose text overlaps the
//! secret's bytes or contains them is dropped.

/// How far around the secret a long line is read.
pub const WINDOW: usize = 512;

/// At most this many targets per finding.
pub const MAX_TARGETS: usize = 8;

/// A host name or address as it may appear in a target.
fn valid_host(h: &str) -> bool {
    if let Some(inner) = h.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        return !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !h.is_empty()
        && h.len() <= 253
        && h.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
        && h.bytes().any(|b| b.is_ascii_alphanumeric())
        && !h.starts_with(['.', '-'])
}

fn valid_port(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 5
        && p.bytes().all(|b| b.is_ascii_digit())
        && p.parse::<u16>().is_ok_and(|n| n > 0)
}

/// `host`, `host:port` or `[v6]:port`, validated; `None` otherwise.
fn host_port(s: &str) -> Option<String> {
    let (host, port) = if s.starts_with('[') {
        match s.split_once("]:") {
            Some((h, p)) => (format!("{h}]"), Some(p)),
            None => (s.to_string(), None),
        }
    } else {
        match s.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
            Some(_) => return None,
            None => (s.to_string(), None),
        }
    };
    if !valid_host(&host) || port.is_some_and(|p| !valid_port(p)) {
        return None;
    }
    Some(match port {
        Some(p) => format!("{host}:{p}"),
        None => host,
    })
}

/// Where an authority ends.
fn authority_end(b: u8) -> bool {
    matches!(
        b,
        b'/' | b'?'
            | b'#'
            | b';'
            | b','
            | b'"'
            | b'\''
            | b'`'
            | b'<'
            | b'>'
            | b'('
            | b')'
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'\\'
            | b'|'
    ) || b.is_ascii_whitespace()
}

/// Candidates: (target text, its byte range in the line).
fn url_targets(line: &str, out: &mut Vec<(String, usize, usize)>) {
    let bytes = line.as_bytes();
    let mut from = 0;
    while let Some(i) = line[from..].find("://").map(|i| from + i) {
        from = i + 3;
        // The scheme: letters, digits, `+ - . :` back to a delimiter.
        let mut s = i;
        while s > 0
            && (bytes[s - 1].is_ascii_alphanumeric()
                || matches!(bytes[s - 1], b'+' | b'-' | b'.' | b':'))
        {
            s -= 1;
        }
        let scheme = line[s..i].to_ascii_lowercase();
        if scheme.is_empty() {
            continue;
        }
        let jdbc = scheme.starts_with("jdbc:");
        // The authority; userinfo may hold `/`-free text with `@` in it,
        // so the host part starts after the last `@` before the end.
        let start = i + 3;
        let mut end = start;
        while end < bytes.len() && !authority_end(bytes[end]) {
            end += 1;
        }
        // A bracketed IPv6 host: include up to the `]` and a port.
        let authority = &line[start..end];
        let (host_start, has_userinfo) = match authority.rfind('@') {
            Some(a) => (start + a + 1, true),
            None => (start, false),
        };
        let mut host_end = end;
        if bytes.get(host_start) == Some(&b'[')
            && let Some(close) = line[host_start..].find(']')
        {
            host_end = host_start + close + 1;
            if bytes.get(host_end) == Some(&b':') {
                let mut p = host_end + 1;
                while p < bytes.len() && bytes[p].is_ascii_digit() {
                    p += 1;
                }
                host_end = p;
            }
        }
        if !(has_userinfo || jdbc) {
            continue;
        }
        // SQL Server JDBC: `jdbc:sqlserver://host:1433;databaseName=...`.
        if let Some(t) = host_port(&line[host_start..host_end]) {
            out.push((t, host_start, host_end));
        }
    }
    // Oracle thin: `jdbc:oracle:thin:[user/pass]@host:port[:SID|/service]`.
    let lower = line.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find("jdbc:oracle:thin:").map(|i| from + i) {
        from = i + 1;
        let rest_start = i + "jdbc:oracle:thin:".len();
        // The `@` of this URL only: not past its end (a quote or a space).
        let token_end = line[rest_start..]
            .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | '`'))
            .map_or(line.len(), |k| rest_start + k);
        let Some(at) = line[rest_start..token_end]
            .find('@')
            .map(|a| rest_start + a + 1)
        else {
            continue;
        };
        if line[at..].starts_with("//") {
            continue; // the URL form, read above
        }
        let mut end = at;
        while end < bytes.len() && !authority_end(bytes[end]) {
            end += 1;
        }
        // host:port:SID -> host:port
        let hp = &line[at..end];
        let mut parts = hp.splitn(3, ':');
        let host = parts.next().unwrap_or("");
        let t = match parts.next() {
            Some(p) if valid_port(p) => format!("{host}:{p}"),
            _ => host.to_string(),
        };
        if let Some(t) = host_port(&t) {
            let e = at + t.len();
            out.push((t, at, e));
        }
    }
}

/// `Key=Value;...` connection strings with a password key.
fn keyvalue_targets(line: &str, out: &mut Vec<(String, usize, usize)>) {
    let lower = line.to_ascii_lowercase();
    if !(lower.contains("password=") || lower.contains("pwd=")) {
        return;
    }
    let mut host: Option<(String, usize, usize)> = None;
    let mut port: Option<String> = None;
    let mut pos = 0;
    for part in line.split(';') {
        let start = pos;
        pos += part.len() + 1;
        let Some((k, v)) = part.split_once('=') else {
            continue;
        };
        // The key: the last words before `=` (`conn = "Server=x`).
        let key = k
            .rsplit(['"', '\'', ' ', '\t', '(', ','])
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        let key = if k.to_ascii_lowercase().trim_end().ends_with("data source") {
            "data source".to_string()
        } else if k
            .to_ascii_lowercase()
            .trim_end()
            .ends_with("network address")
        {
            "network address".to_string()
        } else {
            key
        };
        let v_start = start + k.len() + 1;
        let value = v.trim().trim_matches(['"', '\'']);
        match key.as_str() {
            "host" | "server" | "data source" | "address" | "addr" | "network address"
                if host.is_none() =>
            {
                let value = value.strip_prefix("tcp:").unwrap_or(value);
                // SQL Server's `host,port`.
                let (h, p) = match value.split_once(',') {
                    Some((h, p)) if valid_port(p.trim()) => (h.trim(), Some(p.trim().to_string())),
                    _ => (value, None),
                };
                // `host\instance`: the host.
                let h = h.split('\\').next().unwrap_or(h);
                if valid_host(h) {
                    if p.is_some() {
                        port = p;
                    }
                    host = Some((h.to_string(), v_start, v_start + v.len()));
                }
            }
            "port" if valid_port(value) && port.is_none() => port = Some(value.to_string()),
            _ => {}
        }
    }
    if let Some((h, s, e)) = host {
        let t = match port {
            Some(p) => format!("{h}:{p}"),
            None => h,
        };
        out.push((t, s, e));
    }
}

/// The targets named on `line`, whose bytes `secret` (a range in `line`)
/// are the secret.
#[must_use]
pub fn targets(line: &[u8], secret: std::ops::Range<usize>) -> Vec<String> {
    let lo = secret.start.saturating_sub(WINDOW);
    let hi = secret.end.saturating_add(WINDOW).min(line.len());
    let Some(window) = line.get(lo..hi) else {
        return Vec::new();
    };
    // The parsers read ASCII only: every other byte becomes DEL (never part
    // of a host), so byte offsets in `text` are the window's and the
    // overlap check below always applies.
    let text: String = window
        .iter()
        .map(|&b| {
            if b.is_ascii() {
                char::from(b)
            } else {
                '\u{7f}'
            }
        })
        .collect();
    let (ss, se) = (secret.start - lo, secret.end.min(hi).saturating_sub(lo));
    let secret_text = line
        .get(secret)
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let mut found = Vec::new();
    url_targets(&text, &mut found);
    keyvalue_targets(&text, &mut found);
    let mut out: Vec<String> = Vec::new();
    for (t, s, e) in found {
        if s < se && ss < e {
            continue;
        }
        if !secret_text.is_empty()
            && (t.contains(secret_text.as_ref())
                || (secret_text.len() >= 4 && secret_text.contains(&t)))
        {
            continue;
        }
        if !out.contains(&t) && out.len() < MAX_TARGETS {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(line: &str, secret: &str) -> Vec<String> {
        let at = line.find(secret).unwrap();
        targets(line.as_bytes(), at..at + secret.len())
    }

    #[test]
    fn invalid_utf8_around_the_secret_keeps_the_overlap_check() {
        // A password containing `@`: the part after it looks like a host.
        // With a non-UTF-8 byte elsewhere in the window, the overlap check
        // must still drop it.
        let mut line = b"\xff\xfe x=postgres://app:pa@ss.word99@db.internal:5432/x".to_vec();
        let secret = b"pa@ss.word99";
        let at = line
            .windows(secret.len())
            .position(|w| w == secret)
            .unwrap();
        let t = targets(&line, at..at + secret.len());
        assert!(t.iter().all(|t| !t.contains("ss.word99")), "{t:?}");
        assert_eq!(t, ["db.internal:5432"]);
        // Non-ASCII inside a would-be host never yields a target.
        line = "x=postgres://u:p4ssw0rd1@db\u{e9}.internal:5432/"
            .as_bytes()
            .to_vec();
        let at = line.windows(8).position(|w| w == b"p4ssw0rd").unwrap();
        assert!(targets(&line, at..at + 9).is_empty());
    }

    #[test]
    fn oracle_at_sign_is_searched_in_its_own_url_only() {
        // The `@` belongs to a later word: no target from it.
        assert!(
            on(
                "url=jdbc:oracle:thin:scott/t1ger99 note: mail admin@evil.example:25",
                "t1ger99"
            )
            .is_empty()
        );
        assert_eq!(
            on(
                "jdbc:oracle:thin:scott/t1ger99@db.example:1521:ORCL",
                "t1ger99"
            ),
            ["db.example:1521"]
        );
    }

    #[test]
    fn urls_with_userinfo_name_their_host_and_port() {
        assert_eq!(
            on(
                "DATABASE_URL=postgres://app:s3cretPassw0rd@db.internal:5432/app",
                "s3cretPassw0rd"
            ),
            ["db.internal:5432"]
        );
        assert_eq!(
            on(
                "redis: \"redis://:hunter2hunter2@10.0.0.7/0\"",
                "hunter2hunter2"
            ),
            ["10.0.0.7"]
        );
        assert_eq!(
            on(
                "url = mongodb+srv://u:Pw9xYz7qW@[fd00::5]:27017/x",
                "Pw9xYz7qW"
            ),
            ["[fd00::5]:27017"]
        );
        // `@` in the password: the host is after the last one.
        assert_eq!(
            on(
                "amqp://user:p@ss@w0rdXYZ@mq.example.net:5671",
                "p@ss@w0rdXYZ"
            ),
            ["mq.example.net:5671"]
        );
        // A URL without userinfo names nothing.
        assert!(
            on(
                "see https://example.com/docs token=abcd1234efgh5678",
                "abcd1234efgh5678"
            )
            .is_empty()
        );
    }

    #[test]
    fn jdbc_urls() {
        assert_eq!(
            on(
                "jdbc.url=jdbc:postgresql://pg.prod.local:5432/app?user=app&password=Xy7pQ2mN9vB4",
                "Xy7pQ2mN9vB4"
            ),
            ["pg.prod.local:5432"]
        );
        assert_eq!(
            on(
                "url=jdbc:sqlserver://sql01:1433;databaseName=x;password=Xy7pQ2mN9vB4",
                "Xy7pQ2mN9vB4"
            ),
            ["sql01:1433"]
        );
        assert_eq!(
            on(
                "jdbc:oracle:thin:scott/Tiger77Lion@ora.corp:1521:ORCL",
                "Tiger77Lion"
            ),
            ["ora.corp:1521"]
        );
        assert_eq!(
            on("jdbc:mysql://user:Xy7pQ2mN9vB4@10.1.2.3/db", "Xy7pQ2mN9vB4"),
            ["10.1.2.3"]
        );
    }

    #[test]
    fn key_value_connection_strings() {
        assert_eq!(
            on(
                "\"Default\": \"Host=db.internal;Port=5433;Username=app;Password=Xy7pQ2mN9vB4\"",
                "Xy7pQ2mN9vB4"
            ),
            ["db.internal:5433"]
        );
        assert_eq!(
            on(
                "Server=tcp:sql.example.net,1433;Initial Catalog=x;User ID=a;Pwd=Xy7pQ2mN9vB4;",
                "Xy7pQ2mN9vB4"
            ),
            ["sql.example.net:1433"]
        );
        assert_eq!(
            on(
                "Data Source=SQLHOST\\PROD;Password=Xy7pQ2mN9vB4",
                "Xy7pQ2mN9vB4"
            ),
            ["SQLHOST"]
        );
        // No password key: not a connection string's credential.
        assert!(on("Host=db.internal;token=Xy7pQ2mN9vB4", "Xy7pQ2mN9vB4").is_empty());
    }

    #[test]
    fn the_secret_is_never_a_target() {
        // The "host" is the secret itself.
        assert!(
            on("Host=Xy7pQ2mN9vB4;Password=Xy7pQ2mN9vB4", "Xy7pQ2mN9vB4")
                .iter()
                .all(|t| !t.contains("Xy7pQ2mN9vB4"))
        );
        // A password that looks like a host after an `@`.
        assert!(on("x://u:a@b@evil.example.com:99", "a@b@evil.example.com:99").is_empty());
        // Junk never panics, whatever the ranges.
        for (l, r) in [
            ("", 0..0),
            ("://@", 0..1),
            ("jdbc:oracle:thin:@", 3..4),
            ("é://u:p@h", 0..9),
        ] {
            let _ = targets(l.as_bytes(), r);
        }
    }
}
