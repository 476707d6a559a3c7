//! Ignore files: findings suppressed on purpose, by fingerprint, rule id or
//! path (docs/secrets.md describes the format).

use std::path::Path;

use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::error::{Result, SecretsError};
use crate::finding::Finding;

/// The name of the ignore file looked for at the root of a directory target.
pub const IGNORE_FILE_NAME: &str = ".rampartignore";

/// Fingerprints, rule ids and path globs whose findings are suppressed.
#[derive(Debug, Default)]
pub struct IgnoreList {
    fingerprints: Vec<String>,
    rules: Vec<String>,
    paths: Option<GlobSet>,
    path_globs: Vec<String>,
}

impl IgnoreList {
    /// Parses an ignore file. Each line is empty, a `#` comment, or one
    /// entry followed by an optional `# reason`: a 16-hex-digit fingerprint
    /// (optionally written `fingerprint:HEX`), `rule:RMP-SECRET-...`, or
    /// `path:GLOB`.
    ///
    /// # Errors
    /// A line is none of those; `path` names the file in the error.
    pub fn parse(path: &Path, text: &str) -> Result<IgnoreList> {
        let mut list = IgnoreList::default();
        let mut builder = GlobSetBuilder::new();
        for (n, raw) in text.lines().enumerate() {
            let entry = raw.split(" #").next().unwrap_or_default().trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let err = |message: String| SecretsError::IgnoreFile {
                path: path.to_path_buf(),
                line: n + 1,
                message,
            };
            if entry.starts_with("vuln:") {
                // Vulnerability entries share the file; the vuln scanner reads them.
                continue;
            }
            if let Some(rule) = entry.strip_prefix("rule:") {
                list.rules.push(rule.trim().to_string());
            } else if let Some(glob) = entry.strip_prefix("path:") {
                let glob = glob.trim();
                builder.add(Glob::new(glob).map_err(|e| err(format!("bad glob: {e}")))?);
                list.path_globs.push(glob.to_string());
            } else {
                let fp = entry.strip_prefix("fingerprint:").unwrap_or(entry).trim();
                if fp.len() != 16 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(err(format!(
                        "expected a 16-hex-digit fingerprint, rule:ID or path:GLOB, got {entry:?}"
                    )));
                }
                list.fingerprints.push(fp.to_ascii_lowercase());
            }
        }
        if !list.path_globs.is_empty() {
            list.paths = Some(builder.build().map_err(|e| SecretsError::IgnoreFile {
                path: path.to_path_buf(),
                line: 0,
                message: e.to_string(),
            })?);
        }
        Ok(list)
    }

    /// Reads and parses an ignore file.
    ///
    /// # Errors
    /// The file cannot be read or has a bad line.
    pub fn load(path: &Path) -> Result<IgnoreList> {
        let text = std::fs::read_to_string(path).map_err(|source| SecretsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        IgnoreList::parse(path, &text)
    }

    /// Adds the entries of `other`.
    pub fn extend(&mut self, other: IgnoreList) {
        self.fingerprints.extend(other.fingerprints);
        self.rules.extend(other.rules);
        if !other.path_globs.is_empty() {
            let mut b = GlobSetBuilder::new();
            for g in self.path_globs.iter().chain(&other.path_globs) {
                if let Ok(g) = Glob::new(g) {
                    b.add(g);
                }
            }
            self.path_globs.extend(other.path_globs);
            self.paths = b.build().ok();
        }
    }

    /// Whether the list suppresses `f`.
    #[must_use]
    pub fn suppresses(&self, f: &Finding) -> bool {
        self.fingerprints.contains(&f.fingerprint)
            || self.rules.contains(&f.rule_id)
            || self.paths.as_ref().is_some_and(|g| {
                let p = f.path.split('!').next().unwrap_or_default();
                g.is_match(p) || g.is_match(p.trim_start_matches('/'))
            })
    }

    /// Whether the list is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.fingerprints.is_empty() && self.rules.is_empty() && self.path_globs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_entries_and_reports_bad_lines() {
        let text = "# reviewed 2026-11\n0123456789abcdef # test fixture\nrule:RMP-SECRET-JWT-001\npath:tests/**\n\n";
        let l = IgnoreList::parse(Path::new(".rampartignore"), text).unwrap_or_default();
        assert_eq!(l.fingerprints, ["0123456789abcdef"]);
        assert_eq!(l.rules, ["RMP-SECRET-JWT-001"]);
        let e = IgnoreList::parse(Path::new(".rampartignore"), "x\n").err();
        assert!(e.is_some_and(|e| e.to_string().contains("line 1")));
    }
}
