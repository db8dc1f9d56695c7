//! Helpers shared by the command-line tests: run the binary against a
//! temporary state directory, and ask openssl (an independent implementation)
//! about the files it writes.
#![allow(dead_code)] // each test file uses a different part of this module

use assert_cmd::Command;
use std::path::{Path, PathBuf};
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

pub fn openssl(args: &[&str]) -> Output {
    let output = std::process::Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed by scripts/test");
    assert!(
        output.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// openssl's fingerprint of a PEM certificate (`sha256` or `sha1`), as bare uppercase hex.
pub fn openssl_fingerprint(cert: &Path, digest: &str) -> String {
    let output = openssl(&[
        "x509",
        "-in",
        cert.to_str().expect("utf-8 path"),
        "-noout",
        "-fingerprint",
        &format!("-{digest}"),
    ]);
    let text = String::from_utf8(output.stdout).expect("utf-8");
    let (_, value) = text.trim().split_once('=').expect("Fingerprint=...");
    value.replace(':', "").to_uppercase()
}

/// A self-signed certificate and key made by openssl: `newkey` as for
/// `openssl req -newkey` (e.g. "rsa:2048", "ec"), plus extra arguments.
pub fn openssl_certificate(
    dir: &Path,
    name: &str,
    newkey: &str,
    extra: &[&str],
) -> (PathBuf, PathBuf) {
    let cert = dir.join(format!("{name}.crt.pem"));
    let key = dir.join(format!("{name}.key.pem"));
    let mut args = vec![
        "req",
        "-x509",
        "-newkey",
        newkey,
        "-nodes",
        "-days",
        "30",
        "-subj",
        "/CN=Contoso BYOC",
        "-keyout",
        key.to_str().expect("utf-8"),
        "-out",
        cert.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    openssl(&args);
    (cert, key)
}

/// Certificate and key concatenated in one PEM file, as many tools export them.
pub fn combined_pem(dir: &Path, name: &str, cert: &Path, key: &Path) -> PathBuf {
    let path = dir.join(format!("{name}.pem"));
    let mut text = std::fs::read_to_string(cert).expect("read cert");
    text.push_str(&std::fs::read_to_string(key).expect("read key"));
    std::fs::write(&path, text).expect("write combined PEM");
    path
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
