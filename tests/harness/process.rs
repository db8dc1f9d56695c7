//! The binary as a process: run against a temporary state directory, with
//! its output read back as text or JSON and its progress events searched.

use assert_cmd::Command;
use std::path::Path;
use std::process::Output;

/// The binary, with its state in `state`.
pub fn entra(state: &Path) -> Command {
    let mut command = Command::cargo_bin("entra-connect").expect("binary built by cargo");
    command
        .env("ENTRA_CONNECT_STATE_DIR", state)
        .env_remove("RUST_LOG");
    command
}

/// Runs the binary in `state` with `args`, `stdin` and extra environment,
/// off the async runtime, bounded to two minutes.
pub async fn run_async(
    state: &Path,
    args: Vec<String>,
    stdin: String,
    env: Vec<(String, String)>,
) -> Output {
    let state = state.to_path_buf();
    tokio::task::spawn_blocking(move || {
        entra(&state)
            .args(&args)
            .envs(env)
            .write_stdin(stdin)
            .timeout(std::time::Duration::from_secs(120))
            .output()
            .expect("run entra-connect")
    })
    .await
    .expect("the blocking task finished")
}

/// Runs and returns stdout, failing the test with stderr when the command fails.
pub fn run_ok(state: &Path, args: &[&str]) -> String {
    let output = entra(state).args(args).output().expect("run entra-connect");
    assert!(
        output.status.success(),
        "entra-connect {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8 stdout")
}

pub fn run_json(state: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let text = run_ok(state, &all);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{args:?} printed invalid JSON ({e}): {text}"))
}

/// Runs expecting failure with `code`; returns stderr.
pub fn run_fails(state: &Path, args: &[&str], code: i32) -> String {
    let output = entra(state).args(args).output().expect("run entra-connect");
    assert_eq!(
        output.status.code(),
        Some(code),
        "entra-connect {args:?}: stdout {} stderr {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stderr).expect("utf-8 stderr")
}

/// Whether a `--json` run reported, on stderr, a progress event of the step
/// titled `title` (any step when `None`) with `status` (`running`,
/// `retrying`, `already_done`, `done`, `failed`) whose reason, detail or
/// error contains `text`. A retry counts only when it says how long it waits
/// (`delay_ms` present and above zero).
pub fn reported(stderr: &str, title: Option<&str>, status: &str, text: &str) -> bool {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "step" && event["status"] == status)
        .filter(|event| title.is_none_or(|title| event["title"] == title))
        .filter(|event| status != "retrying" || event["delay_ms"].as_u64().is_some_and(|ms| ms > 0))
        .any(|event| {
            text.is_empty()
                || ["why", "detail", "error"]
                    .iter()
                    .any(|field| event[field].as_str().is_some_and(|s| s.contains(text)))
        })
}

/// A finished command's stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The JSON a `--json` command printed, failing the test (with what it
/// printed) when the command failed or printed something else.
pub fn json_of(output: &Output) -> serde_json::Value {
    assert!(
        output.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        stderr(output)
    );
    serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&output.stdout)))
}
