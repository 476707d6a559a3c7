//! Collectors over real inputs: manifest directories, Dockerfiles, a
//! docker-archive image, and user policy directories.

use std::path::Path;

use rampart_posture::{PolicySet, PostureError, Report, Status, assess, k8s_facts_from_text};
use rampart_source::{Limits, OpenOptions, Target, open};
use serde_json::json;
use sha2::{Digest, Sha256};

fn scan(spec: &str, policies: &PolicySet, benchmarks: &[&str]) -> Vec<Report> {
    let target = Target::parse(spec, &Limits::default()).unwrap_or_else(|e| panic!("{e}"));
    let opened = open(&target, &OpenOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let b: Vec<String> = benchmarks.iter().map(|s| (*s).to_string()).collect();
    assess(policies, &target, spec, &opened, &b).unwrap_or_else(|e| panic!("{e}"))
}

fn status(r: &Report, id: &str) -> Status {
    r.results
        .iter()
        .find(|x| x.id == id)
        .map_or_else(|| panic!("{id}"), |x| x.status)
}

fn builtin() -> PolicySet {
    PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn manifests_multi_document_lists_json_and_templates() {
    let text = "# leading comment\n---\napiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Pod\n    metadata: {name: a, namespace: x}\n    spec:\n      containers: [{name: c, image: nginx, securityContext: {privileged: true}}]\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      initContainers: [{name: i, image: busybox}]\n      containers: [{name: c, image: nginx}]\n---\nkind: NotKubernetes\n---\nname: {{ .Values.name }}\n...\n";
    let facts = k8s_facts_from_text("all.yaml", text);
    assert_eq!(facts["workloads"].as_array().map(Vec::len), Some(2));
    assert_eq!(facts["containers"].as_array().map(Vec::len), Some(3));
    assert_eq!(facts["containers"][0]["resource"], "Pod/x/a");
    assert_eq!(facts["workloads"][1]["source"]["line"], 12);
    assert!(
        facts["notes"][0]
            .as_str()
            .is_some_and(|n| n.contains("helm template")),
        "{}",
        facts["notes"]
    );
    let json_doc = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"j"},"spec":{"containers":[{"name":"c","image":"a:1"}]}}"#;
    assert_eq!(
        k8s_facts_from_text("p.json", json_doc)["containers"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );

    let set = builtin();
    let results = set
        .evaluate("k8s", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    let report = Report::new("k8s", "t", results, Vec::new());
    let privileged = report
        .results
        .iter()
        .find(|r| r.id == "RMP-K8S-001")
        .unwrap_or_else(|| panic!());
    assert_eq!(privileged.status, Status::Fail);
    assert_eq!(privileged.evidence[0].file.as_deref(), Some("all.yaml"));
    assert_eq!(privileged.evidence[0].line, Some(3));
    assert_eq!(privileged.evidence[0].resource.as_deref(), Some("Pod/x/a"));
    assert_eq!(
        status(&report, "RMP-K8S-RBAC-002"),
        Status::Skip,
        "no roles: skipped"
    );
}

#[test]
fn directory_runs_the_benchmarks_it_has_files_for() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let set = builtin();
    let spec = format!("dir:{}", dir.path().display());
    assert!(
        scan(&spec, &set, &[]).is_empty(),
        "an empty directory has nothing to assess"
    );
    std::fs::create_dir_all(dir.path().join("deploy")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("deploy/app.yaml"),
        "apiVersion: v1\nkind: Service\nmetadata: {name: s, namespace: n}\nspec: {type: NodePort}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("Dockerfile"),
        "FROM ubuntu\nRUN apt-get update\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let reports = scan(&spec, &set, &[]);
    let names: Vec<&str> = reports.iter().map(|r| r.benchmark.as_str()).collect();
    assert_eq!(names, ["k8s", "image"]);
    assert_eq!(status(&reports[0], "RMP-K8S-036"), Status::Fail);
    let df = &reports[1];
    assert_eq!(status(df, "RMP-DF-003"), Status::Fail);
    assert_eq!(status(df, "RMP-DF-001"), Status::Fail);
    assert_eq!(
        status(df, "RMP-IMG-001"),
        Status::Skip,
        "image checks need an image"
    );
    let r = df
        .results
        .iter()
        .find(|x| x.id == "RMP-DF-009")
        .unwrap_or_else(|| panic!());
    assert_eq!(r.evidence[0].file.as_deref(), Some("/Dockerfile"));
    assert_eq!(r.evidence[0].line, Some(2));
}

#[test]
fn dockerfile_parser_joins_lines_and_counts_stages() {
    let text = "# escape=`\nFROM golang:1.22 AS build\nRUN go build `\n    -o /app\n\nFROM build AS test\nFROM scratch\nCOPY --from=build --chown=1:1 /app /app\n";
    let f = rampart_posture::facts::image::dockerfile_facts("Dockerfile", text);
    assert_eq!(f["instructions"][1]["args"], "go build  -o /app");
    assert_eq!(f["instructions"][1]["line"], 3);
    assert_eq!(
        f["stages"][1]["local"], true,
        "FROM an earlier stage is local"
    );
    assert_eq!(f["stages"][2]["local"], true, "scratch is local");
    assert_eq!(f["final_stage"], 2);
    assert_eq!(
        f["instructions"][4]["flags"],
        json!(["--from=build", "--chown=1:1"])
    );
}

fn layer(files: &[(&str, &[u8], u32)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data, mode) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(*mode);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        b.append_data(&mut h, path, *data)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    b.into_inner().unwrap_or_else(|e| panic!("{e}"))
}

fn sha(data: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(data)))
}

#[test]
fn docker_archive_image_checks() {
    let l1 = layer(&[
        ("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644),
        ("usr/bin/passwd", b"x", 0o4755),
        ("usr/bin/sudo", b"x", 0o4755),
    ]);
    let l2 = layer(&[
        ("var/lib/apt/lists/deb.debian.org_dists", b"index", 0o644),
        ("usr/local/bin/helper", b"x", 0o4755),
    ]);
    let config = json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/bin", "AWS_SECRET_ACCESS_KEY=abc"], "ExposedPorts": {"22/tcp": {}}},
        "rootfs": {"type": "layers", "diff_ids": [sha(&l1), sha(&l2)]},
        "history": [
            {"created_by": "ADD https://example.com/x.tgz /opt/"},
            {"created_by": "|1 GH_TOKEN=t0ken /bin/sh -c curl -sSL https://x.example/i.sh | sh"}
        ]
    });
    let cfg = serde_json::to_vec(&config).unwrap_or_else(|e| panic!("{e}"));
    let manifest =
        json!([{"Config": "config.json", "RepoTags": ["app:1"], "Layers": ["l1.tar", "l2.tar"]}]);
    let mut outer = tar::Builder::new(Vec::new());
    for (name, data) in [
        (
            "manifest.json",
            serde_json::to_vec(&manifest).unwrap_or_default(),
        ),
        ("config.json", cfg),
        ("l1.tar", l1),
        ("l2.tar", l2),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        outer
            .append_data(&mut h, name, data.as_slice())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("img.tar");
    std::fs::write(&path, outer.into_inner().unwrap_or_default()).unwrap_or_else(|e| panic!("{e}"));
    let reports = scan(
        &format!("docker-archive:{}", path.display()),
        &builtin(),
        &[],
    );
    assert_eq!(reports.len(), 1);
    let r = &reports[0];
    for id in [
        "RMP-IMG-001",
        "RMP-IMG-002",
        "RMP-IMG-003",
        "RMP-IMG-004",
        "RMP-IMG-005",
        "RMP-IMG-006",
        "RMP-IMG-007",
        "RMP-IMG-008",
        "RMP-IMG-011",
        "RMP-IMG-012",
    ] {
        assert_eq!(status(r, id), Status::Fail, "{id}");
    }
    assert_eq!(status(r, "RMP-IMG-010"), Status::Pass);
    assert_eq!(status(r, "RMP-DF-001"), Status::Skip);
    let suid = r
        .results
        .iter()
        .find(|x| x.id == "RMP-IMG-008")
        .unwrap_or_else(|| panic!());
    let files: Vec<_> = suid
        .evidence
        .iter()
        .filter_map(|e| e.file.as_deref())
        .collect();
    assert_eq!(files, ["/usr/bin/sudo", "/usr/local/bin/helper"]);
    // Secret values never reach the report.
    let text = serde_json::to_string(r).unwrap_or_default();
    assert!(
        !text.contains("t0ken") && !text.contains("\"abc\""),
        "{text}"
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn user_policies_from_a_directory() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        dir.path(),
        "team.rego",
        "package team.k8s\n\nimport data.rampart.lib.util\n\nfail contains e if {\n\tsome c in input.containers\n\tnot c.container.resources.limits[\"ephemeral-storage\"]\n\te := object.union(util.k8s_loc(c), {\"check\": \"TEAM-K8S-001\", \"key\": \"resources.limits.ephemeral-storage\", \"found\": null, \"expected\": \"set\"})\n}\n",
    );
    write(
        dir.path(),
        "team.yaml",
        "benchmark: k8s\nchecks:\n  - id: TEAM-K8S-001\n    title: Ephemeral storage is limited\n    description: Every container limits ephemeral-storage.\n    rationale: A full node disk evicts every pod on it.\n    severity: low\n    remediation: Set resources.limits.ephemeral-storage.\n    frameworks: {soc2: [A1.1]}\n",
    );
    let mut set = builtin();
    let before = set.checks().len();
    set.add_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(set.checks().len(), before + 1);
    let facts = k8s_facts_from_text(
        "p.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: a}]\n",
    );
    let r = set
        .evaluate_check("TEAM-K8S-001", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.status, Status::Fail);
    assert_eq!(r.evidence[0].resource.as_deref(), Some("Pod/p"));

    // A duplicate id and a broken policy are errors naming the file.
    let mut again = set.clone();
    assert!(
        matches!(again.add_dir(dir.path()), Err(PostureError::DuplicateId(id)) if id == "TEAM-K8S-001")
    );
    let bad = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        bad.path(),
        "broken.rego",
        "package x\nfail contains e if {\n",
    );
    let err = builtin()
        .add_dir(bad.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(err.contains("broken.rego"), "{err}");
}

#[test]
fn a_thousand_manifests() {
    let mut text = String::new();
    for i in 0..1000 {
        text.push_str(&format!(
            "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: app{i}, namespace: ns{}}}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          image: registry.example/app:{i}\n          securityContext: {{runAsNonRoot: true, allowPrivilegeEscalation: false}}\n          resources: {{limits: {{cpu: 100m, memory: 64Mi}}}}\n",
            i % 20
        ));
    }
    let facts = k8s_facts_from_text("big.yaml", &text);
    let results = builtin()
        .evaluate("k8s", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    let r = Report::new("k8s", "t", results, Vec::new());
    let digest = r
        .results
        .iter()
        .find(|x| x.id == "RMP-K8S-028")
        .unwrap_or_else(|| panic!());
    assert_eq!(digest.evidence.len(), 1000);
    assert_eq!(status(&r, "RMP-K8S-001"), Status::Pass);
}

#[test]
fn odd_manifests_never_break_a_policy() {
    let text = "apiVersion: v1\nkind: Pod\nmetadata: {name: odd}\nspec:\n  containers: not-a-list\n  volumes: {a: b}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: 5}\nspec: {template: {spec: {hostNetwork: yes, securityContext: [], containers: [{name: c, image: 7, securityContext: x, ports: y, env: {a: b}, resources: {limits: []}}, 3], volumes: [1, x, {name: v}]}}}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r}\nrules: [{verbs: \"*\", resources: 5}, 7]\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata: {name: b}\nsubjects: x\nroleRef: 3\n---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: 4\n";
    let facts = k8s_facts_from_text("odd.yaml", text);
    let results = builtin()
        .evaluate("k8s", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    let errors: Vec<_> = results
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|x| x.starts_with("policy error"))
        })
        .map(|r| format!("{}: {:?}", r.id, r.reason))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
}

#[test]
fn kubectl_json_lists_are_read() {
    // What `kubectl get deployments,clusterrolebindings -A -o json` prints.
    let text = r#"{"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":""},"items":[
 {"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"api","namespace":"prod","managedFields":[{"manager":"kubectl"}]},
  "spec":{"template":{"spec":{"containers":[{"name":"api","image":"registry.example/api:3","securityContext":{"privileged":true}}]}}},"status":{"replicas":1}},
 {"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding","metadata":{"name":"ops"},
  "roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"cluster-admin"},
  "subjects":[{"kind":"User","name":"alice"}]}]}"#;
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(dir.path().join("cluster.json"), text).unwrap_or_else(|e| panic!("{e}"));
    let reports = scan(
        &format!("dir:{}", dir.path().display()),
        &builtin(),
        &["k8s"],
    );
    assert_eq!(status(&reports[0], "RMP-K8S-001"), Status::Fail);
    assert_eq!(status(&reports[0], "RMP-K8S-RBAC-001"), Status::Fail);
}
