# File systems: separate mounts and their options, unused file system
# modules, sticky bits on shared directories.
package rampart.linux.filesystem

mounts := input.mounts.by_target

# On a root file system without an fstab entry for /dev/shm, systemd mounts
# it with nosuid and nodev (but not noexec).
shm_options := mounts["/dev/shm"].options

shm_options := ["rw", "nosuid", "nodev"] if {
	not mounts["/dev/shm"]
	input.mode == "rootfs"
}

options(target) := shm_options if target == "/dev/shm"

options(target) := mounts[target].options if target != "/dev/shm"

fail contains e if {
	not mounts["/tmp"]
	e := {"check": "RMP-HOST-FS-001", "file": input.mounts.source, "key": "/tmp", "found": "not a separate mount", "expected": "a separate partition or tmpfs"}
}

option_checks := {
	"RMP-HOST-FS-002": {"target": "/tmp", "option": "nodev"},
	"RMP-HOST-FS-003": {"target": "/tmp", "option": "nosuid"},
	"RMP-HOST-FS-004": {"target": "/tmp", "option": "noexec"},
	"RMP-HOST-FS-005": {"target": "/dev/shm", "option": "nodev"},
	"RMP-HOST-FS-006": {"target": "/dev/shm", "option": "nosuid"},
	"RMP-HOST-FS-007": {"target": "/dev/shm", "option": "noexec"},
	"RMP-HOST-FS-008": {"target": "/var/tmp", "option": "nosuid"},
	"RMP-HOST-FS-009": {"target": "/var/tmp", "option": "nodev"},
	"RMP-HOST-FS-010": {"target": "/home", "option": "nodev"},
}

fail contains e if {
	some id, c in option_checks
	opts := options(c.target)
	not c.option in opts
	e := {"check": id, "file": input.mounts.source, "key": c.target, "found": concat(",", opts), "expected": concat("", ["options include ", c.option])}
}

skip contains {"check": id, "reason": sprintf("%s is not a separate mount", [c.target])} if {
	some id, c in option_checks
	not options(c.target)
}

module_checks := {
	"RMP-HOST-FS-011": "cramfs",
	"RMP-HOST-FS-012": "freevxfs",
	"RMP-HOST-FS-013": "hfs",
	"RMP-HOST-FS-014": "hfsplus",
	"RMP-HOST-FS-015": "jffs2",
	"RMP-HOST-FS-016": "udf",
	"RMP-HOST-FS-017": "usb_storage",
}

# A module is disabled by an `install NAME /bin/false` line or blacklisted;
# on a host it must not be loaded either.
fail contains e if {
	some id, m in module_checks
	not m in input.modules.disabled
	not m in input.modules.blacklisted
	e := {"check": id, "file": "/etc/modprobe.d", "key": m, "found": "loadable", "expected": sprintf("install %s /bin/false and blacklist %s", [m, m])}
}

fail contains e if {
	some id, m in module_checks
	m in input.modules.loaded
	e := {"check": id, "file": "/proc/modules", "key": m, "found": "loaded", "expected": "not loaded"}
}

fail contains e if {
	some p in input.scan.world_writable_dirs_without_sticky
	e := {"check": "RMP-HOST-FS-018", "file": p, "key": "mode", "found": "world-writable without sticky bit", "expected": "sticky bit set (chmod +t)"}
}
