//! CycloneDX 1.6 JSON.

use serde_json::{Value, json};

use super::{DocumentInfo, document_uuid};
use crate::licenses::{is_spdx_expression, spdx_id};
use crate::package::{Package, Sbom};

/// The `bom-ref` of a package: its purl, made unique with an index when two
/// packages share one.
fn bom_refs(packages: &[Package]) -> Vec<String> {
    let mut seen = std::collections::HashMap::new();
    packages
        .iter()
        .map(|p| {
            let n = seen.entry(p.purl.clone()).or_insert(0_usize);
            *n += 1;
            if *n == 1 {
                p.purl.clone()
            } else {
                format!("{}#{}", p.purl, n)
            }
        })
        .collect()
}

fn licenses(p: &Package) -> Option<Value> {
    if p.licenses.is_empty() {
        return None;
    }
    if let [one] = p.licenses.as_slice()
        && spdx_id(one).is_none()
        && is_spdx_expression(one)
    {
        return Some(json!([{ "expression": one }]));
    }
    let list: Vec<Value> = p
        .licenses
        .iter()
        .map(|l| match spdx_id(l) {
            Some(id) => json!({"license": {"id": id}}),
            None => json!({"license": {"name": l}}),
        })
        .collect();
    Some(Value::Array(list))
}

fn properties(p: &Package) -> Vec<Value> {
    let mut props = vec![json!({"name": "rampart:cataloger", "value": p.cataloger})];
    for l in &p.locations {
        props.push(json!({"name": "rampart:location", "value": l.path}));
        if let Some(layer) = &l.layer {
            props.push(json!({"name": "rampart:layer", "value": layer}));
        }
    }
    if let Some(s) = &p.source_name {
        props.push(json!({"name": "rampart:source-package", "value": s}));
    }
    if let Some(v) = &p.source_version {
        props.push(json!({"name": "rampart:source-version", "value": v}));
    }
    if let Some(a) = &p.arch {
        props.push(json!({"name": "rampart:arch", "value": a}));
    }
    if let Some(c) = &p.checksum {
        props.push(json!({"name": "rampart:checksum", "value": c}));
    }
    props
}

/// The target depends on every top-level package; a package found inside
/// another (a jar inside a war) is listed under its container instead.
fn dependencies(sbom: &Sbom, refs: &[String]) -> Value {
    let by_purl: std::collections::HashMap<&str, &str> = sbom
        .packages
        .iter()
        .zip(refs)
        .map(|(p, r)| (p.purl.as_str(), r.as_str()))
        .collect();
    let mut top = Vec::new();
    let mut children: std::collections::BTreeMap<&str, Vec<&str>> =
        std::collections::BTreeMap::new();
    for (p, r) in sbom.packages.iter().zip(refs) {
        match p.parent.as_deref().and_then(|parent| by_purl.get(parent)) {
            Some(parent_ref) if *parent_ref != r.as_str() => {
                children.entry(parent_ref).or_default().push(r)
            }
            _ => top.push(r.as_str()),
        }
    }
    let mut deps = vec![json!({"ref": "target", "dependsOn": top})];
    for (parent, kids) in children {
        deps.push(json!({"ref": parent, "dependsOn": kids}));
    }
    Value::Array(deps)
}

/// Writes `sbom` as a CycloneDX 1.6 JSON document.
#[must_use]
pub fn to_cyclonedx(sbom: &Sbom, info: &DocumentInfo) -> Value {
    let refs = bom_refs(&sbom.packages);
    let mut components: Vec<Value> = sbom
        .packages
        .iter()
        .zip(&refs)
        .map(|(p, r)| {
            let mut c = json!({
                "type": "library",
                "bom-ref": r,
                "name": p.name,
                "version": p.version,
                "purl": p.purl,
                "properties": properties(p),
            });
            if let Some(ns) = &p.namespace {
                c["group"] = json!(ns);
            }
            if let Some(l) = licenses(p) {
                c["licenses"] = l;
            }
            if let Some(s) = &p.supplier {
                c["supplier"] = json!({"name": s});
            }
            c
        })
        .collect();
    if let Some(d) = &sbom.distro {
        let mut os = json!({
            "type": "operating-system",
            "bom-ref": format!("os:{}@{}", d.id, d.version_id),
            "name": d.id,
            "version": d.version_id,
        });
        if !d.pretty_name.is_empty() {
            os["description"] = json!(d.pretty_name);
        }
        os["properties"] =
            json!([{"name": "rampart:distroless", "value": d.distroless.to_string()}]);
        components.insert(0, os);
    }
    let root_type = if sbom.image_id.is_some() {
        "container"
    } else {
        "file"
    };
    let mut root = json!({"type": root_type, "bom-ref": "target", "name": sbom.target});
    if let Some(id) = &sbom.image_id {
        root["version"] = json!(id);
    }
    json!({
        "$schema": "http://cyclonedx.org/schema/bom-1.6.schema.json",
        "bomFormat": "CycloneDX",
        "specVersion": "1.6",
        "serialNumber": format!("urn:uuid:{}", document_uuid(sbom)),
        "version": 1,
        "metadata": {
            "timestamp": info.timestamp,
            "tools": {"components": [{"type": "application", "name": "rampart", "version": info.tool_version}]},
            "component": root,
        },
        "components": components,
        "dependencies": dependencies(sbom, &refs),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::package::{Ecosystem, Package};

    fn sbom_with_nested() -> Sbom {
        let mut war = Package::new(Ecosystem::Maven, "shop", "1.0", "java-archive");
        war.purl = "pkg:maven/com.acme/shop@1.0".into();
        let mut jar = Package::new(Ecosystem::Maven, "util", "1.2", "java-archive");
        jar.purl = "pkg:maven/org.acme/util@1.2".into();
        jar.parent = Some(war.purl.clone());
        Sbom {
            target: "dir:x".into(),
            kind: "dir".into(),
            distro: None,
            image_id: None,
            image_reference: None,
            packages: vec![war, jar],
            skips: Vec::new(),
        }
    }

    #[test]
    fn nested_packages_hang_under_their_container() {
        let info = DocumentInfo {
            timestamp: "2026-11-28T00:00:00Z".into(),
            tool_version: "0".into(),
        };
        let doc = to_cyclonedx(&sbom_with_nested(), &info);
        assert_eq!(
            doc["dependencies"],
            json!([
                {"ref": "target", "dependsOn": ["pkg:maven/com.acme/shop@1.0"]},
                {"ref": "pkg:maven/com.acme/shop@1.0", "dependsOn": ["pkg:maven/org.acme/util@1.2"]},
            ])
        );
        let spdx = crate::format::to_spdx(&sbom_with_nested(), &info);
        let rels = spdx["relationships"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        assert!(
            rels.contains(&json!({
                "spdxElementId": "SPDXRef-Package-maven-0",
                "relationshipType": "CONTAINS",
                "relatedSpdxElement": "SPDXRef-Package-maven-1",
            })),
            "{rels:?}"
        );
    }
}
