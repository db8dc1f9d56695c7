//! The scheduler settings row.

use super::{column, format_time, parse_time, refused};
use crate::domain::{INTERVAL_MINUTES_MAX, INTERVAL_MINUTES_MIN, SchedulerSettings};
use rusqlite::{Connection, params};

pub fn load(conn: &Connection) -> rusqlite::Result<SchedulerSettings> {
    conn.query_row(
        "SELECT sync_cycle_enabled, maintenance_enabled, scheduler_suspended,
                interval_minutes, next_run_at
         FROM scheduler WHERE id = 1",
        [],
        |row| {
            let next_run_at: Option<String> = row.get(4)?;
            Ok(SchedulerSettings {
                sync_cycle_enabled: row.get(0)?,
                maintenance_enabled: row.get(1)?,
                scheduler_suspended: row.get(2)?,
                interval_minutes: match row.get(3)? {
                    minutes @ INTERVAL_MINUTES_MIN..=INTERVAL_MINUTES_MAX => minutes,
                    _ => {
                        return Err(refused(
                            3,
                            rusqlite::types::Type::Integer,
                            format!(
                                "the scheduler interval must be {INTERVAL_MINUTES_MIN} to {INTERVAL_MINUTES_MAX} minutes"
                            ),
                        ));
                    }
                },
                next_run_at: next_run_at
                    .map(|text| column(4, &text, parse_time))
                    .transpose()?,
            })
        },
    )
}

/// Replaces the settings; call inside [`super::StateDb::write`].
pub fn save(conn: &Connection, settings: &SchedulerSettings) -> rusqlite::Result<()> {
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
