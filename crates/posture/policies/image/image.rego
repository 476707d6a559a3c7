# Container images (configuration, history, files) and Dockerfiles.
package rampart.image

img := input.image

secret_name := `(?i)(passw(or)?d|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|client[_-]?key)`

# A literal value, not a reference to one (`$VAR`, a file path, empty).
literal(v) if {
	v != ""
	not startswith(v, "$")
	not startswith(v, "/")
}

secret_var(name) if {
	regex.match(secret_name, name)
	not regex.match(`(?i)(_FILE|_PATH|_DIR|_URL|_ENDPOINT)$`, name)
}

root_user(u) if u in {"", "root", "0"}

root_user(u) if startswith(u, "root:")

root_user(u) if startswith(u, "0:")

# ---- image configuration and history ----

fail contains e if {
	root_user(img.user)
	e := {"check": "RMP-IMG-001", "resource": img.reference, "key": "config.User", "found": img.user, "expected": "a non-root user"}
}

fail contains e if {
	not img.healthcheck
	e := {"check": "RMP-IMG-002", "resource": img.reference, "key": "config.Healthcheck", "found": null, "expected": "a HEALTHCHECK"}
}

fail contains e if {
	some env in img.env
	secret_var(env.name)
	literal(env.value)
	e := {"check": "RMP-IMG-003", "resource": img.reference, "key": concat("", ["ENV ", env.name]), "found": "a literal value (not shown)", "expected": "secrets passed at run time"}
}

history := [h | some h in img.history; is_string(h.created_by)]

fail contains e if {
	some h in img.history
	some arg in object.get(h, "build_args", [])
	secret_var(arg.name)
	literal(arg.value)
	e := {"check": "RMP-IMG-004", "resource": img.reference, "key": sprintf("history[%d] build argument %s", [h.index, arg.name]), "found": "a literal value (not shown)", "expected": "build secrets (--secret) instead of ARG"}
}

fail contains e if {
	some h in history
	regex.match(`(?i)(^|#\(nop\)\s*)ADD\s+(--\S+\s+)*(https?|ftp)://`, h.created_by)
	e := {"check": "RMP-IMG-005", "resource": img.reference, "key": sprintf("history[%d]", [h.index]), "found": h.created_by, "expected": "COPY of a verified download"}
}

fail contains e if {
	some c in img.caches
	c.files > 0
	e := {"check": "RMP-IMG-006", "resource": img.reference, "file": c.path, "found": sprintf("%d files, %d bytes", [c.files, c.bytes]), "expected": "empty (cleaned in the same layer)"}
}

fail contains e if {
	some p in ["/usr/bin/sudo", "/bin/sudo"]
	img.files[p]
	e := {"check": "RMP-IMG-007", "resource": img.reference, "file": p, "found": "present", "expected": "absent"}
}

expected_privileged := {
	"passwd", "su", "mount", "umount", "chsh", "chfn", "newgrp", "gpasswd", "unix_chkpwd",
	"chage", "expiry", "ping", "ssh-keysign", "pam_timestamp_check", "wall", "write",
}

fail contains e if {
	some kind in ["suid", "sgid"]
	some f in img[kind]
	parts := split(f.path, "/")
	not parts[count(parts) - 1] in expected_privileged
	e := {"check": "RMP-IMG-008", "resource": img.reference, "file": f.path, "key": kind, "found": sprintf("set-id program added in layer %d", [f.layer]), "expected": "no set-id bit"}
}

fail contains e if {
	some h in history
	regex.match(`apt-get\s+(-\S+\s+)*update`, h.created_by)
	not regex.match(`apt-get\s+(-\S+\s+)*install`, h.created_by)
	e := {"check": "RMP-IMG-009", "resource": img.reference, "key": sprintf("history[%d]", [h.index]), "found": h.created_by, "expected": "apt-get update && apt-get install in one RUN"}
}

fail contains e if {
	img.files["/usr/sbin/sshd"]
	e := {"check": "RMP-IMG-010", "resource": img.reference, "file": "/usr/sbin/sshd", "found": "present", "expected": "no SSH server in the image"}
}

pipe_to_shell := `(?i)(curl|wget)[^|;&]*\|\s*(sudo\s+)?(ba|da|z)?sh\b`

fail contains e if {
	some h in history
	regex.match(pipe_to_shell, h.created_by)
	e := {"check": "RMP-IMG-011", "resource": img.reference, "key": sprintf("history[%d]", [h.index]), "found": h.created_by, "expected": "download, verify a checksum, then run"}
}

fail contains e if {
	some p in img.exposed_ports
	split(p, "/")[0] in {"22", "23"}
	e := {"check": "RMP-IMG-012", "resource": img.reference, "key": "config.ExposedPorts", "found": p, "expected": "no SSH or telnet port"}
}

# ---- Dockerfiles ----

instructions(df, cmd) := [i | some i in df.instructions; i.cmd == cmd]

final_instructions(df, cmd) := [i | some i in df.instructions; i.cmd == cmd; i.stage == df.final_stage]

dfe(df, id, i, found, expected) := {"check": id, "file": df.file, "line": i.line, "key": i.cmd, "found": found, "expected": expected}

fail contains e if {
	some df in input.dockerfiles
	users := final_instructions(df, "USER")
	count(users) == 0
	stage := df.stages[df.final_stage]
	e := {"check": "RMP-DF-001", "file": df.file, "line": stage.line, "key": "USER", "found": "no USER in the final stage", "expected": "USER with a non-root user"}
}

fail contains e if {
	some df in input.dockerfiles
	users := final_instructions(df, "USER")
	count(users) > 0
	last := users[count(users) - 1]
	root_user(trim_space(last.args))
	e := dfe(df, "RMP-DF-001", last, last.args, "a non-root user")
}

fail contains e if {
	some df in input.dockerfiles
	count(final_instructions(df, "HEALTHCHECK")) == 0
	stage := df.stages[df.final_stage]
	e := {"check": "RMP-DF-002", "file": df.file, "line": stage.line, "key": "HEALTHCHECK", "found": null, "expected": "a HEALTHCHECK instruction"}
}

# Base image reference without registry port confusion: the tag follows
# the last colon after the last slash.
tag_of(ref) := t if {
	not contains(ref, "@")
	parts := split(ref, "/")
	last := parts[count(parts) - 1]
	contains(last, ":")
	t := split(last, ":")[1]
}

external_stages(df) := [s | some s in df.stages; not s.local; not s.variable]

fail contains e if {
	some df in input.dockerfiles
	some s in external_stages(df)
	not contains(s.base, "@")
	not tag_of(s.base)
	e := {"check": "RMP-DF-003", "file": df.file, "line": s.line, "key": "FROM", "found": s.base, "expected": "an explicit version tag or digest"}
}

fail contains e if {
	some df in input.dockerfiles
	some s in external_stages(df)
	tag_of(s.base) == "latest"
	e := {"check": "RMP-DF-003", "file": df.file, "line": s.line, "key": "FROM", "found": s.base, "expected": "an explicit version tag or digest"}
}

fail contains e if {
	some df in input.dockerfiles
	some s in external_stages(df)
	not contains(s.base, "@sha256:")
	e := {"check": "RMP-DF-004", "file": df.file, "line": s.line, "key": "FROM", "found": s.base, "expected": "pinned by digest (image@sha256:...)"}
}

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "ADD")
	regex.match(`(?i)^(https?|ftp)://`, trim_space(i.args))
	e := dfe(df, "RMP-DF-005", i, i.args, "COPY of a download verified by checksum (or ADD --checksum)")
}

archive := `(?i)\.(tar|tar\.gz|tgz|tar\.bz2|tbz2|tar\.xz|txz|tar\.zst)(\s|$)`

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "ADD")
	not regex.match(`(?i)^(https?|ftp)://`, trim_space(i.args))
	not regex.match(`^git@`, trim_space(i.args))
	not regex.match(archive, i.args)
	e := dfe(df, "RMP-DF-006", i, i.args, "COPY for local files")
}

fail contains e if {
	some df in input.dockerfiles
	some i in df.instructions
	i.cmd in {"ENV", "ARG"}
	some kv in regex.split(`\s+`, trim_space(i.args))
	contains(kv, "=")
	parts := split(kv, "=")
	secret_var(parts[0])
	literal(trim(parts[1], `"'`))
	e := dfe(df, "RMP-DF-007", i, concat("", [i.cmd, " ", parts[0], "=... (value not shown)"]), "secrets mounted at build (RUN --mount=type=secret) or given at run time")
}

fail contains e if {
	some df in input.dockerfiles
	some i in df.instructions
	i.cmd == "ENV"
	not contains(i.args, "=")
	words := regex.split(`\s+`, trim_space(i.args))
	count(words) > 1
	secret_var(words[0])
	literal(words[1])
	e := dfe(df, "RMP-DF-007", i, concat("", ["ENV ", words[0], " ... (value not shown)"]), "secrets given at run time")
}

# Package installs that leave their cache in the layer.
leaves_cache(run) if {
	regex.match(`apt-get\s+(-\S+\s+)*install`, run)
	not contains(run, "/var/lib/apt/lists")
	not contains(run, "--mount=type=cache")
}

leaves_cache(run) if {
	regex.match(`apk\s+(-\S+\s+)*add`, run)
	not contains(run, "--no-cache")
	not contains(run, "/var/cache/apk")
}

leaves_cache(run) if {
	regex.match(`(yum|dnf|microdnf)\s+(-\S+\s+)*install`, run)
	not regex.match(`(yum|dnf|microdnf)\s+(-\S+\s+)*clean\s+all`, run)
	not contains(run, "/var/cache/")
}

leaves_cache(run) if {
	regex.match(`pip3?\s+install`, run)
	not contains(run, "--no-cache-dir")
	not contains(run, "PIP_NO_CACHE_DIR")
}

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "RUN")
	not "--mount=type=cache" in i.flags
	leaves_cache(i.args)
	e := dfe(df, "RMP-DF-008", i, i.args, "the package cache removed in the same RUN (or --no-cache)")
}

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "RUN")
	regex.match(`apt-get\s+(-\S+\s+)*update`, i.args)
	not regex.match(`apt-get\s+(-\S+\s+)*install`, i.args)
	e := dfe(df, "RMP-DF-009", i, i.args, "apt-get update && apt-get install in one RUN")
}

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "RUN")
	regex.match(`(^|[;&|]\s*|\s)sudo\s`, i.args)
	e := dfe(df, "RMP-DF-010", i, i.args, "no sudo (the build already runs as the USER in effect)")
}

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "RUN")
	regex.match(pipe_to_shell, i.args)
	e := dfe(df, "RMP-DF-011", i, i.args, "download, verify a checksum, then run")
}

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "RUN")
	regex.match(`chmod\s+(-R\s+)?(0?777|a\+w|o\+w)\b`, i.args)
	e := dfe(df, "RMP-DF-012", i, i.args, "no world-writable permissions")
}

fail contains e if {
	some df in input.dockerfiles
	some i in instructions(df, "EXPOSE")
	some p in regex.split(`\s+`, trim_space(i.args))
	split(p, "/")[0] in {"22", "23"}
	e := dfe(df, "RMP-DF-013", i, p, "no SSH or telnet port")
}
