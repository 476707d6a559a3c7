//! A throwaway PostgreSQL cluster for the tests: `initdb` into a temporary
//! directory, `pg_ctl start` on a free loopback port, one fresh database per
//! test. Started once per test binary; a watchdog process stops it and
//! removes its files when the test binary exits, however it exits.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

#[derive(Debug)]
pub struct Cluster {
    port: u16,
    bin: PathBuf,
    /// The server's self-signed certificate, which clients trust as CA.
    ca: PathBuf,
}

/// A self-signed certificate for 127.0.0.1 and its key, as PEM.
fn server_certificate() -> Result<(String, String), String> {
    let key = rcgen::KeyPair::generate().map_err(|e| e.to_string())?;
    let params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
            .map_err(|e| e.to_string())?;
    let cert = params.self_signed(&key).map_err(|e| e.to_string())?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// The PostgreSQL binaries: `$PG_BIN`, `pg_config --bindir`, the newest
/// /usr/lib/postgresql/*/bin, or `initdb` on the PATH.
fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("PG_BIN") {
        return Some(PathBuf::from(d));
    }
    if let Ok(o) = Command::new("pg_config").arg("--bindir").output()
        && o.status.success()
    {
        let d = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
        if d.join("initdb").is_file() {
            return Some(d);
        }
    }
    if let Ok(rd) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut versions: Vec<(u32, PathBuf)> = rd
            .flatten()
            .filter_map(|e| {
                let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
                let bin = e.path().join("bin");
                bin.join("initdb").is_file().then_some((v, bin))
            })
            .collect();
        versions.sort();
        if let Some((_, b)) = versions.pop() {
            return Some(b);
        }
    }
    let o = Command::new("sh")
        .args(["-c", "command -v initdb"])
        .output()
        .ok()?;
    let p = PathBuf::from(String::from_utf8_lossy(&o.stdout).trim());
    p.parent()
        .filter(|_| o.status.success())
        .map(Path::to_path_buf)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args...`, as the `postgres` user when we are root (initdb and
/// the server refuse to run as root).
fn as_pg_user(program: &Path, args: &[&str]) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program).args(args);
        c
    } else {
        let mut c = Command::new(program);
        c.args(args);
        c
    }
}

fn free_port() -> Option<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0").ok()?;
    l.local_addr().ok().map(|a| a.port())
}

fn start() -> Result<Cluster, String> {
    let bin = bin_dir().ok_or("PostgreSQL binaries (initdb, pg_ctl) not found")?;
    let dir = tempfile::Builder::new()
        .prefix("rampart-pg-")
        .tempdir()
        .map_err(|e| e.to_string())?
        .keep();
    // TLS on: the tests' consoles connect with the certificate as their CA.
    let (cert_pem, key_pem) = server_certificate()?;
    let ca = dir.join("server.crt");
    let key = dir.join("server.key");
    std::fs::write(&ca, cert_pem).map_err(|e| e.to_string())?;
    std::fs::write(&key, key_pem).map_err(|e| e.to_string())?;
    std::fs::set_permissions(&key, std::os::unix::fs::PermissionsExt::from_mode(0o600))
        .map_err(|e| e.to_string())?;
    if is_root() {
        let ok = Command::new("chown")
            .args(["-R", "postgres:"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            return Err("cannot hand the cluster directory to the postgres user".into());
        }
    }
    let data = dir.join("data");
    let data_s = data.to_string_lossy().to_string();
    let out = as_pg_user(
        &bin.join("initdb"),
        &[
            "-D",
            &data_s,
            "-U",
            "rampart",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
        ],
    )
    .output()
    .map_err(|e| format!("initdb: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let port = free_port().ok_or("no free port")?;
    let opts = format!(
        "-h 127.0.0.1 -p {port} -k {} -F -c max_connections=200 -c ssl=on \
         -c ssl_cert_file={} -c ssl_key_file={}",
        dir.display(),
        ca.display(),
        key.display()
    );
    let log = dir.join("server.log").to_string_lossy().to_string();
    let status = as_pg_user(
        &bin.join("pg_ctl"),
        &[
            "-D", &data_s, "-l", &log, "-o", &opts, "-w", "-t", "60", "start",
        ],
    )
    .stdin(Stdio::null())
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .status()
    .map_err(|e| format!("pg_ctl: {e}"))?;
    if !status.success() {
        let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
        return Err(format!("pg_ctl start failed: {log}"));
    }
    // The watchdog: stops the server and removes the files once this
    // process is gone.
    let pg_ctl = bin.join("pg_ctl");
    let stop = if is_root() {
        format!(
            "runuser -u postgres -- '{}' -D '{data_s}' -m immediate stop",
            pg_ctl.display()
        )
    } else {
        format!("'{}' -D '{data_s}' -m immediate stop", pg_ctl.display())
    };
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {stop} >/dev/null 2>&1; rm -rf '{}'",
        dir.display(),
        pid = std::process::id()
    );
    Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("watchdog: {e}"))?;
    Ok(Cluster { port, bin, ca })
}

static CLUSTER: OnceLock<Result<Cluster, String>> = OnceLock::new();
static NEXT_DB: AtomicU32 = AtomicU32::new(0);

/// The CA file that makes the cluster's certificate trusted.
pub fn ca_file() -> Option<PathBuf> {
    CLUSTER.get()?.as_ref().ok().map(|c| c.ca.clone())
}

/// A URL to a new, empty database, or why there is none.
pub fn fresh_database() -> Result<String, String> {
    let cluster = CLUSTER.get_or_init(start).as_ref().map_err(Clone::clone)?;
    let name = format!(
        "t{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let port = cluster.port.to_string();
    let out = Command::new(cluster.bin.join("psql"))
        .args([
            "-h",
            "127.0.0.1",
            "-p",
            &port,
            "-U",
            "rampart",
            "-d",
            "postgres",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
        ])
        .arg(format!("CREATE DATABASE {name}"))
        .output()
        .map_err(|e| format!("psql: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "CREATE DATABASE: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(format!(
        "postgres://rampart@127.0.0.1:{}/{name}",
        cluster.port
    ))
}
