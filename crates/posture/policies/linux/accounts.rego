# Users and groups: /etc/passwd, /etc/group and /etc/shadow consistency.
package rampart.linux.accounts

fail contains e if {
	some s in input.shadow
	s.state == "empty"
	e := {"check": "RMP-HOST-USER-001", "file": "/etc/shadow", "key": s.name, "found": "empty password", "expected": "a password or a locked account"}
}

fail contains e if {
	some u in input.users
	u.password in {"hash", "empty"}
	e := {"check": "RMP-HOST-USER-002", "file": "/etc/passwd", "key": u.name, "found": {"hash": "password field holds a hash", "empty": "password field is empty"}[u.password], "expected": "x (password in /etc/shadow)"}
}

fail contains e if {
	some u in input.users
	startswith(u.name, "+")
	e := {"check": "RMP-HOST-USER-003", "file": "/etc/passwd", "key": u.name, "found": "legacy NIS entry", "expected": "no + entries"}
}

fail contains e if {
	some u in input.users
	u.uid == 0
	u.name != "root"
	e := {"check": "RMP-HOST-USER-004", "file": "/etc/passwd", "key": u.name, "found": "UID 0", "expected": "only root has UID 0"}
}

duplicates(items, field) := {v |
	some i, a in items
	some j, b in items
	i < j
	a[field] == b[field]
	v := a[field]
}

dup_checks := {
	"RMP-HOST-USER-005": {"items": "users", "field": "uid", "file": "/etc/passwd"},
	"RMP-HOST-USER-006": {"items": "groups", "field": "gid", "file": "/etc/group"},
	"RMP-HOST-USER-007": {"items": "users", "field": "name", "file": "/etc/passwd"},
	"RMP-HOST-USER-008": {"items": "groups", "field": "name", "file": "/etc/group"},
}

fail contains e if {
	some id, c in dup_checks
	some v in duplicates(input[c.items], c.field)
	v != null
	e := {"check": id, "file": c.file, "key": c.field, "found": v, "expected": "unique"}
}

gids := {g.gid | some g in input.groups}

fail contains e if {
	some u in input.users
	not u.gid in gids
	e := {"check": "RMP-HOST-USER-009", "file": "/etc/passwd", "key": u.name, "found": u.gid, "expected": "a GID defined in /etc/group"}
}

fail contains e if {
	some g in input.groups
	g.name == "shadow"
	count(g.members) > 0
	e := {"check": "RMP-HOST-USER-010", "file": "/etc/group", "key": "shadow", "found": concat(",", g.members), "expected": "no members"}
}

fail contains e if {
	some u in input.users
	u.name == "root"
	u.gid != 0
	e := {"check": "RMP-HOST-USER-011", "file": "/etc/passwd", "key": "root", "found": u.gid, "expected": 0}
}

uid_min := to_number(object.get(input.login_defs, "UID_MIN", "1000"))

nologin_shells := {"/usr/sbin/nologin", "/sbin/nologin", "/bin/false", "/usr/bin/false", "/bin/nologin", "/usr/bin/nologin"}

exempt := {"root", "sync", "shutdown", "halt"}

fail contains e if {
	some u in input.users
	u.uid < uid_min
	u.uid != 65534
	not u.name in exempt
	not u.shell in nologin_shells
	u.shell != ""
	e := {"check": "RMP-HOST-USER-012", "file": "/etc/passwd", "key": u.name, "found": u.shell, "expected": "/usr/sbin/nologin"}
}

fail contains e if {
	some s in input.shadow
	s.state == "hash"
	s.algorithm in {"md5", "des", "sha256"}
	e := {"check": "RMP-HOST-USER-013", "file": "/etc/shadow", "key": s.name, "found": s.algorithm, "expected": "yescrypt or sha512"}
}
