//! The engine of entra-connect: everything it does to a Connect server and
//! to Entra, with no user interface. Flow is one way: `engine` -> (`entra`,
//! `keys`, `host`), all over the plain types of `domain`.
//!
//! What is `pub` is what the binary and its tests use; the rest is `pub(crate)`
//! (the `unreachable_pub` lint keeps it so).
#![warn(unreachable_pub)]

pub mod domain;
pub mod engine;
pub mod entra;
pub mod host;
pub mod keys;
