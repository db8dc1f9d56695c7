//! What every test binary shares. Each binary uses a different part of it,
//! so unused items are expected.
#![allow(dead_code)]

pub mod chromium;
pub mod openssl;
pub mod process;
pub mod server;
pub mod swtpm;
pub mod tenant;
pub mod terminal;
pub mod tinyproxy;

/// A loopback port nothing listens on now (the port the system picked for a
/// listener that is closed again): for a program a test starts, which binds
/// it itself, or for a test that wants nothing to answer there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}
