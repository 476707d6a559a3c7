//! Small helpers shared by the Python and JavaScript catalogers.

use std::fmt;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::licenses::{is_spdx_expression, spdx_id};

/// Longest declared license kept: longer values are license texts pasted
/// into a metadata field, not names.
const MAX_LICENSE_LEN: usize = 120;

/// The `n`th path component counted from the end (0 is the file name),
/// or empty when the path is shorter. Allocation-free, for `wants`.
pub(super) fn nth_from_end(path: &[u8], n: usize) -> &[u8] {
    path.rsplit(|&b| b == b'/').nth(n).unwrap_or(b"")
}

/// A declared license as an SPDX expression or identifier where it maps
/// onto one, else as written; `None` for empty, placeholder or text-sized
/// values.
pub(super) fn declared_license(raw: &str) -> Option<String> {
    let s = raw.trim();
    if s.is_empty()
        || s.len() > MAX_LICENSE_LEN
        || s.contains('\n')
        || ["unknown", "none", "unlicensed", "n/a"]
            .iter()
            .any(|p| s.eq_ignore_ascii_case(p))
    {
        return None;
    }
    if is_spdx_expression(s) {
        return Some(s.to_string());
    }
    Some(spdx_id(s).map_or_else(|| s.to_string(), str::to_string))
}

/// True when `v` looks like a version (not a URL, path or range): no
/// whitespace, no protocol, bounded length.
pub(super) fn plausible_version(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 128
        && !v.contains(':')
        && !v.contains('/')
        && !v.chars().any(char::is_whitespace)
}

/// The input without a UTF-8 byte order mark (editors on Windows add one
/// to JSON files; the parsers refuse it).
pub(super) fn strip_bom(data: &[u8]) -> &[u8] {
    data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)
}

/// A JSON value kept only when it is a string. Anything else (a number, an
/// object, an array) is read past without being built, so that a field of
/// an unexpected type neither fails the whole file nor costs memory.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct OptStr(pub(super) Option<String>);

impl OptStr {
    pub(super) fn as_deref(&self) -> Option<&str> {
        self.0.as_deref()
    }
}

struct OptStrVisitor;

impl<'de> Visitor<'de> for OptStrVisitor {
    type Value = OptStr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_str<E>(self, v: &str) -> Result<OptStr, E> {
        Ok(OptStr(Some(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<OptStr, E> {
        Ok(OptStr(Some(v)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<OptStr, E> {
        Ok(OptStr(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<OptStr, E> {
        Ok(OptStr(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<OptStr, E> {
        Ok(OptStr(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<OptStr, E> {
        Ok(OptStr(None))
    }
    fn visit_unit<E>(self) -> Result<OptStr, E> {
        Ok(OptStr(None))
    }
    fn visit_none<E>(self) -> Result<OptStr, E> {
        Ok(OptStr(None))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<OptStr, D::Error> {
        OptStr::deserialize(d)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OptStr, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(OptStr(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<OptStr, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(OptStr(None))
    }
}

impl<'de> Deserialize<'de> for OptStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(OptStrVisitor)
    }
}

/// The first element of a JSON array when it is a string (Bun's package
/// tuples); the rest is read past.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct FirstStr(pub(super) Option<String>);

struct FirstStrVisitor;

impl<'de> Visitor<'de> for FirstStrVisitor {
    type Value = FirstStr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any value")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FirstStr, A::Error> {
        let first = seq.next_element::<OptStr>()?.and_then(|s| s.0);
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(FirstStr(first))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FirstStr, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(FirstStr(None))
    }
    fn visit_str<E>(self, _: &str) -> Result<FirstStr, E> {
        Ok(FirstStr(None))
    }
    fn visit_bool<E>(self, _: bool) -> Result<FirstStr, E> {
        Ok(FirstStr(None))
    }
    fn visit_i64<E>(self, _: i64) -> Result<FirstStr, E> {
        Ok(FirstStr(None))
    }
    fn visit_u64<E>(self, _: u64) -> Result<FirstStr, E> {
        Ok(FirstStr(None))
    }
    fn visit_f64<E>(self, _: f64) -> Result<FirstStr, E> {
        Ok(FirstStr(None))
    }
    fn visit_unit<E>(self) -> Result<FirstStr, E> {
        Ok(FirstStr(None))
    }
}

impl<'de> Deserialize<'de> for FirstStr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FirstStrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_from_the_end() {
        assert_eq!(nth_from_end(b"a/b/c", 0), b"c");
        assert_eq!(nth_from_end(b"a/b/c", 2), b"a");
        assert_eq!(nth_from_end(b"a/b/c", 3), b"");
        assert_eq!(nth_from_end(b"", 0), b"");
    }

    #[test]
    fn licenses_are_mapped_or_kept() {
        assert_eq!(declared_license(" mit ").as_deref(), Some("MIT"));
        assert_eq!(
            declared_license("MIT OR Apache-2.0").as_deref(),
            Some("MIT OR Apache-2.0")
        );
        assert_eq!(
            declared_license("Custom Thing").as_deref(),
            Some("Custom Thing")
        );
        assert_eq!(declared_license("UNKNOWN"), None);
        assert_eq!(declared_license("line one\nline two"), None);
        assert_eq!(declared_license(&"x".repeat(500)), None);
    }

    #[test]
    fn lenient_strings() {
        let v: Vec<OptStr> =
            serde_json::from_str(r#"["a", 1, null, true, 2.5, [1, [2]], {"x": {"y": 1}}]"#)
                .unwrap_or_default();
        let got: Vec<Option<&str>> = v.iter().map(OptStr::as_deref).collect();
        assert_eq!(got, [Some("a"), None, None, None, None, None, None]);
        let v: Vec<FirstStr> =
            serde_json::from_str(r#"[["a@1", {}, "x"], [], [1, "b"], "s", {"k": 1}]"#)
                .unwrap_or_default();
        let got: Vec<Option<String>> = v.into_iter().map(|f| f.0).collect();
        assert_eq!(got, [Some("a@1".to_string()), None, None, None, None]);
        assert_eq!(strip_bom(b"\xEF\xBB\xBF{}"), b"{}");
    }

    #[test]
    fn versions_are_plausible() {
        assert!(plausible_version("1.0.0-rc.1+build"));
        assert!(!plausible_version("file:../x"));
        assert!(!plausible_version("git+https://h/r.git#abc"));
        assert!(!plausible_version("1.0 || 2.0"));
        assert!(!plausible_version(""));
    }

    /// Every Python and JavaScript cataloger, with a path it wants.
    fn catalogers() -> Vec<(Box<dyn super::super::Cataloger>, &'static str)> {
        use super::super::{javascript as js, python as py};
        vec![
            (Box::new(py::PythonInstalled), "sp/a-1.dist-info/METADATA"),
            (Box::new(py::PythonInstalled), "sp/a-1.dist-info/RECORD"),
            (
                Box::new(py::PythonInstalled),
                "sp/a.egg-info/installed-files.txt",
            ),
            (Box::new(py::PythonRequirements), "requirements.txt"),
            (Box::new(py::PythonLocks), "poetry.lock"),
            (Box::new(py::PythonLocks), "Pipfile.lock"),
            (Box::new(js::NpmInstalled), "node_modules/a/package.json"),
            (Box::new(js::NpmLock), "package-lock.json"),
            (Box::new(js::YarnLock), "yarn.lock"),
            (Box::new(js::PnpmLock), "pnpm-lock.yaml"),
            (Box::new(js::BunLock), "bun.lock"),
        ]
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic(
            data in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(b"{}[]():,@/ \n\t-=#'\"\\_.&*!|>".to_vec()),
                    proptest::sample::select(b"abcnpm1.0".to_vec()),
                ],
                0..1024,
            ),
            prefix in proptest::sample::select(vec![
                "", "__metadata:\n", "packages:\n  ", "{\"packages\": {", "[[package]]\n",
                "Name: a\nVersion: 1\n", "{\"dependencies\": {\"a\": ",
            ]),
        ) {
            let mut input = prefix.as_bytes().to_vec();
            input.extend_from_slice(&data);
            for (c, path) in catalogers() {
                let path = rampart_source::VPath::from_relative(path.as_bytes(), 256, 16)
                    .unwrap_or_default();
                proptest::prop_assert!(c.wants(&path, 1), "{path:?}");
                let ev = super::super::Evidence { path: &path, layer: None, size: 1 };
                let _ = c.parse(&ev, &input);
            }
        }
    }
}
