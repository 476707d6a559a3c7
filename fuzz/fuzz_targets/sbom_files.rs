//! Fuzz target: every cataloger that wants a file, fed arbitrary content.
//! The first byte picks the path the content pretends to be at.
#![no_main]

use rampart_source::VPath;

const PATHS: &[&str] = &[
    "etc/os-release",
    "usr/lib/os-release",
    "etc/debian_version",
    "etc/redhat-release",
    "var/lib/dpkg/status",
    "var/lib/dpkg/status.d/base",
    "var/lib/dpkg/info/libc6:amd64.list",
    "usr/share/doc/bash/copyright",
    "lib/apk/db/installed",
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA",
    "usr/lib/python3/dist-packages/requests-2.31.0.dist-info/RECORD",
    "app/requests.egg-info/PKG-INFO",
    "app/requirements.txt",
    "app/poetry.lock",
    "app/Pipfile.lock",
    "app/uv.lock",
    "app/pdm.lock",
    "app/node_modules/left-pad/package.json",
    "app/node_modules/@babel/core/package.json",
    "app/package-lock.json",
    "app/yarn.lock",
    "app/pnpm-lock.yaml",
    "app/bun.lock",
    "app/Cargo.lock",
    "app/go.mod",
    "usr/local/bin/tool",
    "app/lib/app.jar",
    "app/pom.xml",
    "app/gradle.lockfile",
    "app/gradle/libs.versions.toml",
    "app/Gemfile.lock",
    "usr/lib/ruby/gems/3.1.0/specifications/rake-13.0.6.gemspec",
    "app/composer.lock",
    "app/vendor/composer/installed.json",
    "app/app.deps.json",
    "app/packages.lock.json",
    "app/app.csproj",
    "app/pubspec.lock",
    "app/mix.lock",
    "app/Package.resolved",
    "app/conan.lock",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Some((&pick, content)) = data.split_first() else { return };
    let raw = PATHS[usize::from(pick) % PATHS.len()];
    let Ok(path) = VPath::from_relative(raw.as_bytes(), 4096, 256) else { return };
    let ev = rampart_sbom::Evidence { path: &path, layer: None, size: content.len() as u64 };
    for c in rampart_sbom::catalog::all() {
        if c.wants(&path, content.len() as u64) {
            let _ = c.parse(&ev, content);
        }
    }
});
