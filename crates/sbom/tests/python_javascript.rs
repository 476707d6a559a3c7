//! The Python and JavaScript catalogers end to end: a tree of fixtures
//! cataloged through the real directory source, and accuracy checks
//! against the package managers themselves (a pip venv against
//! `pip list`, an npm project against `npm ls --all`), which print
//! SKIPPED with the reason when the tool or the registry is unavailable.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "test code: failures should panic, skips are reported on stderr"
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use rampart_sbom::{Ecosystem, Sbom};

const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/python_javascript"
);

/// Fixture file -> where it goes in the scanned tree.
const TREE: &[(&str, &str)] = &[
    (
        "pyyaml.METADATA",
        "venv/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/METADATA",
    ),
    (
        "pyyaml.RECORD",
        "venv/lib/python3.11/site-packages/PyYAML-6.0.1.dist-info/RECORD",
    ),
    (
        "zope.PKG-INFO",
        "venv/lib/python3.11/site-packages/zope.interface-6.0-py3.11.egg-info/PKG-INFO",
    ),
    (
        "zope.installed-files.txt",
        "venv/lib/python3.11/site-packages/zope.interface-6.0-py3.11.egg-info/installed-files.txt",
    ),
    (
        "chardet.egg-info.in",
        "usr/lib/python3/dist-packages/chardet-5.1.0.egg-info",
    ),
    ("requirements.txt.in", "pyapp/requirements.txt"),
    ("poetry.lock.in", "pyapp/poetry.lock"),
    ("Pipfile.lock.in", "pyapp/Pipfile.lock"),
    ("uv.lock.in", "pyapp/uv.lock"),
    ("pdm.lock.in", "pyapp/pdm.lock"),
    ("broken.poetry.lock", "broken/poetry.lock"),
    ("jsapp.package.json", "jsapp/package.json"),
    ("jsapp.package-lock.json", "jsapp/package-lock.json"),
    ("ms.package.json", "jsapp/node_modules/ms/package.json"),
    (
        "babel-core.package.json",
        "jsapp/node_modules/@babel/core/package.json",
    ),
    (
        "nested-fixture.package.json",
        "jsapp/node_modules/ms/test/fixture/package.json",
    ),
    ("legacy.package-lock.json", "legacy/npm-shrinkwrap.json"),
    ("yarn-v1.lock", "yarn1/yarn.lock"),
    ("yarn-berry.lock", "berry/yarn.lock"),
    ("pnpm-v5.yaml", "pnpm5/pnpm-lock.yaml"),
    ("pnpm-v6.yaml", "pnpm6/pnpm-lock.yaml"),
    ("pnpm-v9.yaml", "pnpm9/pnpm-lock.yaml"),
    ("bun.lock.in", "bunapp/bun.lock"),
];

fn build_tree(root: &Path) {
    for (fixture, dest) in TREE {
        let dest = root.join(dest);
        std::fs::create_dir_all(dest.parent().unwrap()).unwrap();
        std::fs::copy(Path::new(FIXTURES).join(fixture), &dest)
            .unwrap_or_else(|e| panic!("copying {fixture}: {e}"));
    }
}

fn catalog(dir: &Path) -> Sbom {
    let opened = rampart_source::open(
        &rampart_source::Target::Dir(dir.to_path_buf()),
        &rampart_source::OpenOptions::default(),
    )
    .unwrap();
    rampart_sbom::catalog(&opened, "dir:x", "dir").unwrap()
}

/// `purl name version [locations] {licenses}` per package.
fn describe(sbom: &Sbom) -> Vec<String> {
    sbom.packages
        .iter()
        .map(|p| {
            let locations: Vec<&str> = p.locations.iter().map(|l| l.path.as_str()).collect();
            format!(
                "{} {} {} [{}] {{{}}}",
                p.purl,
                p.name,
                p.version,
                locations.join(" "),
                p.licenses.join(", ")
            )
        })
        .collect()
}

#[test]
fn fixture_tree_gives_the_exact_package_list() {
    let tmp = tempfile::tempdir().unwrap();
    build_tree(tmp.path());
    let sbom = catalog(tmp.path());
    let sp = "/venv/lib/python3.11/site-packages";
    let want = [
        "pkg:pypi/certifi@2024.2.2 certifi 2024.2.2 [/pyapp/poetry.lock] {}".to_string(),
        "pkg:pypi/chardet@5.1.0 chardet 5.1.0 [/usr/lib/python3/dist-packages/chardet-5.1.0.egg-info] {LGPL}".to_string(),
        "pkg:pypi/idna@3.6 idna 3.6 [/pyapp/Pipfile.lock /pyapp/uv.lock] {}".to_string(),
        "pkg:pypi/packaging@24.0 packaging 24.0 [/pyapp/pdm.lock] {}".to_string(),
        "pkg:pypi/pytest@8.0.0 pytest 8.0.0 [/pyapp/Pipfile.lock] {}".to_string(),
        format!(
            "pkg:pypi/pyyaml@6.0.1 pyyaml 6.0.1 [/pyapp/requirements.txt {sp}/PyYAML-6.0.1.dist-info/METADATA] {{MIT}}"
        ),
        "pkg:pypi/requests@2.31.0 requests 2.31.0 [/pyapp/poetry.lock /pyapp/requirements.txt] {}".to_string(),
        format!(
            "pkg:pypi/zope-interface@6.0 zope-interface 6.0 [{sp}/zope.interface-6.0-py3.11.egg-info/PKG-INFO] {{ZPL 2.1}}"
        ),
        "pkg:npm/%40babel/core@7.24.0 core 7.24.0 [/jsapp/node_modules/@babel/core/package.json /jsapp/package-lock.json] {MIT}".to_string(),
        "pkg:npm/csstype@3.1.3 csstype 3.1.3 [/pnpm6/pnpm-lock.yaml] {}".to_string(),
        "pkg:npm/debug@2.6.9 debug 2.6.9 [/legacy/npm-shrinkwrap.json] {}".to_string(),
        "pkg:npm/debug@4.3.4 debug 4.3.4 [/jsapp/package-lock.json] {MIT}".to_string(),
        "pkg:npm/is-number@7.0.0 is-number 7.0.0 [/berry/yarn.lock /bunapp/bun.lock /yarn1/yarn.lock] {}".to_string(),
        "pkg:npm/left-pad@1.3.0 left-pad 1.3.0 [/legacy/npm-shrinkwrap.json /pnpm5/pnpm-lock.yaml] {}".to_string(),
        "pkg:npm/ms@2.0.0 ms 2.0.0 [/legacy/npm-shrinkwrap.json] {}".to_string(),
        "pkg:npm/ms@2.1.2 ms 2.1.2 [/jsapp/package-lock.json] {MIT}".to_string(),
        "pkg:npm/ms@2.1.3 ms 2.1.3 [/jsapp/node_modules/ms/package.json /jsapp/package-lock.json /pnpm9/pnpm-lock.yaml] {MIT}".to_string(),
        "pkg:npm/%40types/node@20.11.5 node 20.11.5 [/yarn1/yarn.lock] {}".to_string(),
        "pkg:npm/%40types/react@18.2.0 react 18.2.0 [/pnpm6/pnpm-lock.yaml] {}".to_string(),
        "pkg:npm/undici-types@5.26.5 undici-types 5.26.5 [/yarn1/yarn.lock] {}".to_string(),
    ];
    assert_eq!(describe(&sbom), want);

    // RECORD's files are attached to the package METADATA named, though
    // the two spell the name differently.
    let pyyaml = sbom.packages.iter().find(|p| p.name == "pyyaml").unwrap();
    let files: Vec<&str> = pyyaml.files.iter().map(String::as_str).collect();
    assert_eq!(
        files,
        [
            format!("{sp}/PyYAML-6.0.1.dist-info/INSTALLER"),
            format!("{sp}/PyYAML-6.0.1.dist-info/METADATA"),
            format!("{sp}/PyYAML-6.0.1.dist-info/RECORD"),
            format!("{sp}/_yaml/__init__.py"),
            format!("{sp}/yaml/__init__.py"),
            format!("{sp}/yaml/odd,name.py"),
        ]
    );
    let zope = sbom
        .packages
        .iter()
        .find(|p| p.name == "zope-interface")
        .unwrap();
    assert!(
        zope.files
            .contains(&format!("{sp}/zope/interface/__init__.py"))
    );

    // The broken lock file is a recorded skip, not a failure of the scan.
    let skips: Vec<(&str, &str)> = sbom
        .skips
        .iter()
        .map(|s| (s.path.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(skips.len(), 1, "{skips:?}");
    assert_eq!(skips[0].0, "/broken/poetry.lock");
    assert!(
        skips[0].1.starts_with("python-lock: invalid TOML"),
        "{skips:?}"
    );
}

/// Prints why an accuracy check could not run.
fn skipped(test: &str, why: &str) {
    eprintln!("SKIPPED {test} because {why}");
}

/// Runs a command, returning its stdout or a reason.
fn run(cmd: &mut Command) -> Result<Vec<u8>, String> {
    let out = cmd
        .output()
        .map_err(|e| format!("{:?} could not start: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(out.stdout)
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        Err(format!(
            "{:?} failed ({}): {}",
            cmd.get_program(),
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ))
    }
}

/// `(namespace/name, version)` of every package of an ecosystem.
fn found(sbom: &Sbom, eco: Ecosystem) -> BTreeSet<(String, String)> {
    sbom.packages
        .iter()
        .filter(|p| p.ecosystem == eco)
        .map(|p| {
            let name = match &p.namespace {
                Some(ns) => format!("{ns}/{}", p.name),
                None => p.name.clone(),
            };
            (name, p.version.clone())
        })
        .collect()
}

fn make_venv(venv: &Path) -> Result<PathBuf, String> {
    run(Command::new("python3").args(["-m", "venv"]).arg(venv))?;
    let python = venv.join("bin/python");
    run(Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--timeout",
            "30",
            "--retries",
            "1",
            "six==1.16.0",
            "idna==3.7",
            "packaging==24.0",
        ])
        .env("PIP_NO_CACHE_DIR", "1"))?;
    Ok(python)
}

#[test]
fn accuracy_python_venv_equals_pip_list() {
    const TEST: &str = "accuracy_python_venv_equals_pip_list";
    let tmp = tempfile::tempdir().unwrap();
    let venv = tmp.path().join("venv");
    let python = match make_venv(&venv) {
        Ok(p) => p,
        Err(why) => return skipped(TEST, &why),
    };
    let listed = match run(Command::new(&python).args([
        "-m",
        "pip",
        "list",
        "--format",
        "json",
        "--disable-pip-version-check",
    ])) {
        Ok(out) => out,
        Err(why) => return skipped(TEST, &why),
    };
    let listed: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    let want: BTreeSet<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                rampart_sbom::purl::pypi_name(e["name"].as_str().unwrap()),
                e["version"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(want.contains(&("six".to_string(), "1.16.0".to_string())));
    let sbom = catalog(&venv);
    assert_eq!(found(&sbom, Ecosystem::Pypi), want);
    // Every installed package carries the files RECORD lists.
    for p in &sbom.packages {
        assert!(!p.files.is_empty(), "{} has no files", p.name);
    }
}

/// `(name, version)` of every dependency in `npm ls --all --json` output.
fn npm_ls_packages(tree: &serde_json::Value, out: &mut BTreeSet<(String, String)>, depth: usize) {
    let Some(deps) = tree.get("dependencies").and_then(|d| d.as_object()) else {
        return;
    };
    for (name, dep) in deps {
        if let Some(v) = dep.get("version").and_then(|v| v.as_str()) {
            out.insert((name.clone(), v.to_string()));
        }
        if depth < 64 {
            npm_ls_packages(dep, out, depth + 1);
        }
    }
}

fn npm_install(project: &Path) -> Result<(), String> {
    std::fs::write(
        project.join("package.json"),
        r#"{"name": "accuracy", "version": "1.0.0", "private": true}"#,
    )
    .map_err(|e| e.to_string())?;
    run(Command::new("npm")
        .current_dir(project)
        .args([
            "install",
            "--no-audit",
            "--no-fund",
            "--ignore-scripts",
            "--fetch-retries=1",
            "--fetch-timeout=30000",
            "is-number@7.0.0",
            "left-pad@1.3.0",
            "debug@2.6.9",
            "ms@2.1.3",
        ])
        .env("npm_config_update_notifier", "false"))?;
    Ok(())
}

#[test]
fn accuracy_node_project_equals_npm_ls() {
    const TEST: &str = "accuracy_node_project_equals_npm_ls";
    let tmp = tempfile::tempdir().unwrap();
    let project = tmp.path().join("project");
    std::fs::create_dir_all(&project).unwrap();
    if let Err(why) = npm_install(&project) {
        return skipped(TEST, &why);
    }
    let listed = match run(Command::new("npm")
        .current_dir(&project)
        .args(["ls", "--all", "--json"])
        .env("npm_config_update_notifier", "false"))
    {
        Ok(out) => out,
        Err(why) => return skipped(TEST, &why),
    };
    let tree: serde_json::Value = serde_json::from_slice(&listed).unwrap();
    let mut want = BTreeSet::new();
    npm_ls_packages(&tree, &mut want, 0);
    // debug@2.6.9 needs ms@2.0.0, nested under it beside the top-level ms.
    assert!(want.contains(&("ms".to_string(), "2.0.0".to_string())));
    assert!(want.contains(&("ms".to_string(), "2.1.3".to_string())));
    let sbom = catalog(&project);
    assert_eq!(found(&sbom, Ecosystem::Npm), want);
    // Each is seen both installed and in the lock file.
    for p in &sbom.packages {
        assert_eq!(p.locations.len(), 2, "{}: {:?}", p.name, p.locations);
    }
}
