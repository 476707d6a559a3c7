# Network: kernel parameters, unused protocols, the firewall.
package rampart.linux.network

import data.rampart.lib.util

params := {
	"RMP-HOST-NET-001": {"key": "net.ipv4.ip_forward", "want": "0"},
	"RMP-HOST-NET-002": {"key": "net.ipv6.conf.all.forwarding", "want": "0"},
	"RMP-HOST-NET-003": {"key": "net.ipv4.conf.all.send_redirects", "want": "0"},
	"RMP-HOST-NET-004": {"key": "net.ipv4.conf.default.send_redirects", "want": "0"},
	"RMP-HOST-NET-005": {"key": "net.ipv4.conf.all.accept_source_route", "want": "0"},
	"RMP-HOST-NET-006": {"key": "net.ipv4.conf.default.accept_source_route", "want": "0"},
	"RMP-HOST-NET-007": {"key": "net.ipv6.conf.all.accept_source_route", "want": "0"},
	"RMP-HOST-NET-008": {"key": "net.ipv4.conf.all.accept_redirects", "want": "0"},
	"RMP-HOST-NET-009": {"key": "net.ipv4.conf.default.accept_redirects", "want": "0"},
	"RMP-HOST-NET-010": {"key": "net.ipv6.conf.all.accept_redirects", "want": "0"},
	"RMP-HOST-NET-011": {"key": "net.ipv6.conf.default.accept_redirects", "want": "0"},
	"RMP-HOST-NET-012": {"key": "net.ipv4.conf.all.secure_redirects", "want": "0"},
	"RMP-HOST-NET-013": {"key": "net.ipv4.conf.default.secure_redirects", "want": "0"},
	"RMP-HOST-NET-014": {"key": "net.ipv4.conf.all.log_martians", "want": "1"},
	"RMP-HOST-NET-015": {"key": "net.ipv4.conf.default.log_martians", "want": "1"},
	"RMP-HOST-NET-016": {"key": "net.ipv4.icmp_echo_ignore_broadcasts", "want": "1"},
	"RMP-HOST-NET-017": {"key": "net.ipv4.icmp_ignore_bogus_error_responses", "want": "1"},
	"RMP-HOST-NET-018": {"key": "net.ipv4.conf.all.rp_filter", "want": "1"},
	"RMP-HOST-NET-019": {"key": "net.ipv4.conf.default.rp_filter", "want": "1"},
	"RMP-HOST-NET-020": {"key": "net.ipv4.tcp_syncookies", "want": "1"},
	"RMP-HOST-NET-021": {"key": "net.ipv6.conf.all.accept_ra", "want": "0"},
	"RMP-HOST-NET-022": {"key": "net.ipv6.conf.default.accept_ra", "want": "0"},
}

fail contains e if {
	some id, c in params
	got := input.sysctl.values[c.key]
	got != c.want
	e := {"check": id, "file": util.sysctl_file(c.key), "key": c.key, "found": got, "expected": c.want}
}

skip contains {"check": id, "reason": sprintf("%s is not available (protocol disabled?)", [c.key])} if {
	some id, c in params
	not input.sysctl.values[c.key]
}

protocols := {
	"RMP-HOST-NET-023": "dccp",
	"RMP-HOST-NET-024": "sctp",
	"RMP-HOST-NET-025": "rds",
	"RMP-HOST-NET-026": "tipc",
}

fail contains e if {
	some id, m in protocols
	not m in input.modules.disabled
	not m in input.modules.blacklisted
	e := {"check": id, "file": "/etc/modprobe.d", "key": m, "found": "loadable", "expected": sprintf("install %s /bin/false", [m])}
}

fail contains e if {
	some id, m in protocols
	m in input.modules.loaded
	e := {"check": id, "file": "/proc/modules", "key": m, "found": "loaded", "expected": "not loaded"}
}

fw := input.firewall

fail contains e if {
	not fw.nftables
	not fw.iptables
	not fw.ufw
	not fw.firewalld
	e := {"check": "RMP-HOST-NET-027", "key": "firewall", "found": "no nftables, iptables, ufw or firewalld", "expected": "one installed"}
}

# A firewall is configured to start: ufw enabled, firewalld or nftables enabled with a rule set.
configured if fw.ufw_enabled

configured if util.enabled("firewalld")

configured if {
	util.enabled("nftables")
	fw.nftables_rules
}

configured if util.any_enabled(["netfilter-persistent", "iptables"])

fail contains e if {
	not configured
	e := {"check": "RMP-HOST-NET-028", "file": "/etc/systemd/system", "key": "firewall service", "found": "no firewall enabled at boot", "expected": "ufw, firewalld, nftables or netfilter-persistent enabled"}
}
