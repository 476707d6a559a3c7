# Workload practices (NSA-CISA hardening, CIS Kubernetes 5.x): resources,
# images, secrets, service accounts, namespaces, network exposure.
package rampart.k8s.workload

loc(c, key) := {"file": c.source.file, "line": c.source.line, "resource": c.resource, "key": concat("", [c.type, " ", c.name, ": ", key])}

wloc(w, key) := {"file": w.source.file, "line": w.source.line, "resource": w.resource, "key": key}

oloc(o, key) := {"file": o._source.file, "line": o._source.line, "resource": o._resource, "key": key}

ev(id, l, found, expected) := object.union(l, {"check": id, "found": found, "expected": expected})

kinds(k) := object.get(input.by_kind, k, [])

# Regular and init containers (ephemeral debug containers have no resources or probes).
long_running := [c | some c in input.containers; c.type != "ephemeralContainer"]

fail contains e if {
	some c in input.containers
	not object.get(c.container, "securityContext", {}).readOnlyRootFilesystem == true
	e := ev("RMP-K8S-022", loc(c, "securityContext.readOnlyRootFilesystem"), object.get(object.get(c.container, "securityContext", {}), "readOnlyRootFilesystem", null), true)
}

resource_checks := {
	"RMP-K8S-023": ["limits", "cpu"],
	"RMP-K8S-024": ["limits", "memory"],
	"RMP-K8S-025": ["requests", "cpu"],
	"RMP-K8S-026": ["requests", "memory"],
}

fail contains e if {
	some c in long_running
	some id, path in resource_checks
	not c.container.resources[path[0]][path[1]]
	e := ev(id, loc(c, concat(".", ["resources", path[0], path[1]])), null, "set")
}

image_ref(c) := object.get(c.container, "image", "")

tag(ref) := t if {
	not contains(ref, "@")
	parts := split(ref, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	t := split(last, ":")[1]
}

fail contains e if {
	some c in input.containers
	ref := image_ref(c)
	not contains(ref, "@")
	not tag(ref)
	e := ev("RMP-K8S-027", loc(c, "image"), ref, "an explicit version tag or digest")
}

fail contains e if {
	some c in input.containers
	tag(image_ref(c)) == "latest"
	e := ev("RMP-K8S-027", loc(c, "image"), image_ref(c), "an explicit version tag or digest")
}

fail contains e if {
	some c in input.containers
	ref := image_ref(c)
	not contains(ref, "@sha256:")
	e := ev("RMP-K8S-028", loc(c, "image"), ref, "pinned by digest (image@sha256:...)")
}

secret_name := `(?i)(passw(or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential)`

secret_var(name) if {
	regex.match(secret_name, name)
	not regex.match(`(?i)(_FILE|_PATH|_DIR|_URL|_ENDPOINT)$`, name)
}

fail contains e if {
	some c in input.containers
	some env in object.get(c.container, "env", [])
	secret_var(env.name)
	v := object.get(env, "value", "")
	is_string(v)
	v != ""
	not startswith(v, "$(")
	e := ev("RMP-K8S-029", loc(c, concat("", ["env ", env.name])), "a literal value (not shown)", "valueFrom.secretKeyRef or a mounted Secret")
}

fail contains e if {
	some c in input.containers
	some env in object.get(c.container, "env", [])
	env.valueFrom.secretKeyRef
	e := ev("RMP-K8S-030", loc(c, concat("", ["env ", env.name, " valueFrom.secretKeyRef"])), env.valueFrom.secretKeyRef.name, "the Secret mounted as a file")
}

fail contains e if {
	some c in input.containers
	some from in object.get(c.container, "envFrom", [])
	from.secretRef
	e := ev("RMP-K8S-030", loc(c, "envFrom.secretRef"), from.secretRef.name, "the Secret mounted as a file")
}

sa_name(w) := object.get(w.spec, "serviceAccountName", object.get(w.spec, "serviceAccount", "default"))

sa_opts_out(w) if {
	some sa in kinds("ServiceAccount")
	sa.metadata.name == sa_name(w)
	sa.automountServiceAccountToken == false
}

fail contains e if {
	some w in input.workloads
	not w.spec.automountServiceAccountToken == false
	not sa_opts_out(w)
	e := ev("RMP-K8S-031", wloc(w, "spec.automountServiceAccountToken"), object.get(w.spec, "automountServiceAccountToken", null), false)
}

fail contains e if {
	some w in input.workloads
	sa_name(w) == "default"
	e := ev("RMP-K8S-032", wloc(w, "spec.serviceAccountName"), "default", "a dedicated service account")
}

fail contains e if {
	some w in input.workloads
	object.get(w, "namespace", null) in {null, "default"}
	e := ev("RMP-K8S-033", wloc(w, "metadata.namespace"), object.get(w, "namespace", null), "a dedicated namespace")
}

ns_of(w) := object.get(w, "namespace", "default") if w.namespace != null

ns_of(w) := "default" if w.namespace == null

policy_namespaces := {object.get(p.metadata, "namespace", "default") | some p in kinds("NetworkPolicy")}

fail contains e if {
	some w in input.workloads
	not ns_of(w) in policy_namespaces
	e := ev("RMP-K8S-034", wloc(w, "metadata.namespace"), ns_of(w), "a NetworkPolicy in the namespace")
}

service_types := {"LoadBalancer": "RMP-K8S-035", "NodePort": "RMP-K8S-036"}

fail contains e if {
	some s in kinds("Service")
	id := service_types[s.spec.type]
	e := ev(id, oloc(s, "spec.type"), s.spec.type, "ClusterIP behind an Ingress or gateway")
}

probes := {"RMP-K8S-037": "livenessProbe", "RMP-K8S-038": "readinessProbe"}

fail contains e if {
	some c in input.containers
	c.type == "container"
	not c.kind in {"Job", "CronJob"}
	some id, probe in probes
	not c.container[probe]
	e := ev(id, loc(c, probe), null, "set")
}

fail contains e if {
	some i in kinds("Ingress")
	count(object.get(i.spec, "tls", [])) == 0
	e := ev("RMP-K8S-041", oloc(i, "spec.tls"), null, "TLS for every host")
}

fail contains e if {
	some m in kinds("ConfigMap")
	some k, v in object.get(m, "data", {})
	secret_var(k)
	v != ""
	e := ev("RMP-K8S-042", oloc(m, concat("", ["data.", k])), "a literal value (not shown)", "a Secret, not a ConfigMap")
}

fail contains e if {
	some s in kinds("Secret")
	some field in ["data", "stringData"]
	count(object.get(s, field, {})) > 0
	e := ev("RMP-K8S-043", oloc(s, field), sprintf("%d keys in the manifest", [count(s[field])]), "secret values kept out of manifests (external secrets, sealed secrets)")
}
