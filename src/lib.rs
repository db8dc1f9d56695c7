//! entra-connect: move a Microsoft Entra Connect Sync server from its
//! username/password connector account to application identity, and look after
//! that credential. This crate is the front ends (`cli`, `tui`) over the engine
//! (`entra-connect-core`) and the sandbox tenant (`entra-sandbox`). Flow is one
//! way: page or command -> `engine` -> (`entra`, `keys`, `host`).

pub mod browser;
pub mod cli;
pub mod plan_words;
pub mod tui;
pub mod wrap;

pub use entra_connect_core::{domain, engine, entra, host, keys};
#[cfg(feature = "sandbox")]
pub use entra_sandbox as sandbox;
