//! Installation-wide settings: tenant, cloud and endpoints used last, and the
//! per-installation id that names this server's application.

use rusqlite::{Connection, OptionalExtension, params};

/// Generated once, when the database is created (see the first migration).
pub(crate) const INSTALLATION_ID: &str = "installation_id";

pub(crate) fn get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT value FROM settings WHERE key = ?1",
        params![key],
        |row| row.get(0),
    )
    .optional()
}

/// The 12 lowercase hex digits that tell this installation's application apart.
pub(crate) fn installation_id(conn: &Connection) -> rusqlite::Result<String> {
    get(conn, INSTALLATION_ID)?.ok_or(rusqlite::Error::QueryReturnedNoRows)
}

/// Call inside [`super::StateDb::write`].
pub fn set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )
    .map(|_| ())
}
