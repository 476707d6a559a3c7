//! Cloud instance metadata: AWS (IMDSv2 token first, then IMDSv1), GCP and
//! Azure, probed once in the background with short timeouts; reports never
//! wait for it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rampart_model::agent::CloudInstance;
use serde_json::Value;

/// The link-local metadata address every provider serves on.
pub const DEFAULT_BASE_URL: &str = "http://169.254.169.254";

/// The result of the probe, shared with the collector.
#[derive(Debug, Clone, Default)]
pub struct CloudProbe {
    inner: Arc<Mutex<Option<Option<CloudInstance>>>>,
}

impl CloudProbe {
    /// Starts the probe against `base_url` on a background thread.
    #[must_use]
    pub fn start(base_url: String) -> Self {
        let probe = CloudProbe::default();
        let slot = Arc::clone(&probe.inner);
        let spawned = std::thread::Builder::new()
            .name("cloud-metadata".into())
            .spawn(move || {
                let found = probe_metadata(&base_url);
                match &found {
                    Some(c) => {
                        tracing::info!(provider = %c.provider, "cloud instance metadata found")
                    }
                    None => tracing::debug!("no cloud instance metadata service answered"),
                }
                if let Ok(mut g) = slot.lock() {
                    *g = Some(found);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot start the cloud metadata probe: {e}");
        }
        probe
    }

    /// The instance, once the probe has answered (`None` while probing or
    /// when no service answered).
    #[must_use]
    pub fn get(&self) -> Option<CloudInstance> {
        self.inner.lock().ok().and_then(|g| g.clone().flatten())
    }

    /// Whether the probe has finished.
    #[must_use]
    pub fn done(&self) -> bool {
        self.inner.lock().map(|g| g.is_some()).unwrap_or(true)
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_millis(300)))
        .timeout_global(Some(Duration::from_secs(2)))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into()
}

fn text(resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Option<String> {
    let mut r = resp.ok()?;
    if r.status().as_u16() != 200 {
        return None;
    }
    r.body_mut()
        .with_config()
        .limit(1 << 20)
        .read_to_string()
        .ok()
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Probes AWS, then GCP, then Azure at `base` (no trailing slash).
#[must_use]
pub fn probe_metadata(base: &str) -> Option<CloudInstance> {
    let base = base.trim_end_matches('/');
    let a = agent();
    aws(&a, base)
        .or_else(|| gcp(&a, base))
        .or_else(|| azure(&a, base))
}

fn aws(a: &ureq::Agent, base: &str) -> Option<CloudInstance> {
    let token = text(
        a.put(format!("{base}/latest/api/token"))
            .header("X-aws-ec2-metadata-token-ttl-seconds", "300")
            .send_empty(),
    );
    let get = |path: &str| {
        let mut req = a.get(format!("{base}{path}"));
        if let Some(t) = &token {
            req = req.header("X-aws-ec2-metadata-token", t.trim());
        }
        text(req.call())
    };
    let doc: Value =
        serde_json::from_str(&get("/latest/dynamic/instance-identity/document")?).ok()?;
    s(&doc, "instanceId")?;
    Some(CloudInstance {
        provider: "aws".into(),
        instance_id: s(&doc, "instanceId"),
        instance_type: s(&doc, "instanceType"),
        account_id: s(&doc, "accountId"),
        region: s(&doc, "region"),
        zone: s(&doc, "availabilityZone"),
        public_ipv4: get("/latest/meta-data/public-ipv4").map(|v| v.trim().to_string()),
        private_ipv4: s(&doc, "privateIp"),
    })
}

fn last_segment(v: Option<String>) -> Option<String> {
    v.and_then(|z| z.rsplit('/').next().map(str::to_string))
}

fn gcp(a: &ureq::Agent, base: &str) -> Option<CloudInstance> {
    let doc: Value = serde_json::from_str(&text(
        a.get(format!("{base}/computeMetadata/v1/?recursive=true"))
            .header("Metadata-Flavor", "Google")
            .call(),
    )?)
    .ok()?;
    let inst = doc.get("instance")?;
    let zone = last_segment(s(inst, "zone"));
    let nic = inst.get("networkInterfaces").and_then(|n| n.get(0));
    Some(CloudInstance {
        provider: "gcp".into(),
        instance_id: inst
            .get("id")
            .map(|v| v.to_string().trim_matches('"').to_string()),
        instance_type: last_segment(s(inst, "machineType")),
        account_id: doc.get("project").and_then(|p| s(p, "projectId")),
        region: zone
            .as_ref()
            .and_then(|z| z.rsplit_once('-').map(|(r, _)| r.to_string())),
        zone,
        public_ipv4: nic
            .and_then(|n| n.get("accessConfigs"))
            .and_then(|c| c.get(0))
            .and_then(|c| s(c, "externalIp")),
        private_ipv4: nic.and_then(|n| s(n, "ip")),
    })
}

fn azure(a: &ureq::Agent, base: &str) -> Option<CloudInstance> {
    let doc: Value = serde_json::from_str(&text(
        a.get(format!("{base}/metadata/instance?api-version=2021-02-01"))
            .header("Metadata", "true")
            .call(),
    )?)
    .ok()?;
    let c = doc.get("compute")?;
    let ip = doc
        .pointer("/network/interface/0/ipv4/ipAddress/0")
        .cloned()
        .unwrap_or(Value::Null);
    Some(CloudInstance {
        provider: "azure".into(),
        instance_id: s(c, "vmId"),
        instance_type: s(c, "vmSize"),
        account_id: s(c, "subscriptionId"),
        region: s(c, "location"),
        zone: s(c, "zone"),
        public_ipv4: s(&ip, "publicIpAddress"),
        private_ipv4: s(&ip, "privateIpAddress"),
    })
}
