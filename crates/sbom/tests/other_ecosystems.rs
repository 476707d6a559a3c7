//! Ruby, PHP, .NET, Dart, Elixir, Swift and Conan catalogers, end to end: a
//! directory tree of fixture files is cataloged and the exact package list
//! (names, versions, purls, licenses, locations) checked. Where Ruby is
//! installed, real RubyGems and Bundler output is cataloged too.
#![allow(
    clippy::unwrap_used,
    clippy::print_stdout,
    reason = "test set-up fails loudly; SKIPPED notices belong in the test output"
)]

use std::path::Path;
use std::process::Command;

use rampart_sbom::{Package, Sbom};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/other_ecosystems"
);

/// Fixture file, and where it goes in the scanned tree.
const LAYOUT: &[(&str, &str)] = &[
    ("Gemfile.lock", "ruby-app/Gemfile.lock"),
    (
        "rake-13.0.6.gemspec",
        "usr/local/bundle/specifications/rake-13.0.6.gemspec",
    ),
    (
        "json-2.6.1.gemspec",
        "usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec",
    ),
    // A gemspec in a source tree is Ruby to evaluate: not cataloged.
    ("json-2.6.1.gemspec", "src/json/json.gemspec"),
    ("composer.lock", "php-app/composer.lock"),
    (
        "installed-v2.json",
        "php-app/vendor/composer/installed.json",
    ),
    (
        "installed-v1.json",
        "legacy-php/vendor/composer/installed.json",
    ),
    ("WebApi.csproj", "dotnet/src/WebApi/WebApi.csproj"),
    ("packages.lock.json", "dotnet/src/WebApi/packages.lock.json"),
    ("WebApi.deps.json", "dotnet/publish/WebApi.deps.json"),
    ("packages.config", "legacy-dotnet/Service/packages.config"),
    ("pubspec.lock", "dart-app/pubspec.lock"),
    ("mix.lock", "elixir-app/mix.lock"),
    ("Package-v1.resolved", "ios-app/Package.resolved"),
    ("Package-v3.resolved", "swift-server/Package.resolved"),
    ("conan-v1.lock", "conan1/conan.lock"),
    ("conan-v2.lock", "conan2/conan.lock"),
    // Lock files that dependencies ship pin their development sets, which
    // are not installed: none of these may add a location.
    (
        "Gemfile.lock",
        "usr/local/bundle/gems/rack-3.0.9.1/Gemfile.lock",
    ),
    (
        "composer.lock",
        "php-app/vendor/monolog/monolog/composer.lock",
    ),
    ("mix.lock", "elixir-app/deps/phoenix/mix.lock"),
    (
        "Package-v3.resolved",
        "swift-server/.build/checkouts/swift-nio/Package.resolved",
    ),
    (
        "pubspec.lock",
        "home/dev/.pub-cache/hosted/pub.dev/http-1.2.0/pubspec.lock",
    ),
];

fn write(root: &Path, rel: &str, data: &[u8]) {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, data).unwrap();
}

fn catalog(root: &Path) -> Sbom {
    let opened = rampart_source::open(
        &rampart_source::Target::Dir(root.to_path_buf()),
        &rampart_source::OpenOptions::default(),
    )
    .unwrap();
    rampart_sbom::catalog(&opened, "dir:x", "dir").unwrap()
}

/// One line per package: purl, licenses, locations, and the cataloger when
/// a single file reported it (merged packages keep whichever came first).
fn describe(p: &Package) -> String {
    let locations: Vec<&str> = p.locations.iter().map(|l| l.path.as_str()).collect();
    let cataloger = if locations.len() == 1 {
        p.cataloger.as_str()
    } else {
        "*"
    };
    format!(
        "{} [{}] {} {}",
        p.purl,
        p.licenses.join(","),
        locations.join(","),
        cataloger
    )
}

#[test]
fn catalogs_every_format_of_the_family() {
    let dir = tempfile::tempdir().unwrap();
    for (fixture, at) in LAYOUT {
        let data = std::fs::read(Path::new(FIXTURES).join(fixture)).unwrap();
        write(dir.path(), at, &data);
    }
    write(dir.path(), "broken-php/composer.lock", b"{\"packages\": [");
    let sbom = catalog(dir.path());

    let got: Vec<String> = sbom.packages.iter().map(describe).collect();
    let want = [
        "pkg:gem/billing@0.1.0 [] /ruby-app/Gemfile.lock gemfile-lock",
        "pkg:gem/feature_flags@0.9.0 [] /ruby-app/Gemfile.lock gemfile-lock",
        "pkg:gem/json@2.6.1 [Ruby,BSD-2-Clause] \
         /usr/lib/ruby/gems/3.1.0/specifications/default/json-2.6.1.gemspec gemspec",
        "pkg:gem/nokogiri@1.16.2 [] /ruby-app/Gemfile.lock gemfile-lock",
        "pkg:gem/racc@1.7.3 [] /ruby-app/Gemfile.lock gemfile-lock",
        "pkg:gem/rack@3.0.9.1 [] /ruby-app/Gemfile.lock gemfile-lock",
        "pkg:gem/rake@13.0.6 [MIT] \
         /ruby-app/Gemfile.lock,/usr/local/bundle/specifications/rake-13.0.6.gemspec *",
        "pkg:composer/guzzlehttp/guzzle@6.5.5 [MIT] \
         /legacy-php/vendor/composer/installed.json composer-installed",
        "pkg:composer/psr/log@3.0.0 [MIT] \
         /php-app/composer.lock,/php-app/vendor/composer/installed.json *",
        "pkg:composer/monolog/monolog@3.5.0 [MIT] \
         /php-app/composer.lock,/php-app/vendor/composer/installed.json *",
        "pkg:composer/phpunit/phpunit@10.5.10 [BSD-3-Clause] /php-app/composer.lock composer-lock",
        "pkg:composer/symfony/polyfill-mbstring@v1.29.0 [MIT] \
         /php-app/composer.lock composer-lock",
        "pkg:composer/guzzlehttp/psr7@1.8.2 [MIT] \
         /legacy-php/vendor/composer/installed.json composer-installed",
        "pkg:nuget/Microsoft.NETCore.App.Runtime.linux-x64@8.0.2 [] \
         /dotnet/publish/WebApi.deps.json dotnet-deps",
        "pkg:nuget/Newtonsoft.Json@12.0.3 [] \
         /legacy-dotnet/Service/packages.config dotnet-project",
        "pkg:nuget/Newtonsoft.Json@13.0.3 [] /dotnet/publish/WebApi.deps.json,\
         /dotnet/src/WebApi/WebApi.csproj,/dotnet/src/WebApi/packages.lock.json *",
        "pkg:nuget/Serilog@3.1.1 [] /dotnet/publish/WebApi.deps.json,\
         /dotnet/src/WebApi/WebApi.csproj,/dotnet/src/WebApi/packages.lock.json *",
        "pkg:nuget/System.Diagnostics.DiagnosticSource@7.0.2 [] \
         /dotnet/src/WebApi/packages.lock.json nuget-lock",
        "pkg:nuget/log4net@2.0.8 [] /legacy-dotnet/Service/packages.config dotnet-project",
        "pkg:pub/collection@1.18.0 [] /dart-app/pubspec.lock pubspec-lock",
        "pkg:pub/http@1.2.0 [] /dart-app/pubspec.lock pubspec-lock",
        "pkg:hex/jason@1.4.1 [] /elixir-app/mix.lock mix-lock",
        "pkg:hex/phoenix@1.7.10 [] /elixir-app/mix.lock mix-lock",
        "pkg:hex/plug@1.15.3 [] /elixir-app/mix.lock mix-lock",
        "pkg:swift/github.com/Alamofire/Alamofire@5.8.1 [] \
         /ios-app/Package.resolved swift-package-resolved",
        "pkg:swift/github.com/apple/swift-log@1.5.4 [] \
         /swift-server/Package.resolved swift-package-resolved",
        "pkg:swift/github.com/apple/swift-nio@2.64.0 [] \
         /swift-server/Package.resolved swift-package-resolved",
        "pkg:conan/cmake@3.28.1 [] /conan2/conan.lock conan-lock",
        "pkg:conan/fmt@10.2.1 [] /conan2/conan.lock conan-lock",
        "pkg:conan/openssl@1.1.1w [] /conan1/conan.lock conan-lock",
        "pkg:conan/zlib@1.2.13 [] /conan1/conan.lock conan-lock",
        "pkg:conan/zlib@1.3.1 [] /conan2/conan.lock conan-lock",
    ];
    assert_eq!(got, want, "got:\n{}", got.join("\n"));

    // Names and namespaces exactly as each ecosystem spells them.
    let by_purl = |purl: &str| sbom.packages.iter().find(|p| p.purl == purl);
    let monolog = by_purl("pkg:composer/monolog/monolog@3.5.0").unwrap();
    assert_eq!(
        (monolog.namespace.as_deref(), monolog.name.as_str()),
        (Some("monolog"), "monolog")
    );
    let nio = by_purl("pkg:swift/github.com/apple/swift-nio@2.64.0").unwrap();
    assert_eq!(nio.namespace.as_deref(), Some("github.com/apple"));

    let skips: Vec<(String, String)> = sbom
        .skips
        .iter()
        .map(|s| (s.path.clone(), s.reason.clone()))
        .collect();
    assert_eq!(skips.len(), 1, "{skips:?}");
    let (path, reason) = &skips[0];
    assert_eq!(path, "/broken-php/composer.lock");
    assert!(
        reason.starts_with("composer-lock: invalid JSON"),
        "{reason}"
    );
}

/// Runs a program; `None` (with the reason printed) when it is missing or
/// fails.
fn run(dir: &Path, program: &str, args: &[&str]) -> Option<()> {
    let out = Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("BUNDLE_USER_HOME", dir.join(".bundle"))
        .output();
    match out {
        Ok(o) if o.status.success() => Some(()),
        Ok(o) => {
            println!(
                "SKIPPED real Ruby output because `{program} {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&o.stderr)
            );
            None
        }
        Err(e) => {
            println!("SKIPPED real Ruby output because {program} is not runnable: {e}");
            None
        }
    }
}

#[test]
fn reads_what_real_rubygems_and_bundler_write() {
    let work = tempfile::tempdir().unwrap();
    let scanned = tempfile::tempdir().unwrap();
    let spec = "Gem::Specification.new do |s|\n  s.name = \"tool\"\n  s.version = \"1.2.3\"\n  \
                s.summary = \"A fixture gem\"\n  s.authors = [\"Rampart tests\"]\n  \
                s.licenses = [\"MIT\", \"Apache-2.0\"]\n  s.files = []\n  \
                s.add_dependency \"helper\", \"~> 0.4\"\nend\n";
    let helper = "Gem::Specification.new do |s|\n  s.name = \"helper\"\n  \
                  s.version = \"0.4.0\"\n  s.summary = \"h\"\n  s.authors = [\"a\"]\n  \
                  s.files = []\nend\n";
    write(work.path(), "tool/tool.gemspec", spec.as_bytes());
    write(work.path(), "helper/helper.gemspec", helper.as_bytes());
    let install_dir = scanned.path().join("gems");
    let install_dir = install_dir.to_string_lossy();
    let tool = work.path().join("tool");
    if run(&tool, "gem", &["build", "tool.gemspec"]).is_none()
        || run(
            &tool,
            "gem",
            &[
                "install",
                "--local",
                "--ignore-dependencies",
                "--no-document",
                "--install-dir",
                &install_dir,
                "tool-1.2.3.gem",
            ],
        )
        .is_none()
    {
        return;
    }
    let app = scanned.path().join("app");
    std::fs::create_dir_all(&app).unwrap();
    let gemfile = format!(
        "gem \"tool\", path: \"{}\"\ngem \"helper\", path: \"{}\"\n",
        work.path().join("tool").display(),
        work.path().join("helper").display()
    );
    std::fs::write(app.join("Gemfile"), gemfile).unwrap();
    let bundled = run(&app, "bundle", &["lock", "--local"]).is_some();

    let sbom = catalog(scanned.path());
    let got: Vec<String> = sbom.packages.iter().map(describe).collect();
    let mut want = vec![
        "pkg:gem/tool@1.2.3 [MIT,Apache-2.0] /gems/specifications/tool-1.2.3.gemspec gemspec"
            .to_string(),
    ];
    if bundled {
        want = vec![
            "pkg:gem/helper@0.4.0 [] /app/Gemfile.lock gemfile-lock".to_string(),
            "pkg:gem/tool@1.2.3 [MIT,Apache-2.0] \
             /app/Gemfile.lock,/gems/specifications/tool-1.2.3.gemspec *"
                .to_string(),
        ];
    }
    assert_eq!(got, want, "got:\n{}", got.join("\n"));
    assert!(sbom.skips.is_empty(), "{:?}", sbom.skips);
}

/// Every truncation of every fixture, and copies with bytes overwritten,
/// parse to packages or an error: never a panic, never a hang.
#[test]
fn truncated_and_corrupted_fixtures_never_panic() {
    let catalogers = rampart_sbom::catalog::all();
    for (fixture, at) in LAYOUT {
        let data = std::fs::read(Path::new(FIXTURES).join(fixture)).unwrap();
        let path = rampart_source::VPath::from_relative(at.as_bytes(), 4096, 256).unwrap();
        let ev = rampart_sbom::Evidence {
            path: &path,
            layer: None,
            size: data.len() as u64,
        };
        let wanting: Vec<_> = catalogers.iter().filter(|c| c.wants(&path, 1)).collect();
        for c in &wanting {
            for end in 0..data.len() {
                let _ = c.parse(&ev, &data[..end]);
            }
            for (i, junk) in [b'"', b'{', b'[', b'\n', b':', b'\\', b'<', 0xff]
                .iter()
                .cycle()
                .take(64)
                .enumerate()
            {
                let mut bad = data.clone();
                let at = (i * 7919) % bad.len().max(1);
                if let Some(b) = bad.get_mut(at) {
                    *b = *junk;
                }
                let _ = c.parse(&ev, &bad);
            }
        }
    }
}
