# Pod Security Standards (baseline and restricted) over every container of
# every workload (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
# CronJob, ReplicationController) and their pod-level settings.
package rampart.k8s.pod

loc(c, key) := {"file": c.source.file, "line": c.source.line, "resource": c.resource, "key": concat("", [c.type, " ", c.name, ": ", key])}

wloc(w, key) := {"file": w.source.file, "line": w.source.line, "resource": w.resource, "key": key}

ev(id, l, found, expected) := object.union(l, {"check": id, "found": found, "expected": expected})

sc(c) := object.get(c.container, "securityContext", {})

psc(c) := object.get(c.pod, "securityContext", {})

has(o, k) if _ = o[k]

# The container's setting, or the pod's when the container leaves it unset.
eff(c, k) := sc(c)[k] if has(sc(c), k)

eff(c, k) := psc(c)[k] if {
	not has(sc(c), k)
	has(psc(c), k)
}

# `eff` with a default for evidence.
effd(c, k, _) := eff(c, k)

effd(c, k, d) := d if {
	not has(sc(c), k)
	not has(psc(c), k)
}

caps(c) := object.get(sc(c), "capabilities", {})

# A set as text, or null when empty (for evidence).
listed(s) := concat(",", s) if count(s) > 0

listed(s) := null if count(s) == 0

added(c) := {upper(trim_prefix(x, "CAP_")) | some x in object.get(caps(c), "add", [])}

dropped(c) := {upper(trim_prefix(x, "CAP_")) | some x in object.get(caps(c), "drop", [])}

# ---- baseline ----

fail contains e if {
	some c in input.containers
	sc(c).privileged == true
	e := ev("RMP-K8S-001", loc(c, "securityContext.privileged"), true, false)
}

host_ns := {"RMP-K8S-002": "hostNetwork", "RMP-K8S-003": "hostPID", "RMP-K8S-004": "hostIPC"}

fail contains e if {
	some w in input.workloads
	some id, field in host_ns
	w.spec[field] == true
	e := ev(id, wloc(w, concat("", ["spec.", field])), true, false)
}

fail contains e if {
	some w in input.workloads
	some v in object.get(w.spec, "volumes", [])
	v.hostPath
	e := ev("RMP-K8S-005", wloc(w, sprintf("volumes[%s].hostPath", [v.name])), object.get(v.hostPath, "path", ""), "no hostPath volume")
}

fail contains e if {
	some c in input.containers
	some p in object.get(c.container, "ports", [])
	object.get(p, "hostPort", 0) != 0
	e := ev("RMP-K8S-006", loc(c, "ports[].hostPort"), p.hostPort, "no hostPort")
}

baseline_caps := {
	"AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD",
	"NET_BIND_SERVICE", "SETFCAP", "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT",
}

fail contains e if {
	some c in input.containers
	some cap in added(c)
	not cap in baseline_caps
	e := ev("RMP-K8S-007", loc(c, "securityContext.capabilities.add"), cap, "only the baseline set (CHOWN, KILL, NET_BIND_SERVICE, ...)")
}

dangerous_caps := {"SYS_ADMIN", "NET_ADMIN", "SYS_PTRACE", "SYS_MODULE", "SYS_RAWIO", "BPF", "PERFMON", "ALL", "DAC_READ_SEARCH", "SYS_BOOT", "SYS_TIME"}

fail contains e if {
	some c in input.containers
	some cap in added(c)
	cap in dangerous_caps
	e := ev("RMP-K8S-008", loc(c, "securityContext.capabilities.add"), cap, "none of SYS_ADMIN, NET_ADMIN, SYS_PTRACE, SYS_MODULE, ALL...")
}

fail contains e if {
	some c in input.containers
	key := concat("", ["container.apparmor.security.beta.kubernetes.io/", c.name])
	c.annotations[key] == "unconfined"
	e := ev("RMP-K8S-009", loc(c, concat("", ["annotation ", key])), "unconfined", "runtime/default or a localhost profile")
}

fail contains e if {
	some c in input.containers
	eff(c, "appArmorProfile").type == "Unconfined"
	e := ev("RMP-K8S-009", loc(c, "securityContext.appArmorProfile.type"), "Unconfined", "RuntimeDefault or Localhost")
}

selinux_types := {"container_t", "container_init_t", "container_kvm_t", "container_engine_t"}

fail contains e if {
	some c in input.containers
	o := eff(c, "seLinuxOptions")
	t := object.get(o, "type", "")
	t != ""
	not t in selinux_types
	e := ev("RMP-K8S-010", loc(c, "securityContext.seLinuxOptions.type"), t, "container_t, container_init_t or container_kvm_t")
}

fail contains e if {
	some c in input.containers
	o := eff(c, "seLinuxOptions")
	some field in ["user", "role"]
	object.get(o, field, "") != ""
	e := ev("RMP-K8S-010", loc(c, concat("", ["securityContext.seLinuxOptions.", field])), o[field], "not set")
}

fail contains e if {
	some c in input.containers
	sc(c).procMount == "Unmasked"
	e := ev("RMP-K8S-011", loc(c, "securityContext.procMount"), "Unmasked", "Default")
}

fail contains e if {
	some c in input.containers
	eff(c, "seccompProfile").type == "Unconfined"
	e := ev("RMP-K8S-012", loc(c, "securityContext.seccompProfile.type"), "Unconfined", "RuntimeDefault or Localhost")
}

safe_sysctls := {
	"kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.ip_unprivileged_port_start",
	"net.ipv4.tcp_syncookies", "net.ipv4.ping_group_range", "net.ipv4.ip_local_reserved_ports",
	"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout", "net.ipv4.tcp_keepalive_intvl",
	"net.ipv4.tcp_keepalive_probes",
}

fail contains e if {
	some w in input.workloads
	some s in object.get(object.get(w.spec, "securityContext", {}), "sysctls", [])
	not s.name in safe_sysctls
	e := ev("RMP-K8S-013", wloc(w, "spec.securityContext.sysctls"), s.name, "only namespaced safe sysctls")
}

fail contains e if {
	some c in input.containers
	eff(c, "windowsOptions").hostProcess == true
	e := ev("RMP-K8S-014", loc(c, "securityContext.windowsOptions.hostProcess"), true, false)
}

# ---- restricted ----

fail contains e if {
	some c in input.containers
	not sc(c).allowPrivilegeEscalation == false
	e := ev("RMP-K8S-015", loc(c, "securityContext.allowPrivilegeEscalation"), object.get(sc(c), "allowPrivilegeEscalation", null), false)
}

fail contains e if {
	some c in input.containers
	not eff(c, "runAsNonRoot") == true
	not eff(c, "runAsUser") > 0
	e := ev("RMP-K8S-016", loc(c, "securityContext.runAsNonRoot"), effd(c, "runAsNonRoot", null), true)
}

fail contains e if {
	some c in input.containers
	eff(c, "runAsUser") == 0
	e := ev("RMP-K8S-017", loc(c, "securityContext.runAsUser"), 0, "a non-zero UID")
}

fail contains e if {
	some c in input.containers
	not eff(c, "seccompProfile").type in {"RuntimeDefault", "Localhost"}
	not seccomp_annotation(c)
	e := ev("RMP-K8S-018", loc(c, "securityContext.seccompProfile.type"), object.get(effd(c, "seccompProfile", {}), "type", null), "RuntimeDefault or Localhost")
}

seccomp_annotation(c) if c.annotations["seccomp.security.alpha.kubernetes.io/pod"] in {"runtime/default", "docker/default"}

fail contains e if {
	some c in input.containers
	not "ALL" in dropped(c)
	e := ev("RMP-K8S-019", loc(c, "securityContext.capabilities.drop"), listed(dropped(c)), "ALL")
}

fail contains e if {
	some c in input.containers
	some cap in added(c)
	cap != "NET_BIND_SERVICE"
	e := ev("RMP-K8S-020", loc(c, "securityContext.capabilities.add"), cap, "at most NET_BIND_SERVICE")
}

allowed_volumes := {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "persistentVolumeClaim", "projected", "secret"}

fail contains e if {
	some w in input.workloads
	some v in object.get(w.spec, "volumes", [])
	kinds := {k | some k, _ in v; k != "name"}
	count(kinds & allowed_volumes) == 0
	e := ev("RMP-K8S-021", wloc(w, sprintf("volumes[%s]", [v.name])), concat(",", kinds), "configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected or secret")
}

fail contains e if {
	some c in input.containers
	not "ALL" in dropped(c)
	not "NET_RAW" in dropped(c)
	e := ev("RMP-K8S-044", loc(c, "securityContext.capabilities.drop"), listed(dropped(c)), "NET_RAW (or ALL)")
}

fail contains e if {
	some c in input.containers
	eff(c, "runAsGroup") == 0
	e := ev("RMP-K8S-039", loc(c, "securityContext.runAsGroup"), 0, "a non-zero GID")
}

fail contains e if {
	some w in input.workloads
	w.spec.shareProcessNamespace == true
	e := ev("RMP-K8S-040", wloc(w, "spec.shareProcessNamespace"), true, false)
}
