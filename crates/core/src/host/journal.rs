//! Operation journals: one row per operation, one per completed (or failed)
//! step with what it produced (remote ids), so a rerun after a crash resumes
//! instead of creating anything twice. Step rows are written in the same
//! transaction as the local change the step made.

use super::format_time;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use time::OffsetDateTime;

pub const RUNNING: &str = "Running";
pub const SUCCEEDED: &str = "Succeeded";
pub const FAILED: &str = "Failed";
/// Superseded by a run with other inputs; never resumed.
pub const ABANDONED: &str = "Abandoned";

#[derive(Debug, Clone, PartialEq)]
pub struct OperationRecord {
    pub id: String,
    pub kind: String,
    pub started_at: String,
    /// Completed steps and what each recorded (JSON text, typed by the step).
    pub done: HashMap<String, String>,
}

pub fn begin(conn: &Connection, id: &str, kind: &str, inputs: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO operations (id, kind, status, started_at, inputs) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id,
            kind,
            RUNNING,
            format_time(OffsetDateTime::now_utc()),
            inputs
        ],
    )
    .map(|_| ())
}

/// The latest run of `kind` that stopped (killed or failed) without
/// succeeding, if `inputs` is given only one with those inputs.
pub fn open_run(
    conn: &Connection,
    kind: &str,
    inputs: Option<&str>,
) -> rusqlite::Result<Option<OperationRecord>> {
    let found: Option<(String, String)> = conn
        .query_row(
            "SELECT id, started_at FROM operations
             WHERE kind = ?1 AND status IN (?2, ?3) AND (?4 IS NULL OR inputs = ?4)
             ORDER BY started_at DESC, rowid DESC LIMIT 1",
            params![kind, RUNNING, FAILED, inputs],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?;
    found
        .map(|(id, started_at)| record(conn, id, kind.to_string(), started_at))
        .transpose()
}

/// Marks run `id` running again (a rerun resumes it) and every other open run
/// of its kind abandoned.
pub fn reopen(conn: &Connection, id: &str, kind: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE operations SET status = ?3 WHERE kind = ?1 AND id != ?2 AND status IN (?4, ?5)",
        params![kind, id, ABANDONED, RUNNING, FAILED],
    )?;
    conn.execute(
        "UPDATE operations SET status = ?2, finished_at = NULL WHERE id = ?1",
        params![id, RUNNING],
    )
    .map(|_| ())
}

/// Every operation still marked running: stopped by a crash or a kill.
pub fn all_unfinished(conn: &Connection) -> rusqlite::Result<Vec<OperationRecord>> {
    let mut statement = conn.prepare(
        "SELECT id, kind, started_at FROM operations WHERE status = ?1 ORDER BY started_at",
    )?;
    let rows: Vec<(String, String, String)> = statement
        .query_map(params![RUNNING], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    rows.into_iter()
        .map(|(id, kind, started_at)| record(conn, id, kind, started_at))
        .collect()
}

/// An operation with the steps it completed.
fn record(
    conn: &Connection,
    id: String,
    kind: String,
    started_at: String,
) -> rusqlite::Result<OperationRecord> {
    Ok(OperationRecord {
        done: completed_steps(conn, &id)?,
        id,
        kind,
        started_at,
    })
}

fn completed_steps(conn: &Connection, id: &str) -> rusqlite::Result<HashMap<String, String>> {
    let mut statement = conn.prepare(
        "SELECT step, detail FROM operation_steps WHERE operation_id = ?1 AND status = ?2",
    )?;
    let rows = statement.query_map(params![id, SUCCEEDED], |row| Ok((row.get(0)?, row.get(1)?)))?;
    rows.collect()
}

/// Records a step's outcome; call in the transaction of the step's local change.
pub fn record_step(
    conn: &Connection,
    id: &str,
    step: &str,
    status: &str,
    detail: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO operation_steps (operation_id, step, status, detail, at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (operation_id, step) DO UPDATE SET status = excluded.status,
             detail = excluded.detail, at = excluded.at",
        params![id, step, status, detail, format_time(OffsetDateTime::now_utc())],
    )
    .map(|_| ())
}

/// What changes whenever an operation starts or ends: a change that waited
/// for another compares it before and after.
/// (Times have whole seconds, so an operation that started and finished
/// within one is seen by its count of running rows.)
pub fn change_mark(conn: &Connection) -> rusqlite::Result<(i64, i64, Option<String>)> {
    conn.query_row(
        "SELECT count(*), count(*) FILTER (WHERE status = ?1), max(finished_at) FROM operations",
        params![RUNNING],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
    )
}

pub fn finish(conn: &Connection, id: &str, status: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE operations SET status = ?2, finished_at = ?3 WHERE id = ?1",
        params![id, status, format_time(OffsetDateTime::now_utc())],
    )
    .map(|_| ())
}
