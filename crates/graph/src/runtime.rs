//! Runtime use: is a vulnerable package loaded by something that runs?
//!
//! A node's runtime evidence is a set of file paths in use. A package is
//! *in use* when one of its files is in that set. Its files come from the
//! SBOM's ownership lists ([`crate::PackageFiles`]; for Python, the
//! `RECORD` file read with [`python_record_files`]); without a list, the
//! package URL's type selects a path rule:
//!
//! | purl type | a file in use belongs to the package when |
//! |---|---|
//! | `pypi` | a path segment after `site-packages/` or `dist-packages/` is the package's normalised name (`PyYAML` -> `pyyaml`, `-` and `.` read as `_`), as a directory, `NAME.py`, `NAME.*.so` or `NAME-*.dist-info` |
//! | `npm` | the path contains `node_modules/NAME/` (scoped: `node_modules/@scope/name/`); the last `node_modules` wins |
//! | `maven` | a path segment is `ARTIFACT-VERSION.jar` |
//!
//! With no evidence for the node at all the answer is *unknown*, never
//! "not in use"; so is a package with neither a file list nor a path rule.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use crate::model::PackageRef;

/// The answer for one package on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use<'a> {
    /// Loaded: the file in use that shows it.
    InUse(&'a str),
    /// Runtime evidence exists and none of it belongs to the package.
    NotInUse,
    Unknown(UnknownUse),
}

/// Why runtime use is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnknownUse {
    /// Nothing reported which files are in use on this node.
    NoEvidence,
    /// No file list for the package and no path rule for its type.
    NoOwnership,
    /// The finding names no package.
    NoPackage,
}

impl UnknownUse {
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            UnknownUse::NoEvidence => "no runtime evidence for this node",
            UnknownUse::NoOwnership => "no file list for the package and no path rule for its type",
            UnknownUse::NoPackage => "the finding names no package",
        }
    }
}

/// The files in use on one node, indexed for the path rules.
#[derive(Debug, Default, Clone)]
pub struct FilesInUse {
    paths: HashSet<String>,
    python: HashMap<String, String>,
    npm: HashMap<String, String>,
    jars: HashMap<String, String>,
}

impl FilesInUse {
    /// Indexes a list of paths.
    #[must_use]
    pub fn new<'a>(files: impl IntoIterator<Item = &'a str>) -> FilesInUse {
        let mut f = FilesInUse::default();
        f.extend(files);
        f
    }

    /// Adds paths (used to merge the containers of one image).
    pub fn extend<'a>(&mut self, files: impl IntoIterator<Item = &'a str>) {
        for path in files {
            if self.paths.contains(path) {
                continue;
            }
            if let Some(name) = python_name(path) {
                self.python.entry(name).or_insert_with(|| path.to_string());
            }
            if let Some(name) = npm_name(path) {
                self.npm.entry(name).or_insert_with(|| path.to_string());
            }
            for stem in jar_stems(path) {
                self.jars.entry(stem).or_insert_with(|| path.to_string());
            }
            self.paths.insert(path.to_string());
        }
    }

    /// Merges another node's evidence into this one.
    pub fn merge(&mut self, other: &FilesInUse) {
        self.extend(other.paths.iter().map(String::as_str));
    }

    /// How many distinct paths.
    #[must_use]
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Decides whether `package` is in use, given its file list if known.
    #[must_use]
    pub fn package_use<'a>(&'a self, package: &PackageRef, owned: Option<&'a [String]>) -> Use<'a> {
        if let Some(files) = owned {
            if let Some(hit) = files.iter().find(|f| self.paths.contains(f.as_str())) {
                return Use::InUse(hit.as_str());
            }
            return Use::NotInUse;
        }
        let Some(purl) = package.purl.as_deref() else {
            return Use::Unknown(UnknownUse::NoOwnership);
        };
        let hit = if purl.starts_with("pkg:pypi/") {
            self.python.get(&normalise_python(&package.name))
        } else if purl.starts_with("pkg:npm/") {
            self.npm
                .get(&npm_purl_name(purl).unwrap_or_else(|| package.name.clone()))
        } else if purl.starts_with("pkg:maven/") {
            let artifact = package
                .name
                .rsplit([':', '/'])
                .next()
                .unwrap_or(&package.name);
            self.jars.get(&format!("{artifact}-{}", package.version))
        } else {
            return Use::Unknown(UnknownUse::NoOwnership);
        };
        hit.map_or(Use::NotInUse, |p| Use::InUse(p.as_str()))
    }
}

/// PEP 503 normalisation, with `_` as the separator (module directories use it).
#[must_use]
pub fn normalise_python(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('_');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

fn python_name(path: &str) -> Option<String> {
    let idx = path
        .rfind("/site-packages/")
        .map(|i| i + "/site-packages/".len())
        .or_else(|| {
            path.rfind("/dist-packages/")
                .map(|i| i + "/dist-packages/".len())
        })?;
    let rest = &path[idx..];
    let (first, is_dir) = match rest.split_once('/') {
        Some((a, _)) => (a, true),
        None => (rest, false),
    };
    let name = if let Some(d) = first
        .strip_suffix(".dist-info")
        .or_else(|| first.strip_suffix(".egg-info"))
    {
        d.split_once('-').map_or(d, |(n, _)| n)
    } else if is_dir {
        first
    } else if let Some(m) = first.strip_suffix(".py") {
        m
    } else if first.ends_with(".so") || first.ends_with(".pyd") {
        first.split_once('.').map_or(first, |(n, _)| n)
    } else {
        return None;
    };
    (!name.is_empty()).then(|| normalise_python(name))
}

fn npm_name(path: &str) -> Option<String> {
    let idx = path.rfind("node_modules/")? + "node_modules/".len();
    let rest = &path[idx..];
    let mut parts = rest.split('/');
    let first = parts.next()?;
    if first.is_empty() {
        return None;
    }
    if first.starts_with('@') {
        let second = parts.next().filter(|s| !s.is_empty())?;
        return Some(format!("{first}/{second}"));
    }
    Some(first.to_string())
}

/// `pkg:npm/%40scope/name@1.0` -> `@scope/name`.
fn npm_purl_name(purl: &str) -> Option<String> {
    let rest = purl.strip_prefix("pkg:npm/")?;
    let rest = rest.split(['@', '?', '#']).next().filter(|s| !s.is_empty());
    let rest = match rest {
        Some(r) => r,
        // A scoped name spelt with a literal `@`.
        None => {
            purl.strip_prefix("pkg:npm/")?
                .split(['?', '#'])
                .next()?
                .rsplit_once('@')?
                .0
        }
    };
    Some(
        rest.replace("%40", "@")
            .replace("%2F", "/")
            .replace("%2f", "/"),
    )
}

fn jar_stems(path: &str) -> impl Iterator<Item = String> + '_ {
    path.split(['/', '!'])
        .filter_map(|seg| seg.strip_suffix(".jar"))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The files mapped into a process, from the text of `/proc/PID/maps`:
/// executables, shared objects and other mapped files, each once, in order
/// of appearance. Anonymous and pseudo mappings (`[heap]`, `[vdso]`...) are
/// skipped; a ` (deleted)` suffix is dropped (the path was in use).
#[must_use]
pub fn mapped_files(maps: &str) -> Vec<String> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode pathname (the path may hold spaces).
        let mut rest = line;
        for _ in 0..5 {
            rest = rest.trim_start();
            rest = rest.find(' ').map_or("", |i| &rest[i..]);
        }
        let path = rest.trim();
        let path = path.strip_suffix(" (deleted)").unwrap_or(path);
        if path.starts_with('/') && seen.insert(path) {
            out.push(path.to_string());
        }
    }
    out
}

/// The files a Python `RECORD` lists, as absolute paths under `site_packages`
/// (the directory holding the `.dist-info`). `RECORD` is CSV: path, hash,
/// size; paths may be quoted and may climb out (`../../../bin/tool`).
#[must_use]
pub fn python_record_files(site_packages: &str, record: &str) -> Vec<String> {
    record
        .lines()
        .filter_map(|line| {
            let line = line.trim_end_matches('\r');
            let path = if let Some(rest) = line.strip_prefix('"') {
                let mut out = String::new();
                let mut chars = rest.chars().peekable();
                loop {
                    match chars.next()? {
                        '"' if chars.peek() == Some(&'"') => {
                            chars.next();
                            out.push('"');
                        }
                        '"' => break,
                        c => out.push(c),
                    }
                }
                out
            } else {
                line.split(',').next()?.to_string()
            };
            (!path.is_empty()).then(|| join_normalised(site_packages, &path))
        })
        .collect()
}

fn join_normalised(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = if rel.starts_with('/') {
        Vec::new()
    } else {
        base.split('/').filter(|s| !s.is_empty()).collect()
    };
    for seg in rel.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    format!("/{}", parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(name: &str, version: &str, purl: Option<&str>) -> PackageRef {
        PackageRef {
            name: name.into(),
            version: version.into(),
            purl: purl.map(str::to_string),
        }
    }

    #[test]
    fn ownership_lists_decide_first() {
        let f = FilesInUse::new([
            "/usr/lib/x86_64-linux-gnu/libssl.so.3",
            "/usr/bin/python3.11",
        ]);
        let owned = vec![
            "/usr/lib/x86_64-linux-gnu/libssl.so.3".to_string(),
            "/usr/share/doc/libssl3/copyright".to_string(),
        ];
        let p = pkg(
            "libssl3",
            "3.0.11-1",
            Some("pkg:deb/debian/libssl3@3.0.11-1"),
        );
        assert_eq!(
            f.package_use(&p, Some(&owned)),
            Use::InUse("/usr/lib/x86_64-linux-gnu/libssl.so.3")
        );
        let unused = vec!["/usr/lib/libz.so.1".to_string()];
        assert_eq!(f.package_use(&p, Some(&unused)), Use::NotInUse);
        // A deb without a file list: no rule, so unknown rather than "no".
        assert_eq!(
            f.package_use(&p, None),
            Use::Unknown(UnknownUse::NoOwnership)
        );
    }

    #[test]
    fn path_rules() {
        let f = FilesInUse::new([
            "/usr/lib/python3/dist-packages/yaml/__init__.py",
            "/app/.venv/lib/python3.12/site-packages/Jinja2-3.1.2.dist-info/METADATA",
            "/app/.venv/lib/python3.12/site-packages/six.py",
            "/app/.venv/lib/python3.12/site-packages/_cffi_backend.cpython-312-x86_64-linux-gnu.so",
            "/srv/node_modules/express/lib/router/index.js",
            "/srv/node_modules/express/node_modules/qs/lib/parse.js",
            "/srv/node_modules/@babel/core/lib/index.js",
            "/app/lib/log4j-core-2.14.1.jar",
        ]);
        let cases = [
            (pkg("PyYAML", "6.0", Some("pkg:pypi/pyyaml@6.0")), false),
            (pkg("yaml", "6.0", Some("pkg:pypi/yaml@6.0")), true),
            (pkg("jinja2", "3.1.2", Some("pkg:pypi/jinja2@3.1.2")), true),
            (pkg("six", "1.16", Some("pkg:pypi/six@1.16")), true),
            (
                pkg("_cffi-backend", "1", Some("pkg:pypi/_cffi-backend@1")),
                true,
            ),
            (pkg("requests", "2.0", Some("pkg:pypi/requests@2.0")), false),
            (pkg("express", "4.0.0", Some("pkg:npm/express@4.0.0")), true),
            (pkg("qs", "6.0.0", Some("pkg:npm/qs@6.0.0")), true),
            (
                pkg("@babel/core", "7.0.0", Some("pkg:npm/%40babel/core@7.0.0")),
                true,
            ),
            (
                pkg("@babel/cli", "7.0.0", Some("pkg:npm/%40babel/cli@7.0.0")),
                false,
            ),
            (pkg("lodash", "4.0.0", Some("pkg:npm/lodash@4.0.0")), false),
            (
                pkg(
                    "org.apache.logging.log4j:log4j-core",
                    "2.14.1",
                    Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"),
                ),
                true,
            ),
            (
                pkg(
                    "org.apache.logging.log4j:log4j-core",
                    "2.17.0",
                    Some("pkg:maven/org.apache.logging.log4j/log4j-core@2.17.0"),
                ),
                false,
            ),
        ];
        for (p, in_use) in cases {
            let got = f.package_use(&p, None);
            assert_eq!(matches!(got, Use::InUse(_)), in_use, "{p:?}: {got:?}");
            if !in_use {
                assert_eq!(got, Use::NotInUse, "{p:?}");
            }
        }
        assert_eq!(
            f.package_use(&pkg("x", "1", None), None),
            Use::Unknown(UnknownUse::NoOwnership)
        );
    }

    #[test]
    fn python_record() {
        let record = "requests/__init__.py,sha256=abc,123\n\"requests/we,ird.py\",,\n../../../bin/req,sha256=x,1\nrequests-2.31.0.dist-info/RECORD,,\n\n";
        assert_eq!(
            python_record_files("/usr/lib/python3/site-packages", record),
            vec![
                "/usr/lib/python3/site-packages/requests/__init__.py",
                "/usr/lib/python3/site-packages/requests/we,ird.py",
                "/usr/bin/req",
                "/usr/lib/python3/site-packages/requests-2.31.0.dist-info/RECORD",
            ]
        );
        // An unterminated quote drops the line, never panics.
        assert!(python_record_files("/x", "\"abc").is_empty());
    }

    #[test]
    fn reads_proc_maps() {
        let maps = "\
55d0c0000000-55d0c0001000 r--p 00000000 08:01 1048602                    /usr/bin/python3.11
55d0c0001000-55d0c0002000 r-xp 00001000 08:01 1048602                    /usr/bin/python3.11
55d0c1000000-55d0c1021000 rw-p 00000000 00:00 0                          [heap]
7f0a00000000-7f0a00021000 rw-p 00000000 00:00 0 
7f0a10000000-7f0a10100000 r--p 00000000 08:01 1050001                    /usr/lib/x86_64-linux-gnu/libssl.so.3
7f0a20000000-7f0a20001000 r--p 00000000 08:01 1050002                    /tmp/my lib.so (deleted)
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0                          [vdso]
garbage
";
        assert_eq!(
            mapped_files(maps),
            vec![
                "/usr/bin/python3.11",
                "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                "/tmp/my lib.so",
            ]
        );
    }

    #[test]
    fn normalises_python_names() {
        assert_eq!(normalise_python("Foo.Bar--baz_Q"), "foo_bar_baz_q");
    }
}
