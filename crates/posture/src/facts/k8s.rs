//! Kubernetes manifests to facts: every object of every YAML or JSON
//! document (multi-document files, `List` kinds), with the file and line
//! it came from, and the pod template of every workload flattened into
//! per-container records the policies iterate.

use serde_json::{Map, Value, json};

/// The most objects read from one file.
const MAX_OBJECTS: usize = 10_000;
/// The most nesting of `List` kinds followed.
const MAX_LIST_DEPTH: usize = 4;

/// Objects parsed from manifest text, and problems met.
#[derive(Debug, Default, Clone)]
pub struct Manifests {
    pub objects: Vec<Value>,
    pub notes: Vec<String>,
}

/// Whether `name` looks like a manifest file.
#[must_use]
pub fn is_manifest_name(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.ends_with(".yaml") || n.ends_with(".yml") || n.ends_with(".json")
}

/// Parses one file's text: YAML documents separated by `---` lines (JSON
/// is YAML too). Documents without `apiVersion` and `kind` are not
/// Kubernetes objects and are left out silently; documents that do not
/// parse are noted (a Helm chart's templates must be rendered first).
pub fn parse_file(file: &str, text: &str, out: &mut Manifests) {
    let mut start = 1usize;
    let mut doc = String::new();
    let mut index = 0usize;
    let mut flush = |doc: &mut String, start: usize, out: &mut Manifests| {
        if !doc.trim().is_empty() {
            parse_doc(file, doc, start, index, out);
            index += 1;
        }
        doc.clear();
    };
    for (n, line) in text.lines().enumerate() {
        if (line.starts_with("---") && line[3..].trim().is_empty()) || line.starts_with("--- ") {
            flush(&mut doc, start, out);
            start = n + 2;
            if let Some(rest) = line.strip_prefix("--- ") {
                doc.push_str(rest);
                doc.push('\n');
                start = n + 1;
            }
            continue;
        }
        if line.starts_with("...") && line[3..].trim().is_empty() {
            continue;
        }
        if doc.is_empty() && line.trim().is_empty() {
            start = n + 2;
            continue;
        }
        doc.push_str(line);
        doc.push('\n');
    }
    flush(&mut doc, start, out);
}

fn parse_doc(file: &str, doc: &str, line: usize, index: usize, out: &mut Manifests) {
    let v: Value = match yaml_serde::from_str(doc) {
        Ok(v) => v,
        Err(e) => {
            if doc.contains("{{") {
                out.notes.push(format!(
                    "{file}:{line}: not YAML (a template? render Helm charts with `helm template` first)"
                ));
            } else {
                out.notes.push(format!("{file}:{line}: not YAML: {e}"));
            }
            return;
        }
    };
    push_object(file, line, index, v, 0, out);
}

/// Fields the Kubernetes schema defines as lists of objects.
const OBJECT_LISTS: &[&str] = &[
    "containers",
    "initContainers",
    "ephemeralContainers",
    "volumes",
    "volumeMounts",
    "ports",
    "env",
    "envFrom",
    "rules",
    "subjects",
    "tls",
    "sysctls",
    "items",
    "hostAliases",
    "imagePullSecrets",
    "tolerations",
    "paths",
    "ingress",
    "egress",
    "from",
    "to",
];
/// Fields the schema defines as lists of strings.
const STRING_LISTS: &[&str] = &[
    "verbs",
    "resources",
    "apiGroups",
    "resourceNames",
    "nonResourceURLs",
    "add",
    "drop",
    "hosts",
    "command",
    "args",
    "policyTypes",
];
/// Fields the schema defines as objects.
const OBJECTS: &[&str] = &[
    "metadata",
    "spec",
    "template",
    "jobTemplate",
    "securityContext",
    "capabilities",
    "resources",
    "limits",
    "requests",
    "labels",
    "annotations",
    "data",
    "stringData",
    "seLinuxOptions",
    "seccompProfile",
    "appArmorProfile",
    "windowsOptions",
    "roleRef",
    "hostPath",
    "valueFrom",
    "secretKeyRef",
    "secretRef",
    "selector",
    "podSelector",
    "livenessProbe",
    "readinessProbe",
];

/// Gives the fields the policies iterate the type the schema says, so that a
/// malformed manifest (Kubernetes would reject it) cannot make a policy
/// fail as a whole: a list of the wrong type becomes empty, its elements of
/// the wrong type are dropped, an object of the wrong type becomes empty.
/// Returns whether anything was changed.
fn sanitize(v: &mut Value, depth: usize) -> bool {
    let mut changed = false;
    if depth > 64 {
        *v = Value::Null;
        return true;
    }
    match v {
        Value::Object(map) => {
            for (k, child) in map.iter_mut() {
                let k = k.as_str();
                // A container's resources are an object, an RBAC rule's a list of names.
                if k == "resources" {
                    match child {
                        Value::Array(items) => {
                            let before = items.len();
                            items.retain(Value::is_string);
                            changed |= items.len() != before;
                        }
                        Value::Object(_) => {}
                        // `resources:` left empty is common; not worth a note.
                        Value::Null => *child = json!({}),
                        _ => {
                            *child = json!({});
                            changed = true;
                        }
                    }
                } else if OBJECT_LISTS.contains(&k) || STRING_LISTS.contains(&k) {
                    let want_obj = OBJECT_LISTS.contains(&k);
                    match child {
                        Value::Array(items) => {
                            let before = items.len();
                            items.retain(|i| {
                                if want_obj {
                                    i.is_object()
                                } else {
                                    i.is_string()
                                }
                            });
                            changed |= items.len() != before;
                        }
                        Value::Null => *child = json!([]),
                        _ => {
                            *child = json!([]);
                            changed = true;
                        }
                    }
                } else if OBJECTS.contains(&k) && !child.is_object() {
                    changed |= !child.is_null();
                    *child = json!({});
                }
                changed |= sanitize(child, depth + 1);
            }
        }
        Value::Array(items) => {
            for i in items {
                changed |= sanitize(i, depth + 1);
            }
        }
        _ => {}
    }
    changed
}

fn push_object(
    file: &str,
    line: usize,
    index: usize,
    mut v: Value,
    depth: usize,
    out: &mut Manifests,
) {
    if depth == 0 && sanitize(&mut v, 0) {
        out.notes.push(format!(
            "{file}:{line}: fields of the wrong type were ignored (not a valid Kubernetes object)"
        ));
    }
    let Value::Object(mut obj) = v else { return };
    let (Some(kind), Some(_)) = (
        obj.get("kind").and_then(Value::as_str).map(str::to_string),
        obj.get("apiVersion").and_then(Value::as_str),
    ) else {
        return;
    };
    if kind.ends_with("List") {
        if let Some(Value::Array(items)) = obj.remove("items")
            && depth < MAX_LIST_DEPTH
        {
            for item in items {
                push_object(file, line, index, item, depth + 1, out);
            }
        }
        return;
    }
    if out.objects.len() >= MAX_OBJECTS {
        return;
    }
    obj.insert(
        "_source".to_string(),
        json!({"file": file, "line": line, "document": index}),
    );
    out.objects.push(Value::Object(obj));
}

/// Adds an object read from a live cluster's API: no file, `origin` names
/// the cluster.
pub fn push_api_object(origin: &str, mut v: Value, out: &mut Manifests) {
    if sanitize(&mut v, 0) {
        out.notes.push(format!(
            "{origin}: fields of the wrong type were ignored in an object"
        ));
    }
    let Value::Object(mut obj) = v else { return };
    if out.objects.len() >= MAX_OBJECTS * 10 {
        return;
    }
    obj.insert(
        "_source".to_string(),
        json!({"file": null, "line": null, "origin": origin}),
    );
    out.objects.push(Value::Object(obj));
}

/// The pod template of a workload object: (pod metadata, pod spec).
fn pod_of(obj: &Value) -> Option<(&Value, &Value)> {
    let kind = obj.get("kind")?.as_str()?;
    let tpl = match kind {
        "Pod" => {
            return Some((
                obj.get("metadata").unwrap_or(&Value::Null),
                obj.get("spec")?,
            ));
        }
        "Deployment"
        | "ReplicaSet"
        | "StatefulSet"
        | "DaemonSet"
        | "Job"
        | "ReplicationController" => obj.get("spec")?.get("template")?,
        "CronJob" => obj
            .get("spec")?
            .get("jobTemplate")?
            .get("spec")?
            .get("template")?,
        _ => return None,
    };
    Some((
        tpl.get("metadata").unwrap_or(&Value::Null),
        tpl.get("spec")?,
    ))
}

/// The facts document for a set of objects.
#[must_use]
pub fn facts(m: &Manifests) -> Value {
    let mut workloads = Vec::new();
    let mut containers = Vec::new();
    for obj in &m.objects {
        let Some((pmeta, pspec)) = pod_of(obj) else {
            continue;
        };
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let meta = obj.get("metadata").unwrap_or(&Value::Null);
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        let ns = meta.get("namespace").and_then(Value::as_str);
        let resource = format!(
            "{kind}/{}{name}",
            ns.map(|n| format!("{n}/")).unwrap_or_default()
        );
        let src = obj.get("_source").cloned().unwrap_or(Value::Null);
        let labels = pmeta.get("labels").cloned().unwrap_or_else(|| json!({}));
        let annotations = pmeta
            .get("annotations")
            .cloned()
            .unwrap_or_else(|| json!({}));
        let mut spec = pspec.clone();
        let mut list = Vec::new();
        if let Value::Object(s) = &mut spec {
            for (field, ty) in [
                ("initContainers", "initContainer"),
                ("containers", "container"),
                ("ephemeralContainers", "ephemeralContainer"),
            ] {
                if let Some(Value::Array(cs)) = s.remove(field) {
                    for c in cs {
                        list.push((ty, c));
                    }
                }
            }
        }
        for (ty, c) in list {
            let cname = c
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("(unnamed)")
                .to_string();
            containers.push(json!({
                "resource": resource,
                "kind": kind,
                "namespace": ns,
                "name": cname,
                "type": ty,
                "container": c,
                "pod": spec,
                "annotations": annotations,
                "source": src,
            }));
        }
        workloads.push(json!({
            "resource": resource,
            "kind": kind,
            "name": name,
            "namespace": ns,
            "labels": labels,
            "annotations": annotations,
            "spec": spec,
            "source": src,
        }));
    }
    // Objects by kind (RBAC, services, policies...), with their resource
    // name and source, for the policies that look at one kind.
    let mut by_kind: Map<String, Value> = Map::new();
    for obj in &m.objects {
        let Some(kind) = obj.get("kind").and_then(Value::as_str) else {
            continue;
        };
        if pod_of(obj).is_some() {
            continue;
        }
        let meta = obj.get("metadata").unwrap_or(&Value::Null);
        let name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("(unnamed)");
        let ns = meta.get("namespace").and_then(Value::as_str);
        let mut o = obj.clone();
        if let Value::Object(map) = &mut o {
            map.insert(
                "_resource".into(),
                json!(format!(
                    "{kind}/{}{name}",
                    ns.map(|n| format!("{n}/")).unwrap_or_default()
                )),
            );
        }
        if let Value::Array(list) = by_kind.entry(kind.to_string()).or_insert_with(|| json!([])) {
            list.push(o);
        }
    }
    let mut f = Map::new();
    f.insert("kind".into(), json!("k8s"));
    let count = |kinds: &[&str]| -> usize {
        kinds
            .iter()
            .filter_map(|k| by_kind.get(*k).and_then(Value::as_array).map(Vec::len))
            .sum()
    };
    f.insert("rbac_roles".into(), json!(count(&["Role", "ClusterRole"])));
    f.insert(
        "rbac_bindings".into(),
        json!(count(&["RoleBinding", "ClusterRoleBinding"])),
    );
    f.insert("by_kind".into(), Value::Object(by_kind));
    f.insert("objects".into(), Value::Array(m.objects.clone()));
    f.insert("workloads".into(), Value::Array(workloads));
    f.insert("containers".into(), Value::Array(containers));
    f.insert("notes".into(), json!(m.notes));
    Value::Object(f)
}
