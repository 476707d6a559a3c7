//! Catalogers: each declares which files it wants (by path, cheaply) and
//! parses them; one pass over the target feeds them all.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::Mutex;

use rampart_source::digest::Digest;
use rampart_source::{Opened, VPath, for_each_file};

use crate::error::SbomError;
use crate::package::{Distro, Ecosystem, Location, Package, Sbom};

mod dpkg;
mod os;
// Cataloger families register here, one line each.
mod apk;
mod binary;
mod cargo_lock;
mod conan;
mod dotnet;
mod elixir;
mod gomod;
mod java;
mod javascript;
mod lockutil;
mod php;
mod pubspec;
mod pyjs_common;
mod python;
mod rpm;
pub use rpm::{DATABASE_PATHS as RPM_DATABASE_PATHS, read_database as read_rpm_database};
mod ruby;
mod swift;

/// Where a file being parsed came from.
#[derive(Debug, Clone, Copy)]
pub struct Evidence<'a> {
    pub path: &'a VPath,
    pub layer: Option<&'a Digest>,
    pub size: u64,
}

/// What a cataloger reports about one file.
#[derive(Debug, Clone)]
pub enum Found {
    /// A package (its location is the file being parsed unless it sets one).
    Package(Box<Package>),
    /// Files a package installed, from the package manager's database,
    /// attached to every package of that ecosystem and name.
    Owns {
        ecosystem: Ecosystem,
        name: String,
        files: Vec<String>,
    },
    /// Operating-system identification (os-release and friends); `rank`
    /// orders sources when several exist (lower wins).
    Distro { distro: Distro, rank: u8 },
    /// A package manager's program exists (the image is not distroless).
    PackageManager,
    /// A package manager's database was read.
    PackageDb,
    /// Declared licenses for every package of that ecosystem and name
    /// (Debian copyright files sit apart from the status database).
    Licenses {
        ecosystem: Ecosystem,
        name: String,
        licenses: Vec<String>,
    },
}

/// A family of evidence files and how to read them.
pub trait Cataloger: Send + Sync {
    /// Stable name, reported with every package found.
    fn name(&self) -> &'static str;
    /// Whether the file's content is wanted. Called for every file of the
    /// target: decide from the path (and size) only.
    fn wants(&self, path: &VPath, size: u64) -> bool;
    /// The most bytes of a wanted file read; larger files are skipped with
    /// a reason.
    fn max_size(&self) -> u64 {
        64 << 20
    }
    /// Parses one wanted file.
    ///
    /// # Errors
    /// A reason, recorded as a skip of the file.
    fn parse(&self, evidence: &Evidence<'_>, data: &[u8]) -> Result<Vec<Found>, String>;
}

/// Every cataloger, in the order their names are reported.
#[must_use]
pub fn all() -> Vec<Box<dyn Cataloger>> {
    #[allow(unused_mut)]
    let mut v: Vec<Box<dyn Cataloger>> = vec![Box::new(os::OsRelease), Box::new(dpkg::Dpkg)];
    v.push(Box::new(apk::Apk));
    v.push(Box::new(rpm::Rpm));
    v.push(Box::new(python::PythonInstalled));
    v.push(Box::new(python::PythonRequirements));
    v.push(Box::new(python::PythonLocks));
    v.push(Box::new(javascript::NpmInstalled));
    v.push(Box::new(javascript::NpmLock));
    v.push(Box::new(javascript::YarnLock));
    v.push(Box::new(javascript::PnpmLock));
    v.push(Box::new(javascript::BunLock));
    v.push(Box::new(java::JavaArchive));
    v.push(Box::new(java::MavenPom));
    v.push(Box::new(java::GradleLockfile));
    v.push(Box::new(java::GradleCatalog));
    v.push(Box::new(gomod::GoMod));
    v.push(Box::new(cargo_lock::CargoLock));
    v.push(Box::new(binary::Binaries));
    v.push(Box::new(ruby::GemfileLock));
    v.push(Box::new(ruby::Gemspec));
    v.push(Box::new(php::ComposerLock));
    v.push(Box::new(php::ComposerInstalled));
    v.push(Box::new(dotnet::DepsJson));
    v.push(Box::new(dotnet::NugetLock));
    v.push(Box::new(dotnet::ProjectFile));
    v.push(Box::new(pubspec::PubspecLock));
    v.push(Box::new(elixir::MixLock));
    v.push(Box::new(swift::PackageResolved));
    v.push(Box::new(conan::ConanLock));
    v
}

/// True when the path's last component equals `name`.
#[must_use]
pub fn file_name_is(path: &VPath, name: &str) -> bool {
    path.file_name() == name.as_bytes()
}

/// True when the path's last component ends with `suffix`.
#[must_use]
pub fn file_name_ends_with(path: &VPath, suffix: &str) -> bool {
    path.file_name().ends_with(suffix.as_bytes())
}

/// Catalogs `opened` with `catalogers` in one pass over its files.
///
/// # Errors
/// The target could not be read at all (a corrupt image layer, say).
pub fn run(
    opened: &Opened,
    catalogers: &[Box<dyn Cataloger>],
    target: &str,
    kind: &str,
) -> Result<Sbom, SbomError> {
    let found: Mutex<Vec<(Found, Location)>> = Mutex::new(Vec::new());
    let want = |p: &VPath, size: u64| catalogers.iter().any(|c| c.wants(p, size));
    let visit = |f: &rampart_source::FileRef<'_>, r: &mut dyn Read| -> Result<(), String> {
        let interested: Vec<&dyn Cataloger> = catalogers
            .iter()
            .map(AsRef::as_ref)
            .filter(|c| c.wants(f.path, f.size))
            .collect();
        let max = interested.iter().map(|c| c.max_size()).max().unwrap_or(0);
        if f.size > max {
            let names: Vec<&str> = interested.iter().map(|c| c.name()).collect();
            return Err(format!(
                "larger than the {max}-byte limit of the {} cataloger",
                names.join("/")
            ));
        }
        let mut data = Vec::with_capacity(usize::try_from(f.size).unwrap_or(0));
        r.take(max)
            .read_to_end(&mut data)
            .map_err(|e| format!("unreadable: {e}"))?;
        let ev = Evidence {
            path: f.path,
            layer: f.layer,
            size: f.size,
        };
        let location = Location {
            path: f.path.display(),
            layer: f.layer.map(ToString::to_string),
        };
        let mut errors = Vec::new();
        let mut results = Vec::new();
        for c in interested {
            match c.parse(&ev, &data) {
                Ok(items) => results.extend(items.into_iter().map(|i| (i, location.clone()))),
                Err(e) => errors.push(format!("{}: {e}", c.name())),
            }
        }
        found
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend(results);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors.join("; "))
        }
    };
    let skips = for_each_file(opened, false, &want, &visit)?;
    let found = found
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (image_id, image_reference) = match opened {
        Opened::Image(img) => (Some(img.config_digest.to_string()), img.reference.clone()),
        _ => (None, None),
    };
    let (distro, packages) = assemble(found);
    Ok(Sbom {
        target: target.to_string(),
        kind: kind.to_string(),
        distro,
        image_id,
        image_reference,
        packages,
        skips,
    })
}

/// Turns raw findings into the final list: file ownership attached,
/// duplicates merged, purls computed, sorted.
fn assemble(mut found: Vec<(Found, Location)>) -> (Option<Distro>, Vec<Package>) {
    // Files arrive in the order the parallel walk met them: sort by
    // evidence location first, so merging (which record's supplier or
    // license order wins) and ties between release files do not depend on
    // thread timing. The sort is stable: one file's findings keep their order.
    found.sort_by(|a, b| a.1.cmp(&b.1));
    let mut distro: Option<(u8, Distro)> = None;
    let mut has_manager = false;
    let mut owns: HashMap<(Ecosystem, String), Vec<String>> = HashMap::new();
    let mut licenses: HashMap<(Ecosystem, String), Vec<String>> = HashMap::new();
    let mut has_db = false;
    let mut merged: BTreeMap<_, Package> = BTreeMap::new();
    for (item, location) in found {
        match item {
            Found::Package(p) => {
                let mut p = *p;
                if p.locations.is_empty() {
                    p.locations.insert(location);
                }
                match merged.entry(p.key()) {
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(p);
                    }
                    std::collections::btree_map::Entry::Occupied(mut o) => o.get_mut().merge(p),
                }
            }
            Found::Owns {
                ecosystem,
                name,
                files,
            } => owns.entry((ecosystem, name)).or_default().extend(files),
            Found::Distro { distro: d, rank } => {
                if distro.as_ref().is_none_or(|(r, _)| rank < *r) {
                    distro = Some((rank, d));
                }
            }
            Found::PackageManager => has_manager = true,
            Found::PackageDb => has_db = true,
            Found::Licenses {
                ecosystem,
                name,
                licenses: l,
            } => licenses.entry((ecosystem, name)).or_default().extend(l),
        }
    }
    let mut distro = distro.map(|(_, d)| d);
    if let Some(d) = distro.as_mut() {
        // Distroless: an OS without a package manager program (its
        // packages may still be recorded, as Google's distroless does).
        d.distroless = !has_manager;
        if !has_db {
            tracing::debug!("no package database found for {}", d.id);
        }
    }
    let mut packages: Vec<Package> = merged.into_values().collect();
    for p in &mut packages {
        let key = (p.ecosystem, p.name.clone());
        if let Some(files) = owns.get(&key) {
            p.files.extend(files.iter().cloned());
        }
        if let Some(ls) = licenses.get(&key) {
            for l in ls {
                if !p.licenses.contains(l) {
                    p.licenses.push(l.clone());
                }
            }
        }
        p.purl = crate::purl::for_package(p, distro.as_ref());
    }
    // Catalogers that find packages inside others (jars in a war) name the
    // outer one as `maven:group/artifact@version`: replace that with its purl.
    let by_coordinates: HashMap<String, String> = packages
        .iter()
        .filter(|p| p.ecosystem == Ecosystem::Maven)
        .flat_map(|p| {
            let short = format!("maven:{}@{}", p.name, p.version);
            let full = p
                .namespace
                .as_ref()
                .map(|ns| format!("maven:{ns}/{}@{}", p.name, p.version));
            std::iter::once((short, p.purl.clone())).chain(full.map(|f| (f, p.purl.clone())))
        })
        .collect();
    for p in &mut packages {
        if let Some(parent) = p.parent.as_ref().and_then(|k| by_coordinates.get(k)) {
            p.parent = Some(parent.clone());
        }
    }
    packages.sort_by(|a, b| {
        (a.ecosystem, &a.name, &a.version, &a.purl).cmp(&(
            b.ecosystem,
            &b.name,
            &b.version,
            &b.purl,
        ))
    });
    (distro, packages)
}
