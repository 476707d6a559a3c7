//! A small, blocking OCI distribution client: manifests and blobs, with
//! anonymous, basic and bearer-token authentication. Every manifest and
//! blob is verified against its digest; blobs are downloaded into a
//! temporary directory Rampart owns and read from there as streams.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use super::auth::{ConfigLookup, Credentials, lookup_docker_config_file, parse_challenge};
use super::reference::ImageRef;
use crate::digest::{Digest, HashingReader};
use crate::error::{Result, SourceError};
use crate::image::archive_internals::{
    Candidate, blob_path, expand_remote, manifest_parts, select,
};
use crate::image::{
    DirStore, Image, Index, MediaTypeProbe, Platform, is_index_type, is_manifest_type,
};
use crate::limits::Limits;

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// How to reach and authenticate to a registry.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Use plain HTTP instead of HTTPS.
    pub insecure: bool,
    /// Credentials given on the command line or in the environment; they win
    /// over the Docker config file.
    pub credentials: Option<Credentials>,
    /// The Docker `config.json` to read credentials from (`None`: do not).
    pub docker_config: Option<PathBuf>,
    /// The platform to pick from an image index.
    pub platform: Option<Platform>,
    /// Connect and response timeout.
    pub timeout: Option<Duration>,
    /// Longest time one blob download may take (default one hour): a
    /// registry that stalls mid-transfer fails instead of hanging.
    pub download_timeout: Option<Duration>,
}

struct Client {
    agent: ureq::Agent,
    base: String,
    reference: ImageRef,
    credentials: Option<Credentials>,
    authorization: Option<String>,
    limits: Limits,
}

impl Client {
    fn err(&self, message: impl Into<String>) -> SourceError {
        SourceError::Registry {
            registry: self.reference.registry.clone(),
            message: message.into(),
        }
    }

    fn auth_err(&self, message: impl Into<String>) -> SourceError {
        SourceError::Auth {
            registry: self.reference.registry.clone(),
            message: message.into(),
        }
    }

    fn send(&self, url: &str, accept: Option<&str>) -> Result<ureq::http::Response<ureq::Body>> {
        let mut req = self.agent.get(url);
        if let Some(a) = accept {
            req = req.header("Accept", a);
        }
        if let Some(auth) = &self.authorization {
            req = req.header("Authorization", auth);
        }
        req.call().map_err(|e| {
            let hint = if self.base.starts_with("https") {
                " (for a plain-HTTP registry use --insecure-registry)"
            } else {
                ""
            };
            self.err(format!("GET {url}: {e}{hint}"))
        })
    }

    /// GET with one authentication round when the registry challenges.
    fn get(&mut self, url: &str, accept: Option<&str>) -> Result<ureq::http::Response<ureq::Body>> {
        let resp = self.send(url, accept)?;
        if resp.status().as_u16() != 401 {
            return Ok(resp);
        }
        if self.authorization.is_some() && self.credentials.is_none() {
            return Err(self.auth_err("the registry refused the anonymous token; give credentials"));
        }
        let header = resp
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .ok_or_else(|| self.auth_err("401 without a WWW-Authenticate challenge"))?;
        let challenge = parse_challenge(&header)
            .ok_or_else(|| self.auth_err("unreadable WWW-Authenticate challenge"))?;
        self.authorization = Some(match challenge.scheme.as_str() {
            "basic" => self
                .credentials
                .as_ref()
                .ok_or_else(|| {
                    self.auth_err("the registry wants a user name and password (none given)")
                })?
                .basic_header(),
            "bearer" => format!("Bearer {}", self.fetch_token(&challenge.params)?),
            other => {
                return Err(self.auth_err(format!("unsupported authentication scheme {other:?}")));
            }
        });
        let retry = self.send(url, accept)?;
        if retry.status().as_u16() == 401 {
            return Err(self.auth_err("credentials rejected"));
        }
        Ok(retry)
    }

    fn fetch_token(&self, params: &std::collections::BTreeMap<String, String>) -> Result<String> {
        let realm = params
            .get("realm")
            .ok_or_else(|| self.auth_err("bearer challenge without a realm"))?;
        if !(realm.starts_with("https://")
            || (self.base.starts_with("http://") && realm.starts_with("http://")))
        {
            return Err(self.auth_err(format!("refusing token realm {realm:?} (not HTTPS)")));
        }
        let scope = params
            .get("scope")
            .cloned()
            .unwrap_or_else(|| format!("repository:{}:pull", self.reference.repository));
        let mut req = self.agent.get(realm).query("scope", &scope);
        if let Some(service) = params.get("service") {
            req = req.query("service", service);
        }
        if let Some(c) = &self.credentials {
            req = req.header("Authorization", &c.basic_header());
        }
        let resp = req
            .call()
            .map_err(|e| self.auth_err(format!("token request to {realm}: {e}")))?;
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(self.auth_err(format!("token service refused the credentials ({status})")));
        }
        if status != 200 {
            return Err(self.auth_err(format!("token service answered {status}")));
        }
        let body = resp
            .into_body()
            .with_config()
            .limit(self.limits.max_metadata_bytes)
            .read_to_vec()
            .map_err(|e| self.auth_err(format!("reading token: {e}")))?;
        let v: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|e| self.auth_err(format!("token response is not JSON: {e}")))?;
        v.get("token")
            .or_else(|| v.get("access_token"))
            .and_then(serde_json::Value::as_str)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| self.auth_err("token response has no token"))
    }

    fn check_status(&self, resp: &ureq::http::Response<ureq::Body>, what: &str) -> Result<()> {
        match resp.status().as_u16() {
            200 => Ok(()),
            404 => Err(self.err(format!("{what} not found"))),
            403 => Err(self.auth_err(format!("access to {what} denied"))),
            s => Err(self.err(format!("{what}: HTTP {s}"))),
        }
    }

    /// Fetches a manifest or index; verifies it when its digest is known.
    fn manifest(
        &mut self,
        reference: &str,
        expected: Option<&Digest>,
    ) -> Result<(Vec<u8>, Digest)> {
        let url = format!(
            "{}/v2/{}/manifests/{}",
            self.base, self.reference.repository, reference
        );
        let resp = self.get(&url, Some(ACCEPT))?;
        self.check_status(
            &resp,
            &format!("manifest {}:{reference}", self.reference.repository),
        )?;
        let body = resp
            .into_body()
            .with_config()
            .limit(self.limits.max_metadata_bytes)
            .read_to_vec()
            .map_err(|e| self.err(format!("reading manifest: {e}")))?;
        let digest = match expected {
            Some(d) => {
                d.verify("manifest", &body)?;
                d.clone()
            }
            None => Digest::sha256_of(&body),
        };
        Ok((body, digest))
    }

    /// Downloads a blob into `dir` at its layout path, verifying it.
    fn blob(&mut self, digest: &Digest, dir: &std::path::Path, max: u64) -> Result<()> {
        let url = format!(
            "{}/v2/{}/blobs/{}",
            self.base, self.reference.repository, digest
        );
        let resp = self.get(&url, None)?;
        self.check_status(&resp, &format!("blob {digest}"))?;
        let dest = dir.join(blob_path(digest));
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SourceError::io(parent, e))?;
        }
        let mut out = std::fs::File::create(&dest).map_err(|e| SourceError::io(&dest, e))?;
        let body = resp.into_body().into_reader();
        let (mut hashing, handle) = HashingReader::new(body.take(max + 1), digest.algorithm());
        let mut buf = vec![0_u8; 256 << 10];
        loop {
            let n = hashing
                .read(&mut buf)
                .map_err(|e| self.err(format!("downloading blob {digest}: {e}")))?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])
                .map_err(|e| SourceError::io(&dest, e))?;
        }
        if handle.bytes() > max {
            return Err(SourceError::TooLarge {
                what: format!("blob {digest}"),
                limit: max,
                hint: " (raise limits.max_blob_bytes)",
            });
        }
        digest.check(&format!("blob {digest}"), &handle.digest())
    }
}

/// Pulls the image `reference` names: resolves an index by platform,
/// verifies every manifest and blob, and opens it like a local image.
///
/// # Errors
/// Network, authentication, missing manifests or blobs, digest mismatches.
pub fn open_registry_image(
    reference: &ImageRef,
    opts: &RegistryOptions,
    limits: &Limits,
) -> Result<Image> {
    let config = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .https_only(!opts.insecure)
        .timeout_connect(Some(opts.timeout.unwrap_or(Duration::from_secs(30))))
        .timeout_recv_response(Some(opts.timeout.unwrap_or(Duration::from_secs(60))))
        .timeout_recv_body(Some(
            opts.download_timeout.unwrap_or(Duration::from_secs(3600)),
        ))
        .user_agent(concat!("rampart/", env!("CARGO_PKG_VERSION")))
        .build();
    let credentials = match &opts.credentials {
        Some(c) => Some(c.clone()),
        None => match &opts.docker_config {
            Some(path) => {
                match lookup_docker_config_file(path, &reference.registry).map_err(|m| {
                    SourceError::Auth {
                        registry: reference.registry.clone(),
                        message: m,
                    }
                })? {
                    ConfigLookup::Found(c) => Some(c),
                    ConfigLookup::Helper(h) => {
                        tracing::warn!(
                            registry = %reference.registry,
                            helper = %h,
                            "credentials are in a Docker credential helper, which rampart does not run; \
                             pulling anonymously (pass --username/--password to authenticate)"
                        );
                        None
                    }
                    ConfigLookup::NotFound => None,
                }
            }
            None => None,
        },
    };
    let scheme = if opts.insecure { "http" } else { "https" };
    let mut client = Client {
        agent: config.into(),
        base: format!("{scheme}://{}", reference.api_host()),
        reference: reference.clone(),
        credentials,
        authorization: None,
        limits: limits.clone(),
    };
    let source = format!("registry:{reference}");
    let (raw, digest) = client.manifest(&reference.manifest_ref(), reference.digest.as_ref())?;
    let probe: MediaTypeProbe =
        serde_json::from_slice(&raw).map_err(|e| SourceError::malformed("manifest", e))?;
    let scratch = tempfile::Builder::new()
        .prefix("rampart-pull-")
        .tempdir()
        .map_err(|e| SourceError::io(std::env::temp_dir(), e))?;
    let dir = scratch.path().to_path_buf();
    // Store every manifest document under its digest so the layout code can
    // read it like an OCI layout.
    let write_doc = |d: &Digest, data: &[u8]| -> Result<()> {
        let p = dir.join(blob_path(d));
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).map_err(|e| SourceError::io(parent, e))?;
        }
        std::fs::write(&p, data).map_err(|e| SourceError::io(&p, e))
    };
    let chosen: Candidate = if is_index_type(probe.kind()) {
        let index: Index =
            serde_json::from_slice(&raw).map_err(|e| SourceError::malformed("image index", e))?;
        let mut fetch = |d: &Digest| -> Result<Vec<u8>> {
            let (body, _) = client.manifest(&d.to_string(), Some(d))?;
            write_doc(d, &body)?;
            Ok(body)
        };
        let candidates = expand_remote(&mut fetch, index, reference.tag.clone(), limits, 0)?;
        select(candidates, opts.platform.as_ref(), &source)?
    } else if is_manifest_type(probe.kind()) {
        Candidate {
            descriptor: crate::image::Descriptor {
                media_type: probe.kind().to_string(),
                digest: digest.clone(),
                size: i64::try_from(raw.len()).unwrap_or(i64::MAX),
                platform: None,
                annotations: Default::default(),
            },
            platform: None,
            name: reference.tag.clone(),
        }
    } else {
        return Err(SourceError::Unsupported {
            what: "manifest".to_string(),
            detail: format!(
                "media type {:?} (schema 1 and artifact manifests are not images Rampart reads)",
                probe.kind()
            ),
        });
    };
    if chosen.descriptor.digest == digest {
        write_doc(&digest, &raw)?;
    } else {
        // The manifest an index selected: fetched by digest, verified.
        let (body, _) = client.manifest(
            &chosen.descriptor.digest.to_string(),
            Some(&chosen.descriptor.digest),
        )?;
        write_doc(&chosen.descriptor.digest, &body)?;
    }
    let store = DirStore::new(dir.clone(), limits.clone());
    let mut parts = manifest_parts(&store, &chosen, source, limits, None)?;
    let config_digest = parts
        .config_digest
        .clone()
        .ok_or_else(|| SourceError::malformed("manifest", "no config"))?;
    client.blob(&config_digest, &dir, limits.max_metadata_bytes)?;
    for (_, layer_digest, _) in &parts.layers {
        if let Some(d) = layer_digest {
            client.blob(d, &dir, limits.max_blob_bytes)?;
        }
    }
    parts.scratch = Some(scratch);
    parts.reference = Some(reference.to_string());
    Image::build(Box::new(store), parts, limits)
}
