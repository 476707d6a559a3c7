//! Containers and pod sandboxes from the Kubernetes Container Runtime
//! Interface (`runtime.v1.RuntimeService`, falling back to
//! `runtime.v1alpha2` when v1 is unimplemented): CRI-O and containerd's
//! CRI plugin.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rampart_model::agent::{Container as AgentContainer, Pod};

use crate::grpc::{Connection, GrpcError, with_connection};
use crate::protobuf::{DecodeError, List, Message, Value, Writer, map_entry, message};

/// `ContainerMetadata` (also used in requests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerMetadata {
    pub name: String,
    pub attempt: u32,
}

impl Message for ContainerMetadata {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        match field {
            1 => self.name = v.string(field)?,
            2 => self.attempt = v.varint(field)? as u32,
            _ => {}
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.name).varint(2, u64::from(self.attempt));
    }
}

/// `ImageSpec` (annotations and the newer fields are not kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSpec {
    pub image: String,
}

impl Message for ImageSpec {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        if field == 1 {
            self.image = v.string(field)?;
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.image);
    }
}

/// A CRI `Container` as `ListContainers` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub pod_sandbox_id: String,
    pub metadata: Option<ContainerMetadata>,
    pub image: Option<ImageSpec>,
    pub image_ref: String,
    /// `CONTAINER_CREATED` 0, `RUNNING` 1, `EXITED` 2, `UNKNOWN` 3.
    pub state: u64,
    pub created_at: u64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl Message for Container {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        match field {
            1 => self.id = v.string(field)?,
            2 => self.pod_sandbox_id = v.string(field)?,
            3 => self.metadata = Some(message(field, v)?),
            4 => self.image = Some(message(field, v)?),
            5 => self.image_ref = v.string(field)?,
            6 => self.state = v.varint(field)?,
            7 => self.created_at = v.varint(field)?,
            8 => map_entry(&mut self.labels, field, v)?,
            9 => map_entry(&mut self.annotations, field, v)?,
            _ => {}
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.id).string(2, &self.pod_sandbox_id);
        if let Some(m) = &self.metadata {
            w.message(3, |w| m.encode(w));
        }
        if let Some(i) = &self.image {
            w.message(4, |w| i.encode(w));
        }
        w.string(5, &self.image_ref)
            .varint(6, self.state)
            .varint(7, self.created_at)
            .map(8, &self.labels)
            .map(9, &self.annotations);
    }
}

/// `ListContainersResponse`.
pub type ListContainersResponse = List<Container>;

/// `PodSandboxMetadata` (also used in requests).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSandboxMetadata {
    pub name: String,
    pub uid: String,
    pub namespace: String,
    pub attempt: u32,
}

impl Message for PodSandboxMetadata {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        match field {
            1 => self.name = v.string(field)?,
            2 => self.uid = v.string(field)?,
            3 => self.namespace = v.string(field)?,
            4 => self.attempt = v.varint(field)? as u32,
            _ => {}
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.name)
            .string(2, &self.uid)
            .string(3, &self.namespace)
            .varint(4, u64::from(self.attempt));
    }
}

/// A CRI `PodSandbox` as `ListPodSandbox` returns it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PodSandbox {
    pub id: String,
    pub metadata: Option<PodSandboxMetadata>,
    /// `SANDBOX_READY` 0, `SANDBOX_NOTREADY` 1.
    pub state: u64,
    pub created_at: u64,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub runtime_handler: String,
}

impl Message for PodSandbox {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        match field {
            1 => self.id = v.string(field)?,
            2 => self.metadata = Some(message(field, v)?),
            3 => self.state = v.varint(field)?,
            4 => self.created_at = v.varint(field)?,
            5 => map_entry(&mut self.labels, field, v)?,
            6 => map_entry(&mut self.annotations, field, v)?,
            7 => self.runtime_handler = v.string(field)?,
            _ => {}
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.id);
        if let Some(m) = &self.metadata {
            w.message(2, |w| m.encode(w));
        }
        w.varint(3, self.state)
            .varint(4, self.created_at)
            .map(5, &self.labels)
            .map(6, &self.annotations)
            .string(7, &self.runtime_handler);
    }
}

/// `ListPodSandboxResponse`.
pub type ListPodSandboxResponse = List<PodSandbox>;

/// The CRI's container state as the sensor reports it.
#[must_use]
pub fn state_name(state: u64) -> &'static str {
    match state {
        0 => "created",
        1 => "running",
        2 => "exited",
        _ => "unknown",
    }
}

/// What a CRI endpoint knows: its containers and its pods.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CriInventory {
    pub containers: Vec<AgentContainer>,
    /// Ready sandboxes, and not-ready ones a listed container belongs to.
    pub pods: Vec<Pod>,
}

/// Turns the two list answers into the sensor's containers and pods.
#[must_use]
pub fn inventory(
    runtime: &str,
    containers: ListContainersResponse,
    sandboxes: ListPodSandboxResponse,
) -> CriInventory {
    let by_id: BTreeMap<&str, &PodSandbox> =
        sandboxes.items.iter().map(|s| (s.id.as_str(), s)).collect();
    let mut used: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    let mut out = CriInventory::default();
    for c in containers.items {
        if c.id.is_empty() {
            continue;
        }
        let sandbox = by_id.get(c.pod_sandbox_id.as_str());
        if let Some(s) = sandbox {
            used.insert(s.id.as_str());
        }
        let pod_uid = sandbox
            .and_then(|s| s.metadata.as_ref())
            .map(|m| m.uid.clone())
            .filter(|u| !u.is_empty())
            .or_else(|| c.labels.get(crate::containers::POD_UID_LABEL).cloned());
        out.containers.push(AgentContainer {
            key: c.id,
            runtime: runtime.to_string(),
            name: c.metadata.map(|m| m.name).filter(|n| !n.is_empty()),
            image: c.image.map(|i| i.image).filter(|i| !i.is_empty()),
            image_id: Some(c.image_ref).filter(|i| !i.is_empty()),
            state: state_name(c.state).to_string(),
            labels: c.labels,
            pod_uid,
        });
    }
    for s in &sandboxes.items {
        let Some(m) = &s.metadata else { continue };
        if m.uid.is_empty() || (s.state != 0 && !used.contains(s.id.as_str())) {
            continue;
        }
        out.pods.push(Pod {
            key: m.uid.clone(),
            name: Some(m.name.clone()).filter(|n| !n.is_empty()),
            namespace: Some(m.namespace.clone()).filter(|n| !n.is_empty()),
            labels: s.labels.clone(),
        });
    }
    out.pods.sort_by(|a, b| a.key.cmp(&b.key));
    out.pods.dedup_by(|a, b| a.key == b.key);
    out
}

/// The CRI API versions tried, newest first.
pub const VERSIONS: [&str; 2] = ["runtime.v1", "runtime.v1alpha2"];

/// Calls `RuntimeService/METHOD`, trying `runtime.v1` then `runtime.v1alpha2`
/// when v1 is unimplemented. Returns the answer's bytes.
///
/// # Errors
/// Both versions fail, or v1 fails otherwise than unimplemented.
pub async fn call(
    conn: &mut Connection,
    method: &str,
    request: &[u8],
) -> Result<Vec<u8>, GrpcError> {
    let mut last = None;
    for v in VERSIONS {
        match conn
            .unary(&format!("/{v}.RuntimeService/{method}"), &[], request)
            .await
        {
            Ok(b) => return Ok(b),
            Err(e) if e.is_unimplemented() => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| GrpcError::Protocol("no CRI version".into())))
}

/// `ListContainers` and `ListPodSandbox` (no filters) on a CRI socket.
///
/// # Errors
/// The socket does not answer in time, or answers an error or malformed data.
pub fn list(socket: &Path, runtime: &str, deadline: Duration) -> Result<CriInventory, GrpcError> {
    with_connection(socket, deadline, |mut conn| async move {
        let containers =
            ListContainersResponse::decode(&call(&mut conn, "ListContainers", &[]).await?)?;
        let sandboxes =
            ListPodSandboxResponse::decode(&call(&mut conn, "ListPodSandbox", &[]).await?)?;
        Ok(inventory(runtime, containers, sandboxes))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A `ListContainersResponse` written byte by byte from the .proto
    /// field numbers, not with [`Writer`].
    fn hand_built() -> Vec<u8> {
        let mut c = Vec::new();
        c.extend_from_slice(&[0x0a, 3]); // id
        c.extend_from_slice(b"c01");
        c.extend_from_slice(&[0x12, 3]); // pod_sandbox_id
        c.extend_from_slice(b"s01");
        c.extend_from_slice(&[0x1a, 5, 0x0a, 3]); // metadata { name }
        c.extend_from_slice(b"web");
        c.extend_from_slice(&[0x22, 7, 0x0a, 5]); // image { image }
        c.extend_from_slice(b"nginx");
        c.extend_from_slice(&[0x2a, 4]); // image_ref
        c.extend_from_slice(b"sha1");
        c.extend_from_slice(&[0x30, 1]); // state RUNNING
        c.extend_from_slice(&[0x38, 0xe8, 0x07]); // created_at 1000
        c.extend_from_slice(&[0x42, 10, 0x0a, 3]); // labels { app: web }
        c.extend_from_slice(b"app");
        c.extend_from_slice(&[0x12, 3]);
        c.extend_from_slice(b"web");
        c.extend_from_slice(&[0xa8, 0x06, 0x01]); // unknown field 101, varint
        let mut out = vec![0x0a, c.len() as u8];
        out.extend_from_slice(&c);
        out
    }

    #[test]
    fn decodes_hand_built_list() {
        let r = ListContainersResponse::decode(&hand_built()).unwrap();
        let c = &r.items[0];
        assert_eq!(c.id, "c01");
        assert_eq!(c.pod_sandbox_id, "s01");
        assert_eq!(c.metadata.as_ref().unwrap().name, "web");
        assert_eq!(c.image.as_ref().unwrap().image, "nginx");
        assert_eq!(c.image_ref, "sha1");
        assert_eq!(c.state, 1);
        assert_eq!(c.created_at, 1000);
        assert_eq!(c.labels.get("app").map(String::as_str), Some("web"));
    }

    #[test]
    fn truncated_and_malformed_lists_are_errors() {
        let full = hand_built();
        for cut in 1..full.len() {
            assert!(
                ListContainersResponse::decode(&full[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        // A string where a message belongs is decoded as a message and fails.
        assert!(ListContainersResponse::decode(&[0x0a, 2, 0x30, 0xff]).is_err());
        // state as a string: wrong wire type.
        assert!(ListContainersResponse::decode(&[0x0a, 3, 0x32, 1, b'x']).is_err());
    }

    #[test]
    fn inventory_joins_pods() {
        let mut labels = BTreeMap::new();
        labels.insert("io.kubernetes.pod.uid".to_string(), "ignored".to_string());
        let containers = ListContainersResponse {
            items: vec![
                Container {
                    id: "c1".into(),
                    pod_sandbox_id: "s1".into(),
                    metadata: Some(ContainerMetadata {
                        name: "app".into(),
                        attempt: 0,
                    }),
                    image: Some(ImageSpec {
                        image: "docker.io/library/nginx:1.27".into(),
                    }),
                    image_ref: "sha256:ab".into(),
                    state: 2,
                    labels,
                    ..Container::default()
                },
                Container {
                    id: "c2".into(),
                    pod_sandbox_id: "gone".into(),
                    state: 7,
                    ..Container::default()
                },
            ],
        };
        let sandboxes = ListPodSandboxResponse {
            items: vec![
                PodSandbox {
                    id: "s1".into(),
                    metadata: Some(PodSandboxMetadata {
                        name: "web-0".into(),
                        uid: "u1".into(),
                        namespace: "shop".into(),
                        attempt: 0,
                    }),
                    state: 1,
                    ..PodSandbox::default()
                },
                PodSandbox {
                    id: "s2".into(),
                    metadata: Some(PodSandboxMetadata {
                        uid: "u2".into(),
                        ..PodSandboxMetadata::default()
                    }),
                    state: 1,
                    ..PodSandbox::default()
                },
            ],
        };
        let inv = inventory("cri-o", containers, sandboxes);
        let c = &inv.containers[0];
        assert_eq!(
            (c.name.as_deref(), c.state.as_str(), c.pod_uid.as_deref()),
            (Some("app"), "exited", Some("u1"))
        );
        assert_eq!(c.image_id.as_deref(), Some("sha256:ab"));
        assert_eq!(inv.containers[1].state, "unknown");
        assert_eq!(inv.containers[1].pod_uid, None);
        // s2 is not ready and no container uses it.
        assert_eq!(inv.pods.len(), 1);
        assert_eq!(inv.pods[0].namespace.as_deref(), Some("shop"));
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9./:-]{0,12}"
    }

    fn labels() -> impl Strategy<Value = BTreeMap<String, String>> {
        prop::collection::btree_map(text(), text(), 0..4)
    }

    prop_compose! {
        fn container()(id in text(), sb in text(), name in prop::option::of(text()), attempt in any::<u32>(),
                       image in prop::option::of(text()), image_ref in text(), state in any::<u64>(),
                       created in any::<u64>(), labels in labels(), annotations in labels()) -> Container {
            Container {
                id, pod_sandbox_id: sb,
                metadata: name.map(|name| ContainerMetadata { name, attempt }),
                image: image.map(|image| ImageSpec { image }),
                image_ref, state, created_at: created, labels, annotations,
            }
        }
    }

    prop_compose! {
        fn sandbox()(id in text(), name in text(), uid in text(), ns in text(), attempt in any::<u32>(),
                     has_meta in any::<bool>(), state in 0u64..2, created in any::<u64>(),
                     labels in labels(), handler in text()) -> PodSandbox {
            PodSandbox {
                id,
                metadata: has_meta.then_some(PodSandboxMetadata { name, uid, namespace: ns, attempt }),
                state, created_at: created, labels, annotations: BTreeMap::new(), runtime_handler: handler,
            }
        }
    }

    proptest! {
        #[test]
        fn containers_round_trip(cs in prop::collection::vec(container(), 0..5)) {
            let m = ListContainersResponse { items: cs };
            prop_assert_eq!(ListContainersResponse::decode(&m.to_bytes()).unwrap(), m);
        }

        #[test]
        fn sandboxes_round_trip(items in prop::collection::vec(sandbox(), 0..5)) {
            let m = ListPodSandboxResponse { items };
            prop_assert_eq!(ListPodSandboxResponse::decode(&m.to_bytes()).unwrap(), m);
        }

        #[test]
        fn arbitrary_bytes_never_panic(b in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = ListContainersResponse::decode(&b);
            let _ = ListPodSandboxResponse::decode(&b);
        }
    }
}
