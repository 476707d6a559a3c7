//! Reading CycloneDX (1.4-1.6) and SPDX (2.2/2.3) JSON documents back into
//! packages, for `sbom:` targets.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::error::SbomError;
use crate::package::{Distro, Ecosystem, Location, Package, Sbom};
use crate::purl;

/// Largest SBOM document read.
const MAX_SBOM_BYTES: u64 = 512 << 20;

fn ecosystem_of(ty: &str) -> Option<Ecosystem> {
    Some(match ty {
        "deb" => Ecosystem::Deb,
        "apk" => Ecosystem::Apk,
        "rpm" => Ecosystem::Rpm,
        "pypi" => Ecosystem::Pypi,
        "npm" => Ecosystem::Npm,
        "cargo" => Ecosystem::Cargo,
        "golang" => Ecosystem::Golang,
        "maven" => Ecosystem::Maven,
        "gem" => Ecosystem::Gem,
        "composer" => Ecosystem::Composer,
        "nuget" => Ecosystem::Nuget,
        "pub" => Ecosystem::Pub,
        "hex" => Ecosystem::Hex,
        "swift" => Ecosystem::Swift,
        "conan" => Ecosystem::Conan,
        _ => return None,
    })
}

/// A package from a purl (and the document's name and version, which win
/// when present: purls normalise some names).
fn package_from(
    purl_text: &str,
    name: Option<&str>,
    version: Option<&str>,
    cataloger: &str,
    loc: &str,
) -> Option<Package> {
    let parsed = purl::parse(purl_text)?;
    let eco = ecosystem_of(&parsed.ty)?;
    let mut p = Package::new(
        eco,
        name.filter(|n| !n.is_empty() && eco != Ecosystem::Golang)
            .unwrap_or(&parsed.name),
        version.or(parsed.version.as_deref()).unwrap_or(""),
        cataloger,
    );
    p.namespace = parsed.namespace;
    if eco == Ecosystem::Golang {
        // Keep the whole module path as the name, as catalogers do.
        if let Some(ns) = p.namespace.take() {
            p.name = format!("{ns}/{}", parsed.name);
        }
    }
    for (k, v) in &parsed.qualifiers {
        match k.as_str() {
            "arch" => p.arch = Some(v.clone()),
            "epoch" => p.epoch = v.parse().ok(),
            "upstream" => {
                let (n, ver) = v
                    .split_once('@')
                    .map_or((v.as_str(), None), |(a, b)| (a, Some(b)));
                p.source_name = Some(n.to_string());
                p.source_version = ver.map(str::to_string);
            }
            _ => {}
        }
    }
    p.purl = purl_text.to_string();
    p.locations = BTreeSet::from([Location {
        path: loc.to_string(),
        layer: None,
    }]);
    Some(p)
}

fn cyclonedx_components(list: &[Value], loc: &str, out: &mut Vec<Package>) {
    for c in list {
        if let Some(purl_text) = c.get("purl").and_then(Value::as_str)
            && let Some(mut p) = package_from(
                purl_text,
                c.get("name").and_then(Value::as_str),
                c.get("version").and_then(Value::as_str),
                "cyclonedx",
                loc,
            )
        {
            if let Some(ls) = c.get("licenses").and_then(Value::as_array) {
                for l in ls {
                    let text = l
                        .get("expression")
                        .and_then(Value::as_str)
                        .or_else(|| l.pointer("/license/id").and_then(Value::as_str))
                        .or_else(|| l.pointer("/license/name").and_then(Value::as_str));
                    if let Some(t) = text {
                        p.licenses.push(t.to_string());
                    }
                }
            }
            out.push(p);
        }
        if let Some(nested) = c.get("components").and_then(Value::as_array) {
            cyclonedx_components(nested, loc, out);
        }
    }
}

/// Splits `debian-12`, `alpine-3.20.1`, `ubuntu-22.04` (a purl's `distro`
/// qualifier) into id and version.
fn split_distro(text: &str) -> Option<(String, String)> {
    let (id, version) = text.rsplit_once('-')?;
    (!id.is_empty() && version.starts_with(|c: char| c.is_ascii_digit()))
        .then(|| (id.to_ascii_lowercase(), version.to_string()))
}

/// The operating system a document describes: the `distro` qualifier most
/// OS package purls carry (as Rampart, syft and trivy write them), else
/// CycloneDX's `operating-system` component. Without either, OS packages
/// cannot be matched to their distribution's advisories.
fn distro_of(doc: &Value, packages: &[Package]) -> Option<Distro> {
    let mut votes: std::collections::BTreeMap<(String, String), usize> =
        std::collections::BTreeMap::new();
    for p in packages.iter().filter(|p| p.ecosystem.is_os()) {
        let Some(parsed) = purl::parse(&p.purl) else {
            continue;
        };
        if let Some((id, version)) = parsed
            .qualifiers
            .iter()
            .find(|(k, _)| k == "distro")
            .and_then(|(_, v)| split_distro(v))
        {
            *votes.entry((id, version)).or_insert(0) += 1;
        }
    }
    let best = votes
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(k, _)| k)
        .or_else(|| {
            let mut comps: Vec<&Value> = Vec::new();
            if let Some(c) = doc.pointer("/metadata/component") {
                comps.push(c);
            }
            comps.extend(
                doc.get("components")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten(),
            );
            comps.into_iter().find_map(|c| {
                (c.get("type").and_then(Value::as_str) == Some("operating-system"))
                    .then(|| {
                        let id = c.get("name").and_then(Value::as_str)?;
                        let v = c.get("version").and_then(Value::as_str)?;
                        Some((id.to_ascii_lowercase(), v.to_string()))
                    })
                    .flatten()
            })
        })?;
    Some(Distro {
        id: best.0,
        version_id: best.1,
        pretty_name: String::new(),
        id_like: Vec::new(),
        version_codename: None,
        distroless: false,
    })
}

/// Reads an SBOM document.
///
/// # Errors
/// The file cannot be read, is not JSON, or is neither CycloneDX nor SPDX.
pub fn read_sbom(path: &Path, target: &str) -> Result<Sbom, SbomError> {
    let io = |e| SbomError::Io {
        path: path.display().to_string(),
        source: e,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let not = |reason: String| SbomError::NotAnSbom {
        path: path.display().to_string(),
        reason,
    };
    if meta.len() > MAX_SBOM_BYTES {
        return Err(not(format!("larger than {MAX_SBOM_BYTES} bytes")));
    }
    let data = std::fs::read(path).map_err(io)?;
    let doc: Value = serde_json::from_slice(&data).map_err(|e| not(e.to_string()))?;
    let loc = path.display().to_string();
    let mut packages = Vec::new();
    if doc.get("bomFormat").and_then(Value::as_str) == Some("CycloneDX") {
        let spec = doc.get("specVersion").and_then(Value::as_str).unwrap_or("");
        if !matches!(spec, "1.4" | "1.5" | "1.6") {
            return Err(not(format!(
                "CycloneDX specVersion {spec:?} (1.4 to 1.6 are read)"
            )));
        }
        if let Some(list) = doc.get("components").and_then(Value::as_array) {
            cyclonedx_components(list, &loc, &mut packages);
        }
    } else if let Some(v) = doc.get("spdxVersion").and_then(Value::as_str) {
        if !matches!(v, "SPDX-2.2" | "SPDX-2.3") {
            return Err(not(format!("{v} (SPDX-2.2 and SPDX-2.3 are read)")));
        }
        for p in doc
            .get("packages")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let refs = p.get("externalRefs").and_then(Value::as_array);
            let purl_text = refs.into_iter().flatten().find_map(|r| {
                (r.get("referenceType").and_then(Value::as_str) == Some("purl"))
                    .then(|| r.get("referenceLocator").and_then(Value::as_str))
                    .flatten()
            });
            let Some(purl_text) = purl_text else { continue };
            if let Some(mut pkg) = package_from(
                purl_text,
                p.get("name").and_then(Value::as_str),
                p.get("versionInfo").and_then(Value::as_str),
                "spdx",
                &loc,
            ) {
                if let Some(l) = p.get("licenseDeclared").and_then(Value::as_str)
                    && l != "NOASSERTION"
                    && l != "NONE"
                {
                    pkg.licenses.push(l.to_string());
                }
                packages.push(pkg);
            }
        }
    } else {
        return Err(not(
            "neither bomFormat CycloneDX nor an spdxVersion".to_string()
        ));
    }
    packages.sort_by(|a, b| {
        (a.ecosystem, &a.name, &a.version).cmp(&(b.ecosystem, &b.name, &b.version))
    });
    packages.dedup_by(|a, b| a.purl == b.purl);
    let distro = distro_of(&doc, &packages);
    Ok(Sbom {
        target: target.to_string(),
        kind: "sbom".to_string(),
        distro,
        image_id: None,
        image_reference: None,
        packages,
        skips: Vec::new(),
    })
}
