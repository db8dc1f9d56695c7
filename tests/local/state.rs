//! The state database: where it is created and with what permissions, and
//! how files that are not ours, unusable directories and locks are reported.

use crate::harness::process;
use crate::harness::process::{run_fails, run_json, run_ok};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

fn mode(path: &std::path::Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn state_dir_and_database_are_created_owner_only() {
    let parent = tempfile::tempdir().unwrap();
    let state = parent.path().join("nested/state");
    run_ok(&state, &["scheduler", "show"]);
    assert_eq!(mode(&state), 0o700);
    let db = state.join("entra-connect.db");
    assert_eq!(mode(&db), 0o600);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 3);
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .unwrap();
    assert_eq!(app_id, 0x4543_4E54);
}

#[test]
fn the_state_dir_can_be_given_as_an_option() {
    let state = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    // --state-dir wins over the environment.
    let output = process::entra(other.path())
        .args([
            "--state-dir",
            state.path().to_str().unwrap(),
            "scheduler",
            "set",
            "--suspended",
            "true",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(state.path().join("entra-connect.db").exists());
    assert!(!other.path().join("entra-connect.db").exists());
}

#[test]
fn a_corrupted_database_is_reported_and_left_untouched() {
    let state = tempfile::tempdir().unwrap();
    let db = state.path().join("entra-connect.db");
    let garbage: Vec<u8> = (0..8192u32).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&db, &garbage).unwrap();
    let err = run_fails(state.path(), &["credential", "show"], 1);
    assert!(
        err.contains(&format!(
            "{} is not a readable SQLite database (corrupt or another kind of file); it was left untouched",
            db.display()
        )),
        "{err}"
    );
    run_fails(
        state.path(),
        &["scheduler", "set", "--suspended", "true"],
        1,
    );
    assert_eq!(std::fs::read(&db).unwrap(), garbage);
    assert!(!state.path().join("entra-connect.db-wal").exists());
}

#[test]
fn a_damaged_database_page_is_reported_and_left_untouched() {
    let state = tempfile::tempdir().unwrap();
    run_ok(state.path(), &["cert", "new"]);
    let db = state.path().join("entra-connect.db");
    // Keep SQLite's header, overwrite the schema page.
    let mut bytes = std::fs::read(&db).unwrap();
    for b in &mut bytes[100..4096] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let err = run_fails(state.path(), &["events"], 1);
    assert!(err.contains("is not a readable SQLite database"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
}

#[test]
fn a_foreign_sqlite_file_is_refused_and_left_untouched() {
    let state = tempfile::tempdir().unwrap();
    let db = state.path().join("entra-connect.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("CREATE TABLE photos (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO photos VALUES (1, 'cat');")
        .unwrap();
    drop(conn);
    let before = std::fs::read(&db).unwrap();
    let err = run_fails(state.path(), &["scheduler", "show"], 1);
    assert!(
        err.contains(
            "is a SQLite database that does not belong to entra-connect; it was left untouched"
        ),
        "{err}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before);
}

#[test]
fn a_database_from_a_newer_version_is_refused() {
    let state = tempfile::tempdir().unwrap();
    run_ok(state.path(), &["scheduler", "show"]);
    let db = state.path().join("entra-connect.db");
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute_batch("PRAGMA user_version = 99")
        .unwrap();
    let err = run_fails(state.path(), &["scheduler", "show"], 1);
    assert!(
        err.contains("has schema version 99, newer than this entra-connect supports (3)"),
        "{err}"
    );
}

#[test]
fn an_unusable_state_dir_is_reported() {
    let parent = tempfile::tempdir().unwrap();
    let file = parent.path().join("plain-file");
    std::fs::write(&file, "not a directory").unwrap();
    let err = run_fails(&file, &["credential", "show"], 1);
    assert!(
        err.contains(&format!(
            "cannot use the state directory {}: it exists and is not a directory",
            file.display()
        )),
        "{err}"
    );
    assert!(
        err.contains("Choose a writable directory with --state-dir or ENTRA_CONNECT_STATE_DIR"),
        "{err}"
    );

    let beneath = file.join("state");
    let err = run_fails(&beneath, &["scheduler", "show"], 1);
    assert!(
        err.contains(&format!(
            "cannot use the state directory {}",
            beneath.display()
        )),
        "{err}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

#[test]
fn a_database_locked_by_another_process_waits_then_names_the_holder() {
    let state = tempfile::tempdir().unwrap();
    run_ok(state.path(), &["scheduler", "show"]);
    let holder = rusqlite::Connection::open(state.path().join("entra-connect.db")).unwrap();
    holder.execute_batch("BEGIN EXCLUSIVE").unwrap();

    let started = Instant::now();
    let err = run_fails(
        state.path(),
        &["scheduler", "set", "--suspended", "true"],
        1,
    );
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(4), "gave up after {waited:?}");
    assert!(
        err.contains("is locked by another process (held by pid "),
        "{err}"
    );
    assert!(
        err.contains(&format!("pid {} (", std::process::id())),
        "{err}"
    );
    assert!(err.contains("wait for it to finish and try again"), "{err}");

    holder.execute_batch("ROLLBACK").unwrap();
    drop(holder);
    assert_eq!(
        run_json(state.path(), &["scheduler", "set", "--suspended", "true"])["scheduler_suspended"],
        true
    );
}

/// After onboarding, an emptied database (a failed restore, a full disk) next
/// to the connector's certificate is a lost database, never a new installation.
/// Two processes that open a new state at the same moment both work, and the
/// database uses the write-ahead log: turning it on needs the database to
/// itself, which SQLite does not wait for (before, about one pair in
/// fifteen failed with "locked by another process"). 60 pairs, so a
/// regression is all but certain to show.
#[test]
fn two_processes_creating_the_state_at_once_both_work() {
    for _ in 0..60 {
        let state = tempfile::tempdir().unwrap();
        let start = || {
            process::binary()
                .env("ENTRA_CONNECT_STATE_DIR", state.path())
                .args(["scheduler", "set", "--suspended", "false"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        };
        let pair = [start(), start()];
        for child in pair {
            let output = child.wait_with_output().unwrap();
            assert!(
                output.status.success(),
                "{}",
                String::from_utf8_lossy(&output.stderr)
            );
        }
        let db = rusqlite::Connection::open(state.path().join("entra-connect.db")).unwrap();
        let mode: String = db
            .query_row("PRAGMA journal_mode", [], |row| row.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }
}

#[test]
fn an_empty_database_next_to_certificates_is_refused_and_left_empty() {
    let state = tempfile::tempdir().unwrap();
    run_ok(state.path(), &["cert", "new", "--store", "software"]);
    let db = state.path().join("entra-connect.db");
    std::fs::write(&db, b"").unwrap();
    for args in [
        &["credential", "show"][..],
        &["scheduler", "set", "--suspended", "true"][..],
        // Would reach Entra: refused before anything is sent (the address
        // is a closed loopback port, so a request could only fail otherwise).
        &[
            "app",
            "register",
            "--upn",
            "admin@contoso.example",
            "--tenant",
            "contoso.example",
            "--authority-host",
            "http://127.0.0.1:9",
            "--graph-url",
            "http://127.0.0.1:9/v1.0",
        ][..],
    ] {
        let err = run_fails(state.path(), args, 1);
        assert!(
            err.contains("is missing or empty, but the key store holds 1 certificate(s) from an earlier installation"),
            "{args:?}: {err}"
        );
        assert!(
            err.contains(
                "start afresh on an empty directory. Choose a writable directory with --state-dir"
            ),
            "{err}"
        );
        assert_eq!(std::fs::metadata(&db).unwrap().len(), 0, "{args:?}");
    }
    // A missing database next to the certificates is refused alike.
    std::fs::remove_file(&db).unwrap();
    let err = run_fails(state.path(), &["credential", "show"], 1);
    assert!(err.contains("is missing or empty"), "{err}");
    assert!(!db.exists());
    // A new state directory (nothing in it) is a new installation.
    let fresh = tempfile::tempdir().unwrap();
    assert_eq!(
        run_json(fresh.path(), &["credential", "show"])["connector_identity_type"],
        "None"
    );
}

/// A page damaged in the middle of the file (not the schema) is found when
/// the database is opened, not first by a write half way through a change.
#[test]
fn a_damaged_page_in_the_middle_is_found_when_opened() {
    let state = tempfile::tempdir().unwrap();
    run_ok(state.path(), &["cert", "new", "--store", "software"]);
    run_ok(
        state.path(),
        &["scheduler", "set", "--interval-minutes", "45"],
    );
    let db = state.path().join("entra-connect.db");
    let page_size: i64 = rusqlite::Connection::open(&db)
        .unwrap()
        .query_row("PRAGMA page_size", [], |row| row.get(0))
        .unwrap();
    let page_size = page_size as usize;
    let mut bytes = std::fs::read(&db).unwrap();
    let pages = bytes.len() / page_size;
    assert!(pages >= 4, "{pages} pages");
    // A table's page past the schema, whose header SQLite reads on a query of it.
    let page = pages / 2;
    for b in &mut bytes[page * page_size..(page + 1) * page_size] {
        *b = 0xA5;
    }
    std::fs::write(&db, &bytes).unwrap();
    let err = run_fails(state.path(), &["credential", "show"], 1);
    assert!(err.contains("is not a readable SQLite database"), "{err}");
    assert_eq!(std::fs::read(&db).unwrap(), bytes);
}
