//! A real HTTP proxy for the proxy tests: Debian's `tinyproxy` on a free
//! loopback port, asking for Basic authentication and logging every CONNECT,
//! stopped when the guard is dropped. A machine without tinyproxy fails the
//! test loudly: `scripts/test` installs it.

use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Tinyproxy {
    child: Child,
    pub port: u16,
    pub user: &'static str,
    pub password: String,
    dir: tempfile::TempDir,
}

impl Tinyproxy {
    /// A proxy with a password of its own, ready for connections.
    pub fn start() -> Tinyproxy {
        let dir = tempfile::tempdir().expect("a directory for the proxy");
        let password = format!("pw-{}", uuid::Uuid::new_v4().simple());
        let config = dir.path().join("tinyproxy.conf");
        for _ in 0..20 {
            let port = super::free_port();
            std::fs::write(
                &config,
                format!(
                    "Port {port}\nListen 127.0.0.1\nTimeout 60\nMaxClients 50\n\
                     LogFile \"{}\"\nLogLevel Connect\nAllow 127.0.0.1\n\
                     BasicAuth proxyuser {password}\n",
                    dir.path().join("tinyproxy.log").display()
                ),
            )
            .expect("the proxy's configuration");
            let mut child = Command::new("tinyproxy")
                .args(["-d", "-c"])
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("tinyproxy cannot start ({e}): scripts/test installs it (apt-get install tinyproxy)")
                });
            if ready(&mut child, port) {
                return Tinyproxy {
                    child,
                    port,
                    user: "proxyuser",
                    password,
                    dir,
                };
            }
            // Another test took the port between the probe and tinyproxy's bind.
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("tinyproxy did not start in 20 tries");
    }

    /// The proxy's URL with its credentials (`password` instead of the right one when given).
    pub fn url_with(&self, password: &str) -> String {
        format!("http://{}:{password}@127.0.0.1:{}", self.user, self.port)
    }

    pub fn url(&self) -> String {
        self.url_with(&self.password)
    }

    /// How many tunnels the proxy opened to `host_port` so far.
    pub fn connects_to(&self, host_port: &str) -> usize {
        let log =
            std::fs::read_to_string(self.dir.path().join("tinyproxy.log")).unwrap_or_default();
        let request = format!("CONNECT {host_port} ");
        log.lines().filter(|line| line.contains(&request)).count()
    }
}

/// The environment of a command that goes through the proxy at `proxy_url`
/// except to the hosts `no_proxy` names; every other proxy variable of the
/// test's own environment emptied, so only these count.
pub fn through(proxy_url: &str, no_proxy: &str) -> Vec<(String, String)> {
    [
        ("https_proxy", proxy_url),
        ("HTTPS_PROXY", ""),
        ("all_proxy", ""),
        ("ALL_PROXY", ""),
        ("no_proxy", no_proxy),
        ("NO_PROXY", ""),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_string(), value.to_string()))
    .collect()
}

/// Whether `child` accepts connections on `port` within five seconds; false
/// once it exited.
fn ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for Tinyproxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
