//! Installed Python distributions: `*.dist-info/METADATA` and `RECORD`,
//! `*.egg-info/PKG-INFO` and `installed-files.txt`, `*.egg-info` written as
//! a single file (Debian's `dist-packages`), and `*.egg/EGG-INFO/PKG-INFO`.
//!
//! The package comes from the metadata file; the files it installed come
//! from RECORD (or `installed-files.txt`) as `Found::Owns`, keyed by the
//! normalised name read from the directory name (`Foo_Bar-1.0.dist-info`).

use rampart_source::VPath;

use super::super::pyjs_common::{declared_license, nth_from_end, strip_bom};
use super::super::{Cataloger, Evidence, Found};
use super::{package, valid_name, valid_version};
use crate::package::Ecosystem;
use crate::purl::pypi_name;

/// The installed-distributions cataloger.
#[derive(Debug)]
pub struct PythonInstalled;

/// The most lines of a file list kept for one package.
const MAX_FILES: usize = 200_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Core metadata: METADATA, PKG-INFO or a single-file `.egg-info`.
    Metadata,
    /// A wheel's RECORD, paths relative to the directory holding the
    /// dist-info directory.
    Record,
    /// An egg-info's `installed-files.txt`, paths relative to the egg-info
    /// directory.
    InstalledFiles,
}

fn classify(p: &[u8]) -> Option<Kind> {
    let file = nth_from_end(p, 0);
    let dir = nth_from_end(p, 1);
    let is = |d: &[u8], suffix: &[u8]| d.len() > suffix.len() && d.ends_with(suffix);
    match file {
        b"METADATA" if is(dir, b".dist-info") => Some(Kind::Metadata),
        b"RECORD" if is(dir, b".dist-info") => Some(Kind::Record),
        b"PKG-INFO"
            if is(dir, b".egg-info") || (dir == b"EGG-INFO" && is(nth_from_end(p, 2), b".egg")) =>
        {
            Some(Kind::Metadata)
        }
        b"installed-files.txt" if is(dir, b".egg-info") => Some(Kind::InstalledFiles),
        f if is(f, b".egg-info") => Some(Kind::Metadata),
        _ => None,
    }
}

/// The fields of core metadata (the email-header format) Rampart uses.
#[derive(Debug, Default, PartialEq, Eq)]
struct Metadata {
    name: Option<String>,
    version: Option<String>,
    license: Option<String>,
    license_expression: Option<String>,
    classifiers: Vec<String>,
}

/// Reads the header block (up to the first empty line; the description
/// body after it is ignored). Continuation lines start with whitespace.
fn parse_metadata(text: &str) -> Metadata {
    let mut m = Metadata::default();
    // Which field a continuation line extends (only License spans lines).
    let mut in_license = false;
    for line in text.lines() {
        if line.is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            if in_license && let Some(l) = m.license.as_mut() {
                l.push('\n');
                l.push_str(line.trim());
            }
            continue;
        }
        in_license = false;
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match key.trim().to_ascii_lowercase().as_str() {
            "name" if m.name.is_none() => m.name = Some(value.to_string()),
            "version" if m.version.is_none() => m.version = Some(value.to_string()),
            "license" if m.license.is_none() => {
                m.license = Some(value.to_string());
                in_license = true;
            }
            "license-expression" if m.license_expression.is_none() => {
                m.license_expression = Some(value.to_string());
            }
            "classifier" if m.classifiers.len() < 1000 => m.classifiers.push(value.to_string()),
            _ => {}
        }
    }
    m
}

/// Trove license classifiers whose last segment the general license table
/// does not know, mapped to SPDX identifiers (lowercase keys).
const CLASSIFIERS: &[(&str, &str)] = &[
    ("isc license (iscl)", "ISC"),
    ("gnu general public license v2 (gplv2)", "GPL-2.0-only"),
    (
        "gnu general public license v2 or later (gplv2+)",
        "GPL-2.0-or-later",
    ),
    ("gnu general public license v3 (gplv3)", "GPL-3.0-only"),
    (
        "gnu general public license v3 or later (gplv3+)",
        "GPL-3.0-or-later",
    ),
    (
        "gnu lesser general public license v2 (lgplv2)",
        "LGPL-2.0-only",
    ),
    (
        "gnu lesser general public license v2 or later (lgplv2+)",
        "LGPL-2.0-or-later",
    ),
    (
        "gnu lesser general public license v3 (lgplv3)",
        "LGPL-3.0-only",
    ),
    (
        "gnu lesser general public license v3 or later (lgplv3+)",
        "LGPL-3.0-or-later",
    ),
    ("gnu affero general public license v3", "AGPL-3.0-only"),
    (
        "gnu affero general public license v3 or later (agplv3+)",
        "AGPL-3.0-or-later",
    ),
    ("mozilla public license 1.1 (mpl 1.1)", "MPL-1.1"),
    ("the unlicense (unlicense)", "Unlicense"),
    ("boost software license 1.0 (bsl-1.0)", "BSL-1.0"),
    ("eclipse public license 1.0 (epl-1.0)", "EPL-1.0"),
    ("eclipse public license 2.0 (epl-2.0)", "EPL-2.0"),
    ("european union public licence 1.2 (eupl 1.2)", "EUPL-1.2"),
    ("historical permission notice and disclaimer (hpnd)", "HPND"),
    ("mit no attribution license (mit-0)", "MIT-0"),
    ("universal permissive license (upl)", "UPL-1.0"),
    ("zlib/libpng license", "Zlib"),
    (
        "cc0 1.0 universal (cc0 1.0) public domain dedication",
        "CC0-1.0",
    ),
];

/// The license of a classifier such as `License :: OSI Approved :: MIT
/// License`, if it names one.
fn classifier_license(c: &str) -> Option<String> {
    let rest = c.strip_prefix("License ::")?;
    let last = rest.rsplit("::").next()?.trim();
    if last.is_empty() || last == "OSI Approved" || last.starts_with("Other/") {
        return None;
    }
    let lower = last.to_ascii_lowercase();
    if let Some((_, id)) = CLASSIFIERS.iter().find(|(k, _)| *k == lower) {
        return Some((*id).to_string());
    }
    declared_license(last)
}

/// License-Expression first (metadata 2.4), then a one-line License field,
/// then the license classifiers.
fn licenses(m: &Metadata) -> Vec<String> {
    if let Some(l) = m.license_expression.as_deref().and_then(declared_license) {
        return vec![l];
    }
    if let Some(l) = m.license.as_deref().and_then(declared_license) {
        return vec![l];
    }
    let mut out: Vec<String> = Vec::new();
    for l in m.classifiers.iter().filter_map(|c| classifier_license(c)) {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

/// The first field of a CSV row (RECORD quotes paths holding commas).
fn first_csv_field(line: &str) -> String {
    let Some(rest) = line.strip_prefix('"') else {
        return line.split(',').next().unwrap_or_default().to_string();
    };
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            if chars.peek() == Some(&'"') {
                out.push('"');
                chars.next();
            } else {
                break;
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `base/rel` resolved lexically into an absolute path; `..` never climbs
/// above the root. An absolute `rel` stands alone.
fn resolve(base: &str, rel: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let start = if rel.starts_with('/') { "" } else { base };
    for comp in start.split('/').chain(rel.split('/')) {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The normalised distribution name from a `name-version.dist-info` or
/// `name[-version[-pyX.Y]].egg-info` directory name.
fn name_from_dir(dir: &str) -> Option<String> {
    let stem = dir
        .strip_suffix(".dist-info")
        .or_else(|| dir.strip_suffix(".egg-info"))?;
    let name = stem.split('-').next().unwrap_or(stem);
    valid_name(name).then(|| pypi_name(name))
}

/// The files listed by RECORD or `installed-files.txt`, as absolute paths.
fn owned_files(ev: &Evidence<'_>, text: &str, kind: Kind) -> Result<Vec<Found>, String> {
    let meta_dir = ev.path.parent();
    let dir_name = String::from_utf8_lossy(meta_dir.file_name()).into_owned();
    let name = name_from_dir(&dir_name)
        .ok_or_else(|| format!("no distribution name in the directory name {dir_name:?}"))?;
    let base = if kind == Kind::Record {
        meta_dir.parent().display()
    } else {
        meta_dir.display()
    };
    let files: Vec<String> = text
        .lines()
        .map(|l| {
            if kind == Kind::Record {
                first_csv_field(l)
            } else {
                l.trim().to_string()
            }
        })
        .filter(|f| !f.is_empty())
        .take(MAX_FILES)
        .map(|f| resolve(&base, &f))
        .collect();
    if files.is_empty() {
        return Ok(Vec::new());
    }
    Ok(vec![Found::Owns {
        ecosystem: Ecosystem::Pypi,
        name,
        files,
    }])
}

impl Cataloger for PythonInstalled {
    fn name(&self) -> &'static str {
        "python-installed"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        classify(path.as_bytes()).is_some()
    }

    fn max_size(&self) -> u64 {
        32 << 20
    }

    fn parse(&self, ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let kind = classify(ev.path.as_bytes()).ok_or("not a Python metadata file")?;
        let text = String::from_utf8_lossy(strip_bom(data));
        if kind != Kind::Metadata {
            return owned_files(ev, &text, kind);
        }
        let m = parse_metadata(&text);
        let name = m.name.as_deref().ok_or("no Name in the package metadata")?;
        let version = m
            .version
            .as_deref()
            .ok_or("no Version in the package metadata")?;
        if !valid_name(name) {
            return Err(format!("invalid distribution name {name:?}"));
        }
        if !valid_version(version) {
            return Err(format!("invalid version {version:?}"));
        }
        let mut p = package(name, version, self.name());
        p.licenses = licenses(&m);
        Ok(vec![Found::Package(Box::new(p))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp(s: &str) -> VPath {
        VPath::from_relative(s.as_bytes(), 4096, 256).unwrap_or_default()
    }

    fn run(path: &str, data: &str) -> Result<Vec<Found>, String> {
        let path = vp(path);
        assert!(PythonInstalled.wants(&path, 1), "{path:?}");
        let ev = Evidence {
            path: &path,
            layer: None,
            size: 1,
        };
        PythonInstalled.parse(&ev, data.as_bytes())
    }

    #[test]
    fn wants_only_metadata_files() {
        for yes in [
            "venv/lib/python3.11/site-packages/six-1.16.0.dist-info/METADATA",
            "venv/lib/python3.11/site-packages/six-1.16.0.dist-info/RECORD",
            "usr/lib/python3/dist-packages/foo.egg-info/PKG-INFO",
            "usr/lib/python3/dist-packages/foo.egg-info/installed-files.txt",
            "usr/lib/python3/dist-packages/foo-1.0.egg-info",
            "site-packages/foo-1.0-py3.8.egg/EGG-INFO/PKG-INFO",
        ] {
            assert!(PythonInstalled.wants(&vp(yes), 1), "{yes}");
        }
        for no in [
            "METADATA",
            "x/.dist-info/METADATA",
            "src/foo/PKG-INFO",
            "six-1.16.0.dist-info/WHEEL",
            "EGG-INFO/PKG-INFO",
            "x/.egg-info",
        ] {
            assert!(!PythonInstalled.wants(&vp(no), 1), "{no}");
        }
    }

    #[test]
    fn metadata_with_multiline_license_falls_back_to_classifiers() {
        let text = "Metadata-Version: 2.1\nName: Zope.Interface\nVersion: 6.0\n\
                    License: Zope Public License\n        \n        Line two of the text\n\
                    Classifier: License :: OSI Approved :: Zope Public License\n\
                    Classifier: License :: OSI Approved :: GNU General Public License v3 (GPLv3)\n\
                    \nName: not-a-header\n";
        let m = parse_metadata(text);
        assert_eq!(m.name.as_deref(), Some("Zope.Interface"));
        assert_eq!(m.version.as_deref(), Some("6.0"));
        assert!(m.license.as_deref().is_some_and(|l| l.contains('\n')));
        assert_eq!(licenses(&m), ["Zope Public License", "GPL-3.0-only"]);
        let found = run("sp/zope.interface-6.0.dist-info/METADATA", text).unwrap_or_default();
        match found.first() {
            Some(Found::Package(p)) => {
                assert_eq!(p.name, "zope-interface");
                assert_eq!(p.version, "6.0");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn license_expression_wins() {
        let m = parse_metadata(
            "Name: a\nVersion: 1\nLicense-Expression: MIT OR Apache-2.0\nLicense: BSD\n\
             Classifier: License :: OSI Approved :: MIT License\n",
        );
        assert_eq!(licenses(&m), ["MIT OR Apache-2.0"]);
        let m = parse_metadata(
            "Name: a\nVersion: 1\nLicense: UNKNOWN\nClassifier: License :: OSI Approved :: MIT License\nClassifier: License :: OSI Approved\n",
        );
        assert_eq!(licenses(&m), ["MIT"]);
    }

    #[test]
    fn broken_metadata_is_a_reason() {
        assert!(run("a-1.dist-info/METADATA", "Version: 1\n").is_err());
        assert!(run("a-1.dist-info/METADATA", "Name: a\n").is_err());
        assert!(run("a-1.dist-info/METADATA", "Name: a b\nVersion: 1\n").is_err());
        assert!(run("a-1.dist-info/METADATA", "\u{0}\u{1}garbage").is_err());
    }

    #[test]
    fn record_files_are_absolute_and_keyed_by_normalised_name() {
        let record = "six.py,sha256=abc,123\n\
                      \"odd,name.py\",,\n\
                      ../../../bin/six-tool,sha256=x,1\n\
                      ../../../../../../../escape,,\n\
                      Six_Pkg-1.0.dist-info/RECORD,,\n";
        let found = run(
            "venv/lib/python3.11/site-packages/Six_Pkg-1.0.dist-info/RECORD",
            record,
        )
        .unwrap_or_default();
        match found.first() {
            Some(Found::Owns { name, files, .. }) => {
                assert_eq!(name, "six-pkg");
                assert_eq!(
                    files,
                    &[
                        "/venv/lib/python3.11/site-packages/six.py",
                        "/venv/lib/python3.11/site-packages/odd,name.py",
                        "/venv/bin/six-tool",
                        "/escape",
                        "/venv/lib/python3.11/site-packages/Six_Pkg-1.0.dist-info/RECORD",
                    ]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
        let found = run(
            "usr/lib/python3/dist-packages/zope.interface-5.0-py3.11.egg-info/installed-files.txt",
            "../zope/__init__.py\nPKG-INFO\n",
        )
        .unwrap_or_default();
        match found.first() {
            Some(Found::Owns { name, files, .. }) => {
                assert_eq!(name, "zope-interface");
                assert_eq!(
                    files,
                    &[
                        "/usr/lib/python3/dist-packages/zope/__init__.py",
                        "/usr/lib/python3/dist-packages/zope.interface-5.0-py3.11.egg-info/PKG-INFO",
                    ]
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
