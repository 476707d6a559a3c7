//! Live runtime use on this machine: a real Python process loads libssl
//! (`import ssl`); the files mapped into it (`/proc/PID/maps`) and dpkg's
//! file lists decide that the libssl package is in use and that a library
//! package nothing loads is not. Skips, saying why, where there is no
//! Python, no procfs or no dpkg database.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use rampart_graph::runtime::mapped_files;
use rampart_graph::{
    Analysis, Finding, FindingKind, GraphInput, Node, NodeKind, PackageFiles, PackageRef,
    RuntimeEvidence, RuntimeUse, VulnerabilityFacts,
};
use rampart_model::Severity;

#[allow(clippy::print_stderr)]
fn skip(why: &str) {
    eprintln!("skipping live runtime test: {why}");
}

/// Every path a dpkg `.list` names, also with its directory canonical
/// (merged /usr: the list says /lib/..., the kernel shows /usr/lib/...).
/// The last component is kept: a `-dev` package's `libssl.so` symlink is
/// not the runtime package's `libssl.so.3`.
fn owned(list: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(list).unwrap_or_default();
    let mut out = Vec::new();
    for line in text.lines().filter(|l| l.starts_with('/')) {
        out.push(line.to_string());
        let path = Path::new(line);
        if let (Some(dir), Some(name)) = (path.parent(), path.file_name())
            && let Ok(dir) = std::fs::canonicalize(dir)
            && let Some(c) = dir.join(name).to_str()
            && c != line
        {
            out.push(c.to_string());
        }
    }
    out
}

fn package_of(list: &Path) -> String {
    let stem = list
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    stem.split(':').next().unwrap_or(stem).to_string()
}

fn vuln(id: &str, package: &str) -> Finding {
    Finding {
        id: id.into(),
        node: "this-host".into(),
        kind: FindingKind::Vulnerability,
        severity: Severity::High,
        rule_id: format!("TEST-{id}"),
        vulnerability: Some(VulnerabilityFacts {
            cvss_score: Some(7.5),
            cvss_vector: Some("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N".into()),
            package: Some(PackageRef {
                name: package.into(),
                version: "installed".into(),
                purl: Some(format!("pkg:deb/debian/{package}")),
            }),
            ..VulnerabilityFacts::default()
        }),
        targets: Vec::new(),
    }
}

#[test]
fn python_loading_libssl_marks_the_package_in_use() {
    let info = Path::new("/var/lib/dpkg/info");
    if !Path::new("/proc/self/maps").exists() || !info.is_dir() {
        skip("no /proc or no dpkg database");
        return;
    }
    let python = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .unwrap_or("python3");
    let child = Command::new(python)
        .args([
            "-c",
            "import ssl, sys; print('ready', flush=True); sys.stdin.read()",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        skip("no python3");
        return;
    };
    let mut line = String::new();
    let ready = child
        .stdout
        .take()
        .map(|out| BufReader::new(out).read_line(&mut line).is_ok() && line.trim() == "ready")
        .unwrap_or(false);
    let maps = std::fs::read_to_string(format!("/proc/{}/maps", child.id()));
    // Closing stdin ends the process.
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(b"");
    }
    let _ = child.kill();
    let _ = child.wait();
    if !ready {
        skip("python3 could not import ssl");
        return;
    }
    let maps = maps.expect("maps of a live child");
    let files = mapped_files(&maps);
    let Some(libssl) = files.iter().find(|f| f.contains("/libssl.so")).cloned() else {
        skip("this python does not load the system libssl");
        return;
    };
    let in_use: HashSet<&str> = files.iter().map(String::as_str).collect();
    let mut lists: Vec<PathBuf> = std::fs::read_dir(info)
        .expect("dpkg info")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "list"))
        .collect();
    lists.sort();
    let Some(ssl_list) = lists.iter().find(|l| owned(l).contains(&libssl)) else {
        skip("no dpkg package owns the mapped libssl");
        return;
    };
    // A library package with a shared object that this process has not mapped.
    let unused = lists.iter().find(|l| {
        let name = package_of(l);
        let files = owned(l);
        name.starts_with("lib")
            && files
                .iter()
                .any(|f| f.contains(".so.") && Path::new(f).is_file())
            && !files.iter().any(|f| in_use.contains(f.as_str()))
    });
    let Some(unused_list) = unused else {
        skip("no unused library package found");
        return;
    };
    let (ssl_pkg, other_pkg) = (package_of(ssl_list), package_of(unused_list));
    let input = GraphInput {
        nodes: vec![Node {
            id: "this-host".into(),
            kind: NodeKind::Host,
            name: "this-host".into(),
            addresses: vec!["127.0.0.1".into()],
            hostnames: Vec::new(),
            cluster: None,
            namespace: None,
            account: None,
            region: None,
            host_network: false,
            observed: true,
        }],
        findings: vec![vuln("ssl", &ssl_pkg), vuln("other", &other_pkg)],
        runtime: vec![RuntimeEvidence {
            node: "this-host".into(),
            files,
        }],
        ownership: [
            (ssl_pkg.clone(), ssl_list),
            (other_pkg.clone(), unused_list),
        ]
        .into_iter()
        .map(|(name, list)| PackageFiles {
            node: "this-host".into(),
            name,
            version: "installed".into(),
            files: owned(list),
        })
        .collect(),
        ..GraphInput::default()
    };
    let a = Analysis::run(input).unwrap();
    let ssl = a.explain("ssl").unwrap();
    let other = a.explain("other").unwrap();
    // The file shown is one the package owns that the process maps (libssl
    // or, from the same package, libcrypto).
    let RuntimeUse::InUse { file } = &ssl.runtime else {
        panic!("{ssl_pkg}: {:?}", ssl.runtime);
    };
    assert!(
        owned(ssl_list).contains(file) && maps.contains(file.as_str()),
        "{file}"
    );
    assert!(owned(ssl_list).contains(&libssl));
    assert_eq!(other.runtime, RuntimeUse::NotInUse, "{other_pkg}");
    assert!((ssl.score - other.score - 25.0).abs() < 1e-9);
    assert_eq!(a.top(2)[0].id, "ssl");
}
