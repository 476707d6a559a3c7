//! Structural checks of matched values: checksums built into token formats
//! and encodings that must decode to something credential-shaped.

use base64::Engine as _;
use serde::Deserialize;

/// A check a matched value must pass to be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Checksum {
    /// GitHub tokens (`ghp_` and siblings): the last 6 characters are the
    /// CRC32 of the 30 random characters before them, in base62.
    Github,
    /// Base64 of `user:password` (HTTP basic auth, npm `_auth`, Docker `auth`).
    BasicAuthBase64,
    /// Base64 of printable text (Kubernetes Secret `data`, npm `_password`).
    Base64Text,
    /// A JSON Web Token whose header decodes to JSON naming a signing algorithm.
    Jwt,
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` in base62, left-padded with zeros to `width`.
#[must_use]
pub fn base62(mut n: u32, width: usize) -> String {
    let mut out = Vec::new();
    while n > 0 {
        out.push(BASE62[(n % 62) as usize]);
        n /= 62;
    }
    while out.len() < width {
        out.push(b'0');
    }
    out.reverse();
    String::from_utf8_lossy(&out).into_owned()
}

impl Checksum {
    pub fn verify(self, value: &[u8]) -> bool {
        match self {
            Checksum::Github => github(value),
            Checksum::BasicAuthBase64 => decode_b64(value).is_some_and(|d| {
                printable(&d)
                    && d.iter()
                        .position(|&b| b == b':')
                        .is_some_and(|p| p > 0 && p + 1 < d.len())
            }),
            Checksum::Base64Text => {
                decode_b64(value).is_some_and(|d| !d.is_empty() && printable(&d))
            }
            Checksum::Jwt => jwt(value),
        }
    }
}

fn github(value: &[u8]) -> bool {
    let Some(us) = value.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &value[us + 1..];
    if body.len() != 36 {
        return false;
    }
    let (random, check) = body.split_at(30);
    base62(crc32fast::hash(random), 6).as_bytes() == check
}

fn decode_b64(value: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = value.iter().copied().filter(|&b| b != b'=').collect();
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&trimmed)
        .ok()
        .or_else(|| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(&trimmed)
                .ok()
        })
}

fn printable(d: &[u8]) -> bool {
    std::str::from_utf8(d).is_ok_and(|s| {
        s.chars()
            .all(|c| !c.is_control() || c == '\n' || c == '\r' || c == '\t')
    })
}

fn jwt(value: &[u8]) -> bool {
    let Some(header) = value.split(|&b| b == b'.').next() else {
        return false;
    };
    let Ok(raw) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header) else {
        return false;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&raw) else {
        return false;
    };
    v.get("alg")
        .and_then(serde_json::Value::as_str)
        .is_some_and(|a| !a.eq_ignore_ascii_case("none"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn github_checksum_round_trips() {
        let random = "FAKE0123456789abcdefghijklmnop";
        let token = format!(
            "ghp_{random}{}",
            base62(crc32fast::hash(random.as_bytes()), 6)
        );
        assert!(Checksum::Github.verify(token.as_bytes()));
        let mut bad = token.into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'0' { b'1' } else { b'0' };
        assert!(!Checksum::Github.verify(&bad));
    }

    #[test]
    fn base64_checks() {
        assert!(Checksum::BasicAuthBase64.verify(b"dXNlcjpodW50ZXIy")); // user:hunter2
        assert!(!Checksum::BasicAuthBase64.verify(b"aHVudGVyMg==")); // hunter2
        assert!(Checksum::Base64Text.verify(b"aHVudGVyMg=="));
        assert!(!Checksum::Base64Text.verify(b"mysecretname"));
    }

    #[test]
    fn jwt_needs_a_signing_algorithm() {
        assert!(Checksum::Jwt.verify(b"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig"));
        assert!(!Checksum::Jwt.verify(b"eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.sig"));
    }
}
