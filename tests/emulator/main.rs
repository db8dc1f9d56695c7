//! The sandbox tenant as an emulator of Entra ID: its identity endpoints and
//! Graph subset over real HTTP on loopback, with the rules, shapes and errors
//! real Entra has, and Microsoft's own client libraries (MSAL, azure-identity
//! and the Microsoft Graph SDK, for Python) accepting it.

#[path = "../harness/mod.rs"]
mod harness;

mod authorization_code;
mod client_credentials;
mod credentials;
mod faults;
mod graph;
mod graph_permissions;
mod microsoft_clients;
mod permissions;
mod request_rules;
mod restart;
mod serve;
mod sessions;
mod sign_in;
mod writes;
