//! One collection: host facts, processes, sockets, containers and pods
//! (and, when enabled, the cluster's Services and Ingresses), read cheaply (caches for what rarely changes) into a [`State`].

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rampart_model::agent::{
    Connection, Container, Direction, Entity, HostFacts, ListenSocket, Pod, Proto,
};

use crate::cloud::CloudProbe;
use crate::containers::{
    POD_NAME_LABEL, POD_NAMESPACE_LABEL, kubelet_pods, list_runtime_containers,
};
use crate::delta::State;
use crate::error::Result;
use crate::host::{boot_time, host_facts};
use crate::kube::{KubeCollector, KubeConfig};
use crate::net::{
    SocketEntry, TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN, TCP_TIME_WAIT, endpoint_string,
    parse_proc_net, tcp_state_name,
};
use crate::process::ProcessTable;

/// Where and how to discover.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// `/` on a live host; a fixture tree in tests. Every path is read under it.
    pub root: PathBuf,
    /// A live host: also ask the kernel (`getifaddrs`) and the container
    /// runtimes' sockets.
    pub live: bool,
    /// The cloud metadata base URL; `None` disables the probe.
    pub cloud_metadata_url: Option<String>,
    /// Docker-compatible API sockets and the runtime each belongs to
    /// (relative to `root`).
    pub runtime_sockets: Vec<(PathBuf, String)>,
    /// CRI (gRPC `runtime.v1.RuntimeService`) sockets and the runtime name
    /// their containers get (relative to `root`).
    pub cri_sockets: Vec<(PathBuf, String)>,
    /// containerd API sockets, asked for the containers of every
    /// containerd namespace (relative to `root`).
    pub containerd_sockets: Vec<PathBuf>,
    /// The most one runtime socket may take to answer, per API.
    pub runtime_timeout: Duration,
    /// Clock ticks per second (`sysconf(_SC_CLK_TCK)`).
    pub clock_ticks: u64,
    /// Kubernetes cluster objects (Services, Ingresses) to list; `None`
    /// lists none.
    pub kube: Option<KubeConfig>,
}

impl CollectorConfig {
    /// The live host with the default sockets and metadata address.
    #[must_use]
    pub fn live() -> Self {
        CollectorConfig {
            root: PathBuf::from("/"),
            live: true,
            cloud_metadata_url: Some(crate::cloud::DEFAULT_BASE_URL.to_string()),
            runtime_sockets: vec![
                (PathBuf::from("run/docker.sock"), "docker".to_string()),
                (
                    PathBuf::from("run/podman/podman.sock"),
                    "podman".to_string(),
                ),
            ],
            cri_sockets: vec![
                (
                    PathBuf::from("run/containerd/containerd.sock"),
                    "containerd".to_string(),
                ),
                (PathBuf::from("run/crio/crio.sock"), "cri-o".to_string()),
            ],
            containerd_sockets: vec![PathBuf::from("run/containerd/containerd.sock")],
            runtime_timeout: Duration::from_secs(2),
            clock_ticks: rustix_ticks(),
            kube: None,
        }
    }
}

fn rustix_ticks() -> u64 {
    // USER_HZ; the kernel's ABI value for /proc times.
    rustix::param::clock_ticks_per_second()
}

/// How often the container runtimes are asked when nothing else changed.
const RUNTIME_REFRESH: Duration = Duration::from_secs(60);
/// How often the host facts that rarely change (OS, kernel, CPUs, memory,
/// machine id) are read again; the host name and interfaces are read every time.
const HOST_REFRESH: Duration = Duration::from_secs(300);

/// Discovers the host's state; keep one and call [`Collector::collect`] each interval.
#[derive(Debug)]
pub struct Collector {
    cfg: CollectorConfig,
    procs: ProcessTable,
    cloud: Option<CloudProbe>,
    boot_time: Option<i64>,
    runtime_cache: Vec<Container>,
    /// Pods the CRI runtimes know (names, namespaces, labels).
    runtime_pods: Vec<Pod>,
    runtime_checked: Option<(Instant, Vec<String>)>,
    host_cache: Option<(Instant, HostFacts)>,
    /// Reused for the /proc/net files.
    net_buf: Vec<u8>,
    /// Lines of /proc/net files that did not parse, in total.
    pub bad_socket_lines: usize,
    /// The Kubernetes API collector, when cluster objects are collected.
    pub kube: Option<KubeCollector>,
}

impl Collector {
    /// A collector (starts the cloud probe in the background when enabled).
    #[must_use]
    pub fn new(cfg: CollectorConfig) -> Self {
        let cloud = cfg.cloud_metadata_url.clone().map(CloudProbe::start);
        let kube = cfg.kube.clone().map(KubeCollector::new);
        Collector {
            kube,
            procs: ProcessTable::new(&cfg.root),
            cfg,
            cloud,
            boot_time: None,
            runtime_cache: Vec::new(),
            runtime_pods: Vec::new(),
            runtime_checked: None,
            host_cache: None,
            net_buf: Vec::new(),
            bad_socket_lines: 0,
        }
    }

    /// Host facts alone (enrollment uses the host name).
    ///
    /// # Errors
    /// `/proc/stat` is unreadable.
    pub fn host(&self) -> Result<HostFacts> {
        let mut h = host_facts(&self.cfg.root, self.cfg.live)?;
        h.cloud = self.cloud.as_ref().and_then(CloudProbe::get);
        Ok(h)
    }

    /// Reads everything once.
    ///
    /// # Errors
    /// `/proc/stat` is unreadable (no host facts); everything else that
    /// fails to read is left out.
    pub fn collect(&mut self) -> Result<State> {
        let host = match &self.host_cache {
            Some((at, cached)) if at.elapsed() < HOST_REFRESH => {
                let mut h = cached.clone();
                h.hostname = crate::host::hostname(&self.cfg.root);
                h.interfaces = crate::host::interfaces(&self.cfg.root, self.cfg.live);
                h.cloud = self.cloud.as_ref().and_then(CloudProbe::get);
                h
            }
            _ => {
                let h = self.host()?;
                self.host_cache = Some((Instant::now(), h.clone()));
                h
            }
        };
        let boot = match self.boot_time {
            Some(b) => b,
            None => {
                let b = boot_time(&self.cfg.root)?;
                self.boot_time = Some(b);
                b
            }
        };
        let observed = self.procs.scan(boot, self.cfg.clock_ticks);
        let mut entities: Vec<Entity> = Vec::with_capacity(observed.len() * 2);
        let pid_keys: HashMap<u32, String> = observed
            .iter()
            .map(|o| (o.process.pid, o.process.key.clone()))
            .collect();
        let live_pids: HashSet<u32> = pid_keys.keys().copied().collect();

        // Containers seen in cgroups, with pods.
        let mut containers: BTreeMap<String, Container> = BTreeMap::new();
        let mut pod_uids: HashSet<String> = HashSet::new();
        for o in &observed {
            if let Some(id) = &o.cgroup.container_id {
                containers.entry(id.clone()).or_insert_with(|| Container {
                    key: id.clone(),
                    runtime: o.cgroup.runtime.unwrap_or("cgroup").to_string(),
                    name: None,
                    image: None,
                    image_id: None,
                    state: "running".to_string(),
                    labels: BTreeMap::new(),
                    pod_uid: o.cgroup.pod_uid.clone(),
                });
            }
            if let Some(uid) = &o.cgroup.pod_uid {
                pod_uids.insert(uid.clone());
            }
        }
        if self.cfg.live {
            self.refresh_runtimes(containers.keys().cloned().collect());
            for c in &self.runtime_cache {
                let pod_uid = c
                    .pod_uid
                    .clone()
                    .or_else(|| containers.get(&c.key).and_then(|x| x.pod_uid.clone()));
                containers.insert(
                    c.key.clone(),
                    Container {
                        pod_uid,
                        ..c.clone()
                    },
                );
            }
        }
        let mut pods: BTreeMap<String, Pod> =
            kubelet_pods(&self.cfg.root.join("var/lib/kubelet/pods"))
                .into_iter()
                .map(|p| (p.key.clone(), p))
                .collect();
        for p in &self.runtime_pods {
            let pod = pods.entry(p.key.clone()).or_insert_with(|| p.clone());
            pod.name = p.name.clone().or(pod.name.take());
            pod.namespace = p.namespace.clone().or(pod.namespace.take());
            pod.labels.extend(p.labels.clone());
        }
        for uid in pod_uids {
            pods.entry(uid.clone()).or_insert_with(|| Pod {
                key: uid,
                name: None,
                namespace: None,
                labels: BTreeMap::new(),
            });
        }
        for c in containers.values() {
            let Some(uid) = &c.pod_uid else { continue };
            let pod = pods.entry(uid.clone()).or_insert_with(|| Pod {
                key: uid.clone(),
                name: None,
                namespace: None,
                labels: BTreeMap::new(),
            });
            if let Some(n) = c.labels.get(POD_NAME_LABEL) {
                pod.name = Some(n.clone());
            }
            if let Some(ns) = c.labels.get(POD_NAMESPACE_LABEL) {
                pod.namespace = Some(ns.clone());
            }
        }

        self.sockets(&pid_keys, &live_pids, &mut entities);
        entities.extend(observed.into_iter().map(|o| Entity::Process(o.process)));
        entities.extend(containers.into_values().map(Entity::Container));
        entities.extend(pods.into_values().map(Entity::Pod));
        if let Some(k) = &mut self.kube {
            entities.extend(k.poll().iter().cloned());
        }
        Ok(State::new(host, entities))
    }

    fn refresh_runtimes(&mut self, ids: Vec<String>) {
        let fresh = self
            .runtime_checked
            .as_ref()
            .is_some_and(|(at, known)| at.elapsed() < RUNTIME_REFRESH && *known == ids);
        if fresh {
            return;
        }
        let mut all: BTreeMap<String, Container> = BTreeMap::new();
        let mut pods: Vec<Pod> = Vec::new();
        let deadline = self.cfg.runtime_timeout;
        for (sock, runtime) in &self.cfg.runtime_sockets {
            let path = self.cfg.root.join(sock);
            if !path.exists() {
                continue;
            }
            match list_runtime_containers(&path, runtime) {
                Ok(v) => merge_containers(&mut all, v),
                Err(e) => tracing::debug!("container runtime {runtime}: {e}"),
            }
        }
        for sock in &self.cfg.containerd_sockets {
            let path = self.cfg.root.join(sock);
            if !path.exists() {
                continue;
            }
            match crate::containerd::list(&path, deadline) {
                Ok(v) => merge_containers(&mut all, v),
                Err(e) => tracing::debug!("containerd {}: {e}", path.display()),
            }
        }
        for (sock, runtime) in &self.cfg.cri_sockets {
            let path = self.cfg.root.join(sock);
            if !path.exists() {
                continue;
            }
            match crate::cri::list(&path, runtime, deadline) {
                Ok(inv) => {
                    merge_containers(&mut all, inv.containers);
                    pods.extend(inv.pods);
                }
                Err(e) => tracing::debug!("CRI {runtime} {}: {e}", path.display()),
            }
        }
        self.runtime_pods = pods;
        let all: Vec<Container> = all.into_values().collect();
        self.runtime_cache = all;
        self.runtime_checked = Some((Instant::now(), ids));
    }

    fn sockets(
        &mut self,
        pid_keys: &HashMap<u32, String>,
        live_pids: &HashSet<u32>,
        out: &mut Vec<Entity>,
    ) {
        let mut entries: Vec<SocketEntry> = Vec::new();
        for (file, proto) in [
            ("tcp", Proto::Tcp),
            ("tcp6", Proto::Tcp),
            ("udp", Proto::Udp),
            ("udp6", Proto::Udp),
        ] {
            let p = self.cfg.root.join("proc/net").join(file);
            if read_big(&p, &mut self.net_buf) {
                let (v, bad) = parse_proc_net(&String::from_utf8_lossy(&self.net_buf), proto);
                self.bad_socket_lines += bad;
                entries.extend(v);
            }
        }
        let classify = |e: &SocketEntry| -> Option<bool> {
            // Some(true): listening; Some(false): connection; None: skipped.
            match e.proto {
                Proto::Tcp => match e.state {
                    TCP_LISTEN => Some(true),
                    TCP_TIME_WAIT | TCP_CLOSE => None,
                    _ => Some(false),
                },
                Proto::Udp => match e.state {
                    TCP_CLOSE if e.remote_port == 0 => Some(true),
                    TCP_ESTABLISHED => Some(false),
                    _ => None,
                },
            }
        };
        let wanted: HashSet<u64> = entries
            .iter()
            .filter(|e| e.inode != 0 && classify(e).is_some())
            .map(|e| e.inode)
            .collect();
        let owners = self.procs.socket_owners(&wanted, live_pids);
        let listening: HashSet<(Proto, u16)> = entries
            .iter()
            .filter(|e| classify(e) == Some(true))
            .map(|e| (e.proto, e.local_port))
            .collect();
        let owner = |inode: u64| -> (Option<String>, Option<u32>) {
            match owners.get(&inode) {
                Some(pid) => (pid_keys.get(pid).cloned(), Some(*pid)),
                None => (None, None),
            }
        };
        for e in &entries {
            let proto_name = match e.proto {
                Proto::Tcp => "tcp",
                Proto::Udp => "udp",
            };
            match classify(e) {
                Some(true) => {
                    let (process_key, pid) = owner(e.inode);
                    out.push(Entity::Listen(ListenSocket {
                        key: format!("{proto_name}:{}", endpoint_string(e.local, e.local_port)),
                        proto: e.proto,
                        address: ip_string(e.local),
                        port: e.local_port,
                        process_key,
                        pid,
                    }));
                }
                Some(false) => {
                    let (process_key, pid) = owner(e.inode);
                    let state = match (e.proto, e.state) {
                        (Proto::Udp, _) => "ESTABLISHED",
                        (Proto::Tcp, s) => tcp_state_name(s),
                    };
                    out.push(Entity::Connection(Connection {
                        key: format!(
                            "{proto_name}:{}->{}",
                            endpoint_string(e.local, e.local_port),
                            endpoint_string(e.remote, e.remote_port)
                        ),
                        proto: e.proto,
                        local_address: ip_string(e.local),
                        local_port: e.local_port,
                        remote_address: ip_string(e.remote),
                        remote_port: e.remote_port,
                        state: state.to_string(),
                        direction: if listening.contains(&(e.proto, e.local_port)) {
                            Direction::Inbound
                        } else {
                            Direction::Outbound
                        },
                        process_key,
                        pid,
                    }));
                }
                None => {}
            }
        }
    }

    /// The root this collector reads.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.cfg.root
    }
}

/// Adds `more` to `all`; a container already known (containerd's own API
/// and its CRI list the same container; Docker's containers are in
/// containerd's `moby` namespace) keeps its runtime and what the later
/// source does not say, and gets the union of the labels.
fn merge_containers(all: &mut BTreeMap<String, Container>, more: Vec<Container>) {
    for c in more {
        match all.get_mut(&c.key) {
            None => {
                all.insert(c.key.clone(), c);
            }
            Some(old) => {
                old.name = c.name.or(old.name.take());
                old.image = c.image.or(old.image.take());
                old.image_id = c.image_id.or(old.image_id.take());
                old.pod_uid = c.pod_uid.or(old.pod_uid.take());
                old.state = c.state;
                old.labels.extend(c.labels);
            }
        }
    }
}

/// Reads a whole file into `buf` with large reads: the kernel regenerates
/// `/proc/net/tcp` from the start of its socket hash table for every
/// `read`, so small reads cost far more than the text they return.
fn read_big(path: &Path, buf: &mut Vec<u8>) -> bool {
    use std::io::Read;
    const CHUNK: usize = 256 << 10;
    buf.clear();
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    loop {
        if buf.capacity() - buf.len() < CHUNK {
            buf.reserve(CHUNK);
        }
        let start = buf.len();
        buf.resize(buf.capacity(), 0);
        match f.read(&mut buf[start..]) {
            Ok(0) => {
                buf.truncate(start);
                return true;
            }
            Ok(n) => buf.truncate(start + n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => buf.truncate(start),
            Err(_) => {
                buf.truncate(start);
                return false;
            }
        }
    }
}

fn ip_string(ip: IpAddr) -> String {
    ip.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(key: &str, runtime: &str, name: Option<&str>, label: (&str, &str)) -> Container {
        Container {
            key: key.into(),
            runtime: runtime.into(),
            name: name.map(str::to_string),
            image: None,
            image_id: None,
            state: "running".into(),
            labels: [(label.0.to_string(), label.1.to_string())]
                .into_iter()
                .collect(),
            pod_uid: None,
        }
    }

    #[test]
    fn merged_containers_keep_runtime_and_names_and_join_labels() {
        let mut all = BTreeMap::new();
        merge_containers(
            &mut all,
            vec![container("a", "docker", Some("web"), ("x", "1"))],
        );
        let mut native = container("a", "containerd", None, ("containerd.io/namespace", "moby"));
        native.state = "exited".into();
        native.image = Some("nginx".into());
        merge_containers(
            &mut all,
            vec![native, container("b", "containerd", None, ("y", "2"))],
        );
        let a = &all["a"];
        assert_eq!(a.runtime, "docker");
        assert_eq!(a.name.as_deref(), Some("web"));
        assert_eq!(a.image.as_deref(), Some("nginx"));
        assert_eq!(a.state, "exited");
        assert_eq!(a.labels.len(), 2);
        assert_eq!(all.len(), 2);
    }
}
