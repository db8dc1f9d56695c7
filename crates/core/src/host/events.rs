//! The local event log (the server's equivalent of the Application event log
//! entries Entra Connect writes).

use super::{Record, format_time, parse_time};
use crate::domain::{Event, EventId, EventLevel};
use rusqlite::{Connection, params};
use time::OffsetDateTime;

/// Appends an event; call inside [`super::StateDb::write`] so it lands with the
/// change it describes. Messages must never carry secrets.
pub(crate) fn record(
    conn: &Connection,
    level: EventLevel,
    id: EventId,
    message: &str,
) -> rusqlite::Result<()> {
    // Also a log line at the event's own level, so the journal (or a log
    // shipper) carries every event with its id.
    match level {
        EventLevel::Error => tracing::error!(event_id = id.0, "{message}"),
        EventLevel::Warning => tracing::warn!(event_id = id.0, "{message}"),
        EventLevel::Information => tracing::info!(event_id = id.0, "{message}"),
    }
    conn.execute(
        "INSERT INTO events (time, level, event_id, message) VALUES (?1, ?2, ?3, ?4)",
        params![
            format_time(OffsetDateTime::now_utc()),
            level.as_str(),
            id.0,
            message
        ],
    )
    .map(|_| ())
}

/// An event, in messages about a value it holds.
const RECORD: Record = Record {
    name: "an event",
    repairable: false,
};

/// Events in the order they were written, optionally from a time on and of one id.
pub(crate) fn query(
    conn: &Connection,
    since: Option<OffsetDateTime>,
    id: Option<u32>,
) -> rusqlite::Result<Vec<Event>> {
    let mut statement = conn.prepare(
        "SELECT time, level, event_id, message FROM events
         WHERE (?1 IS NULL OR time >= ?1) AND (?2 IS NULL OR event_id = ?2)
         ORDER BY seq",
    )?;
    let rows = statement.query_map(params![since.map(format_time), id], |row| {
        Ok(Event {
            time: RECORD.column(row, 0, "an RFC 3339 time", parse_time)?,
            level: RECORD.column(row, 1, "Information, Warning or Error", str::parse)?,
            id: row.get(2)?,
            message: row.get(3)?,
        })
    })?;
    rows.collect()
}
