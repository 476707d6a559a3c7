//! What the user asked to scan, as spelled on the command line.

use std::path::{Path, PathBuf};

use crate::error::{Result, SourceError};
use crate::image::{ArchiveKind, sniff_archive};
use crate::limits::Limits;
use crate::registry::ImageRef;

/// A scan target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `dir:PATH`: a project directory.
    Dir(PathBuf),
    /// `rootfs:PATH`: a root file system (absolute symlinks resolve inside it).
    Rootfs(PathBuf),
    /// `host`: this machine's `/`, without pseudo and network file systems.
    Host,
    /// `docker-archive:PATH[:TAG]`: `docker save` output.
    DockerArchive { path: PathBuf, tag: Option<String> },
    /// `oci-archive:PATH[:TAG]`: an OCI image layout in a tar file.
    OciArchive { path: PathBuf, tag: Option<String> },
    /// `oci-dir:PATH[:TAG]`: an OCI image layout directory.
    OciDir { path: PathBuf, tag: Option<String> },
    /// `registry:REF`: an image pulled over the distribution API.
    Registry(ImageRef),
    /// `sbom:PATH`: a CycloneDX or SPDX JSON document.
    Sbom(PathBuf),
}

/// Every prefix, in the order the help text lists them.
pub const TARGET_KINDS: &[&str] = &[
    "dir",
    "rootfs",
    "host",
    "docker-archive",
    "oci-archive",
    "oci-dir",
    "registry",
    "sbom",
];

impl Target {
    /// The target kind's name (its prefix).
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Target::Dir(_) => "dir",
            Target::Rootfs(_) => "rootfs",
            Target::Host => "host",
            Target::DockerArchive { .. } => "docker-archive",
            Target::OciArchive { .. } => "oci-archive",
            Target::OciDir { .. } => "oci-dir",
            Target::Registry(_) => "registry",
            Target::Sbom(_) => "sbom",
        }
    }

    /// True for the image kinds.
    #[must_use]
    pub fn is_image(&self) -> bool {
        matches!(
            self,
            Target::DockerArchive { .. }
                | Target::OciArchive { .. }
                | Target::OciDir { .. }
                | Target::Registry(_)
        )
    }

    /// Parses a target. A bare path is recognised by looking at it: an OCI
    /// layout directory, any other directory, a docker-archive or an
    /// oci-archive (by the members of the tar), or a CycloneDX/SPDX JSON file.
    ///
    /// # Errors
    /// An unknown prefix, a malformed reference, or a bare path that does not
    /// exist or is none of those.
    pub fn parse(spec: &str, limits: &Limits) -> Result<Target> {
        let invalid = |reason: String| SourceError::InvalidTarget {
            target: spec.to_string(),
            reason,
        };
        if spec == "host" {
            return Ok(Target::Host);
        }
        if spec.starts_with("host:") {
            return Err(invalid(
                "host takes no value (write just `host`)".to_string(),
            ));
        }
        if let Some((prefix, rest)) = spec.split_once(':')
            && let Some(kind) = TARGET_KINDS.iter().find(|k| **k == prefix)
        {
            if rest.is_empty() {
                return Err(invalid(format!("{kind}: needs a value after the colon")));
            }
            return match *kind {
                "dir" => Ok(Target::Dir(PathBuf::from(rest))),
                "rootfs" => Ok(Target::Rootfs(PathBuf::from(rest))),
                "docker-archive" => {
                    let (path, tag) = split_tag(rest);
                    Ok(Target::DockerArchive { path, tag })
                }
                "oci-archive" => {
                    let (path, tag) = split_tag(rest);
                    Ok(Target::OciArchive { path, tag })
                }
                "oci-dir" => {
                    let (path, tag) = split_tag(rest);
                    Ok(Target::OciDir { path, tag })
                }
                "registry" => rest
                    .parse::<ImageRef>()
                    .map(Target::Registry)
                    .map_err(|e| invalid(e.to_string())),
                "sbom" => Ok(Target::Sbom(PathBuf::from(rest))),
                _ => Err(invalid("host takes no value".to_string())),
            };
        }
        detect(Path::new(spec), limits).map_err(invalid)
    }
}

/// `PATH[:TAG]`: the whole string when it names an existing path; else the
/// shortest prefix before a colon that names an existing path, with the rest
/// as the tag (so `img.tar:registry:5000/app:v1` works); else the part
/// before the last colon.
fn split_tag(rest: &str) -> (PathBuf, Option<String>) {
    if Path::new(rest).exists() {
        return (PathBuf::from(rest), None);
    }
    for (i, _) in rest.match_indices(':') {
        let (p, t) = (&rest[..i], &rest[i + 1..]);
        if !p.is_empty() && !t.is_empty() && Path::new(p).exists() {
            return (PathBuf::from(p), Some(t.to_string()));
        }
    }
    match rest.rsplit_once(':') {
        Some((p, t)) if !t.is_empty() && !t.contains('/') && !p.is_empty() => {
            (PathBuf::from(p), Some(t.to_string()))
        }
        _ => (PathBuf::from(rest), None),
    }
}

fn detect(path: &Path, limits: &Limits) -> std::result::Result<Target, String> {
    let meta = std::fs::metadata(path).map_err(|e| {
        format!(
            "{e}; expected a path or one of: {}",
            TARGET_KINDS
                .iter()
                .map(|k| format!("{k}:"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    })?;
    if meta.is_dir() {
        if path.join("oci-layout").is_file() && path.join("index.json").is_file() {
            return Ok(Target::OciDir {
                path: path.to_path_buf(),
                tag: None,
            });
        }
        return Ok(Target::Dir(path.to_path_buf()));
    }
    if !meta.is_file() {
        return Err("not a directory or a regular file".to_string());
    }
    match sniff_archive(path, limits) {
        Some(ArchiveKind::Docker) => {
            return Ok(Target::DockerArchive {
                path: path.to_path_buf(),
                tag: None,
            });
        }
        Some(ArchiveKind::Oci) => {
            return Ok(Target::OciArchive {
                path: path.to_path_buf(),
                tag: None,
            });
        }
        None => {}
    }
    if looks_like_sbom(path) {
        return Ok(Target::Sbom(path.to_path_buf()));
    }
    Err("a file that is neither a docker-archive, an oci-archive nor a CycloneDX/SPDX JSON document \
         (say which with a prefix, e.g. docker-archive:PATH)"
        .to_string())
}

fn looks_like_sbom(path: &Path) -> bool {
    use std::io::Read as _;
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let mut head = Vec::new();
    if f.take(64 << 10).read_to_end(&mut head).is_err() {
        return false;
    }
    let text = String::from_utf8_lossy(&head);
    text.trim_start().starts_with('{')
        && (text.contains("\"bomFormat\"") || text.contains("\"spdxVersion\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Target> {
        Target::parse(s, &Limits::default())
    }

    #[test]
    fn parses_prefixed_targets() {
        assert_eq!(parse("host").unwrap(), Target::Host);
        assert_eq!(parse("dir:/src").unwrap(), Target::Dir("/src".into()));
        assert_eq!(
            parse("rootfs:/mnt/root").unwrap(),
            Target::Rootfs("/mnt/root".into())
        );
        assert_eq!(
            parse("oci-dir:/nonexistent/layout:v1").unwrap(),
            Target::OciDir {
                path: "/nonexistent/layout".into(),
                tag: Some("v1".into())
            }
        );
        assert_eq!(
            parse("docker-archive:/x/img.tar").unwrap(),
            Target::DockerArchive {
                path: "/x/img.tar".into(),
                tag: None
            }
        );
        let Target::Registry(r) = parse("registry:localhost:5000/app:1.2").unwrap() else {
            panic!("not a registry target")
        };
        assert_eq!(r.to_string(), "localhost:5000/app:1.2");
        assert_eq!(
            parse("sbom:bom.json").unwrap(),
            Target::Sbom("bom.json".into())
        );
    }

    #[test]
    fn rejects_bad_targets() {
        assert!(parse("dir:").is_err());
        assert!(
            parse("host:/")
                .unwrap_err()
                .to_string()
                .contains("no value")
        );
        assert!(parse("registry:UPPER").is_err());
        let e = parse("/definitely/not/here").unwrap_err().to_string();
        assert!(e.contains("docker-archive:"), "{e}");
    }

    #[test]
    fn detects_directories() {
        let tmp = tempfile::tempdir().unwrap();
        assert_eq!(
            parse(tmp.path().to_str().unwrap()).unwrap(),
            Target::Dir(tmp.path().into())
        );
        std::fs::write(tmp.path().join("oci-layout"), "{}").unwrap();
        std::fs::write(tmp.path().join("index.json"), "{}").unwrap();
        assert!(matches!(
            parse(tmp.path().to_str().unwrap()).unwrap(),
            Target::OciDir { .. }
        ));
        let f = tmp.path().join("bom.json");
        std::fs::write(&f, r#"{"bomFormat":"CycloneDX","specVersion":"1.6"}"#).unwrap();
        assert!(matches!(
            parse(f.to_str().unwrap()).unwrap(),
            Target::Sbom(_)
        ));
        let archive = tmp.path().join("img.tar");
        std::fs::write(&archive, b"").unwrap();
        let spec = format!(
            "docker-archive:{}:localhost:5000/team/app:v1",
            archive.display()
        );
        assert_eq!(
            parse(&spec).unwrap(),
            Target::DockerArchive {
                path: archive,
                tag: Some("localhost:5000/team/app:v1".into())
            }
        );
        let junk = tmp.path().join("junk.bin");
        std::fs::write(&junk, b"\x00\x01garbage").unwrap();
        assert!(parse(junk.to_str().unwrap()).is_err());
    }
}
