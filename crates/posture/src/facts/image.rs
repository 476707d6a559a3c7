//! Container image facts (configuration, history, notable files) and
//! Dockerfile facts.

use rampart_source::FileKind;
use rampart_source::image::Image;
use serde_json::{Value, json};

use super::dockerfile;
use crate::error::Result;

/// Files whose presence the image checks look at.
const NOTABLE: &[&str] = &[
    "usr/bin/sudo",
    "bin/sudo",
    "usr/sbin/sshd",
    "usr/bin/curl",
    "usr/bin/wget",
];
/// Package manager caches and indexes that belong outside an image.
const CACHE_DIRS: &[&str] = &[
    "var/cache/apt/archives/",
    "var/lib/apt/lists/",
    "var/cache/apk/",
    "var/cache/yum/",
    "var/cache/dnf/",
    "root/.cache/pip/",
];
const MAX_LIST: usize = 200;

/// Facts of an image: its configuration, build history, SUID/SGID files,
/// package caches and notable programs (one pass over the layers' headers).
///
/// # Errors
/// A layer cannot be read.
pub fn image_facts(img: &Image) -> Result<Value> {
    let (view, _) = img.index()?;
    let mut suid = Vec::new();
    let mut sgid = Vec::new();
    let mut notable = serde_json::Map::new();
    let mut caches: std::collections::BTreeMap<&str, (u64, u64)> =
        std::collections::BTreeMap::new();
    for (path, v) in view.files() {
        let shown = path.display();
        let p = shown.trim_start_matches('/');
        if v.kind == FileKind::File {
            let entry = || json!({"path": format!("/{p}"), "layer": v.layer});
            if v.mode & 0o4000 != 0 && suid.len() < MAX_LIST {
                suid.push(entry());
            }
            if v.mode & 0o2000 != 0 && sgid.len() < MAX_LIST {
                sgid.push(entry());
            }
            if let Some(dir) = CACHE_DIRS.iter().find(|d| p.starts_with(**d)) {
                // The lock file and empty partial/ are what a cleaned cache keeps.
                if !p.ends_with("/lock") {
                    let e = caches.entry(dir).or_default();
                    e.0 += 1;
                    e.1 += v.size;
                }
            }
        }
        if NOTABLE.contains(&p) && v.kind != FileKind::Dir {
            notable.insert(format!("/{p}"), json!(true));
        }
    }
    let cfg = &img.config.config;
    let env: Vec<Value> = cfg
        .env
        .iter()
        .flatten()
        .map(|e| {
            let (k, v) = e.split_once('=').unwrap_or((e.as_str(), ""));
            json!({"name": k, "value": v})
        })
        .collect();
    let healthcheck = cfg.healthcheck.as_ref();
    let hc_disabled = healthcheck
        .and_then(|h| h.get("Test"))
        .and_then(Value::as_array)
        .and_then(|t| t.first())
        .and_then(Value::as_str)
        == Some("NONE");
    let history: Vec<Value> = img
        .config
        .history
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let (created_by, build_args) = h.created_by.as_deref().map(split_build_args).unzip();
            json!({"index": i, "created_by": created_by, "build_args": build_args.unwrap_or_default(), "empty_layer": h.empty_layer})
        })
        .collect();
    let caches: Vec<Value> = caches
        .into_iter()
        .map(|(d, (n, size))| json!({"path": format!("/{d}"), "files": n, "bytes": size}))
        .collect();
    Ok(json!({
        "reference": img.reference.clone().unwrap_or_else(|| img.source.clone()),
        "user": cfg.user.clone().unwrap_or_default(),
        "env": env,
        "healthcheck": healthcheck.is_some() && !hc_disabled,
        "exposed_ports": cfg.exposed_ports.as_ref().map(|p| p.keys().cloned().collect::<Vec<_>>()).unwrap_or_default(),
        "labels": cfg.labels.clone().unwrap_or_default(),
        "entrypoint": cfg.entrypoint,
        "cmd": cfg.cmd,
        "history": history,
        "layers": img.layers.len(),
        "suid": suid,
        "sgid": sgid,
        "caches": caches,
        "files": notable,
    }))
}

/// A history command of a build with arguments starts `|N K=V ... cmd`.
/// Returns the command with every value replaced by `***` (build
/// arguments often carry tokens) and the arguments themselves.
fn split_build_args(cmd: &str) -> (String, Vec<Value>) {
    let Some(rest) = cmd.strip_prefix('|') else {
        return (cmd.to_string(), Vec::new());
    };
    let mut words = rest.split(' ');
    let Some(n) = words.next().and_then(|n| n.parse::<usize>().ok()) else {
        return (cmd.to_string(), Vec::new());
    };
    let mut args = Vec::new();
    let mut shown = vec![format!("|{n}")];
    for _ in 0..n.min(1000) {
        let Some(w) = words.next() else { break };
        let (k, v) = w.split_once('=').unwrap_or((w, ""));
        args.push(json!({"name": k, "value": v}));
        shown.push(format!("{k}=***"));
    }
    shown.extend(words.map(str::to_string));
    (shown.join(" "), args)
}

/// Facts of one Dockerfile: its instructions and build stages.
#[must_use]
pub fn dockerfile_facts(file: &str, text: &str) -> Value {
    let instructions = dockerfile::parse(text);
    let mut names: Vec<String> = Vec::new();
    let mut stages = Vec::new();
    for i in instructions.iter().filter(|i| i.cmd == "FROM") {
        let words: Vec<&str> = i.args.split_whitespace().collect();
        let base = words.first().copied().unwrap_or_default().to_string();
        let name = match words.as_slice() {
            [_, as_kw, n, ..] if as_kw.eq_ignore_ascii_case("as") => Some(n.to_ascii_lowercase()),
            _ => None,
        };
        let local =
            base.eq_ignore_ascii_case("scratch") || names.contains(&base.to_ascii_lowercase());
        let platform_arg = base.contains('$');
        stages.push(json!({
            "index": i.stage, "base": base, "name": name, "line": i.line,
            "local": local, "variable": platform_arg,
        }));
        if let Some(n) = name {
            names.push(n);
        }
    }
    let last_stage = stages.len().saturating_sub(1);
    json!({
        "file": file,
        "instructions": instructions,
        "stages": stages,
        "final_stage": last_stage,
    })
}
