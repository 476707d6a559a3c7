//! Package URLs, built by the purl specification's rules for each type.

use std::fmt::Write as _;

use crate::package::{Distro, Ecosystem, Package};

/// Percent-encodes everything but the unreserved characters.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// A namespace: each `/`-separated segment encoded on its own.
fn encode_path(s: &str) -> String {
    s.split('/')
        .filter(|seg| !seg.is_empty())
        .map(encode)
        .collect::<Vec<_>>()
        .join("/")
}

/// Builds `pkg:type/namespace/name@version?qualifiers`.
#[must_use]
pub fn build(
    ty: &str,
    namespace: Option<&str>,
    name: &str,
    version: &str,
    qualifiers: &[(&str, &str)],
) -> String {
    let mut out = format!("pkg:{ty}/");
    if let Some(ns) = namespace.filter(|n| !n.is_empty()) {
        out.push_str(&encode_path(ns));
        out.push('/');
    }
    out.push_str(&encode(name));
    if !version.is_empty() {
        out.push('@');
        out.push_str(&encode(version));
    }
    let mut q: Vec<(String, &str)> = qualifiers
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| (k.to_ascii_lowercase(), *v))
        .collect();
    q.sort();
    for (i, (k, v)) in q.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(k);
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

/// PEP 503 normalisation, which the pypi purl type requires.
#[must_use]
pub fn pypi_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_sep = false;
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !last_sep {
                out.push('-');
            }
            last_sep = true;
        } else {
            out.push(c.to_ascii_lowercase());
            last_sep = false;
        }
    }
    out
}

/// The purl of a package, given the target's distro (for OS packages).
#[must_use]
pub fn for_package(p: &Package, distro: Option<&Distro>) -> String {
    let distro_q = distro.map(|d| {
        if d.version_id.is_empty() {
            d.id.clone()
        } else {
            format!("{}-{}", d.id, d.version_id)
        }
    });
    let os_namespace = || {
        p.namespace
            .clone()
            .or_else(|| distro.map(|d| d.id.clone()).filter(|id| !id.is_empty()))
    };
    match p.ecosystem {
        Ecosystem::Deb | Ecosystem::Apk => {
            let mut q: Vec<(&str, &str)> = Vec::new();
            if let Some(a) = &p.arch {
                q.push(("arch", a));
            }
            if let Some(d) = &distro_q {
                q.push(("distro", d));
            }
            let upstream;
            if let Some(src) = &p.source_name
                && src != &p.name
            {
                upstream = match &p.source_version {
                    Some(v) if v != &p.version => format!("{src}@{v}"),
                    _ => src.clone(),
                };
                q.push(("upstream", &upstream));
            }
            build(
                p.ecosystem.purl_type(),
                os_namespace().as_deref(),
                &p.name,
                &p.version,
                &q,
            )
        }
        Ecosystem::Rpm => {
            let mut q: Vec<(&str, &str)> = Vec::new();
            if let Some(a) = &p.arch {
                q.push(("arch", a));
            }
            let epoch = p.epoch.map(|e| e.to_string());
            if let Some(e) = &epoch {
                q.push(("epoch", e));
            }
            if let Some(d) = &distro_q {
                q.push(("distro", d));
            }
            if let Some(src) = &p.source_name {
                q.push(("upstream", src));
            }
            build("rpm", os_namespace().as_deref(), &p.name, &p.version, &q)
        }
        Ecosystem::Pypi => build("pypi", None, &pypi_name(&p.name), &p.version, &[]),
        Ecosystem::Npm => build("npm", p.namespace.as_deref(), &p.name, &p.version, &[]),
        Ecosystem::Golang => {
            // The module path's last segment is the name, the rest the namespace.
            let full = match &p.namespace {
                Some(ns) => format!("{ns}/{}", p.name),
                None => p.name.clone(),
            };
            let (ns, name) = full
                .rsplit_once('/')
                .map_or((None, full.as_str()), |(a, b)| (Some(a), b));
            build("golang", ns, name, &p.version, &[])
        }
        Ecosystem::Composer | Ecosystem::Maven | Ecosystem::Swift | Ecosystem::Conan => build(
            p.ecosystem.purl_type(),
            p.namespace.as_deref(),
            &p.name,
            &p.version,
            &[],
        ),
        Ecosystem::Cargo | Ecosystem::Gem | Ecosystem::Nuget | Ecosystem::Pub | Ecosystem::Hex => {
            build(p.ecosystem.purl_type(), None, &p.name, &p.version, &[])
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_by_the_specification() {
        assert_eq!(
            build(
                "deb",
                Some("debian"),
                "libssl3",
                "3.0.15-1~deb12u1",
                &[("distro", "debian-12"), ("arch", "amd64")]
            ),
            "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12"
        );
        assert_eq!(
            build("npm", Some("@babel"), "core", "7.0.0", &[]),
            "pkg:npm/%40babel/core@7.0.0"
        );
        assert_eq!(
            build("deb", Some("debian"), "g++", "1:2.0+b1", &[]),
            "pkg:deb/debian/g%2B%2B@1%3A2.0%2Bb1"
        );
        assert_eq!(
            build(
                "maven",
                Some("org.apache.logging.log4j"),
                "log4j-core",
                "2.14.1",
                &[("x", "")]
            ),
            "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"
        );
    }

    #[test]
    fn pypi_names_are_normalised() {
        assert_eq!(pypi_name("Django_REST.framework"), "django-rest-framework");
        assert_eq!(pypi_name("zope.interface"), "zope-interface");
        assert_eq!(pypi_name("a__b"), "a-b");
    }

    #[test]
    fn golang_splits_the_module_path() {
        let p = Package::new(
            Ecosystem::Golang,
            "github.com/sirupsen/logrus",
            "v1.9.3",
            "t",
        );
        assert_eq!(
            for_package(&p, None),
            "pkg:golang/github.com/sirupsen/logrus@v1.9.3"
        );
    }

    #[test]
    fn os_packages_carry_distro_and_upstream() {
        let mut p = Package::new(Ecosystem::Deb, "libssl3", "3.0.15-1~deb12u1", "dpkg");
        p.arch = Some("amd64".into());
        p.source_name = Some("openssl".into());
        let d = Distro {
            id: "debian".into(),
            version_id: "12".into(),
            ..Distro::default()
        };
        assert_eq!(
            for_package(&p, Some(&d)),
            "pkg:deb/debian/libssl3@3.0.15-1~deb12u1?arch=amd64&distro=debian-12&upstream=openssl"
        );
    }
}

/// The parts of a parsed package URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purl {
    pub ty: String,
    pub namespace: Option<String>,
    pub name: String,
    pub version: Option<String>,
    pub qualifiers: Vec<(String, String)>,
}

fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Parses `pkg:type/namespace/name@version?qualifiers#subpath`.
#[must_use]
pub fn parse(purl: &str) -> Option<Purl> {
    let rest = purl.strip_prefix("pkg:")?;
    let rest = rest.split_once('#').map_or(rest, |(a, _)| a);
    let (rest, qualifiers) = match rest.split_once('?') {
        Some((a, q)) => (
            a,
            q.split('&')
                .filter_map(|kv| kv.split_once('='))
                .filter_map(|(k, v)| Some((k.to_ascii_lowercase(), decode(v)?)))
                .collect(),
        ),
        None => (rest, Vec::new()),
    };
    let (ty, path) = rest.trim_start_matches('/').split_once('/')?;
    let (path, version) = match path.rsplit_once('@') {
        Some((p, v)) if !p.is_empty() => (p, Some(decode(v)?)),
        _ => (path, None),
    };
    let segments: Vec<String> = path
        .trim_matches('/')
        .split('/')
        .map(decode)
        .collect::<Option<_>>()?;
    let (name, ns) = segments.split_last()?;
    if name.is_empty() || ty.is_empty() {
        return None;
    }
    Some(Purl {
        ty: ty.to_ascii_lowercase(),
        namespace: if ns.is_empty() {
            None
        } else {
            Some(ns.join("/"))
        },
        name: name.clone(),
        version,
        qualifiers,
    })
}

#[cfg(test)]
mod parse_tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn build_then_parse_round_trips(
            ns in proptest::option::of("[a-z@.]{1,8}(/[a-z.]{1,8})?"),
            name in "[a-zA-Z0-9 +:@%._-]{1,16}",
            version in "[a-zA-Z0-9+:~._-]{0,12}",
            arch in "[a-z0-9_]{0,6}",
        ) {
            let s = build("generic", ns.as_deref(), &name, &version, &[("arch", &arch)]);
            let p = parse(&s).unwrap();
            proptest::prop_assert_eq!(p.namespace, ns);
            proptest::prop_assert_eq!(&p.name, &name);
            proptest::prop_assert_eq!(p.version.unwrap_or_default(), version);
            let q: Vec<(String, String)> = if arch.is_empty() { vec![] } else { vec![("arch".into(), arch)] };
            proptest::prop_assert_eq!(p.qualifiers, q);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse("npm/x@1").is_none());
        assert!(parse("pkg:npm").is_none());
        assert!(parse("pkg:npm/%zz@1").is_none());
    }
}
