//! The console's central scans (registry images) run by the same child
//! `rampart scan` a sensor uses for its jobs, with the registry's decrypted
//! credentials passed in the child's environment only.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use rampart_console::registry::RegistryAccess;
use rampart_console::runner::{ExecutorError, ScanExecutor};
use rampart_model::agent::{Job, ScanResults};
use rampart_sensor::Stop;

use crate::jobs::ChildExecutor;

/// Runs central scans as child processes.
#[derive(Debug)]
pub struct CentralExecutor {
    child: Arc<ChildExecutor>,
}

impl CentralExecutor {
    /// Scans run as `exe`, writing their reports under `work_dir`, at
    /// niceness 10 with a 2 GiB address-space cap.
    pub fn new(exe: &Path, work_dir: &Path) -> Self {
        CentralExecutor {
            child: Arc::new(ChildExecutor {
                exe: exe.to_path_buf(),
                work_dir: work_dir.to_path_buf(),
                nice: 10,
                memory_limit: 2 << 30,
            }),
        }
    }
}

/// Stops the scan when the runner drops the future (the scan was
/// cancelled, timed out, or the console is stopping).
struct StopOnDrop(Stop);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop();
    }
}

/// The child's environment for `registry`.
fn registry_env(registry: &RegistryAccess) -> Vec<(&'static str, String)> {
    let mut env = Vec::new();
    if let Some(c) = &registry.credentials {
        env.push(("RAMPART_REGISTRY_USERNAME", c.username.clone()));
        env.push(("RAMPART_REGISTRY_PASSWORD", c.password.clone()));
    }
    if registry.insecure {
        env.push(("RAMPART_INSECURE_REGISTRY", "1".to_string()));
    }
    env
}

#[async_trait]
impl ScanExecutor for CentralExecutor {
    async fn execute(
        &self,
        job: &Job,
        registry: &RegistryAccess,
    ) -> Result<Vec<ScanResults>, ExecutorError> {
        let stop = Stop::new();
        let _guard = StopOnDrop(stop.clone());
        let child = Arc::clone(&self.child);
        let job = job.clone();
        let env = registry_env(registry);
        tokio::task::spawn_blocking(move || {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            job.targets
                .iter()
                .map(|t| child.run_with_env(&job, t, &stop, &env))
                .collect::<Result<Vec<_>, String>>()
        })
        .await
        .map_err(|e| ExecutorError(format!("the scan task failed: {e}")))?
        .map_err(ExecutorError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_go_to_the_environment_only() {
        let r = RegistryAccess {
            host: "127.0.0.1:5000".into(),
            insecure: true,
            credentials: Some(rampart_source::registry::Credentials {
                username: "ci".into(),
                password: "s3cret".into(),
            }),
        };
        let env = registry_env(&r);
        assert_eq!(
            env,
            [
                ("RAMPART_REGISTRY_USERNAME", "ci".to_string()),
                ("RAMPART_REGISTRY_PASSWORD", "s3cret".to_string()),
                ("RAMPART_INSECURE_REGISTRY", "1".to_string()),
            ]
        );
        let anonymous = RegistryAccess {
            credentials: None,
            insecure: false,
            ..r
        };
        assert!(registry_env(&anonymous).is_empty());
    }
}
