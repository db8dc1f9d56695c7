//! A software TPM for the TPM tests and benchmarks: `swtpm` on a free
//! loopback port pair with its own state directory, stopped by its own PID
//! when the guard is dropped. A machine without swtpm fails the test loudly:
//! `scripts/test` installs it. And a wedged TPM, which never answers.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct Swtpm {
    child: Option<Child>,
    port: u16,
    state: PathBuf,
    /// The state directory, removed with the guard (None when the caller owns it).
    _owned: Option<tempfile::TempDir>,
}

/// Two consecutive free loopback ports (the TPM's and its control channel's).
fn free_port_pair() -> u16 {
    for _ in 0..50 {
        let first = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
        let port = first.local_addr().expect("local address").port();
        if port < u16::MAX && TcpListener::bind(("127.0.0.1", port + 1)).is_ok() {
            return port;
        }
    }
    panic!("no two consecutive free loopback ports found in 50 tries");
}

impl Swtpm {
    /// A fresh TPM with a temporary state directory.
    pub fn start() -> Swtpm {
        let dir = tempfile::tempdir().expect("TPM state directory");
        let mut tpm = Swtpm::start_in(dir.path());
        tpm._owned = Some(dir);
        tpm
    }

    /// A TPM with its state in `state` (kept across restarts).
    pub fn start_in(state: &Path) -> Swtpm {
        let (child, port) = spawn(state);
        Swtpm {
            child: Some(child),
            port,
            state: state.to_path_buf(),
            _owned: None,
        }
    }

    /// The TCTI that reaches it.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops it (by its PID) and starts it again on the same state and port.
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(child) = try_spawn(&self.state, self.port) {
                self.child = Some(child);
                return;
            }
            assert!(
                Instant::now() < deadline,
                "swtpm did not start again on port {} within 10 s",
                self.port
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGTERM to its PID, then SIGKILL if it is still there after 5 s.
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Swtpm {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn(state: &Path) -> (Child, u16) {
    for _ in 0..20 {
        let port = free_port_pair();
        if let Some(child) = try_spawn(state, port) {
            return (child, port);
        }
    }
    panic!("swtpm did not start in 20 tries on free loopback ports");
}

/// Starts swtpm on `port` (and `port + 1`) and waits, at most 5 s, until it
/// accepts connections; None when it exited (the port was taken meanwhile).
fn try_spawn(state: &Path, port: u16) -> Option<Child> {
    let state = state.to_str().expect("utf-8 state path");
    let mut child = Command::new("swtpm")
        .args([
            "socket",
            "--tpm2",
            "--server",
            &format!("type=tcp,port={port},bindaddr=127.0.0.1"),
            "--ctrl",
            &format!("type=tcp,port={},bindaddr=127.0.0.1", port + 1),
            "--tpmstate",
            &format!("dir={state}"),
            "--flags",
            "not-need-init,startup-clear",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot run swtpm ({e}). The TPM tests need a software TPM: scripts/test installs it (apt-get install swtpm swtpm-tools libtss2-dev)"
            )
        });
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Still running: the port is swtpm's, not someone else's.
            std::thread::sleep(Duration::from_millis(50));
            if let Ok(None) = child.try_wait() {
                return Some(child);
            }
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// A TPM that never answers, like a wedged TPM or resource manager: a
/// loopback port pair (swtpm's command and control channels) that accepts
/// connections and never replies. The tool gives up after its connection
/// timeout. Its connections are held until the guard is dropped.
pub struct WedgedTpm {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl WedgedTpm {
    pub fn start() -> WedgedTpm {
        for _ in 0..50 {
            let first = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
            let port = first.local_addr().expect("local address").port();
            if port == u16::MAX {
                continue;
            }
            let Ok(second) = TcpListener::bind(("127.0.0.1", port + 1)) else {
                continue;
            };
            let stop = Arc::new(AtomicBool::new(false));
            for listener in [first, second] {
                let stop = Arc::clone(&stop);
                std::thread::spawn(move || {
                    let mut held = Vec::new();
                    for stream in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        held.extend(stream.ok());
                    }
                });
            }
            return WedgedTpm { port, stop };
        }
        panic!("no two consecutive free loopback ports found in 50 tries");
    }

    /// The TCTI that reaches it.
    pub fn tcti(&self) -> String {
        format!("swtpm:host=127.0.0.1,port={}", self.port)
    }
}

impl Drop for WedgedTpm {
    /// Stops accepting (a last connection wakes each listener) and closes
    /// the connections held.
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for port in [self.port, self.port + 1] {
            let _ = TcpStream::connect(("127.0.0.1", port));
        }
    }
}
