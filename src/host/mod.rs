//! The local Connect server state: the SQLite store (credential, scheduler,
//! events, journal, settings) and where it lives.

pub mod credential;
mod db;
pub mod events;
pub mod journal;
pub mod passwords;
pub mod scheduler;
pub mod settings;

pub use db::{DATABASE_FILE, StateDb, create_private_dir};

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error(
        "cannot use the state directory {path}: {source}. Choose a writable directory with --state-dir or ENTRA_CONNECT_STATE_DIR"
    )]
    Directory {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path} is not a readable SQLite database (corrupt or another kind of file); it was left untouched. Move it aside or restore it from a backup, then run the command again"
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "{path} is a SQLite database that does not belong to entra-connect; it was left untouched. Point --state-dir at another directory"
    )]
    Foreign { path: PathBuf },
    #[error(
        "{path} has schema version {found}, newer than this entra-connect supports ({supported}); use a newer entra-connect"
    )]
    NewerSchema {
        path: PathBuf,
        found: i64,
        supported: i64,
    },
    #[error(
        "{path} is locked by another process ({}); wait for it to finish and try again",
        describe_holders(holders)
    )]
    Locked { path: PathBuf, holders: Vec<String> },
    #[error(
        "{path} is readable by other users (mode {mode:03o}); a stored password is not used from it. Fix: chmod 600 {path}, then record the password again (`entra-connect service-account use`) if others may have read it"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "the stored password {path} is sealed to this server's TPM and could not be used: {source}"
    )]
    Sealed {
        path: PathBuf,
        source: Box<crate::keys::KeyError>,
    },
    #[error("the state database {path} could not be used: {source}")]
    Sqlite {
        path: PathBuf,
        source: rusqlite::Error,
    },
}

impl StateError {
    fn sqlite(path: &Path, source: rusqlite::Error) -> Self {
        StateError::Sqlite {
            path: path.to_path_buf(),
            source,
        }
    }
}

fn describe_holders(holders: &[String]) -> String {
    if holders.is_empty() {
        "no holder found; another entra-connect may have just finished".to_string()
    } else {
        format!("held by pid {}", holders.join(", pid "))
    }
}

/// Where the state lives when neither --state-dir nor ENTRA_CONNECT_STATE_DIR says.
pub fn default_state_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "entra-connect").map(|dirs| dirs.data_dir().into())
}

pub(crate) use crate::domain::{format_time, parse_time};

/// Turns a text column into a typed value, or a conversion error rusqlite reports.
pub(crate) fn column<T>(
    index: usize,
    text: &str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> rusqlite::Result<T> {
    parse(text).map_err(|why| refused(index, rusqlite::types::Type::Text, why))
}

/// The error for column `index` holding a value of `kind` the reader refuses.
pub(crate) fn refused(index: usize, kind: rusqlite::types::Type, why: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(
        index,
        kind,
        Box::<dyn std::error::Error + Send + Sync>::from(why),
    )
}
