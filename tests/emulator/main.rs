//! The sandbox tenant as an emulator of Entra ID: its identity endpoints and
//! Graph subset over real HTTP on loopback, with the rules, shapes and errors
//! real Entra has, and Microsoft's own client library (MSAL for Python)
//! accepting it.

#[path = "../harness/mod.rs"]
mod harness;

mod client_credentials;
mod faults;
mod graph;
mod msal;
mod permissions;
mod restart;
mod serve;
mod sign_in;
mod writes;
