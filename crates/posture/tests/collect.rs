//! The Linux collector on a root file system built here, and on the host.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;

use rampart_posture::facts::linux::{Mode, collect};
use rampart_posture::{PolicySet, Report, Status};
use serde_json::Value;

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::create_dir_all(p.parent().unwrap_or(root)).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
}

fn chmod(root: &Path, rel: &str, mode: u32) {
    let p = root.join(rel.trim_start_matches('/'));
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode))
        .unwrap_or_else(|e| panic!("{e}"));
}

fn rootfs() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let r = dir.path();
    write(
        r,
        "/etc/os-release",
        "ID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\nPRETTY_NAME=\"Ubuntu 24.04\"\n",
    );
    write(
        r,
        "/etc/passwd",
        "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1::/usr/sbin:/usr/sbin/nologin\nbob:x:1000:1000::/home/bob:/bin/bash\n",
    );
    write(
        r,
        "/etc/group",
        "root:x:0:\ndaemon:x:1:\nshadow:x:42:\nbob:x:1000:\n",
    );
    write(
        r,
        "/etc/shadow",
        "root:!:19700:0:99999:7:::\nbob:$y$j9T$abc$def:19700:0:99999:7:::\n",
    );
    chmod(r, "/etc/shadow", 0o640);
    write(
        r,
        "/etc/ssh/sshd_config",
        "Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin yes\nMaxAuthTries 3\nMatch User bob\n  X11Forwarding yes\n",
    );
    chmod(r, "/etc/ssh/sshd_config", 0o644);
    write(
        r,
        "/etc/ssh/sshd_config.d/10-hardening.conf",
        "PermitRootLogin no\nLoginGraceTime 2m\n",
    );
    write(r, "/etc/sysctl.conf", "net.ipv4.ip_forward = 1\n");
    write(
        r,
        "/usr/lib/sysctl.d/50-default.conf",
        "kernel.dmesg_restrict = 0\nnet.ipv4.conf.all.rp_filter = 2\n",
    );
    write(
        r,
        "/usr/lib/sysctl.d/10-net.conf",
        "net.ipv4.conf.all.rp_filter = 2\n",
    );
    write(
        r,
        "/etc/sysctl.d/50-default.conf",
        "kernel.dmesg_restrict = 1\n",
    );
    write(
        r,
        "/etc/fstab",
        "UUID=1 / ext4 defaults 0 1\ntmpfs /tmp tmpfs rw,nosuid,nodev 0 0\n",
    );
    write(
        r,
        "/var/lib/dpkg/status",
        "Package: openssh-server\nStatus: install ok installed\nVersion: 1:9.6\n\nPackage: telnet\nStatus: install ok installed\nVersion: 0.17\n\nPackage: gone\nStatus: deinstall ok config-files\nVersion: 1\n",
    );
    write(
        r,
        "/etc/modprobe.d/cramfs.conf",
        "install cramfs /bin/false\nblacklist cramfs\n",
    );
    write(
        r,
        "/etc/pam.d/common-password",
        "password [success=1 default=ignore] pam_unix.so obscure sha512\n",
    );
    write(
        r,
        "/etc/login.defs",
        "PASS_MAX_DAYS 99999\nENCRYPT_METHOD SHA512\n",
    );
    write(
        r,
        "/etc/sudoers",
        "Defaults use_pty\n%sudo ALL=(ALL:ALL) ALL\n",
    );
    write(r, "/etc/sudoers.d/ci", "ci ALL=(ALL) NOPASSWD: ALL\n");
    write(r, "/etc/issue", "Ubuntu 24.04 \\n \\l\n");
    std::fs::create_dir_all(r.join("etc/systemd/system/multi-user.target.wants"))
        .unwrap_or_else(|e| panic!("{e}"));
    symlink(
        "/lib/systemd/system/ssh.service",
        r.join("etc/systemd/system/multi-user.target.wants/ssh.service"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    symlink("/dev/null", r.join("etc/systemd/system/cups.service"))
        .unwrap_or_else(|e| panic!("{e}"));
    write(r, "/usr/bin/tool", "x");
    chmod(r, "/usr/bin/tool", 0o4755);
    write(r, "/usr/share/open", "x");
    chmod(r, "/usr/share/open", 0o666);
    // An absolute symlink must resolve inside the root, never to the host.
    symlink("/etc/hostname-in-root", r.join("etc/hostname")).unwrap_or_else(|e| panic!("{e}"));
    symlink("/etc/passwd", r.join("etc/motd")).unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn rootfs_facts() {
    let dir = rootfs();
    let f = collect(dir.path(), Mode::Rootfs);
    assert_eq!(f["os"]["family"], "debian");
    // sshd: the Include comes first, so its PermitRootLogin wins; Match
    // blocks do not apply globally; defaults fill the rest.
    assert_eq!(f["ssh"]["config"]["permitrootlogin"], "no");
    assert_eq!(
        f["ssh"]["set"]["permitrootlogin"]["file"],
        "/etc/ssh/sshd_config.d/10-hardening.conf"
    );
    assert_eq!(f["ssh"]["config"]["maxauthtries"], "3");
    assert_eq!(f["ssh"]["config"]["x11forwarding"], "no");
    assert_eq!(f["ssh"]["config"]["logingracetime"], "2m");
    // sysctl: /etc/sysctl.d overrides the same name in /usr/lib, sysctl.conf last, kernel defaults else.
    assert_eq!(f["sysctl"]["values"]["kernel.dmesg_restrict"], "1");
    assert_eq!(f["sysctl"]["values"]["net.ipv4.ip_forward"], "1");
    assert_eq!(
        f["sysctl"]["origin"]["net.ipv4.ip_forward"],
        "/etc/sysctl.conf"
    );
    assert_eq!(f["sysctl"]["values"]["net.ipv4.conf.all.rp_filter"], "2");
    assert_eq!(
        f["sysctl"]["origin"]["net.ipv4.conf.all.accept_redirects"],
        "kernel default"
    );
    assert_eq!(
        f["mounts"]["by_target"]["/tmp"]["options"],
        serde_json::json!(["rw", "nosuid", "nodev"])
    );
    assert!(f["packages"]["installed"]["telnet"].is_string());
    assert!(f["packages"]["installed"]["gone"].is_null());
    assert_eq!(f["services"]["enabled"], serde_json::json!(["ssh.service"]));
    assert_eq!(f["services"]["masked"], serde_json::json!(["cups.service"]));
    assert_eq!(f["modules"]["disabled"], serde_json::json!(["cramfs"]));
    assert_eq!(f["shadow"][1]["algorithm"], "yescrypt");
    assert!(
        f["shadow"][1].get("hash").is_none(),
        "hashes are never kept"
    );
    assert_eq!(f["sudo"]["nopasswd"][0]["file"], "/etc/sudoers.d/ci");
    assert_eq!(f["files"]["/etc/ssh/sshd_config"]["perm"], "0644");
    assert_eq!(f["scan"]["suid"], serde_json::json!(["/usr/bin/tool"]));
    assert_eq!(
        f["scan"]["world_writable"],
        serde_json::json!(["/usr/share/open"])
    );
    // /etc/motd -> /etc/passwd resolved inside the root.
    assert!(
        f["banners"]["/etc/motd"]
            .as_str()
            .is_some_and(|t| t.contains("bob"))
    );
}

#[test]
fn rootfs_report_names_evidence() {
    let dir = rootfs();
    let facts = collect(dir.path(), Mode::Rootfs);
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let results = set
        .evaluate("linux", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    let report = Report::new("linux", "rootfs:x", results, Vec::new());
    let get = |id: &str| {
        report
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(get("RMP-HOST-SSH-003").status, Status::Pass);
    let grace = get("RMP-HOST-SSH-009");
    assert_eq!(grace.status, Status::Fail);
    assert_eq!(
        grace.evidence[0].file.as_deref(),
        Some("/etc/ssh/sshd_config.d/10-hardening.conf")
    );
    let fwd = get("RMP-HOST-NET-001");
    assert_eq!(fwd.status, Status::Fail);
    assert_eq!(fwd.evidence[0].file.as_deref(), Some("/etc/sysctl.conf"));
    assert_eq!(fwd.evidence[0].found, Some(Value::from("1")));
    assert_eq!(get("RMP-HOST-SVC-019").status, Status::Fail);
    assert_eq!(
        get("RMP-HOST-SVC-002").status,
        Status::Pass,
        "masked units are not enabled"
    );
    assert_eq!(get("RMP-HOST-AUTH-004").status, Status::Fail);
    assert_eq!(get("RMP-HOST-PERM-012").status, Status::Fail);
    assert_eq!(get("RMP-HOST-PERM-022").status, Status::Fail);
    assert_eq!(get("RMP-HOST-FS-011").status, Status::Pass);
    assert_eq!(get("RMP-HOST-FS-004").status, Status::Fail);
    assert_eq!(get("RMP-HOST-FS-010").status, Status::Skip);
    assert!(
        report.summary.failed > 20 && report.summary.passed > 20,
        "{:?}",
        report.summary
    );
    assert!(
        report
            .frameworks
            .iter()
            .any(|f| f.framework == "pci-dss-4.0" && f.score.failed > 0)
    );
}

#[test]
#[allow(clippy::print_stderr)]
fn host_facts_collect_quickly() {
    let start = std::time::Instant::now();
    let facts = collect(Path::new("/"), Mode::Host);
    let collected = start.elapsed();
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let results = set
        .evaluate("linux", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "host: collected in {collected:?}, evaluated {} checks in {:?} total, {} files scanned",
        results.len(),
        start.elapsed(),
        facts["scan"]["files"]
    );
    assert_eq!(facts["sysctl"]["source"], "live");
    assert!(results.iter().all(|r| {
        !r.reason
            .as_deref()
            .unwrap_or("")
            .starts_with("policy error")
    }));
}

#[test]
fn odd_configuration_never_breaks_a_policy() {
    let dir = rootfs();
    let r = dir.path();
    write(
        r,
        "/etc/ssh/sshd_config",
        "MaxAuthTries abc\nLoginGraceTime 5x\nMaxStartups 1:2\nCiphers ,,\nInclude /etc/ssh/sshd_config\n",
    );
    write(
        r,
        "/etc/pam.d/common-password",
        "password requisite pam_pwquality.so minlen=8 minlen=20\npassword requisite pam_cracklib.so minlen=x\npassword required pam_pwhistory.so remember=3\npassword required pam_unix.so remember=7 md5\n",
    );
    write(
        r,
        "/etc/pam.d/system-auth",
        "auth sufficient pam_unix.so nullok\npassword sufficient pam_unix.so sha512\n",
    );
    write(r, "/etc/pam.d/common-auth", "auth sufficient pam_unix.so\n");
    write(r, "/etc/login.defs", "PASS_MAX_DAYS never\nUMASK u=rwx\n");
    write(r, "/etc/sysctl.conf", "kernel.kptr_restrict = two\n");
    let facts = collect(r, Mode::Rootfs);
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let results = set
        .evaluate("linux", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    let errors: Vec<_> = results
        .iter()
        .filter(|r| {
            r.reason
                .as_deref()
                .is_some_and(|x| x.starts_with("policy error"))
        })
        .map(|r| format!("{}: {:?}", r.id, r.reason))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let get = |id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(
        get("RMP-HOST-AUTH-006").status,
        Status::Pass,
        "the largest minlen counts"
    );
    assert_eq!(
        get("RMP-HOST-AUTH-009").status,
        Status::Pass,
        "remember=7 on pam_unix"
    );
    assert_eq!(
        get("RMP-HOST-AUTH-010").status,
        Status::Fail,
        "md5 on one pam_unix line"
    );
    assert_eq!(
        get("RMP-HOST-AUTH-018").evidence[0].file.as_deref(),
        Some("/etc/pam.d/system-auth")
    );
}

fn have(tool: &str) -> bool {
    std::process::Command::new(tool)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A RHEL-family root whose packages are in a real rpm database (written by
/// `rpm --justdb` from a package `rpmbuild` made): the package checks read
/// it instead of skipping.
#[test]
fn rpm_database_feeds_the_package_checks() {
    if !have("rpm") || !have("rpmbuild") {
        eprintln!(
            "SKIPPED rpm_database_feeds_the_package_checks: rpm/rpmbuild are missing \
             (apt-get install rpm)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = tmp.path().join("root");
    write(
        &root,
        "/etc/os-release",
        "ID=rocky\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\n",
    );
    let spec = tmp.path().join("telnet.spec");
    std::fs::write(
        &spec,
        "Name: telnet\nVersion: 0.17\nRelease: 90.el9\nEpoch: 1\nSummary: fixture\n\
         License: MIT\nBuildArch: noarch\n\n%description\nA posture test fixture.\n\n\
         %install\nmkdir -p %{buildroot}/usr/share/doc/telnet\n\
         echo x > %{buildroot}/usr/share/doc/telnet/README\n\n%files\n/usr/share/doc/telnet\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let top = tmp.path().join("rpmbuild");
    run(std::process::Command::new("rpmbuild")
        .args(["-bb", "--quiet", "--define"])
        .arg(format!("_topdir {}", top.display()))
        .args(["--define", "_build_id_links none"])
        .arg(&spec));
    let dbpath = root.join("var/lib/rpm");
    std::fs::create_dir_all(&dbpath).unwrap_or_else(|e| panic!("{e}"));
    run(std::process::Command::new("rpm")
        .arg("--dbpath")
        .arg(&dbpath)
        .arg("--initdb"));
    let rpms: Vec<_> = std::fs::read_dir(top.join("RPMS/noarch"))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|e| e.unwrap_or_else(|e| panic!("{e}")).path())
        .collect();
    run(std::process::Command::new("rpm")
        .arg("--dbpath")
        .arg(&dbpath)
        .args(["-i", "--justdb", "--nodeps", "--noscripts"])
        .args(&rpms));

    let facts = collect(&root, Mode::Rootfs);
    assert_eq!(facts["packages"]["source"], "rpm", "{}", facts["packages"]);
    assert_eq!(facts["packages"]["installed"]["telnet"], "1:0.17-90.el9");
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let results = set
        .evaluate("linux", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    let report = Report::new("linux", "rootfs:x", results, Vec::new());
    let status = |id: &str| {
        report
            .results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id}"))
            .status
    };
    // telnet is installed: a failure, not a skip; nis is not: a pass.
    assert_eq!(status("RMP-HOST-SVC-019"), Status::Fail);
    assert_eq!(status("RMP-HOST-SVC-016"), Status::Pass);
}

/// A database that is not one (garbage bytes) is reported, and the package
/// checks skip rather than pass.
#[test]
fn unreadable_rpm_database_is_reported_not_trusted() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let root = tmp.path();
    write(root, "/etc/os-release", "ID=rhel\nVERSION_ID=\"9.4\"\n");
    write(root, "/var/lib/rpm/rpmdb.sqlite", "this is not a database");
    let facts = collect(root, Mode::Rootfs);
    assert_eq!(facts["packages"]["source"], "rpm");
    assert!(
        facts["packages"]["error"].is_string(),
        "{}",
        facts["packages"]
    );
    let set = PolicySet::builtin().unwrap_or_else(|e| panic!("{e}"));
    let results = set
        .evaluate("linux", &facts)
        .unwrap_or_else(|e| panic!("{e}"));
    let report = Report::new("linux", "rootfs:x", results, Vec::new());
    let r = report
        .results
        .iter()
        .find(|r| r.id == "RMP-HOST-SVC-019")
        .unwrap_or_else(|| panic!("SVC-019"));
    assert_eq!(r.status, Status::Skip);
}
