//! Small helpers shared by the Ruby, PHP, .NET, Dart, Elixir, Swift and
//! Conan catalogers.

use rampart_source::VPath;

use super::Found;
use crate::package::{Ecosystem, Package};

/// Most packages one evidence file may report: far above any real lock file,
/// low enough to bound what a hostile file can make us hold.
pub const MAX_PACKAGES: usize = 100_000;

/// Longest name or version accepted; longer ones are garbage, not packages.
pub const MAX_FIELD: usize = 512;

/// The directory part of a path's bytes (empty for a top-level entry).
fn dir_bytes(path: &VPath) -> &[u8] {
    let p = path.as_bytes();
    match p.iter().rposition(|&b| b == b'/') {
        Some(i) => p.get(..i).unwrap_or_default(),
        None => &[],
    }
}

/// True when the directory holding the file ends with the components
/// `suffix` (`"composer"`, `"specifications/default"`), without allocating.
#[must_use]
pub fn dir_ends_with(path: &VPath, suffix: &str) -> bool {
    let dir = dir_bytes(path);
    let s = suffix.as_bytes();
    if dir == s {
        return true;
    }
    dir.len() > s.len() && dir.ends_with(s) && dir.get(dir.len() - s.len() - 1) == Some(&b'/')
}

/// The `n`th directory above the file (1: the directory holding it) is
/// named `name`, without allocating.
#[must_use]
pub fn ancestor_is(path: &VPath, n: usize, name: &str) -> bool {
    path.as_bytes()
        .rsplit(|&b| b == b'/')
        .nth(n)
        .is_some_and(|c| c == name.as_bytes())
}

/// Some directory above the file is named `name`.
#[must_use]
pub fn under_dir_named(path: &VPath, name: &str) -> bool {
    let mut components = path.as_bytes().rsplit(|&b| b == b'/');
    components.next(); // the file itself
    components.any(|c| c == name.as_bytes())
}

/// True when `s` is a plausible package name or version: not empty, not
/// absurdly long, no control characters or whitespace.
#[must_use]
pub fn plausible(s: &str) -> bool {
    !s.is_empty() && s.len() <= MAX_FIELD && !s.chars().any(|c| c.is_control() || c.is_whitespace())
}

/// A package of `ecosystem` when both name and version are plausible.
#[must_use]
pub fn package(
    ecosystem: Ecosystem,
    name: &str,
    version: &str,
    cataloger: &str,
) -> Option<Package> {
    (plausible(name) && plausible(version))
        .then(|| Package::new(ecosystem, name, version, cataloger))
}

/// Wraps packages as findings, dropping exact repeats (a lock file lists
/// the same package once per target framework or platform), and refuses
/// files listing more than [`MAX_PACKAGES`].
///
/// # Errors
/// Too many packages for one file.
pub fn found(packages: Vec<Package>) -> Result<Vec<Found>, String> {
    if packages.len() > MAX_PACKAGES {
        return Err(format!(
            "more than {MAX_PACKAGES} packages in one file ({})",
            packages.len()
        ));
    }
    let mut seen = std::collections::HashSet::new();
    Ok(packages
        .into_iter()
        .filter(|p| seen.insert(p.key()))
        .map(|p| Found::Package(Box::new(p)))
        .collect())
}

/// A JSON string value, trimmed; `None` for anything else or an empty string.
#[must_use]
pub fn json_str(v: Option<&serde_json::Value>) -> Option<&str> {
    v.and_then(serde_json::Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Licenses written as one string or a list of strings.
#[must_use]
pub fn json_licenses(v: Option<&serde_json::Value>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim();
        if !s.is_empty() && s.len() <= MAX_FIELD && !out.iter().any(|x| x == s) {
            out.push(s.to_string());
        }
    };
    match v {
        Some(serde_json::Value::String(s)) => add(s),
        Some(serde_json::Value::Array(list)) => {
            for s in list.iter().filter_map(serde_json::Value::as_str).take(32) {
                add(s);
            }
        }
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vp(s: &str) -> VPath {
        VPath::from_relative(s.as_bytes(), 4096, 256).unwrap_or_default()
    }

    #[test]
    fn directory_suffixes_match_whole_components() {
        assert!(dir_ends_with(
            &vp("vendor/composer/installed.json"),
            "composer"
        ));
        assert!(dir_ends_with(&vp("composer/installed.json"), "composer"));
        assert!(!dir_ends_with(
            &vp("vendor/notcomposer/installed.json"),
            "composer"
        ));
        assert!(!dir_ends_with(&vp("installed.json"), "composer"));
        assert!(dir_ends_with(
            &vp("usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec"),
            "specifications/default"
        ));
    }

    #[test]
    fn ancestors_are_found_by_name() {
        let p = vp("app/deps/plug/mix.lock");
        assert!(ancestor_is(&p, 1, "plug"));
        assert!(ancestor_is(&p, 2, "deps"));
        assert!(!ancestor_is(&p, 3, "deps"));
        assert!(!ancestor_is(&p, 9, "deps"));
        assert!(under_dir_named(&p, "app"));
        assert!(!under_dir_named(&p, "mix.lock"));
        assert!(!under_dir_named(&vp("mix.lock"), "mix.lock"));
    }

    #[test]
    fn implausible_fields_are_refused() {
        assert!(package(Ecosystem::Gem, "rake", "13.0.6", "t").is_some());
        assert!(package(Ecosystem::Gem, "", "1", "t").is_none());
        assert!(package(Ecosystem::Gem, "a b", "1", "t").is_none());
        assert!(package(Ecosystem::Gem, "a", &"9".repeat(MAX_FIELD + 1), "t").is_none());
    }

    #[test]
    fn licenses_are_read_from_strings_and_lists() {
        let v = serde_json::json!(["MIT", " MIT ", "", 3, "GPL-2.0-or-later"]);
        assert_eq!(json_licenses(Some(&v)), ["MIT", "GPL-2.0-or-later"]);
        let v = serde_json::json!("BSD-3-Clause");
        assert_eq!(json_licenses(Some(&v)), ["BSD-3-Clause"]);
        assert!(json_licenses(None).is_empty());
    }
}

#[cfg(test)]
mod policy_tests {
    use rampart_source::VPath;

    fn vp(s: &str) -> VPath {
        VPath::from_relative(s.as_bytes(), 4096, 256).unwrap_or_default()
    }

    /// Regression (SBOM benchmark, 2026-11-28): lock files shipped inside
    /// installed packages added hundreds of packages that are not installed.
    #[test]
    fn lock_files_shipped_by_installed_packages_are_not_read() {
        let all = crate::catalog::all();
        let wanted = |p: &str| all.iter().any(|c| c.wants(&vp(p), 100));
        for no in [
            "app/node_modules/uri-js/yarn.lock",
            "app/node_modules/combined-stream/package-lock.json",
            "app/node_modules/x/pnpm-lock.yaml",
            "app/node_modules/x/bun.lock",
            "usr/lib/ruby/gems/3.1.0/gems/rbs-2.1.0/steep/Gemfile.lock",
            "usr/lib/ruby/gems/3.1.0/gems/rbs-2.1.0/Gemfile.lock",
        ] {
            assert!(!wanted(no), "{no}");
        }
        for yes in [
            "app/yarn.lock",
            "app/package-lock.json",
            "srv/app/Gemfile.lock",
            "app/node_modules/ms/package.json",
        ] {
            assert!(wanted(yes), "{yes}");
        }
    }
}
