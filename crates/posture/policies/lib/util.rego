# Helpers shared by Rampart's built-in policies. User policies may import
# them too: `import data.rampart.lib.util`.
package rampart.lib.util

# Package facts were read (dpkg or apk). On rpm systems they are null, and
# package checks are skipped or fall back on files.
packages_known if input.packages.installed

installed(name) if input.packages.installed[name]

any_installed(names) if {
	some n in names
	installed(n)
}

enabled(unit) if {
	some u in input.services.enabled
	u in {unit, concat("", [unit, ".service"]), concat("", [unit, ".socket"])}
}

any_enabled(units) if {
	some u in units
	enabled(u)
}

# The permission bits of `mode` are all within `max` (both integers).
mode_within(mode, max) if bits.and(bits.and(mode, 4095), bits.negate(max)) == 0

# The number of seconds an sshd time value means (`60`, `60s`, `1m`, `1h`).
seconds(v) := to_number(trim_suffix(v, "s")) if regex.match(`^[0-9]+s?$`, v)

seconds(v) := to_number(trim_suffix(v, "m")) * 60 if regex.match(`^[0-9]+m$`, v)

seconds(v) := to_number(trim_suffix(v, "h")) * 3600 if regex.match(`^[0-9]+h$`, v)

# Where a kernel parameter's value came from, for evidence.
sysctl_file(key) := concat("", ["/proc/sys/", replace(key, ".", "/")]) if input.sysctl.source == "live"

sysctl_file(key) := object.get(input.sysctl.origin, key, "(not set)") if input.sysctl.source != "live"

# PAM lines of one type across the files that hold the shared stacks
# (Debian's common-*, RHEL's system-auth and password-auth).
pam_stack_files := ["common-auth", "common-password", "common-account", "common-session", "system-auth", "password-auth"]

pam_lines(kind) := [l |
	some f in pam_stack_files
	some l in object.get(input.pam.files, f, [])
	l.type == kind
]

# The first stack file with a `kind` line for `module` (one value even when
# several files have one).
pam_file_of(kind, module) := concat("", ["/etc/pam.d/", files[0]]) if {
	files := [f |
		some f in pam_stack_files
		some l in object.get(input.pam.files, f, [])
		l.type == kind
		l.module == module
	]
	count(files) > 0
}

# `key=value` argument of a PAM line, if present (the last one when repeated).
pam_arg(line, key) := vals[count(vals) - 1] if {
	vals := [substring(a, count(key) + 1, -1) | some a in line.args; startswith(a, concat("", [key, "="]))]
	count(vals) > 0
}

# The manifest location of a Kubernetes object record, for evidence.
k8s_loc(r) := {"file": r.source.file, "line": r.source.line, "resource": r.resource}
