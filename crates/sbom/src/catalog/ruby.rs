//! Ruby gems: Bundler's `Gemfile.lock` (and `gems.locked`), and the
//! specifications RubyGems writes for every installed gem
//! (`specifications/*.gemspec`, `specifications/default/*.gemspec`).

use rampart_source::VPath;

use super::lockutil::{dir_ends_with, found, package};
use super::{Cataloger, Evidence, Found, file_name_ends_with, file_name_is};
use crate::package::Ecosystem;

mod gemspec;

/// Bundler lock files.
#[derive(Debug)]
pub struct GemfileLock;

/// Installed gem specifications.
#[derive(Debug)]
pub struct Gemspec;

/// First segments of the RubyGems platforms Bundler appends to a locked
/// version (`1.15.4-x86_64-linux`, `0.14.2-java`, `1.0-x64-mingw-ucrt`).
const PLATFORM_HEADS: &[&str] = &[
    "aarch64",
    "arm",
    "arm64",
    "armv6",
    "armv6l",
    "armv7",
    "armv7l",
    "armv8",
    "dalvik",
    "darwin",
    "i386",
    "i486",
    "i586",
    "i686",
    "java",
    "jruby",
    "linux",
    "loongarch64",
    "mingw",
    "mingw32",
    "mips",
    "mips64",
    "mswin32",
    "mswin64",
    "powerpc",
    "ppc",
    "ppc64",
    "ppc64le",
    "riscv64",
    "s390",
    "s390x",
    "sparc",
    "universal",
    "wasm32",
    "x64",
    "x64_mingw",
    "x86",
    "x86_64",
];

/// The version without a platform suffix. Gem versions may themselves hold
/// a `-` (`1.0.0-rc1`), so only a known platform head starts a suffix.
fn strip_platform(v: &str) -> &str {
    for (i, _) in v.match_indices('-') {
        let rest = v.get(i + 1..).unwrap_or_default();
        let head = rest.split('-').next().unwrap_or_default();
        if PLATFORM_HEADS.iter().any(|h| h.eq_ignore_ascii_case(head)) {
            return v.get(..i).unwrap_or(v);
        }
    }
    v
}

/// One `    name (version)` spec line.
fn spec_line(line: &str) -> Option<(&str, &str)> {
    let rest = line.strip_prefix("    ")?;
    if rest.starts_with(' ') {
        return None; // a dependency of the spec above, six spaces in
    }
    let (name, version) = rest.split_once(" (")?;
    let version = version.strip_suffix(')')?;
    Some((name, strip_platform(version.trim())))
}

/// A lock file shipped inside an installed gem (`gems/rack-3.0.8/Gemfile.lock`,
/// or a Bundler git checkout `bundler/gems/widget-0123abc/`) pins that gem's
/// own development dependencies, which are not installed: reporting them
/// would report vulnerabilities that are not there.
fn inside_installed_gem(path: &VPath) -> bool {
    // Anywhere below `gems/<name>-<version>/`: the lock files an installed
    // gem ships (even in sub-directories) pin its development tree.
    let comps: Vec<&[u8]> = path.as_bytes().split(|&b| b == b'/').collect();
    comps
        .windows(2)
        .take(comps.len().saturating_sub(2))
        .any(|w| w[0] == b"gems" && w[1].contains(&b'-'))
}

/// What a Gemfile.lock holds: the specs of every source section (GEM, GIT,
/// PATH, PLUGIN SOURCE), and whether any lock file section was seen at all.
struct Locked {
    packages: Vec<crate::package::Package>,
    sections: bool,
}

fn parse_gemfile_lock(text: &str, cataloger: &str) -> Locked {
    let mut packages = Vec::new();
    let mut sections = false;
    let mut in_source = false;
    let mut in_specs = false;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        if !line.starts_with(' ') {
            in_source = matches!(line, "GEM" | "GIT" | "PATH" | "PLUGIN SOURCE");
            sections |= in_source || matches!(line, "PLATFORMS" | "DEPENDENCIES");
            in_specs = false;
            continue;
        }
        if !in_source {
            continue;
        }
        if line.starts_with("  ") && !line.starts_with("   ") {
            in_specs = line == "  specs:";
            continue;
        }
        if in_specs
            && let Some((name, version)) = spec_line(line)
            && let Some(p) = package(Ecosystem::Gem, name, version, cataloger)
        {
            packages.push(p);
        }
    }
    Locked { packages, sections }
}

impl Cataloger for GemfileLock {
    fn name(&self) -> &'static str {
        "gemfile-lock"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        (file_name_is(path, "Gemfile.lock") || file_name_is(path, "gems.locked"))
            && !inside_installed_gem(path)
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
        let locked = parse_gemfile_lock(text, self.name());
        if !locked.sections && !text.trim().is_empty() {
            return Err("no GEM, GIT, PATH, PLATFORMS or DEPENDENCIES section".to_string());
        }
        found(locked.packages)
    }
}

impl Cataloger for Gemspec {
    fn name(&self) -> &'static str {
        "gemspec"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_ends_with(path, ".gemspec")
            && (dir_ends_with(path, "specifications")
                || dir_ends_with(path, "specifications/default"))
    }

    fn max_size(&self) -> u64 {
        1 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = String::from_utf8_lossy(data);
        let spec = gemspec::parse(&text)?;
        let mut p = package(Ecosystem::Gem, &spec.name, &spec.version, self.name())
            .ok_or_else(|| format!("implausible gem {:?} {:?}", spec.name, spec.version))?;
        p.licenses = spec.licenses;
        found(vec![p])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = "\
GIT
  remote: https://github.com/example/widget.git
  revision: f85fedca183bfcd146f3ffac4f5542fa4b1d4115
  branch: main
  specs:
    widget (2.0.0.pre1)
      rack (>= 2.0)

PATH
  remote: engines/admin
  specs:
    admin (0.1.0)

GEM
  remote: https://rubygems.org/
  specs:
    nokogiri (1.15.4-arm64-darwin)
      racc (~> 1.4)
    nokogiri (1.15.4-x86_64-linux)
      racc (~> 1.4)
    racc (1.7.1)
    rack (3.0.8)
    jruby-openssl (0.14.2-java)
    weird (1.0.0-rc1)
    sqlite3 (1.6.6-x64-mingw-ucrt)

PLATFORMS
  arm64-darwin
  x86_64-linux

DEPENDENCIES
  admin!
  nokogiri (~> 1.15)
  widget!

CHECKSUMS
  rack (3.0.8) sha256=00

BUNDLED WITH
   2.4.19
";

    #[test]
    fn reads_every_source_section_and_strips_platforms() {
        let got: Vec<(String, String)> = parse_gemfile_lock(LOCK, "t")
            .packages
            .into_iter()
            .map(|p| (p.name, p.version))
            .collect();
        let want = [
            ("widget", "2.0.0.pre1"),
            ("admin", "0.1.0"),
            ("nokogiri", "1.15.4"),
            ("nokogiri", "1.15.4"),
            ("racc", "1.7.1"),
            ("rack", "3.0.8"),
            ("jruby-openssl", "0.14.2"),
            ("weird", "1.0.0-rc1"),
            ("sqlite3", "1.6.6"),
        ];
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
            .collect();
        assert_eq!(got, want);
        // The repeated platform variant is dropped when reported.
        assert_eq!(
            found(parse_gemfile_lock(LOCK, "t").packages).map(|f| f.len()),
            Ok(8)
        );
    }

    #[test]
    fn crlf_and_garbage_do_not_confuse_it() {
        let text = "GEM\r\n  specs:\r\n    rake (13.0.6)\r\n    (1.0)\r\n    bad\r\n";
        let got = parse_gemfile_lock(text, "t").packages;
        assert_eq!(got.len(), 1);
        assert_eq!(got.first().map(|p| p.version.as_str()), Some("13.0.6"));
        let ev_path = VPath::from_relative(b"app/Gemfile.lock", 100, 10).unwrap_or_default();
        let ev = Evidence {
            path: &ev_path,
            layer: None,
            size: 0,
        };
        // A Gemfile without gems locks to empty specs; that is no error.
        assert_eq!(
            GemfileLock
                .parse(&ev, b"GEM\n  specs:\n\nPLATFORMS\n  ruby\n")
                .map(|f| f.len()),
            Ok(0)
        );
        assert!(
            GemfileLock
                .parse(&ev, b"<html>not a lock file</html>")
                .is_err()
        );
        assert!(GemfileLock.parse(&ev, &[0xff, 0xfe]).is_err());
        assert_eq!(GemfileLock.parse(&ev, b"").map(|f| f.len()), Ok(0));
    }

    #[test]
    fn lock_files_inside_installed_gems_are_not_wanted() {
        let yes = [
            "app/Gemfile.lock",
            "srv/gems/app/Gemfile.lock",
            "app/gems.locked",
        ];
        let no = [
            "usr/local/bundle/gems/rack-3.0.8/Gemfile.lock",
            "app/vendor/bundle/ruby/3.2.0/bundler/gems/widget-0123abcdef/Gemfile.lock",
        ];
        for p in yes {
            let v = VPath::from_relative(p.as_bytes(), 200, 20).unwrap_or_default();
            assert!(GemfileLock.wants(&v, 1), "{p}");
        }
        for p in no {
            let v = VPath::from_relative(p.as_bytes(), 200, 20).unwrap_or_default();
            assert!(!GemfileLock.wants(&v, 1), "{p}");
        }
    }

    #[test]
    fn wants_installed_specifications_only() {
        let yes = [
            "usr/local/bundle/specifications/rake-13.0.6.gemspec",
            "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
            "specifications/a-1.gemspec",
        ];
        let no = [
            "src/myapp/myapp.gemspec",
            "usr/local/bundle/gems/rake-13.0.6/rake.gemspec",
            "x/specifications/readme.txt",
        ];
        for p in yes {
            let v = VPath::from_relative(p.as_bytes(), 200, 20).unwrap_or_default();
            assert!(Gemspec.wants(&v, 1), "{p}");
        }
        for p in no {
            let v = VPath::from_relative(p.as_bytes(), 200, 20).unwrap_or_default();
            assert!(!Gemspec.wants(&v, 1), "{p}");
        }
    }
}
