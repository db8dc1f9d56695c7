//! The engine of entra-connect: everything it does to a Connect server and
//! to Entra, with no user interface. Flow is one way: `engine` -> (`entra`,
//! `keys`, `host`), all over the plain types of `domain`.

pub mod domain;
pub mod engine;
pub mod entra;
pub mod host;
pub mod keys;
