//! Live clusters: the objects of a Kubernetes cluster read through its API
//! with a kubeconfig context, then assessed like manifests. Read-only: list
//! requests only, and never Secrets.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::error::{PostureError, Result};
use crate::facts::k8s::{Manifests, facts, push_api_object};

/// The most bytes read from one list response.
const MAX_LIST: u64 = 256 << 20;

/// API paths listed, with the kind and apiVersion of their items (list
/// responses leave them out of each item).
const RESOURCES: &[(&str, &str, &str)] = &[
    ("/api/v1/pods", "Pod", "v1"),
    ("/api/v1/services", "Service", "v1"),
    ("/api/v1/configmaps", "ConfigMap", "v1"),
    ("/api/v1/serviceaccounts", "ServiceAccount", "v1"),
    ("/apis/apps/v1/deployments", "Deployment", "apps/v1"),
    ("/apis/apps/v1/statefulsets", "StatefulSet", "apps/v1"),
    ("/apis/apps/v1/daemonsets", "DaemonSet", "apps/v1"),
    ("/apis/apps/v1/replicasets", "ReplicaSet", "apps/v1"),
    ("/apis/batch/v1/jobs", "Job", "batch/v1"),
    ("/apis/batch/v1/cronjobs", "CronJob", "batch/v1"),
    (
        "/apis/networking.k8s.io/v1/networkpolicies",
        "NetworkPolicy",
        "networking.k8s.io/v1",
    ),
    (
        "/apis/networking.k8s.io/v1/ingresses",
        "Ingress",
        "networking.k8s.io/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/roles",
        "Role",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/rolebindings",
        "RoleBinding",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterroles",
        "ClusterRole",
        "rbac.authorization.k8s.io/v1",
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
        "ClusterRoleBinding",
        "rbac.authorization.k8s.io/v1",
    ),
];

/// Where the kubeconfig is: `explicit`, else the first path of
/// `KUBECONFIG`, else `~/.kube/config`.
#[must_use]
pub fn kubeconfig_path(explicit: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(v) = std::env::var_os("KUBECONFIG")
        && let Some(first) = std::env::split_paths(&v).next()
    {
        return Some(first);
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube").join("config"))
}

fn err(msg: impl Into<String>) -> PostureError {
    PostureError::Unsupported(msg.into())
}

/// A cluster connection taken from a kubeconfig context.
#[derive(Debug)]
struct Conn {
    server: String,
    token: Option<String>,
    agent: ureq::Agent,
}

fn connect(context: &str, kubeconfig: &Path) -> Result<Conn> {
    let c = rampart_kubeconfig::load(kubeconfig, Some(context)).map_err(|e| match e {
        rampart_kubeconfig::KubeconfigError::Io { path, source } => PostureError::io(path, source),
        e => err(e.to_string()),
    })?;
    let tls = c.tls().map_err(|e| err(e.to_string()))?;
    let token = match &c.token {
        Some(t) => Some(t.token().map_err(|e| err(e.to_string()))?),
        None => None,
    };
    // Redirects are not followed: the bearer token goes to the configured
    // server only (a redirect is a non-200 answer, noted per resource).
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_global(Some(Duration::from_secs(60)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    Ok(Conn {
        server: c.server,
        token,
        agent,
    })
}

/// Lists the cluster's workloads, services, policies and RBAC objects
/// through the context's API server and returns the `k8s` facts. A
/// resource the credentials may not list (403) or the server does not
/// serve (404) is a note, not an error. Pods, ReplicaSets and Jobs that a
/// controller owns are left out: their template is assessed through the
/// controller.
///
/// # Errors
/// The kubeconfig or context is unusable, or the server cannot be reached.
pub fn cluster_facts(context: &str, kubeconfig: &Path) -> Result<Value> {
    let conn = connect(context, kubeconfig)?;
    let origin = format!("k8s:{context}");
    let mut m = Manifests::default();
    for (path, kind, api_version) in RESOURCES {
        let url = format!("{}{path}", conn.server);
        let mut req = conn.agent.get(&url).header("Accept", "application/json");
        if let Some(t) = &conn.token {
            req = req.header("Authorization", &format!("Bearer {t}"));
        }
        let mut resp = req.call().map_err(|e| err(format!("listing {url}: {e}")))?;
        let status = resp.status().as_u16();
        if status == 401 {
            return Err(err(format!(
                "listing {url}: 401 Unauthorized (check the context's credentials)"
            )));
        }
        if status != 200 {
            m.notes.push(format!("{path}: HTTP {status}, not assessed"));
            continue;
        }
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_LIST)
            .read_to_string()
            .map_err(|e| err(format!("reading {url}: {e}")))?;
        let list: Value =
            serde_json::from_str(&body).map_err(|e| err(format!("{url}: not JSON: {e}")))?;
        for mut item in list
            .get("items")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
        {
            let owned = item
                .pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|o| {
                    o.iter()
                        .any(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
                });
            if owned && matches!(*kind, "Pod" | "ReplicaSet" | "Job") {
                continue;
            }
            if let Value::Object(o) = &mut item {
                o.insert("kind".into(), Value::from(*kind));
                o.insert("apiVersion".into(), Value::from(*api_version));
                if let Some(Value::Object(meta)) = o.get_mut("metadata") {
                    meta.remove("managedFields");
                }
            }
            push_api_object(&origin, item, &mut m);
        }
    }
    Ok(facts(&m))
}
