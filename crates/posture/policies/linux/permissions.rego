# File permissions: account databases, cron and at, banners, and the scan of
# system directories (world-writable, unowned, SUID/SGID files).
package rampart.linux.permissions

import data.rampart.lib.util

# path, the widest mode allowed, the owners and groups accepted.
file_checks := {
	"RMP-HOST-PERM-001": {"path": "/etc/passwd", "max": 420, "groups": {"root"}},
	"RMP-HOST-PERM-002": {"path": "/etc/passwd-", "max": 420, "groups": {"root"}},
	"RMP-HOST-PERM-003": {"path": "/etc/group", "max": 420, "groups": {"root"}},
	"RMP-HOST-PERM-004": {"path": "/etc/group-", "max": 420, "groups": {"root"}},
	"RMP-HOST-PERM-005": {"path": "/etc/shadow", "max": 416, "groups": {"root", "shadow"}},
	"RMP-HOST-PERM-006": {"path": "/etc/shadow-", "max": 416, "groups": {"root", "shadow"}},
	"RMP-HOST-PERM-007": {"path": "/etc/gshadow", "max": 416, "groups": {"root", "shadow"}},
	"RMP-HOST-PERM-008": {"path": "/etc/gshadow-", "max": 416, "groups": {"root", "shadow"}},
	"RMP-HOST-PERM-014": {"path": "/etc/crontab", "max": 384, "groups": {"root"}},
	"RMP-HOST-PERM-015": {"path": "/etc/cron.hourly", "max": 448, "groups": {"root"}},
	"RMP-HOST-PERM-016": {"path": "/etc/cron.daily", "max": 448, "groups": {"root"}},
	"RMP-HOST-PERM-017": {"path": "/etc/cron.weekly", "max": 448, "groups": {"root"}},
	"RMP-HOST-PERM-018": {"path": "/etc/cron.monthly", "max": 448, "groups": {"root"}},
	"RMP-HOST-PERM-019": {"path": "/etc/cron.d", "max": 448, "groups": {"root"}},
	"RMP-HOST-PERM-025": {"path": "/etc/issue", "max": 420, "groups": {"root"}},
	"RMP-HOST-PERM-026": {"path": "/etc/issue.net", "max": 420, "groups": {"root"}},
	"RMP-HOST-PERM-027": {"path": "/etc/security/opasswd", "max": 384, "groups": {"root"}},
}

fail contains e if {
	some id, c in file_checks
	f := input.files[c.path]
	not util.mode_within(f.mode, c.max)
	e := {"check": id, "file": c.path, "key": "mode", "found": f.perm, "expected": concat("", [{420: "0644", 416: "0640", 384: "0600", 448: "0700"}[c.max], " or stricter"])}
}

fail contains e if {
	some id, c in file_checks
	f := input.files[c.path]
	f.uid != 0
	e := {"check": id, "file": c.path, "key": "owner", "found": object.get(f, "owner", f.uid), "expected": "root"}
}

fail contains e if {
	some id, c in file_checks
	f := input.files[c.path]
	not f.group in c.groups
	e := {"check": id, "file": c.path, "key": "group", "found": object.get(f, "group", f.gid), "expected": concat(" or ", c.groups)}
}

skip contains {"check": id, "reason": sprintf("%s does not exist", [c.path])} if {
	some id, c in file_checks
	not input.files[c.path]
}

scan_checks := {
	"RMP-HOST-PERM-009": {"list": "world_writable", "what": "world-writable file"},
	"RMP-HOST-PERM-010": {"list": "unowned", "what": "owner is no known user"},
	"RMP-HOST-PERM-011": {"list": "ungrouped", "what": "group is no known group"},
}

fail contains e if {
	some id, c in scan_checks
	some p in input.scan[c.list]
	e := {"check": id, "file": p, "found": c.what, "expected": "not in system directories"}
}

# SUID/SGID programs that distributions ship; anything else is reported.
expected_privileged := {
	"passwd", "su", "sudo", "sudoedit", "mount", "umount", "chsh", "chfn", "newgrp", "gpasswd",
	"pkexec", "ping", "ping6", "ssh-keysign", "dbus-daemon-launch-helper", "unix_chkpwd",
	"chage", "expiry", "crontab", "at", "fusermount", "fusermount3", "pam_timestamp_check",
	"polkit-agent-helper-1", "ssh-agent", "wall", "write", "bsd-write", "utempter", "mount.nfs",
	"mount.cifs", "staprun", "Xorg.wrap", "newuidmap", "newgidmap", "snap-confine", "userhelper",
	"usernetctl", "unix2_chkpwd", "plocate", "mlocate", "locate", "dotlockfile", "mail-lock",
	"mail-unlock", "mail-touchlock", "lockdev", "postdrop", "postqueue", "netreport", "screen",
	"mount.ecryptfs_private", "ntfs-3g", "traceroute6.iputils", "arping", "vmware-user-suid-wrapper",
	"chrome-sandbox", "Xorg", "exim4", "procmail", "uuidd", "sg", "lppasswd",
}

base(p) := parts[count(parts) - 1] if parts := split(p, "/")

fail contains e if {
	some kind in ["suid", "sgid"]
	some p in input.scan[kind]
	not base(p) in expected_privileged
	e := {"check": "RMP-HOST-PERM-012", "file": p, "key": kind, "found": "unexpected", "expected": "only the distribution's set-id programs"}
}

cron_installed if util.any_installed(["cron", "cronie", "cronie-noanacron", "systemd-cron", "busybox-cron"])

cron_installed if input.files["/usr/bin/crontab"]

fail contains e if {
	cron_installed
	not util.any_enabled(["cron", "crond"])
	e := {"check": "RMP-HOST-PERM-013", "file": "/etc/systemd/system", "key": "cron.service", "found": "not enabled", "expected": "enabled"}
}

skip contains {"check": id, "reason": "cron is not installed"} if {
	some id in ["RMP-HOST-PERM-013", "RMP-HOST-PERM-020"]
	not cron_installed
}

fail contains e if {
	cron_installed
	not input.files["/etc/cron.allow"]
	e := {"check": "RMP-HOST-PERM-020", "file": "/etc/cron.allow", "found": "missing", "expected": "present, listing who may use cron"}
}

at_installed if input.files["/usr/bin/at"]

at_installed if util.installed("at")

fail contains e if {
	at_installed
	not input.files["/etc/at.allow"]
	e := {"check": "RMP-HOST-PERM-021", "file": "/etc/at.allow", "found": "missing", "expected": "present, listing who may use at"}
}

skip contains {"check": "RMP-HOST-PERM-021", "reason": "at is not installed"} if not at_installed

banner_ids := {"/etc/issue": "RMP-HOST-PERM-022", "/etc/issue.net": "RMP-HOST-PERM-023", "/etc/motd": "RMP-HOST-PERM-024"}

# getty escapes that print the OS and kernel, or the distribution's name.
fail contains e if {
	some path, text in input.banners
	id := banner_ids[path]
	regex.match(`\\[mrsv]`, text)
	e := {"check": id, "file": path, "found": "shows system information (\\m, \\r, \\s or \\v)", "expected": "a warning without OS details"}
}

fail contains e if {
	some path, text in input.banners
	id := banner_ids[path]
	os := input.os.id
	os != ""
	contains(lower(text), os)
	e := {"check": id, "file": path, "found": sprintf("names the operating system (%s)", [os]), "expected": "a warning without OS details"}
}

skip contains {"check": id, "reason": sprintf("%s does not exist", [path])} if {
	some path, id in banner_ids
	not input.banners[path]
}
