//! One change at a time per state directory: an advisory kernel lock
//! (`flock`) on a file in the state directory, held for a whole change. The
//! kernel releases it when the holder exits however it exits, so a process
//! killed with the lock never blocks the next one (why not a pid file). The
//! file also says who holds it, for whoever has to wait.

use super::{StateError, format_time};
use serde::{Deserialize, Serialize};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use time::OffsetDateTime;

pub(crate) const LOCK_FILE: &str = "entra-connect.lock";

/// Who holds the state lock: what they are changing, since when, as which process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockHolder {
    pub change: String,
    pub started_at: String,
    pub pid: u32,
}

impl std::fmt::Display for LockHolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} started {} by pid {}",
            self.change, self.started_at, self.pid
        )
    }
}

/// The state lock, held until dropped.
#[derive(Debug)]
pub(crate) struct StateLock {
    _file: File,
}

/// Takes the lock of `state_dir` for `change` if no one holds it; otherwise
/// says who does (`None` when the holder has not written its name yet).
pub(crate) fn try_lock(
    state_dir: &Path,
    change: &str,
) -> Result<Result<StateLock, Option<LockHolder>>, StateError> {
    let path = state_dir.join(LOCK_FILE);
    let unusable = |source: std::io::Error| StateError::Directory {
        path: path.clone(),
        error: source,
    };
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(unusable)?;
    match file.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => return Ok(Err(holder(&mut file))),
        Err(TryLockError::Error(source)) => return Err(unusable(source)),
    }
    let me = LockHolder {
        change: change.to_string(),
        started_at: format_time(OffsetDateTime::now_utc()),
        pid: std::process::id(),
    };
    let text = serde_json::to_string(&me).unwrap_or_default();
    file.set_len(0)
        .and_then(|()| file.rewind())
        .and_then(|()| file.write_all(text.as_bytes()))
        .map_err(unusable)?;
    Ok(Ok(StateLock { _file: file }))
}

/// The holder the lock file names; `None` while it is being written.
fn holder(file: &mut File) -> Option<LockHolder> {
    let mut text = String::new();
    file.take(4096).read_to_string(&mut text).ok()?;
    serde_json::from_str(&text).ok()
}

/// Whether some process holds the lock of `state_dir`, found without taking
/// it for long and without writing (a shared lock is taken and given back).
pub(crate) fn is_locked(state_dir: &Path) -> Result<bool, StateError> {
    let path = state_dir.join(LOCK_FILE);
    let file = match File::open(&path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(error) => return Err(StateError::Directory { path, error }),
    };
    match file.try_lock_shared() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(error)) => Err(StateError::Directory { path, error }),
    }
}
