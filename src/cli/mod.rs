//! The command line: clap definitions and one handler per command group. Each
//! handler calls the engine and prints the result (a table, or JSON with --json).

mod app;
mod cert;
mod config;
mod connection;
mod credential;
mod doctor;
mod events;
mod logging;
mod output;
#[cfg(feature = "sandbox")]
mod sandbox;
mod scheduler;
mod service_account;
mod values;
mod wizard;
mod words;

use crate::engine::LocalServer;
use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
pub use logging::{LogFormat, error_line, reader_went_away};
use output::Output;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "entra-connect",
    version,
    about = "Move a Microsoft Entra Connect Sync server to application identity, and keep it there.",
    propagate_version = true
)]
pub struct Cli {
    /// The directory holding this server's state (database and software keys);
    /// default: /var/lib/entra-connect as root, else ~/.local/share/entra-connect
    /// (for `wizard --sandbox`: ~/.local/share/entra-connect-sandbox).
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

    /// The TPM's TCTI (default: TPM2TOOLS_TCTI, else device:/dev/tpmrm0), e.g.
    /// swtpm:host=127.0.0.1,port=2321.
    #[arg(
        long,
        global = true,
        env = "ENTRA_CONNECT_TPM_TCTI",
        value_name = "TCTI"
    )]
    tpm_tcti: Option<String>,

    /// Diagnostics to stderr (-v informational, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    verbose: u8,

    /// How diagnostics are written: text (with the journal's priority prefix under systemd)
    /// or JSON lines.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// This server's application in Entra: register it, link the connector to it (or to yours),
    /// rotate its certificate, list its keys and remove one.
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
    /// Every check, no change: endpoints, clock, key store, credential and
    /// certificate, scheduler, and with --upn the administrator's permissions.
    Doctor(doctor::DoctorArgs),
    /// The legacy connector account: record it, roll back to it (Add-ADSyncAADServiceAccount).
    #[command(subcommand)]
    ServiceAccount(service_account::ServiceAccountCommand),
    /// The local event log.
    Events(events::EventsArgs),
    /// Shell completions on stdout (e.g. `entra-connect completions bash >
    /// /etc/bash_completion.d/entra-connect`).
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The manual page (roff) on stdout: `entra-connect man | man -l -`.
    Man,
    /// The onboarding wizard: pages in this terminal, or unattended with --answers.
    Wizard(wizard::WizardArgs),
    /// The sandbox tenant: a local emulation of Entra ID and Graph for tests and demos.
    #[cfg(feature = "sandbox")]
    #[command(subcommand)]
    Sandbox(sandbox::SandboxCommand),
}

impl Cli {
    /// Sets up diagnostics as the options and the environment ask.
    pub fn init_logging(&self) {
        logging::init(self.verbose, self.log_format);
    }
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    let out = Output { json: cli.json };
    // With no command on a terminal, the wizard opens; anywhere else it is a usage error.
    let command = match cli.command {
        Some(command) => command,
        None if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() => {
            Command::Wizard(wizard::WizardArgs::default())
        }
        None => Cli::command()
            .error(
                clap::error::ErrorKind::MissingSubcommand,
                "no command given (the wizard opens only on a terminal); see --help",
            )
            .exit(),
    };
    // Commands that keep no local state run before the state directory is resolved.
    let command = match command {
        #[cfg(feature = "sandbox")]
        Command::Sandbox(command) => return sandbox::run(command),
        Command::Completions { shell } => return completions(shell),
        Command::Man => return manual(),
        Command::Cert(cert::CertCommand::Hash(args)) => return cert::hash(args, &out),
        other => other,
    };
    // What can be checked without the state is checked before it is opened,
    // so that a usage error creates and reads nothing (clap checks the rest,
    // `--ca-cert` included).
    let answers = match &command {
        Command::Wizard(args) => args.read_answers()?,
        _ => None,
    };
    // `wizard --sandbox` is a demo: its own state (never a real server's)
    // unless one is given, kept so that the next run continues it.
    let state_dir = match (cli.state_dir, &command) {
        (Some(dir), _) => dir,
        (None, Command::Wizard(args)) if args.uses_sandbox() => {
            crate::host::sandbox_demo_state_dir()
                .context("no home directory to keep the demo's state in; give --state-dir DIR")?
        }
        (None, _) => crate::host::default_state_dir()
            .context("no home directory to keep state in; give --state-dir DIR")?,
    };
    if let Command::Wizard(args) = &command {
        args.prepare_state(&state_dir)?;
    }
    tracing::debug!(state_dir = %state_dir.display(), "opening state");
    let mut server = LocalServer::open(&state_dir)?;
    server.set_lock_notice(connection::lock_notice(&out));
    if let Some(tcti) = &cli.tpm_tcti {
        server.use_tpm_tcti(tcti);
    }
    match command {
        Command::App(command) => app::run(command, &mut server, &out),
        Command::Credential(command) => credential::run(command, &mut server, &out),
        Command::Scheduler(command) => scheduler::run(command, &mut server, &out),
        Command::Cert(command) => cert::run(command, &mut server, &out),
        Command::Config(command) => config::run(command, &mut server, &out),
        Command::ServiceAccount(command) => service_account::run(command, &mut server, &out),
        Command::Events(args) => events::run(args, &server, &out),
        Command::Doctor(args) => doctor::run(args, &mut server, &out),
        Command::Wizard(args) => wizard::run(args, answers, server, &out),
        #[cfg(feature = "sandbox")]
        Command::Sandbox(command) => sandbox::run(command),
        Command::Completions { shell } => completions(shell),
        Command::Man => manual(),
    }
}

/// Completions for `shell`, made from the command line's definition.
fn completions(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "entra-connect", &mut script);
    write_stdout(&script)
}

/// The manual page, made from the command line's definition.
fn manual() -> anyhow::Result<()> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut page)?;
    write_stdout(&page)
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(bytes)?;
    stdout.flush()?;
    Ok(())
}

/// `app audit` found something unknown: the process exits with code 3, so a
/// script tells it from a failure (1) and a usage error (2).
#[derive(Debug, thiserror::Error)]
#[error(
    "{unknown} item(s) can sign in as the connector that this server did not put there; each row says what revokes it"
)]
pub struct AuditFoundUnknown {
    pub unknown: usize,
}

/// Input that is malformed or missing: the process exits with code 2, like
/// clap's own usage errors, and nothing was changed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A secret typed by the administrator: prompted without echo on a terminal
/// (unless `from_stdin`), otherwise one line of standard input.
fn read_secret(prompt: &str, from_stdin: bool) -> std::io::Result<zeroize::Zeroizing<String>> {
    use std::io::BufRead;
    if !from_stdin && std::io::stdin().is_terminal() {
        return rpassword::prompt_password(prompt).map(zeroize::Zeroizing::new);
    }
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(zeroize::Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_string(),
    ))
}
