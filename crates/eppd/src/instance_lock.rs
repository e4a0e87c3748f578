//! One `eppd` per SQLite database file: `eppd serve` and `eppd demo` take an exclusive
//! advisory lock (`flock`) on `<database>.eppd-lock` before they open the database, and hold it
//! until they exit; a second process on the same file refuses to start, naming the file and
//! the process that holds it.
//!
//! Why a lock file beside the database rather than SQLite's own locking: SQLite's locks are
//! byte-range locks held per transaction, so they cannot say "a server is running", and its
//! `locking_mode=EXCLUSIVE` would also shut out the processes that legitimately share the file
//! with the server (`registry-admin`, `rdapd`, `zonegen`). `flock` is advisory, so only those
//! that ask (the servers) are excluded, it belongs to the open file, not to a path (two
//! spellings of the same path meet on the same lock), and the kernel drops it when the process
//! dies, even by SIGKILL — there is never a stale lock to clean up, unlike a PID file. It is
//! `rustix`'s safe wrapper (already a dependency for the argon2 workers' nice value). On
//! PostgreSQL several frontends sharing the database is the design, so nothing is locked.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

/// Why the lock was not taken.
#[derive(Debug, thiserror::Error)]
pub enum InstanceLockError {
    #[error(
        "another eppd{holder} is already serving the SQLite database {}: stop it first, or give this one a database of its own (it holds {})",
        db.display(),
        lock.display()
    )]
    Held {
        db: PathBuf,
        lock: PathBuf,
        /// ` (pid N)` when the holder wrote it.
        holder: String,
    },
    #[error("cannot lock {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// The lock, held until dropped (or the process ends).
#[derive(Debug)]
pub struct InstanceLock {
    _file: std::fs::File,
    path: PathBuf,
}

impl InstanceLock {
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The database file of a `sqlite:` URL; `None` for PostgreSQL and in-memory databases.
pub fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.split('&').any(|kv| kv == "mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// Takes the lock for the database of `url` (nothing to take for PostgreSQL or `:memory:`).
pub fn acquire(url: &str) -> Result<Option<InstanceLock>, InstanceLockError> {
    let Some(db) = sqlite_file(url) else {
        return Ok(None);
    };
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".eppd-lock");
    let path = db.with_file_name(name);
    let io = |source| InstanceLockError::Io {
        path: path.clone(),
        source,
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    if !try_lock(&file).map_err(io)? {
        let mut pid = String::new();
        let _ = file.read_to_string(&mut pid);
        let pid = pid.trim();
        let holder = if !pid.is_empty() && pid.chars().all(|c| c.is_ascii_digit()) {
            format!(" (pid {pid})")
        } else {
            String::new()
        };
        return Err(InstanceLockError::Held {
            db,
            lock: path,
            holder,
        });
    }
    // Who holds it, for the next one's message.
    file.set_len(0).map_err(io)?;
    file.rewind().map_err(io)?;
    writeln!(file, "{}", std::process::id()).map_err(io)?;
    Ok(Some(InstanceLock { _file: file, path }))
}

/// True when the exclusive lock was taken, false when another open file holds it.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use rustix::fs::{flock, FlockOperation};
    match flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Elsewhere the guard is not enforced (eppd is deployed on Unix).
#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> std::io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls() {
        assert_eq!(
            sqlite_file("sqlite:/var/lib/eppd/registry.db"),
            Some(PathBuf::from("/var/lib/eppd/registry.db"))
        );
        assert_eq!(
            sqlite_file("sqlite:///tmp/x.db?mode=rwc"),
            Some(PathBuf::from("/tmp/x.db"))
        );
        assert_eq!(sqlite_file("sqlite::memory:"), None);
        assert_eq!(sqlite_file("sqlite:x.db?mode=memory"), None);
        assert_eq!(sqlite_file("postgres://db/registry"), None);
    }

    #[test]
    fn a_second_lock_on_the_same_file_is_refused_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let url = format!("sqlite:{}", dir.path().join("registry.db").display());
        let first = acquire(&url).expect("first").expect("a lock");
        // Another spelling of the same file meets the same lock.
        let other = format!(
            "sqlite:{}",
            dir.path().join(".").join("registry.db").display()
        );
        let e = acquire(&other).expect_err("second");
        let msg = e.to_string();
        assert!(msg.contains("already serving"), "{msg}");
        assert!(
            msg.contains(&format!("(pid {})", std::process::id())),
            "{msg}"
        );
        drop(first);
        assert!(acquire(&url).expect("again").is_some());
        assert!(acquire("postgres://x/y").expect("pg").is_none());
    }
}
