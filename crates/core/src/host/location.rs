//! Where the state lives. A server has one state: the system directory that
//! the scheduler's systemd unit and the package use, for root and for the
//! service; the per-user data directory only for a non-root user (trying the
//! sandbox, development).

use super::DATABASE_FILE;
use crate::domain::ConnectorIdentityType;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// The server's state: the one the scheduler unit (`StateDirectory=`) and the
/// package (postinst) create, owner-only.
pub const SYSTEM_STATE_DIR: &str = "/var/lib/entra-connect";

/// Where the state lives when neither --state-dir nor ENTRA_CONNECT_STATE_DIR
/// says: the directory systemd gives a unit with `StateDirectory=`
/// (`STATE_DIRECTORY`), else for root the system directory, else the user's
/// data directory (`~/.local/share/entra-connect`).
pub fn default_state_dir() -> Option<PathBuf> {
    if let Some(dir) = systemd_state_directory() {
        return Some(dir);
    }
    match running_as_root() {
        true => Some(PathBuf::from(SYSTEM_STATE_DIR)),
        false => user_state_dir(),
    }
}

/// Whether `dir` is the state that root (or the service) uses by default.
pub fn is_system_state(dir: &Path) -> bool {
    running_as_root() && default_state_dir().is_some_and(|system| system == dir)
}

/// The current user's data directory: the default state of a non-root user,
/// and where root's state was kept before it moved to the system directory.
pub fn user_state_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "entra-connect").map(|dirs| dirs.data_dir().into())
}

/// Where `wizard --sandbox` keeps its demo server (and, inside it, its
/// sandbox tenant) when no state directory is given: the user's data
/// directory for the demo (`~/.local/share/entra-connect-sandbox`), apart
/// from any real server's state, so that a second run continues the first.
pub fn sandbox_demo_state_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "entra-connect-sandbox")
        .map(|dirs| dirs.data_dir().into())
}

/// Whether this process runs with root's effective user id.
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// systemd's `STATE_DIRECTORY`: the first of its colon-separated absolute paths.
fn systemd_state_directory() -> Option<PathBuf> {
    let value = std::env::var_os("STATE_DIRECTORY")?;
    let first = value.to_str()?.split(':').next()?;
    let path = Path::new(first);
    path.is_absolute().then(|| path.to_path_buf())
}

/// How the state in `dir` has its connector configured, read without
/// creating or changing anything there; `None` when there is no database, it
/// cannot be read, or its connector has no credential.
pub fn configured_identity(dir: &Path) -> Option<ConnectorIdentityType> {
    let database = dir.join(DATABASE_FILE);
    if !database.is_file() {
        return None;
    }
    let mut uri = url::Url::from_file_path(&database).ok()?;
    // Without a write-ahead log every committed change is in the file itself:
    // read it as immutable, so SQLite makes no -shm or -wal file beside it.
    let log = dir.join(format!("{DATABASE_FILE}-wal"));
    let has_log = std::fs::metadata(&log).is_ok_and(|meta| meta.len() > 0);
    uri.set_query(Some(if has_log {
        "mode=ro"
    } else {
        "mode=ro&immutable=1"
    }));
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(uri.as_str(), flags).ok()?;
    let identity: String = conn
        .query_row(
            "SELECT identity_type FROM connector_credential WHERE id = 1",
            [],
            |row| row.get(0),
        )
        .ok()?;
    match identity.parse().ok()? {
        ConnectorIdentityType::None => None,
        configured => Some(configured),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_without_a_database_is_not_configured_and_stays_empty() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(configured_identity(dir.path()), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
