//! Reading a target's file contents, the same way for every kind of target:
//! what scanners and catalogers build on.

use std::io::Read;
use std::ops::ControlFlow;
use std::sync::Mutex;

use crate::digest::Digest;
use crate::error::{Result, SourceError};
use crate::listing::Opened;
use crate::record::{FileKind, Skip};
use crate::vpath::VPath;
use crate::walker::{WalkEvent, walk};

/// A regular file handed to a reader of a target's contents.
#[derive(Debug, Clone, Copy)]
pub struct FileRef<'a> {
    /// Path from the target's root.
    pub path: &'a VPath,
    pub size: u64,
    pub mode: u32,
    /// For images: the `diff_id` of the layer holding this version.
    pub layer: Option<&'a Digest>,
    /// False for image files that later layers deleted or replaced.
    pub visible: bool,
}

/// Decides, from path and size alone, whether a file's content is wanted.
pub type Want<'a> = dyn Fn(&VPath, u64) -> bool + Sync + 'a;

/// Receives a wanted file and a reader over its content. Errors it returns
/// become skips of that file, not failures of the whole target.
pub type Visit<'a> =
    dyn Fn(&FileRef<'_>, &mut dyn Read) -> std::result::Result<(), String> + Sync + 'a;

/// Calls `visit` for every regular file of `opened` that `want` accepts.
/// Directory trees are read in parallel; images layer by layer (their files
/// that later layers deleted are passed only with `history`). Returns the
/// skips met on the way (unreadable files, special files, files `visit`
/// rejected), sorted.
///
/// # Errors
/// Reading an image layer failed (corrupt, mismatched digest, limits), or
/// the target is an SBOM document, which has no files.
pub fn for_each_file(
    opened: &Opened,
    history: bool,
    want: &Want<'_>,
    visit: &Visit<'_>,
) -> Result<Vec<Skip>> {
    let skips = Mutex::new(Vec::new());
    let push = |s: Skip| {
        skips
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(s);
    };
    match opened {
        Opened::Tree { root, walk: opts } => {
            walk(root, opts, |ev| match ev {
                WalkEvent::Skip(s) => push(s),
                WalkEvent::File(w) => {
                    if w.kind != FileKind::File || !want(&w.path, w.size) {
                        return;
                    }
                    let mut file = match std::fs::File::open(&w.abs) {
                        Ok(f) => f,
                        Err(e) => return push(Skip::at(&w.path, None, format!("unreadable: {e}"))),
                    };
                    let fr = FileRef {
                        path: &w.path,
                        size: w.size,
                        mode: w.mode,
                        layer: None,
                        visible: true,
                    };
                    if let Err(reason) = visit(&fr, &mut file) {
                        push(Skip::at(&w.path, None, reason));
                    }
                }
            })?;
        }
        Opened::Image(image) if !history => {
            let layer_skips = image.visit_visible(|ev, reader| {
                if want(ev.path, ev.version.size) {
                    let fr = FileRef {
                        path: ev.path,
                        size: ev.version.size,
                        mode: ev.version.mode,
                        layer: Some(ev.layer_digest),
                        visible: true,
                    };
                    if let Err(reason) = visit(&fr, reader) {
                        push(Skip::at(ev.path, Some(ev.version.layer), reason));
                    }
                }
                Ok(ControlFlow::Continue(()))
            })?;
            for s in layer_skips {
                push(s);
            }
        }
        Opened::Image(image) => {
            let (view, _) = image.index()?;
            for s in view.skips() {
                push(s.clone());
            }
            image.visit(&view, |ev, reader| {
                if (ev.visible || history) && want(ev.path, ev.version.size) {
                    let fr = FileRef {
                        path: ev.path,
                        size: ev.version.size,
                        mode: ev.version.mode,
                        layer: Some(ev.layer_digest),
                        visible: ev.visible,
                    };
                    if let Err(reason) = visit(&fr, reader) {
                        push(Skip::at(ev.path, Some(ev.version.layer), reason));
                    }
                }
                Ok(ControlFlow::Continue(()))
            })?;
        }
        Opened::Sbom(p) => {
            return Err(SourceError::Unsupported {
                what: "reading files".to_string(),
                detail: format!(
                    "{} is an SBOM document: it lists packages, not files",
                    p.display()
                ),
            });
        }
    }
    let mut skips = skips
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    skips.sort();
    Ok(skips)
}
