//! The state database: one SQLite file in the state directory, created 0600 in a
//! 0700 directory, with versioned migrations. Files that are not ours are never
//! written to.

use super::StateError;
use crate::keys::{CERTIFICATE_EXTENSION, KEYS_DIRECTORY};
use rusqlite::{Connection, ErrorCode, OpenFlags, Transaction, TransactionBehavior};
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Read;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DATABASE_FILE: &str = "entra-connect.db";

/// `PRAGMA application_id` of our files ("ECNT"), so a foreign SQLite file is recognised.
const APPLICATION_ID: i64 = 0x4543_4E54;

/// How long a write waits for another process holding the database.
const LOCK_WAIT: Duration = Duration::from_secs(5);

/// Schema migrations; `PRAGMA user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE connector_credential (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    identity_type TEXT NOT NULL CHECK (identity_type IN ('None', 'ServiceAccount', 'Application')),
    service_account_upn TEXT,
    tenant_id TEXT,
    application_id TEXT,
    service_principal_id TEXT,
    certificate_sha256 TEXT,
    key_store TEXT CHECK (key_store IN ('TPM', 'Software')),
    application_managed_by TEXT CHECK (application_managed_by IN ('EntraConnect', 'Customer')),
    certificate_managed_by TEXT CHECK (certificate_managed_by IN ('EntraConnect', 'Customer')),
    configured_at TEXT NOT NULL
);
INSERT INTO connector_credential (id, identity_type, configured_at)
    VALUES (1, 'None', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));

CREATE TABLE scheduler (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sync_cycle_enabled INTEGER NOT NULL,
    maintenance_enabled INTEGER NOT NULL,
    scheduler_suspended INTEGER NOT NULL,
    interval_minutes INTEGER NOT NULL CHECK (interval_minutes > 0),
    next_run_at TEXT
);
INSERT INTO scheduler (id, sync_cycle_enabled, maintenance_enabled, scheduler_suspended, interval_minutes)
    VALUES (1, 1, 1, 0, 30);

CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    level TEXT NOT NULL CHECK (level IN ('Information', 'Warning', 'Error')),
    event_id INTEGER NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX events_by_id ON events (event_id, time);

CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE operation_steps (
    operation_id TEXT NOT NULL REFERENCES operations (id),
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}',
    at TEXT NOT NULL,
    PRIMARY KEY (operation_id, step)
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings (key, value) VALUES ('installation_id', lower(hex(randomblob(6))));
"#,
    r#"
-- What an operation was asked to do, so a rerun resumes only the same request.
ALTER TABLE operations ADD COLUMN inputs TEXT NOT NULL DEFAULT '';
"#,
    r#"
-- Every certificate the connector has signed in with on this server. Kept
-- after a rotation deletes the certificate's files, so the key audit still
-- knows an old key left on the application as this server's.
CREATE TABLE connector_certificates (
    sha256 TEXT PRIMARY KEY,
    thumbprint TEXT NOT NULL,
    first_used_at TEXT NOT NULL
);
"#,
];

pub struct StateDb {
    conn: Connection,
    path: PathBuf,
}

impl StateDb {
    /// Opens (creating if needed) the state database in `state_dir`.
    pub fn open(state_dir: &Path) -> Result<Self, StateError> {
        create_private_dir(state_dir)?;
        let path = state_dir.join(DATABASE_FILE);
        refuse_lost_database(state_dir, &path)?;
        create_private_file(&path)?;
        refuse_non_sqlite(&path)?;
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|source| StateError::sqlite(&path, source))?;
        conn.busy_timeout(LOCK_WAIT)
            .map_err(|source| StateError::sqlite(&path, source))?;
        let mut db = StateDb { conn, path };
        db.check_ownership()?;
        db.migrate()?;
        Ok(db)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// For reads; writes go through [`StateDb::write`].
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `change` in one immediate transaction: all of it is written, or none.
    pub fn write<T>(
        &mut self,
        change: impl FnOnce(&Transaction) -> rusqlite::Result<T>,
    ) -> Result<T, StateError> {
        let path = self.path.clone();
        let result = (|| {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)?;
            let value = change(&tx)?;
            tx.commit()?;
            Ok(value)
        })();
        result.map_err(|source| self.classify(&path, source))
    }

    /// Maps a SQLite error to what the administrator needs to know.
    pub fn classify(&self, path: &Path, source: rusqlite::Error) -> StateError {
        if source.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) {
            return StateError::Locked {
                path: path.to_path_buf(),
                holders: processes_holding(path),
            };
        }
        StateError::sqlite(path, source)
    }

    /// A read of the file failed: it is not a database, or cannot be read.
    fn unreadable(&self, source: rusqlite::Error) -> StateError {
        match source.sqlite_error_code() {
            Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
                StateError::NotADatabase {
                    path: self.path.clone(),
                }
            }
            _ => self.classify(&self.path, source),
        }
    }

    /// Refuses corrupt files and SQLite files that belong to something else.
    fn check_ownership(&self) -> Result<(), StateError> {
        let read = |sql: &str| -> Result<i64, StateError> {
            self.conn
                .query_row(sql, [], |row| row.get(0))
                .map_err(|source| self.unreadable(source))
        };
        // Both from one snapshot: another process may be migrating a new
        // state meanwhile, and its commit sets both at once.
        let (application_id, objects) = self
            .conn
            .query_row(
                "SELECT (SELECT application_id FROM pragma_application_id),
                        (SELECT count(*) FROM sqlite_master)",
                [],
                |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)),
            )
            .map_err(|source| self.unreadable(source))?;
        let fresh = application_id == 0 && objects == 0;
        if application_id != APPLICATION_ID && !fresh {
            return Err(StateError::Foreign {
                path: self.path.clone(),
            });
        }
        // Damaged pages are found now, not by a write half way through a
        // change (a quick check of a file this size takes well under a
        // millisecond). A value a constraint refuses is not damage: the
        // reader of its column refuses it, naming the field.
        let check: String = self
            .conn
            .execute_batch("PRAGMA ignore_check_constraints = ON")
            .and_then(|()| {
                self.conn
                    .query_row("PRAGMA quick_check(1)", [], |row| row.get(0))
            })
            .and_then(|check| {
                self.conn
                    .execute_batch("PRAGMA ignore_check_constraints = OFF")
                    .map(|()| check)
            })
            .map_err(|error| self.classify(&self.path, error))?;
        if check != "ok" {
            return Err(StateError::NotADatabase {
                path: self.path.clone(),
            });
        }
        let version = read("PRAGMA user_version")?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StateError::NewerSchema {
                path: self.path.clone(),
                found: version,
                supported: MIGRATIONS.len() as i64,
            });
        }
        Ok(())
    }

    /// Write-ahead logging lets readers go on while a writer works. Turning
    /// it on needs the database to itself, and SQLite answers "busy" at once
    /// instead of waiting: another process opening the same new state at the
    /// same moment holds it briefly, so this asks again until [`LOCK_WAIT`].
    fn use_write_ahead_log(&self) -> Result<(), StateError> {
        let deadline = Instant::now() + LOCK_WAIT;
        loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |_| Ok(()))
            {
                Err(busy)
                    if busy.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                result => return result.map_err(|source| self.classify(&self.path, source)),
            }
        }
    }

    fn migrate(&mut self) -> Result<(), StateError> {
        let path = self.path.clone();
        let version = self.version(&path)?;
        if version == 0 {
            self.use_write_ahead_log()?;
        }
        if version as usize >= MIGRATIONS.len() {
            return Ok(());
        }
        // Every pending migration in one transaction: one commit to wait
        // for on disk (a new state would otherwise sync once per migration).
        // The version is read again inside it: another process opening the
        // same new state may have migrated it meanwhile.
        let latest = MIGRATIONS.len();
        self.write(|tx| {
            let applied: i64 = tx.query_row("PRAGMA user_version", [], |row| row.get(0))?;
            for sql in MIGRATIONS.iter().skip(applied as usize) {
                tx.execute_batch(sql)?;
            }
            tx.execute_batch(&format!(
                "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {latest};"
            ))
        })?;
        tracing::debug!(version = latest, "state database migrated");
        Ok(())
    }

    fn version(&self, path: &Path) -> Result<i64, StateError> {
        self.conn
            .query_row("PRAGMA user_version", [], |row| row.get(0))
            .map_err(|source| self.classify(path, source))
    }
}

/// Refuses a missing or empty database in a state directory that holds
/// what an earlier installation left (certificates, stored passwords, a
/// write-ahead log): that is a lost database, not a new installation, and
/// starting afresh would register a second application for this server.
fn refuse_lost_database(state_dir: &Path, path: &Path) -> Result<(), StateError> {
    if fs::metadata(path).is_ok_and(|meta| meta.len() > 0) {
        return Ok(());
    }
    let entries = |dir: &str| {
        fs::read_dir(state_dir.join(dir))
            .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
            .unwrap_or_else(|_| Vec::new())
    };
    let certificates = entries(KEYS_DIRECTORY)
        .iter()
        .filter(|file| file.extension().is_some_and(|e| e == CERTIFICATE_EXTENSION))
        .count();
    let passwords = entries(super::passwords::DIRECTORY).len();
    let wal = state_dir.join(format!("{DATABASE_FILE}-wal"));
    // A process creating the state right now has its first commit in the
    // log until a checkpoint, and the database still empty: a log is left
    // from a lost database only if no process holds it and the database is
    // still empty once that is known (closing checkpoints before letting go).
    let log = fs::metadata(&wal).is_ok_and(|meta| meta.len() > 0)
        && processes_holding(path).is_empty()
        && !fs::metadata(path).is_ok_and(|meta| meta.len() > 0);
    let mut found = Vec::new();
    if certificates > 0 {
        found.push(format!(
            "the key store holds {certificates} certificate(s) from an earlier installation"
        ));
    }
    if passwords > 0 {
        found.push(format!("{passwords} stored service account password(s)"));
    }
    if log {
        found.push(format!("a write-ahead log ({})", wal.display()));
    }
    match found.is_empty() {
        true => Ok(()),
        false => Err(StateError::DatabaseLost {
            path: path.to_path_buf(),
            found: found.join(", "),
        }),
    }
}

/// Refuses a file that is neither empty (a new state) nor a SQLite database:
/// SQLite would take a file shorter than its header for an empty database
/// and write over it.
fn refuse_non_sqlite(path: &Path) -> Result<(), StateError> {
    const HEADER: &[u8; 16] = b"SQLite format 3\0";
    let unusable = |source: std::io::Error| StateError::Directory {
        path: path.to_path_buf(),
        error: source,
    };
    let mut start = Vec::with_capacity(HEADER.len());
    std::fs::File::open(path)
        .and_then(|file| file.take(HEADER.len() as u64).read_to_end(&mut start))
        .map_err(unusable)?;
    match start.is_empty() || start == HEADER {
        true => Ok(()),
        false => Err(StateError::NotADatabase {
            path: path.to_path_buf(),
        }),
    }
}

/// Creates `dir` (and parents) owner-only; an existing directory is kept as it is.
pub fn create_private_dir(dir: &Path) -> Result<(), StateError> {
    let unusable = |source: std::io::Error| StateError::Directory {
        path: dir.to_path_buf(),
        error: source,
    };
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(unusable(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "it exists and is not a directory",
        ))),
        Err(_) => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(unusable),
    }
}

/// Creates an empty owner-only file if there is none; never truncates.
fn create_private_file(path: &Path) -> Result<(), StateError> {
    match OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(source) => Err(StateError::Directory {
            path: path.parent().unwrap_or(path).to_path_buf(),
            error: source,
        }),
    }
}

/// Other processes with the database (or its write-ahead log) open, as
/// "pid (command)", found through /proc.
fn processes_holding(db: &Path) -> Vec<String> {
    let Ok(db) = db.canonicalize() else {
        return Vec::new();
    };
    let wal = PathBuf::from(format!("{}-wal", db.display()));
    let me = std::process::id().to_string();
    let Ok(procs) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut holders = Vec::new();
    for proc_dir in procs.flatten() {
        let pid = proc_dir.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == me {
            continue;
        }
        let Ok(fds) = fs::read_dir(proc_dir.path().join("fd")) else {
            continue;
        };
        let holds = fds
            .flatten()
            .filter_map(|fd| fs::read_link(fd.path()).ok())
            .any(|target| target == db || target == wal);
        if holds {
            let command = fs::read_to_string(proc_dir.path().join("comm")).unwrap_or_default();
            holders.push(format!("{pid} ({})", command.trim()));
        }
    }
    holders
}
