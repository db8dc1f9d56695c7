//! The scheduler settings row.

use super::{Record, format_time, parse_time};
use crate::domain::{INTERVAL_MINUTES_MAX, INTERVAL_MINUTES_MIN, SchedulerSettings};
use rusqlite::{Connection, params};

/// The scheduler settings, in messages about a value they hold.
const RECORD: Record = Record {
    name: "the scheduler",
    repairable: false,
};

pub(crate) fn load(conn: &Connection) -> rusqlite::Result<SchedulerSettings> {
    conn.query_row(
        "SELECT sync_cycle_enabled, maintenance_enabled, scheduler_suspended,
                interval_minutes, next_run_at
         FROM scheduler WHERE id = 1",
        [],
        |row| {
            Ok(SchedulerSettings {
                sync_cycle_enabled: row.get(0)?,
                maintenance_enabled: row.get(1)?,
                scheduler_suspended: row.get(2)?,
                interval_minutes: match row.get(3)? {
                    minutes @ INTERVAL_MINUTES_MIN..=INTERVAL_MINUTES_MAX => minutes,
                    minutes => {
                        return Err(RECORD.refused(
                            row,
                            3,
                            rusqlite::types::Type::Integer,
                            format!("is {minutes}"),
                            &format!("{INTERVAL_MINUTES_MIN} to {INTERVAL_MINUTES_MAX} minutes"),
                        ));
                    }
                },
                next_run_at: match row.get_ref(4)? {
                    rusqlite::types::ValueRef::Null => None,
                    _ => Some(RECORD.column(row, 4, "an RFC 3339 time", parse_time)?),
                },
            })
        },
    )
}

/// Replaces the settings; call inside [`super::StateDb::write`].
pub(crate) fn save(conn: &Connection, settings: &SchedulerSettings) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE scheduler SET sync_cycle_enabled = ?1, maintenance_enabled = ?2,
            scheduler_suspended = ?3, interval_minutes = ?4, next_run_at = ?5
         WHERE id = 1",
        params![
            settings.sync_cycle_enabled,
            settings.maintenance_enabled,
            settings.scheduler_suspended,
            settings.interval_minutes,
            settings.next_run_at.map(format_time),
        ],
    )
    .map(|_| ())
}
