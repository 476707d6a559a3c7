//! License names to SPDX: the identifiers Rampart recognises (a subset of
//! the SPDX license list: the licenses packages commonly declare), and the
//! common spellings that map onto them.

/// SPDX license identifiers recognised as such.
const SPDX_IDS: &[&str] = &[
    "0BSD",
    "AFL-2.1",
    "AFL-3.0",
    "AGPL-3.0-only",
    "AGPL-3.0-or-later",
    "Apache-1.1",
    "Apache-2.0",
    "Artistic-1.0",
    "Artistic-1.0-Perl",
    "Artistic-2.0",
    "BSD-1-Clause",
    "BSD-2-Clause",
    "BSD-3-Clause",
    "BSD-3-Clause-Clear",
    "BSD-4-Clause",
    "BSL-1.0",
    "bzip2-1.0.6",
    "CC-BY-3.0",
    "CC-BY-4.0",
    "CC-BY-SA-3.0",
    "CC-BY-SA-4.0",
    "CC0-1.0",
    "CDDL-1.0",
    "CDDL-1.1",
    "curl",
    "EPL-1.0",
    "EPL-2.0",
    "EUPL-1.2",
    "FTL",
    "GFDL-1.2-only",
    "GFDL-1.2-or-later",
    "GFDL-1.3-only",
    "GFDL-1.3-or-later",
    "GPL-1.0-only",
    "GPL-1.0-or-later",
    "GPL-2.0-only",
    "GPL-2.0-or-later",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "HPND",
    "ICU",
    "IJG",
    "ISC",
    "LGPL-2.0-only",
    "LGPL-2.0-or-later",
    "LGPL-2.1-only",
    "LGPL-2.1-or-later",
    "LGPL-3.0-only",
    "LGPL-3.0-or-later",
    "Libpng",
    "MIT",
    "MIT-0",
    "MPL-1.1",
    "MPL-2.0",
    "MS-PL",
    "NCSA",
    "OpenSSL",
    "OFL-1.1",
    "PHP-3.01",
    "PostgreSQL",
    "PSF-2.0",
    "Python-2.0",
    "Ruby",
    "Sleepycat",
    "Unicode-3.0",
    "Unicode-DFS-2016",
    "Unlicense",
    "UPL-1.0",
    "Vim",
    "W3C",
    "WTFPL",
    "X11",
    "Zlib",
    "ZPL-2.1",
];

/// Common spellings (lowercase) of licenses, mapped to SPDX identifiers.
const ALIASES: &[(&str, &str)] = &[
    ("apache 2.0", "Apache-2.0"),
    ("apache-2", "Apache-2.0"),
    ("apache 2", "Apache-2.0"),
    ("apache license 2.0", "Apache-2.0"),
    ("apache license, version 2.0", "Apache-2.0"),
    ("apache software license", "Apache-2.0"),
    ("the apache software license, version 2.0", "Apache-2.0"),
    ("mit license", "MIT"),
    ("expat", "MIT"),
    ("bsd", "BSD-3-Clause"),
    ("new bsd license", "BSD-3-Clause"),
    ("bsd license", "BSD-3-Clause"),
    ("bsd-3", "BSD-3-Clause"),
    ("3-clause bsd license", "BSD-3-Clause"),
    ("bsd-2", "BSD-2-Clause"),
    ("simplified bsd", "BSD-2-Clause"),
    ("isc license", "ISC"),
    ("gpl-2", "GPL-2.0-only"),
    ("gpl-2+", "GPL-2.0-or-later"),
    ("gpl-2.0+", "GPL-2.0-or-later"),
    ("gpl-2.0", "GPL-2.0-only"),
    ("gplv2", "GPL-2.0-only"),
    ("gplv2+", "GPL-2.0-or-later"),
    ("gpl-3", "GPL-3.0-only"),
    ("gpl-3+", "GPL-3.0-or-later"),
    ("gpl-3.0+", "GPL-3.0-or-later"),
    ("gpl-3.0", "GPL-3.0-only"),
    ("gplv3", "GPL-3.0-only"),
    ("gplv3+", "GPL-3.0-or-later"),
    ("lgpl-2", "LGPL-2.0-only"),
    ("lgpl-2+", "LGPL-2.0-or-later"),
    ("lgpl-2.1", "LGPL-2.1-only"),
    ("lgpl-2.1+", "LGPL-2.1-or-later"),
    ("lgpl-3", "LGPL-3.0-only"),
    ("lgpl-3+", "LGPL-3.0-or-later"),
    ("lgpl-3.0+", "LGPL-3.0-or-later"),
    ("mpl-2", "MPL-2.0"),
    ("mozilla public license 2.0 (mpl 2.0)", "MPL-2.0"),
    ("psf", "PSF-2.0"),
    ("python software foundation license", "PSF-2.0"),
    ("public-domain", "LicenseRef-public-domain"),
    ("zlib/libpng", "Zlib"),
    ("artistic", "Artistic-1.0"),
];

/// The SPDX identifier for a license name, when one is known.
#[must_use]
pub fn spdx_id(name: &str) -> Option<&'static str> {
    let t = name.trim();
    if let Some(id) = SPDX_IDS.iter().find(|id| id.eq_ignore_ascii_case(t)) {
        return Some(id);
    }
    let lower = t.to_ascii_lowercase();
    ALIASES
        .iter()
        .find(|(a, _)| *a == lower)
        .map(|(_, id)| *id)
        .filter(|id| !id.starts_with("LicenseRef-"))
}

/// True when `s` is an SPDX expression of known identifiers joined by
/// AND/OR/WITH (parentheses allowed).
#[must_use]
pub fn is_spdx_expression(s: &str) -> bool {
    let cleaned = s.replace(['(', ')'], " ");
    let mut expect_id = true;
    let mut any = false;
    for tok in cleaned.split_whitespace() {
        if expect_id {
            if !SPDX_IDS.contains(&tok) && !tok.ends_with('+') {
                return false;
            }
            any = true;
        } else if !matches!(tok, "AND" | "OR" | "WITH") {
            return false;
        }
        expect_id = !expect_id;
    }
    any && !expect_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_common_spellings() {
        assert_eq!(spdx_id("mit"), Some("MIT"));
        assert_eq!(spdx_id("Apache License, Version 2.0"), Some("Apache-2.0"));
        assert_eq!(spdx_id("GPL-2+"), Some("GPL-2.0-or-later"));
        assert_eq!(spdx_id("public-domain"), None);
        assert_eq!(spdx_id("Some Custom License"), None);
    }

    #[test]
    fn recognises_expressions() {
        assert!(is_spdx_expression("MIT OR Apache-2.0"));
        assert!(is_spdx_expression("(MIT AND BSD-3-Clause) OR Apache-2.0"));
        assert!(!is_spdx_expression("MIT OR"));
        assert!(!is_spdx_expression("Custom"));
        assert!(!is_spdx_expression(""));
    }
}
