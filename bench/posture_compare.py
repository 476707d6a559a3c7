#!/usr/bin/env python3
"""Helpers for bench/run-posture-bench.sh.

  gen DIR N            write N generated Kubernetes manifests (one object per file,
                       a deterministic mix of hardened and careless workloads,
                       Services, Roles and bindings) into DIR
  host RAMPART_JSON OSCAP_XML [LYNIS_REPORT]
                       compare Rampart's linux verdicts with OpenSCAP's (and Lynis')
                       on the checks they share; prints a Markdown table
  k8s RAMPART_JSON [CHECKOV_JSON] [TRIVY_JSON]
                       failing-object counts per shared check for the three tools
"""
import json
import random
import re
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

# Rampart id -> OpenSCAP (SSG Debian 11) rule suffix.
OSCAP = {
    "RMP-HOST-SSH-003": "sshd_disable_root_login",
    "RMP-HOST-SSH-004": "sshd_disable_empty_passwords",
    "RMP-HOST-SSH-005": "disable_host_auth",
    "RMP-HOST-SSH-006": "sshd_disable_rhosts",
    "RMP-HOST-SSH-007": "sshd_disable_x11_forwarding",
    "RMP-HOST-SSH-008": "sshd_set_max_auth_tries",
    "RMP-HOST-SSH-009": "sshd_set_login_grace_time",
    "RMP-HOST-SSH-010": "sshd_set_idle_timeout",
    "RMP-HOST-SSH-011": "sshd_set_loglevel_info",
    "RMP-HOST-SSH-012": "sshd_do_not_permit_user_env",
    "RMP-HOST-SSH-013": "sshd_enable_warning_banner",
    "RMP-HOST-SSH-014": "sshd_set_maxstartups",
    "RMP-HOST-SSH-015": "sshd_set_max_sessions",
    "RMP-HOST-SSH-016": "sshd_enable_pam",
    "RMP-HOST-SSH-020": "sshd_disable_tcp_forwarding",
    "RMP-HOST-SSH-021": "sshd_disable_gssapi_auth",
    "RMP-HOST-BOOT-002": "sysctl_kernel_randomize_va_space",
    "RMP-HOST-BOOT-003": "sysctl_fs_suid_dumpable",
    "RMP-HOST-BOOT-005": "sysctl_kernel_kptr_restrict",
    "RMP-HOST-BOOT-007": "sysctl_fs_protected_hardlinks",
    "RMP-HOST-BOOT-008": "sysctl_fs_protected_symlinks",
    "RMP-HOST-FS-001": "partition_for_tmp",
    "RMP-HOST-FS-018": "dir_perms_world_writable_sticky_bits",
    "RMP-HOST-NET-025": "kernel_module_rds_disabled",
    "RMP-HOST-NET-026": "kernel_module_tipc_disabled",
    "RMP-HOST-PERM-001": "file_permissions_etc_passwd",
    "RMP-HOST-PERM-003": "file_permissions_etc_group",
    "RMP-HOST-PERM-005": "file_permissions_etc_shadow",
    "RMP-HOST-PERM-007": "file_permissions_etc_gshadow",
    "RMP-HOST-PERM-009": "file_permissions_unauthorized_world_writable",
    "RMP-HOST-SVC-016": "package_nis_removed",
    "RMP-HOST-LOG-001": "package_audit_installed",
    "RMP-HOST-LOG-002": "service_auditd_enabled",
    "RMP-HOST-USER-001": "no_empty_passwords_etc_shadow",
    "RMP-HOST-USER-004": "accounts_no_uid_except_zero",
    "RMP-HOST-AUTH-002": "sudo_add_use_pty",
    "RMP-HOST-AUTH-003": "sudo_custom_logfile",
    "RMP-HOST-AUTH-004": "sudo_remove_nopasswd",
    "RMP-HOST-AUTH-011": "accounts_maximum_age_login_defs",
    "RMP-HOST-AUTH-012": "accounts_minimum_age_login_defs",
    "RMP-HOST-AUTH-013": "accounts_password_warn_age_login_defs",
    "RMP-HOST-AUTH-016": "accounts_umask_etc_login_defs",
}

# Rampart id -> (Lynis test id, text the suggestion's detail must contain, or "").
# Lynis reports a suggestion or warning when a test finds a weakness.
LYNIS = {
    "RMP-HOST-SSH-003": ("SSH-7408", "PermitRootLogin"),
    "RMP-HOST-SSH-007": ("SSH-7408", "X11Forwarding"),
    "RMP-HOST-SSH-008": ("SSH-7408", "MaxAuthTries"),
    "RMP-HOST-SSH-011": ("SSH-7408", "LogLevel"),
    "RMP-HOST-SSH-015": ("SSH-7408", "MaxSessions"),
    "RMP-HOST-SSH-020": ("SSH-7408", "AllowTcpForwarding"),
    # KRNL-6000 lists each deviating sysctl as a details[] line "field:KEY;".
    "RMP-HOST-NET-003": ("KRNL-6000", "net.ipv4.conf.all.send_redirects"),
    "RMP-HOST-NET-006": ("KRNL-6000", "net.ipv4.conf.default.accept_source_route"),
    "RMP-HOST-NET-008": ("KRNL-6000", "net.ipv4.conf.all.accept_redirects"),
    "RMP-HOST-NET-009": ("KRNL-6000", "net.ipv4.conf.default.accept_redirects"),
    "RMP-HOST-NET-010": ("KRNL-6000", "net.ipv6.conf.all.accept_redirects"),
    "RMP-HOST-NET-011": ("KRNL-6000", "net.ipv6.conf.default.accept_redirects"),
    "RMP-HOST-NET-014": ("KRNL-6000", "net.ipv4.conf.all.log_martians"),
    "RMP-HOST-NET-015": ("KRNL-6000", "net.ipv4.conf.default.log_martians"),
    "RMP-HOST-NET-018": ("KRNL-6000", "net.ipv4.conf.all.rp_filter"),
    "RMP-HOST-BOOT-004": ("KRNL-6000", "kernel.dmesg_restrict"),
    "RMP-HOST-BOOT-005": ("KRNL-6000", "kernel.kptr_restrict"),
    "RMP-HOST-BOOT-003": ("KRNL-6000", "fs.suid_dumpable"),
    "RMP-HOST-BOOT-007": ("KRNL-6000", "fs.protected_hardlinks"),
    "RMP-HOST-BOOT-008": ("KRNL-6000", "fs.protected_symlinks"),
    "RMP-HOST-FS-001": ("FILE-6310", "/tmp"),
    "RMP-HOST-FS-017": ("USB-1000", ""),
    "RMP-HOST-NET-023": ("NETW-3200", "dccp"),
    "RMP-HOST-NET-024": ("NETW-3200", "sctp"),
    "RMP-HOST-NET-025": ("NETW-3200", "rds"),
    "RMP-HOST-NET-026": ("NETW-3200", "tipc"),
    "RMP-HOST-AUTH-006": ("AUTH-9262", ""),
    "RMP-HOST-AUTH-011": ("AUTH-9286", "maximum password age"),
    "RMP-HOST-AUTH-012": ("AUTH-9286", "minimum password age"),
    "RMP-HOST-AUTH-016": ("AUTH-9328", ""),
    "RMP-HOST-LOG-001": ("ACCT-9628", ""),
    "RMP-HOST-PERM-022": ("BANN-7126", ""),
    "RMP-HOST-PERM-023": ("BANN-7130", ""),
    "RMP-HOST-NET-028": ("FIRE-4590", ""),
    "RMP-HOST-SVC-022": ("TIME-3104", ""),
}


def rampart_verdicts(path, benchmark):
    doc = json.loads(Path(path).read_text())
    out = {}
    for rep in doc["posture"]["benchmarks"]:
        if rep["benchmark"] != benchmark:
            continue
        for r in rep["results"]:
            out[r["id"]] = (r["status"], r.get("reason") or "; ".join(
                e.get("key", "") + "=" + str(e.get("found", "")) for e in r.get("evidence", [])[:2]))
    return out


def oscap_verdicts(path):
    ns = {"x": "http://checklists.nist.gov/xccdf/1.2"}
    out = {}
    for rr in ET.parse(path).getroot().iter("{http://checklists.nist.gov/xccdf/1.2}rule-result"):
        rid = rr.get("idref").replace("xccdf_org.ssgproject.content_rule_", "")
        res = rr.find("x:result", ns).text
        out[rid] = {"pass": "pass", "fail": "fail", "notapplicable": "skip", "notchecked": "skip",
                    "error": "error", "unknown": "unknown", "notselected": "n/a"}.get(res, res)
    return out


def lynis_verdicts(path):
    executed, findings = set(), defaultdict(list)
    for line in Path(path).read_text(errors="replace").splitlines():
        if line.startswith("tests_executed="):
            executed = set(t for t in line.split("=", 1)[1].split("|") if t)
        elif line.startswith(("suggestion[]=", "warning[]=", "details[]=")):
            parts = line.split("=", 1)[1].split("|")
            findings[parts[0]].append("|".join(parts[1:]))
    return executed, findings


def host(rampart_json, oscap_xml, lynis_report=None, benchmark="linux"):
    r = rampart_verdicts(rampart_json, benchmark)
    o = oscap_verdicts(oscap_xml) if oscap_xml and Path(oscap_xml).exists() else {}
    executed, lf = lynis_verdicts(lynis_report) if lynis_report and Path(lynis_report).exists() else (set(), {})
    ids = sorted(set(OSCAP) | (set(LYNIS) if executed else set()))
    agree = {"oscap": [0, 0], "lynis": [0, 0]}
    print("| check | Rampart | OpenSCAP rule | OpenSCAP | Lynis test | Lynis |")
    print("|---|---|---|---|---|---|")
    for cid in ids:
        rs = r.get(cid, ("missing", ""))[0]
        orule = OSCAP.get(cid, "")
        ov = o.get(orule, "-") if orule else "-"
        lt, needle = LYNIS.get(cid, ("", ""))
        if lt and executed:
            if lt not in executed:
                lv = "not run"
            else:
                hit = [d for d in lf.get(lt, []) if needle.lower() in d.lower()]
                lv = "fail" if hit else "pass"
        else:
            lv = "-"
        for tool, v in (("oscap", ov), ("lynis", lv)):
            if rs in ("pass", "fail") and v in ("pass", "fail"):
                agree[tool][0] += rs == v
                agree[tool][1] += 1
        print(f"| {cid} | {rs} | {orule or '-'} | {ov} | {lt or '-'} {needle} | {lv} |")
    for tool, (a, n) in agree.items():
        if n:
            print(f"\n{tool}: {a} of {n} checks both tools decided agree")


def gen(out_dir, n):
    rnd = random.Random(7)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        kind = rnd.choices(["Deployment", "Service", "Role", "RoleBinding", "Pod", "CronJob"], [60, 15, 8, 7, 6, 4])[0]
        ns = f"team{i % 25}" if rnd.random() > 0.1 else None
        meta = {"name": f"app{i}"}
        if ns:
            meta["namespace"] = ns
        if kind in ("Deployment", "Pod", "CronJob"):
            hardened = rnd.random() < 0.4
            sc = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                  "runAsNonRoot": True, "capabilities": {"drop": ["ALL"]}} if hardened else {}
            if not hardened and rnd.random() < 0.1:
                sc["privileged"] = True
            c = {"name": "app", "image": rnd.choice([f"registry.example/app{i}:1.{i % 7}", "nginx:latest", "redis",
                                                     f"registry.example/app{i}:2.0@sha256:" + "a" * 64])}
            if sc:
                c["securityContext"] = sc
            if rnd.random() < 0.6:
                c["resources"] = {"limits": {"cpu": "500m", "memory": "256Mi"}, "requests": {"cpu": "100m", "memory": "128Mi"}}
            if rnd.random() < 0.5:
                c["livenessProbe"] = {"httpGet": {"path": "/healthz", "port": 8080}}
                c["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
            if rnd.random() < 0.1:
                c["env"] = [{"name": "API_TOKEN", "value": "t" * 12}]
            pod = {"containers": [c]}
            if rnd.random() < 0.05:
                pod["hostNetwork"] = True
            if rnd.random() < 0.05:
                pod["volumes"] = [{"name": "h", "hostPath": {"path": "/var/run/docker.sock"}}]
            if hardened:
                pod["securityContext"] = {"seccompProfile": {"type": "RuntimeDefault"}}
                pod["automountServiceAccountToken"] = False
                pod["serviceAccountName"] = f"app{i}"
            if kind == "Pod":
                obj = {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": pod}
            elif kind == "Deployment":
                obj = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                       "spec": {"replicas": 2, "selector": {"matchLabels": {"app": f"app{i}"}},
                                "template": {"metadata": {"labels": {"app": f"app{i}"}}, "spec": pod}}}
            else:
                obj = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta,
                       "spec": {"schedule": "0 * * * *", "jobTemplate": {"spec": {"template": {"spec": {**pod, "restartPolicy": "OnFailure"}}}}}}
        elif kind == "Service":
            obj = {"apiVersion": "v1", "kind": "Service", "metadata": meta,
                   "spec": {"type": rnd.choice(["ClusterIP", "ClusterIP", "NodePort", "LoadBalancer"]),
                            "selector": {"app": f"app{i}"}, "ports": [{"port": 80, "targetPort": 8080}]}}
        elif kind == "Role":
            verbs = rnd.choice([["get", "list"], ["*"], ["create"]])
            res = rnd.choice([["configmaps"], ["secrets"], ["pods"], ["*"]])
            obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": meta,
                   "rules": [{"apiGroups": [""], "resources": res, "verbs": verbs}]}
        else:
            obj = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": meta,
                   "subjects": [{"kind": "ServiceAccount", "name": rnd.choice(["default", f"app{i}"]), "namespace": ns or "default"}],
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                               "name": rnd.choice(["view", "edit", "cluster-admin"])}}
        (out / f"m{i:04d}.yaml").write_text(json.dumps(obj, indent=1))


# Rampart k8s id -> (checkov id, trivy id), for the checks all three have.
K8S = {
    "RMP-K8S-001": ("CKV_K8S_16", "KSV017", "privileged"),
    "RMP-K8S-002": ("CKV_K8S_19", "KSV009", "hostNetwork"),
    "RMP-K8S-005": ("", "KSV023", "hostPath volume"),
    "RMP-K8S-015": ("CKV_K8S_20", "KSV001", "allowPrivilegeEscalation"),
    "RMP-K8S-016": ("CKV_K8S_23", "KSV012", "runAsNonRoot"),
    "RMP-K8S-019": ("CKV_K8S_37", "KSV003", "drop ALL capabilities"),
    "RMP-K8S-022": ("CKV_K8S_22", "KSV014", "readOnlyRootFilesystem"),
    "RMP-K8S-023": ("CKV_K8S_11", "KSV011", "CPU limits"),
    "RMP-K8S-024": ("CKV_K8S_13", "KSV018", "memory limits"),
    "RMP-K8S-025": ("CKV_K8S_10", "KSV015", "CPU requests"),
    "RMP-K8S-026": ("CKV_K8S_12", "KSV016", "memory requests"),
    "RMP-K8S-027": ("CKV_K8S_14", "KSV013", "image tag latest/missing"),
    "RMP-K8S-028": ("CKV_K8S_43", "", "image digest"),
    "RMP-K8S-033": ("CKV_K8S_21", "KSV110", "default namespace"),
    "RMP-K8S-037": ("CKV_K8S_8", "", "liveness probe"),
    "RMP-K8S-038": ("CKV_K8S_9", "", "readiness probe"),
    "RMP-K8S-018": ("CKV_K8S_31", "KSV030", "seccomp profile"),
    "RMP-K8S-044": ("CKV_K8S_28", "", "NET_RAW dropped"),
}


def k8s(rampart_json, checkov_json=None, trivy_json=None):
    doc = json.loads(Path(rampart_json).read_text())
    rc = defaultdict(set)
    for rep in doc["posture"]["benchmarks"]:
        for r in rep["results"]:
            for e in r.get("evidence", []):
                rc[r["id"]].add(e.get("file"))
    cc = defaultdict(set)
    if checkov_json and Path(checkov_json).exists():
        data = json.loads(Path(checkov_json).read_text())
        for part in data if isinstance(data, list) else [data]:
            for f in part.get("results", {}).get("failed_checks", []):
                cc[f["check_id"]].add("/" + f["file_path"].lstrip("/"))
    tc = defaultdict(set)
    if trivy_json and Path(trivy_json).exists():
        for res in json.loads(Path(trivy_json).read_text()).get("Results", []) or []:
            for m in res.get("Misconfigurations", []) or []:
                if m.get("Status", "FAIL") == "FAIL":
                    # trivy 0.76 spells KSV017 as KSV-0017.
                    mid = re.sub(r"^KSV-?0*(\d+)$", lambda x: "KSV%03d" % int(x.group(1)), m["ID"])
                    tc[mid].add("/" + res["Target"].lstrip("/"))
    print("| check | Rampart | checkov | trivy |")
    print("|---|---:|---:|---:|")
    for cid, (ck, tv, what) in K8S.items():
        c = f"{len(cc[ck])} ({ck})" if ck and cc else "-"
        t = f"{len(tv and tc[tv] or [])} ({tv})" if tv and tc else "-"
        print(f"| {cid} {what} | {len(rc[cid])} | {c} | {t} |")


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "gen":
        gen(args[0], int(args[1]))
    elif cmd == "host":
        host(*args)
    elif cmd == "k8s":
        k8s(*args)
    else:
        sys.exit(__doc__)
