//! The wizard end to end in a real terminal: `entra-connect wizard --sandbox`
//! runs inside tmux (its own server socket per test), keys go in with
//! `send-keys`, each page is read back with `capture-pane`, and what the wizard
//! changed is checked with the command line in the same state directory.
//! tmux is required: these tests fail (never skip) without it.

use crate::harness::process::binary;
use crate::harness::swtpm::WedgedTpm;
use crate::harness::tenant;
use crate::harness::terminal::{Tmux, has_line, quote, wizard_command, wizard_with};
use entra_connect::keys::TCTI_ENV;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::Ordering;

/// The shell command `wizard`, then a marker with its exit status, then a
/// pause so the pane (and what the shell shows after the wizard) stays readable.
fn marked(wizard: &str) -> String {
    format!("echo SHELL-BEFORE-WIZARD; {wizard}; echo EXITED:$?; sleep 120")
}

/// `wizard --sandbox --fresh` in `state`, marked.
fn wizard_then_marker(state: &Path) -> String {
    marked(&wizard_command(&binary(), state))
}

/// `entra-connect ARGS` in `state`, stdout parsed as JSON.
fn cli_json(state: &Path, args: &[&str]) -> Value {
    let output = binary()
        .env("ENTRA_CONNECT_STATE_DIR", state)
        .args(args)
        .output()
        .expect("run entra-connect");
    assert!(
        output.status.success(),
        "entra-connect {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "entra-connect {args:?} did not print JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

fn credential(state: &Path) -> Value {
    cli_json(state, &["--json", "credential", "show"])
}

/// The recorded application credential's `field` (`application_id`,
/// `certificate_sha256`).
fn application(state: &Path, field: &str) -> String {
    credential(state)["application"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no application {field} recorded"))
        .to_string()
}

fn scheduler(state: &Path) -> Value {
    cli_json(state, &["scheduler", "show", "--json"])
}

/// The scheduler as a fresh server has it: sync cycles on, nothing interrupted.
fn assert_scheduler_untouched(state: &Path) {
    let scheduler = scheduler(state);
    assert_eq!(scheduler["sync_cycle_enabled"], true, "{scheduler:#}");
    assert_eq!(
        scheduler["interrupted_operations"],
        serde_json::json!([]),
        "{scheduler:#}"
    );
}

/// The value after `label` on the screen's line that starts with it.
fn field(screen: &str, label: &str) -> String {
    screen
        .lines()
        .find_map(|line| line.trim().strip_prefix(label))
        .unwrap_or_else(|| panic!("no {label:?} line on the screen:\n{screen}"))
        .trim()
        .to_string()
}

/// Welcome -> Connect -> Sign in (device code) -> approval -> Method page.
fn sign_in(tmux: &Tmux) {
    let screen = tmux.wait_for_page("Welcome");
    assert!(
        screen.contains("Enter start  q quit  Ctrl-C quit"),
        "{screen}"
    );
    tmux.send_keys(&["Enter"]);
    connect_and_sign_in(tmux);
}

/// Connect -> Sign in (device code) -> approval -> Method page.
fn connect_and_sign_in(tmux: &Tmux) {
    let screen = tmux.wait_for_page("Connect to Microsoft Entra ID");
    assert!(
        screen.contains("(•) Sandbox tenant (local emulation)"),
        "{screen}"
    );
    assert!(screen.contains(".onmicrosoft.com"), "{screen}");
    tmux.send_keys(&["Enter"]);

    let screen = tmux.wait_for_page("Sign in");
    assert!(screen.contains("(•) Device code"), "{screen}");
    tmux.send_keys(&["Enter"]);

    let screen = tmux.wait_for("Waiting for approval");
    assert!(
        has_line(&screen, "On any device with a browser, open:"),
        "{screen}"
    );
    assert!(screen.contains("/devicelogin"), "{screen}");
    assert!(screen.contains("and enter the code:"), "{screen}");
    assert!(screen.contains("the code expires in 1"), "{screen}");

    // The sandbox approves after ~2 s and the wizard moves on by itself.
    let screen = tmux.wait_for_page("Authentication method");
    assert!(
        screen.contains("(•) Managed by Entra Connect (recommended)"),
        "{screen}"
    );
    assert!(
        screen.contains("( ) Bring Your Own Certificate"),
        "{screen}"
    );
    assert!(
        screen.contains("( ) Bring Your Own Application"),
        "{screen}"
    );
}

/// q, which asks first (except on Done), then y.
fn quit_when_asked(tmux: &Tmux) {
    tmux.send_keys(&["q"]);
    tmux.wait_for("Quit the wizard? (y/n)");
    tmux.send_keys(&["y"]);
}

/// The Ready page with its list of changes (it first says "Working out the
/// changes…", and ignores Enter until the plan is there).
fn wait_for_ready(tmux: &Tmux) -> String {
    tmux.wait_until("the Ready page with its numbered changes", |screen| {
        has_line(screen, "Ready to configure") && screen.contains(" 1. ")
    })
}

/// Options -> Ready -> Configuring -> Done; returns the Done screen.
fn options_ready_configure(tmux: &Tmux) -> String {
    let screen = tmux.wait_for_page("Options");
    assert!(screen.contains("[ ] Password writeback"), "{screen}");
    tmux.send_keys(&["Enter"]);

    let screen = wait_for_ready(tmux);
    assert!(screen.contains("Nothing has changed yet"), "{screen}");
    tmux.send_keys(&["Enter"]);

    // The sandbox is fast: Configuring may already be over when first read.
    let screen = tmux.wait_until("the Configuring or Done page", |screen| {
        has_line(screen, "Configuring") || has_line(screen, "Done")
    });
    if has_line(&screen, "Configuring") {
        assert!(screen.contains("Elapsed "), "{screen}");
    }
    let screen = tmux.wait_for_page("Done");
    assert!(
        screen.contains("The connector now signs in with application identity."),
        "{screen}"
    );
    assert!(screen.contains("Enter/q quit"), "{screen}");
    screen
}

/// Enter on a task's page, then, once Ready (titled `title`) lists the
/// plan's steps, Enter again: the Ready screen and the Done screen.
fn confirm_the_plan(tmux: &Tmux, title: &str) -> (String, String) {
    tmux.send_keys(&["Enter"]);
    let ready = tmux.wait_until(&format!("the plan on {title:?}"), |screen| {
        has_line(screen, title) && screen.contains(" 1. ")
    });
    tmux.send_keys(&["Enter"]);
    (ready, tmux.wait_for_page("Done"))
}

/// Waits for the process to have exited with status 0.
fn assert_exited_cleanly(tmux: &Tmux) -> String {
    let screen = tmux.wait_for("EXITED:");
    assert!(
        screen.contains("EXITED:0"),
        "the wizard did not exit with 0:\n{screen}"
    );
    screen
}

/// The wizard's screen is gone and the shell's output is back, cursor shown.
fn assert_terminal_restored(tmux: &Tmux, screen: &str) {
    assert!(
        screen.contains("SHELL-BEFORE-WIZARD"),
        "the shell's output before the wizard is not visible again (alternate screen not left?):\n{screen}"
    );
    for wizard_text in ["Waiting for approval", "Welcome ›", "Ctrl-C", "(y/n)"] {
        assert!(
            !screen.contains(wizard_text),
            "the wizard's screen is still visible ({wizard_text:?}):\n{screen}"
        );
    }
    assert_eq!(
        tmux.display("#{alternate_on}"),
        "0",
        "still in the alternate screen"
    );
    assert_eq!(tmux.display("#{cursor_flag}"), "1", "the cursor is hidden");
}

#[test]
fn managed_onboarding_page_by_page() {
    let state = tempfile::tempdir().expect("state dir");
    let tmux = Tmux::start("managed", 100, 30, &wizard_then_marker(state.path()));
    sign_in(&tmux);
    tmux.send_keys(&["Enter"]);

    let done = options_ready_configure(&tmux);
    let app_id = field(&done, "Application id");
    let hash = field(&done, "Certificate SHA-256");
    tmux.send_keys(&["q"]);
    let screen = assert_exited_cleanly(&tmux);
    assert_terminal_restored(&tmux, &screen);

    let credential = credential(state.path());
    assert_eq!(
        credential["connector_identity_type"], "Application",
        "{credential:#}"
    );
    let application = &credential["application"];
    assert_eq!(
        application["application_id"],
        app_id.as_str(),
        "{credential:#}"
    );
    assert_eq!(
        application["certificate_sha256"],
        hash.as_str(),
        "{credential:#}"
    );
    assert_eq!(
        application["certificate_managed_by"], "EntraConnect",
        "{credential:#}"
    );
    assert_scheduler_untouched(state.path());
}

#[test]
fn byoc_onboarding_with_a_certificate_made_beforehand() {
    let state = tempfile::tempdir().expect("state dir");
    let created = binary()
        .env("ENTRA_CONNECT_STATE_DIR", state.path())
        .args(["cert", "new"])
        .output()
        .expect("cert new");
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let hash = String::from_utf8(created.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    assert_eq!(hash.len(), 64, "cert new printed {hash:?}");

    let tmux = Tmux::start("byoc", 100, 30, &wizard_then_marker(state.path()));
    sign_in(&tmux);
    tmux.send_keys(&["Down"]);
    let screen = tmux.wait_for("(•) Bring Your Own Certificate");
    assert!(
        screen.contains("( ) Managed by Entra Connect (recommended)"),
        "{screen}"
    );
    tmux.send_keys(&["Enter"]);

    let screen = tmux.wait_for_page("Choose the certificate");
    assert!(
        screen.contains(&hash[..8]),
        "the table does not show {}:\n{screen}",
        &hash[..8]
    );
    assert!(screen.contains("usable"), "{screen}");
    tmux.send_keys(&["Enter"]);

    let done = options_ready_configure(&tmux);
    assert_eq!(field(&done, "Certificate SHA-256"), hash, "{done}");
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);

    let credential = credential(state.path());
    assert_eq!(
        credential["connector_identity_type"], "Application",
        "{credential:#}"
    );
    assert_eq!(
        credential["application"]["certificate_sha256"],
        hash.as_str(),
        "{credential:#}"
    );
    assert_eq!(
        credential["application"]["certificate_managed_by"], "Customer",
        "{credential:#}"
    );
    assert_scheduler_untouched(state.path());
}

/// Welcome -> Connect -> Sign in -> waiting for the device code's approval.
fn to_waiting_for_approval(tmux: &Tmux) {
    tmux.wait_for_page("Welcome");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Connect to Microsoft Entra ID");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Sign in");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for("Waiting for approval");
}

#[test]
fn ctrl_c_while_waiting_for_approval_then_y_quits_and_restores_the_terminal() {
    let state = tempfile::tempdir().expect("state dir");
    let tmux = Tmux::start("ctrlc-yes", 100, 30, &wizard_then_marker(state.path()));
    to_waiting_for_approval(&tmux);
    tmux.send_keys(&["C-c"]);
    let screen = tmux.wait_for("(y/n)");
    assert!(
        screen.contains("Quit? The sign-in is abandoned; nothing has been changed. (y/n)"),
        "{screen}"
    );
    tmux.send_keys(&["y"]);

    let screen = assert_exited_cleanly(&tmux);
    assert_terminal_restored(&tmux, &screen);
    assert!(
        screen.contains("entra-connect: nothing was changed."),
        "{screen}"
    );
    assert_eq!(credential(state.path())["connector_identity_type"], "None");
    assert_scheduler_untouched(state.path());
}

#[test]
fn ctrl_c_then_n_keeps_the_wizard_running() {
    let state = tempfile::tempdir().expect("state dir");
    let tmux = Tmux::start("ctrlc-no", 100, 30, &wizard_then_marker(state.path()));
    to_waiting_for_approval(&tmux);
    tmux.send_keys(&["C-c"]);
    tmux.wait_for("(y/n)");
    tmux.send_keys(&["n"]);

    let screen = tmux.wait_until("the question to go away", |screen| {
        !screen.contains("(y/n)")
    });
    assert!(!screen.contains("EXITED:"), "{screen}");
    // The sign-in carried on in the background and the wizard moves on.
    tmux.wait_for_page("Authentication method");
    quit_when_asked(&tmux);
    let screen = assert_exited_cleanly(&tmux);
    assert_terminal_restored(&tmux, &screen);
    assert_scheduler_untouched(state.path());
}

/// Ctrl-C once the change is under way (its first steps shown done on
/// Configuring) cancels it: the wizard quits, the connector keeps its
/// certificate and the scheduler is as it was. The tenant answers each
/// request after 700 ms, so the change is still running when the keys arrive.
#[test]
fn ctrl_c_while_the_change_runs_cancels_it_and_puts_the_scheduler_back() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sb = runtime.block_on(tenant::start_with(SandboxConfig {
        latency: std::time::Duration::from_millis(700),
        ..SandboxConfig::default()
    }));
    let state = tempfile::tempdir().expect("state dir");
    onboard_with_the_cli(&sb, state.path());
    let before = credential(state.path())["application"]["certificate_sha256"].clone();

    let tmux = second_pass("ctrlc-run", state.path(), "Application");
    tmux.send_keys(&["Down", "Enter"]);
    tmux.wait_for_page("Rotate application certificate");
    tmux.send_keys(&["Enter"]);
    tmux.wait_until("the rotation's plan", |screen| {
        has_line(screen, "Ready to rotate the certificate") && screen.contains(" 1. ")
    });
    tmux.send_keys(&["Enter"]);
    // Started: the scheduler is off and the new certificate made; the
    // application's new key (two requests, 1.4 s at least) is yet to come.
    let running = tmux.wait_until("the change under way", |screen| {
        has_line(screen, "Configuring") && has_line(screen, "[✓] Prepare the new certificate")
    });
    assert!(
        has_line(&running, "[✓] Disable the sync scheduler for the change"),
        "{running}"
    );
    tmux.send_keys(&["C-c"]);
    tmux.wait_for("(y/n)");
    tmux.send_keys(&["y"]);

    let screen = assert_exited_cleanly(&tmux);
    assert_terminal_restored(&tmux, &screen);
    // What happened stays on the normal screen: where it stopped, what
    // was put back, what to do.
    let summary = screen.split_whitespace().collect::<Vec<_>>().join(" ");
    for said in [
        "entra-connect: The certificate's rotation cancelled at step",
        "The scheduler was put back as it was (SyncCycleEnabled restored).",
        "Done before it stopped, and kept for the rerun: Prepare the new certificate",
        "Run entra-connect wizard again to resume it.",
    ] {
        assert!(summary.contains(said), "{said:?} in {screen}");
    }
    let credential = credential(state.path());
    assert_eq!(
        credential["application"]["certificate_sha256"], before,
        "the change was not cancelled: {credential:#}"
    );
    // The journal has the rotation: begun, its certificate step done, left
    // to resume (Running) before the switch.
    let db = rusqlite::Connection::open(state.path().join("entra-connect.db")).expect("the state");
    let journaled = |query: &str| -> Vec<String> {
        db.prepare(query)
            .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
            .expect("the journal")
    };
    assert_eq!(
        journaled("SELECT status FROM operations WHERE kind = 'rotate'"),
        ["Running"]
    );
    let steps = journaled(
        "SELECT step FROM operation_steps JOIN operations ON id = operation_id WHERE kind = 'rotate'",
    );
    assert!(
        steps.iter().any(|step| step == "new-certificate"),
        "{steps:?}"
    );
    assert!(
        !steps.iter().any(|step| step == "switch-credential"),
        "{steps:?}"
    );
    assert_scheduler_untouched(state.path());
}

/// The wizard on a configured server, in `state` (also its working
/// directory, where exports go), against a tenant that stops answering
/// once the server is set up (`SandboxConfig::stall`).
/// The tenant returned (the sandbox and the runtime serving it) stalls
/// until it is dropped.
fn second_pass_against_a_stalled_tenant(
    label: &str,
) -> (
    (tokio::runtime::Runtime, SandboxHandle),
    tempfile::TempDir,
    Tmux,
) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let config = SandboxConfig::default();
    let stall = config.stall.clone();
    let sb = runtime.block_on(tenant::start_with(config));
    let state = tempfile::tempdir().expect("state dir");
    onboard_with_the_cli(&sb, state.path());
    stall.store(true, Ordering::SeqCst);
    let command = format!(
        "cd {}; {}",
        quote(state.path().to_string_lossy()),
        marked(&wizard_with(&binary(), state.path(), ""))
    );
    let tmux = Tmux::start(label, 100, 30, &command);
    tmux.wait_for_page("Additional tasks");
    ((runtime, sb), state, tmux)
}

/// A read of a tenant that does not answer holds up nothing: the export
/// says it is under way, the next task's plan is worked out at once (the
/// export is cancelled for it, and says so), and Ctrl-C then y quits at
/// once with the terminal restored. Before, the plan stuck on "Working out
/// the changes…" and the wizard could not be quit.
#[test]
fn a_tenant_that_does_not_answer_freezes_nothing() {
    let (_tenant, state, tmux) = second_pass_against_a_stalled_tenant("stalled");
    open_task(&tmux, "View or export current configuration");
    tmux.wait_for_page("Current configuration");
    tmux.send_keys(&["e"]);
    tmux.wait_for("Export to (JSON)");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for("Exporting to entra-connect-configuration.json: reading the application's keys");
    tmux.send_keys(&["Escape"]);
    open_task(&tmux, "Rotate application certificate");
    tmux.wait_for_page("Rotate application certificate");
    tmux.send_keys(&["Enter"]);
    let ready = tmux.wait_until("the rotation's plan", |screen| {
        has_line(screen, "Ready to rotate the certificate") && screen.contains(" 1. ")
    });
    let words = ready.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        words.contains("Not saved: the export to")
            && words.contains("was cancelled to start the next task; export again"),
        "{ready}"
    );
    assert!(
        !state
            .path()
            .join("entra-connect-configuration.json")
            .exists()
    );

    // Remove an application key reads the keys from the tenant: still
    // reading when the administrator quits.
    tmux.send_keys(&["Escape"]);
    tmux.wait_for_page("Rotate application certificate");
    tmux.send_keys(&["Escape"]);
    open_task(&tmux, "Remove an application key");
    tmux.wait_for_page("Remove an application key");
    tmux.send_keys(&["C-c"]);
    tmux.wait_for("(y/n)");
    let asked = std::time::Instant::now();
    tmux.send_keys(&["y"]);
    let screen = assert_exited_cleanly(&tmux);
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(5),
        "quitting took {:?}",
        asked.elapsed()
    );
    assert_terminal_restored(&tmux, &screen);
    assert_scheduler_untouched(state.path());
}

/// SIGTERM (a service manager, `kill`) while a read waits on a tenant that
/// does not answer: the wizard leaves as Ctrl-C then y would, its screen
/// gone and the terminal restored.
#[test]
fn sigterm_quits_and_restores_the_terminal() {
    let (_tenant, state, tmux) = second_pass_against_a_stalled_tenant("sigterm");
    open_task(&tmux, "Remove an application key");
    tmux.wait_for_page("Remove an application key");
    let wizard = std::process::Command::new("pgrep")
        .args(["-P", &tmux.pane_pid().to_string(), "entra-connect"])
        .output()
        .expect("pgrep");
    let wizard = String::from_utf8_lossy(&wizard.stdout).trim().to_string();
    assert!(!wizard.is_empty(), "no wizard process under the pane");
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &wizard])
        .status()
        .expect("kill");
    assert!(killed.success());
    let screen = assert_exited_cleanly(&tmux);
    assert_terminal_restored(&tmux, &screen);
    assert_scheduler_untouched(state.path());
}

#[test]
fn below_80x24_asks_for_a_larger_window_and_recovers_on_resize() {
    let state = tempfile::tempdir().expect("state dir");
    let tmux = Tmux::start("small", 70, 20, &wizard_command(&binary(), state.path()));
    let screen = tmux.wait_for("Make the window larger");
    assert!(screen.contains("80x24"), "{screen}");
    assert!(!has_line(&screen, "Welcome"), "{screen}");
    // Its keys are listed and work there: q asks, n stays.
    assert!(screen.contains("q quit  Ctrl-C quit"), "{screen}");
    tmux.send_keys(&["q"]);
    tmux.wait_for("Quit the wizard? (y/n)");
    tmux.send_keys(&["n"]);
    tmux.wait_for("q quit  Ctrl-C quit");

    tmux.resize(100, 30);
    let screen = tmux.wait_for_page("Welcome");
    assert!(!screen.contains("Make the window larger"), "{screen}");
    assert!(
        screen.contains("Enter start  q quit  Ctrl-C quit"),
        "{screen}"
    );
}

/// A TPM that does not answer (the tool waits 5 s for one) holds up neither
/// the first frame nor the keys: Welcome says the TPM is being checked, the
/// wizard moves on and back meanwhile, and the answer updates Welcome.
#[test]
fn a_tpm_that_does_not_answer_holds_up_neither_welcome_nor_the_keys() {
    let tpm = WedgedTpm::start();
    let state = tempfile::tempdir().expect("state dir");
    let mut wizard = binary();
    wizard.env(TCTI_ENV, tpm.tcti());
    let command = marked(&wizard_command(&wizard, state.path()));
    let tmux = Tmux::start("slow-tpm", 100, 30, &command);
    let screen = tmux.wait_for_page("Welcome");
    assert!(
        screen.contains("Checking whether a TPM answers"),
        "{screen}"
    );
    let moved = std::time::Instant::now();
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Connect to Microsoft Entra ID");
    tmux.send_keys(&["Escape"]);
    let screen = tmux.wait_for_page("Welcome");
    assert!(
        screen.contains("Checking whether a TPM answers"),
        "the keys waited for the TPM (there and back in {:?}): {screen}",
        moved.elapsed()
    );

    let screen = tmux.wait_for("No TPM answers");
    assert!(!screen.contains("Checking whether"), "{screen}");
    quit_when_asked(&tmux);
    assert_exited_cleanly(&tmux);
    drop(tmux);

    // Quitting while the TPM is still being checked does not wait for it:
    // the check gives up 5 s after the wizard started it, and the exit is
    // seen before 5 s from even before the wizard started.
    let started = std::time::Instant::now();
    let tmux = Tmux::start("quit-slow-tpm", 100, 30, &command);
    let screen = tmux.wait_for_page("Welcome");
    assert!(
        screen.contains("Checking whether a TPM answers"),
        "{screen}"
    );
    quit_when_asked(&tmux);
    assert_exited_cleanly(&tmux);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(5),
        "the exit waited for the TPM: {:?} after the start",
        started.elapsed()
    );
}

/// Foreground or background colour parameters in the screen's SGR sequences.
fn colour_sequences(screen: &str) -> Vec<String> {
    let mut found = Vec::new();
    for sequence in screen.split('\x1b').skip(1) {
        let Some(params) = sequence
            .strip_prefix('[')
            .and_then(|rest| rest.split_once('m'))
            .map(|(params, _)| params)
        else {
            continue;
        };
        if !params.chars().all(|c| c.is_ascii_digit() || c == ';') {
            continue;
        }
        let colour = params.split(';').any(|p| {
            matches!(
                p.parse::<u32>(),
                Ok(30..=38 | 40..=48 | 90..=97 | 100..=107)
            )
        });
        if colour {
            found.push(format!("\\x1b[{params}m"));
        }
    }
    found
}

#[test]
fn no_color_draws_the_welcome_page_without_colours() {
    // With colours first, so the check below can see colour when there is some.
    let state = tempfile::tempdir().expect("state dir");
    let command = format!(
        "env -u NO_COLOR {}",
        wizard_command(&binary(), state.path())
    );
    let coloured = Tmux::start("colour", 100, 30, &command);
    coloured.wait_for_page("Welcome");
    let screen = coloured.screen_with_escapes();
    assert!(
        !colour_sequences(&screen).is_empty(),
        "no colour even without NO_COLOR:\n{screen:?}"
    );
    drop(coloured);

    let state = tempfile::tempdir().expect("state dir");
    let command = format!(
        "env NO_COLOR={} {}",
        quote("1"),
        wizard_command(&binary(), state.path())
    );
    let plain = Tmux::start("no-color", 100, 30, &command);
    let screen = plain.wait_for_page("Welcome");
    assert!(
        screen.contains("Enter start  q quit  Ctrl-C quit"),
        "{screen}"
    );
    assert!(screen.contains("You need that role"), "{screen}");
    let escaped = plain.screen_with_escapes();
    let colours = colour_sequences(&escaped);
    assert!(
        colours.is_empty(),
        "colour sequences with NO_COLOR=1: {colours:?}\n{escaped:?}"
    );
}

/// Like [`wizard_then_marker`], with the engine's test hook
/// `ENTRA_CONNECT_TEST_FAIL_AFTER=<step>` set for the wizard: the operation
/// raises an error right after that step completes (only when it runs, not
/// when a later run resumes past it from the journal).
fn wizard_failing_after_then_marker(state: &Path, step: &str) -> String {
    let mut wizard = binary();
    wizard.env("ENTRA_CONNECT_TEST_FAIL_AFTER", step);
    marked(&wizard_command(&wizard, state))
}

/// The first word of `screen` that is a SHA-256 hash (64 hex digits).
fn sha256_on(screen: &str) -> String {
    screen
        .split_whitespace()
        .find(|word| word.len() == 64 && word.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| panic!("no SHA-256 hash on the screen:\n{screen}"))
        .to_string()
}

/// A Managed onboarding that stops right after its certificate step: `b` on
/// the failed Configuring page goes back to a Ready page that lists the plan
/// again (not stuck working it out), and Enter there runs it to Done, resuming
/// the certificate step from the journal: the connector uses the certificate
/// made by the first run, only one certificate exists, and the scheduler ends
/// as it was.
#[test]
fn back_from_a_failed_run_then_enter_resumes_it_with_the_same_certificate() {
    let state = tempfile::tempdir().expect("state dir");
    let tmux = Tmux::start(
        "fail-back",
        100,
        30,
        &wizard_failing_after_then_marker(state.path(), "certificate"),
    );
    sign_in(&tmux);
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Options");
    tmux.send_keys(&["Enter"]);
    wait_for_ready(&tmux);
    tmux.send_keys(&["Enter"]);

    let failed = tmux.wait_until("the Configuring page stopped by the fault", |screen| {
        has_line(screen, "Configuring") && screen.contains("r retry  b/Esc back  q quit")
    });
    assert!(has_line(&failed, "[✓] Prepare the certificate"), "{failed}");
    // Who renews it, in words (it said "(EntraConnect)").
    assert!(
        failed
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .contains("(made here; this tool renews it)"),
        "{failed}"
    );
    assert!(
        has_line(&failed, "[ ] Register this server's application"),
        "{failed}"
    );
    assert!(
        failed.contains("Stopped. Test fault after step certificate"),
        "{failed}"
    );
    assert!(
        failed.contains("Sync cycles are back as they were"),
        "{failed}"
    );
    let made = sha256_on(&failed);
    assert_eq!(
        credential(state.path())["connector_identity_type"],
        "None",
        "the failed run switched the connector"
    );

    tmux.send_keys(&["b"]);
    let ready = wait_for_ready(&tmux);
    assert!(!ready.contains("Working out the changes"), "{ready}");
    assert!(
        ready.contains(" 1. Sign in as Hybrid Identity Administrator (no change)"),
        "{ready}"
    );
    assert!(ready.contains(" 3. Prepare the certificate"), "{ready}");
    assert!(ready.contains("Enter make these changes"), "{ready}");
    tmux.send_keys(&["Enter"]);

    let screen = tmux.wait_until("the Configuring or Done page", |screen| {
        has_line(screen, "Configuring") || has_line(screen, "Done")
    });
    assert!(!screen.contains("test fault after step"), "{screen}");
    let done = tmux.wait_for_page("Done");
    assert!(
        done.contains("The connector now signs in with application identity."),
        "{done}"
    );
    assert_eq!(field(&done, "Certificate SHA-256"), made, "{done}");
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);

    let credential = credential(state.path());
    assert_eq!(
        credential["connector_identity_type"], "Application",
        "{credential:#}"
    );
    assert_eq!(
        credential["application"]["certificate_sha256"],
        made.as_str(),
        "{credential:#}"
    );
    let certificates = cli_json(state.path(), &["cert", "list", "--json"]);
    let certificates = certificates.as_array().expect("cert list is an array");
    assert_eq!(
        certificates.len(),
        1,
        "a second key was made: {certificates:#?}"
    );
    assert_eq!(
        certificates[0]["sha256"],
        made.as_str(),
        "{certificates:#?}"
    );
    assert_scheduler_untouched(state.path());
}

/// `entra-connect ARGS` against the sandbox `sb` in `state`, with `stdin`;
/// stdout parsed as JSON.
fn cli_against(sb: &SandboxHandle, state: &Path, args: &[&str], stdin: &str) -> Value {
    let mut command = assert_cmd::Command::from_std(binary());
    command
        .env("ENTRA_CONNECT_STATE_DIR", state)
        .arg("--json")
        .args(args)
        .args(["--tenant", &sb.tenant_id])
        .args(["--authority-host", &sb.authority_host])
        .args(["--graph-url", &sb.graph_url])
        .args(["--replication-timeout", "20"])
        .write_stdin(stdin)
        .timeout(std::time::Duration::from_secs(120));
    let output = command.output().expect("run entra-connect");
    assert!(
        output.status.success(),
        "entra-connect {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("JSON on stdout")
}

/// The wizard on a configured server (no `--sandbox`: it talks to the tenant
/// the connector's credential is in, here a sandbox on loopback), on
/// Additional tasks with the connector signing in with `identity`.
fn second_pass(label: &str, state: &Path, identity: &str) -> Tmux {
    let command = marked(&wizard_with(&binary(), state, ""));
    let tmux = Tmux::start(label, 100, 30, &command);
    let screen = tmux.wait_for_page("Additional tasks");
    assert!(
        screen.contains(&format!("The connector signs in with: {identity}")),
        "{screen}"
    );
    tmux
}

/// Onboards `state` with the command line (`app register`, `app link`, as
/// the sandbox's Hybrid Identity Administrator).
fn onboard_with_the_cli(sb: &SandboxHandle, state: &Path) {
    let admin = sb.user("hybrid.admin").expect("seeded user").clone();
    let password = format!("{}\n", admin.password);
    for command in ["register", "link"] {
        let sign_in = [
            "--upn",
            &admin.upn,
            "--sign-in",
            "password",
            "--password-stdin",
        ];
        let mut args = vec!["app", command];
        args.extend(sign_in);
        cli_against(sb, state, &args, &password);
    }
}

#[test]
fn rotate_the_certificate_then_remove_the_old_key_from_the_second_pass() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let config = SandboxConfig::default();
    let refuse_removal = config.refuse_remove_key.clone();
    let sb = runtime.block_on(tenant::start_with(config));
    let state = tempfile::tempdir().expect("state dir");
    onboard_with_the_cli(&sb, state.path());
    let before = application(state.path(), "certificate_sha256");

    // Rotate application certificate; Entra refuses the old key's removal.
    refuse_removal.store(true, Ordering::SeqCst);
    let tmux = second_pass("rotate", state.path(), "Application");
    tmux.send_keys(&["Down", "Enter"]);
    let screen = tmux.wait_for_page("Rotate application certificate");
    assert!(screen.contains(&before), "{screen}");
    assert!(
        screen.contains("A new key and certificate, valid 180 days"),
        "{screen}"
    );
    let (ready, done) = confirm_the_plan(&tmux, "Ready to rotate the certificate");
    assert!(
        ready.contains("Add the new key to the application (the application itself)"),
        "{ready}"
    );
    assert!(
        done.contains("The connector's certificate was rotated."),
        "{done}"
    );
    assert!(done.contains("the application itself (addKey)"), "{done}");
    let done_words = done.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        done_words.contains("NOT removed (")
            && done_words.contains("remove it with Remove an application key (Additional tasks)"),
        "{done}"
    );
    tmux.send_keys(&["q"]);
    let screen = assert_exited_cleanly(&tmux);
    assert!(
        screen.contains("entra-connect: The connector's certificate was rotated."),
        "{screen}"
    );
    drop(tmux);
    let after = application(state.path(), "certificate_sha256");
    assert_ne!(after, before);
    assert_scheduler_untouched(state.path());

    // Remove an application key: the old one, whose certificate the rotation
    // deleted, is still known as this server's (not someone else's).
    refuse_removal.store(false, Ordering::SeqCst);
    let tmux = second_pass("remove-key", state.path(), "Application");
    tmux.send_keys(&["Down", "Down", "Enter"]);
    let keys = tmux.wait_until("the application's keys", |screen| {
        has_line(screen, "Remove an application key") && screen.contains("(•)")
    });
    assert_eq!(keys.matches("in use; valid").count(), 1, "{keys}");
    assert!(!keys.contains("UNKNOWN"), "{keys}");
    assert_eq!(keys.matches("added by this server").count(), 1, "{keys}");
    let (ready, done) = confirm_the_plan(&tmux, "Ready to remove the key");
    assert!(
        ready.contains("Remove the key from the application"),
        "{ready}"
    );
    assert!(
        done.contains("The key was removed from the application."),
        "{done}"
    );
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);

    let listed = cli_against(&sb, state.path(), &["app", "keys"], "");
    let listed = listed.as_array().expect("keys");
    assert_eq!(listed.len(), 1, "{listed:#?}");
    assert_eq!(listed[0]["origin"], "in-use", "{listed:#?}");
    assert_scheduler_untouched(state.path());
}

// --- the way back: an existing server, rollback, the legacy accounts ----------------------

/// On Additional tasks, chooses the task `label` and opens it.
fn open_task(tmux: &Tmux, label: &str) {
    let screen = tmux.wait_for_page("Additional tasks");
    let tasks: Vec<(bool, &str)> = screen
        .lines()
        .filter_map(|line| {
            let line = line.trim();
            line.strip_prefix("(•) ")
                .map(|task| (true, task))
                .or_else(|| line.strip_prefix("( ) ").map(|task| (false, task)))
        })
        .collect();
    let index = tasks
        .iter()
        .position(|(_, task)| *task == label)
        .unwrap_or_else(|| panic!("no task {label:?} on Additional tasks:\n{screen}"));
    // The menu is where it was left (or, on a service account, on Configure).
    let cursor = tasks.iter().position(|(chosen, _)| *chosen).unwrap_or(0);
    if index > cursor {
        tmux.send_keys(&vec!["Down"; index - cursor]);
    } else if index < cursor {
        tmux.send_keys(&vec!["Up"; cursor - index]);
    }
    tmux.wait_for(&format!("(•) {label}"));
    tmux.send_keys(&["Enter"]);
}

/// The seeded legacy connector account of `sb`.
fn seeded_sync_account(sb: &SandboxHandle) -> entra_connect::sandbox::SeededUser {
    sb.user("Sync_CONNECT01_1a2b3c4d5e6f")
        .expect("the seeded sync account")
        .clone()
}

/// Records the sandbox's legacy connector account in `state`, as an existing
/// Connect server has it (`service-account use`).
fn record_legacy_account(sb: &SandboxHandle, state: &Path) {
    let account = seeded_sync_account(sb);
    cli_against(
        sb,
        state,
        &[
            "service-account",
            "use",
            "--upn",
            &account.upn,
            "--password-stdin",
        ],
        &format!("{}\n", account.password),
    );
}

/// `--fresh` plays a new installation: the first pass, nothing recorded.
/// At 80x24 an identifier is never broken at a hyphen: the legacy
/// account's UPN (…@contoso-sandbox.onmicrosoft.com) stands whole on one
/// line of the configuration view, or moves whole to the next.
#[test]
fn identifiers_stand_whole_at_80x24() {
    let state = tempfile::tempdir().expect("state dir");
    let command = marked(&wizard_with(&binary(), state.path(), "--sandbox"));
    let tmux = Tmux::start("identifiers", 80, 24, &command);
    open_task(&tmux, "View or export current configuration");
    let screen = tmux.wait_for_page("Current configuration");
    assert!(
        screen.lines().any(|line| line.contains("Sync_CONNECT01_")
            && line.contains("@contoso-sandbox.onmicrosoft.com")),
        "{screen}"
    );
    assert!(
        !screen
            .lines()
            .any(|line| line.trim_end().ends_with("@contoso-")),
        "{screen}"
    );
}

/// Runs `wizard --sandbox --fresh` on `state` (in the tmux session `name`)
/// and quits on its first page, which must be a new installation's, as the
/// recorded credential says too.
fn open_fresh_and_quit(state: &Path, name: &str) {
    let command = marked(&wizard_with(&binary(), state, "--sandbox --fresh"));
    let tmux = Tmux::start(name, 100, 30, &command);
    let screen = tmux.wait_for_page("Welcome");
    assert!(!screen.contains("Additional tasks"), "{screen}");
    quit_when_asked(&tmux);
    assert_exited_cleanly(&tmux);
    let recorded = credential(state);
    assert_eq!(recorded["connector_identity_type"], "None", "{recorded:#}");
}

#[test]
fn wizard_sandbox_fresh_opens_on_a_new_installation() {
    let state = tempfile::tempdir().expect("state dir");
    open_fresh_and_quit(state.path(), "fresh");
}

#[test]
fn wizard_sandbox_opens_on_the_service_account_then_moves_it_to_an_application() {
    let state = tempfile::tempdir().expect("state dir");
    let command = marked(&wizard_with(&binary(), state.path(), "--sandbox"));
    let tmux = Tmux::start("existing", 100, 30, &command);
    let screen = tmux.wait_for_page("Additional tasks");
    for expected in [
        "The connector signs in with: ServiceAccount",
        "(•) Configure application-based authentication",
        "( ) Remove a legacy service account",
    ] {
        assert!(screen.contains(expected), "{expected:?} in {screen}");
    }
    assert!(!screen.contains("Roll back"), "{screen}");
    let recorded = credential(state.path());
    assert_eq!(
        recorded["connector_identity_type"], "ServiceAccount",
        "{recorded:#}"
    );
    let sync_upn = recorded["service_account"]["user_principal_name"]
        .as_str()
        .expect("the recorded account")
        .to_string();
    assert!(sync_upn.starts_with("Sync_CONNECT01_"), "{recorded:#}");

    // The existing server moves to application identity and keeps the way back.
    open_task(&tmux, "Configure application-based authentication");
    connect_and_sign_in(&tmux);
    tmux.send_keys(&["Enter"]);
    options_ready_configure(&tmux);
    tmux.send_keys(&["q"]);
    let screen = assert_exited_cleanly(&tmux);
    assert_terminal_restored(&tmux, &screen);
    // What recorded the account before the pages opened stays readable.
    assert!(screen.contains("Record the connector account"), "{screen}");

    let credential = credential(state.path());
    assert_eq!(
        credential["connector_identity_type"], "Application",
        "{credential:#}"
    );
    assert_eq!(credential["way_back"], sync_upn.as_str(), "{credential:#}");
    assert_scheduler_untouched(state.path());
}

/// A tenant that lasts: `wizard --sandbox` moves the server to an
/// application and quits; a second `wizard --sandbox` on the same state
/// finds that application in its tenant and rotates its certificate; the
/// tenant, started again from the state, has only the new key.
#[test]
fn a_second_wizard_sandbox_continues_the_first_and_rotates_the_certificate() {
    let state = tempfile::tempdir().expect("state dir");
    let command = marked(&wizard_with(&binary(), state.path(), "--sandbox"));
    let tmux = Tmux::start("lasts-first", 100, 30, &command);
    open_task(&tmux, "Configure application-based authentication");
    connect_and_sign_in(&tmux);
    tmux.send_keys(&["Enter"]);
    options_ready_configure(&tmux);
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);
    drop(tmux);
    let before = application(state.path(), "certificate_sha256");

    let tmux = Tmux::start("lasts-second", 100, 30, &command);
    let screen = tmux.wait_for_page("Additional tasks");
    assert!(
        screen.contains("The connector signs in with: Application"),
        "{screen}"
    );
    open_task(&tmux, "Rotate application certificate");
    let screen = tmux.wait_for_page("Rotate application certificate");
    assert!(screen.contains(&before), "{screen}");
    let (_, done) = confirm_the_plan(&tmux, "Ready to rotate the certificate");
    assert!(
        done.contains("The connector's certificate was rotated."),
        "{done}"
    );
    let done_words = done.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(!done_words.contains("NOT removed"), "{done}");
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);
    drop(tmux);
    let after = application(state.path(), "certificate_sha256");
    assert_ne!(after, before);
    assert_scheduler_untouched(state.path());

    // The rotation was kept too: the tenant has the new key, and only it.
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sb = runtime.block_on(tenant::start_with(SandboxConfig {
        data_dir: Some(state.path().join("sandbox")),
        ..SandboxConfig::default()
    }));
    let keys = cli_against(&sb, state.path(), &["app", "keys"], "");
    let keys = keys.as_array().expect("keys");
    assert_eq!(keys.len(), 1, "{keys:#?}");
    assert_eq!(keys[0]["origin"], "in-use", "{keys:#?}");
}

/// `--fresh` on a state a `wizard --sandbox` made starts both afresh: a new
/// installation (no credential) against a new tenant.
#[test]
fn wizard_sandbox_fresh_starts_a_demo_state_and_its_tenant_anew() {
    let state = tempfile::tempdir().expect("state dir");
    let tenant_file = state
        .path()
        .join("sandbox")
        .join(entra_connect::sandbox::TENANT_FILE);
    let existing = marked(&wizard_with(&binary(), state.path(), "--sandbox"));
    let tmux = Tmux::start("demo-existing", 100, 30, &existing);
    tmux.wait_for_page("Additional tasks");
    quit_when_asked(&tmux);
    assert_exited_cleanly(&tmux);
    drop(tmux);
    assert_eq!(
        credential(state.path())["connector_identity_type"],
        "ServiceAccount"
    );
    let first_tenant = std::fs::read(&tenant_file).expect("the kept tenant");

    open_fresh_and_quit(state.path(), "demo-fresh");
    let second_tenant = std::fs::read(&tenant_file).expect("the new tenant");
    assert_ne!(second_tenant, first_tenant, "the tenant was not made anew");
}

#[test]
fn roll_back_to_the_retained_service_account_from_the_second_pass() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sb = runtime.block_on(tenant::start());
    let state = tempfile::tempdir().expect("state dir");
    record_legacy_account(&sb, state.path());
    onboard_with_the_cli(&sb, state.path());
    let sync_upn = seeded_sync_account(&sb).upn;
    assert_eq!(credential(state.path())["way_back"], sync_upn.as_str());

    let tmux = second_pass("rollback", state.path(), "Application");
    open_task(&tmux, "Roll back to a service account");
    let screen = tmux.wait_for_page("Roll back to a service account");
    assert!(screen.contains(&sync_upn), "{screen}");
    assert!(
        screen.contains("[x] Wait for a new account to sign in"),
        "{screen}"
    );
    // No administrator: the retained account still signs in.
    let (ready, done) = confirm_the_plan(&tmux, "Ready to roll back");
    assert!(
        ready.contains("1. Try the retained connector account (no change)"),
        "{ready}"
    );
    assert!(
        done.contains("Rolled back: the connector signs in with a service account again."),
        "{done}"
    );
    assert_eq!(field(&done, "Service account"), sync_upn, "{done}");
    assert!(done.contains("the one kept as the way back"), "{done}");
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);

    let credential = credential(state.path());
    assert_eq!(
        credential["connector_identity_type"], "ServiceAccount",
        "{credential:#}"
    );
    assert_eq!(
        credential["service_account"]["user_principal_name"],
        sync_upn.as_str(),
        "{credential:#}"
    );
    assert_scheduler_untouched(state.path());
}

/// The device code on `screen` ("… enter the code CODE …", wrapped anywhere).
fn device_code_on(screen: &str) -> Option<String> {
    let words: Vec<&str> = screen.split_whitespace().collect();
    words
        .windows(3)
        .find(|w| w[0] == "the" && w[1] == "code")
        .map(|w| w[2].to_string())
}

#[test]
fn remove_a_legacy_service_account_from_the_second_pass() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sb = runtime.block_on(tenant::start_with(SandboxConfig {
        device_code_interval: std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    }));
    let state = tempfile::tempdir().expect("state dir");
    record_legacy_account(&sb, state.path());

    // A leftover directory synchronization account, made by a Global Administrator.
    let leftover = format!("Sync_OLDSYNC_00aa11bb22cc@{}", sb.tenant_domain);
    let global_admin = runtime.block_on(tenant::user_token(&sb, "global.admin"));
    runtime.block_on(async {
        let (status, user) = tenant::graph(
            &sb,
            &global_admin,
            reqwest::Method::POST,
            "/users",
            Some(serde_json::json!({
                "accountEnabled": true,
                "displayName": "On-Premises Directory Synchronization Service Account",
                "mailNickname": "Sync_OLDSYNC_00aa11bb22cc",
                "userPrincipalName": leftover,
                "passwordProfile": {
                    "password": "Str0ng!Passw0rd-42",
                    "forceChangePasswordNextSignIn": false
                },
            })),
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{user}");
        let (status, body) = tenant::graph(
            &sb,
            &global_admin,
            reqwest::Method::POST,
            "/roleManagement/directory/roleAssignments",
            Some(serde_json::json!({
                "principalId": user["id"],
                "roleDefinitionId": "d29b2b05-8046-44ba-8758-1e26182fcf32",
                "directoryScopeId": "/",
            })),
        )
        .await;
        assert_eq!(status, reqwest::StatusCode::CREATED, "{body}");
    });

    let tmux = second_pass("remove-account", state.path(), "ServiceAccount");
    open_task(&tmux, "Remove a legacy service account");
    tmux.wait_for_page("Remove a legacy service account");
    // Each sign-in waits for the code the page shows, approved as `upn`.
    let approve_as = |upn: &str| {
        let waiting = tmux.wait_until("the device code", |screen| device_code_on(screen).is_some());
        let code = device_code_on(&waiting).expect("a device code");
        runtime.block_on(async {
            let response = tenant::http()
                .post(format!("{}/sandbox/device/approve", sb.authority_host))
                .json(&serde_json::json!({ "user_code": code, "upn": upn }))
                .send()
                .await
                .expect("approve the device code");
            assert!(response.status().is_success(), "{response:?}");
        });
    };
    // A Hybrid Identity Administrator may not list them: refused, and Enter
    // asks again (the tenant is asked again); then another administrator
    // is entered and signs in.
    let refused_admin = sb.user("hybrid.admin").expect("seeded user").upn.clone();
    tmux.send_keys(&["-l", &refused_admin]);
    tmux.send_keys(&["Enter"]);
    approve_as(&refused_admin);
    let refusal = "holds none of the roles this change needs";
    tmux.wait_for(refusal);
    let asked = sb.requests_served();
    tmux.send_keys(&["Enter"]);
    tmux.wait_until("the list asked for again", |screen| {
        screen.contains("could not be read (attempt 2)") && sb.requests_served() > asked
    });
    for _ in 0..refused_admin.len() {
        tmux.send_keys(&["BSpace"]);
    }
    let remover = sb.user("global.admin").expect("seeded user").upn.clone();
    tmux.send_keys(&["-l", &remover]);
    tmux.send_keys(&["Enter"]);
    // The Global Administrator approves the code the page shows.
    approve_as(&remover);
    let listed = tmux.wait_until("the directory synchronization accounts", |screen| {
        screen.contains("Enter remove this account")
    });
    let sync_upn = seeded_sync_account(&sb).upn;
    assert!(listed.contains(&sync_upn), "{listed}");
    assert!(
        listed.contains("in use by this server's connector"),
        "{listed}"
    );
    assert!(listed.contains(&format!("(•) {leftover}")), "{listed}");
    assert!(listed.contains("not used by this server"), "{listed}");
    let (ready, done) = confirm_the_plan(&tmux, "Ready to remove the account");
    assert!(ready.contains("Sync_OLDSYNC_00aa11bb22cc@"), "{ready}");
    assert!(
        done.contains("The directory synchronization account was removed."),
        "{done}"
    );
    assert_eq!(field(&done, "Removed"), leftover, "{done}");
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);

    let (status, body) = runtime.block_on(tenant::graph(
        &sb,
        &global_admin,
        reqwest::Method::GET,
        &format!("/users/{leftover}"),
        None,
    ));
    assert_eq!(status, reqwest::StatusCode::NOT_FOUND, "{body}");
    let credential = credential(state.path());
    assert_eq!(
        credential["service_account"]["user_principal_name"],
        sync_upn.as_str(),
        "{credential:#}"
    );
    assert_scheduler_untouched(state.path());
}

// --- who can sign in as this connector ---------------------------------------------------

/// An Application Administrator plants a client secret on the connector's
/// application, and it signs in as the connector. In the wizard another
/// Application Administrator opens "Review who can sign in as this
/// connector", signs in with a password, sees the secret listed as unknown
/// and marked, and revokes it through its plan: the tenant no longer has it,
/// it no longer signs in, and the connector's certificate still does.
#[test]
fn review_who_can_sign_in_and_revoke_a_planted_secret() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    // The sign-in client's consent for the administrator's read and removals.
    let sb = runtime.block_on(tenant::start_with(tenant::with_graph_consent(&[
        "Directory.Read.All",
        "DelegatedPermissionGrant.ReadWrite.All",
    ])));
    let state = tempfile::tempdir().expect("state dir");
    onboard_with_the_cli(&sb, state.path());
    let app_id = application(state.path(), "application_id");
    let planted = runtime.block_on(tenant::plant_secret(&sb, &app_id));
    let secret_id = planted["keyId"].as_str().expect("keyId").to_string();
    let secret = planted["secretText"]
        .as_str()
        .expect("secretText")
        .to_string();
    let (status, body) = runtime.block_on(tenant::token_with_secret(&sb, &app_id, &secret));
    assert_eq!(
        status,
        reqwest::StatusCode::OK,
        "the planted secret: {body}"
    );

    let tmux = second_pass("review", state.path(), "Application");
    open_task(&tmux, "Review who can sign in as this connector");
    let screen = tmux.wait_for_page("Sign in");
    assert!(screen.contains("Application Administrator"), "{screen}");
    // The method (Tab from the account), the password, then the account and the password.
    let admin = sb.user("app.admin").expect("seeded user").clone();
    tmux.send_keys(&["Tab", "Down", "Tab", "C-u"]);
    tmux.send_keys(&["-l", &admin.upn]);
    tmux.send_keys(&["Tab"]);
    tmux.send_keys(&["-l", &admin.password]);
    tmux.wait_for("Password          [•");
    tmux.send_keys(&["Enter"]);

    let review = tmux.wait_until("the review", |screen| {
        has_line(screen, "Review who can sign in as this connector") && screen.contains("[x]")
    });
    assert!(
        review.contains("[x] client secret \"planted\": UNKNOWN: not added by this server"),
        "{review}"
    );
    assert!(review.contains(&format!("id {secret_id}")), "{review}");
    assert!(review.contains("certificate key: in use"), "{review}");
    assert!(!review.contains(&secret), "the secret's value: {review}");
    let (ready, done) = confirm_the_plan(&tmux, "Ready to revoke");
    assert!(ready.contains("Remove the client secrets"), "{ready}");
    assert!(
        done.contains("What this server did not put there can no longer sign in as its connector."),
        "{done}"
    );
    assert!(done.contains(&secret_id), "{done}");
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);

    // Gone from the application, as Graph serves it, and refused as a credential.
    let application = runtime.block_on(async {
        let token = tenant::user_token(&sb, "app.admin").await;
        tenant::get_ok(&sb, &token, &format!("/applications(appId='{app_id}')")).await
    });
    let secrets = application["passwordCredentials"]
        .as_array()
        .expect("passwordCredentials");
    assert!(
        !secrets.iter().any(|s| s["keyId"] == secret_id.as_str()),
        "{application:#}"
    );
    let (status, body) = runtime.block_on(tenant::token_with_secret(&sb, &app_id, &secret));
    assert_ne!(status, reqwest::StatusCode::OK, "{body}");
    assert_eq!(tenant::aadsts(&body), 7000215, "{body}");
    // The connector's own certificate still gets its token.
    let tested = cli_against(&sb, state.path(), &["credential", "test"], "");
    assert_eq!(tested["client_id"], app_id.as_str(), "{tested:#}");
    assert_eq!(
        tested["roles"],
        serde_json::json!(["ADSynchronization.ReadWrite.All"]),
        "{tested:#}"
    );
    assert_scheduler_untouched(state.path());
}

// --- sign in the way the tenant allows, once a session ------------------------------------

/// The screen as one line of words, for sentences that wrap.
fn words(screen: &str) -> String {
    screen.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The address the Sign in page asks to open in a browser: its rows (it is
/// cut at the page's width), from the one it starts on, joined.
fn browser_address_on(screen: &str) -> Option<String> {
    let address: String = screen
        .lines()
        .map(str::trim)
        .skip_while(|row| !row.starts_with("http://127.0.0.1:"))
        .take_while(|row| !row.is_empty() && !row.contains(' '))
        .collect();
    (!address.is_empty()).then_some(address)
}

/// `wizard --sandbox ARGS` on `state` whose tenant's Conditional Access
/// blocks the device code, marked, in a 120x40 window named `label`.
fn blocking_device_codes(label: &str, state: &Path, args: &str) -> Tmux {
    let args = format!("--sandbox {args} --conditional-access block-device-code");
    let command = marked(&wizard_with(&binary(), state, &args));
    Tmux::start(label, 120, 40, &command)
}

/// A browser on another machine: it follows the address on `screen` to the
/// sandbox's sign-in (approved at once) and ends on the redirect to
/// `localhost`, which would not load there. The redirect and its code.
fn browser_elsewhere(screen: &str) -> (String, String) {
    let address = browser_address_on(screen).expect("the address to open");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let redirect = runtime.block_on(async {
        let answer = tenant::http()
            .get(&address)
            .send()
            .await
            .expect("the sandbox's sign-in");
        assert_eq!(answer.status(), reqwest::StatusCode::FOUND, "{address}");
        answer.headers()["location"]
            .to_str()
            .expect("a Location")
            .to_string()
    });
    let redirect_url = url::Url::parse(&redirect).expect("the redirect");
    assert_eq!(redirect_url.host_str(), Some("localhost"), "{redirect}");
    let code = redirect_url
        .query_pairs()
        .find(|(name, _)| name == "code")
        .map(|(_, code)| code.into_owned())
        .expect("the redirect's code");
    (redirect, code)
}

/// Waits for the address a browser sign-in asks to open (with the field
/// for the redirect), signs in elsewhere, pastes the redirect and sends it;
/// the screen that asked, and the code it held, which the screen never shows.
fn sign_in_in_a_browser_elsewhere(tmux: &Tmux) -> (String, String) {
    let waiting = tmux.wait_until("the address to open in a browser", |screen| {
        browser_address_on(screen).is_some() && screen.contains("Address           [")
    });
    let (redirect, code) = browser_elsewhere(&waiting);
    tmux.send_keys(&["-l", &redirect]);
    let pasted = tmux.wait_for("characters hidden)");
    assert!(
        !pasted.contains(&code),
        "the code is on the screen:\n{pasted}"
    );
    tmux.send_keys(&["Enter"]);
    (waiting, code)
}

/// A tenant whose Conditional Access blocks the device code flow (the
/// demo's tenant with `--conditional-access block-device-code`, approving
/// the administrator's sign-ins at once): the device code, approved, is
/// refused by the policy and the Sign in page moves to the browser. The
/// browser runs elsewhere (a plain HTTP client follows the address on the
/// screen to the sandbox's redirect, which would not load there); the
/// address it ends on is pasted into the page, never shown with its code,
/// and the onboarding runs to Done on that one sign-in.
#[test]
fn the_browser_signs_in_where_conditional_access_blocks_the_device_code() {
    let state = tempfile::tempdir().expect("state dir");
    let tmux = blocking_device_codes("browser", state.path(), "--fresh");
    tmux.wait_for_page("Welcome");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Connect to Microsoft Entra ID");
    tmux.send_keys(&["Enter"]);
    let screen = tmux.wait_for_page("Sign in");
    assert!(screen.contains("(•) Device code"), "{screen}");
    assert!(
        screen.contains("( ) Browser (when the device code is blocked)"),
        "{screen}"
    );

    tmux.send_keys(&["Enter"]);
    let refused = tmux.wait_until("the device code refused by the policy", |screen| {
        words(screen).contains("Esc to Sign in and choose the browser.")
    });
    assert!(words(&refused).contains("AADSTS53003"), "{refused}");
    assert!(
        words(&refused).contains("A Conditional Access policy of this tenant blocked this sign-in"),
        "{refused}"
    );
    assert!(
        refused.contains("(•) Browser (when the device code is blocked)"),
        "{refused}"
    );

    tmux.send_keys(&["Enter"]);
    let waiting = tmux.wait_until("the address to open in a browser", |screen| {
        browser_address_on(screen).is_some() && screen.contains("Address           [")
    });
    assert!(
        words(&waiting).contains(
            "A browser on another machine ends on an address starting http://localhost that does not load there"
        ),
        "{waiting}"
    );
    let (redirect, code) = browser_elsewhere(&waiting);
    let redirect_url = url::Url::parse(&redirect).expect("the redirect");

    // Pasted: the field shows the address without its query.
    tmux.send_keys(&["-l", &redirect]);
    let pasted = tmux.wait_for("characters hidden)");
    assert!(pasted.contains("[http://localhost:"), "{pasted}");
    assert!(
        !pasted.contains(&code),
        "the code is on the screen:\n{pasted}"
    );
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Authentication method");
    tmux.send_keys(&["Enter"]);
    options_ready_configure(&tmux);
    tmux.send_keys(&["q"]);
    let screen = assert_exited_cleanly(&tmux);
    assert!(!screen.contains(&code), "{screen}");

    // The sign-in's listener closed with it.
    let port = redirect_url.port().expect("the loopback port");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    let credential = credential(state.path());
    assert_eq!(
        credential["connector_identity_type"], "Application",
        "{credential:#}"
    );
    assert_scheduler_untouched(state.path());
}

/// One wizard session, two tasks that sign an administrator in: "Review who
/// can sign in as this connector" approves a device code; "Remove a legacy
/// service account" then lists the accounts and removes one as the same
/// administrator with no device code shown: the sandbox issued one.
#[test]
fn two_tasks_in_one_session_sign_in_once() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let admin = tenant::seeded_upn("global.admin");
    let sb = runtime.block_on(tenant::start_with(SandboxConfig {
        auto_approve: Some(admin.clone()),
        device_code_interval: std::time::Duration::from_secs(1),
        ..tenant::with_graph_consent(&[
            "Directory.Read.All",
            "DelegatedPermissionGrant.ReadWrite.All",
        ])
    }));
    let state = tempfile::tempdir().expect("state dir");
    onboard_with_the_cli(&sb, state.path());
    assert_eq!(
        sb.device_codes_issued(),
        0,
        "the CLI signed in with a password"
    );

    let tmux = second_pass("sign-in-once", state.path(), "Application");
    open_task(&tmux, "Review who can sign in as this connector");
    tmux.wait_for_page("Sign in");
    tmux.send_keys(&["C-u"]);
    tmux.send_keys(&["-l", &admin]);
    tmux.send_keys(&["Enter"]);
    tmux.wait_for("and enter the code:");
    tmux.wait_for_page("Review who can sign in as this connector");
    assert_eq!(sb.device_codes_issued(), 1);

    tmux.send_keys(&["Escape"]);
    open_task(&tmux, "Remove a legacy service account");
    let screen = tmux.wait_for_page("Remove a legacy service account");
    assert!(screen.contains(&admin), "the administrator kept: {screen}");
    tmux.send_keys(&["Enter"]);
    let shown_code = std::cell::Cell::new(false);
    let listed = tmux.wait_until("the directory synchronization accounts", |screen| {
        shown_code.set(shown_code.get() || device_code_on(screen).is_some());
        screen.contains("Enter remove this account")
    });
    assert!(!shown_code.get(), "a device code was shown");
    let sync_upn = seeded_sync_account(&sb).upn;
    assert!(listed.contains(&format!("(•) {sync_upn}")), "{listed}");
    assert!(listed.contains("not used by this server"), "{listed}");
    let (_, done) = confirm_the_plan(&tmux, "Ready to remove the account");
    assert!(
        done.contains("The directory synchronization account was removed."),
        "{done}"
    );
    tmux.send_keys(&["q"]);
    assert_exited_cleanly(&tmux);
    assert_eq!(
        sb.device_codes_issued(),
        1,
        "the second task (its list and its removal) signed in again"
    );
    assert_scheduler_untouched(state.path());
}

/// Where Conditional Access blocks the device code, the session's browser
/// serves a task's own page too: the first pass (on the demo's existing
/// server) signs its administrator in with the browser; back on Additional
/// tasks, "Remove a legacy service account", as a Global Administrator (a
/// sign-in of its own), shows the address and the field on that page, takes
/// the redirect pasted back, and lists the accounts.
#[test]
fn a_task_page_signs_in_with_the_browser_where_conditional_access_blocks_the_device_code() {
    let state = tempfile::tempdir().expect("state dir");
    let tmux = blocking_device_codes("task-browser", state.path(), "");
    open_task(&tmux, "Configure application-based authentication");
    tmux.wait_for_page("Connect to Microsoft Entra ID");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Sign in");
    // From the account up to the methods, then down to the browser.
    tmux.send_keys(&["Tab", "Down", "Down"]);
    tmux.wait_for("(•) Browser (when the device code is blocked)");
    tmux.send_keys(&["Enter"]);
    sign_in_in_a_browser_elsewhere(&tmux);
    tmux.wait_for_page("Authentication method");

    // Back through Sign in (still on the browser) and Connect to the tasks.
    tmux.send_keys(&["Escape"]);
    tmux.wait_until("Sign in, still on the browser", |screen| {
        has_line(screen, "Sign in")
            && screen.contains("(•) Browser (when the device code is blocked)")
    });
    tmux.send_keys(&["Escape"]);
    tmux.wait_for_page("Connect to Microsoft Entra ID");
    tmux.send_keys(&["Escape"]);
    open_task(&tmux, "Remove a legacy service account");
    let screen = tmux.wait_for_page("Remove a legacy service account");
    assert!(
        words(&screen).contains("who signs in with the browser."),
        "{screen}"
    );
    let remover = tenant::seeded_upn("global.admin");
    tmux.send_keys(&["C-u"]);
    tmux.send_keys(&["-l", &remover]);
    tmux.send_keys(&["Enter"]);
    let (asked, code) = sign_in_in_a_browser_elsewhere(&tmux);
    assert!(
        has_line(&asked, "Remove a legacy service account"),
        "{asked}"
    );
    assert!(
        asked.contains(&format!("Sign in as {remover} in a browser")),
        "{asked}"
    );
    let listed = tmux.wait_until("the directory synchronization accounts", |screen| {
        screen.contains("Enter remove this account")
    });
    assert!(
        words(&listed).contains(&format!("as {remover} reads them")),
        "{listed}"
    );
    assert!(listed.contains("Sync_CONNECT01_"), "{listed}");
    assert!(
        listed.contains("in use by this server's connector"),
        "{listed}"
    );
    assert!(!listed.contains(&code), "{listed}");
    quit_when_asked(&tmux);
    assert_exited_cleanly(&tmux);
    let recorded = credential(state.path());
    assert_eq!(
        recorded["connector_identity_type"], "ServiceAccount",
        "nothing changed: {recorded:#}"
    );
    assert_scheduler_untouched(state.path());
}
