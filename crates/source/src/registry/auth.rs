//! Registry credentials (flags, environment, `~/.docker/config.json`) and
//! the `WWW-Authenticate` challenges registries answer with.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use serde::Deserialize;

/// A user name and password (or token) for one registry.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

impl Credentials {
    /// The value of an `Authorization: Basic` header.
    #[must_use]
    pub fn basic_header(&self) -> String {
        let raw = format!("{}:{}", self.username, self.password);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, DockerAuth>,
    #[serde(default)]
    cred_helpers: BTreeMap<String, String>,
    #[serde(default)]
    creds_store: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct DockerAuth {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

/// The host part of a `config.json` key, which may be a URL
/// (`https://index.docker.io/v1/`) or a bare host (`localhost:5000`).
fn key_host(key: &str) -> &str {
    let no_scheme = key.split_once("://").map_or(key, |(_, rest)| rest);
    no_scheme.split('/').next().unwrap_or(no_scheme)
}

/// What reading `config.json` found for a registry.
#[derive(Debug, PartialEq, Eq)]
pub enum ConfigLookup {
    Found(Credentials),
    /// The registry's credentials live in a credential helper, which Rampart
    /// does not run; the name is reported so the user can pass them instead.
    Helper(String),
    NotFound,
}

/// Looks up credentials for `registry` in a Docker `config.json` text.
///
/// # Errors
/// A message when the file is not valid JSON or an `auth` is not base64 of
/// `user:password`.
pub fn lookup_docker_config(text: &str, registry: &str) -> Result<ConfigLookup, String> {
    let cfg: DockerConfig =
        serde_json::from_str(text).map_err(|e| format!("invalid docker config: {e}"))?;
    let hub = registry == super::reference::DOCKER_HUB;
    let wanted = |k: &str| {
        let h = key_host(k);
        h == registry
            || (hub && (h == "index.docker.io" || h == "registry-1.docker.io" || h == "docker.io"))
    };
    if let Some((_, entry)) = cfg.auths.iter().find(|(k, _)| wanted(k)) {
        if let Some(auth) = &entry.auth {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|e| format!("invalid auth for {registry} in docker config: {e}"))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| format!("auth for {registry} is not UTF-8"))?;
            let (u, p) = decoded
                .split_once(':')
                .ok_or_else(|| format!("auth for {registry} is not user:password"))?;
            return Ok(ConfigLookup::Found(Credentials {
                username: u.to_string(),
                password: p.to_string(),
            }));
        }
        if let (Some(u), Some(p)) = (&entry.username, &entry.password) {
            return Ok(ConfigLookup::Found(Credentials {
                username: u.clone(),
                password: p.clone(),
            }));
        }
    }
    if let Some((_, helper)) = cfg.cred_helpers.iter().find(|(k, _)| wanted(k)) {
        return Ok(ConfigLookup::Helper(helper.clone()));
    }
    if let Some(store) = &cfg.creds_store {
        return Ok(ConfigLookup::Helper(store.clone()));
    }
    Ok(ConfigLookup::NotFound)
}

/// Reads `path` (a Docker `config.json`) if it exists.
///
/// # Errors
/// As [`lookup_docker_config`], or an unreadable file.
pub fn lookup_docker_config_file(path: &Path, registry: &str) -> Result<ConfigLookup, String> {
    match std::fs::read_to_string(path) {
        Ok(text) => {
            lookup_docker_config(&text, registry).map_err(|e| format!("{}: {e}", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigLookup::NotFound),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// A parsed `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// Lowercased scheme: `basic` or `bearer`.
    pub scheme: String,
    pub params: BTreeMap<String, String>,
}

/// Parses `Bearer realm="...",service="...",scope="a:b:pull,push"`.
#[must_use]
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header
        .split_once(char::is_whitespace)
        .unwrap_or((header, ""));
    if scheme.is_empty() {
        return None;
    }
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = chars
            .by_ref()
            .take_while(|&c| c != '=')
            .collect::<String>()
            .trim()
            .to_ascii_lowercase();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars
                .by_ref()
                .take_while(|&c| c != ',')
                .collect::<String>()
                .trim()
                .to_string();
        }
        params.insert(key, value);
    }
    Some(Challenge {
        scheme: scheme.to_ascii_lowercase(),
        params,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_challenge_with_commas_in_scope() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push""#,
        )
        .unwrap();
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.params["realm"], "https://auth.example/token");
        assert_eq!(c.params["scope"], "repository:a/b:pull,push");
        let b = parse_challenge(r#"Basic realm="Registry Realm""#).unwrap();
        assert_eq!(b.scheme, "basic");
        assert!(parse_challenge("").is_none());
    }

    #[test]
    fn finds_credentials_in_docker_config() {
        let cfg = r#"{"auths":{"http://localhost:5000":{"auth":"dXNlcjpwYTpzcw=="},
            "https://index.docker.io/v1/":{"username":"hub","password":"pw"}},
            "credHelpers":{"gcr.io":"gcloud"}}"#;
        assert_eq!(
            lookup_docker_config(cfg, "localhost:5000").unwrap(),
            ConfigLookup::Found(Credentials {
                username: "user".into(),
                password: "pa:ss".into()
            })
        );
        assert!(
            matches!(lookup_docker_config(cfg, "docker.io").unwrap(), ConfigLookup::Found(c) if c.username == "hub")
        );
        assert_eq!(
            lookup_docker_config(cfg, "gcr.io").unwrap(),
            ConfigLookup::Helper("gcloud".into())
        );
        assert_eq!(
            lookup_docker_config(cfg, "quay.io").unwrap(),
            ConfigLookup::NotFound
        );
        assert!(lookup_docker_config(r#"{"auths":{"x.io":{"auth":"!!"}}}"#, "x.io").is_err());
        assert!(lookup_docker_config("not json", "x.io").is_err());
    }

    #[test]
    fn debug_never_shows_password() {
        let c = Credentials {
            username: "u".into(),
            password: "hunter2".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
