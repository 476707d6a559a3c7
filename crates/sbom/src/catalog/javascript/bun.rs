//! Bun's text lock file `bun.lock`: JSON with comments and trailing commas.
//! Each `packages` value is an array whose first element is the resolved
//! `name@version`; workspace, link, file and git resolutions (a protocol in
//! place of a version) are left out. The older binary `bun.lockb` is not
//! read.

use std::collections::BTreeMap;

use rampart_source::VPath;
use serde::Deserialize;

use super::super::pyjs_common::{FirstStr, strip_bom};
use super::super::{Cataloger, Evidence, Found, file_name_is};
use super::{package, split_spec};
use crate::package::Package;

/// The Bun lock-file cataloger.
#[derive(Debug)]
pub struct BunLock;

/// JSONC to JSON: comments removed, commas before `}` or `]` dropped.
/// Strings are copied untouched. Linear in the input.
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                out.push(c);
                while let Some(d) = chars.next() {
                    out.push(d);
                    if d == '\\' {
                        if let Some(e) = chars.next() {
                            out.push(e);
                        }
                    } else if d == '"' {
                        break;
                    }
                }
            }
            '/' if chars.peek() == Some(&'/') => while chars.next_if(|&d| d != '\n').is_some() {},
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = '\0';
                for d in chars.by_ref() {
                    if prev == '*' && d == '/' {
                        break;
                    }
                    prev = d;
                }
                out.push(' ');
            }
            '}' | ']' => {
                let kept = out.trim_end().len();
                if out.get(..kept).is_some_and(|s| s.ends_with(',')) {
                    out.truncate(kept.saturating_sub(1));
                }
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The part of `bun.lock` Rampart reads.
#[derive(Debug, Deserialize)]
struct Lock {
    packages: Option<BTreeMap<String, FirstStr>>,
}

fn parse_lock(text: &str, cataloger: &str) -> Result<Vec<Package>, String> {
    let doc: Lock =
        serde_json::from_str(&strip_jsonc(text)).map_err(|e| format!("invalid bun.lock: {e}"))?;
    Ok(doc
        .packages
        .iter()
        .flat_map(BTreeMap::values)
        .filter_map(|v| v.0.as_deref())
        .filter_map(split_spec)
        .filter_map(|(name, version)| package(name, version, cataloger))
        .collect())
}

impl Cataloger for BunLock {
    fn name(&self) -> &'static str {
        "bun-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        (file_name_is(path, "bun.lock"))
            // Lock files that installed packages ship pin their own
            // development trees, which are not installed.
            && !crate::catalog::lockutil::under_dir_named(path, "node_modules")
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = std::str::from_utf8(strip_bom(data)).map_err(|e| format!("not UTF-8: {e}"))?;
        Ok(parse_lock(text, self.name())?
            .into_iter()
            .map(|p| Found::Package(Box::new(p)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jsonc_is_made_json() {
        assert_eq!(
            strip_jsonc("{\"a\": [1, 2,], // c\n \"b\": \"x,}//\\\"\", /* z */ }"),
            "{\"a\": [1, 2], \n \"b\": \"x,}//\\\"\"}"
        );
        assert_eq!(strip_jsonc("/* unterminated"), " ");
    }

    #[test]
    fn reads_packages() {
        let text = r#"{
  "lockfileVersion": 1,
  "workspaces": {
    "": {
      "name": "app",
      "dependencies": {
        "ms": "^2.1.3",
      },
    },
  },
  "packages": {
    // A comment bun does not write, but JSONC allows.
    "@babel/core": ["@babel/core@7.24.0", "", { "dependencies": {} }, "sha512-abc"],
    "debug": ["debug@2.6.9", "", { "dependencies": { "ms": "2.0.0" } }, "sha512-d"],
    "debug/ms": ["ms@2.0.0", "", {}, "sha512-e"],
    "ms": ["ms@2.1.3", "", {}, "sha512-f"],
    "member": ["member@workspace:packages/member"],
    "gitdep": ["gitdep@github:user/repo#abc", {}, "user-repo-abc"],
    "odd": "not an array",
  },
}
"#;
        let mut got: Vec<String> = parse_lock(text, "t")
            .unwrap_or_default()
            .iter()
            .map(|p| {
                format!(
                    "{}{}@{}",
                    p.namespace.clone().map(|n| n + "/").unwrap_or_default(),
                    p.name,
                    p.version
                )
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            ["@babel/core@7.24.0", "debug@2.6.9", "ms@2.0.0", "ms@2.1.3"]
        );
        assert!(parse_lock("{\"packages\": ", "t").is_err());
    }
}
