//! Container and pod ids from a process's `/proc/PID/cgroup`.
//!
//! Recognised (cgroup v1 `N:controllers:/path` and v2 `0::/path`):
//! - Docker: `/docker/ID`, `docker-ID.scope`;
//! - containerd (CRI): `cri-containerd-ID.scope`, and a bare ID under `kubepods`;
//! - CRI-O: `crio-ID.scope`, `/crio-ID`;
//! - Podman: `libpod-ID.scope` (not `libpod-conmon-ID.scope`, the monitor);
//! - Kubernetes pods: `podUID` segments (`kubepods-burstable-pod1234_5678.slice` or
//!   `/kubepods/besteffort/pod1234-5678`).

/// What a cgroup file says about a process.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupInfo {
    /// The 64-hex container id.
    pub container_id: Option<String>,
    /// `docker`, `containerd`, `cri-o`, `podman`, or `None` when only the
    /// id's shape says it is a container.
    pub runtime: Option<&'static str>,
    /// The Kubernetes pod UID.
    pub pod_uid: Option<String>,
}

fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// One path segment: a container id and its runtime, if it names one.
fn container_in_segment(seg: &str) -> Option<(&str, Option<&'static str>)> {
    let seg = seg.strip_suffix(".scope").unwrap_or(seg);
    const PREFIXES: &[(&str, &str)] = &[
        ("docker-", "docker"),
        ("cri-containerd-", "containerd"),
        ("crio-", "cri-o"),
        ("libpod-", "podman"),
    ];
    for (prefix, runtime) in PREFIXES {
        if let Some(id) = seg.strip_prefix(prefix) {
            return is_id(id).then_some((id, Some(*runtime)));
        }
    }
    is_id(seg).then_some((seg, None))
}

/// The pod UID a segment names (`pod` + UID, dashes or underscores).
fn pod_in_segment(seg: &str) -> Option<String> {
    let seg = seg.strip_suffix(".slice").unwrap_or(seg);
    let i = seg.rfind("pod")?;
    let uid = &seg[i + 3..];
    let uid: String = uid
        .chars()
        .map(|c| if c == '_' { '-' } else { c })
        .collect();
    let ok = uid.len() == 36
        && uid.bytes().enumerate().all(|(i, b)| {
            if [8, 13, 18, 23].contains(&i) {
                b == b'-'
            } else {
                b.is_ascii_hexdigit()
            }
        });
    ok.then_some(uid)
}

/// Parses the content of `/proc/PID/cgroup`. Never fails: lines it does not
/// understand are ignored.
#[must_use]
pub fn parse_cgroup(content: &str) -> CgroupInfo {
    let mut info = CgroupInfo::default();
    for line in content.lines() {
        // hierarchy-id:controllers:path; the path may contain ':'.
        let mut parts = line.splitn(3, ':');
        let (Some(_), Some(_), Some(path)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let in_kubepods = path.contains("kubepods");
        let in_docker = path.contains("/docker/");
        let in_crio = path.contains("/crio");
        for seg in path.split('/').rev() {
            if info.pod_uid.is_none()
                && let Some(uid) = pod_in_segment(seg)
            {
                info.pod_uid = Some(uid);
            }
            if info.container_id.is_none()
                && let Some((id, runtime)) = container_in_segment(seg)
            {
                if seg.starts_with("libpod-conmon-") {
                    continue;
                }
                let runtime = runtime.or(if in_docker {
                    Some("docker")
                } else if in_crio {
                    Some("cri-o")
                } else if in_kubepods {
                    Some("containerd")
                } else {
                    None
                });
                info.container_id = Some(id.to_string());
                info.runtime = runtime;
            }
        }
        if info.container_id.is_some() && info.pod_uid.is_some() {
            break;
        }
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const ID: &str = "3f1c9a0e8b7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c7b6a5f4e3d2c1b";

    #[test]
    fn runtimes_v1_and_v2() {
        let cases = [
            (
                format!("12:memory:/docker/{ID}\n0::/"),
                Some("docker"),
                None,
            ),
            (
                format!("0::/system.slice/docker-{ID}.scope"),
                Some("docker"),
                None,
            ),
            (
                format!("0::/machine.slice/libpod-{ID}.scope/container"),
                Some("podman"),
                None,
            ),
            (
                format!("0::/system.slice/crio-{ID}.scope"),
                Some("cri-o"),
                None,
            ),
            (
                format!(
                    "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d_1111_2222_3333_444455556666.slice/cri-containerd-{ID}.scope"
                ),
                Some("containerd"),
                Some("0a1b2c3d-1111-2222-3333-444455556666"),
            ),
            (
                format!(
                    "11:cpu,cpuacct:/kubepods/besteffort/pod0a1b2c3d-1111-2222-3333-444455556666/{ID}"
                ),
                Some("containerd"),
                Some("0a1b2c3d-1111-2222-3333-444455556666"),
            ),
        ];
        for (content, runtime, pod) in cases {
            let info = parse_cgroup(&content);
            assert_eq!(info.container_id.as_deref(), Some(ID), "{content}");
            assert_eq!(info.runtime, runtime, "{content}");
            assert_eq!(info.pod_uid.as_deref(), pod, "{content}");
        }
    }

    #[test]
    fn host_processes_and_conmon_have_no_container() {
        for content in [
            "0::/user.slice/user-1000.slice/session-2.scope",
            "0::/init.scope",
            "",
            "garbage",
            &format!("0::/machine.slice/libpod-conmon-{ID}.scope"),
        ] {
            assert_eq!(parse_cgroup(content).container_id, None, "{content}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,300}") {
            let _ = parse_cgroup(&s);
        }

        #[test]
        fn finds_an_id_wherever_it_is_nested(prefix in proptest::collection::vec("[a-z.]{1,10}", 0..5), id in "[0-9a-f]{64}") {
            let path = format!("0::/{}/docker-{id}.scope", prefix.join("/"));
            let info = parse_cgroup(&path);
            prop_assert_eq!(info.container_id, Some(id));
            prop_assert_eq!(info.runtime, Some("docker"));
        }
    }
}
