//! The optional Kubernetes API collector: Services, EndpointSlices and
//! Ingresses listed through the cluster's API server, reported as
//! [`Entity::Service`] and [`Entity::Ingress`].
//!
//! The API is found in-cluster (a pod with a service account:
//! `KUBERNETES_SERVICE_HOST`/`_PORT` and the account's token, CA and
//! namespace files) or through a kubeconfig file (its current context:
//! bearer token or token file, client certificate, CA). Read-only: three
//! list requests, each with a timeout and a size cap, every
//! [`KubeConfig::every`] collections; each listing is bounded in pages and
//! bytes, and one refresh in time ([`ListLimits`]). Cluster objects are the same for every
//! node, so only a sensor told to collect them does (see `docs/sensor.md`).
//!
//! A failing API (403, TLS, timeout) is logged once per change of the error
//! and never breaks the rest of the report: the last good listing is kept
//! through `KEEP_AFTER_FAILURES - 1` failed refreshes and dropped at the
//! [`KEEP_AFTER_FAILURES`]th.
//!
//! Credentials are never sent in clear: a kubeconfig whose server is
//! `http://` is refused when it has a token or a client certificate, and
//! `Debug` shows a fixed token as `***`.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rampart_model::agent::Entity;
use serde_json::Value;

use crate::error::{Result, SensorError};
use crate::kube_objects::{MAX_ITEMS, assemble, parse_list};

/// Where a pod's service account is mounted.
pub const SERVICE_ACCOUNT_DIR: &str = "/var/run/secrets/kubernetes.io/serviceaccount";
/// The cluster name used in-cluster when none is given.
pub const IN_CLUSTER_NAME: &str = "in-cluster";
/// The default number of collections between two listings (a minute at
/// the default 10 s interval).
pub const DEFAULT_EVERY: u32 = 6;
/// The most bytes read from one list answer (one page).
pub const MAX_PAGE_BYTES: u64 = 32 << 20;
/// Items asked for per page.
const PAGE_LIMIT: u32 = 500;
/// The failed refresh at which the last good listing is dropped (it is
/// kept through the ones before: 2 failed refreshes survive, the 3rd drops).
pub const KEEP_AFTER_FAILURES: u32 = 3;
/// The most pages read for one listing: enough for [`MAX_ITEMS`] in pages
/// of 500, plus one.
pub const MAX_PAGES: u32 = (MAX_ITEMS as u32) / PAGE_LIMIT + 1;
/// The most bytes read for one listing, over all its pages.
pub const MAX_LISTING_BYTES: u64 = 128 << 20;
/// The longest one refresh (the three listings together) may take.
pub const REFRESH_DEADLINE: Duration = Duration::from_secs(60);

/// Bounds on one listing and one refresh, so that a misbehaving API
/// server (endless pages, huge answers, slow answers) cannot hold the
/// collection thread: running out of any is an error for that listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListLimits {
    /// Pages per listing ([`MAX_PAGES`]).
    pub max_pages: u32,
    /// Bytes per listing, all pages together ([`MAX_LISTING_BYTES`]).
    pub max_bytes: u64,
    /// Time for one refresh, the three listings together
    /// ([`REFRESH_DEADLINE`]).
    pub refresh_deadline: Duration,
}

impl Default for ListLimits {
    fn default() -> Self {
        ListLimits {
            max_pages: MAX_PAGES,
            max_bytes: MAX_LISTING_BYTES,
            refresh_deadline: REFRESH_DEADLINE,
        }
    }
}

/// The resources listed.
pub const SERVICES: &str = "/api/v1/services";
pub const ENDPOINT_SLICES: &str = "/apis/discovery.k8s.io/v1/endpointslices";
pub const INGRESSES: &str = "/apis/networking.k8s.io/v1/ingresses";

/// What listing one resource failed with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KubeError {
    /// The API server answered with an error status.
    #[error("{path}: HTTP {status}")]
    Status { path: String, status: u16 },
    /// The server could not be reached, TLS failed, or it timed out.
    #[error("{path}: {message}")]
    Transport { path: String, message: String },
    /// The answer was not a list, or larger than allowed.
    #[error("{path}: {message}")]
    Body { path: String, message: String },
    /// The listing ran out of pages, bytes or time, or the server repeated
    /// a continue token.
    #[error("{path}: {message}")]
    Limit { path: String, message: String },
}

/// How the bearer token is found (re-read for every listing: service
/// account tokens are rotated). `Debug` never shows a token.
#[derive(Clone)]
enum Token {
    None,
    Fixed(String),
    File(PathBuf),
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Token::None => f.write_str("None"),
            Token::Fixed(_) => f.write_str("Fixed(\"***\")"),
            Token::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

/// A connection to one cluster's API server.
#[derive(Clone)]
pub struct KubeApi {
    server: String,
    token: Token,
    agent: ureq::Agent,
    timeout: Duration,
    /// The cluster's name, put on every object reported.
    pub cluster: String,
    /// Where the connection came from (`in-cluster`, `kubeconfig PATH`).
    pub origin: String,
    /// Bounds on each listing and refresh.
    pub limits: ListLimits,
}

/// By hand: the token is shown as `***` and the HTTP agent (TLS settings)
/// is left out.
impl std::fmt::Debug for KubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApi")
            .field("server", &self.server)
            .field("token", &self.token)
            .field("timeout", &self.timeout)
            .field("cluster", &self.cluster)
            .field("origin", &self.origin)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn cfg_err(msg: impl Into<String>) -> SensorError {
    SensorError::Config(msg.into())
}

fn kubeconfig_err(e: rampart_kubeconfig::KubeconfigError) -> SensorError {
    cfg_err(e.to_string())
}

/// The HTTP client for the API server: no redirects (the token stays with
/// the server), API errors as answers, not errors.
fn agent(tls: ureq::tls::TlsConfig, timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(5).min(timeout)))
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| SensorError::io(path, e))
}

impl KubeApi {
    /// The API as a pod with a service account sees it: `https://HOST:PORT`
    /// with the token, CA and namespace files in `sa_dir`.
    ///
    /// # Errors
    /// The token or CA file is unreadable or the CA holds no certificate.
    pub fn in_cluster(
        host: &str,
        port: &str,
        sa_dir: &Path,
        cluster: Option<String>,
        timeout: Duration,
    ) -> Result<Self> {
        if host.contains('/') || host.is_empty() {
            return Err(cfg_err(format!(
                "KUBERNETES_SERVICE_HOST {host:?} is not a host name or address"
            )));
        }
        let token = sa_dir.join("token");
        read(&token)?;
        let ca = read(&sa_dir.join("ca.crt"))?;
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_string()
        };
        Ok(KubeApi {
            server: format!("https://{host}:{port}"),
            token: Token::File(token),
            agent: agent(
                rampart_kubeconfig::tls_config(Some(&ca), None, false).map_err(kubeconfig_err)?,
                timeout,
            ),
            timeout,
            cluster: cluster.unwrap_or_else(|| IN_CLUSTER_NAME.to_string()),
            origin: format!("in-cluster service account ({})", sa_dir.display()),
            limits: ListLimits::default(),
        })
    }

    /// The API of a kubeconfig's current context; the cluster is named
    /// `cluster`, else by the context's cluster entry.
    ///
    /// # Errors
    /// The file is unreadable or not a kubeconfig, the context or its
    /// cluster is missing, the user needs an exec or auth-provider plugin,
    /// or a certificate or key is unusable.
    pub fn from_kubeconfig(
        path: &Path,
        cluster: Option<String>,
        timeout: Duration,
    ) -> Result<Self> {
        let c = rampart_kubeconfig::load(path, None).map_err(kubeconfig_err)?;
        let where_ = path.display();
        if c.has_credentials() && !c.server.starts_with("https://") {
            return Err(cfg_err(format!(
                "{where_}: cluster {:?}: server {} is plain http: \
                 a token or client certificate is only sent over https",
                c.cluster, c.server
            )));
        }
        let token = match &c.token {
            None => Token::None,
            Some(rampart_kubeconfig::TokenSource::Inline(t)) => Token::Fixed(t.clone()),
            Some(rampart_kubeconfig::TokenSource::File(p)) => Token::File(p.clone()),
        };
        let tls = c.tls().map_err(kubeconfig_err)?;
        let (server, cluster_name, context) = (c.server, c.cluster, c.name);
        Ok(KubeApi {
            server,
            token,
            agent: agent(tls, timeout),
            timeout,
            cluster: cluster.unwrap_or_else(|| cluster_name.to_string()),
            origin: format!("kubeconfig {where_} (context {context})"),
            limits: ListLimits::default(),
        })
    }

    /// The API server's base URL.
    #[must_use]
    pub fn server(&self) -> &str {
        &self.server
    }

    fn bearer(&self, path: &str) -> std::result::Result<Option<String>, KubeError> {
        match &self.token {
            Token::None => Ok(None),
            Token::Fixed(t) => Ok(Some(t.clone())),
            Token::File(p) => std::fs::read_to_string(p)
                .map(|t| Some(t.trim().to_string()))
                .map_err(|e| KubeError::Transport {
                    path: path.to_string(),
                    message: format!("reading the token {}: {}", p.display(), e.kind()),
                }),
        }
    }

    /// Lists every item of `path`, page by page (at most [`MAX_ITEMS`]),
    /// within [`KubeApi::limits`] and before `deadline`.
    ///
    /// # Errors
    /// A non-200 answer, a transport or TLS failure, a page over
    /// [`MAX_PAGE_BYTES`], an answer that is not a list, a repeated continue
    /// token, or running out of pages, bytes or time.
    pub fn list(
        &self,
        path: &str,
        deadline: Instant,
    ) -> std::result::Result<Vec<Value>, KubeError> {
        let token = self.bearer(path)?;
        let limit_err = |message: String| KubeError::Limit {
            path: path.to_string(),
            message,
        };
        let mut items = Vec::new();
        let mut next: Option<String> = None;
        let mut tokens: HashSet<String> = HashSet::new();
        let mut pages = 0u32;
        let mut bytes = 0u64;
        loop {
            if pages >= self.limits.max_pages {
                return Err(limit_err(format!(
                    "more than {} pages in one listing",
                    self.limits.max_pages
                )));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(limit_err(format!(
                    "the refresh took longer than {} s",
                    self.limits.refresh_deadline.as_secs_f64()
                )));
            }
            pages += 1;
            let mut url = format!("{}{path}?limit={PAGE_LIMIT}", self.server);
            if let Some(c) = &next {
                url.push_str("&continue=");
                url.push_str(&percent_encode(c));
            }
            let mut req = self
                .agent
                .get(&url)
                .header("Accept", "application/json")
                .config()
                .timeout_global(Some(self.timeout.min(left)))
                .build();
            if let Some(t) = &token {
                req = req.header("Authorization", &format!("Bearer {t}"));
            }
            let mut resp = req.call().map_err(|e| KubeError::Transport {
                path: path.to_string(),
                message: e.to_string(),
            })?;
            let status = resp.status().as_u16();
            if status != 200 {
                return Err(KubeError::Status {
                    path: path.to_string(),
                    status,
                });
            }
            let budget = self.limits.max_bytes.saturating_sub(bytes);
            let body = resp
                .body_mut()
                .with_config()
                .limit(MAX_PAGE_BYTES.min(budget))
                .read_to_vec()
                .map_err(|e| match e {
                    ureq::Error::BodyExceedsLimit(_) if budget < MAX_PAGE_BYTES => limit_err(
                        format!("more than {} bytes in one listing", self.limits.max_bytes),
                    ),
                    e => KubeError::Body {
                        path: path.to_string(),
                        message: format!("reading the answer: {e}"),
                    },
                })?;
            bytes += body.len() as u64;
            let page = parse_list(&body).map_err(|message| KubeError::Body {
                path: path.to_string(),
                message,
            })?;
            items.extend(page.items);
            if items.len() >= MAX_ITEMS {
                items.truncate(MAX_ITEMS);
                tracing::warn!("{path}: more than {MAX_ITEMS} items; the rest left out");
                return Ok(items);
            }
            match page.next {
                None => return Ok(items),
                Some(c) => {
                    if !tokens.insert(c.clone()) {
                        return Err(limit_err(format!(
                            "the server repeated the continue token {:?}",
                            truncated(&c)
                        )));
                    }
                    next = Some(c);
                }
            }
        }
    }
}

/// At most 64 characters of `s`, for messages.
fn truncated(s: &str) -> String {
    match s.char_indices().nth(64) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The collector's settings.
#[derive(Debug, Clone)]
pub struct KubeConfig {
    pub api: KubeApi,
    /// Collections between two listings (the first collection lists).
    pub every: u32,
}

/// How the sensor's Kubernetes options resolved (for the start-up line).
#[derive(Debug, Clone)]
pub enum KubeSetup {
    /// No API: not in a pod with a service account, no kubeconfig given.
    None,
    /// An API, but cluster objects are not collected.
    NotCollecting { origin: String },
    /// Cluster objects are collected.
    Collecting(KubeConfig),
}

/// Resolves the sensor's Kubernetes options: `kubeconfig` when given, else
/// in-cluster when `env` has `KUBERNETES_SERVICE_HOST` and
/// `KUBERNETES_SERVICE_PORT` and `sa_dir` holds a token. Cluster objects
/// are collected when `objects` says so; by default only in-cluster.
///
/// # Errors
/// The kubeconfig or the service account files are unusable.
pub fn setup(
    kubeconfig: Option<&Path>,
    objects: Option<bool>,
    cluster: Option<String>,
    env: impl Fn(&str) -> Option<String>,
    sa_dir: &Path,
    timeout: Duration,
) -> Result<KubeSetup> {
    let cluster = cluster.filter(|c| !c.trim().is_empty());
    let (api, in_cluster) = if let Some(path) = kubeconfig {
        (KubeApi::from_kubeconfig(path, cluster, timeout)?, false)
    } else {
        let host = env("KUBERNETES_SERVICE_HOST").filter(|h| !h.is_empty());
        let port = env("KUBERNETES_SERVICE_PORT").filter(|p| !p.is_empty());
        match (host, port) {
            (Some(h), Some(p)) if sa_dir.join("token").is_file() => {
                (KubeApi::in_cluster(&h, &p, sa_dir, cluster, timeout)?, true)
            }
            _ => return Ok(KubeSetup::None),
        }
    };
    if objects.unwrap_or(in_cluster) {
        Ok(KubeSetup::Collecting(KubeConfig {
            api,
            every: DEFAULT_EVERY,
        }))
    } else {
        Ok(KubeSetup::NotCollecting { origin: api.origin })
    }
}

/// Lists cluster objects every few collections and keeps the last good
/// listing in between.
#[derive(Debug)]
pub struct KubeCollector {
    cfg: KubeConfig,
    calls: u32,
    cached: Vec<Entity>,
    failures: u32,
    last_error: Option<String>,
    /// Items skipped by the last listing, with reasons.
    pub skipped: Vec<String>,
}

impl KubeCollector {
    #[must_use]
    pub fn new(cfg: KubeConfig) -> Self {
        KubeCollector {
            cfg,
            calls: 0,
            cached: Vec::new(),
            failures: 0,
            last_error: None,
            skipped: Vec::new(),
        }
    }

    /// The cluster objects for this collection (lists them when due).
    pub fn poll(&mut self) -> &[Entity] {
        let due = self.calls.is_multiple_of(self.cfg.every.max(1));
        self.calls = self.calls.wrapping_add(1);
        if due {
            self.refresh();
        }
        &self.cached
    }

    /// Lists now.
    pub fn refresh(&mut self) {
        match self.fetch() {
            Ok(entities) => {
                if self.last_error.take().is_some() {
                    tracing::info!(cluster = %self.cfg.api.cluster, "Kubernetes API answers again");
                }
                self.failures = 0;
                self.cached = entities;
            }
            Err(e) => {
                let msg = e.to_string();
                if self.last_error.as_ref() != Some(&msg) {
                    tracing::warn!(
                        cluster = %self.cfg.api.cluster,
                        "Kubernetes API: {msg}; Services and Ingresses not refreshed"
                    );
                    self.last_error = Some(msg);
                }
                self.failures += 1;
                if self.failures >= KEEP_AFTER_FAILURES {
                    self.cached.clear();
                }
            }
        }
    }

    /// The last listing error, if the last refresh failed.
    #[must_use]
    pub fn last_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    fn fetch(&mut self) -> std::result::Result<Vec<Entity>, KubeError> {
        let api = &self.cfg.api;
        let deadline = Instant::now() + api.limits.refresh_deadline;
        let services = api.list(SERVICES, deadline)?;
        let slices = optional(api.list(ENDPOINT_SLICES, deadline))?;
        let ingresses = optional(api.list(INGRESSES, deadline))?;
        let a = assemble(&api.cluster, &services, &slices, &ingresses);
        if a.skipped != self.skipped && !a.skipped.is_empty() {
            tracing::warn!(
                cluster = %api.cluster,
                "Kubernetes API: {} objects skipped, first: {}",
                a.skipped.len(),
                a.skipped[0]
            );
        }
        self.skipped = a.skipped;
        Ok(a.entities)
    }
}

/// A resource the server does not serve (404) is an empty list.
fn optional(
    r: std::result::Result<Vec<Value>, KubeError>,
) -> std::result::Result<Vec<Value>, KubeError> {
    match r {
        Err(KubeError::Status { status: 404, .. }) => Ok(Vec::new()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_are_encoded() {
        assert_eq!(percent_encode("a+b/c=d e"), "a%2Bb%2Fc%3Dd%20e");
        assert_eq!(percent_encode("AZaz09-._~"), "AZaz09-._~");
    }

    fn kubeconfig(dir: &Path, server: &str, user: &str) -> PathBuf {
        let kc = dir.join("config");
        std::fs::write(
            &kc,
            format!(
                "apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\n\
                 clusters:\n- name: k\n  cluster: {{server: '{server}'}}\n\
                 users:\n- name: u\n  user: {user}\n"
            ),
        )
        .unwrap();
        kc
    }

    fn from(kc: &Path) -> Result<KubeSetup> {
        setup(
            Some(kc),
            Some(true),
            None,
            |_| None,
            Path::new("/nonexistent"),
            Duration::from_secs(1),
        )
    }

    #[test]
    fn debug_never_shows_the_token() {
        let dir = tempfile::tempdir().unwrap();
        let secret = "eyJhbGciOiJSUzI1NiJ9.secret-token-value";
        let kc = kubeconfig(
            dir.path(),
            "https://127.0.0.1:6443",
            &format!("{{token: '{secret}'}}"),
        );
        let KubeSetup::Collecting(cfg) = from(&kc).unwrap() else {
            panic!("asked to collect")
        };
        for text in [
            format!("{cfg:?}"),
            format!("{cfg:#?}"),
            format!("{:?}", cfg.api),
            format!("{:?}", KubeCollector::new(cfg)),
        ] {
            assert!(!text.contains(secret), "{text}");
            assert!(!text.contains("secret-token"), "{text}");
            assert!(text.contains("***"), "{text}");
            assert!(text.contains("https://127.0.0.1:6443"), "{text}");
        }
        // A token file: its path is shown, not its content.
        std::fs::write(dir.path().join("tok"), secret).unwrap();
        let kc = kubeconfig(dir.path(), "https://127.0.0.1:6443", "{tokenFile: tok}");
        let KubeSetup::Collecting(cfg) = from(&kc).unwrap() else {
            panic!()
        };
        let text = format!("{cfg:?}");
        assert!(!text.contains(secret) && text.contains("tok"), "{text}");
    }

    #[test]
    fn credentials_are_not_sent_over_plain_http() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tok"), "t").unwrap();
        for user in [
            "{token: abc}",
            "{tokenFile: tok}",
            "{client-certificate-data: AAAA, client-key-data: AAAA}",
        ] {
            let kc = kubeconfig(dir.path(), "http://127.0.0.1:8080", user);
            let e = from(&kc).unwrap_err().to_string();
            assert!(
                e.contains("plain http") && e.contains("https"),
                "{user}: {e}"
            );
        }
        // Without credentials plain http is allowed (a local proxy).
        let kc = kubeconfig(dir.path(), "http://127.0.0.1:8080", "{}");
        assert!(matches!(from(&kc).unwrap(), KubeSetup::Collecting(_)));
        // In-cluster is always https; a URL as the host is refused.
        std::fs::write(dir.path().join("token"), "t").unwrap();
        let e = KubeApi::in_cluster(
            "http://10.0.0.1",
            "443",
            dir.path(),
            None,
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("not a host"), "{e}");
    }

    #[test]
    fn limits_default_to_the_documented_values() {
        let l = ListLimits::default();
        assert_eq!(l.max_pages, 41);
        assert_eq!(l.max_bytes, 128 * 1024 * 1024);
        assert_eq!(l.refresh_deadline, Duration::from_secs(60));
        assert_eq!(truncated("abc"), "abc");
        assert_eq!(truncated(&"x".repeat(100)).len(), 67);
    }

    #[test]
    fn no_api_without_service_account_or_kubeconfig() {
        let dir = tempfile::tempdir().unwrap();
        let env = |k: &str| match k {
            "KUBERNETES_SERVICE_HOST" => Some("127.0.0.1".to_string()),
            "KUBERNETES_SERVICE_PORT" => Some("6443".to_string()),
            _ => None,
        };
        // No token file: not in-cluster.
        let s = setup(None, None, None, env, dir.path(), Duration::from_secs(1)).unwrap();
        assert!(matches!(s, KubeSetup::None));
        // A token but an unusable CA: a configuration error, said at start.
        std::fs::write(dir.path().join("token"), "t").unwrap();
        std::fs::write(dir.path().join("ca.crt"), "not pem").unwrap();
        let e = setup(None, None, None, env, dir.path(), Duration::from_secs(1)).unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
        // A kubeconfig needing an exec plugin is refused.
        let kc = dir.path().join("config");
        std::fs::write(
            &kc,
            "apiVersion: v1\ncurrent-context: c\ncontexts:\n- name: c\n  context: {cluster: k, user: u}\n\
             clusters:\n- name: k\n  cluster: {server: 'https://127.0.0.1:1'}\n\
             users:\n- name: u\n  user: {exec: {command: aws}}\n",
        )
        .unwrap();
        let e = setup(
            Some(&kc),
            None,
            None,
            |_| None,
            dir.path(),
            Duration::from_secs(1),
        )
        .unwrap_err();
        assert!(e.to_string().contains("exec"), "{e}");
        std::fs::write(&kc, "{{{").unwrap();
        assert!(
            setup(
                Some(&kc),
                None,
                None,
                |_| None,
                dir.path(),
                Duration::from_secs(1)
            )
            .is_err()
        );
    }
}
