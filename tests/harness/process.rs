//! The binary as a process: run against a temporary state directory, with
//! its output read back as text or JSON and its progress events searched.
//! Every run of the binary starts from [`binary`], so none reaches a TPM the
//! test did not start.

use assert_cmd::Command;
use entra_connect::engine::LocalServer;
use entra_connect::keys::{STANDARD_TCTI_ENV, TCTI_ENV};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

/// The TCTI of a test that starts no TPM: a device that does not exist, so
/// `--store auto` falls back to the software store at once, as on a machine
/// without a TPM, and no test reaches this machine's own (`/dev/tpmrm0`, or
/// an exported `TPM2TOOLS_TCTI`). Tests that start swtpm set theirs instead.
pub const NO_TPM: &str = "device:/nonexistent/entra-connect-tests-start-no-tpm";

/// The binary's path.
pub fn path() -> PathBuf {
    assert_cmd::cargo::cargo_bin("entra-connect")
}

/// The binary, with no TPM (see [`NO_TPM`]).
pub fn binary() -> std::process::Command {
    without_a_tpm(path())
}

/// `program` (the binary, or what runs it: a shell, `unshare`) with no TPM
/// in its environment (see [`NO_TPM`]).
pub fn without_a_tpm(program: impl AsRef<OsStr>) -> std::process::Command {
    let mut command = std::process::Command::new(program);
    command.env(TCTI_ENV, NO_TPM).env_remove(STANDARD_TCTI_ENV);
    command
}

/// The binary, with its state in `state`.
pub fn entra(state: &Path) -> Command {
    let mut command = Command::from_std(binary());
    command
        .env("ENTRA_CONNECT_STATE_DIR", state)
        .env_remove("RUST_LOG");
    command
}

/// The engine in this process on `state`, with no TPM either.
pub fn local_server(state: &Path) -> LocalServer {
    let mut server = LocalServer::open(state).expect("the state directory opens");
    server.use_tpm_tcti(NO_TPM);
    server
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
/// `retrying`, `already_done`, `done`, `failed`) whose detail or message
/// contains `text`, or whose retry reason or error kind is `text`. A retry
/// counts only when it says how long it waits (`delay_ms` present and above
/// zero).
pub fn reported(stderr: &str, title: Option<&str>, status: &str, text: &str) -> bool {
    stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|event| event["event"] == "step" && event["status"] == status)
        .filter(|event| title.is_none_or(|title| event["title"] == title))
        .filter(|event| status != "retrying" || event["delay_ms"].as_u64().is_some_and(|ms| ms > 0))
        .any(|event| {
            text.is_empty()
                || event["why"]["reason"] == text
                || event["kind"] == text
                || ["detail", "message"]
                    .iter()
                    .any(|field| event[field].as_str().is_some_and(|s| s.contains(text)))
        })
}

/// The value of the field `name` in a human `Name : value` list, if it has one.
pub fn field<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    text.lines().find_map(|line| {
        let (label, value) = line.split_once(" : ")?;
        (label.trim_end() == name).then_some(value)
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

/// The binary running in the background with piped standard streams: a
/// test reads its progress events as they come and types on its input (a
/// browser sign-in's pasted redirect). Every wait is bounded; the process is
/// killed if the test ends first.
pub struct Running {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
    stderr_lines: std::sync::mpsc::Receiver<String>,
    stderr: String,
}

impl Running {
    /// `entra-connect ARGS` in `state`, with no browser to open (`BROWSER`
    /// and `DISPLAY` unset) and `env`.
    pub fn start(state: &Path, args: &[String], env: &[(String, String)]) -> Running {
        use std::io::BufRead;
        use std::process::Stdio;
        let mut child = binary()
            .env("ENTRA_CONNECT_STATE_DIR", state)
            .env_remove("RUST_LOG")
            .env_remove("BROWSER")
            .env_remove("DISPLAY")
            .env_remove("WAYLAND_DISPLAY")
            .envs(env.iter().map(|(k, v)| (k, v)))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start entra-connect");
        let stderr = child.stderr.take().expect("piped stderr");
        let (sender, stderr_lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            stdin: child.stdin.take(),
            child,
            stderr_lines,
            stderr: String::new(),
        }
    }

    /// The first `--json` progress event named `event` (e.g.
    /// `sign_in_browser`), within 60 seconds.
    pub fn event(&mut self, event: &str) -> serde_json::Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let line = self.stderr_lines.recv_timeout(left).unwrap_or_else(|_| {
                panic!("no {event} event in 60 s; stderr so far: {}", self.stderr)
            });
            self.stderr.push_str(&line);
            self.stderr.push('\n');
            if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line)
                && value["event"] == event
            {
                return value;
            }
        }
    }

    /// Types `line` and Enter on its standard input.
    pub fn type_line(&mut self, line: &str) {
        use std::io::Write;
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").expect("write to entra-connect");
        stdin.flush().expect("flush");
    }

    /// Waits (at most two minutes) for it to end: its exit code, stdout and stderr.
    pub fn finish(mut self) -> (Option<i32>, String, String) {
        use std::io::Read;
        drop(self.stdin.take());
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for entra-connect") {
                break status;
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("entra-connect did not end in 2 minutes: {}", self.stderr);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        };
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            let _ = out.read_to_string(&mut stdout);
        }
        while let Ok(line) = self
            .stderr_lines
            .recv_timeout(std::time::Duration::from_secs(5))
        {
            self.stderr.push_str(&line);
            self.stderr.push('\n');
        }
        (status.code(), stdout, std::mem::take(&mut self.stderr))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
