# Services: servers that should not run and clients that should not be
# installed on a general-purpose server, and time synchronisation.
package rampart.linux.services

import data.rampart.lib.util

# Services not enabled (systemd unit links, SysV start links).
not_enabled := {
	"RMP-HOST-SVC-001": ["avahi-daemon"],
	"RMP-HOST-SVC-002": ["cups", "cups-browsed"],
	"RMP-HOST-SVC-003": ["isc-dhcp-server", "isc-dhcp-server6", "dhcpd", "kea-dhcp4-server"],
	"RMP-HOST-SVC-004": ["slapd"],
	"RMP-HOST-SVC-005": ["nfs-server", "nfs-kernel-server", "rpcbind"],
	"RMP-HOST-SVC-006": ["named", "bind9"],
	"RMP-HOST-SVC-007": ["vsftpd", "proftpd", "pure-ftpd"],
	"RMP-HOST-SVC-008": ["apache2", "httpd", "nginx", "lighttpd"],
	"RMP-HOST-SVC-009": ["dovecot", "cyrus-imapd"],
	"RMP-HOST-SVC-010": ["smbd", "smb", "nmbd"],
	"RMP-HOST-SVC-011": ["squid"],
	"RMP-HOST-SVC-012": ["snmpd"],
	"RMP-HOST-SVC-013": ["rsync"],
	"RMP-HOST-SVC-014": ["ypserv", "nis"],
	"RMP-HOST-SVC-015": ["xinetd", "inetd", "openbsd-inetd", "telnet.socket", "rsh.socket", "rlogin.socket"],
}

fail contains e if {
	some id, units in not_enabled
	some u in units
	util.enabled(u)
	e := {"check": id, "file": "/etc/systemd/system", "key": u, "found": "enabled", "expected": "disabled or masked"}
}

# Clients of clear-text or obsolete protocols not installed.
not_installed := {
	"RMP-HOST-SVC-016": ["nis", "ypbind", "ypbind-mt"],
	"RMP-HOST-SVC-017": ["rsh-client", "rsh", "rsh-redone-client"],
	"RMP-HOST-SVC-018": ["talk", "ntalk"],
	"RMP-HOST-SVC-019": ["telnet", "inetutils-telnet"],
	"RMP-HOST-SVC-020": ["xserver-xorg-core", "xorg-x11-server-Xorg", "xorg-x11-server-common"],
	"RMP-HOST-SVC-021": ["tftp", "tftp-hpa", "tftpd-hpa", "tftp-server"],
}

fail contains e if {
	some id, pkgs in not_installed
	some p in pkgs
	util.installed(p)
	e := {"check": id, "key": concat("", ["package ", p]), "found": "installed", "expected": "not installed"}
}

skip contains {"check": id, "reason": "the package database was not read"} if {
	some id, _ in not_installed
	not util.packages_known
}

time_units := ["chrony", "chronyd", "ntp", "ntpd", "ntpsec", "systemd-timesyncd", "openntpd"]

fail contains e if {
	not util.any_enabled(time_units)
	e := {"check": "RMP-HOST-SVC-022", "file": "/etc/systemd/system", "key": "time synchronisation", "found": "no chrony, ntp or systemd-timesyncd enabled", "expected": "one enabled"}
}
