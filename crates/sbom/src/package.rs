//! What catalogers find: packages, with their evidence.

use std::collections::BTreeSet;

use serde::Serialize;

/// The package ecosystems Rampart catalogs. The names are the purl types
/// where one exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Ecosystem {
    Deb,
    Apk,
    Rpm,
    Pypi,
    Npm,
    Cargo,
    Golang,
    Maven,
    Gem,
    Composer,
    Nuget,
    Pub,
    Hex,
    Swift,
    Conan,
}

impl Ecosystem {
    /// The purl type.
    #[must_use]
    pub fn purl_type(self) -> &'static str {
        match self {
            Ecosystem::Deb => "deb",
            Ecosystem::Apk => "apk",
            Ecosystem::Rpm => "rpm",
            Ecosystem::Pypi => "pypi",
            Ecosystem::Npm => "npm",
            Ecosystem::Cargo => "cargo",
            Ecosystem::Golang => "golang",
            Ecosystem::Maven => "maven",
            Ecosystem::Gem => "gem",
            Ecosystem::Composer => "composer",
            Ecosystem::Nuget => "nuget",
            Ecosystem::Pub => "pub",
            Ecosystem::Hex => "hex",
            Ecosystem::Swift => "swift",
            Ecosystem::Conan => "conan",
        }
    }

    /// True for operating-system package managers.
    #[must_use]
    pub fn is_os(self) -> bool {
        matches!(self, Ecosystem::Deb | Ecosystem::Apk | Ecosystem::Rpm)
    }
}

/// Where a package's evidence was found.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Location {
    /// Path from the target's root (`/var/lib/dpkg/status`).
    pub path: String,
    /// For images: the `diff_id` of the layer holding the evidence.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer: Option<String>,
}

/// One package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub ecosystem: Ecosystem,
    /// The package URL, filled in once the whole target has been read (the
    /// distro qualifier of OS packages needs /etc/os-release).
    pub purl: String,
    /// Declared licenses, as SPDX expressions where they could be mapped,
    /// else as written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<String>,
    pub locations: BTreeSet<Location>,
    /// The cataloger that found it.
    pub cataloger: String,
    /// Namespace for purl types that have one (Maven group id, npm scope,
    /// Go module path prefix, Debian vendor...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Architecture, for OS packages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// Source package name (Debian source, RPM source RPM, Alpine origin):
    /// OS advisories are keyed by it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_version: Option<String>,
    /// RPM epoch, when not zero.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epoch: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supplier: Option<String>,
    /// Files the package installed (from the package manager's database),
    /// for correlating running processes with packages.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub files: BTreeSet<String>,
    /// The package this one was found inside (a jar inside a war), by purl.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The checksum the ecosystem records for this version, as it writes
    /// it (Go module sums `h1:...` from build info).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl Package {
    /// A package with the required fields; the rest empty.
    #[must_use]
    pub fn new(
        ecosystem: Ecosystem,
        name: impl Into<String>,
        version: impl Into<String>,
        cataloger: &str,
    ) -> Self {
        Package {
            name: name.into(),
            version: version.into(),
            ecosystem,
            purl: String::new(),
            licenses: Vec::new(),
            locations: BTreeSet::new(),
            cataloger: cataloger.to_string(),
            namespace: None,
            arch: None,
            source_name: None,
            source_version: None,
            epoch: None,
            supplier: None,
            files: BTreeSet::new(),
            parent: None,
            checksum: None,
        }
    }

    /// The identity used to merge evidence of the same package.
    pub(crate) fn key(&self) -> (Ecosystem, Option<String>, String, String, Option<String>) {
        (
            self.ecosystem,
            self.namespace.clone(),
            self.name.clone(),
            self.version.clone(),
            self.arch.clone(),
        )
    }

    /// Folds another record of the same package into this one.
    pub(crate) fn merge(&mut self, other: Package) {
        // Several catalogers may find the same package (a lock file and the
        // installed copy): name them all, in a stable order, whatever order
        // the parallel walk met the evidence in.
        if other.cataloger != self.cataloger {
            let mut names: Vec<&str> = self
                .cataloger
                .split(',')
                .chain(other.cataloger.split(','))
                .collect();
            names.sort_unstable();
            names.dedup();
            self.cataloger = names.join(",");
        }
        self.locations.extend(other.locations);
        self.files.extend(other.files);
        for l in other.licenses {
            if !self.licenses.contains(&l) {
                self.licenses.push(l);
            }
        }
        self.source_name = self.source_name.take().or(other.source_name);
        self.source_version = self.source_version.take().or(other.source_version);
        self.supplier = self.supplier.take().or(other.supplier);
        self.epoch = self.epoch.or(other.epoch);
        self.parent = self.parent.take().or(other.parent);
        self.checksum = self.checksum.take().or(other.checksum);
    }
}

/// The operating system a target runs, from /etc/os-release and friends.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Distro {
    /// `ID` (debian, ubuntu, alpine, rhel, ...).
    pub id: String,
    /// `VERSION_ID` (12, 22.04, 3.20.1, ...).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub version_id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub pretty_name: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub id_like: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_codename: Option<String>,
    /// True when the OS has no package manager program (distroless); its
    /// packages may still be recorded, as Google's distroless images do.
    pub distroless: bool,
}

/// Everything cataloged from one target.
#[derive(Debug, Clone, Serialize)]
pub struct Sbom {
    /// The target as the user named it.
    pub target: String,
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub distro: Option<Distro>,
    /// For images: the image id (config digest) and reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_reference: Option<String>,
    pub packages: Vec<Package>,
    /// Evidence files that could not be read or parsed, with reasons.
    pub skips: Vec<rampart_source::Skip>,
}
