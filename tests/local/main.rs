//! The binary on this server with no tenant: its local commands, the
//! certificate store, the state database, a Linux server tool's habits, the
//! Debian package, the parsers of outside data, and the crates' architecture.

#[path = "../harness/mod.rs"]
mod harness;

mod architecture;
mod certificates;
mod commands;
mod package;
mod parsers;
mod server_conventions;
mod state;
