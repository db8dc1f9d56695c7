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
