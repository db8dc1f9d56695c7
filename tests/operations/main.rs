//! The tool's changes as processes against the sandbox tenant over loopback:
//! onboarding, rotation, the way back, the runner's journal and resume, the
//! scheduler's tick, the TPM key store on swtpm, and what never leaks.

#[path = "../harness/mod.rs"]
mod harness;

mod audit;
mod browser;
mod client_assertion;
mod cold_start;
mod onboarding;
mod proxy;
mod revoke;
mod rotation;
mod runner;
mod scheduler;
mod secrets;
mod session;
mod ssh_console;
mod strict_tenant;
mod tpm_store;
mod unattended_wizard;
mod way_back;
