//! Records the API returns and accepts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What a user may do: `read-only` reads; `standard` also acts (scans,
/// its own API tokens); `admin` also manages users and reads the audit log.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    ReadOnly,
    Standard,
    Admin,
}

impl Role {
    /// The stored and serialised name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::ReadOnly => "read-only",
            Role::Standard => "standard",
            Role::Admin => "admin",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "read-only" => Some(Role::ReadOnly),
            "standard" => Some(Role::Standard),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
}

/// A console user (never with its password hash).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub disabled: bool,
    /// Set while the account is locked after failed logins (RFC 3339).
    pub locked_until: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub last_login_at: Option<String>,
}

/// A bearer credential: a login session or a named API token. The secret
/// itself is only ever shown once, when it is created.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Token {
    pub id: i64,
    pub user_id: i64,
    pub username: String,
    /// `session` or `api`.
    pub kind: String,
    pub name: String,
    /// The first characters of the secret, to recognise it.
    pub prefix: String,
    /// The most a token may do (at most its owner's role); none: the owner's role.
    pub scope: Option<Role>,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// One state-changing action (or failed login): who, what, when, from where.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AuditEntry {
    pub id: i64,
    /// When (RFC 3339).
    pub at: String,
    /// The acting user's id, if known.
    pub actor_id: Option<i64>,
    /// The acting user's name (or the name tried, for a failed login).
    pub actor: String,
    /// What was done, e.g. `user.create`, `auth.login`, `token.revoke`.
    pub action: String,
    /// What it was done to, e.g. `user:3`.
    pub target: Option<String>,
    /// The client address the request came from.
    pub source: Option<String>,
    /// `success`, `failure` or `denied`.
    pub outcome: String,
    /// Details of the action (never secrets).
    #[schema(value_type = Object)]
    pub detail: Option<serde_json::Value>,
}

/// A page of a list: `items`, and `total` matching the filter.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// Something the console knows about: a host, container, image, pod,
/// namespace, process, Kubernetes Service or Ingress, or the internet.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Node {
    pub id: i64,
    /// `host`, `container`, `image`, `pod`, `namespace`, `process`,
    /// `internet`, `service` (a Kubernetes Service) or `ingress` (a
    /// Kubernetes Ingress).
    #[serde(rename = "type")]
    pub kind: String,
    /// Its stable identity within its type (machine id, container id, image digest...).
    pub key: String,
    pub name: String,
    pub parent_id: Option<i64>,
    #[schema(value_type = Object)]
    pub attributes: Option<serde_json::Value>,
    pub active: bool,
    pub first_seen: String,
    pub last_seen: String,
}

/// Open findings of a node, counted by kind and severity.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct FindingsSummary {
    /// Open findings that are not suppressed.
    pub total: i64,
    /// Open findings masked by a suppression (not in `total`).
    pub suppressed: i64,
    /// kind -> severity -> count.
    #[schema(value_type = Object)]
    pub by_kind: std::collections::BTreeMap<String, std::collections::BTreeMap<String, i64>>,
}

/// A node with its findings summary.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct NodeDetail {
    #[serde(flatten)]
    pub node: Node,
    pub findings: FindingsSummary,
    /// Topology edges from or to this node.
    pub edges: i64,
}

/// One finding on one node, deduplicated across scans by its fingerprint.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Finding {
    pub id: i64,
    pub node_id: i64,
    /// `vulnerability`, `secret`, `malware` or `posture`.
    pub kind: String,
    /// The advisory or rule id.
    pub rule_id: String,
    pub fingerprint: String,
    pub severity: String,
    pub title: String,
    #[schema(value_type = Object)]
    pub evidence: Option<serde_json::Value>,
    /// `open`, or `fixed` once a scan of the node no longer reports it.
    pub status: String,
    pub first_seen: String,
    pub last_seen: String,
    pub first_scan_id: Option<i64>,
    pub last_scan_id: Option<i64>,
    /// Masked by a suppression (see `/api/v1/suppressions`).
    pub suppressed: bool,
}

/// A finding mask: findings with this rule id, on one node or everywhere,
/// are hidden from lists and summaries (and stay stored).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Suppression {
    pub id: i64,
    pub rule_id: String,
    /// The node it applies to; none: every node.
    pub node_id: Option<i64>,
    pub reason: String,
    pub created_by: String,
    pub created_at: String,
}

/// A scan request and where it is in its life: `queued` -> `running` ->
/// `succeeded` | `failed` | `cancelled` | `timed-out`, always ending with a
/// final state and a reason.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Scan {
    pub id: i64,
    pub state: String,
    /// Why it is in its state (set for every final state but success).
    pub reason: Option<String>,
    pub targets: Vec<String>,
    pub scanners: Vec<String>,
    pub requested_by: String,
    /// Who runs it (while running and after).
    pub runner: Option<String>,
    pub attempts: i64,
    pub max_attempts: i64,
    pub timeout_secs: i64,
    pub created_at: String,
    pub started_at: Option<String>,
    pub heartbeat_at: Option<String>,
    pub finished_at: Option<String>,
}

impl Scan {
    /// Whether the state is final.
    pub fn is_final(&self) -> bool {
        !matches!(self.state.as_str(), "queued" | "running")
    }
}

/// A one-time token an agent exchanges for its own credential.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnrollmentToken {
    pub id: i64,
    pub name: String,
    pub prefix: String,
    pub created_by: String,
    pub created_at: String,
    pub expires_at: String,
    /// When an agent used it (it cannot be used again).
    pub used_at: Option<String>,
    /// The agent it enrolled.
    pub agent_id: Option<i64>,
    pub revoked_at: Option<String>,
}

/// An enrolled agent (a sensor or scan runner).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Agent {
    pub id: i64,
    pub hostname: String,
    /// The first characters of its credential.
    pub prefix: String,
    pub enrollment_token_id: Option<i64>,
    pub created_at: String,
    pub last_seen_at: Option<String>,
    pub revoked_at: Option<String>,
}
