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
    /// The control channel's listening socket (at `port + 1`, where the TCTI
    /// looks for it), bound here and handed to each swtpm process: it is
    /// held for the guard's life, so an answer on it comes from this guard's
    /// swtpm, never from another test's that took the TPM port first.
    ctrl: TcpListener,
    state: PathBuf,
    /// The state directory, removed with the guard (None when the caller owns it).
    _owned: Option<tempfile::TempDir>,
}

/// Two listening sockets on consecutive loopback ports (the TPM's and its
/// control channel's: the TCTI reaches the second at the first's port + 1).
fn port_pair() -> [TcpListener; 2] {
    for _ in 0..50 {
        let first = TcpListener::bind(("127.0.0.1", 0)).expect("bind a loopback port");
        let port = first.local_addr().expect("local address").port();
        if port == u16::MAX {
            continue;
        }
        if let Ok(second) = TcpListener::bind(("127.0.0.1", port + 1)) {
            return [first, second];
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
        for _ in 0..20 {
            let [server, ctrl] = port_pair();
            let port = server.local_addr().expect("local address").port();
            // swtpm binds the TPM port itself: another test may take it
            // between this drop and that bind, and then this one exits.
            drop(server);
            if let Some(child) = try_spawn(state, port, &ctrl) {
                return Swtpm {
                    child: Some(child),
                    port,
                    ctrl,
                    state: state.to_path_buf(),
                    _owned: None,
                };
            }
        }
        panic!("swtpm did not start in 20 tries on free loopback ports");
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
            if let Some(child) = try_spawn(&self.state, self.port, &self.ctrl) {
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

/// Starts swtpm on the TPM port `port` and the control channel's listening
/// socket `ctrl` (inherited by the child as its `fd=`), and waits until it
/// answers there; None when it exited first (the TPM port was taken).
fn try_spawn(state: &Path, port: u16, ctrl: &TcpListener) -> Option<Child> {
    use std::os::fd::AsRawFd;
    use std::os::unix::process::CommandExt;
    let state = state.to_str().expect("utf-8 state path");
    let ctrl_fd = ctrl.as_raw_fd();
    let mut command = Command::new("swtpm");
    command
        .args([
            "socket",
            "--tpm2",
            "--server",
            &format!("type=tcp,port={port},bindaddr=127.0.0.1"),
            "--ctrl",
            &format!("type=tcp,fd={ctrl_fd}"),
            "--tpmstate",
            &format!("dir={state}"),
            "--flags",
            "not-need-init,startup-clear",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: fcntl is async-signal-safe; it only clears close-on-exec on
    // the one socket the child is to inherit.
    unsafe {
        command.pre_exec(move || {
            if libc::fcntl(ctrl_fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().unwrap_or_else(|e| {
        panic!(
            "cannot run swtpm ({e}). The TPM tests need a software TPM: scripts/test installs it (apt-get install swtpm swtpm-tools libtss2-dev)"
        )
    });
    if answers(&mut child, ctrl) {
        Some(child)
    } else {
        let _ = child.wait();
        None
    }
}

/// Whether swtpm answers on its control channel (its capabilities,
/// command 1) within 10 s. It serves that channel only once it has bound the
/// TPM port, so an answer means the port is its; false when it exited first.
fn answers(child: &mut Child, ctrl: &TcpListener) -> bool {
    use std::io::{ErrorKind, Read, Write};
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut stream = TcpStream::connect(ctrl.local_addr().expect("local address"))
        .expect("connect to swtpm's control channel");
    stream
        .write_all(&1u32.to_be_bytes())
        .expect("ask swtpm for its capabilities");
    stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .expect("read timeout");
    let mut answer = [0u8; 8];
    let mut read = 0;
    while read < answer.len() {
        match stream.read(&mut answer[read..]) {
            Ok(0) => return false,
            Ok(n) => read += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if let Ok(Some(_)) = child.try_wait() {
                    return false;
                }
                assert!(
                    Instant::now() < deadline,
                    "swtpm did not answer within 10 s"
                );
            }
            Err(e) => panic!("swtpm's control channel: {e}"),
        }
    }
    true
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
        let listeners = port_pair();
        let port = listeners[0].local_addr().expect("local address").port();
        let stop = Arc::new(AtomicBool::new(false));
        for listener in listeners {
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
        WedgedTpm { port, stop }
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
