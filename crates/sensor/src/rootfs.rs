//! Reading files inside a root directory that may be hostile: a
//! container's root filesystem seen through `/proc/PID/root`.
//!
//! Opening `/proc/PID/root/var/lib/dpkg/status` by path would resolve an
//! absolute symlink inside the container (`status -> /etc/shadow`) against
//! the *sensor's* root, so a container could make the sensor read host
//! files. Every path here is opened relative to a descriptor of the root
//! with `openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`: symlinks and
//! `..` resolve inside the root, never out of it. Where `openat2` is not
//! available (kernels before 5.6, seccomp filters), each component is
//! opened with `O_NOFOLLOW`, so any symlink on the way is refused.
//!
//! A file is never opened for reading before it is known to be a regular
//! file: opening a device node can act (a watchdog device is armed by its
//! open alone) and opening a FIFO blocks. The path is opened with `O_PATH`
//! (which opens nothing for I/O), its type checked with `fstat`, and only a
//! regular file is reopened for reading through `/proc/self/fd/N`; the
//! reopened descriptor must have the same device and inode. Reads are
//! capped: a file over the cap is an error, not a partial read.

use std::io::Read as _;
use std::os::fd::{AsRawFd as _, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

/// A file's identity and modification time, to notice a change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub mtime: i64,
    pub mtime_nsec: u64,
    pub size: u64,
    pub ino: u64,
}

/// An open root directory; paths are resolved inside it.
#[derive(Debug)]
pub struct RootDir {
    fd: OwnedFd,
    path: PathBuf,
}

fn io(e: Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

impl RootDir {
    /// Opens `path` (following it: `/proc/PID/root` is a link to the
    /// process's root) as the root of later look-ups.
    pub fn open(path: &Path) -> std::io::Result<RootDir> {
        let fd = rustix::fs::open(
            path,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(io)?;
        Ok(RootDir {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// The path it was opened from (for messages).
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens `rel` (leading `/` ignored) inside the root with `O_PATH`:
    /// nothing is opened for I/O, whatever the file is.
    fn open_in(&self, rel: &str) -> std::io::Result<OwnedFd> {
        let rel = rel.trim_start_matches('/');
        let rel = if rel.is_empty() { "." } else { rel };
        if rel.split('/').any(|c| c == "..") {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "a path with `..`",
            ));
        }
        let flags = OFlags::PATH | OFlags::CLOEXEC;
        let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        for _ in 0..3 {
            match rustix::fs::openat2(&self.fd, rel, flags, Mode::empty(), resolve) {
                // A concurrent rename inside the root: try again.
                Err(Errno::AGAIN) => {}
                Err(Errno::NOSYS | Errno::PERM) => return self.walk(rel),
                r => return r.map_err(io),
            }
        }
        Err(io(Errno::AGAIN))
    }

    /// The fallback: one component at a time with `O_PATH | O_NOFOLLOW`,
    /// refusing every symlink (the last component too).
    fn walk(&self, rel: &str) -> std::io::Result<OwnedFd> {
        let parts: Vec<&str> = rel
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect();
        let dir_flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        let Some((last, dirs)) = parts.split_last() else {
            return rustix::fs::openat(&self.fd, ".", flags, Mode::empty()).map_err(io);
        };
        let mut cur: Option<OwnedFd> = None;
        for d in dirs {
            let next = match &cur {
                Some(c) => rustix::fs::openat(c, *d, dir_flags, Mode::empty()),
                None => rustix::fs::openat(&self.fd, *d, dir_flags, Mode::empty()),
            }
            .map_err(io)?;
            cur = Some(next);
        }
        let fd = match &cur {
            Some(c) => rustix::fs::openat(c, *last, flags, Mode::empty()),
            None => rustix::fs::openat(&self.fd, *last, flags, Mode::empty()),
        }
        .map_err(io)?;
        // `O_PATH | O_NOFOLLOW` on a symlink opens the link itself.
        let st = rustix::fs::fstat(&fd).map_err(io)?;
        if rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Symlink {
            return Err(io(Errno::LOOP));
        }
        Ok(fd)
    }

    /// The stamp of `rel`, `None` when it does not exist or cannot be read.
    #[must_use]
    pub fn stamp(&self, rel: &str) -> Option<Stamp> {
        let fd = self.open_in(rel).ok()?;
        let st = rustix::fs::fstat(&fd).ok()?;
        Some(Stamp {
            mtime: st.st_mtime,
            mtime_nsec: st.st_mtime_nsec,
            size: u64::try_from(st.st_size).unwrap_or(0),
            ino: st.st_ino,
        })
    }

    /// Reads the regular file `rel`, at most `max` bytes (a larger file
    /// is an error). Anything but a regular file is refused without being
    /// opened for reading.
    pub fn read(&self, rel: &str, max: u64) -> std::io::Result<Vec<u8>> {
        read_regular(self.open_in(rel)?, max)
    }

    /// Reads `rel` as text (lossy UTF-8), at most `max` bytes.
    pub fn read_string(&self, rel: &str, max: u64) -> std::io::Result<String> {
        let b = self.read(rel, max)?;
        Ok(String::from_utf8(b).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into()))
    }

    /// The target of the symlink `name` directly under the root (not
    /// followed), `None` when it is not a symlink.
    #[must_use]
    pub fn read_link(&self, name: &str) -> Option<String> {
        let t = rustix::fs::readlinkat(&self.fd, name, Vec::new()).ok()?;
        t.into_string().ok()
    }
}

fn refused(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_string())
}

/// Reads the file an `O_PATH` descriptor names, at most `max` bytes, when
/// it is a regular file: checked on the `O_PATH` descriptor, then reopened
/// for reading through `/proc/self/fd/N` and checked to be the same file.
fn read_regular(path_fd: OwnedFd, max: u64) -> std::io::Result<Vec<u8>> {
    let st = rustix::fs::fstat(&path_fd).map_err(io)?;
    if rustix::fs::FileType::from_raw_mode(st.st_mode) != rustix::fs::FileType::RegularFile {
        return Err(refused("not a regular file"));
    }
    let too_large = || {
        std::io::Error::new(
            std::io::ErrorKind::FileTooLarge,
            format!("larger than {max} bytes"),
        )
    };
    if u64::try_from(st.st_size).unwrap_or(u64::MAX) > max {
        return Err(too_large());
    }
    let fd = rustix::fs::open(
        format!("/proc/self/fd/{}", path_fd.as_raw_fd()),
        OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NOCTTY,
        Mode::empty(),
    )
    .map_err(io)?;
    let again = rustix::fs::fstat(&fd).map_err(io)?;
    if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino)
        || rustix::fs::FileType::from_raw_mode(again.st_mode) != rustix::fs::FileType::RegularFile
    {
        return Err(refused("the file reopened for reading is another file"));
    }
    drop(path_fd);
    let mut out = Vec::new();
    std::fs::File::from(fd)
        .take(max.saturating_add(1))
        .read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(too_large());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symlinks_resolve_inside_the_root_never_out_of_it() {
        let d = tempfile::tempdir().unwrap();
        let host_secret = d.path().join("secret");
        std::fs::write(&host_secret, "host").unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/secret"), "inside").unwrap();
        std::fs::write(root.join("plain"), "plain").unwrap();
        // Absolute and relative escapes: both land inside the root.
        std::os::unix::fs::symlink(&host_secret, root.join("abs")).unwrap();
        std::os::unix::fs::symlink("/etc/secret", root.join("abs-in")).unwrap();
        std::os::unix::fs::symlink("../../../../secret", root.join("rel")).unwrap();
        let r = RootDir::open(&root).unwrap();
        assert_eq!(r.read_string("plain", 100).unwrap(), "plain");
        assert_eq!(r.read_string("/abs-in", 100).unwrap(), "inside");
        // `abs` names the host file's absolute path, which does not exist
        // inside the root: not found, never the host's content.
        assert!(r.read("abs", 100).is_err());
        assert!(r.read("rel", 100).is_err());
        assert!(r.read("a/../plain", 100).is_err(), "`..` is refused");
        assert!(r.read("plain", 3).is_err(), "over the cap");
        assert!(r.read("etc", 100).is_err(), "a directory");
        assert!(r.stamp("plain").is_some() && r.stamp("missing").is_none());
        // The fallback refuses every symlink on the way.
        assert!(r.walk("abs-in").is_err());
        assert!(r.walk("etc/secret").is_ok());
        assert_eq!(
            read_regular(r.walk("etc/secret").unwrap(), 100).unwrap(),
            b"inside"
        );
        assert_eq!(r.read_link("abs-in").as_deref(), Some("/etc/secret"));
        assert_eq!(r.read_link("plain"), None);
    }

    /// Runs `f` on another thread; a test failure, not a hang, when it
    /// blocks.
    fn within_5s<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("blocked: a FIFO was opened for reading")
    }

    #[test]
    fn a_fifo_is_refused_without_being_opened_for_reading() {
        use rustix::fs::inotify;
        let d = tempfile::tempdir().unwrap();
        let root = d.path().join("root");
        std::fs::create_dir_all(root.join("var/lib/dpkg")).unwrap();
        std::fs::write(root.join("var/lib/dpkg/plain"), "plain").unwrap();
        let fifo = root.join("var/lib/dpkg/status");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        // inotify reports every open for I/O (never an `O_PATH` one): a
        // non-blocking open of the FIFO, which would not hang, still shows.
        let ino =
            inotify::init(inotify::CreateFlags::NONBLOCK | inotify::CreateFlags::CLOEXEC).unwrap();
        inotify::add_watch(&ino, &fifo, inotify::WatchFlags::OPEN).unwrap();
        let r = std::sync::Arc::new(RootDir::open(&root).unwrap());
        let shared = std::sync::Arc::clone(&r);
        let e = within_5s(move || shared.read("/var/lib/dpkg/status", 100)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        assert!(e.to_string().contains("not a regular file"), "{e}");
        // The fallback walk too.
        let shared = std::sync::Arc::clone(&r);
        let e =
            within_5s(move || read_regular(shared.walk("var/lib/dpkg/status")?, 100)).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput, "{e}");
        // A stamp is fine: `O_PATH` only.
        assert!(r.stamp("var/lib/dpkg/status").is_some());
        let mut buf = [std::mem::MaybeUninit::uninit(); 1024];
        let mut events = inotify::Reader::new(&ino, &mut buf);
        match events.next() {
            Err(Errno::AGAIN) => {}
            other => panic!("the FIFO was opened: {other:?}"),
        }
        // A regular file next to it still reads, and its open is seen.
        inotify::add_watch(
            &ino,
            root.join("var/lib/dpkg/plain"),
            inotify::WatchFlags::OPEN,
        )
        .unwrap();
        assert_eq!(r.read("var/lib/dpkg/plain", 100).unwrap(), b"plain");
        let mut events = inotify::Reader::new(&ino, &mut buf);
        assert!(
            events
                .next()
                .unwrap()
                .events()
                .contains(inotify::ReadFlags::OPEN)
        );
    }
}
