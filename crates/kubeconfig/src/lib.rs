//! A kubeconfig's context, read once for every Rampart component that talks
//! to a Kubernetes API server (the sensor's Services and Ingresses, the
//! posture scanner's live-cluster facts): the server, its CA, and the
//! user's token or client certificate. Certificate and key data come inline
//! (`*-data`, base64) or from files relative to the kubeconfig. Users that
//! need an `exec` or `auth-provider` plugin are refused: Rampart runs no
//! external login helper.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine as _;
use serde_json::Value;

/// What reading a kubeconfig can fail with.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KubeconfigError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file, the context or a credential is unusable.
    #[error("{0}")]
    Invalid(String),
}

fn invalid(msg: impl Into<String>) -> KubeconfigError {
    KubeconfigError::Invalid(msg.into())
}

fn read(path: &Path) -> Result<Vec<u8>, KubeconfigError> {
    std::fs::read(path).map_err(|source| KubeconfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Where the user's bearer token is.
#[derive(Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// `token`: in the kubeconfig.
    Inline(String),
    /// `tokenFile` (resolved against the kubeconfig's directory): read at
    /// each use, since such tokens are rotated.
    File(PathBuf),
}

/// By hand: a token is never shown.
impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TokenSource::Inline(_) => f.write_str("Inline(\"***\")"),
            TokenSource::File(p) => f.debug_tuple("File").field(p).finish(),
        }
    }
}

impl TokenSource {
    /// The token, trimmed (a file is read now).
    ///
    /// # Errors
    /// The token file cannot be read.
    pub fn token(&self) -> Result<String, KubeconfigError> {
        match self {
            TokenSource::Inline(t) => Ok(t.trim().to_string()),
            TokenSource::File(p) => Ok(String::from_utf8_lossy(&read(p)?).trim().to_string()),
        }
    }
}

/// One context of a kubeconfig, resolved.
#[derive(Clone)]
pub struct Context {
    /// The context's name.
    pub name: String,
    /// The name of its cluster entry.
    pub cluster: String,
    /// The API server's URL, without a trailing `/`.
    pub server: String,
    /// The cluster's CA (PEM), when given.
    pub ca: Option<Vec<u8>>,
    /// `insecure-skip-tls-verify: true`.
    pub insecure: bool,
    /// The user's client certificate and key (PEM), when both are given.
    pub client: Option<(Vec<u8>, Vec<u8>)>,
    pub token: Option<TokenSource>,
}

/// By hand: the key is never shown.
impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("name", &self.name)
            .field("cluster", &self.cluster)
            .field("server", &self.server)
            .field("insecure", &self.insecure)
            .field("client_certificate", &self.client.is_some())
            .field("token", &self.token)
            .finish_non_exhaustive()
    }
}

impl Context {
    /// Whether anything secret would be sent to the server.
    #[must_use]
    pub fn has_credentials(&self) -> bool {
        self.token.is_some() || self.client.is_some()
    }
}

fn named<'a>(cfg: &'a Value, list: &str, name: &str) -> Option<&'a Value> {
    cfg.get(list)?
        .as_array()?
        .iter()
        .find(|e| e.get("name").and_then(Value::as_str) == Some(name))
}

/// `DATA_KEY` (base64) or `FILE_KEY` (a path relative to `base`).
fn data_or_file(
    obj: &Value,
    data_key: &str,
    file_key: &str,
    base: &Path,
) -> Result<Option<Vec<u8>>, KubeconfigError> {
    if let Some(d) = obj.get(data_key).and_then(Value::as_str) {
        return base64::engine::general_purpose::STANDARD
            .decode(d.trim())
            .map(Some)
            .map_err(|e| invalid(format!("kubeconfig {data_key}: {e}")));
    }
    match obj.get(file_key).and_then(Value::as_str) {
        Some(f) => read(&base.join(f)).map(Some),
        None => Ok(None),
    }
}

/// Reads `context` of the kubeconfig at `path` (`None` or empty: its
/// `current-context`).
///
/// # Errors
/// The file is unreadable or not YAML, the context, its cluster or the
/// server URL is missing, the user needs a login plugin, or inline data is
/// not base64 or a referenced file cannot be read.
pub fn load(path: &Path, context: Option<&str>) -> Result<Context, KubeconfigError> {
    let text = read(path)?;
    let cfg: Value = yaml_serde::from_slice(&text)
        .map_err(|e| invalid(format!("{}: not a kubeconfig: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let where_ = path.display();
    let name = match context.filter(|c| !c.is_empty()) {
        Some(c) => c,
        None => cfg
            .get("current-context")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| invalid(format!("{where_}: no current-context: name a context")))?,
    };
    let ctx = named(&cfg, "contexts", name)
        .and_then(|c| c.get("context"))
        .ok_or_else(|| invalid(format!("{where_}: no context {name:?}")))?;
    let field = |k: &str| ctx.get(k).and_then(Value::as_str).unwrap_or_default();
    let cluster_name = field("cluster");
    let cluster = named(&cfg, "clusters", cluster_name)
        .and_then(|c| c.get("cluster"))
        .ok_or_else(|| {
            invalid(format!(
                "{where_}: context {name:?}: cluster {cluster_name:?} not found"
            ))
        })?;
    let null = Value::Null;
    let user = named(&cfg, "users", field("user"))
        .and_then(|u| u.get("user"))
        .unwrap_or(&null);
    if user.get("exec").is_some() || user.get("auth-provider").is_some() {
        return Err(invalid(format!(
            "{where_}: users with exec or auth-provider plugins are not supported: \
             use a token or a client certificate"
        )));
    }
    let server = cluster
        .get("server")
        .and_then(Value::as_str)
        .filter(|s| s.starts_with("https://") || s.starts_with("http://"))
        .ok_or_else(|| {
            invalid(format!(
                "{where_}: cluster {cluster_name:?} has no server URL"
            ))
        })?
        .trim_end_matches('/')
        .to_string();
    let ca = data_or_file(
        cluster,
        "certificate-authority-data",
        "certificate-authority",
        base,
    )?;
    let cert = data_or_file(user, "client-certificate-data", "client-certificate", base)?;
    let key = data_or_file(user, "client-key-data", "client-key", base)?;
    let client = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => {
            return Err(invalid(format!(
                "{where_}: the user has a client certificate or key without the other"
            )));
        }
    };
    let token = match (
        user.get("token").and_then(Value::as_str),
        user.get("tokenFile").and_then(Value::as_str),
    ) {
        (Some(t), _) => Some(TokenSource::Inline(t.trim().to_string())),
        (None, Some(f)) => {
            let p = base.join(f);
            read(&p)?;
            Some(TokenSource::File(p))
        }
        (None, None) => None,
    };
    Ok(Context {
        name: name.to_string(),
        cluster: cluster_name.to_string(),
        server,
        ca,
        insecure: cluster
            .get("insecure-skip-tls-verify")
            .and_then(Value::as_bool)
            == Some(true),
        client,
        token,
    })
}

fn certificates(
    pem: &[u8],
    what: &str,
) -> Result<Vec<ureq::tls::Certificate<'static>>, KubeconfigError> {
    let certs: Vec<_> = ureq::tls::parse_pem(pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c.to_owned()),
            _ => None,
        })
        .collect();
    if certs.is_empty() {
        return Err(invalid(format!("{what}: no certificate in the PEM data")));
    }
    Ok(certs)
}

/// TLS settings to reach an API server: `ca` (PEM) as the only trusted
/// root when given (else the bundled web roots), the client certificate and
/// key (PEM) when given, verification off only when `insecure`.
///
/// # Errors
/// The CA or client certificate holds no certificate, or the key no
/// private key.
pub fn tls_config(
    ca: Option<&[u8]>,
    client: Option<(&[u8], &[u8])>,
    insecure: bool,
) -> Result<ureq::tls::TlsConfig, KubeconfigError> {
    let mut b = ureq::tls::TlsConfig::builder().disable_verification(insecure);
    if let Some(ca) = ca {
        b = b.root_certs(ureq::tls::RootCerts::Specific(Arc::new(certificates(
            ca,
            "the cluster CA",
        )?)));
    }
    if let Some((cert, key)) = client {
        let chain = certificates(cert, "the client certificate")?;
        let key = ureq::tls::parse_pem(key)
            .find_map(|i| match i {
                Ok(ureq::tls::PemItem::PrivateKey(k)) => Some(k.to_owned()),
                _ => None,
            })
            .ok_or_else(|| invalid("the client key: no private key in the PEM data"))?;
        b = b.client_cert(Some(ureq::tls::ClientCert::new_with_certs(&chain, key)));
    }
    Ok(b.build())
}

impl Context {
    /// [`tls_config`] for this context.
    ///
    /// # Errors
    /// As [`tls_config`].
    pub fn tls(&self) -> Result<ureq::tls::TlsConfig, KubeconfigError> {
        tls_config(
            self.ca.as_deref(),
            self.client
                .as_ref()
                .map(|(c, k)| (c.as_slice(), k.as_slice())),
            self.insecure,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    const CONFIG: &str = "apiVersion: v1\nkind: Config\ncurrent-context: lab\n\
contexts:\n- name: lab\n  context: {cluster: c1, user: u1}\n\
- name: other\n  context: {cluster: c2, user: u2}\n- name: broken\n  context: {cluster: nope, user: u1}\n\
clusters:\n- name: c1\n  cluster: {server: \"https://10.0.0.1:6443/\", certificate-authority-data: Q0E=}\n\
- name: c2\n  cluster: {server: \"https://c2.example\", certificate-authority: ca.pem, insecure-skip-tls-verify: true}\n\
users:\n- name: u1\n  user: {token: \" s3cr3t \"}\n- name: u2\n  user: {tokenFile: tok, client-certificate: c.pem, client-key: k.pem}\n";

    #[test]
    fn contexts_resolve_inline_and_file_credentials() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(dir.path(), "config", CONFIG);
        write(dir.path(), "ca.pem", "CA2");
        write(dir.path(), "tok", "file-token\n");
        write(dir.path(), "c.pem", "CERT");
        write(dir.path(), "k.pem", "KEY");
        let lab = load(&cfg, None).unwrap();
        assert_eq!(
            (lab.name.as_str(), lab.cluster.as_str(), lab.server.as_str()),
            ("lab", "c1", "https://10.0.0.1:6443")
        );
        assert_eq!(lab.ca.as_deref(), Some(&b"CA"[..]));
        assert_eq!(lab.token.as_ref().unwrap().token().unwrap(), "s3cr3t");
        assert!(lab.has_credentials() && !lab.insecure && lab.client.is_none());
        assert_eq!(load(&cfg, Some("")).unwrap().name, "lab");
        let other = load(&cfg, Some("other")).unwrap();
        assert!(other.insecure);
        assert_eq!(other.ca.as_deref(), Some(&b"CA2"[..]));
        assert_eq!(other.client, Some((b"CERT".to_vec(), b"KEY".to_vec())));
        assert_eq!(other.token.as_ref().unwrap().token().unwrap(), "file-token");
        // Debug never shows a token.
        let shown = format!("{lab:?}");
        assert!(
            !shown.contains("s3cr3t") && shown.contains("***"),
            "{shown}"
        );
    }

    #[test]
    fn unusable_configs_say_why() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write(dir.path(), "config", CONFIG);
        let e = |c: Option<&str>, p: &Path| load(p, c).unwrap_err().to_string();
        assert!(e(Some("missing"), &cfg).contains("no context \"missing\""));
        assert!(e(Some("broken"), &cfg).contains("cluster \"nope\" not found"));
        // tokenFile and certificate files of `other` do not exist here.
        assert!(e(Some("other"), &cfg).contains("ca.pem"));
        let plugin = write(
            dir.path(),
            "plugin",
            "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n\
             clusters:\n- name: c\n  cluster: {server: \"https://h\"}\n\
             users:\n- name: u\n  user: {exec: {command: aws}}\n",
        );
        assert!(e(None, &plugin).contains("exec"));
        let no_current = write(dir.path(), "nocur", "contexts: []\n");
        assert!(e(None, &no_current).contains("no current-context"));
        let not_yaml = write(dir.path(), "bad", "{{{{");
        assert!(e(None, &not_yaml).contains("not a kubeconfig"));
        let bad_b64 = write(
            dir.path(),
            "b64",
            "current-context: x\ncontexts:\n- name: x\n  context: {cluster: c, user: u}\n\
             clusters:\n- name: c\n  cluster: {server: \"https://h\", certificate-authority-data: \"!!\"}\n\
             users:\n- name: u\n  user: {}\n",
        );
        assert!(e(None, &bad_b64).contains("certificate-authority-data"));
        assert!(matches!(
            load(&dir.path().join("absent"), None),
            Err(KubeconfigError::Io { .. })
        ));
    }

    #[test]
    fn tls_settings_refuse_pem_without_certificates() {
        let e = tls_config(Some(b"not pem"), None, false).unwrap_err();
        assert!(e.to_string().contains("no certificate"), "{e}");
        assert!(tls_config(None, None, true).is_ok());
    }
}
