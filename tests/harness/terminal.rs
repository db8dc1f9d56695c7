//! Drives a program in a real terminal: a detached tmux session on its own
//! server socket (so parallel tests never share one), keys sent with
//! `send-keys`, the screen read with `capture-pane`. Shared by
//! `tests/wizard` and `benches/wizard.rs`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a test waits for a screen before failing.
pub const TIMEOUT: Duration = Duration::from_secs(30);

static SESSIONS: AtomicUsize = AtomicUsize::new(0);

/// Fails (never skips) when tmux is not installed.
pub fn require_tmux() {
    match Command::new("tmux").arg("-V").output() {
        Ok(output) if output.status.success() => {}
        Ok(output) => panic!(
            "`tmux -V` failed ({}): the wizard's end-to-end tests need tmux; \
             scripts/test installs it (or: apt-get install tmux)",
            output.status
        ),
        Err(error) => panic!(
            "tmux is not installed ({error}): the wizard's end-to-end tests drive it in a real \
             terminal; scripts/test installs it (or: apt-get install tmux)"
        ),
    }
}

/// `value` as one word for `sh -c`.
pub fn quote(value: impl AsRef<str>) -> String {
    format!("'{}'", value.as_ref().replace('\'', r"'\''"))
}

/// `entra-connect wizard --sandbox --fresh` (a new installation) on
/// `state_dir`, as a shell command.
pub fn wizard_command(binary: &Command, state_dir: &Path) -> String {
    wizard_with(binary, state_dir, "--sandbox --fresh")
}

/// `entra-connect wizard ARGS` with its state in `state_dir`, `binary` run
/// with the environment it sets and removes.
pub fn wizard_with(binary: &Command, state_dir: &Path, args: &str) -> String {
    // `env` takes its options (-u) before the first assignment. No test
    // opens a browser on the machine running it.
    let (mut removed, mut set) = (
        "-u BROWSER -u DISPLAY -u WAYLAND_DISPLAY ".to_string(),
        String::new(),
    );
    for (name, value) in binary.get_envs() {
        let name = name.to_string_lossy();
        match value {
            Some(value) => set.push_str(&format!("{name}={} ", quote(value.to_string_lossy()))),
            None => removed.push_str(&format!("-u {name} ")),
        }
    }
    format!(
        "env {removed}{set}ENTRA_CONNECT_STATE_DIR={} {} wizard {args}",
        quote(state_dir.to_string_lossy()),
        quote(binary.get_program().to_string_lossy())
    )
}

/// One tmux server and session; killed when dropped, whatever happened.
pub struct Tmux {
    socket: String,
    /// The server's socket file, removed after the server is killed.
    socket_path: Option<PathBuf>,
    pub session: String,
}

impl Tmux {
    /// Starts `command` (run by the shell) in a `width`x`height` window.
    pub fn start(label: &str, width: u16, height: u16, command: &str) -> Tmux {
        require_tmux();
        let mut tmux = Tmux {
            socket_path: None,
            socket: format!(
                "ec-{}-{}-{}",
                std::process::id(),
                SESSIONS.fetch_add(1, Ordering::SeqCst),
                label
            ),
            session: label.to_string(),
        };
        let (w, h) = (width.to_string(), height.to_string());
        tmux.run(&[
            "new-session",
            "-d",
            "-s",
            &tmux.session,
            "-x",
            &w,
            "-y",
            &h,
            command,
        ]);
        tmux.socket_path = Some(PathBuf::from(tmux.display("#{socket_path}")));
        tmux
    }

    /// Runs a tmux command on this server; panics when it fails.
    pub fn run(&self, args: &[&str]) -> Output {
        let output = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("run tmux");
        assert!(
            output.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        output
    }

    /// Sends keys in tmux's names (`Enter`, `Down`, `C-c`, `q`...).
    pub fn send_keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", &self.session];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// The visible screen as text.
    pub fn screen(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// The visible screen with its colour and attribute escape sequences.
    pub fn screen_with_escapes(&self) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["capture-pane", "-p", "-e", "-t", &self.session])
                .stdout,
        )
        .into_owned()
    }

    /// A tmux format for the pane (`#{pane_pid}`, `#{cursor_flag}`...).
    pub fn display(&self, format: &str) -> String {
        String::from_utf8_lossy(
            &self
                .run(&["display", "-p", "-t", &self.session, format])
                .stdout,
        )
        .trim()
        .to_string()
    }

    pub fn pane_pid(&self) -> u32 {
        self.display("#{pane_pid}").parse().expect("pane pid")
    }

    pub fn resize(&self, width: u16, height: u16) {
        let (w, h) = (width.to_string(), height.to_string());
        self.run(&["resize-window", "-t", &self.session, "-x", &w, "-y", &h]);
    }

    /// Polls the screen every `every` until `ready` holds; returns that screen,
    /// or None with the last screen after `timeout`.
    pub fn poll(
        &self,
        every: Duration,
        timeout: Duration,
        ready: impl Fn(&str) -> bool,
    ) -> Result<String, String> {
        let start = Instant::now();
        loop {
            let screen = self.screen();
            if ready(&screen) {
                return Ok(screen);
            }
            if start.elapsed() > timeout {
                return Err(screen);
            }
            std::thread::sleep(every);
        }
    }

    /// Waits (polling every 100 ms, up to [`TIMEOUT`]) until `ready` holds;
    /// fails with the last screen.
    /// Returns a settled screen: one that reads the same twice 50 ms apart, so
    /// a frame caught half drawn is never judged.
    pub fn wait_until(&self, what: &str, ready: impl Fn(&str) -> bool) -> String {
        let settled = |screen: &str| {
            ready(screen) && {
                std::thread::sleep(Duration::from_millis(50));
                self.screen() == screen
            }
        };
        self.poll(Duration::from_millis(100), TIMEOUT, settled)
            .unwrap_or_else(|screen| {
                panic!(
                    "timed out after {}s waiting for {what}; the screen was:\n{screen}",
                    TIMEOUT.as_secs()
                )
            })
    }

    /// Waits until the screen contains `text`.
    pub fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?} on the screen"), |screen| {
            screen.contains(text)
        })
    }

    /// Waits until a line of the screen is exactly `title` (a page's title,
    /// not the same word in the header's steps).
    pub fn wait_for_page(&self, title: &str) -> String {
        self.wait_until(&format!("the page titled {title:?}"), |screen| {
            has_line(screen, title)
        })
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .arg("kill-server")
            .output();
        if let Some(path) = &self.socket_path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Whether a line of `screen`, trimmed, is `text`.
pub fn has_line(screen: &str, text: &str) -> bool {
    screen.lines().any(|line| line.trim() == text)
}
