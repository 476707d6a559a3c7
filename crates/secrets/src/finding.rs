//! Findings: where a secret is, which rule found it, and its redacted form
//! and fingerprint. The secret itself is never stored in a finding.

use rampart_model::Severity;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// How sure a rule is that a match is a real secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    /// Heuristic (a secret-like value assigned to a secret-like name).
    Low,
    /// A format with context (a value next to the provider's name).
    Medium,
    /// A format that identifies itself (a unique prefix, a checksum, a PEM block).
    High,
}

impl Confidence {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// Where in a target a finding's text came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Origin {
    /// A text file.
    File,
    /// Printable strings of a binary file (line and column are not meaningful).
    BinaryStrings,
    /// An environment variable in an image configuration (`ENV`).
    ImageEnv,
    /// A label in an image configuration (`LABEL`).
    ImageLabel,
    /// A build step in an image's history (`RUN`, `ARG`...).
    ImageHistory,
}

/// The image layer a finding is in.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct LayerRef {
    /// Position of the layer, 0 = bottom.
    pub index: usize,
    /// The layer's `diff_id`.
    pub diff_id: String,
    /// True when a later layer deleted or replaced the file: the secret is
    /// still in the image, though not in a container's file system.
    pub removed: bool,
}

/// A secret found in a target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub rule_id: String,
    pub rule_name: String,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Path in the target; members of archives as `archive.zip!member/path`.
    pub path: String,
    /// 1-based line of the secret's first character (text files only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 1-based column, in characters, of the secret's first character.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u64>,
    /// Byte offset of the secret in the file (or archive member).
    pub offset: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<LayerRef>,
    pub origin: Origin,
    /// The secret with all but a few characters masked.
    pub redacted: String,
    /// Stable hash of rule id and secret: for deduplication and ignore files.
    pub fingerprint: String,
    /// The hosts the credential is for, as its line names them
    /// (`host:port` from a URL with user information, a JDBC URL, a
    /// `Host=...;Password=...` connection string; see [`crate::targets`]);
    /// never the secret. Empty when the line names none.
    #[serde(default)]
    pub targets: Vec<String>,
}

/// A stable fingerprint of a secret found by a rule: the first 16 hex
/// digits of SHA-256(rule id, NUL, secret). The same secret found by the
/// same rule anywhere has the same fingerprint.
#[must_use]
pub fn fingerprint(rule_id: &str, secret: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(rule_id.as_bytes());
    h.update([0u8]);
    h.update(secret);
    let digest = h.finalize();
    hex::encode(&digest[..8])
}

/// The redacted form of a secret: a prefix and the last 4 characters for
/// long values, less for shorter ones, nothing for short ones. Multi-line
/// values (PEM blocks) show their first line's label only.
#[must_use]
pub fn redact(secret: &[u8]) -> String {
    let text = String::from_utf8_lossy(secret);
    if text.starts_with("-----BEGIN") || text.starts_with("---- BEGIN") {
        let end = text[5..].find("-----").or_else(|| text[5..].find("----"));
        let label = end.map_or("-----BEGIN", |e| &text[..(5 + e + 5).min(text.len())]);
        return format!("{}…(redacted)", label.trim_end_matches(' '));
    }
    let chars: Vec<char> = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let n = chars.len();
    let (head, tail) = match n {
        0..12 => (0, 0),
        12..20 => (2, 2),
        _ => (4, 4),
    };
    let prefix: String = chars[..head].iter().collect();
    let suffix: String = chars[n - tail..].iter().collect();
    format!("{prefix}{}{suffix}", "*".repeat(8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_never_shows_short_secrets_and_shows_little_of_long_ones() {
        assert_eq!(redact(b"hunter2"), "********");
        assert_eq!(redact(b"0123456789abcd"), "01********cd");
        assert_eq!(
            redact(b"ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
            "ghp_********6789"
        );
        assert_eq!(
            redact(b"-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----"),
            "-----BEGIN RSA PRIVATE KEY-----…(redacted)"
        );
    }

    #[test]
    fn fingerprints_are_stable_and_rule_specific() {
        let a = fingerprint("RMP-SECRET-X-001", b"s3cret");
        assert_eq!(a.len(), 16);
        assert_eq!(a, fingerprint("RMP-SECRET-X-001", b"s3cret"));
        assert_ne!(a, fingerprint("RMP-SECRET-X-002", b"s3cret"));
    }
}
