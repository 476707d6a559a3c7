# Logging and auditing: auditd, its rules and settings, journald.
package rampart.linux.logging

import data.rampart.lib.util

fail contains e if {
	not input.audit.installed
	e := {"check": "RMP-HOST-LOG-001", "key": "auditd", "found": "not installed", "expected": "installed"}
}

fail contains e if {
	input.audit.installed
	not util.enabled("auditd")
	e := {"check": "RMP-HOST-LOG-002", "file": "/etc/systemd/system", "key": "auditd.service", "found": "not enabled", "expected": "enabled"}
}

rules := [r.rule | some r in input.audit.rules]

# A file watch (`-w PATH -p ...wa...`) or a syscall rule on that path.
watched(path) if {
	some r in rules
	startswith(r, concat("", ["-w ", path, " "]))
	contains(r, "-p")
}

watched(path) if {
	some r in rules
	contains(r, concat("", ["-F path=", path]))
}

watched(path) if {
	some r in rules
	contains(r, concat("", ["-F dir=", path]))
}

watch_checks := {
	"RMP-HOST-LOG-003": ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"],
	"RMP-HOST-LOG-004": ["/etc/sudoers"],
	"RMP-HOST-LOG-005": ["/var/log/lastlog"],
}

fail contains e if {
	some id, paths in watch_checks
	some p in paths
	not watched(p)
	e := {"check": id, "file": "/etc/audit/rules.d", "key": p, "found": "not watched", "expected": concat("", ["-w ", p, " -p wa"])}
}

syscall_checks := {
	"RMP-HOST-LOG-006": {"calls": ["adjtimex", "settimeofday", "clock_settime"], "what": "time changes"},
	"RMP-HOST-LOG-007": {"calls": ["init_module", "finit_module", "delete_module"], "what": "kernel module loading"},
}

audited(call) if {
	some r in rules
	contains(r, "-S")
	regex.match(concat("", [`(^|[\s,])`, call, `($|[\s,])`]), r)
}

fail contains e if {
	some id, c in syscall_checks
	some call in c.calls
	not audited(call)
	e := {"check": id, "file": "/etc/audit/rules.d", "key": call, "found": "not audited", "expected": concat("", ["-a always,exit -S ", call, " (", c.what, ")"])}
}

fail contains e if {
	not "-e 2" in rules
	e := {"check": "RMP-HOST-LOG-008", "file": "/etc/audit/rules.d", "key": "-e", "found": "not immutable", "expected": "-e 2 as the last rule"}
}

fail contains e if {
	v := object.get(object.get(input.audit, "conf", {}), "max_log_file_action", "rotate")
	lower(v) != "keep_logs"
	e := {"check": "RMP-HOST-LOG-009", "file": "/etc/audit/auditd.conf", "key": "max_log_file_action", "found": v, "expected": "keep_logs"}
}

# Logs survive a reboot: journald stores them on disk, or rsyslog is there.
persistent if lower(object.get(input.journald, "Storage", "auto")) == "persistent"

persistent if util.installed("rsyslog")

persistent if input.files["/etc/rsyslog.conf"]

fail contains e if {
	not persistent
	e := {"check": "RMP-HOST-LOG-010", "file": "/etc/systemd/journald.conf", "key": "Storage", "found": object.get(input.journald, "Storage", "auto"), "expected": "persistent (or rsyslog installed)"}
}

fail contains e if {
	v := object.get(input.journald, "Compress", "yes")
	lower(v) == "no"
	e := {"check": "RMP-HOST-LOG-011", "file": "/etc/systemd/journald.conf", "key": "Compress", "found": v, "expected": "yes"}
}

fail contains e if {
	f := input.files["/var/log"]
	not util.mode_within(f.mode, 509)
	e := {"check": "RMP-HOST-LOG-012", "file": "/var/log", "key": "mode", "found": f.perm, "expected": "0775 or stricter (not world-writable)"}
}
