//! Kubernetes API answers turned into report entities: Services (with the
//! pods their EndpointSlices name) and Ingresses (with the Services and pods
//! behind each path).
//!
//! Everything here parses what an API server (or whatever answers in its
//! place) sent: a malformed list is an error, a malformed item is skipped
//! with a reason, and nothing panics.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rampart_model::agent::{Entity, Ingress, IngressRule, Service, ServicePort};
use serde::Deserialize;
use serde_json::Value;

/// The most items kept from one resource's list.
pub const MAX_ITEMS: usize = 20_000;
/// The most pod UIDs kept per Service (an Ingress: [`MAX_INGRESS_PODS`]
/// over all its paths).
pub const MAX_PODS: usize = 2_000;
/// The most paths kept per Ingress.
pub const MAX_RULES: usize = 500;
/// The most pod UIDs one Ingress carries over all its rules: rules get
/// their backend Service's pods in order until this is used up (later
/// rules keep their `service_uid`; the Service has the full list).
pub const MAX_INGRESS_PODS: usize = 1_000;
/// The longest string kept from an item (names, hosts, paths).
const MAX_STR: usize = 1024;

/// The label an EndpointSlice names its Service with.
pub const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// One page of a list answer: its items and the `continue` token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListPage {
    pub items: Vec<Value>,
    pub next: Option<String>,
}

#[derive(Deserialize)]
struct RawList {
    #[serde(default)]
    items: Option<Vec<Value>>,
    #[serde(default)]
    metadata: Option<RawListMeta>,
}

#[derive(Deserialize)]
struct RawListMeta {
    #[serde(default, rename = "continue")]
    next: Option<String>,
}

/// Parses one list answer (`{"kind": "...List", "items": [...],
/// "metadata": {"continue": "..."}}`).
///
/// # Errors
/// Not JSON, not an object, or `items` is not an array.
pub fn parse_list(body: &[u8]) -> Result<ListPage, String> {
    // serde would also read a struct from an array.
    if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("not a Kubernetes list: not a JSON object".to_string());
    }
    let raw: RawList =
        serde_json::from_slice(body).map_err(|e| format!("not a Kubernetes list: {e}"))?;
    Ok(ListPage {
        items: raw.items.unwrap_or_default(),
        next: raw
            .metadata
            .and_then(|m| m.next)
            .filter(|c| !c.is_empty() && c.len() <= 64 * 1024),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Meta {
    uid: Option<String>,
    name: Option<String>,
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LbStatus {
    #[serde(rename = "loadBalancer")]
    load_balancer: Option<LbIngressList>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LbIngressList {
    ingress: Vec<LbIngress>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct LbIngress {
    ip: Option<String>,
    hostname: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawService {
    metadata: Meta,
    spec: ServiceSpec,
    status: LbStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ServiceSpec {
    #[serde(rename = "type")]
    kind: Option<String>,
    ports: Vec<RawPort>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPort {
    name: Option<String>,
    protocol: Option<String>,
    port: Option<i64>,
    #[serde(rename = "nodePort")]
    node_port: Option<i64>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawSlice {
    metadata: Meta,
    endpoints: Vec<RawEndpoint>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawEndpoint {
    #[serde(rename = "targetRef")]
    target_ref: Option<TargetRef>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TargetRef {
    kind: Option<String>,
    uid: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawIngress {
    metadata: Meta,
    spec: IngressSpec,
    status: LbStatus,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct IngressSpec {
    #[serde(rename = "ingressClassName")]
    class: Option<String>,
    #[serde(rename = "defaultBackend")]
    default_backend: Option<Backend>,
    rules: Vec<RawRule>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawRule {
    host: Option<String>,
    http: Option<RawHttp>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawHttp {
    paths: Vec<RawPath>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawPath {
    path: Option<String>,
    backend: Backend,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Backend {
    service: Option<BackendService>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BackendService {
    name: Option<String>,
    port: Option<BackendPort>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BackendPort {
    number: Option<i64>,
    name: Option<String>,
}

fn text(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty() && v.len() <= MAX_STR)
}

fn required(s: Option<String>, what: &str) -> Result<String, String> {
    text(s).ok_or_else(|| format!("no usable metadata.{what}"))
}

fn port(v: Option<i64>) -> Option<u16> {
    v.and_then(|p| u16::try_from(p).ok()).filter(|p| *p != 0)
}

fn lb_addresses(s: LbStatus) -> Vec<String> {
    let set: BTreeSet<String> = s
        .load_balancer
        .map(|l| l.ingress)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| text(i.ip).or_else(|| text(i.hostname)))
        .collect();
    set.into_iter().take(64).collect()
}

fn item<T: for<'de> Deserialize<'de>>(v: &Value) -> Result<T, String> {
    T::deserialize(v).map_err(|e| e.to_string())
}

/// A Service as listed (its pods not known yet).
fn service(v: &Value, cluster: &str) -> Result<Service, String> {
    let raw: RawService = item(v)?;
    let key = required(raw.metadata.uid, "uid")?;
    let name = required(raw.metadata.name, "name")?;
    let namespace = required(raw.metadata.namespace, "namespace")?;
    let service_type = text(raw.spec.kind).unwrap_or_else(|| "ClusterIP".to_string());
    if !matches!(
        service_type.as_str(),
        "ClusterIP" | "NodePort" | "LoadBalancer" | "ExternalName"
    ) {
        return Err(format!("unknown spec.type {service_type:?}"));
    }
    let ports = raw
        .spec
        .ports
        .into_iter()
        .filter_map(|p| {
            Some(ServicePort {
                port: port(p.port)?,
                name: text(p.name),
                protocol: text(p.protocol).unwrap_or_else(|| "TCP".to_string()),
                node_port: port(p.node_port),
            })
        })
        .take(256)
        .collect();
    Ok(Service {
        key,
        cluster: cluster.to_string(),
        name,
        namespace,
        service_type,
        ports,
        load_balancer: lb_addresses(raw.status),
        pod_uids: Vec::new(),
    })
}

/// An EndpointSlice's Service (namespace, name) and the pod UIDs it names.
fn slice(v: &Value) -> Result<((String, String), Vec<String>), String> {
    let raw: RawSlice = item(v)?;
    let namespace = required(raw.metadata.namespace, "namespace")?;
    let service = raw
        .metadata
        .labels
        .get(SERVICE_NAME_LABEL)
        .cloned()
        .and_then(|s| text(Some(s)))
        .ok_or_else(|| format!("no {SERVICE_NAME_LABEL} label"))?;
    let pods = raw
        .endpoints
        .into_iter()
        .filter_map(|e| e.target_ref)
        .filter(|t| t.kind.as_deref() == Some("Pod"))
        .filter_map(|t| text(t.uid))
        .collect();
    Ok(((namespace, service), pods))
}

/// An Ingress as listed: its rules name Services, resolved later.
fn ingress(v: &Value, cluster: &str) -> Result<Ingress, String> {
    let raw: RawIngress = item(v)?;
    let key = required(raw.metadata.uid, "uid")?;
    let name = required(raw.metadata.name, "name")?;
    let namespace = required(raw.metadata.namespace, "namespace")?;
    let mut rules = Vec::new();
    let mut push = |host: Option<String>, path: Option<String>, b: Backend| {
        // Resource backends (not a Service) lead to no pod.
        let Some(svc) = b.service else { return };
        let Some(service) = text(svc.name) else {
            return;
        };
        if rules.len() < MAX_RULES {
            let p = svc.port.unwrap_or_default();
            rules.push(IngressRule {
                host,
                path,
                service,
                service_uid: None,
                port: port(p.number),
                port_name: text(p.name),
                pod_uids: Vec::new(),
            });
        }
    };
    if let Some(b) = raw.spec.default_backend {
        push(None, None, b);
    }
    for r in raw.spec.rules {
        let host = text(r.host);
        for p in r.http.map(|h| h.paths).unwrap_or_default() {
            push(host.clone(), text(p.path), p.backend);
        }
    }
    Ok(Ingress {
        key,
        cluster: cluster.to_string(),
        name,
        namespace,
        class: text(raw.spec.class),
        rules,
        load_balancer: lb_addresses(raw.status),
    })
}

/// What [`assemble`] made of the lists.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assembled {
    /// Services then Ingresses, each sorted by key.
    pub entities: Vec<Entity>,
    /// Items left out, each with why (`services[3]: no usable metadata.uid`).
    pub skipped: Vec<String>,
}

/// Builds the Service and Ingress entities of cluster `cluster` from the
/// items of the three lists: each Service gets the pods of its
/// EndpointSlices, each Ingress path the UID and pods of its backend
/// Service (in the Ingress's namespace).
#[must_use]
pub fn assemble(
    cluster: &str,
    services: &[Value],
    slices: &[Value],
    ingresses: &[Value],
) -> Assembled {
    let mut out = Assembled::default();
    let mut pods: HashMap<(String, String), BTreeSet<String>> = HashMap::new();
    for (i, v) in slices.iter().take(MAX_ITEMS).enumerate() {
        match slice(v) {
            Ok((svc, uids)) => pods.entry(svc).or_default().extend(uids),
            Err(e) => out.skipped.push(format!("endpointslices[{i}]: {e}")),
        }
    }
    let mut by_key: BTreeMap<String, Service> = BTreeMap::new();
    for (i, v) in services.iter().take(MAX_ITEMS).enumerate() {
        match service(v, cluster) {
            Ok(mut s) => {
                if let Some(p) = pods.get(&(s.namespace.clone(), s.name.clone())) {
                    s.pod_uids = p.iter().take(MAX_PODS).cloned().collect();
                }
                by_key.insert(s.key.clone(), s);
            }
            Err(e) => out.skipped.push(format!("services[{i}]: {e}")),
        }
    }
    let by_name: HashMap<(&str, &str), &Service> = by_key
        .values()
        .map(|s| ((s.namespace.as_str(), s.name.as_str()), s))
        .collect();
    let mut ing_by_key: BTreeMap<String, Ingress> = BTreeMap::new();
    for (i, v) in ingresses.iter().take(MAX_ITEMS).enumerate() {
        match ingress(v, cluster) {
            Ok(mut ing) => {
                let mut budget = MAX_INGRESS_PODS;
                for r in &mut ing.rules {
                    if let Some(s) = by_name.get(&(ing.namespace.as_str(), r.service.as_str())) {
                        r.service_uid = Some(s.key.clone());
                        let n = s.pod_uids.len().min(budget);
                        r.pod_uids = s.pod_uids[..n].to_vec();
                        budget -= n;
                    }
                }
                ing_by_key.insert(ing.key.clone(), ing);
            }
            Err(e) => out.skipped.push(format!("ingresses[{i}]: {e}")),
        }
    }
    out.entities
        .extend(by_key.into_values().map(Entity::Service));
    out.entities
        .extend(ing_by_key.into_values().map(Entity::Ingress));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn svc(uid: &str, name: &str, kind: &str) -> Value {
        json!({"metadata": {"uid": uid, "name": name, "namespace": "shop"},
               "spec": {"type": kind, "ports": [{"port": 80, "protocol": "TCP", "nodePort": 30080}]}})
    }

    #[test]
    fn an_ingress_carries_at_most_max_ingress_pods() {
        let services = vec![
            svc("big", "big", "ClusterIP"),
            svc("small", "small", "ClusterIP"),
        ];
        let endpoints = |n: usize, p: &str| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"targetRef": {"kind": "Pod", "uid": format!("{p}-{i:05}")}}))
                .collect()
        };
        let slices = vec![
            json!({"metadata": {"namespace": "shop", "labels": {SERVICE_NAME_LABEL: "big"}},
                   "endpoints": endpoints(3 * MAX_PODS, "b")}),
            json!({"metadata": {"namespace": "shop", "labels": {SERVICE_NAME_LABEL: "small"}},
                   "endpoints": endpoints(3, "s")}),
        ];
        // One small rule, then as many rules as allowed to the big Service.
        let mut paths = vec![json!({"path": "/s", "backend": {"service": {"name": "small"}}})];
        paths
            .extend((0..MAX_RULES).map(
                |i| json!({"path": format!("/{i}"), "backend": {"service": {"name": "big"}}}),
            ));
        let ingresses = vec![
            json!({"metadata": {"uid": "i", "name": "i", "namespace": "shop"},
                                    "spec": {"rules": [{"host": "h", "http": {"paths": paths}}]}}),
        ];
        let a = assemble("c", &services, &slices, &ingresses);
        let Some(Entity::Service(big)) = a.entities.iter().find(|e| e.entity_ref().key == "big")
        else {
            panic!("{:?}", a.entities)
        };
        assert_eq!(big.pod_uids.len(), MAX_PODS);
        let Some(Entity::Ingress(ing)) = a.entities.iter().find(|e| e.entity_ref().key == "i")
        else {
            panic!()
        };
        assert_eq!(ing.rules.len(), MAX_RULES);
        let total: usize = ing.rules.iter().map(|r| r.pod_uids.len()).sum();
        assert_eq!(total, MAX_INGRESS_PODS);
        assert_eq!(ing.rules[0].pod_uids.len(), 3);
        assert_eq!(
            ing.rules[1].pod_uids[..],
            big.pod_uids[..MAX_INGRESS_PODS - 3]
        );
        // Every rule still names its Service.
        assert!(ing.rules.iter().all(|r| r.service_uid.is_some()));
        assert!(ing.rules[2..].iter().all(|r| r.pod_uids.is_empty()));
    }

    #[test]
    fn malformed_lists_are_errors() {
        for bad in [
            &b""[..],
            b"{",
            b"[]",
            b"null",
            b"\"x\"",
            b"{\"items\": 3}",
            b"{\"items\": {}}",
            b"{\"items\": [], \"metadata\": {\"continue\": 5}}",
            b"\xff\xfe",
        ] {
            assert!(parse_list(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
        let ok = parse_list(br#"{"items": null, "metadata": {"continue": ""}}"#).unwrap();
        assert_eq!(ok, ListPage::default());
        let page = parse_list(
            br#"{"kind": "ServiceList", "items": [1, {}], "metadata": {"continue": "abc"}}"#,
        )
        .unwrap();
        assert_eq!(page.items.len(), 2);
        assert_eq!(page.next.as_deref(), Some("abc"));
    }

    #[test]
    fn malformed_items_are_skipped_with_a_reason() {
        let services = vec![
            json!(1),
            json!({"metadata": {"name": "no-uid", "namespace": "shop"}}),
            json!({"metadata": {"uid": 7, "name": "x", "namespace": "shop"}}),
            json!({"metadata": {"uid": "u", "name": "x", "namespace": "shop"}, "spec": {"type": "Weird"}}),
            json!({"metadata": {"uid": "u2", "name": "x", "namespace": "shop"}, "spec": {"ports": "no"}}),
            // Out-of-range and missing ports are dropped, the Service kept.
            json!({"metadata": {"uid": "ok", "name": "ok", "namespace": "shop"},
                   "spec": {"ports": [{"port": 70000}, {"port": -1}, {}, {"port": 8080, "nodePort": 99999}]}}),
        ];
        let slices = vec![
            json!({"metadata": {"namespace": "shop"}, "endpoints": []}),
            json!({"metadata": {"namespace": "shop", "labels": {SERVICE_NAME_LABEL: "ok"}},
                   "endpoints": [{"targetRef": {"kind": "Pod", "uid": "p1"}},
                                 {"targetRef": {"kind": "Node", "uid": "n1"}},
                                 {"targetRef": null}, {}, {"targetRef": {"kind": "Pod"}}]}),
            json!({"endpoints": "x"}),
        ];
        let ingresses = vec![
            json!({"metadata": {"uid": "i", "name": "i", "namespace": "shop"},
                   "spec": {"rules": [{"host": "a"}, {"http": {"paths": [{"backend": {"resource": {}}}]}},
                                      {"http": {"paths": [{"path": "/", "backend": {"service": {"name": "ok", "port": {"number": 8080}}}}]}}]}}),
            json!({"metadata": {"uid": "j", "name": "j", "namespace": "shop"}, "spec": {"rules": 1}}),
        ];
        let a = assemble("c", &services, &slices, &ingresses);
        assert_eq!(a.skipped.len(), 8, "{:#?}", a.skipped);
        assert!(
            a.skipped
                .iter()
                .any(|s| s.starts_with("services[1]: no usable metadata.uid"))
        );
        assert_eq!(a.entities.len(), 2, "{:#?}", a.entities);
        let Entity::Service(s) = &a.entities[0] else {
            panic!("{:?}", a.entities[0])
        };
        assert_eq!(
            (s.key.as_str(), s.service_type.as_str()),
            ("ok", "ClusterIP")
        );
        assert_eq!(s.ports.len(), 1);
        assert_eq!((s.ports[0].port, s.ports[0].node_port), (8080, None));
        assert_eq!(s.pod_uids, ["p1"]);
        let Entity::Ingress(i) = &a.entities[1] else {
            panic!()
        };
        assert_eq!(i.rules.len(), 1);
        assert_eq!(i.rules[0].service_uid.as_deref(), Some("ok"));
        assert_eq!(i.rules[0].pod_uids, ["p1"]);
    }

    proptest::proptest! {
        /// Mutated list answers never panic, and every entity kept has its
        /// UID, name and namespace.
        #[test]
        fn mutated_answers_never_panic(
            cut in 0usize..4000,
            flips in proptest::collection::vec((0usize..4000, proptest::prelude::any::<u8>()), 0..8),
        ) {
            let mut body = serde_json::to_vec(&json!({"items": [
                svc("u1", "web", "LoadBalancer"),
                {"metadata": {"uid": "s", "namespace": "shop",
                              "labels": {SERVICE_NAME_LABEL: "web"}},
                 "endpoints": [{"targetRef": {"kind": "Pod", "uid": "p"}}]},
                {"metadata": {"uid": "i", "name": "i", "namespace": "shop"},
                 "spec": {"rules": [{"http": {"paths": [
                     {"backend": {"service": {"name": "web", "port": {"number": 80}}}}]}}]}},
            ]})).unwrap();
            for (at, b) in flips {
                let n = body.len();
                body[at % n] = b;
            }
            body.truncate(cut.max(1));
            if let Ok(page) = parse_list(&body) {
                let a = assemble("c", &page.items, &page.items, &page.items);
                for e in &a.entities {
                    match e {
                        Entity::Service(s) => proptest::prop_assert!(!s.key.is_empty() && !s.name.is_empty() && !s.namespace.is_empty()),
                        Entity::Ingress(i) => proptest::prop_assert!(!i.key.is_empty() && !i.namespace.is_empty()),
                        _ => proptest::prop_assert!(false),
                    }
                }
            }
        }
    }

    #[test]
    fn services_get_their_slices_pods_by_namespace_and_name() {
        let services = vec![svc("u1", "web", "NodePort"), svc("u2", "db", "ClusterIP")];
        let slices = vec![
            json!({"metadata": {"namespace": "shop", "labels": {SERVICE_NAME_LABEL: "web"}},
                   "endpoints": [{"targetRef": {"kind": "Pod", "uid": "b"}}]}),
            json!({"metadata": {"namespace": "shop", "labels": {SERVICE_NAME_LABEL: "web"}},
                   "endpoints": [{"targetRef": {"kind": "Pod", "uid": "a"}}, {"targetRef": {"kind": "Pod", "uid": "b"}}]}),
            // Same name, other namespace: not this Service's.
            json!({"metadata": {"namespace": "other", "labels": {SERVICE_NAME_LABEL: "db"}},
                   "endpoints": [{"targetRef": {"kind": "Pod", "uid": "z"}}]}),
        ];
        let a = assemble("c", &services, &slices, &[]);
        assert!(a.skipped.is_empty());
        let pods: Vec<Vec<String>> = a
            .entities
            .iter()
            .map(|e| match e {
                Entity::Service(s) => s.pod_uids.clone(),
                _ => panic!(),
            })
            .collect();
        // Sorted by UID: web (u1), then db (u2).
        assert_eq!(pods, [vec!["a".to_string(), "b".to_string()], vec![]]);
    }
}
