//! Identity evidence inside a Java archive: `META-INF/maven/**/pom.properties`
//! (authoritative), `META-INF/MANIFEST.MF` and the archive's file name
//! (fallbacks).

/// Maven coordinates of one artifact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Coordinates {
    pub group: Option<String>,
    pub artifact: String,
    pub version: String,
}

impl Coordinates {
    /// How a nested artifact names this one as its `parent`:
    /// `maven:group/artifact@version` (`maven:artifact@version` without a
    /// group).
    pub(super) fn parent_id(&self) -> String {
        match &self.group {
            Some(g) => format!("maven:{g}/{}@{}", self.artifact, self.version),
            None => format!("maven:{}@{}", self.artifact, self.version),
        }
    }
}

/// Drops repeated coordinates, keeping the first of each (in linear time:
/// hostile files repeat entries by the hundred thousand).
pub(super) fn dedup(all: Vec<Coordinates>) -> Vec<Coordinates> {
    let mut seen = std::collections::HashSet::new();
    all.into_iter().filter(|c| seen.insert(c.clone())).collect()
}

/// Longest value kept from a properties or manifest file.
const MAX_VALUE: usize = 4096;

/// Decodes the escapes of a Java properties value or key.
fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\u{c}'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                    out.push(ch);
                }
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    out
}

/// Parses a Java properties file: `key=value`, `key: value` or
/// `key value`, `#` and `!` comments, backslash line continuations.
pub(super) fn properties(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut logical = String::new();
    for line in text.lines() {
        let piece = line.trim_start();
        if logical.is_empty() && (piece.starts_with('#') || piece.starts_with('!')) {
            continue;
        }
        // An odd number of trailing backslashes continues the line.
        let trailing = piece.bytes().rev().take_while(|&b| b == b'\\').count();
        if trailing % 2 == 1 {
            if logical.len() < MAX_VALUE {
                logical.push_str(piece.get(..piece.len() - 1).unwrap_or_default());
            }
            continue;
        }
        if logical.len() < MAX_VALUE {
            logical.push_str(piece);
        }
        let entry = std::mem::take(&mut logical);
        if let Some(kv) = split_property(&entry) {
            out.push(kv);
        }
    }
    if let Some(kv) = split_property(&logical) {
        out.push(kv);
    }
    out
}

/// Splits one logical properties line at the first unescaped `=`, `:` or
/// whitespace.
fn split_property(line: &str) -> Option<(String, String)> {
    if line.trim().is_empty() {
        return None;
    }
    let mut escaped = false;
    let mut split = None;
    for (i, c) in line.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if matches!(c, '=' | ':') || c.is_whitespace() {
            split = Some((i, c));
            break;
        }
    }
    let (key, value) = match split {
        Some((i, c)) => {
            let key = line.get(..i).unwrap_or_default();
            let mut rest = line
                .get(i + c.len_utf8()..)
                .unwrap_or_default()
                .trim_start();
            if c.is_whitespace() {
                rest = rest.strip_prefix(['=', ':']).map_or(rest, str::trim_start);
            }
            (key, rest)
        }
        None => (line, ""),
    };
    Some((unescape(key), unescape(value).trim_end().to_string()))
}

/// The coordinates in a `pom.properties`; the group and artifact fall
/// back to the directory names of `META-INF/maven/<group>/<artifact>/`.
pub(super) fn pom_properties(text: &str, entry_path: &str) -> Option<Coordinates> {
    let props = properties(text);
    let get = |k: &str| {
        props
            .iter()
            .rev()
            .find(|(key, v)| key == k && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let mut dirs = entry_path.rsplit('/').skip(1);
    let dir_artifact = dirs.next().filter(|s| !s.is_empty());
    let dir_group = dirs.next().filter(|s| !s.is_empty() && *s != "maven");
    let version = get("version")?;
    let artifact = get("artifactId").or_else(|| dir_artifact.map(str::to_string))?;
    let group = get("groupId").or_else(|| dir_group.map(str::to_string));
    if !is_token(&artifact) || !is_token(&version) || group.as_deref().is_some_and(|g| !is_token(g))
    {
        return None;
    }
    Some(Coordinates {
        group,
        artifact,
        version,
    })
}

/// True for a plausible coordinate: non-empty, short, no whitespace or `/`.
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && !s.contains(|c: char| c.is_whitespace() || c == '/')
}

/// The main section of a manifest: `Name: value` headers (continuation
/// lines begin with one space), up to the first blank line.
pub(super) fn manifest_main(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            break;
        }
        if let Some(cont) = line.strip_prefix(' ') {
            if let Some((_, v)) = out.last_mut()
                && v.len() < MAX_VALUE
            {
                v.push_str(cont);
            }
            continue;
        }
        if let Some((k, v)) = line.split_once(':') {
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

fn header<'a>(main: &'a [(String, String)], key: &str) -> Option<&'a str> {
    main.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Splits an archive's file name (`log4j-core-2.17.1.jar`) into the
/// artifact and the version: the version starts at the first `-` followed
/// by a digit.
pub(super) fn split_file_name(file_name: &str) -> (&str, Option<&str>) {
    let stem = file_name.rsplit_once('.').map_or(file_name, |(s, _)| s);
    let bytes = stem.as_bytes();
    for (i, w) in bytes.windows(2).enumerate() {
        if let [b'-', d] = w
            && d.is_ascii_digit()
            && i > 0
        {
            return (
                stem.get(..i).unwrap_or(stem),
                stem.get(i + 1..).filter(|v| !v.is_empty()),
            );
        }
    }
    (stem, None)
}

/// Coordinates from the manifest and the file name, for archives without
/// `pom.properties`. `None` without a version.
pub(super) fn from_manifest(main: &[(String, String)], file_name: &str) -> Option<Coordinates> {
    let (name_part, name_version) = split_file_name(file_name);
    let bsn = header(main, "Bundle-SymbolicName")
        .map(|s| s.split(';').next().unwrap_or(s).trim())
        .filter(|s| is_token(s));
    let version = header(main, "Implementation-Version")
        .or_else(|| header(main, "Bundle-Version"))
        .or_else(|| header(main, "Specification-Version"))
        .or(name_version)
        .filter(|v| is_token(v))?;
    let title = header(main, "Implementation-Title").filter(|t| is_token(t));
    // The file name is the artifact id by Maven's convention when it
    // carries a version; otherwise it may be anything (`app.jar`).
    let artifact = if name_version.is_some() && is_token(name_part) {
        name_part
    } else {
        title.or(bsn).unwrap_or(name_part)
    };
    if !is_token(artifact) {
        return None;
    }
    // `Bundle-SymbolicName: com.example.foo` for artifact `foo` gives the
    // group `com.example`; else the vendor id.
    let group = bsn
        .and_then(|b| b.strip_suffix(artifact))
        .and_then(|g| g.strip_suffix('.'))
        .filter(|g| !g.is_empty())
        .or_else(|| header(main, "Implementation-Vendor-Id").filter(|g| is_token(g)));
    Some(Coordinates {
        group: group.map(str::to_string),
        artifact: artifact.to_string(),
        version: version.to_string(),
    })
}

/// An SPDX license declared by `Bundle-License`, when it is one.
pub(super) fn manifest_license(main: &[(String, String)]) -> Option<String> {
    let raw = header(main, "Bundle-License")?;
    let first = raw
        .split([';', ','])
        .next()
        .unwrap_or(raw)
        .trim()
        .trim_matches('"');
    if let Some(id) = crate::licenses::spdx_id(first) {
        return Some(id.to_string());
    }
    if crate::licenses::is_spdx_expression(first) {
        return Some(first.to_string());
    }
    let lower = first.to_ascii_lowercase();
    if lower.contains("apache.org/licenses/license-2.0") {
        return Some("Apache-2.0".to_string());
    }
    if lower.contains("opensource.org/licenses/mit") {
        return Some("MIT".to_string());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_pom_properties() {
        let text = "#Generated by Maven\n#Tue Feb 02\nversion=2.17.1\n\
                    groupId=org.apache.logging.log4j\nartifactId=log4j-core\n";
        let c = pom_properties(
            text,
            "META-INF/maven/org.apache.logging.log4j/log4j-core/pom.properties",
        );
        assert_eq!(
            c,
            Some(Coordinates {
                group: Some("org.apache.logging.log4j".into()),
                artifact: "log4j-core".into(),
                version: "2.17.1".into(),
            })
        );
        // Other separators, continuation lines, escapes, directory fallback.
        let text = "! comment\nversion : 1.\\\n   0\\u002d1\nartifactId  \n";
        let c = pom_properties(text, "META-INF/maven/com.example/lib/pom.properties");
        assert_eq!(
            c.map(|c| (c.group, c.artifact, c.version)),
            Some((Some("com.example".into()), "lib".into(), "1.0-1".into()))
        );
        assert_eq!(pom_properties("groupId=a\n", "x/pom.properties"), None);
        assert_eq!(pom_properties("version=1 2\nartifactId=a", "p"), None);
    }

    #[test]
    fn manifest_fallbacks() {
        let mf = "Manifest-Version: 1.0\r\nImplementation-Title: Apache Commons\r\n\
                  Bundle-SymbolicName: org.example.widget;singleton:=true\r\n\
                  Implementation-Version: 3.1\r\nBundle-License: https://www.apache.org/licen\r\n \
                  ses/LICENSE-2.0.txt\r\n\r\nName: org/x/\r\nImplementation-Version: 9\r\n";
        let main = manifest_main(mf);
        assert_eq!(manifest_license(&main).as_deref(), Some("Apache-2.0"));
        let c = from_manifest(&main, "widget-3.1.jar");
        assert_eq!(
            c,
            Some(Coordinates {
                group: Some("org.example".into()),
                artifact: "widget".into(),
                version: "3.1".into(),
            })
        );
        // No version in the file name: the symbolic name names it.
        let c = from_manifest(&main, "app.jar");
        assert_eq!(
            c.map(|c| (c.group, c.artifact)),
            Some((None, "org.example.widget".into()))
        );
        let none = manifest_main("Manifest-Version: 1.0\nCreated-By: me\n");
        assert_eq!(from_manifest(&none, "app.jar"), None);
        let c = from_manifest(&none, "guava-31.1-jre.jar");
        assert_eq!(
            c.map(|c| (c.artifact, c.version)),
            Some(("guava".into(), "31.1-jre".into()))
        );
    }

    #[test]
    fn splits_file_names() {
        assert_eq!(
            split_file_name("log4j-core-2.17.1.jar"),
            ("log4j-core", Some("2.17.1"))
        );
        assert_eq!(
            split_file_name("bcprov-jdk15on-1.70.jar"),
            ("bcprov-jdk15on", Some("1.70"))
        );
        assert_eq!(split_file_name("app.war"), ("app", None));
        assert_eq!(split_file_name("-1.jar"), ("-1", None));
        assert_eq!(split_file_name("x-.jar"), ("x-", None));
    }
}
