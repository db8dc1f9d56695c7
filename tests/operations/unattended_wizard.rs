//! The wizard's onboarding run unattended (`wizard --answers`): end to end, a
//! crash after every step (the scheduler reported interrupted, then a rerun
//! finishing with one application and the scheduler as it was), and Ctrl-C.

use crate::harness::process;
use crate::harness::tenant;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use serde_json::Value;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn answers(sb: &SandboxHandle, dir: &Path, extra: &str) -> std::path::PathBuf {
    let admin = sb.user("hybrid.admin").unwrap();
    let path = dir.join("answers.toml");
    std::fs::write(
        &path,
        format!(
            "tenant = \"{}\"\nauthority_host = \"{}\"\ngraph_url = \"{}\"\nupn = \"{}\"\nsign_in = \"password\"\nmethod = \"managed\"\n{extra}",
            sb.tenant_domain, sb.authority_host, sb.graph_url, admin.upn
        ),
    )
    .unwrap();
    path
}

async fn wizard(
    sb: &SandboxHandle,
    state: &Path,
    answers: &Path,
    abort_after: Option<&str>,
) -> Output {
    let password = format!("{}\n", sb.user("hybrid.admin").unwrap().password);
    let args = vec![
        "wizard".to_string(),
        "--answers".to_string(),
        answers.to_str().unwrap().to_string(),
    ];
    let env = abort_after
        .map(|step| {
            (
                "ENTRA_CONNECT_TEST_ABORT_AFTER".to_string(),
                step.to_string(),
            )
        })
        .into_iter()
        .collect();
    process::run_async(state, args, password, env).await
}

fn json(state: &Path, args: &[&str]) -> Value {
    process::run_json(state, args)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_resumes_after_a_crash_at_every_step() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let answers = answers(&sb, files.path(), "");
    let steps = [
        "disable-scheduler",
        "certificate",
        "application",
        "service-principal",
        "app-roles",
        "verify-token",
        "save-credential",
    ];
    for step in steps {
        let output = wizard(&sb, state.path(), &answers, Some(step)).await;
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{step}: {stderr}");
        assert!(
            stderr.contains(&format!("aborting after step {step}")),
            "{stderr}"
        );

        // On disk: sync cycles off, and the operation reported as interrupted.
        let scheduler = json(state.path(), &["scheduler", "show"]);
        assert_eq!(scheduler["sync_cycle_enabled"], false, "after {step}");
        let interrupted = scheduler["interrupted_operations"].as_array().unwrap();
        assert_eq!(interrupted.len(), 1, "after {step}: {scheduler}");
        assert_eq!(interrupted[0]["kind"], "onboard");
        assert_eq!(interrupted[0]["sync_cycle_enabled_before"], true);
        let human = process::run_ok(state.path(), &["scheduler", "show"]);
        assert!(
            human.contains("Interrupted: the onboard operation"),
            "{human}"
        );
        // Never a second application, whatever the step.
        assert!(
            tenant::provisioning_apps(&sb).await.len() <= 1,
            "after {step}"
        );
    }

    let output = wizard(&sb, state.path(), &answers, None).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("(done in an earlier run)"), "{stderr}");
    assert_eq!(tenant::provisioning_apps(&sb).await.len(), 1);
    let scheduler = json(state.path(), &["scheduler", "show"]);
    assert_eq!(scheduler["sync_cycle_enabled"], true);
    assert_eq!(scheduler["interrupted_operations"], serde_json::json!([]));
    assert_eq!(
        json(state.path(), &["credential", "show"])["connector_identity_type"],
        "Application"
    );
    // Each recovery said what it did.
    let recovered = json(state.path(), &["events", "--id", "1300"]);
    assert_eq!(
        recovered.as_array().unwrap().len(),
        steps.len(),
        "{recovered}"
    );
    // One certificate for all those runs.
    assert_eq!(
        json(state.path(), &["cert", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onboarding_keeps_a_disabled_scheduler_disabled() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    process::run_ok(
        state.path(),
        &["scheduler", "set", "--sync-cycle-enabled", "false"],
    );
    let output = wizard(&sb, state.path(), &answers(&sb, files.path(), ""), None).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        json(state.path(), &["scheduler", "show"])["sync_cycle_enabled"],
        false
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_onboarding_restores_the_scheduler_and_says_what_exists() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let unknown = "CD".repeat(32);
    let answers = answers(&sb, files.path(), "");
    let text = std::fs::read_to_string(&answers).unwrap().replace(
        "method = \"managed\"",
        &format!("method = \"byoc\"\ncertificate_sha256 = \"{unknown}\""),
    );
    std::fs::write(&answers, text).unwrap();
    let output = wizard(&sb, state.path(), &answers, None).await;
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("no certificate with SHA-256 hash {unknown}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("[FAIL] Prepare the certificate"),
        "{stderr}"
    );
    let scheduler = json(state.path(), &["scheduler", "show"]);
    assert_eq!(scheduler["sync_cycle_enabled"], true);
    assert_eq!(scheduler["interrupted_operations"], serde_json::json!([]));
    assert_eq!(tenant::provisioning_apps(&sb).await.len(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_onboarding_restores_the_scheduler() {
    let config = SandboxConfig {
        latency: Duration::from_millis(700),
        ..SandboxConfig::default()
    };
    let sb = tenant::start_with(config).await;
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let answers = answers(&sb, files.path(), "");
    let mut child = process::binary()
        .env("ENTRA_CONNECT_STATE_DIR", state.path())
        .args(["wizard", "--answers", answers.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let password = sb.user("hybrid.admin").unwrap().password.clone();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(format!("{password}\n").as_bytes())
            .unwrap();
    }
    let pid = child.id();
    let stderr = child.stderr.take().unwrap();
    // Ctrl-C (SIGINT) once the change is under way: its scheduler step done.
    let (interrupted, tail) = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        let mut interrupted = false;
        let mut lines = std::io::BufReader::new(stderr).lines();
        for line in lines.by_ref().map_while(Result::ok) {
            let disabled = line.starts_with("[ ok ] Disable the sync scheduler");
            seen.push(line);
            if disabled {
                let status = Command::new("kill")
                    .args(["-INT", &pid.to_string()])
                    .status()
                    .unwrap();
                assert!(status.success());
                interrupted = true;
                break;
            }
        }
        seen.extend(lines.map_while(Result::ok));
        (interrupted, seen.join("\n"))
    })
    .await
    .unwrap();
    let status = child.wait().unwrap();
    assert!(interrupted, "the change never started: {tail}");
    assert_eq!(status.code(), Some(1), "{tail}");
    assert!(
        tail.contains("cancelled: the scheduler was restored"),
        "{tail}"
    );
    let scheduler = json(state.path(), &["scheduler", "show"]);
    assert_eq!(scheduler["sync_cycle_enabled"], true, "{tail}");
    assert_eq!(
        json(state.path(), &["credential", "show"])["connector_identity_type"],
        "None"
    );
}

#[test]
fn a_bad_answers_file_is_refused_before_anything() {
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let path = files.path().join("answers.toml");
    std::fs::write(
        &path,
        "tenant = \"contoso.onmicrosoft.com\"\nupn = \"a@contoso.onmicrosoft.com\"\nmethod = \"byoc\"\n",
    )
    .unwrap();
    // Malformed input is a usage error: exit 2.
    let err = process::run_fails(
        state.path(),
        &["wizard", "--answers", path.to_str().unwrap()],
        2,
    );
    assert!(
        err.contains("is not valid: method = \"byoc\" needs certificate_sha256"),
        "{err}"
    );
    // Without a terminal the pages cannot be shown: say how to run unattended.
    let err = process::run_fails(state.path(), &["wizard"], 1);
    assert!(
        err.contains("the wizard needs a terminal; to run it unattended give --answers FILE"),
        "{err}"
    );
    let err = process::run_fails(state.path(), &[], 2);
    assert!(
        err.contains("no command given (the wizard opens only on a terminal)"),
        "{err}"
    );
}

/// The dependency chain of a Managed onboarding allows 8 rounds and 10
/// requests (see the README's performance section); more requests mean a
/// token was fetched twice or a lookup was made for something this run just
/// created, more rounds that requests which could go together went one after
/// another. Every answer takes 200 ms, so requests made together overlap.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_onboarding_makes_the_minimum_of_requests() {
    let sb = tenant::start_with(SandboxConfig {
        latency: Duration::from_millis(200),
        ..SandboxConfig::default()
    })
    .await;
    let state = tempfile::tempdir().unwrap();
    let files = tempfile::tempdir().unwrap();
    let (requests, rounds) = (sb.requests_served(), sb.request_rounds());
    let output = wizard(&sb, state.path(), &answers(&sb, files.path(), ""), None).await;
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(sb.requests_served() - requests, 10);
    assert_eq!(sb.request_rounds() - rounds, 8);
    // The software key was created and used in one operation: one warning 1014.
    assert_eq!(
        json(state.path(), &["events", "--id", "1014"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}
