//! Rampart's sensor: host discovery from procfs, sysfs and `/etc` (host
//! facts, processes, sockets, containers, pods), reported to the console as
//! snapshots and deltas, and scan jobs run on the console's behalf.
//!
//! The library never prints; the `rampart sensor` command wires it up.

pub mod agent;
pub mod cgroup;
pub mod client;
pub mod cloud;
pub mod collect;
pub mod containerd;
pub mod containers;
pub mod cri;
pub mod delta;
pub mod error;
pub mod grpc;
pub mod host;
pub mod jobs;
pub mod kube;
pub mod kube_objects;
pub mod net;
pub mod ownership;
pub mod process;
pub mod protobuf;
pub mod redact;
pub mod rootfs;
pub mod runtime;
pub mod stop;

pub use agent::{AgentConfig, run};
pub use collect::{Collector, CollectorConfig};
pub use error::{Result, SensorError};
pub use jobs::JobExecutor;
pub use stop::Stop;

/// How runtime events are observed by this build.
pub const MODE: &str = "procfs";
