# Access and authentication: sudo, PAM, password policy, shell defaults.
package rampart.linux.access

import data.rampart.lib.util

defaults := [d.value | some d in input.sudo.defaults]

fail contains e if {
	not input.sudo.present
	e := {"check": "RMP-HOST-AUTH-001", "key": "sudo", "found": "not installed", "expected": "installed"}
}

fail contains e if {
	input.sudo.present
	not "use_pty" in defaults
	e := {"check": "RMP-HOST-AUTH-002", "file": "/etc/sudoers", "key": "Defaults use_pty", "found": null, "expected": "use_pty"}
}

fail contains e if {
	input.sudo.present
	not sudo_logs
	e := {"check": "RMP-HOST-AUTH-003", "file": "/etc/sudoers", "key": "Defaults logfile", "found": null, "expected": "logfile=/var/log/sudo.log"}
}

sudo_logs if {
	some d in defaults
	startswith(d, "logfile")
}

fail contains e if {
	some r in input.sudo.nopasswd
	e := {"check": "RMP-HOST-AUTH-004", "file": r.file, "line": r.line, "key": "NOPASSWD", "found": r.text, "expected": "a password for sudo"}
}

# su is limited to a group through pam_wheel.
fail contains e if {
	not su_restricted
	e := {"check": "RMP-HOST-AUTH-005", "file": "/etc/pam.d/su", "key": "pam_wheel.so", "found": "not required", "expected": "auth required pam_wheel.so use_uid group=..."}
}

su_restricted if {
	some l in input.pam.files.su
	l.type == "auth"
	l.module == "pam_wheel.so"
	"use_uid" in l.args
}

pwq := object.get(input.pam, "pwquality", {})

password_lines := util.pam_lines("password")

# A quality setting: the pam_pwquality/pam_cracklib arguments win over
# pwquality.conf; when several lines set it, the largest value counts.
quality_args(key) := {n |
	some l in password_lines
	l.module in {"pam_pwquality.so", "pam_cracklib.so"}
	n := to_number(util.pam_arg(l, key))
}

quality(key) := max(quality_args(key)) if count(quality_args(key)) > 0

quality(key) := to_number(pwq[key]) if count(quality_args(key)) == 0

quality_module if {
	some l in password_lines
	l.module in {"pam_pwquality.so", "pam_cracklib.so"}
}

fail contains e if {
	not quality_module
	e := {"check": "RMP-HOST-AUTH-006", "file": "/etc/pam.d/common-password", "key": "pam_pwquality.so", "found": "not in the password stack", "expected": "password requisite pam_pwquality.so"}
}

fail contains e if {
	quality_module
	not quality("minlen") >= 14
	e := {"check": "RMP-HOST-AUTH-006", "file": "/etc/security/pwquality.conf", "key": "minlen", "found": object.get(pwq, "minlen", null), "expected": "14 or more"}
}

# Complexity: minclass 4, or every credit negative.
complex if quality("minclass") >= 4

complex if {
	every k in ["dcredit", "ucredit", "lcredit", "ocredit"] {
		quality(k) < 0
	}
}

fail contains e if {
	quality_module
	not complex
	e := {"check": "RMP-HOST-AUTH-007", "file": "/etc/security/pwquality.conf", "key": "minclass", "found": object.get(pwq, "minclass", null), "expected": "4 (or every credit -1)"}
}

auth_modules := {l.module | some l in util.pam_lines("auth")}

fail contains e if {
	not "pam_faillock.so" in auth_modules
	not "pam_tally2.so" in auth_modules
	e := {"check": "RMP-HOST-AUTH-008", "file": "/etc/pam.d/common-auth", "key": "pam_faillock.so", "found": "not in the auth stack", "expected": "pam_faillock.so preauth and authfail"}
}

remembers := {n |
	some l in password_lines
	l.module in {"pam_pwhistory.so", "pam_unix.so"}
	n := to_number(util.pam_arg(l, "remember"))
}

default most_remembered := null

most_remembered := max(remembers) if count(remembers) > 0

fail contains e if {
	not remembered
	e := {"check": "RMP-HOST-AUTH-009", "file": "/etc/pam.d/common-password", "key": "remember", "found": most_remembered, "expected": "5 or more (pam_pwhistory.so)"}
}

remembered if max(remembers) >= 5

strong_hashes := {"sha512", "yescrypt", "gost_yescrypt", "blowfish"}

fail contains e if {
	some f in util.pam_stack_files
	some l in object.get(input.pam.files, f, [])
	l.type == "password"
	l.module == "pam_unix.so"
	algs := {a | some a in l.args; a in {"md5", "bigcrypt", "sha256", "sha512", "yescrypt", "gost_yescrypt", "blowfish", "descrypt"}}
	count(algs) > 0
	count(algs & strong_hashes) == 0
	e := {"check": "RMP-HOST-AUTH-010", "file": concat("", ["/etc/pam.d/", f]), "key": "pam_unix.so hash", "found": concat(",", algs), "expected": "yescrypt or sha512"}
}

fail contains e if {
	m := object.get(input.login_defs, "ENCRYPT_METHOD", "DES")
	not lower(m) in strong_hashes
	e := {"check": "RMP-HOST-AUTH-010", "file": "/etc/login.defs", "key": "ENCRYPT_METHOD", "found": m, "expected": "YESCRYPT or SHA512"}
}

defs_checks := {
	"RMP-HOST-AUTH-011": {"key": "PASS_MAX_DAYS", "op": "max", "limit": 365, "default": "99999"},
	"RMP-HOST-AUTH-012": {"key": "PASS_MIN_DAYS", "op": "min", "limit": 1, "default": "0"},
	"RMP-HOST-AUTH-013": {"key": "PASS_WARN_AGE", "op": "min", "limit": 7, "default": "7"},
}

fail contains e if {
	some id, c in defs_checks
	v := object.get(input.login_defs, c.key, c.default)
	not within(to_number(v), c.op, c.limit)
	e := {"check": id, "file": "/etc/login.defs", "key": c.key, "found": v, "expected": sprintf("%s %d", [{"max": "at most", "min": "at least"}[c.op], c.limit])}
}

within(x, "max", limit) if x <= limit

within(x, "min", limit) if x >= limit

fail contains e if {
	v := object.get(object.get(input, "useradd", {}), "INACTIVE", "-1")
	not inactive_ok(to_number(v))
	e := {"check": "RMP-HOST-AUTH-014", "file": "/etc/default/useradd", "key": "INACTIVE", "found": v, "expected": "0 to 30 days"}
}

inactive_ok(n) if {
	n >= 0
	n <= 30
}

# Users with a password whose maximum age is over a year.
fail contains e if {
	some s in input.shadow
	s.state == "hash"
	not max_age_ok(s.max_days)
	e := {"check": "RMP-HOST-AUTH-015", "file": "/etc/shadow", "key": s.name, "found": s.max_days, "expected": "password maximum age 365 days or less"}
}

max_age_ok(n) if {
	is_number(n)
	n <= 365
}

umask_ok(v) if to_number(trim_left(v, "0")) >= 27

umask_values := [u.value | some u in input.shell.umask]

fail contains e if {
	v := object.get(input.login_defs, "UMASK", "022")
	not umask_ok(v)
	count([u | some u in umask_values; umask_ok(u)]) == 0
	e := {"check": "RMP-HOST-AUTH-016", "file": "/etc/login.defs", "key": "UMASK", "found": v, "expected": "027 or stricter"}
}

fail contains e if {
	some u in input.shell.umask
	not umask_ok(u.value)
	e := {"check": "RMP-HOST-AUTH-016", "file": u.file, "line": u.line, "key": "umask", "found": u.value, "expected": "027 or stricter"}
}

tmout_ok if {
	some t in input.shell.tmout
	t.value > 0
	t.value <= 900
}

fail contains e if {
	not tmout_ok
	e := {"check": "RMP-HOST-AUTH-017", "file": "/etc/profile.d", "key": "TMOUT", "found": null, "expected": "readonly TMOUT=900 or less"}
}

# pam_unix with nullok admits accounts with empty passwords.
fail contains e if {
	some f in util.pam_stack_files
	some l in object.get(input.pam.files, f, [])
	l.type == "auth"
	l.module == "pam_unix.so"
	"nullok" in l.args
	e := {"check": "RMP-HOST-AUTH-018", "file": concat("", ["/etc/pam.d/", f]), "key": "pam_unix.so nullok", "found": "nullok", "expected": "no nullok"}
}
