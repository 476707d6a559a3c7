//! Version ordering per ecosystem: tables of tricky cases, and property
//! tests that every scheme's order is total and consistent.

use std::cmp::Ordering::{self, Equal, Greater, Less};

use proptest::prelude::*;
use proptest::sample::select;
use rampart_vulndb::version::{
    MAX_VERSION_LEN, Scheme, VersionError, compare, is_valid, scheme_for_osv_ecosystem,
};

const ALL: [Scheme; 10] = [
    Scheme::Dpkg,
    Scheme::Rpm,
    Scheme::Apk,
    Scheme::Pep440,
    Scheme::Semver,
    Scheme::Go,
    Scheme::Maven,
    Scheme::RubyGems,
    Scheme::NuGet,
    Scheme::Composer,
];

fn cmp(scheme: Scheme, a: &str, b: &str) -> Ordering {
    compare(scheme, a, b).unwrap_or_else(|e| panic!("{scheme:?} {a:?} vs {b:?}: {e}"))
}

/// Every version in `list` is strictly below every later one.
fn ascending(scheme: Scheme, list: &[&str]) {
    for (i, a) in list.iter().enumerate() {
        assert_eq!(cmp(scheme, a, a), Equal, "{scheme:?} {a:?} == itself");
        for b in &list[i + 1..] {
            assert_eq!(
                cmp(scheme, a, b),
                Less,
                "{scheme:?}: expected {a:?} < {b:?}"
            );
            assert_eq!(
                cmp(scheme, b, a),
                Greater,
                "{scheme:?}: expected {b:?} > {a:?}"
            );
        }
    }
}

fn equal(scheme: Scheme, pairs: &[(&str, &str)]) {
    for (a, b) in pairs {
        assert_eq!(
            cmp(scheme, a, b),
            Equal,
            "{scheme:?}: expected {a:?} == {b:?}"
        );
        assert_eq!(
            cmp(scheme, b, a),
            Equal,
            "{scheme:?}: expected {b:?} == {a:?}"
        );
    }
}

fn invalid(scheme: Scheme, versions: &[&str]) {
    for v in versions {
        match compare(scheme, v, v) {
            Err(VersionError::Invalid {
                scheme: s, reason, ..
            }) => {
                assert_eq!(s, scheme);
                assert!(!reason.is_empty());
            }
            Ok(_) => panic!("{scheme:?}: {v:?} should be invalid"),
        }
        assert!(!is_valid(scheme, v));
    }
}

// ---------------------------------------------------------------- tables

#[test]
fn dpkg_table() {
    let s = Scheme::Dpkg;
    ascending(
        s,
        &[
            "0.9",
            "1.0~~",
            "1.0~~a",
            "1.0~",
            "1.0~beta1",
            "1.0~rc1",
            "1.0~rc1-1",
            "1.0",
            "1.0-0.1",
            "1.0-1",
            "1.0-1ubuntu0.1",
            "1.0-1ubuntu1",
            "1.0-1+deb12u1",
            "1.0-1.1",
            "1.0-2",
            "1.0-10",
            "1.0a",
            "1.0+dfsg",
            "1.0+dfsg-1",
            "1.0.0",
            "1.0.1",
            "1.1",
            "1.9",
            "1.10",
            "99999999999999999999999",
            "100000000000000000000000",
            "1:0.1",
            "1:0.1-1",
            "2:0.0.1",
            "10:0",
        ],
    );
    equal(
        s,
        &[
            ("1.0", "1.0-0"),
            ("0:1.0", "1.0"),
            ("1.01", "1.1"),
            ("1.0-1", "1.0-01"),
            ("00:1.0", "1.0"),
            ("1:2.3-4-5", "1:2.3-4-5"),
        ],
    );
    // `:` and `-` inside the upstream version need an epoch and a revision.
    ascending(s, &["1:2.3-4-5", "1:2.3-5-1", "1:2.3:4-1"]);
    invalid(
        s,
        &[
            "", "a1.0", "1.0-", ":1.0", "x:1.0", "1:", "1.0 1", "1.0_1", "1.0-1_2", "-1", "é1",
        ],
    );
}

#[test]
fn rpm_table() {
    let s = Scheme::Rpm;
    ascending(
        s,
        &[
            "0.9",
            "1.0~rc1",
            "1.0~rc2",
            "1.0",
            "1.0^",
            "1.0^git1",
            "1.0^git2",
            "1.0A",
            "1.0a",
            "1.0.0",
            "1.0.1~rc1",
            "1.0.1-1.el9",
            "1.0.1-2.el9",
            "1.0.1-2.el9_1",
            "1.0.1-2.el9_1.1",
            "1.0.1-10.el9",
            "1.1",
            "1.1a",
            "1.2",
            "1.10",
            "2",
            "0:3",
            "1:0.1",
            "1:0.1-1",
            "2:0",
        ],
    );
    // Release: missing sorts before any release, as in rpm's `rpm.vercmp`.
    ascending(
        s,
        &["2.0", "2.0-~1", "2.0-0", "2.0-1", "2.0-1.el9", "2.0-1.1"],
    );
    // Letters sort below digits; separators only separate.
    ascending(s, &["1.a", "1.b", "1.0", "1.1"]);
    equal(
        s,
        &[
            ("1.01", "1.1"),
            ("1_0", "1.0"),
            ("1.0.", "1.0"),
            ("1+0", "1.0"),
            ("0:1.0-1", "1.0-1"),
            (":1.0", "1.0"),
            ("1.0a", "1.0.a"),
            ("1.1a", "1.1.a"),
        ],
    );
    invalid(s, &["", "a:1", "1.0-", "1 0", "-1", "1:2:3", "1.0\t"]);
}

#[test]
fn apk_table() {
    let s = Scheme::Apk;
    ascending(
        s,
        &[
            "0.9",
            "1.0_alpha",
            "1.0_alpha1",
            "1.0_alpha2",
            "1.0_alpha10",
            "1.0_beta",
            "1.0_beta1-r3",
            "1.0_pre1",
            "1.0_rc1",
            "1.0_rc1-r1",
            "1.0",
            "1.0-r0",
            "1.0-r1",
            "1.0-r10",
            "1.0~abc",
            "1.0~abd-r1",
            "1.0_cvs",
            "1.0_svn",
            "1.0_git20240101",
            "1.0_hg",
            "1.0_p",
            "1.0_p0",
            "1.0_p1",
            "1.0_p1_p1",
            "1.0_p2-r1",
            "1.0a_rc1",
            "1.0a",
            "1.0a-r1",
            "1.0b",
            "1.0z",
            "1.0.0_rc1",
            "1.0.0",
            "1.0.1",
            "1.1",
            "2",
            "20230101",
        ],
    );
    // A dotted number with a leading zero compares as a string.
    ascending(
        s,
        &[
            "1.0", "1.00", "1.001", "1.009", "1.01", "1.1", "1.2", "1.10",
        ],
    );
    equal(
        s,
        &[
            ("01.0", "1.0"),
            ("1.0_p0", "1.0_p00"),
            ("1.0-r01", "1.0-r1"),
            ("99999999999999999999999.0", "099999999999999999999999.0"),
        ],
    );
    invalid(
        s,
        &[
            "",
            "a1",
            "v1.0",
            "1.0-1",
            "1.0_foo",
            "1.0ab",
            "1.0a.1",
            "1..0",
            "1.",
            "1.0-r",
            "1.0~",
            "1.0-r1-r2",
            "1.0_rc1a",
            "1.0-r1_p1",
            "1.0A",
            "1.0_RC1",
            "1.0~xyz",
            "1.0 ",
        ],
    );
}

#[test]
fn pep440_table() {
    let s = Scheme::Pep440;
    // The example order from PEP 440 / packaging, and more.
    ascending(
        s,
        &[
            "0.9",
            "1.0.dev0",
            "1.0.dev456",
            "1.0a1",
            "1.0a2.dev456",
            "1.0a12.dev456",
            "1.0a12",
            "1.0b1.dev456",
            "1.0b2",
            "1.0b2.post345.dev456",
            "1.0b2.post345",
            "1.0rc1.dev456",
            "1.0rc1",
            "1.0",
            "1.0+abc",
            "1.0+abc.5",
            "1.0+abc.7",
            "1.0+abd",
            "1.0+5",
            "1.0+5.a",
            "1.0+6",
            "1.0+10",
            "1.0.post456.dev34",
            "1.0.post456",
            "1.0.post456+local",
            "1.0.15",
            "1.1.dev1",
            "1.1",
            "2.0",
            "10.0",
            "1!0.1",
            "1!1.0",
            "2!0.0.dev0",
        ],
    );
    equal(
        s,
        &[
            ("1.0", "1.0.0"),
            ("1", "1.0.0.0"),
            ("1.0alpha1", "1.0a1"),
            ("1.0-ALPHA-1", "1.0a1"),
            ("1.0beta2", "1.0b2"),
            ("1.0-c1", "1.0rc1"),
            ("1.0pre1", "1.0rc1"),
            ("1.0preview1", "1.0rc1"),
            ("1.0RC1", "1.0rc1"),
            ("1.0a", "1.0a0"),
            ("1.0-1", "1.0.post1"),
            ("1.0-r1", "1.0.post1"),
            ("1.0rev", "1.0.post0"),
            ("1.0.post", "1.0.post0"),
            ("1.0_post_2", "1.0.post2"),
            ("1.0.DEV", "1.0.dev0"),
            ("1.0-dev-3", "1.0.dev3"),
            ("v1.0", "1.0"),
            ("V1.0", "1.0"),
            ("0!1.0", "1.0"),
            (" 1.0\n", "1.0"),
            ("1.0_a_1", "1.0a1"),
            ("1.0+ubuntu-1", "1.0+ubuntu.1"),
            ("1.0+Ubuntu_1", "1.0+ubuntu.1"),
            ("1.0+01", "1.0+1"),
            ("01.02", "1.2"),
            ("1.0a1.post2.dev3", "1.0a1-2.dev3"),
            ("1.0a-", "1.0a0"),
            ("1.0.post.", "1.0.post0"),
            ("1.0a--1", "1.0a0.post1"),
        ],
    );
    invalid(
        s,
        &[
            "",
            "1.0.",
            ".1",
            "1.0+",
            "1.0+a..b",
            "1.0+a+b",
            "1.0-",
            "a1.0",
            "1.0a1a",
            "1.0 .1",
            "1.0.post1.post2",
            "1.0.dev1.a1",
            "1!",
            "1.0.dev1.post1",
            "vv1.0",
            "1,0",
            "1.0+é",
            "1.0-1-1",
        ],
    );
}

#[test]
fn semver_table() {
    let s = Scheme::Semver;
    // The precedence example of SemVer 2.0.0, §11, and more.
    ascending(
        s,
        &[
            "0.0.0",
            "0.0.1",
            "0.1.0",
            "1.0.0-0",
            "1.0.0-1",
            "1.0.0-10",
            "1.0.0-A",
            "1.0.0-a",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.1.1",
            "1.0.0-alpha.2",
            "1.0.0-alpha.beta",
            "1.0.0-alpha-1",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.1.0",
            "1.10.0",
            "2.0.0",
            "10.0.0",
            "99999999999999999999.0.0",
            "100000000000000000000.0.0",
        ],
    );
    equal(
        s,
        &[
            ("1.0.0+build.1", "1.0.0+build.2"),
            ("1.0.0-rc.1+x", "1.0.0-rc.1"),
            ("1.0.0+0001", "1.0.0"),
        ],
    );
    invalid(
        s,
        &[
            "",
            "v1.0.0",
            "=1.0.0",
            "1.0",
            "1",
            "01.0.0",
            "1.00.0",
            "1.0.0-01",
            "1.0.0-",
            "1.0.0-a..b",
            "1.0.0+",
            "1.0.0+a..b",
            "1.0.0.0",
            " 1.0.0",
            "1.0.0-α",
            "1.0.0-a_b",
            "a.b.c",
        ],
    );
}

#[test]
fn go_table() {
    let s = Scheme::Go;
    ascending(
        s,
        &[
            "v0.0.0-20190101000000-abcdefabcdef",
            "v0.0.0-20200101000000-abcdefabcdef",
            "v0.0.1",
            "v0.1.0",
            "v1.2.3",
            "v1.2.4-0.20230101000000-abcdefabcdef",
            "v1.2.4-0.20240101000000-abcdefabcdef",
            "v1.2.4",
            "v1.3.0-pre",
            "v1.3.0-pre.0.20240101000000-abcdefabcdef",
            "v1.3.0-pre.1",
            "v1.3.0",
            "v2.0.0+incompatible",
            "v2.0.1",
            "v17.0.0",
        ],
    );
    equal(
        s,
        &[
            ("v1.2.3", "1.2.3"),
            ("v2.0.0+incompatible", "v2.0.0"),
            ("2.0.0+incompatible", "v2.0.0"),
            ("v1.2", "v1.2.0"),
            ("v1", "v1.0.0"),
        ],
    );
    invalid(
        s,
        &[
            "",
            "v",
            "vv1.0.0",
            "v01.0.0",
            "v1.2-pre",
            "v1.2+meta",
            "1.2",
            "1",
            "v1.0.0-01",
            "v1.2.3.4",
            "V1.2.3",
        ],
    );
}

#[test]
fn maven_table() {
    let s = Scheme::Maven;
    ascending(
        s,
        &[
            "1-alpha-1",
            "1-alpha-2",
            "1-alpha-10",
            "1-beta-1",
            "1-milestone-1",
            "1-rc-1",
            "1-snapshot",
            "1",
            "1-sp",
            "1-sp-1",
            "1-abc",
            "1-foo",
            "1-foo2",
            "1-foo10",
            "1-1",
            "1.1",
            "1.2",
            "1.10",
            "2",
        ],
    );
    // The sorted list of the "Maven versions explained" style.
    ascending(
        s,
        &[
            "1.0a1-SNAPSHOT",
            "1.0-alpha1",
            "1.0beta1-SNAPSHOT",
            "1.0-b2",
            "1.0-beta3.SNAPSHOT",
            "1.0-beta3",
            "1.0-milestone1-SNAPSHOT",
            "1.0-m2",
            "1.0-rc1-SNAPSHOT",
            "1.0-cr2",
            "1.0-SNAPSHOT",
            "1.0",
            "1.0-sp",
            "1.0-whatever",
            "1.0.1",
        ],
    );
    ascending(
        s,
        &[
            "2.17.0-rc1",
            "2.17.0",
            "2.17.1",
            "2.17.2",
            "2.18.0",
            "2.18.0.1",
        ],
    );
    equal(
        s,
        &[
            ("1", "1.0"),
            ("1", "1.0.0"),
            ("1", "1-ga"),
            ("1", "1.final"),
            ("1", "1-FINAL"),
            ("1", "1-release"),
            ("1", "1-0"),
            ("1", "1."),
            ("1", "1-"),
            ("1.foo", "1-foo"),
            ("1-a1", "1-alpha-1"),
            ("1-b1", "1-beta-1"),
            ("1-M1", "1-milestone-1"),
            ("1-rc1", "1-cr1"),
            ("1alpha1", "1-alpha-1"),
            ("1.0.0-foo.0.0", "1-foo"),
            ("1.0.0-0.0.0", "1"),
            ("1.0-1", "1-1"),
            ("1-01", "1-1"),
            // Nulls are trimmed before every `-` (the specification's
            // `1-0-2 == 1-2`); Maven 3.8 nests these differently.
            ("1-0-2", "1-2"),
            ("3-ga-sp1", "3-sp-1"),
        ],
    );
    // A list compared with padding looks at all of it (MNG-6964).
    ascending(s, &["1", "1-0.1", "1-0.2"]);
    // `a` means alpha only directly before a digit.
    ascending(s, &["1-alpha", "1", "1-a"]);
    invalid(s, &["", "1 0", "1.0\n", "1.0é"]);
}

#[test]
fn rubygems_table() {
    let s = Scheme::RubyGems;
    ascending(
        s,
        &[
            "0.9",
            "1.0.a",
            "1.0.a.1",
            "1.0.a2",
            "1.0.b1",
            "1.0.pre",
            "1.0.rc1",
            "1.0.rc2",
            "1.0.rc10",
            "1.0",
            "1.0.1",
            "1.1",
            "1.9",
            "1.10",
            "2.0.0-beta",
            "2.0.0.rc1",
            "2.0",
            "99999999999999999999999",
        ],
    );
    // `-` reads as `.pre.`; `pre` sorts below `rc`.
    ascending(s, &["1.0.0-rc1", "1.0.0.rc1"]);
    equal(
        s,
        &[
            ("1.0", "1"),
            ("1.0.0", "1"),
            ("1.0.a", "1.a"),
            ("1.0a", "1.0.a"),
            ("1.a.0", "1.a"),
            ("1.0-1", "1.0.pre.1"),
            (" 1.0 ", "1"),
            ("1.01", "1.1"),
        ],
    );
    ascending(s, &["1.0.A", "1.0.a"]);
    invalid(
        s,
        &[
            "", "a", "1a", "1..0", "1.0.", ".1", "1.0-", "1.0-a..b", "1.0_1", "v1.0",
        ],
    );
}

#[test]
fn nuget_table() {
    let s = Scheme::NuGet;
    ascending(
        s,
        &[
            "0.9",
            "1.0.0-0",
            "1.0.0-2",
            "1.0.0-10",
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.0.1",
            "1.0.1",
            "1.1",
            "1.10",
            "2",
        ],
    );
    equal(
        s,
        &[
            ("1", "1.0.0.0"),
            ("1.0", "1.0.0"),
            ("1.01", "1.1.0"),
            ("1.0.0-Beta", "1.0.0-beta"),
            ("1.0.0-RC.1", "1.0.0-rc.1"),
            ("1.0.0-rc.01", "1.0.0-rc.1"),
            ("1.0.0+abc", "1.0.0+def"),
            ("1.0.0-rc+abc", "1.0.0-rc"),
        ],
    );
    invalid(
        s,
        &[
            "",
            "v1.0",
            "1.0.0.0.0",
            "1..0",
            "1.0-",
            "1.0-a..b",
            "1.0+",
            "a",
            "1.0.0-é",
            " 1.0",
        ],
    );
}

#[test]
fn composer_table() {
    let s = Scheme::Composer;
    ascending(
        s,
        &[
            "0.9",
            "1.0.0-dev",
            "1.0.0-alpha",
            "1.0.0-alpha1",
            "1.0.0-alpha2",
            "1.0.0-alpha10",
            "1.0.0-beta1-dev",
            "1.0.0-beta1",
            "1.0.0-beta.2",
            "1.0.0-RC1",
            "1.0.0-rc2",
            "1.0.0",
            "1.0.0-patch1",
            "1.0.0-p2",
            "1.0.0.1",
            "1.0.1",
            "1.x-dev",
            "2.0",
            "20240115",
        ],
    );
    equal(
        s,
        &[
            ("1.0", "1.0.0.0"),
            ("v1.0.0", "1.0.0"),
            ("1.0.0-b1", "1.0.0-beta1"),
            ("1.0.0-a1", "1.0.0-alpha.1"),
            ("1.0.0beta1", "1.0.0-beta1"),
            ("1.0.0-pl1", "1.0.0-patch1"),
            ("1.0.0-stable", "1.0.0"),
            ("1.0.0-BETA1", "1.0.0-beta1"),
            ("1.0.0+build5", "1.0.0"),
            ("1.0.0@beta", "1.0.0"),
            ("1.2-dev", "1.2.0.0-dev"),
            ("1.x-dev", "1.9999999.9999999.9999999-dev"),
            ("2.1.*-dev", "2.1.9999999.9999999-dev"),
        ],
    );
    invalid(
        s,
        &[
            "",
            "dev-master",
            "dev-feature/foo",
            "master",
            "1.0.0.0.0",
            "123456.0",
            "1.0.0-foo",
            "1.0.0-beta1-foo",
            "1.0 as 2.0",
            "2024-01-15.1",
            "x.1",
        ],
    );
}

#[test]
fn too_long_or_strange_input_is_an_error() {
    let long = format!("1.{}", "0".repeat(MAX_VERSION_LEN));
    for scheme in ALL {
        assert!(!is_valid(scheme, &long), "{scheme:?}");
        assert!(compare(scheme, "1.0", &long).is_err());
        assert!(compare(scheme, "\u{0}", "1.0").is_err());
    }
}

#[test]
fn osv_ecosystems_map_to_schemes() {
    assert_eq!(scheme_for_osv_ecosystem("Debian:12"), Some(Scheme::Dpkg));
    assert_eq!(scheme_for_osv_ecosystem("Alpine:v3.20"), Some(Scheme::Apk));
    assert_eq!(scheme_for_osv_ecosystem("PyPI"), Some(Scheme::Pep440));
    assert_eq!(
        scheme_for_osv_ecosystem("Packagist"),
        Some(Scheme::Composer)
    );
    assert_eq!(scheme_for_osv_ecosystem("GIT"), None);
}

// ---------------------------------------------------------------- properties

fn concat(parts: Vec<&'static str>) -> String {
    parts.concat()
}

fn dpkg_version() -> impl Strategy<Value = String> {
    let piece = select(vec![
        "0", "1", "2", "10", "01", "a", "b", "Z", "~", "+", ".",
    ]);
    (
        select(vec!["", "0:", "1:", "2:"]),
        select(vec!["0", "1", "2", "10"]),
        prop::collection::vec(piece, 0..6).prop_map(concat),
        prop::option::of(
            prop::collection::vec(select(vec!["0", "1", "a", "~", "+", ".", "ubuntu"]), 1..4)
                .prop_map(concat),
        ),
    )
        .prop_map(|(e, d, up, rev)| match rev {
            Some(r) => format!("{e}{d}{up}-{r}"),
            None => format!("{e}{d}{up}"),
        })
}

fn rpm_version() -> impl Strategy<Value = String> {
    let piece = || {
        select(vec![
            "0", "1", "2", "10", "01", "a", "b", "A", "~", "^", ".", "_", "+",
        ])
    };
    (
        select(vec!["", "0:", "1:"]),
        prop::collection::vec(piece(), 1..6).prop_map(concat),
        prop::option::of(prop::collection::vec(piece(), 1..4).prop_map(concat)),
    )
        .prop_map(|(e, v, r)| match r {
            Some(r) => format!("{e}{v}-{r}"),
            None => format!("{e}{v}"),
        })
}

fn apk_version() -> impl Strategy<Value = String> {
    let dotted = prop::collection::vec(
        select(vec![".0", ".1", ".2", ".10", ".01", ".001", ".00"]),
        0..3,
    );
    let suffix = (
        select(vec![
            "_alpha", "_beta", "_pre", "_rc", "_cvs", "_svn", "_git", "_hg", "_p",
        ]),
        select(vec!["", "0", "1", "2", "10"]),
    )
        .prop_map(|(a, b)| format!("{a}{b}"));
    (
        select(vec!["0", "1", "2", "10", "01"]),
        dotted.prop_map(concat),
        select(vec!["", "", "a", "b", "z"]),
        prop::collection::vec(suffix, 0..3).prop_map(|v| v.concat()),
        select(vec!["", "", "~ab", "~abc", "~0f"]),
        select(vec!["", "-r0", "-r1", "-r2", "-r10"]),
    )
        .prop_map(|(a, b, c, d, e, f)| format!("{a}{b}{c}{d}{e}{f}"))
}

fn pep440_version() -> impl Strategy<Value = String> {
    (
        select(vec!["", "", "v", "1!", "0!"]),
        prop::collection::vec(select(vec!["0", "1", "2", "10", "01"]), 1..4)
            .prop_map(|v| v.join(".")),
        select(vec![
            "", "", "a", "a1", "b2", "rc1", "c1", "alpha", "pre3", ".beta.1", "RC0",
        ]),
        select(vec![
            "", "", ".post1", "-1", ".post", "post2", ".r1", ".post0",
        ]),
        select(vec!["", "", ".dev", ".dev1", "dev2", "-DEV0"]),
        select(vec![
            "", "", "+a", "+1", "+a.1", "+1.a", "+abc.5", "+01", "+a-b",
        ]),
    )
        .prop_map(|(a, b, c, d, e, f)| format!("{a}{b}{c}{d}{e}{f}"))
}

fn semver_core() -> impl Strategy<Value = String> {
    let n = || select(vec!["0", "1", "2", "10"]);
    let id = select(vec![
        "0", "1", "2", "10", "a", "b", "alpha", "alpha-1", "A", "-", "rc",
    ]);
    (
        n(),
        n(),
        n(),
        prop::option::of(prop::collection::vec(id, 1..4).prop_map(|v| v.join("."))),
        select(vec!["", "", "+b", "+1.x", "+incompatible"]),
    )
        .prop_map(|(a, b, c, pre, build)| match pre {
            Some(p) => format!("{a}.{b}.{c}-{p}{build}"),
            None => format!("{a}.{b}.{c}{build}"),
        })
}

fn go_version() -> impl Strategy<Value = String> {
    let pseudo = (
        select(vec!["0.0.0-", "1.2.4-0.", "1.3.0-pre.0.", "2.0.0-"]),
        select(vec!["20190101000000", "20200101000000", "20240101120000"]),
        select(vec!["-abcdefabcdef", "-123456789012"]),
    )
        .prop_map(|(a, b, c)| format!("{a}{b}{c}"));
    (select(vec!["v", ""]), prop_oneof![semver_core(), pseudo]).prop_map(|(v, s)| format!("{v}{s}"))
}

fn maven_version() -> impl Strategy<Value = String> {
    prop::collection::vec(
        select(vec![
            "0", "1", "2", "10", "01", ".", ".", "-", "-", "a", "b", "m", "alpha", "beta", "rc",
            "cr", "snapshot", "ga", "final", "release", "sp", "foo", "x", "SNAPSHOT", "RC",
        ]),
        1..8,
    )
    .prop_map(concat)
}

fn rubygems_version() -> impl Strategy<Value = String> {
    (
        select(vec!["0", "1", "2", "10"]),
        prop::collection::vec(
            select(vec![
                ".0", ".1", ".a", ".b", ".10", ".pre", ".rc1", ".0a", ".A",
            ]),
            0..5,
        )
        .prop_map(concat),
        select(vec!["", "", "-1", "-beta", "-a.1", "-rc-1"]),
    )
        .prop_map(|(a, b, c)| format!("{a}{b}{c}"))
}

fn nuget_version() -> impl Strategy<Value = String> {
    let id = select(vec![
        "0", "1", "01", "10", "a", "A", "beta", "Beta", "rc", "-",
    ]);
    (
        prop::collection::vec(select(vec!["0", "1", "2", "10", "01"]), 1..5)
            .prop_map(|v| v.join(".")),
        prop::option::of(prop::collection::vec(id, 1..4).prop_map(|v| v.join("."))),
        select(vec!["", "", "+meta", "+1.x"]),
    )
        .prop_map(|(core, label, meta)| match label {
            Some(l) => format!("{core}-{l}{meta}"),
            None => format!("{core}{meta}"),
        })
}

fn composer_version() -> impl Strategy<Value = String> {
    let classical = (
        select(vec!["", "v"]),
        prop::collection::vec(select(vec!["0", "1", "2", "10", "01"]), 1..5)
            .prop_map(|v| v.join(".")),
        select(vec![
            "", "", "-alpha", "-alpha1", "a2", "-beta.1", "-b", "-RC1", "-rc.2", "-patch1", "-p",
            "pl2", "-stable", "-beta1.2",
        ]),
        select(vec!["", "", "-dev"]),
        select(vec!["", "", "+build"]),
    )
        .prop_map(|(a, b, c, d, e)| format!("{a}{b}{c}{d}{e}"));
    prop_oneof![
        4 => classical,
        1 => select(vec!["1.x-dev", "2.1.*-dev", "1.0.x-dev", "20240115", "202401151230"])
            .prop_map(str::to_string),
    ]
}

fn strategy(scheme: Scheme) -> BoxedStrategy<String> {
    match scheme {
        Scheme::Dpkg => dpkg_version().boxed(),
        Scheme::Rpm => rpm_version().boxed(),
        Scheme::Apk => apk_version().boxed(),
        Scheme::Pep440 => pep440_version().boxed(),
        Scheme::Semver => semver_core().boxed(),
        Scheme::Go => go_version().boxed(),
        Scheme::Maven => maven_version().boxed(),
        Scheme::RubyGems => rubygems_version().boxed(),
        Scheme::NuGet => nuget_version().boxed(),
        _ => composer_version().boxed(),
    }
}

/// Reflexive, antisymmetric and transitive on one triple.
fn check_triple(scheme: Scheme, a: &str, b: &str, c: &str) -> Result<(), TestCaseError> {
    for v in [a, b, c] {
        prop_assert!(
            is_valid(scheme, v),
            "{:?}: generated {:?} is invalid",
            scheme,
            v
        );
        prop_assert_eq!(cmp(scheme, v, v), Equal);
    }
    let (ab, bc, ac) = (cmp(scheme, a, b), cmp(scheme, b, c), cmp(scheme, a, c));
    prop_assert_eq!(
        ab,
        cmp(scheme, b, a).reverse(),
        "antisymmetry {:?} {:?}",
        a,
        b
    );
    prop_assert_eq!(
        bc,
        cmp(scheme, c, b).reverse(),
        "antisymmetry {:?} {:?}",
        b,
        c
    );
    prop_assert_eq!(
        ac,
        cmp(scheme, c, a).reverse(),
        "antisymmetry {:?} {:?}",
        a,
        c
    );
    if ab == bc {
        prop_assert_eq!(ac, ab, "transitivity {:?} {:?} {:?}", a, b, c);
    }
    if ab == Equal {
        prop_assert_eq!(ac, bc, "equality {:?} == {:?}, {:?}", a, b, c);
    }
    if bc == Equal {
        prop_assert_eq!(ac, ab, "equality {:?} == {:?}, {:?}", b, c, a);
    }
    Ok(())
}

/// After sorting with the scheme's order, every pair is in order.
fn check_sorted(scheme: Scheme, mut list: Vec<String>) -> Result<(), TestCaseError> {
    list.sort_by(|a, b| cmp(scheme, a, b));
    for (i, a) in list.iter().enumerate() {
        for b in &list[i + 1..] {
            prop_assert_ne!(cmp(scheme, a, b), Greater, "{:?} sorted before {:?}", a, b);
        }
    }
    Ok(())
}

macro_rules! order_properties {
    ($($name:ident => $scheme:expr;)*) => {
        $(
            mod $name {
                use super::*;

                proptest! {
                    #![proptest_config(ProptestConfig::with_cases(512))]

                    #[test]
                    fn total_order(
                        (a, b, c) in (strategy($scheme), strategy($scheme), strategy($scheme))
                    ) {
                        check_triple($scheme, &a, &b, &c)?;
                    }

                    #[test]
                    fn sorting_is_consistent(
                        list in prop::collection::vec(strategy($scheme), 2..12)
                    ) {
                        check_sorted($scheme, list)?;
                    }

                    #[test]
                    fn arbitrary_input_never_panics(s in "\\PC{0,40}|[0-9a-z.~^_+:-]{0,300}") {
                        let _ = compare($scheme, &s, "1.0.0");
                        let _ = compare($scheme, &s, &s);
                    }
                }
            }
        )*
    };
}

order_properties! {
    dpkg_props => Scheme::Dpkg;
    rpm_props => Scheme::Rpm;
    apk_props => Scheme::Apk;
    pep440_props => Scheme::Pep440;
    semver_props => Scheme::Semver;
    go_props => Scheme::Go;
    maven_props => Scheme::Maven;
    rubygems_props => Scheme::RubyGems;
    nuget_props => Scheme::NuGet;
    composer_props => Scheme::Composer;
}
