//! Containers from containerd's own API (`containerd.services.*.v1`), in
//! every containerd namespace: those started with `ctr` or nerdctl, which
//! the CRI does not list, and the CRI's own (namespace `k8s.io`).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rampart_model::agent::Container as AgentContainer;

use crate::grpc::{Connection, GrpcError, with_connection};
use crate::protobuf::{DecodeError, List, Message, Value, Writer, map_entry, message};

/// The gRPC metadata naming the containerd namespace of a call.
pub const NAMESPACE_HEADER: &str = "containerd-namespace";
/// The label nerdctl puts its container name in.
pub const NERDCTL_NAME_LABEL: &str = "nerdctl/name";

/// `containerd.services.namespaces.v1.Namespace`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Namespace {
    pub name: String,
    pub labels: BTreeMap<String, String>,
}

impl Message for Namespace {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        match field {
            1 => self.name = v.string(field)?,
            2 => map_entry(&mut self.labels, field, v)?,
            _ => {}
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.name).map(2, &self.labels);
    }
}

/// `ListNamespacesResponse`.
pub type ListNamespacesResponse = List<Namespace>;

/// `containerd.services.containers.v1.Container` (the OCI spec, runtime
/// options and extensions are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Container {
    pub id: String,
    pub labels: BTreeMap<String, String>,
    pub image: String,
    /// `Runtime.name`, e.g. `io.containerd.runc.v2`.
    pub runtime: String,
    pub snapshotter: String,
    pub snapshot_key: String,
    /// The sandbox id (containerd 1.7+).
    pub sandbox: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct RuntimeInfo {
    name: String,
}

impl Message for RuntimeInfo {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        if field == 1 {
            self.name = v.string(field)?;
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.name);
    }
}

impl Message for Container {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        match field {
            1 => self.id = v.string(field)?,
            2 => map_entry(&mut self.labels, field, v)?,
            3 => self.image = v.string(field)?,
            4 => self.runtime = message::<RuntimeInfo>(field, v)?.name,
            6 => self.snapshotter = v.string(field)?,
            7 => self.snapshot_key = v.string(field)?,
            11 => self.sandbox = v.string(field)?,
            _ => {}
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.id)
            .map(2, &self.labels)
            .string(3, &self.image);
        if !self.runtime.is_empty() {
            w.message(4, |w| {
                w.string(1, &self.runtime);
            });
        }
        w.string(6, &self.snapshotter)
            .string(7, &self.snapshot_key)
            .string(11, &self.sandbox);
    }
}

/// `containerd.services.containers.v1.ListContainersResponse`.
pub type ListContainersResponse = List<Container>;

/// `containerd.v1.types.Process`: a task (the exit time is skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Task {
    pub container_id: String,
    pub id: String,
    pub pid: u32,
    /// `UNKNOWN` 0, `CREATED` 1, `RUNNING` 2, `STOPPED` 3, `PAUSED` 4, `PAUSING` 5.
    pub status: u64,
    pub exit_status: u32,
}

impl Message for Task {
    fn merge_field(&mut self, field: u32, v: Value<'_>) -> Result<(), DecodeError> {
        match field {
            1 => self.container_id = v.string(field)?,
            2 => self.id = v.string(field)?,
            3 => self.pid = v.varint(field)? as u32,
            4 => self.status = v.varint(field)?,
            9 => self.exit_status = v.varint(field)? as u32,
            _ => {}
        }
        Ok(())
    }

    fn encode(&self, w: &mut Writer) {
        w.string(1, &self.container_id)
            .string(2, &self.id)
            .varint(3, u64::from(self.pid))
            .varint(4, self.status)
            .varint(9, u64::from(self.exit_status));
    }
}

/// `containerd.services.tasks.v1.ListTasksResponse`.
pub type ListTasksResponse = List<Task>;

/// A container's state from its task (none: `created`).
#[must_use]
pub fn task_state(task: Option<&Task>) -> &'static str {
    match task.map(|t| t.status) {
        None => "created",
        Some(1) => "created",
        Some(2) => "running",
        Some(3) => "exited",
        Some(4 | 5) => "paused",
        Some(_) => "unknown",
    }
}

/// The sensor's containers from one namespace's lists. The containerd
/// namespace is added as the label `containerd.io/namespace`.
#[must_use]
pub fn to_containers(
    namespace: &str,
    containers: ListContainersResponse,
    tasks: &ListTasksResponse,
) -> Vec<AgentContainer> {
    // containerd 1.6 leaves `container_id` empty in task lists: the init
    // process's `id` is the container's.
    let by_id: BTreeMap<&str, &Task> = tasks
        .items
        .iter()
        .map(|t| {
            let id = if t.container_id.is_empty() {
                &t.id
            } else {
                &t.container_id
            };
            (id.as_str(), t)
        })
        .collect();
    containers
        .items
        .into_iter()
        .filter(|c| !c.id.is_empty())
        .map(|c| {
            let state = task_state(by_id.get(c.id.as_str()).copied());
            let mut labels = c.labels;
            labels.insert(NAMESPACE_LABEL.to_string(), namespace.to_string());
            AgentContainer {
                name: labels.get(NERDCTL_NAME_LABEL).cloned(),
                pod_uid: labels.get(crate::containers::POD_UID_LABEL).cloned(),
                key: c.id,
                runtime: "containerd".to_string(),
                image: Some(c.image).filter(|i| !i.is_empty()),
                image_id: None,
                state: state.to_string(),
                labels,
            }
        })
        .collect()
}

/// The label carrying the containerd namespace of a container.
pub const NAMESPACE_LABEL: &str = "containerd.io/namespace";

/// Every container in every namespace of the containerd on `socket`.
///
/// # Errors
/// The socket does not answer in time, or answers an error or malformed data.
pub fn list(socket: &Path, deadline: Duration) -> Result<Vec<AgentContainer>, GrpcError> {
    with_connection(socket, deadline, |mut conn| async move {
        let namespaces = ListNamespacesResponse::decode(
            &conn
                .unary(
                    "/containerd.services.namespaces.v1.Namespaces/List",
                    &[],
                    &[],
                )
                .await?,
        )?;
        let mut out = Vec::new();
        for ns in namespaces.items {
            out.extend(list_namespace(&mut conn, &ns.name).await?);
        }
        Ok(out)
    })
}

async fn list_namespace(
    conn: &mut Connection,
    namespace: &str,
) -> Result<Vec<AgentContainer>, GrpcError> {
    let md = [(NAMESPACE_HEADER, namespace)];
    let containers = ListContainersResponse::decode(
        &conn
            .unary(
                "/containerd.services.containers.v1.Containers/List",
                &md,
                &[],
            )
            .await?,
    )?;
    let tasks = ListTasksResponse::decode(
        &conn
            .unary("/containerd.services.tasks.v1.Tasks/List", &md, &[])
            .await?,
    )?;
    Ok(to_containers(namespace, containers, &tasks))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hand_built_container_and_task() {
        // Container { id "a", labels {k: v}, image "img", runtime { name "rc" }, spec (Any) skipped }
        let c = [
            0x0a, 1, b'a', 0x12, 6, 0x0a, 1, b'k', 0x12, 1, b'v', 0x1a, 3, b'i', b'm', b'g', 0x22,
            4, 0x0a, 2, b'r', b'c', 0x2a, 2, 0x0a, 0,
        ];
        let mut list = vec![0x0a, c.len() as u8];
        list.extend_from_slice(&c);
        let r = ListContainersResponse::decode(&list).unwrap();
        assert_eq!(r.items[0].id, "a");
        assert_eq!(r.items[0].image, "img");
        assert_eq!(r.items[0].runtime, "rc");
        assert_eq!(r.items[0].labels.get("k").map(String::as_str), Some("v"));
        for cut in 1..list.len() {
            assert!(
                ListContainersResponse::decode(&list[..cut]).is_err(),
                "{cut}"
            );
        }
        // Task { container_id "a", pid 42, status RUNNING }
        let t = [0x0a, 8, 0x0a, 1, b'a', 0x18, 42, 0x20, 2, 0x48];
        assert!(
            ListTasksResponse::decode(&t).is_err(),
            "truncated exit_status"
        );
        let ok = [0x0a, 7, 0x0a, 1, b'a', 0x18, 42, 0x20, 2];
        let tasks = ListTasksResponse::decode(&ok).unwrap();
        assert_eq!(tasks.items[0].pid, 42);
        let v = to_containers("default", r, &tasks);
        assert_eq!(v[0].state, "running");
        assert_eq!(
            v[0].labels.get(NAMESPACE_LABEL).map(String::as_str),
            Some("default")
        );
    }

    #[test]
    fn states() {
        let t = |status| Task {
            status,
            ..Task::default()
        };
        assert_eq!(task_state(None), "created");
        assert_eq!(task_state(Some(&t(3))), "exited");
        assert_eq!(task_state(Some(&t(4))), "paused");
        assert_eq!(task_state(Some(&t(0))), "unknown");
    }

    fn text() -> impl Strategy<Value = String> {
        "[a-z0-9./:-]{0,12}"
    }

    prop_compose! {
        fn container()(id in text(), labels in prop::collection::btree_map(text(), text(), 0..4),
                       image in text(), runtime in text(), snapshotter in text(), key in text(),
                       sandbox in text()) -> Container {
            Container { id, labels, image, runtime, snapshotter, snapshot_key: key, sandbox }
        }
    }

    proptest! {
        #[test]
        fn round_trips(cs in prop::collection::vec(container(), 0..5),
                       ts in prop::collection::vec((text(), text(), any::<u32>(), any::<u64>(), any::<u32>()), 0..5),
                       ns in prop::collection::vec(text(), 0..4)) {
            let m = ListContainersResponse { items: cs };
            prop_assert_eq!(ListContainersResponse::decode(&m.to_bytes()).unwrap(), m);
            let t = ListTasksResponse { items: ts.into_iter().map(|(c, i, p, s, e)| Task {
                container_id: c, id: i, pid: p, status: s, exit_status: e }).collect() };
            prop_assert_eq!(ListTasksResponse::decode(&t.to_bytes()).unwrap(), t);
            let n = ListNamespacesResponse { items: ns.into_iter().map(|name| Namespace {
                name, labels: BTreeMap::new() }).collect() };
            prop_assert_eq!(ListNamespacesResponse::decode(&n.to_bytes()).unwrap(), n);
        }
    }
}
