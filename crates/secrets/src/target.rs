//! Scanning a whole target: every file (for images, every layer's files
//! including those later layers deleted) and an image's configuration.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use rampart_source::image::Image;
use rampart_source::{FileRef, Opened, Skip, VPath, for_each_file};
use serde::Serialize;

use crate::engine::Engine;
use crate::error::Result;
use crate::finding::{Finding, LayerRef, Origin};
use crate::ignore::IgnoreList;

/// Counts of what a scan read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ScanStats {
    /// Files (and archive members' parent files) read.
    pub files: u64,
    /// Bytes of those files, as stored.
    pub bytes: u64,
    /// Findings suppressed by the ignore list.
    pub suppressed: u64,
}

/// Everything a secret scan of a target produced.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ScanReport {
    /// Findings, sorted by path, layer, line and rule.
    pub findings: Vec<Finding>,
    /// Files not read, or read only in part, with the reason.
    pub skips: Vec<Skip>,
    pub stats: ScanStats,
}

/// Scans `opened` with `engine`; findings `ignore` suppresses are dropped
/// (and counted).
///
/// # Errors
/// Reading the target failed (a corrupt image layer, an SBOM target).
pub fn scan_target(
    engine: &Engine<'_>,
    opened: &Opened,
    ignore: &IgnoreList,
) -> Result<ScanReport> {
    let findings = Mutex::new(Vec::new());
    let files = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let max = engine.opts.max_file_bytes;
    let layers: HashMap<String, usize> = match opened {
        Opened::Image(img) => img
            .layers
            .iter()
            .map(|l| (l.diff_id.to_string(), l.index))
            .collect(),
        _ => HashMap::new(),
    };
    let want = |path: &VPath, size: u64| {
        size > 0 && size <= max && !crate::archive::is_opaque(&path.display())
    };
    let visit = |f: &FileRef<'_>, reader: &mut dyn std::io::Read| -> Result<(), String> {
        files.fetch_add(1, Ordering::Relaxed);
        bytes.fetch_add(f.size, Ordering::Relaxed);
        let layer = f.layer.map(|d| {
            let diff_id = d.to_string();
            LayerRef {
                index: layers.get(&diff_id).copied().unwrap_or_default(),
                diff_id,
                removed: !f.visible,
            }
        });
        let mut local = Vec::new();
        let r = engine.scan_file(&f.path.display(), reader, &mut |mut finding| {
            finding.layer.clone_from(&layer);
            local.push(finding);
        });
        if !local.is_empty() {
            findings
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(local);
        }
        r
    };
    let skips = for_each_file(opened, true, &want, &visit)?;
    let mut findings = findings
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Opened::Image(img) = opened {
        findings.extend(scan_image_config(engine, img));
    }
    let before = findings.len();
    findings.retain(|f| !ignore.suppresses(f));
    let suppressed = (before - findings.len()) as u64;
    findings.sort_by(|a, b| {
        (
            &a.path,
            a.layer.as_ref().map(|l| l.index),
            a.line,
            a.offset,
            &a.rule_id,
        )
            .cmp(&(
                &b.path,
                b.layer.as_ref().map(|l| l.index),
                b.line,
                b.offset,
                &b.rule_id,
            ))
    });
    Ok(ScanReport {
        findings,
        skips,
        stats: ScanStats {
            files: files.into_inner(),
            bytes: bytes.into_inner(),
            suppressed,
        },
    })
}

/// The image configuration: `ENV` entries, labels and the build history's
/// commands (which keep `ARG` values and `RUN` command lines).
fn scan_image_config(engine: &Engine<'_>, img: &Image) -> Vec<Finding> {
    let mut out = Vec::new();
    let cfg = &img.config;
    let mut scan = |path: String, text: &str, origin: Origin, layer: Option<LayerRef>| {
        for mut f in engine.scan_bytes(&path, text.as_bytes()) {
            f.origin = origin;
            f.layer.clone_from(&layer);
            out.push(f);
        }
    };
    if let Some(env) = &cfg.config.env {
        for (i, e) in env.iter().enumerate() {
            scan(
                format!("[image config] Env[{i}]"),
                e,
                Origin::ImageEnv,
                None,
            );
        }
    }
    if let Some(labels) = &cfg.config.labels {
        for (k, v) in labels {
            scan(
                format!("[image config] Labels[{k}]"),
                &format!("{k}={v}"),
                Origin::ImageLabel,
                None,
            );
        }
    }
    let mut layer_index = 0usize;
    for (i, h) in cfg.history.iter().enumerate() {
        let layer = if h.empty_layer {
            None
        } else {
            let l = img.layers.get(layer_index).map(|l| LayerRef {
                index: l.index,
                diff_id: l.diff_id.to_string(),
                removed: false,
            });
            layer_index += 1;
            l
        };
        if let Some(cmd) = &h.created_by {
            scan(
                format!("[image config] history[{i}]"),
                cmd,
                Origin::ImageHistory,
                layer,
            );
        }
    }
    out
}
