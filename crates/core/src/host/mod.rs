//! The local Connect server state: the SQLite store (credential, scheduler,
//! events, journal, settings) and where it lives.

pub mod credential;
mod db;
pub(crate) mod events;
pub mod journal;
mod location;
pub(crate) mod lock;
pub mod passwords;
pub(crate) mod scheduler;
pub mod settings;

pub use db::{DATABASE_FILE, StateDb, create_private_dir};
pub use location::{
    SYSTEM_STATE_DIR, configured_identity, default_state_dir, is_system_state, running_as_root,
    sandbox_demo_state_dir, user_state_dir,
};

use crate::domain::{Input, NextCommand, Remedy};
use std::path::{Path, PathBuf};

/// Why the state cannot be used. Each message says its cause itself, so no
/// cause is chained as a source: the final error line states each fact once.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot use the state directory {path}: {error}")]
    Directory {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{path} is not a readable SQLite database (corrupt or another kind of file); it was left untouched. Move it aside or restore it from a backup, then run the command again"
    )]
    NotADatabase { path: PathBuf },
    #[error(
        "the state database {path} is missing or empty, but {found}; this is a lost database, not a new installation, and nothing was changed. Restore the database from a backup, or start afresh on an empty directory"
    )]
    DatabaseLost { path: PathBuf, found: String },
    #[error(
        "{path} is a SQLite database that does not belong to entra-connect; it was left untouched"
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
        "{path} is readable by other users (mode {mode:03o}); a stored password is not used from it. Fix: chmod 600 {path}, then record the password again if others may have read it"
    )]
    TooOpen { path: PathBuf, mode: u32 },
    #[error(
        "the stored password {path} is sealed to this server's TPM and could not be used: {error}"
    )]
    Sealed {
        path: PathBuf,
        error: Box<crate::keys::KeyError>,
    },
    #[error("the state database {path} holds a value that cannot be used: {value}")]
    BadValue { path: PathBuf, value: Box<BadValue> },
    #[error("the state database {path} could not be used: {error}")]
    Sqlite {
        path: PathBuf,
        error: rusqlite::Error,
    },
}

impl StateError {
    /// What puts it right; any one of them will do.
    pub fn remedies(&self) -> Vec<Remedy> {
        match self {
            StateError::Directory { .. }
            | StateError::DatabaseLost { .. }
            | StateError::Foreign { .. } => vec![Remedy::correct(Input::StateDir)],
            StateError::TooOpen { .. } => vec![Remedy::run(NextCommand::UseServiceAccount)],
            StateError::Sealed { error, .. } => error.remedies(),
            StateError::BadValue { value, .. } if value.repairable => {
                vec![Remedy::run(NextCommand::RepairCredential)]
            }
            _ => Vec::new(),
        }
    }

    fn sqlite(path: &Path, error: rusqlite::Error) -> Self {
        let path = path.to_path_buf();
        match error {
            rusqlite::Error::FromSqlConversionFailure(index, kind, cause) => {
                match cause.downcast::<BadValue>() {
                    Ok(value) => StateError::BadValue { path, value },
                    Err(cause) => StateError::Sqlite {
                        path,
                        error: rusqlite::Error::FromSqlConversionFailure(index, kind, cause),
                    },
                }
            }
            error => StateError::Sqlite { path, error },
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

pub(crate) use crate::domain::{format_time, parse_time};

/// A stored value a reader refuses, said as the administrator knows it: the
/// record's field, what it holds and what was expected, and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{record}'s {field} {problem}; expected {expected}{}", if *repairable { ". The record is incomplete: it can be rebuilt from the tenant" } else { "" })]
pub struct BadValue {
    record: &'static str,
    field: String,
    problem: String,
    expected: String,
    repairable: bool,
}

/// The rows of one table as messages name them ("the connector credential"),
/// with what to do when one of the fields read through it holds a value that
/// cannot be used.
pub(crate) struct Record {
    pub name: &'static str,
    /// Whether the record can be rebuilt from the tenant when a field read
    /// through it cannot be used.
    pub repairable: bool,
}

impl Record {
    /// Column `index` of `row` as text (NULL read as blank) turned into a
    /// typed value by `parse`, or the error naming the field and `expected`.
    pub(crate) fn column<T, E>(
        &self,
        row: &rusqlite::Row,
        index: usize,
        expected: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> rusqlite::Result<T> {
        use rusqlite::types::{Type, ValueRef};
        let refused = |problem: String| self.refused(row, index, Type::Text, problem, expected);
        let text = match row.get_ref(index)? {
            ValueRef::Null => "",
            ValueRef::Text(bytes) => {
                std::str::from_utf8(bytes).map_err(|_| refused("is not UTF-8 text".to_string()))?
            }
            ValueRef::Blob(_) => return Err(refused("holds binary data, not text".to_string())),
            ValueRef::Integer(_) | ValueRef::Real(_) => {
                return Err(refused("holds a number, not text".to_string()));
            }
        };
        parse(text).map_err(|_| match text.trim().is_empty() {
            true => refused("is blank".to_string()),
            false => refused(format!("holds {:?}", shortened(text))),
        })
    }

    /// The error for column `index` of `row`, of SQLite type `kind`: it
    /// `problem` (e.g. "is blank") where `expected` was.
    pub(crate) fn refused(
        &self,
        row: &rusqlite::Row,
        index: usize,
        kind: rusqlite::types::Type,
        problem: String,
        expected: &str,
    ) -> rusqlite::Error {
        let field = row
            .as_ref()
            .column_name(index)
            .map_or_else(|_| format!("column {index}"), str::to_string);
        let value = BadValue {
            record: self.name,
            field,
            problem,
            expected: expected.to_string(),
            repairable: self.repairable,
        };
        rusqlite::Error::FromSqlConversionFailure(index, kind, Box::new(value))
    }
}

/// A stored text as a message quotes it: at most 40 characters.
fn shortened(text: &str) -> String {
    match text.char_indices().nth(40) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_string(),
    }
}
