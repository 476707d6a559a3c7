//! Java (Maven ecosystem, namespace = group id): archives (jar, war, ear,
//! par, jpi, hpi, nested at any depth up to a bound), `pom.xml`,
//! `gradle.lockfile` and Gradle version catalogs.

mod archive;
mod gradle;
mod meta;
mod pom;

use rampart_source::VPath;

use super::{Cataloger, Evidence, Found, file_name_ends_with, file_name_is};
use crate::package::{Ecosystem, Package};
use meta::Coordinates;

/// True when the directory holding `path` is named `dir`.
fn parent_dir_is(path: &VPath, dir: &[u8]) -> bool {
    let p = path.as_bytes();
    let parent = p
        .get(..p.len() - path.file_name().len())
        .unwrap_or_default();
    let parent = parent.strip_suffix(b"/").unwrap_or_default();
    parent.ends_with(dir)
        && (parent.len() == dir.len() || parent.get(parent.len() - dir.len() - 1) == Some(&b'/'))
}

fn found(coords: Vec<Coordinates>, cataloger: &str) -> Vec<Found> {
    coords
        .into_iter()
        .map(|c| {
            let mut p = Package::new(Ecosystem::Maven, c.artifact, c.version, cataloger);
            p.namespace = c.group;
            Found::Package(Box::new(p))
        })
        .collect()
}

/// Java archives and the archives nested in them.
#[derive(Debug)]
pub struct JavaArchive;

impl Cataloger for JavaArchive {
    fn name(&self) -> &'static str {
        "java-archive"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        archive::is_archive_name(path.file_name())
    }

    fn max_size(&self) -> u64 {
        256 << 20
    }

    fn parse(&self, ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let file_name = String::from_utf8_lossy(ev.path.file_name());
        let mut walk = archive::Walk::new(self.name());
        walk.archive(data, &file_name, 0, None)?;
        if walk.more_problems > 0 {
            walk.problems
                .push(format!("{} more problems", walk.more_problems));
        }
        if walk.packages.is_empty() && !walk.problems.is_empty() {
            return Err(walk.problems.join("; "));
        }
        for problem in &walk.problems {
            tracing::debug!("{}: {problem}", ev.path.display());
        }
        Ok(walk
            .packages
            .into_iter()
            .map(|p| Found::Package(Box::new(p)))
            .collect())
    }
}

/// A Maven project's `pom.xml`.
#[derive(Debug)]
pub struct MavenPom;

impl Cataloger for MavenPom {
    fn name(&self) -> &'static str {
        "maven-pom"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "pom.xml")
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let deps = pom::dependencies(&String::from_utf8_lossy(data))?;
        Ok(found(deps, self.name()))
    }
}

/// Gradle dependency lock files.
#[derive(Debug)]
pub struct GradleLockfile;

impl Cataloger for GradleLockfile {
    fn name(&self) -> &'static str {
        "gradle-lockfile"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_is(path, "gradle.lockfile")
            || (file_name_ends_with(path, ".lockfile") && parent_dir_is(path, b"dependency-locks"))
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        Ok(found(
            gradle::lockfile(&String::from_utf8_lossy(data)),
            self.name(),
        ))
    }
}

/// Gradle version catalogs (`gradle/libs.versions.toml` and any other
/// `gradle/*.versions.toml`).
#[derive(Debug)]
pub struct GradleCatalog;

impl Cataloger for GradleCatalog {
    fn name(&self) -> &'static str {
        "gradle-version-catalog"
    }

    fn wants(&self, path: &VPath, _size: u64) -> bool {
        file_name_ends_with(path, ".versions.toml") && parent_dir_is(path, b"gradle")
    }

    fn max_size(&self) -> u64 {
        16 << 20
    }

    fn parse(&self, _ev: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String> {
        let text = std::str::from_utf8(data).map_err(|e| format!("not UTF-8: {e}"))?;
        Ok(found(gradle::version_catalog(text)?, self.name()))
    }
}

#[cfg(test)]
mod tests;
