//! `sandbox serve`: run the sandbox tenant until killed. Needs no state directory.

use crate::sandbox::{ConditionalAccess, Sandbox, SandboxConfig};
use anyhow::Context;
use clap::{Args, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Serve the sandbox tenant on 127.0.0.1; the first stdout line is a JSON
    /// object with its endpoints and seeded credentials.
    Serve(ServeArgs),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Serve HTTPS with a generated CA (its PEM path is in the startup line).
    #[arg(long)]
    tls: bool,
    /// A seed tenant file replacing the built-in one.
    #[arg(long, value_name = "FILE")]
    seed: Option<PathBuf>,
    /// Approve every device code for this user after about 1.5 s, and every
    /// browser sign-in (the authorization code flow) at once.
    #[arg(long, value_name = "UPN")]
    auto_approve: Option<String>,
    /// Delay every response by this many milliseconds.
    #[arg(long, value_name = "N", default_value_t = 0)]
    latency_ms: u64,
    /// New applications, service principals, keys and users stay invisible this long.
    #[arg(long, value_name = "N", default_value_t = 0)]
    replication_lag_ms: u64,
    /// Share of requests (0 to 1) answered with 429 (Retry-After) or 503.
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = fault_rate)]
    fault_rate: f64,
    /// Share of Graph writes (0 to 1) committed and then answered with 500, 503
    /// or 504, or with the connection dropped.
    #[arg(long, value_name = "R", default_value_t = 0.0, value_parser = fault_rate)]
    post_write_fault_rate: f64,
    /// Seed of the fault RNG, so a run's faults (both kinds) are reproducible.
    #[arg(long, value_name = "N", default_value_t = 0)]
    fault_seed: u64,
    /// Start with no consent for any client: delegated sign-ins fail with
    /// AADSTS65001 until an administrator consents (at the device code page).
    #[arg(long)]
    without_consent: bool,
    /// A Conditional Access policy for every user (repeatable):
    /// block-device-code (device codes are refused with AADSTS53003) or
    /// require-mfa (the password grant gets AADSTS50076; the sign-in pages ask
    /// for the second factor).
    #[arg(long, value_name = "POLICY", value_parser = conditional_access)]
    conditional_access: Vec<ConditionalAccess>,
    /// Keep the tenant in DIR (owner-only): its users and their passwords,
    /// applications, keys, consents, token-signing key and TLS CA (`ca.pem`),
    /// found again at the next start. --seed and --without-consent shape a new
    /// tenant only. Without it the tenant is forgotten when the sandbox stops.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

fn fault_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number"))?;
    if (0.0..=1.0).contains(&rate) {
        Ok(rate)
    } else {
        Err(format!("{rate} is not between 0 and 1"))
    }
}

/// `--conditional-access POLICY`, here and on `wizard --sandbox`.
pub(super) fn conditional_access(text: &str) -> Result<ConditionalAccess, String> {
    text.parse()
        .map_err(|error: crate::sandbox::UnknownPolicy| error.to_string())
}

pub fn run(command: SandboxCommand) -> anyhow::Result<()> {
    let SandboxCommand::Serve(args) = command;
    let seed = match &args.seed {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the seed file {}", path.display()))?,
        ),
        None => None,
    };
    let config = SandboxConfig {
        port: args.port,
        tls: args.tls,
        seed,
        auto_approve: args.auto_approve,
        latency: Duration::from_millis(args.latency_ms),
        replication_lag: Duration::from_millis(args.replication_lag_ms),
        fault_rate: args.fault_rate,
        post_write_fault_rate: args.post_write_fault_rate,
        fault_seed: args.fault_seed,
        without_consent: args.without_consent,
        conditional_access: args.conditional_access,
        data_dir: args.data_dir,
        ..SandboxConfig::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let handle = Sandbox::start(config).await?;
        let line = serde_json::to_string(&handle.info)?;
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{line}")?;
        stdout.flush()?;
        drop(stdout);
        eprintln!(
            "sandbox tenant {} serving at {} (Ctrl-C to stop)",
            handle.tenant_domain, handle.authority_host
        );
        // Stopped by Ctrl-C or SIGTERM, the tenant is saved one last time
        // (with --data-dir) as the handle drops.
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot wait for SIGTERM")?;
        tokio::select! {
            stopped = tokio::signal::ctrl_c() => stopped.context("cannot wait for Ctrl-C")?,
            _ = terminate.recv() => {}
        }
        drop(handle);
        Ok(())
    })
}
