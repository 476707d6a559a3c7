//! Untrusted text through every posture parser: Kubernetes manifests
//! (multi-document YAML, JSON, List kinds), Dockerfiles, and the Linux
//! configuration files (sshd_config with Include, PAM, passwd, group,
//! shadow, fstab, sysctl, key-value files). None may panic.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rampart_posture::PolicySet;
use rampart_posture::facts::{image, parse};

fn policies() -> &'static PolicySet {
    static SET: OnceLock<PolicySet> = OnceLock::new();
    SET.get_or_init(|| PolicySet::builtin().expect("built-in policies load"))
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Whatever the manifests hold, no policy may fail as a whole: a
    // malformed object must not switch checks off.
    let facts = rampart_posture::k8s_facts_from_text("fuzz.yaml", &text);
    if let Ok(results) = policies().evaluate("k8s", &facts) {
        for r in results {
            if let Some(reason) = &r.reason {
                assert!(!reason.starts_with("policy error"), "{}: {reason}", r.id);
            }
        }
    }
    let _ = image::dockerfile_facts("Dockerfile", &text);
    // An Include that includes the same text again, to exercise the depth bound.
    let again = |_: &str| vec![("/etc/ssh/inc.conf".to_string(), text.to_string())];
    let _ = parse::sshd_config("/etc/ssh/sshd_config", &text, &again);
    let _ = parse::pam(&text);
    let _ = parse::passwd(&text);
    let _ = parse::group(&text);
    let _ = parse::shadow(&text);
    let _ = parse::mounts(&text);
    let _ = parse::sysctl(&text);
    let _ = parse::key_values(&text, true);
});
