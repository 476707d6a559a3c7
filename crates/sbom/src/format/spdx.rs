//! SPDX 2.3 JSON.

use serde_json::{Value, json};

use super::{DocumentInfo, document_uuid};
use crate::licenses::{is_spdx_expression, spdx_id};
use crate::package::{Package, Sbom};

/// `LicenseRef-` identifiers may hold letters, digits, `.` and `-`.
fn license_ref(name: &str) -> String {
    let body: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("LicenseRef-{body}")
}

/// The declared license expression, with unknown names as LicenseRefs
/// (collected into `extracted`).
fn declared(p: &Package, extracted: &mut std::collections::BTreeMap<String, String>) -> String {
    if p.licenses.is_empty() {
        return "NOASSERTION".to_string();
    }
    let parts: Vec<String> = p
        .licenses
        .iter()
        .map(|l| {
            if let Some(id) = spdx_id(l) {
                id.to_string()
            } else if is_spdx_expression(l) {
                if p.licenses.len() == 1 {
                    l.clone()
                } else {
                    format!("({l})")
                }
            } else {
                let r = license_ref(l);
                extracted.insert(r.clone(), l.clone());
                r
            }
        })
        .collect();
    parts.join(" AND ")
}

/// Writes `sbom` as an SPDX 2.3 JSON document.
#[must_use]
pub fn to_spdx(sbom: &Sbom, info: &DocumentInfo) -> Value {
    let mut extracted = std::collections::BTreeMap::new();
    let mut packages = vec![json!({
        "SPDXID": "SPDXRef-Target",
        "name": sbom.target,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": false,
        "primaryPackagePurpose": if sbom.image_id.is_some() { "CONTAINER" } else { "SOURCE" },
    })];
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": "SPDXRef-Target",
    })];
    if let Some(d) = &sbom.distro {
        packages.push(json!({
            "SPDXID": "SPDXRef-OperatingSystem",
            "name": d.id,
            "versionInfo": d.version_id,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "primaryPackagePurpose": "OPERATING-SYSTEM",
        }));
        relationships.push(json!({
            "spdxElementId": "SPDXRef-Target",
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": "SPDXRef-OperatingSystem",
        }));
    }
    let ids: Vec<String> = sbom
        .packages
        .iter()
        .enumerate()
        .map(|(i, p)| format!("SPDXRef-Package-{}-{i}", p.ecosystem.purl_type()))
        .collect();
    let by_purl: std::collections::HashMap<&str, &str> = sbom
        .packages
        .iter()
        .zip(&ids)
        .map(|(p, id)| (p.purl.as_str(), id.as_str()))
        .collect();
    for (p, id) in sbom.packages.iter().zip(&ids) {
        let mut pkg = json!({
            "SPDXID": id,
            "name": p.name,
            "versionInfo": p.version,
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": false,
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": declared(p, &mut extracted),
            "copyrightText": "NOASSERTION",
            "externalRefs": [{
                "referenceCategory": "PACKAGE-MANAGER",
                "referenceType": "purl",
                "referenceLocator": p.purl,
            }],
            "primaryPackagePurpose": "LIBRARY",
        });
        pkg["supplier"] = match &p.supplier {
            Some(s) => json!(format!("Person: {}", s.replace(['\n', '\r'], " "))),
            None => json!("NOASSERTION"),
        };
        let locations: Vec<&str> = p.locations.iter().map(|l| l.path.as_str()).collect();
        pkg["sourceInfo"] = json!(format!(
            "found by rampart {} in {}",
            p.cataloger,
            locations.join(", ")
        ));
        packages.push(pkg);
        // A package found inside another is contained by it, not directly
        // by the target.
        let container = p
            .parent
            .as_deref()
            .and_then(|parent| by_purl.get(parent).copied())
            .filter(|c| *c != id.as_str())
            .unwrap_or("SPDXRef-Target");
        relationships.push(json!({
            "spdxElementId": container,
            "relationshipType": "CONTAINS",
            "relatedSpdxElement": id,
        }));
    }
    let mut doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": sbom.target,
        "documentNamespace": format!("https://rampart.invalid/spdxdocs/{}", document_uuid(sbom)),
        "creationInfo": {
            "created": info.timestamp,
            "creators": [format!("Tool: rampart-{}", info.tool_version)],
        },
        "packages": packages,
        "relationships": relationships,
    });
    if !extracted.is_empty() {
        doc["hasExtractedLicensingInfos"] = Value::Array(
            extracted
                .into_iter()
                .map(|(id, text)| json!({"licenseId": id, "extractedText": text, "name": text}))
                .collect(),
        );
    }
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{Ecosystem, Package};

    fn declared_of(licenses: &[&str]) -> (String, Vec<String>) {
        let mut p = Package::new(Ecosystem::Npm, "x", "1", "t");
        p.licenses = licenses.iter().map(|s| (*s).to_string()).collect();
        let mut extracted = std::collections::BTreeMap::new();
        let d = declared(&p, &mut extracted);
        (d, extracted.into_keys().collect())
    }

    #[test]
    fn declared_licenses_stay_valid_expressions() {
        assert_eq!(declared_of(&[]).0, "NOASSERTION");
        assert_eq!(declared_of(&["mit"]).0, "MIT");
        assert_eq!(
            declared_of(&["(MIT AND BSD-3-Clause) OR Apache-2.0"]).0,
            "(MIT AND BSD-3-Clause) OR Apache-2.0"
        );
        assert_eq!(
            declared_of(&["MIT OR Apache-2.0", "ISC"]).0,
            "(MIT OR Apache-2.0) AND ISC"
        );
        let (d, refs) = declared_of(&["Custom EULA", "GPL-2+"]);
        assert_eq!(d, "LicenseRef-Custom-EULA AND GPL-2.0-or-later");
        assert_eq!(refs, ["LicenseRef-Custom-EULA"]);
    }
}
