//! The wire protocol between a sensor (agent) and the console, shared by both
//! ends so they cannot drift apart.
//!
//! An agent, once enrolled, only dials out, over HTTPS with its own
//! credential (`Authorization: Bearer rma_...`). Two conversations:
//!
//! - **Reports** (`POST /api/v1/agent/report`, body [`Report`], answer
//!   [`ReportAck`]). The first report after start (or after the console asks
//!   for it) is a full snapshot (`base: None`); the following ones are deltas
//!   against the last report the console acknowledged (`base: Some(seq)`):
//!   entities added or changed in `upsert`, entities gone in `remove`, and the
//!   host facts only when they changed. A console that does not hold `base`
//!   for this agent (it restarted on an empty store, another replica lost it,
//!   a report was lost) answers `409` with the error code [`RESYNC_CODE`], and
//!   the agent sends a full snapshot next. A loaded console answers `429` or
//!   `503` with `Retry-After`, and the agent waits that long; the ack's
//!   `interval_secs` may also ask the agent to report less often.
//! - **Jobs** (`POST /api/v1/agent/scans/claim` answers a [`Job`] or `204`;
//!   `POST /api/v1/agent/scans/{id}/heartbeat` answers `204` to go on or `409`
//!   to stop; `POST /api/v1/agent/scans/{id}/results` takes one
//!   [`ScanResults`] per scanned target; `POST /api/v1/agent/scans/{id}/finish`
//!   takes [`JobOutcome`]).
//!
//! Every entity an agent reports has a `key` that is stable while the thing
//! it names exists and unique within that agent's reports (a process is
//! `pid:start-ticks`, so a reused pid is a new process).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Severity;

/// The protocol version this build speaks; a report with another is refused
/// with `400`.
pub const PROTOCOL_VERSION: u32 = 1;

/// The error code of the `409` that asks an agent for a full snapshot.
pub const RESYNC_CODE: &str = "resync";

/// One report: a full snapshot (`base` is `None`) or a delta.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// [`PROTOCOL_VERSION`].
    pub protocol: u32,
    /// The sensor's version (`CARGO_PKG_VERSION`).
    pub agent_version: String,
    /// This report's number: starts at 1 when the sensor starts and grows by
    /// one per report sent (also across resyncs).
    pub seq: u64,
    /// The acknowledged report this delta applies to; `None` for a snapshot,
    /// which replaces everything the console holds from this agent.
    pub base: Option<u64>,
    /// When the state was read (Unix seconds, the agent's clock).
    pub collected_at: i64,
    /// How runtime events are observed: `procfs` (polling) or `ebpf`.
    pub mode: String,
    /// Always present in a snapshot; in a delta only when something changed.
    pub host: Option<HostFacts>,
    /// Entities that appeared or changed since `base` (every entity in a snapshot).
    #[serde(default)]
    pub upsert: Vec<Entity>,
    /// Entities gone since `base` (always empty in a snapshot).
    #[serde(default)]
    pub remove: Vec<EntityRef>,
    /// Which packages running processes use (added after protocol 1 was
    /// released; additive). A snapshot always carries it when the sensor
    /// collects it; a delta only when it changed, and then whole (it
    /// replaces the previous one). Absent from a delta: unchanged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<RuntimeUse>,
}

/// At most this many evidence files are reported per package in use.
pub const MAX_EVIDENCE_FILES: usize = 5;

/// At most this many files in use that no package database owns are
/// reported (language packages: `site-packages`, `node_modules`, jars).
pub const MAX_UNOWNED_FILES: usize = 2000;

/// At most this many containers get a package ownership index on one
/// sensor; the others are reported without one (`skipped` says why).
pub const MAX_INDEXED_CONTAINERS: usize = 256;

/// Runtime evidence of one host: the packages its processes use.
///
/// The top-level fields are the host's own processes (not in a
/// container), mapped through the host's package databases; `containers`
/// holds the same for each container, with paths as seen inside the
/// container and its own package databases (a container's processes see
/// another root filesystem, whose packages are the image's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeUse {
    /// The package databases that were read to map files to packages
    /// (`deb`, `apk`, `rpm`): a package of one of these ecosystems that is
    /// absent from `packages` is known not to be in use on the host; for
    /// other ecosystems its use is unknown.
    #[serde(default)]
    pub databases: Vec<String>,
    /// How many processes' files were read.
    pub processes: u32,
    /// How many distinct files were in use.
    pub files_in_use: u32,
    /// Every package in use, sorted by ecosystem, name and version.
    #[serde(default)]
    pub packages: Vec<PackageInUse>,
    /// Files in use under language package directories (`site-packages`,
    /// `dist-packages`, `node_modules`, `*.jar`) that no package database
    /// owns, for the path rules of the language's package type (at most
    /// [`MAX_UNOWNED_FILES`], sorted).
    #[serde(default)]
    pub language_files: Vec<String>,
    /// Package databases present but not read, with the reason (too
    /// large, unparsable). Added later; absent when empty, so a report
    /// without any stays readable by older consoles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
    /// The evidence of each container with running processes, sorted by
    /// container id. Added later; absent when empty (older consoles refuse
    /// the field, so a sensor seeing no container stays readable by them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub containers: Vec<ContainerRuntime>,
}

/// Runtime evidence of one container: the packages its processes use,
/// mapped through the container's own package databases (read inside its
/// root filesystem). Paths are as seen inside the container.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerRuntime {
    /// The container's id (the key of its [`Container`] entity).
    pub container: String,
    /// The container's package databases that were read (as
    /// [`RuntimeUse::databases`]).
    #[serde(default)]
    pub databases: Vec<String>,
    /// How many of its processes' files were read.
    pub processes: u32,
    /// How many distinct files were in use.
    pub files_in_use: u32,
    /// Every package in use, sorted by ecosystem, name and version.
    #[serde(default)]
    pub packages: Vec<PackageInUse>,
    /// Files in use under language package directories that no package
    /// database owns (at most [`MAX_UNOWNED_FILES`], sorted).
    #[serde(default)]
    pub language_files: Vec<String>,
    /// Databases not read and why (over the size cap, unparsable, more
    /// than [`MAX_INDEXED_CONTAINERS`] containers).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<String>,
}

/// A package that a running process uses.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PackageInUse {
    /// `deb`, `apk`, `rpm` (the package URL type).
    pub ecosystem: String,
    pub name: String,
    pub version: String,
    /// Files of the package in use (an executable, a mapped library, an
    /// open file), at most [`MAX_EVIDENCE_FILES`], sorted.
    pub files: Vec<String>,
}

/// The console's answer to a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportAck {
    /// The `seq` now acknowledged: the next delta's `base`.
    pub acked: u64,
    /// Seconds until the next report (the console may ask for slower).
    pub interval_secs: u64,
}

/// The host an agent runs on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// `/etc/machine-id` (or the boot id when there is none): the host's key.
    pub machine_id: String,
    pub hostname: String,
    pub os: OsInfo,
    /// `uname -r`.
    pub kernel: String,
    /// `uname -m`.
    pub arch: String,
    pub cpus: u32,
    pub memory_bytes: u64,
    /// Boot time (Unix seconds).
    pub boot_time: i64,
    pub interfaces: Vec<Interface>,
    /// Set when a cloud instance metadata service answered.
    pub cloud: Option<CloudInstance>,
}

/// From `/etc/os-release`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OsInfo {
    /// `ID` (`debian`, `ubuntu`, `rhel`...).
    pub id: String,
    /// `VERSION_ID`.
    pub version_id: Option<String>,
    /// `PRETTY_NAME`.
    pub pretty_name: Option<String>,
}

/// A network interface and its addresses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub mac: Option<String>,
    /// Addresses with their prefix length (`10.0.0.5/24`, `fe80::1/64`).
    pub addresses: Vec<String>,
}

/// What a cloud provider's instance metadata service says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudInstance {
    /// `aws`, `gcp`, `azure`...
    pub provider: String,
    pub instance_id: Option<String>,
    pub instance_type: Option<String>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub zone: Option<String>,
    pub public_ipv4: Option<String>,
    pub private_ipv4: Option<String>,
}

/// The kinds of entity a report carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    Process,
    Listen,
    Connection,
    Container,
    Pod,
    /// A Kubernetes Service (cluster objects; added after protocol 1 was
    /// released: additive, a report without them stays valid).
    Service,
    /// A Kubernetes Ingress (cluster objects, like [`EntityKind::Service`]).
    Ingress,
}

impl EntityKind {
    /// The name on the wire.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            EntityKind::Process => "process",
            EntityKind::Listen => "listen",
            EntityKind::Connection => "connection",
            EntityKind::Container => "container",
            EntityKind::Pod => "pod",
            EntityKind::Service => "service",
            EntityKind::Ingress => "ingress",
        }
    }
}

/// Names one entity (what `remove` lists).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EntityRef {
    pub kind: EntityKind,
    pub key: String,
}

/// One thing an agent observed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Entity {
    Process(Process),
    Listen(ListenSocket),
    Connection(Connection),
    Container(Container),
    Pod(Pod),
    Service(Service),
    Ingress(Ingress),
}

impl Entity {
    /// Its kind and key.
    #[must_use]
    pub fn entity_ref(&self) -> EntityRef {
        let (kind, key) = match self {
            Entity::Process(p) => (EntityKind::Process, &p.key),
            Entity::Listen(l) => (EntityKind::Listen, &l.key),
            Entity::Connection(c) => (EntityKind::Connection, &c.key),
            Entity::Container(c) => (EntityKind::Container, &c.key),
            Entity::Pod(p) => (EntityKind::Pod, &p.key),
            Entity::Service(s) => (EntityKind::Service, &s.key),
            Entity::Ingress(i) => (EntityKind::Ingress, &i.key),
        };
        EntityRef {
            kind,
            key: key.clone(),
        }
    }
}

/// A running process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Process {
    /// `PID:START_TICKS` (field 22 of `/proc/PID/stat`).
    pub key: String,
    pub pid: u32,
    pub ppid: u32,
    /// `comm`.
    pub name: String,
    /// The `/proc/PID/exe` link, when readable.
    pub exe: Option<String>,
    /// The command line with secret-looking values replaced by `[REDACTED]`.
    pub cmdline: Vec<String>,
    pub uid: u32,
    /// The user name when the host's passwd file has it.
    pub user: Option<String>,
    /// Start time (Unix seconds).
    pub start_time: i64,
    /// The container it runs in, when its cgroup names one.
    pub container_id: Option<String>,
}

/// The transport protocol of a socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    Tcp,
    Udp,
}

/// A listening TCP socket or a bound, unconnected UDP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListenSocket {
    /// `tcp:ADDRESS:PORT` (IPv6 addresses in brackets).
    pub key: String,
    pub proto: Proto,
    /// The bound address (`0.0.0.0` and `::` mean every interface).
    pub address: String,
    pub port: u16,
    /// The owning process's key and pid, when the socket's inode was found in
    /// a process's file descriptors.
    pub process_key: Option<String>,
    pub pid: Option<u32>,
}

/// Which side opened a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// The local port is a listening port: the peer connected to us.
    Inbound,
    /// We connected to the peer.
    Outbound,
}

/// An established (or otherwise non-listening) TCP connection, or a connected UDP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connection {
    /// `tcp:LOCAL_ADDRESS:LOCAL_PORT->REMOTE_ADDRESS:REMOTE_PORT`.
    pub key: String,
    pub proto: Proto,
    pub local_address: String,
    pub local_port: u16,
    pub remote_address: String,
    pub remote_port: u16,
    /// The TCP state name (`ESTABLISHED`, `SYN_SENT`...); `UNCONN`/`ESTABLISHED` for UDP.
    pub state: String,
    pub direction: Direction,
    pub process_key: Option<String>,
    pub pid: Option<u32>,
}

/// A container on the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Container {
    /// The full container id.
    pub key: String,
    /// `docker`, `containerd`, `cri-o`, `podman`, or `cgroup` when only the
    /// cgroup hierarchy named it.
    pub runtime: String,
    pub name: Option<String>,
    /// The image reference it was started from.
    pub image: Option<String>,
    /// The image's digest or id (`sha256:...`), the image node's key.
    pub image_id: Option<String>,
    /// `running`, `paused`, `exited`... (`running` when only seen in cgroups).
    pub state: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The Kubernetes pod it belongs to (the pod's key).
    pub pod_uid: Option<String>,
}

/// A Kubernetes pod on the host (from kubelet's pod directories and the
/// runtime's labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pod {
    /// The pod UID.
    pub key: String,
    pub name: Option<String>,
    pub namespace: Option<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// A Kubernetes Service read from the cluster's API (only a sensor that
/// collects cluster objects reports it; see `docs/sensor.md`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// The Service's UID.
    pub key: String,
    /// The cluster's name (`--kube-cluster`).
    pub cluster: String,
    pub name: String,
    pub namespace: String,
    /// `ClusterIP`, `NodePort`, `LoadBalancer` or `ExternalName`.
    #[serde(rename = "type")]
    pub service_type: String,
    #[serde(default)]
    pub ports: Vec<ServicePort>,
    /// `status.loadBalancer.ingress`: the load balancer's addresses (an IP
    /// or a host name each), sorted.
    #[serde(default)]
    pub load_balancer: Vec<String>,
    /// The UIDs of the pods its EndpointSlices name (`targetRef` of kind
    /// `Pod`), sorted.
    #[serde(default)]
    pub pod_uids: Vec<String>,
}

/// One port of a Service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePort {
    #[serde(default)]
    pub name: Option<String>,
    /// `TCP`, `UDP` or `SCTP`.
    pub protocol: String,
    pub port: u16,
    /// The port opened on every node (`NodePort` and `LoadBalancer`).
    #[serde(default)]
    pub node_port: Option<u16>,
}

/// A Kubernetes Ingress read from the cluster's API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingress {
    /// The Ingress's UID.
    pub key: String,
    /// The cluster's name (`--kube-cluster`).
    pub cluster: String,
    pub name: String,
    pub namespace: String,
    /// `spec.ingressClassName`.
    #[serde(default)]
    pub class: Option<String>,
    /// One per path of every rule, plus the default backend (no host, no path).
    #[serde(default)]
    pub rules: Vec<IngressRule>,
    /// `status.loadBalancer.ingress` addresses, sorted.
    #[serde(default)]
    pub load_balancer: Vec<String>,
}

/// Where one Ingress path sends traffic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngressRule {
    /// `None`: every host.
    #[serde(default)]
    pub host: Option<String>,
    #[serde(default)]
    pub path: Option<String>,
    /// The backend Service's name (in the Ingress's namespace).
    pub service: String,
    /// The backend Service's UID, when it exists.
    #[serde(default)]
    pub service_uid: Option<String>,
    /// The backend port, by number or by name.
    #[serde(default)]
    pub port: Option<u16>,
    #[serde(default)]
    pub port_name: Option<String>,
    /// The pods behind the backend Service, sorted.
    #[serde(default)]
    pub pod_uids: Vec<String>,
}

/// A scan job handed to an agent by `POST /api/v1/agent/scans/claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    /// The scan's id.
    pub scan_id: i64,
    /// What to scan, as `rampart scan` targets (`host`, `image:REF`,
    /// `container:ID`, `dir:PATH`...).
    pub targets: Vec<String>,
    /// `vuln`, `secret`, `malware`, `posture`.
    pub scanners: Vec<String>,
    /// The longest the scan may run.
    pub timeout_secs: i64,
    /// How often to send a heartbeat.
    pub heartbeat_secs: u64,
}

/// What one scanned target produced (one upload per target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanResults {
    /// The job target this is for (one of [`Job::targets`]).
    pub target: String,
    /// The scanners that ran to completion on it: findings of these kinds
    /// not reported here are considered fixed.
    pub scanners: Vec<String>,
    pub findings: Vec<ResultFinding>,
    /// What was skipped and why (unreadable files, bombs, timeouts...).
    #[serde(default)]
    pub skipped: Vec<String>,
}

/// One finding, scanner-neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultFinding {
    /// `vulnerability`, `secret`, `malware` or `posture`.
    pub kind: String,
    /// The advisory, rule or check id.
    pub rule_id: String,
    /// Identifies the same finding across scans of the same target (rule +
    /// package + version, rule + path + line...).
    pub fingerprint: String,
    pub severity: Severity,
    pub title: String,
    /// The scanner's whole record (package, path, line, evidence...).
    pub evidence: Option<serde_json::Value>,
}

/// How a job ended (`POST /api/v1/agent/scans/{id}/finish`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobOutcome {
    pub succeeded: bool,
    /// Why it failed (required when `succeeded` is false).
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entities_are_tagged_by_kind() {
        let e = Entity::Pod(Pod {
            key: "uid-1".into(),
            name: Some("web".into()),
            namespace: Some("prod".into()),
            labels: BTreeMap::new(),
        });
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json["kind"], "pod");
        assert_eq!(json["key"], "uid-1");
        let back: Entity = serde_json::from_value(json).unwrap();
        assert_eq!(back, e);
        assert_eq!(
            back.entity_ref(),
            EntityRef {
                kind: EntityKind::Pod,
                key: "uid-1".into()
            }
        );
    }

    #[test]
    fn services_and_ingresses_round_trip_and_old_reports_stay_valid() {
        let svc = Entity::Service(Service {
            key: "svc-uid".into(),
            cluster: "prod".into(),
            name: "web".into(),
            namespace: "shop".into(),
            service_type: "LoadBalancer".into(),
            ports: vec![ServicePort {
                name: Some("https".into()),
                protocol: "TCP".into(),
                port: 443,
                node_port: Some(30443),
            }],
            load_balancer: vec!["34.1.2.3".into()],
            pod_uids: vec!["pod-1".into()],
        });
        let json = serde_json::to_value(&svc).unwrap();
        assert_eq!(json["kind"], "service");
        assert_eq!(json["type"], "LoadBalancer");
        assert_eq!(serde_json::from_value::<Entity>(json).unwrap(), svc);
        let ing: Entity = serde_json::from_value(serde_json::json!({
            "kind": "ingress", "key": "ing-uid", "cluster": "prod", "name": "web",
            "namespace": "shop",
            "rules": [{"host": "shop.example.com", "path": "/", "service": "web"}],
        }))
        .unwrap();
        assert_eq!(ing.entity_ref().kind, EntityKind::Ingress);
        // A report from before these kinds existed still parses.
        let old: Report = serde_json::from_value(serde_json::json!({
            "protocol": 1, "agent_version": "0.1.0", "seq": 1, "base": null,
            "collected_at": 0, "mode": "procfs", "host": null,
            "upsert": [{"kind": "pod", "key": "u", "name": null, "namespace": null}],
        }))
        .unwrap();
        assert_eq!(old.upsert.len(), 1);
    }

    #[test]
    fn a_report_with_unknown_fields_is_refused() {
        let r = serde_json::json!({
            "protocol": 1, "agent_version": "0.1.0", "seq": 1, "base": null,
            "collected_at": 0, "mode": "procfs", "host": null, "extra": 1
        });
        assert!(serde_json::from_value::<Report>(r).is_err());
    }

    #[test]
    fn runtime_is_optional_and_omitted_when_absent() {
        let r = serde_json::json!({
            "protocol": 1, "agent_version": "0.1.0", "seq": 1, "base": null,
            "collected_at": 0, "mode": "procfs", "host": null
        });
        let report: Report = serde_json::from_value(r).unwrap();
        assert_eq!(report.runtime, None);
        let back = serde_json::to_value(&report).unwrap();
        assert!(back.get("runtime").is_none());
        let mut with = report;
        with.runtime = Some(RuntimeUse {
            databases: vec!["deb".into()],
            processes: 3,
            files_in_use: 10,
            packages: vec![PackageInUse {
                ecosystem: "deb".into(),
                name: "libssl3".into(),
                version: "3.0.15-1".into(),
                files: vec!["/usr/lib/x86_64-linux-gnu/libssl.so.3".into()],
            }],
            language_files: vec![],
            ..RuntimeUse::default()
        });
        let json = serde_json::to_value(&with).unwrap();
        assert_eq!(json["runtime"]["packages"][0]["name"], "libssl3");
        // Without containers or skipped databases, the fields older
        // consoles do not know are absent.
        // (Sorted: serde_json keeps insertion order when another crate of
        // the workspace turns on its `preserve_order` feature.)
        let mut keys: Vec<&String> = json["runtime"].as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(
            keys,
            [
                "databases",
                "files_in_use",
                "language_files",
                "packages",
                "processes"
            ]
        );
        assert_eq!(serde_json::from_value::<Report>(json).unwrap(), with);
    }

    #[test]
    fn container_runtime_round_trips_and_old_runtime_reads() {
        let old = serde_json::json!({"databases": ["deb"], "processes": 1, "files_in_use": 2,
            "packages": [], "language_files": []});
        let r: RuntimeUse = serde_json::from_value(old).unwrap();
        assert!(r.containers.is_empty() && r.skipped.is_empty());
        let with = RuntimeUse {
            containers: vec![ContainerRuntime {
                container: "abc".into(),
                databases: vec!["rpm".into()],
                processes: 2,
                files_in_use: 5,
                packages: vec![],
                language_files: vec!["/app/node_modules/x/index.js".into()],
                skipped: vec!["deb: /var/lib/dpkg/status: larger than 64 bytes".into()],
            }],
            ..r
        };
        let json = serde_json::to_value(&with).unwrap();
        assert_eq!(json["containers"][0]["container"], "abc");
        assert_eq!(serde_json::from_value::<RuntimeUse>(json).unwrap(), with);
    }
}
