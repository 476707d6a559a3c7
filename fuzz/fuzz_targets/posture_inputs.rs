//! Untrusted text through every posture parser: Kubernetes manifests
//! (multi-document YAML, JSON, List kinds), Dockerfiles, and the Linux
//! configuration files (sshd_config with Include, PAM, passwd, group,
//! shadow, fstab, sysctl, key-value files). None may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampart_posture::facts::{image, parse};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = rampart_posture::k8s_facts_from_text("fuzz.yaml", &text);
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
