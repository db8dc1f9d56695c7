//! The command line: clap definitions and one handler per command group. Each
//! handler calls the engine and prints the result (a table, or JSON with --json).

mod app;
mod cert;
mod config;
mod connection;
mod credential;
mod events;
mod output;
mod sandbox;
mod scheduler;
mod wizard;

use crate::engine::LocalServer;
use anyhow::Context;
use clap::{Parser, Subcommand};
use output::Output;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "entra-connect",
    version,
    about = "Move a Microsoft Entra Connect Sync server to application identity, and keep it there.",
    propagate_version = true
)]
pub struct Cli {
    /// The directory holding this server's state (database and software keys).
    #[arg(
        long,
        global = true,
        env = "ENTRA_CONNECT_STATE_DIR",
        value_name = "DIR"
    )]
    state_dir: Option<PathBuf>,

    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,

    /// Diagnostics to stderr (-v informational, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Application identity in Entra (register, link).
    #[command(subcommand)]
    App(app::AppCommand),
    /// The connector credential (Get-ADSyncEntraConnectorCredential).
    #[command(subcommand)]
    Credential(credential::CredentialCommand),
    /// The sync scheduler (Get-/Set-ADSyncScheduler).
    #[command(subcommand)]
    Scheduler(scheduler::SchedulerCommand),
    /// Certificates and keys in the local key store.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// View or export the current configuration.
    #[command(subcommand)]
    Config(config::ConfigCommand),
    /// The local event log.
    Events(events::EventsArgs),
    /// The onboarding wizard (for now unattended, from an answers file).
    Wizard(wizard::WizardArgs),
    /// The sandbox tenant: a local emulation of Entra ID and Graph for tests and demos.
    #[command(subcommand)]
    Sandbox(sandbox::SandboxCommand),
}

impl Cli {
    pub fn verbosity(&self) -> u8 {
        self.verbose
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let out = Output { json: cli.json };
    // The sandbox keeps no local state: it runs before the state directory is resolved.
    if let Command::Sandbox(command) = cli.command {
        return sandbox::run(command);
    }
    let state_dir = match cli.state_dir {
        Some(dir) => dir,
        None => crate::host::default_state_dir()
            .context("no home directory to keep state in; give --state-dir DIR")?,
    };
    if let Command::Cert(cert::CertCommand::Hash(args)) = cli.command {
        return cert::hash(args, &out);
    }
    tracing::debug!(state_dir = %state_dir.display(), "opening state");
    let mut server = LocalServer::open(&state_dir)?;
    match cli.command {
        Command::App(command) => app::run(command, &mut server, &out),
        Command::Credential(command) => credential::run(command, &mut server, &out),
        Command::Scheduler(command) => scheduler::run(command, &mut server, &out),
        Command::Cert(command) => cert::run(command, &mut server, &out),
        Command::Config(command) => config::run(command, &server, &out),
        Command::Events(args) => events::run(args, &server, &out),
        Command::Wizard(args) => wizard::run(args, &mut server, &out),
        Command::Sandbox(_) => unreachable!("dispatched before the state is opened"),
    }
}
