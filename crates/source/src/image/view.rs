//! The layered view of an image: every layer's entries merged the way a
//! container runtime would (later layers win, whiteouts delete), with each
//! file attributed to the layer that introduced it and every deleted or
//! replaced version kept as history.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::record::{FileKind, Skip};
use crate::vpath::{VPath, escape_bytes};

/// Why a version of a path is no longer visible in the final image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "how")]
pub enum Removal {
    /// A `.wh.<name>` whiteout in layer `layer` deleted it (or a parent).
    Whiteout { layer: usize },
    /// An opaque-directory marker (`.wh..wh..opq`) in `layer` hid it.
    Opaque { layer: usize },
    /// An entry at the same path (or a non-directory replacing a parent
    /// directory) in `layer` replaced it.
    Replaced { layer: usize },
}

impl Removal {
    /// The layer that removed the version.
    #[must_use]
    pub fn layer(self) -> usize {
        match self {
            Removal::Whiteout { layer }
            | Removal::Opaque { layer }
            | Removal::Replaced { layer } => layer,
        }
    }
}

/// One version of a path, as one layer's tar entry described it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Version {
    /// Index of the layer that introduced it (0 = bottom).
    pub layer: usize,
    /// Position of the entry within its layer's tar stream.
    #[serde(skip)]
    pub ordinal: u64,
    pub kind: FileKind,
    pub size: u64,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub mtime: u64,
    /// Symlink target (raw, as stored) or hard-link target (a root-relative
    /// path).
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "ser_link")]
    pub link: Option<Vec<u8>>,
    /// Set when a later layer deleted or replaced this version.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub removed: Option<Removal>,
}

#[allow(clippy::ref_option)]
fn ser_link<S: serde::Serializer>(link: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
    match link {
        Some(l) => s.serialize_str(&escape_bytes(l)),
        None => s.serialize_none(),
    }
}

/// A normalised item of one layer's tar stream.
#[derive(Debug, Clone)]
pub(crate) enum LayerItem {
    Entry(VPath, Version),
    Whiteout(VPath),
    Opaque(VPath),
}

/// The merged view of all layers.
#[derive(Debug, Default)]
pub struct LayeredView {
    paths: BTreeMap<VPath, Vec<Version>>,
    skips: Vec<Skip>,
}

impl LayeredView {
    /// Applies one layer's items on top of the view. Items of a layer are
    /// applied in this order: opaque markers, whiteouts, then entries, so a
    /// layer can delete a lower path and recreate it.
    #[cfg(test)]
    pub(crate) fn apply_layer(&mut self, layer: usize, items: Vec<LayerItem>) {
        for item in items {
            self.apply(layer, item);
        }
    }

    /// Applies one item of layer `layer`, as the layer's tar stream yields
    /// it. Whiteouts and opaque markers only ever remove versions from
    /// layers below, so the order of a layer's items does not matter and
    /// nothing needs to be held back: memory stays proportional to the
    /// view, not to the largest layer.
    pub(crate) fn apply(&mut self, layer: usize, item: LayerItem) {
        match item {
            LayerItem::Opaque(dir) => self.remove_below(&dir, Removal::Opaque { layer }, layer),
            LayerItem::Whiteout(path) => {
                let how = Removal::Whiteout { layer };
                self.remove_at(&path, how, layer);
                self.remove_below(&path, how, layer);
            }
            LayerItem::Entry(path, version) => self.add(path, version, layer),
        }
    }

    /// Records an entry that could not be used.
    pub(crate) fn skip(&mut self, skip: Skip) {
        self.skips.push(skip);
    }

    fn add(&mut self, path: VPath, version: Version, layer: usize) {
        if version.kind == FileKind::Hardlink {
            let target_ok = version
                .link
                .as_deref()
                .and_then(|t| VPath::from_relative(t, usize::MAX, usize::MAX).ok())
                .is_some_and(|t| {
                    self.visible(&t)
                        .is_some_and(|v| matches!(v.kind, FileKind::File | FileKind::Hardlink))
                });
            if !target_ok {
                let target = version
                    .link
                    .as_deref()
                    .map(escape_bytes)
                    .unwrap_or_default();
                self.skips.push(Skip::at(
                    &path,
                    Some(layer),
                    format!("hard link to missing or non-regular target /{target}"),
                ));
                return;
            }
        }
        let how = Removal::Replaced { layer };
        let is_dir = version.kind == FileKind::Dir;
        // A directory over a directory merges; anything else replaces what
        // was there, including everything below a replaced directory.
        let lower_is_dir = self.visible(&path).is_some_and(|v| v.kind == FileKind::Dir);
        self.remove_at(&path, how, usize::MAX);
        if !(is_dir && lower_is_dir) {
            self.remove_below(&path, how, usize::MAX);
        }
        self.paths.entry(path).or_default().push(version);
    }

    /// Marks the visible version at `path` removed, if it came from a layer
    /// below `below` (`usize::MAX`: any layer).
    fn remove_at(&mut self, path: &VPath, how: Removal, below: usize) {
        if let Some(versions) = self.paths.get_mut(path) {
            for v in versions
                .iter_mut()
                .filter(|v| v.removed.is_none() && v.layer < below)
            {
                v.removed = Some(how);
            }
        }
    }

    fn remove_below(&mut self, dir: &VPath, how: Removal, below: usize) {
        for versions in self
            .paths
            .range_mut(VPath::children_range(dir))
            .map(|(_, v)| v)
        {
            for v in versions
                .iter_mut()
                .filter(|v| v.removed.is_none() && v.layer < below)
            {
                v.removed = Some(how);
            }
        }
    }

    /// The visible version at `path`, without following symlinks.
    #[must_use]
    pub fn visible(&self, path: &VPath) -> Option<&Version> {
        self.paths
            .get(path)?
            .iter()
            .rev()
            .find(|v| v.removed.is_none())
    }

    fn has_visible_children(&self, dir: &VPath) -> bool {
        self.paths
            .range(VPath::children_range(dir))
            .any(|(_, vs)| vs.iter().any(|v| v.removed.is_none()))
    }

    /// The version of `path` that the entry number `ordinal` of `layer` made.
    #[must_use]
    pub fn version_from(&self, path: &VPath, layer: usize, ordinal: u64) -> Option<&Version> {
        self.paths
            .get(path)?
            .iter()
            .find(|v| v.layer == layer && v.ordinal == ordinal)
    }

    /// Every visible path with its version, in byte order of the path.
    pub fn files(&self) -> impl Iterator<Item = (&VPath, &Version)> {
        self.paths.iter().filter_map(|(p, vs)| {
            vs.iter()
                .rev()
                .find(|v| v.removed.is_none())
                .map(|v| (p, v))
        })
    }

    /// Every deleted or replaced version (the image's history), in path order.
    pub fn removed(&self) -> impl Iterator<Item = (&VPath, &Version)> {
        self.paths.iter().flat_map(|(p, vs)| {
            vs.iter()
                .filter(|v| v.removed.is_some())
                .map(move |v| (p, v))
        })
    }

    /// Entries that were skipped, with reasons.
    #[must_use]
    pub fn skips(&self) -> &[Skip] {
        &self.skips
    }

    /// Resolves `path` inside the image the way a process chrooted into it
    /// would: symlinks are followed (absolute targets start at the image
    /// root, `..` stops at the root), at most 40 of them. Returns the final
    /// path and its version; `None` when it does not exist or loops.
    #[must_use]
    pub fn resolve(&self, path: &VPath) -> Option<(VPath, &Version)> {
        let mut pending: Vec<Vec<u8>> = path
            .as_bytes()
            .split(|&b| b == b'/')
            .rev()
            .filter(|c| !c.is_empty())
            .map(<[u8]>::to_vec)
            .collect();
        let mut current = VPath::root();
        let mut hops = 0;
        while let Some(comp) = pending.pop() {
            match comp.as_slice() {
                b"." | b"" => continue,
                b".." => {
                    current = current.parent();
                    continue;
                }
                _ => {}
            }
            let next = current.join(&comp);
            let Some(version) = self.visible(&next) else {
                // Layers need not carry every parent directory: a path with
                // visible entries below it is an implicit directory.
                if !pending.is_empty() && self.has_visible_children(&next) {
                    current = next;
                    continue;
                }
                return None;
            };
            if version.kind == FileKind::Symlink {
                hops += 1;
                if hops > 40 {
                    return None;
                }
                let target = version.link.clone().unwrap_or_default();
                if target.first() == Some(&b'/') {
                    current = VPath::root();
                }
                pending.extend(
                    target
                        .split(|&b| b == b'/')
                        .rev()
                        .filter(|c| !c.is_empty())
                        .map(<[u8]>::to_vec),
                );
            } else {
                current = next;
            }
        }
        let v = if current.is_root() {
            None
        } else {
            self.visible(&current)
        }?;
        Some((current, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> VPath {
        VPath::from_archive(s.as_bytes(), 4096, 256).unwrap()
    }

    fn v(layer: usize, kind: FileKind) -> Version {
        Version {
            layer,
            ordinal: 0,
            kind,
            size: 1,
            mode: 0o644,
            uid: 0,
            gid: 0,
            mtime: 0,
            link: None,
            removed: None,
        }
    }

    fn link(layer: usize, kind: FileKind, target: &str) -> Version {
        Version {
            link: Some(target.as_bytes().to_vec()),
            ..v(layer, kind)
        }
    }

    fn visible_paths(view: &LayeredView) -> Vec<String> {
        view.files().map(|(p, _)| p.display()).collect()
    }

    #[test]
    fn whiteouts_opaque_dirs_and_replacement() {
        let mut view = LayeredView::default();
        view.apply_layer(
            0,
            vec![
                LayerItem::Entry(p("a"), v(0, FileKind::Dir)),
                LayerItem::Entry(p("a/one"), v(0, FileKind::File)),
                LayerItem::Entry(p("a/two"), v(0, FileKind::File)),
                LayerItem::Entry(p("d"), v(0, FileKind::Dir)),
                LayerItem::Entry(p("d/x"), v(0, FileKind::File)),
                LayerItem::Entry(p("f"), v(0, FileKind::File)),
            ],
        );
        view.apply_layer(
            1,
            vec![
                LayerItem::Whiteout(p("a/one")),
                LayerItem::Opaque(p("d")),
                LayerItem::Entry(p("d/y"), v(1, FileKind::File)),
                LayerItem::Entry(p("f"), v(1, FileKind::File)),
            ],
        );
        assert_eq!(visible_paths(&view), ["/a", "/a/two", "/d", "/d/y", "/f"]);
        let removed: Vec<_> = view
            .removed()
            .map(|(p, v)| (p.display(), v.removed))
            .collect();
        assert_eq!(
            removed,
            [
                ("/a/one".to_string(), Some(Removal::Whiteout { layer: 1 })),
                ("/d/x".to_string(), Some(Removal::Opaque { layer: 1 })),
                ("/f".to_string(), Some(Removal::Replaced { layer: 1 })),
            ]
        );
        assert_eq!(view.visible(&p("f")).map(|v| v.layer), Some(1));
    }

    #[test]
    fn whiteout_of_directory_removes_its_tree_and_allows_recreation() {
        let mut view = LayeredView::default();
        view.apply_layer(
            0,
            vec![
                LayerItem::Entry(p("etc/app"), v(0, FileKind::Dir)),
                LayerItem::Entry(p("etc/app/key"), v(0, FileKind::File)),
            ],
        );
        view.apply_layer(
            1,
            vec![
                LayerItem::Whiteout(p("etc/app")),
                LayerItem::Entry(p("etc/app"), v(1, FileKind::Dir)),
            ],
        );
        assert_eq!(visible_paths(&view), ["/etc/app"]);
        assert_eq!(view.removed().count(), 2);
    }

    #[test]
    fn file_replacing_directory_hides_children() {
        let mut view = LayeredView::default();
        view.apply_layer(
            0,
            vec![
                LayerItem::Entry(p("x"), v(0, FileKind::Dir)),
                LayerItem::Entry(p("x/y"), v(0, FileKind::File)),
            ],
        );
        view.apply_layer(1, vec![LayerItem::Entry(p("x"), v(1, FileKind::File))]);
        assert_eq!(visible_paths(&view), ["/x"]);
    }

    #[test]
    fn hardlink_to_missing_target_is_skipped() {
        let mut view = LayeredView::default();
        view.apply_layer(
            0,
            vec![
                LayerItem::Entry(p("bin/real"), v(0, FileKind::File)),
                LayerItem::Entry(p("bin/good"), link(0, FileKind::Hardlink, "bin/real")),
                LayerItem::Entry(p("bin/bad"), link(0, FileKind::Hardlink, "bin/nowhere")),
            ],
        );
        assert_eq!(visible_paths(&view), ["/bin/good", "/bin/real"]);
        assert_eq!(view.skips().len(), 1);
        assert!(view.skips()[0].reason.contains("missing"));
    }

    #[test]
    fn resolve_stays_inside_the_image() {
        let mut view = LayeredView::default();
        view.apply_layer(
            0,
            vec![
                LayerItem::Entry(p("etc"), v(0, FileKind::Dir)),
                LayerItem::Entry(p("usr/lib/os-release"), v(0, FileKind::File)),
                LayerItem::Entry(
                    p("etc/os-release"),
                    link(0, FileKind::Symlink, "../usr/lib/os-release"),
                ),
                LayerItem::Entry(
                    p("etc/abs"),
                    link(0, FileKind::Symlink, "/usr/lib/os-release"),
                ),
                LayerItem::Entry(
                    p("etc/escape"),
                    link(0, FileKind::Symlink, "../../../../../usr/lib/os-release"),
                ),
                LayerItem::Entry(
                    p("etc/host-shadow"),
                    link(0, FileKind::Symlink, "/../../etc/shadow"),
                ),
                LayerItem::Entry(p("loop1"), link(0, FileKind::Symlink, "loop2")),
                LayerItem::Entry(p("loop2"), link(0, FileKind::Symlink, "loop1")),
            ],
        );
        for name in ["etc/os-release", "etc/abs", "etc/escape"] {
            let (path, _) = view.resolve(&p(name)).unwrap();
            assert_eq!(path.display(), "/usr/lib/os-release", "{name}");
        }
        // Escaping links resolve inside the image, where /etc/shadow is absent.
        assert!(view.resolve(&p("etc/host-shadow")).is_none());
        assert!(view.resolve(&p("loop1")).is_none());
    }
}
