//! Writing reports: to standard output or a file, in the chosen format.

use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use rampart_source::{Listing, Skip};

/// `v` with the members of every object sorted by key. serde_json keeps
/// insertion order when its `preserve_order` feature is on, and YARA-X
/// turns it on for every build that holds the malware scanner: documents
/// built as `serde_json::Value`s go through this before they are written, so
/// their key order does not depend on which crates are in the build.
pub fn sorted(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            Value::Object(
                keys.into_iter()
                    .map(|k| (k.clone(), sorted(&o[k])))
                    .collect(),
            )
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// Writes `text` to `path`, or to standard output.
pub fn emit(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .or_else(|e| {
                    if e.kind() == std::io::ErrorKind::BrokenPipe {
                        Ok(())
                    } else {
                        Err(e)
                    }
                })
                .context("writing to standard output")
        }
    }
}

/// Writes `value` as pretty JSON (with a trailing newline) straight to
/// `path` or standard output, without building the text in memory: a
/// listing of a large image holds hundreds of thousands of entries.
pub fn emit_json<T: serde::Serialize>(path: Option<&Path>, value: &T) -> Result<()> {
    fn write_all<W: Write, T: serde::Serialize>(w: W, value: &T) -> std::io::Result<()> {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, w);
        serde_json::to_writer_pretty(&mut w, value)?;
        w.write_all(b"\n")?;
        w.flush()
    }
    match path {
        Some(p) => {
            let f =
                std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
            write_all(f, value).with_context(|| format!("writing {}", p.display()))
        }
        None => write_all(std::io::stdout().lock(), value)
            .or_else(|e| {
                if e.kind() == std::io::ErrorKind::BrokenPipe {
                    Ok(())
                } else {
                    Err(e)
                }
            })
            .context("writing to standard output"),
    }
}

fn human_size(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "K", "M", "G", "T"];
    let mut v = n;
    let mut unit = 0;
    let mut rem = 0;
    while v >= 1024 && unit < UNITS.len() - 1 {
        rem = v % 1024;
        v /= 1024;
        unit += 1;
    }
    if unit == 0 {
        format!("{n}B")
    } else if v < 10 {
        format!("{v}.{}{}", rem * 10 / 1024, UNITS[unit])
    } else {
        format!("{v}{}", UNITS[unit])
    }
}

fn push_skips(out: &mut String, skips: &[Skip]) {
    if skips.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nSkipped ({}):", skips.len());
    for s in skips {
        match s.layer {
            Some(l) => {
                let _ = writeln!(out, "  [layer {l}] {}: {}", s.path, s.reason);
            }
            None => {
                let _ = writeln!(out, "  {}: {}", s.path, s.reason);
            }
        }
    }
}

/// The table form of a listing.
pub fn listing_table(l: &Listing, history: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Target: {} ({})", l.target, l.kind);
    if let Some(img) = &l.image {
        let _ = writeln!(out, "Image: {} {}", img.config_digest, img.platform);
        if let Some(r) = &img.reference {
            let _ = writeln!(out, "Reference: {r}");
        }
        for layer in &img.layers {
            let _ = writeln!(
                out,
                "Layer {}: {} {} {}",
                layer.index,
                layer.diff_id,
                human_size(layer.uncompressed_bytes),
                layer.created_by.as_deref().unwrap_or("")
            );
        }
    }
    out.push('\n');
    let with_layer = l.image.is_some();
    let header = if with_layer {
        "TYPE MODE  LAYER    SIZE  PATH"
    } else {
        "TYPE MODE      SIZE  PATH"
    };
    let _ = writeln!(out, "{header}");
    let row = |out: &mut String, f: &rampart_source::ListedFile, note: &str| {
        let link = f
            .link
            .as_deref()
            .map(|t| format!(" -> {t}"))
            .unwrap_or_default();
        let size = if f.kind == rampart_source::FileKind::File {
            human_size(f.size)
        } else {
            "-".to_string()
        };
        if with_layer {
            let layer = f.layer.map(|i| i.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "{}    {:04o} {layer:>5} {size:>7}  {}{link}{note}",
                f.kind.letter(),
                f.mode,
                f.path
            );
        } else {
            let _ = writeln!(
                out,
                "{}    {:04o} {size:>7}  {}{link}{note}",
                f.kind.letter(),
                f.mode,
                f.path
            );
        }
    };
    for f in &l.files {
        row(&mut out, f, "");
    }
    if history && !l.removed.is_empty() {
        let _ = writeln!(
            out,
            "\nDeleted or replaced by later layers ({}):",
            l.removed.len()
        );
        for f in &l.removed {
            let note = match f.removed {
                Some(rampart_source::image::Removal::Whiteout { layer }) => {
                    format!("  (deleted in layer {layer})")
                }
                Some(rampart_source::image::Removal::Opaque { layer }) => {
                    format!("  (hidden by opaque dir in layer {layer})")
                }
                Some(rampart_source::image::Removal::Replaced { layer }) => {
                    format!("  (replaced in layer {layer})")
                }
                None => String::new(),
            };
            row(&mut out, f, &note);
        }
    }
    push_skips(&mut out, &l.skips);
    let _ = writeln!(
        out,
        "\n{} files, {} removed in later layers, {} skipped",
        l.files.len(),
        l.removed.len(),
        l.skips.len()
    );
    out
}

/// The table form of an SBOM.
pub fn sbom_table(s: &rampart_sbom::Sbom) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "Target: {} ({})", s.target, s.kind);
    if let Some(d) = &s.distro {
        let name = if d.pretty_name.is_empty() {
            format!("{} {}", d.id, d.version_id)
        } else {
            d.pretty_name.clone()
        };
        let _ = writeln!(
            out,
            "OS: {name}{}",
            if d.distroless { " (distroless)" } else { "" }
        );
    }
    out.push('\n');
    let rows: Vec<[String; 3]> = s
        .packages
        .iter()
        .map(|p| {
            let name = match &p.namespace {
                Some(ns)
                    if !p.ecosystem.is_os() && p.ecosystem != rampart_sbom::Ecosystem::Golang =>
                {
                    format!("{ns}/{}", p.name)
                }
                _ => p.name.clone(),
            };
            [name, p.version.clone(), p.ecosystem.purl_type().to_string()]
        })
        .collect();
    let w0 = rows
        .iter()
        .map(|r| r[0].chars().count())
        .max()
        .unwrap_or(0)
        .max(4);
    let w1 = rows
        .iter()
        .map(|r| r[1].chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let _ = writeln!(out, "{:<w0$}  {:<w1$}  TYPE", "NAME", "VERSION");
    for r in &rows {
        let _ = writeln!(out, "{:<w0$}  {:<w1$}  {}", r[0], r[1], r[2]);
    }
    push_skips(&mut out, &s.skips);
    let _ = writeln!(
        out,
        "\n{} packages, {} skipped",
        s.packages.len(),
        s.skips.len()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::human_size;

    #[test]
    fn sizes_read_like_ls_h() {
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(1023), "1023B");
        assert_eq!(human_size(1536), "1.5K");
        assert_eq!(human_size(10 * 1024 * 1024), "10M");
    }
}
