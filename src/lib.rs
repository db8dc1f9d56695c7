//! entra-connect: move a Microsoft Entra Connect Sync server from its
//! username/password connector account to application identity, and look after
//! that credential. Flow is one way: `cli` -> `engine` -> (`keys`, `host`).

pub mod cli;
pub mod domain;
pub mod engine;
pub mod entra;
pub mod host;
pub mod keys;
pub mod sandbox;
pub mod tui;
