//! Fuzz target: the sensor's parsers of kernel and runtime text
//! (`/proc/net/{tcp,udp}[6]`, `/proc/PID/cgroup`, `/proc/PID/stat`,
//! `/proc/net/if_inet6`, `os-release`, dpkg status and apk databases,
//! container runtime HTTP answers, the
//! CRI's and containerd's protobuf answers and gRPC frames, Kubernetes API
//! list answers) and the command-line redaction. None may panic, redaction
//! is idempotent, and a decoded protobuf answer encodes back to the same
//! message.
#![no_main]

use rampart_model::agent::Proto;
use rampart_sensor::protobuf::Message;
use rampart_sensor::{
    cgroup, containerd, containers, cri, grpc, host, kube_objects, net, ownership, process,
    redact,
};

fn round_trip<M: Message + PartialEq + std::fmt::Debug>(data: &[u8]) {
    if let Ok(m) = M::decode(data) {
        assert_eq!(M::decode(&m.to_bytes()).ok(), Some(m));
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = net::parse_proc_net(&text, Proto::Tcp);
    let _ = net::parse_proc_net(&text, Proto::Udp);
    let _ = cgroup::parse_cgroup(&text);
    let _ = process::parse_stat(&text);
    let _ = process::parse_status_uid(&text);
    let _ = process::parse_passwd(&text);
    let _ = host::parse_if_inet6(&text);
    let _ = host::parse_os_release(&text);
    let _ = containers::parse_http_response(data);
    let _ = containers::parse_container_list(data, "docker");
    // Package databases read from container roots (hostile filesystems):
    // names become file names, so none may hold a path separator.
    for (name, _, arch) in ownership::parse_dpkg_status(&text) {
        assert!(!name.contains('/') && arch.is_none_or(|a| !a.contains('/')));
    }
    for (_, _, files) in ownership::parse_apk_installed(&text) {
        assert!(files.iter().all(|f| f.starts_with('/')));
    }
    let _ = grpc::unframe(data);
    round_trip::<cri::ListContainersResponse>(data);
    round_trip::<cri::ListPodSandboxResponse>(data);
    round_trip::<containerd::ListContainersResponse>(data);
    round_trip::<containerd::ListTasksResponse>(data);
    round_trip::<containerd::ListNamespacesResponse>(data);
    if let Ok(page) = kube_objects::parse_list(data) {
        // The same items as Services, EndpointSlices and Ingresses at once.
        let a = kube_objects::assemble("fuzz", &page.items, &page.items, &page.items);
        assert!(a.entities.len() <= 2 * page.items.len());
    }
    let args: Vec<String> = text.split('\0').map(str::to_string).collect();
    let once = redact::redact_cmdline(&args);
    assert_eq!(once.len(), args.len());
    assert_eq!(redact::redact_cmdline(&once), once);
});
