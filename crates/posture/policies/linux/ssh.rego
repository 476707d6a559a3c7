# SSH server configuration: the effective global sshd settings (first value
# wins, Include files expanded, OpenSSH defaults for what is unset).
package rampart.linux.ssh

import data.rampart.lib.util

cfg := input.ssh.config

where(key) := input.ssh.set[key].file

where(key) := "/etc/ssh/sshd_config" if not input.ssh.set[key]

ev(id, key, want) := {"check": id, "file": where(key), "key": key, "found": cfg[key], "expected": want}

# Settings that must have one exact value (case-insensitive).
exact := {
	"RMP-HOST-SSH-003": {"key": "permitrootlogin", "want": "no"},
	"RMP-HOST-SSH-004": {"key": "permitemptypasswords", "want": "no"},
	"RMP-HOST-SSH-005": {"key": "hostbasedauthentication", "want": "no"},
	"RMP-HOST-SSH-006": {"key": "ignorerhosts", "want": "yes"},
	"RMP-HOST-SSH-007": {"key": "x11forwarding", "want": "no"},
	"RMP-HOST-SSH-012": {"key": "permituserenvironment", "want": "no"},
	"RMP-HOST-SSH-016": {"key": "usepam", "want": "yes"},
	"RMP-HOST-SSH-020": {"key": "allowtcpforwarding", "want": "no"},
	"RMP-HOST-SSH-021": {"key": "gssapiauthentication", "want": "no"},
}

fail contains e if {
	some id, c in exact
	lower(cfg[c.key]) != c.want
	e := ev(id, c.key, c.want)
}

# 001: the configuration file is readable by root only.
fail contains e if {
	f := input.files["/etc/ssh/sshd_config"]
	not util.mode_within(f.mode, 384)
	e := {"check": "RMP-HOST-SSH-001", "file": "/etc/ssh/sshd_config", "key": "mode", "found": f.perm, "expected": "0600 or stricter"}
}

fail contains e if {
	f := input.files["/etc/ssh/sshd_config"]
	f.uid != 0
	e := {"check": "RMP-HOST-SSH-001", "file": "/etc/ssh/sshd_config", "key": "owner", "found": f.owner, "expected": "root"}
}

# 002: host private keys are readable by root only (0640 with the
# ssh_keys group, RHEL's layout, is accepted).
fail contains e if {
	some path, f in input.ssh.host_keys
	not util.mode_within(f.mode, 384)
	not key_group_ok(f)
	e := {"check": "RMP-HOST-SSH-002", "file": path, "key": "mode", "found": f.perm, "expected": "0600 (or 0640 with group ssh_keys)"}
}

key_group_ok(f) if {
	f.group == "ssh_keys"
	util.mode_within(f.mode, 416)
}

fail contains e if {
	to_number(cfg.maxauthtries) > 4
	e := ev("RMP-HOST-SSH-008", "maxauthtries", "4 or fewer")
}

fail contains e if {
	s := util.seconds(cfg.logingracetime)
	not between(s, 1, 60)
	e := ev("RMP-HOST-SSH-009", "logingracetime", "1 to 60 seconds")
}

fail contains e if {
	s := util.seconds(cfg.clientaliveinterval)
	not between(s, 1, 900)
	e := ev("RMP-HOST-SSH-010", "clientaliveinterval", "1 to 900 seconds")
}

between(x, lo, hi) if {
	x >= lo
	x <= hi
}

fail contains e if {
	not upper(cfg.loglevel) in {"INFO", "VERBOSE"}
	e := ev("RMP-HOST-SSH-011", "loglevel", "INFO or VERBOSE")
}

fail contains e if {
	lower(cfg.banner) == "none"
	e := ev("RMP-HOST-SSH-013", "banner", "a banner file")
}

# 014: MaxStartups start:rate:full no looser than 10:30:60.
fail contains e if {
	parts := split(cfg.maxstartups, ":")
	count(parts) == 3
	some i, limit in [10, 30, 60]
	to_number(parts[i]) > limit
	e := ev("RMP-HOST-SSH-014", "maxstartups", "10:30:60 or stricter")
}

fail contains e if {
	parts := split(cfg.maxstartups, ":")
	count(parts) == 1
	to_number(parts[0]) > 10
	e := ev("RMP-HOST-SSH-014", "maxstartups", "10:30:60 or stricter")
}

fail contains e if {
	to_number(cfg.maxsessions) > 10
	e := ev("RMP-HOST-SSH-015", "maxsessions", "10 or fewer")
}

weak := {
	"ciphers": `(?i)(-cbc|arcfour|3des|blowfish|cast128|rijndael)`,
	"macs": `(?i)(md5|-96|umac-64(@|$)|hmac-sha1(@|$|,))`,
	"kexalgorithms": `(?i)(diffie-hellman-group1-sha1|diffie-hellman-group14-sha1|diffie-hellman-group-exchange-sha1)`,
}

weak_ids := {"ciphers": "RMP-HOST-SSH-017", "macs": "RMP-HOST-SSH-018", "kexalgorithms": "RMP-HOST-SSH-019"}

fail contains e if {
	some key, pattern in weak
	some alg in split(cfg[key], ",")
	regex.match(pattern, trim_space(alg))
	e := ev(weak_ids[key], key, "no weak algorithms")
}

# 022: access is limited to named users or groups.
fail contains e if {
	not cfg.allowusers
	not cfg.allowgroups
	not cfg.denyusers
	not cfg.denygroups
	e := {"check": "RMP-HOST-SSH-022", "file": "/etc/ssh/sshd_config", "key": "AllowUsers/AllowGroups/DenyUsers/DenyGroups", "found": null, "expected": "at least one set"}
}
