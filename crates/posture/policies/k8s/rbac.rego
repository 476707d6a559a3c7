# RBAC (CIS Kubernetes 5.1): roles and bindings found in the manifests.
package rampart.k8s.rbac

kinds(k) := object.get(input.by_kind, k, [])

roles := array.concat(kinds("Role"), kinds("ClusterRole"))

bindings := array.concat(kinds("RoleBinding"), kinds("ClusterRoleBinding"))

oloc(o, key) := {"file": o._source.file, "line": o._source.line, "resource": o._resource, "key": key}

ev(id, l, found, expected) := object.union(l, {"check": id, "found": found, "expected": expected})

rule_list(r) := object.get(r, "rules", [])

verbs(rule) := {v | some v in object.get(rule, "verbs", [])}

resources(rule) := {x | some x in object.get(rule, "resources", [])}

admin_subject(s) if s.kind == "Group"

admin_subject(s) if s.name == "system:masters"

fail contains e if {
	some b in bindings
	b.roleRef.name == "cluster-admin"
	some s in object.get(b, "subjects", [])
	s.name != "system:masters"
	e := ev("RMP-K8S-RBAC-001", oloc(b, "roleRef"), concat("", [s.kind, "/", s.name, " bound to cluster-admin"]), "cluster-admin only for break-glass groups")
}

fail contains e if {
	some r in roles
	some i, rule in rule_list(r)
	"*" in verbs(rule)
	e := ev("RMP-K8S-RBAC-002", oloc(r, sprintf("rules[%d].verbs", [i])), "*", "named verbs")
}

fail contains e if {
	some r in roles
	some i, rule in rule_list(r)
	"*" in resources(rule)
	e := ev("RMP-K8S-RBAC-003", oloc(r, sprintf("rules[%d].resources", [i])), "*", "named resources")
}

# A rule grants `verb` (or *) on `resource`.
grants(rule, resource, wanted) if {
	resource in resources(rule)
	count(verbs(rule) & (wanted | {"*"})) > 0
}

grant_checks := {
	"RMP-K8S-RBAC-004": {"resource": "secrets", "verbs": {"get", "list", "watch"}},
	"RMP-K8S-RBAC-005": {"resource": "pods", "verbs": {"create"}},
	"RMP-K8S-RBAC-009": {"resource": "pods/exec", "verbs": {"create", "get"}},
	"RMP-K8S-RBAC-010": {"resource": "mutatingwebhookconfigurations", "verbs": {"create", "update", "patch", "delete"}},
	"RMP-K8S-RBAC-011": {"resource": "persistentvolumes", "verbs": {"create"}},
	"RMP-K8S-RBAC-012": {"resource": "serviceaccounts/token", "verbs": {"create"}},
}

extra_resources := {
	"RMP-K8S-RBAC-009": {"pods/attach"},
	"RMP-K8S-RBAC-010": {"validatingwebhookconfigurations"},
}

fail contains e if {
	some r in roles
	some i, rule in rule_list(r)
	some id, g in grant_checks
	some res in ({g.resource} | object.get(extra_resources, id, set()))
	grants(rule, res, g.verbs)
	e := ev(id, oloc(r, sprintf("rules[%d]", [i])), concat("", [concat(",", verbs(rule)), " on ", res]), "not granted")
}

fail contains e if {
	some r in roles
	some i, rule in rule_list(r)
	some v in verbs(rule) & {"escalate", "bind", "impersonate"}
	e := ev("RMP-K8S-RBAC-007", oloc(r, sprintf("rules[%d].verbs", [i])), v, "no escalate, bind or impersonate")
}

fail contains e if {
	some b in bindings
	some s in object.get(b, "subjects", [])
	s.kind == "ServiceAccount"
	s.name == "default"
	e := ev("RMP-K8S-RBAC-006", oloc(b, "subjects"), concat("", ["ServiceAccount ", object.get(s, "namespace", ""), "/default"]), "a dedicated service account")
}

fail contains e if {
	some b in bindings
	some s in object.get(b, "subjects", [])
	s.name in {"system:anonymous", "system:unauthenticated"}
	e := ev("RMP-K8S-RBAC-008", oloc(b, "subjects"), s.name, "no anonymous or unauthenticated subjects")
}
