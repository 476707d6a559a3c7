# Boot loader and process hardening.
package rampart.linux.boot

import data.rampart.lib.util

grub := [p | some p in ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"]; input.files[p]]

fail contains e if {
	some p in grub
	f := input.files[p]
	not util.mode_within(f.mode, 384)
	e := {"check": "RMP-HOST-BOOT-001", "file": p, "key": "mode", "found": f.perm, "expected": "0600 or stricter"}
}

fail contains e if {
	some p in grub
	f := input.files[p]
	f.uid != 0
	e := {"check": "RMP-HOST-BOOT-001", "file": p, "key": "owner", "found": f.owner, "expected": "root"}
}

skip contains {"check": "RMP-HOST-BOOT-001", "reason": "no GRUB configuration"} if count(grub) == 0

# Kernel parameters with an exact expected value.
params := {
	"RMP-HOST-BOOT-002": {"key": "kernel.randomize_va_space", "want": "2"},
	"RMP-HOST-BOOT-003": {"key": "fs.suid_dumpable", "want": "0"},
	"RMP-HOST-BOOT-004": {"key": "kernel.dmesg_restrict", "want": "1"},
	"RMP-HOST-BOOT-007": {"key": "fs.protected_hardlinks", "want": "1"},
	"RMP-HOST-BOOT-008": {"key": "fs.protected_symlinks", "want": "1"},
}

fail contains e if {
	some id, c in params
	got := input.sysctl.values[c.key]
	got != c.want
	e := {"check": id, "file": util.sysctl_file(c.key), "key": c.key, "found": got, "expected": c.want}
}

# Kernel parameters with a minimum.
minimums := {
	"RMP-HOST-BOOT-005": {"key": "kernel.kptr_restrict", "min": 1},
	"RMP-HOST-BOOT-006": {"key": "kernel.yama.ptrace_scope", "min": 1},
}

fail contains e if {
	some id, c in minimums
	got := input.sysctl.values[c.key]
	to_number(got) < c.min
	e := {"check": id, "file": util.sysctl_file(c.key), "key": c.key, "found": got, "expected": sprintf("%d or more", [c.min])}
}

skip contains {"check": id, "reason": sprintf("%s is not available", [c.key])} if {
	some id, c in object.union(params, minimums)
	not input.sysctl.values[c.key]
}

fail contains e if {
	util.installed("prelink")
	e := {"check": "RMP-HOST-BOOT-009", "key": "package prelink", "found": "installed", "expected": "not installed"}
}

skip contains {"check": "RMP-HOST-BOOT-009", "reason": "the package database was not read"} if not util.packages_known

fail contains e if {
	not input.mac.apparmor
	not input.mac.selinux
	e := {"check": "RMP-HOST-BOOT-010", "key": "mandatory access control", "found": "neither AppArmor nor SELinux", "expected": "AppArmor or SELinux configured"}
}
