//! The habits of a Linux server tool, tried as processes: a reader that goes
//! away, diagnostics that fit where they go (plain in a pipe, the journal's
//! priorities under systemd, JSON lines), and tables that fit a width.

use crate::harness::process;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

fn binary() -> String {
    process::path().to_string_lossy().into_owned()
}

/// Fills the event log with `count` long events (directly in the database:
/// what matters is how they are printed).
fn many_events(state: &Path, count: usize) {
    process::run_ok(state, &["scheduler", "show"]);
    let db = rusqlite::Connection::open(state.join("entra-connect.db")).unwrap();
    for n in 0..count {
        db.execute(
            "INSERT INTO events (time, level, event_id, message) VALUES (?1, 'Information', 1200, ?2)",
            rusqlite::params![
                "2026-12-01T08:00:00Z",
                format!("Scheduler settings changed ({n}): {}", "a long explanation ".repeat(12))
            ],
        )
        .unwrap();
    }
}

#[test]
fn a_reader_that_goes_away_ends_the_command_quietly() {
    let state = tempfile::tempdir().unwrap();
    // Far more than a pipe holds, so the writer meets the closed pipe.
    many_events(state.path(), 2000);
    let output = process::without_a_tpm("bash")
        .args([
            "-c",
            "set -o pipefail; \"$0\" --state-dir \"$1\" events | head -n 1",
            &binary(),
            &state.path().to_string_lossy(),
        ])
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    assert_eq!(
        String::from_utf8_lossy(&output.stderr),
        "",
        "nothing on stderr"
    );
    assert_eq!(String::from_utf8_lossy(&output.stdout).lines().count(), 1);
}

#[test]
fn tables_wrap_to_a_hundred_columns_off_a_terminal() {
    let state = tempfile::tempdir().unwrap();
    many_events(state.path(), 3);
    let text = process::run_ok(state.path(), &["events"]);
    let widest = text.lines().map(|line| line.chars().count()).max().unwrap();
    assert!(widest <= 100, "a line of {widest} columns:\n{text}");
    assert!(text.contains("a long explanation"), "{text}");
    // --json is unchanged: each message whole.
    let events = process::run_json(state.path(), &["events"]);
    let message = events[0]["message"].as_str().unwrap();
    assert!(message.len() > 200, "{message}");
}

#[test]
fn certificates_fit_a_hundred_columns_with_every_hash_whole() {
    let state = tempfile::tempdir().unwrap();
    let hashes: Vec<String> = (0..2)
        .map(|_| {
            process::run_ok(state.path(), &["cert", "new"])
                .trim()
                .to_string()
        })
        .collect();
    let text = process::run_ok(state.path(), &["cert", "list"]);
    let widest = text.lines().map(|line| line.chars().count()).max().unwrap();
    assert!(widest <= 100, "a line of {widest} columns:\n{text}");
    for hash in &hashes {
        assert_eq!(hash.len(), 64, "{hash}");
        assert!(
            text.lines().any(|line| line.contains(hash.as_str())),
            "{hash} is not whole on one line:\n{text}"
        );
    }
}

/// `cert new` with `-v` and `env`: its stderr.
fn diagnostics(extra: &[&str], env: &[(&str, &str)]) -> String {
    let state = tempfile::tempdir().unwrap();
    let mut command = process::binary();
    command
        .arg("--state-dir")
        .arg(state.path())
        .args(extra)
        .args(["cert", "new"])
        .env_remove("JOURNAL_STREAM")
        .env_remove("NO_COLOR")
        .stdout(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stderr).unwrap()
}

/// `app register` against a tenant whose every answer is HTTP 404 (so the
/// sign-in fails at once, without retries): its stderr.
fn failing_sign_in(env: &[(&str, &str)]) -> String {
    failing_register_with(&[], &not_found_everywhere(), env)
}

/// The address of a server whose every answer is HTTP 404.
fn not_found_everywhere() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    address
}

/// `app register` with `extra` against `authority` under systemd, expected
/// to fail: its stderr.
fn failing_register(extra: &[&str], authority: &str) -> String {
    failing_register_with(extra, authority, &[("JOURNAL_STREAM", "8:12345")])
}

fn failing_register_with(extra: &[&str], authority: &str, env: &[(&str, &str)]) -> String {
    let state = tempfile::tempdir().unwrap();
    let mut command = process::entra(state.path());
    command
        .args(["app", "register", "--upn", "admin@contoso.onmicrosoft.com"])
        .args(["--sign-in", "password", "--password-stdin"])
        .args(["--tenant", "contoso.onmicrosoft.com"])
        .args(["--authority-host", authority, "--graph-url", authority])
        .args(extra)
        .env_remove("JOURNAL_STREAM")
        .envs(env.iter().copied())
        .write_stdin("a password\n")
        .timeout(std::time::Duration::from_secs(60));
    let output = command.output().unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    process::stderr(&output)
}

#[test]
fn diagnostics_fit_where_they_go() {
    // A pipe gets no colour codes, with or without NO_COLOR.
    for env in [&[][..], &[("NO_COLOR", "1")][..]] {
        let text = diagnostics(&["-v"], env);
        assert!(text.contains("event_id=1100"), "{text}");
        assert!(!text.contains('\x1b'), "colour codes in a pipe: {text:?}");
    }

    // Under systemd every event is a line with its journal priority, even
    // without -v, so `journalctl -p warning` finds the warnings.
    let text = diagnostics(&[], &[("JOURNAL_STREAM", "8:12345")]);
    let line_of = |id: &str| {
        text.lines()
            .find(|line| line.contains(&format!("event_id={id}")))
            .unwrap_or_else(|| panic!("no event {id} in {text}"))
            .to_string()
    };
    assert!(line_of("1100").starts_with("<6>"), "{text}");
    assert!(line_of("1014").starts_with("<4>"), "{text}");
    assert!(!text.contains('\x1b'), "{text:?}");
    // The command's own lines too: the warning as a warning, the rest as information.
    assert!(
        text.lines().all(|line| line.starts_with('<')),
        "a line without its priority: {text}"
    );
    assert!(
        text.contains("<4>warning: the private key is not protected by a TPM"),
        "{text}"
    );

    // An operation that fails: its progress, the failed step and the error
    // that ends the command each carry their priority.
    let text = failing_sign_in(&[("JOURNAL_STREAM", "8:12345")]);
    assert!(
        text.contains("<6>[ .. ] Sign in as Hybrid Identity Administrator\n"),
        "{text}"
    );
    assert!(
        text.contains("<3>[FAIL] Sign in as Hybrid Identity Administrator: unexpected answer"),
        "{text}"
    );
    assert!(text.contains("<3>error: unexpected answer"), "{text}");
    // And a step refused while planning.
    let unknown = "AB".repeat(32);
    let text = failing_register(&["--certificate-sha256", &unknown], "http://127.0.0.1:9");
    assert!(
        text.contains(&format!(
            "<3>[FAIL] Prepare the certificate: no certificate with SHA-256 hash {unknown}"
        )),
        "{text}"
    );
    // Without systemd, no priorities.
    let text = failing_sign_in(&[]);
    assert!(text.contains("\n[FAIL] Sign in"), "{text}");
    assert!(!text.contains("<3>"), "{text}");

    // For log shippers: one JSON object per diagnostic line.
    let text = diagnostics(&["--log-format", "json"], &[]);
    let logged: Vec<Value> = text
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    let warning = logged
        .iter()
        .find(|line| line["fields"]["event_id"] == 1014)
        .unwrap_or_else(|| panic!("no event 1014 in {text}"));
    assert_eq!(warning["level"], "WARN");
}

fn run_stdout(args: &[&str]) -> String {
    let output = process::binary().args(args).output().unwrap();
    assert!(output.status.success(), "{output:?}");
    String::from_utf8(output.stdout).unwrap()
}

#[test]
fn completions_and_the_manual_page_come_from_the_command_line() {
    let bash = run_stdout(&["completions", "bash"]);
    for word in [
        "service-account",
        "remove-key",
        "--state-dir",
        "--log-format",
    ] {
        assert!(bash.contains(word), "{word} in the bash completions");
    }
    // bash itself accepts the script.
    let checked = Command::new("bash")
        .args(["-n", "-c", &bash])
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");
    let zsh = run_stdout(&["completions", "zsh"]);
    assert!(zsh.starts_with("#compdef entra-connect"), "{zsh}");
    let fish = run_stdout(&["completions", "fish"]);
    assert!(fish.contains("complete -c entra-connect"), "{fish}");

    let page = run_stdout(&["man"]);
    assert!(page.contains(".TH entra-connect"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "{section} in the manual page");
    }
    assert!(
        page.contains("service\\-account"),
        "the subcommands are listed"
    );
}

/// One state per server: root's default state is the system directory the
/// scheduler unit and the package use; a non-root user's is their data
/// directory. Root's runs are in a private mount namespace with an empty
/// tmpfs over /var/lib, so this machine's own state is never touched.
mod one_state_per_server {
    use super::{binary, process};
    use serde_json::Value;
    use std::path::Path;
    use std::time::Duration;

    const SYSTEM: &str = "/var/lib/entra-connect";

    /// `script` run by `sh` as root with a private, empty /var/lib; `$BIN` is
    /// the binary, `$OUT` a directory for its results. No state override.
    fn as_root_with_a_private_var_lib(script: &str, home: &Path, out: &Path, env: &[(&str, &str)]) {
        assert!(
            entra_connect::host::running_as_root(),
            "these tests must run as root (here and in CI): they check root's default state"
        );
        let output = assert_cmd::Command::from_std(process::without_a_tpm("unshare"))
            .args(["--mount", "--propagation", "private", "sh", "-c"])
            .arg(format!("set -e; mount -t tmpfs tmpfs /var/lib; {script}"))
            .env_remove("ENTRA_CONNECT_STATE_DIR")
            .env_remove("STATE_DIRECTORY")
            .env_remove("XDG_DATA_HOME")
            .env_remove("RUST_LOG")
            .env("LC_ALL", "C")
            .env("BIN", binary())
            .env("HOME", home)
            .env("OUT", out)
            .envs(env.iter().copied())
            .timeout(Duration::from_secs(120))
            .output()
            .expect("run unshare");
        assert!(
            output.status.success(),
            "unshare --mount (refused, or a command in it failed): {output:?}"
        );
    }

    fn json(path: &Path) -> Value {
        let text = std::fs::read_to_string(path).unwrap();
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?} ({e}): {text}"))
    }

    #[test]
    fn root_keeps_its_state_in_the_system_directory() {
        let home = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        as_root_with_a_private_var_lib(
            r#""$BIN" --json credential show > "$OUT/show.json"
               "$BIN" credential show > "$OUT/show.txt"
               stat -c %a "/var/lib/entra-connect" > "$OUT/mode"
               STATE_DIRECTORY=/var/lib/from-the-unit:/var/lib/second "$BIN" --json credential show > "$OUT/unit.json""#,
            home.path(),
            out.path(),
            &[],
        );
        let shown = json(&out.path().join("show.json"));
        assert_eq!(shown["state_dir"], SYSTEM, "{shown}");
        assert_eq!(shown["connector_identity_type"], "None", "{shown}");
        let human = std::fs::read_to_string(out.path().join("show.txt")).unwrap();
        assert!(
            human.lines().any(|line| line.starts_with("StateDirectory ")
                && line.ends_with(": /var/lib/entra-connect")),
            "{human}"
        );
        let mode = std::fs::read_to_string(out.path().join("mode")).unwrap();
        assert_eq!(mode.trim(), "700", "the system state is owner-only");
        // Nothing in root's home.
        assert_eq!(std::fs::read_dir(home.path()).unwrap().count(), 0);
        // A unit's StateDirectory= (systemd's STATE_DIRECTORY) is the service's state.
        let unit = json(&out.path().join("unit.json"));
        assert_eq!(unit["state_dir"], "/var/lib/from-the-unit", "{unit}");
        // The scheduler's unit has its state there too, owner-only.
        let service = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/entra-connect-scheduler.service"),
        )
        .unwrap();
        for line in [
            "StateDirectory=entra-connect",
            "StateDirectoryMode=0700",
            "ExecStart=/usr/bin/entra-connect --state-dir /var/lib/entra-connect scheduler run",
        ] {
            assert!(service.lines().any(|l| l == line), "{line} in the unit");
        }
    }

    #[test]
    fn a_user_keeps_their_state_in_their_data_directory() {
        let home = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(home.path(), Some(65534), Some(65534)).unwrap();
        let output = assert_cmd::Command::from_std(process::without_a_tpm("setpriv"))
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(binary())
            .args(["--json", "credential", "show"])
            .env_remove("ENTRA_CONNECT_STATE_DIR")
            .env_remove("STATE_DIRECTORY")
            .env_remove("XDG_DATA_HOME")
            .env_remove("RUST_LOG")
            .env("HOME", home.path())
            .timeout(Duration::from_secs(60))
            .output()
            .expect("run setpriv");
        assert!(output.status.success(), "{output:?}");
        let shown: Value = serde_json::from_slice(&output.stdout).unwrap();
        let expected = home.path().join(".local/share/entra-connect");
        assert_eq!(shown["state_dir"], expected.to_str().unwrap(), "{shown}");
        assert!(expected.join("entra-connect.db").is_file());
    }

    /// The names in `dir`, sorted as `ls` sorts them here.
    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn doctor_finds_roots_old_per_user_state_and_says_how_to_move_it() {
        let home = tempfile::tempdir().unwrap();
        let out = tempfile::tempdir().unwrap();
        // Root's state as an earlier version kept it: a configured connector
        // (a legacy service account) in ~/.local/share/entra-connect.
        let old = home.path().join(".local/share/entra-connect");
        crate::harness::process::run_ok(&old, &["credential", "show"]);
        {
            let db = rusqlite::Connection::open(old.join("entra-connect.db")).unwrap();
            db.execute(
                "UPDATE connector_credential SET identity_type = 'ServiceAccount',
                        service_account_upn = 'Sync_CONNECT01_1a2b3c@contoso.onmicrosoft.com'
                 WHERE id = 1",
                [],
            )
            .unwrap();
        }
        let before = listing(&old);
        let old_text = old.to_str().unwrap().to_string();
        let move_it = format!(
            "mv -T {SYSTEM} {SYSTEM}.unused && mv -T {old_text} {SYSTEM} && chmod 0700 {SYSTEM}"
        );
        as_root_with_a_private_var_lib(
            r#"cksum < "$OLD/entra-connect.db" > "$OUT/sum-before"
               "$BIN" --json doctor > "$OUT/doctor.json" || echo $? > "$OUT/doctor.rc"
               ls -A "$OLD" > "$OUT/old-after-doctor"
               cksum < "$OLD/entra-connect.db" > "$OUT/sum-after"
               sh -c "$MOVE"
               stat -c %a /var/lib/entra-connect > "$OUT/mode"
               "$BIN" --json credential show > "$OUT/moved.json"
               "$BIN" --json doctor --authority-host "$AUTHORITY" > "$OUT/doctor-moved.json" || true"#,
            home.path(),
            out.path(),
            &[
                ("OLD", &old_text),
                ("MOVE", &move_it),
                // The moved state's tenant is reached nowhere: at once, no retries.
                ("AUTHORITY", &super::not_found_everywhere()),
            ],
        );
        let findings = json(&out.path().join("doctor.json"));
        let finding = |findings: &Value, check: &str| {
            findings
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["check"] == check)
                .cloned()
        };
        let here = finding(&findings, "state directory").expect("a state directory finding");
        assert_eq!(here["state_dir"], SYSTEM, "{here}");
        assert_eq!(here["verdict"], "OK", "{here}");
        let warning = finding(&findings, "old state directory")
            .unwrap_or_else(|| panic!("no warning about {old_text} in {findings:#}"));
        assert_eq!(warning["verdict"], "WARN", "{warning}");
        let detail = warning["detail"].as_str().unwrap();
        assert!(detail.contains(&old_text), "{detail}");
        assert!(detail.contains("ServiceAccount"), "{detail}");
        let fix = warning["fix"].as_str().unwrap();
        assert!(fix.contains(&format!("`{move_it}`")), "{fix}");
        assert!(
            fix.contains("systemctl stop entra-connect-scheduler"),
            "{fix}"
        );
        // doctor read the old state and left it as it was.
        let sum = |name: &str| std::fs::read_to_string(out.path().join(name)).unwrap();
        assert_eq!(sum("sum-after"), sum("sum-before"));
        let after: Vec<String> = std::fs::read_to_string(out.path().join("old-after-doctor"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(after, before, "doctor created nothing in {old_text}");

        // The command it gives works: the system state is the old one, owner-only.
        let mode = std::fs::read_to_string(out.path().join("mode")).unwrap();
        assert_eq!(mode.trim(), "700");
        let moved = json(&out.path().join("moved.json"));
        assert_eq!(moved["state_dir"], SYSTEM, "{moved}");
        assert_eq!(
            moved["connector_identity_type"], "ServiceAccount",
            "{moved}"
        );
        let findings = json(&out.path().join("doctor-moved.json"));
        let credential = finding(&findings, "credential").expect("a credential finding");
        assert!(
            credential["detail"]
                .as_str()
                .unwrap()
                .contains("Sync_CONNECT01_1a2b3c"),
            "{credential}"
        );
        assert!(
            finding(&findings, "old state directory").is_none(),
            "{findings:#}"
        );
    }
}
