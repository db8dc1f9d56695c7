//! `scheduler show`, `scheduler set` (Get-ADSyncScheduler, Set-ADSyncScheduler)
//! and `scheduler run`, the loop that does the scheduler's work every interval.

use super::connection::DryRunArg;
use super::output::{Output, fields, or_dash, yes_no};
use crate::domain::ConnectionInputs;
use crate::domain::{INTERVAL_MINUTES_MAX, INTERVAL_MINUTES_MIN, SchedulerSettings, format_time};
use crate::engine::connection::{for_credential, settings};
use crate::engine::maintenance::{LastRun, last_run, run_once};
use crate::engine::operation::{InterruptedOperation, interrupted};
use crate::engine::{LocalServer, SchedulerChange, change_scheduler, plan_scheduler_change};
use crate::entra::cache::TokenCache;
use crate::entra::client::DEFAULT_ADMIN_CLIENT_ID;
use anyhow::Context;
use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;
use std::time::Duration;

#[derive(Debug, Subcommand)]
pub enum SchedulerCommand {
    /// Show the scheduler settings.
    Show,
    /// Change scheduler settings; what is not given stays as it is.
    Set(SetArgs),
    /// Every interval (unless suspended): certificate expiry and clone checks,
    /// the maintenance tick (key audit, automatic rotation) and the sync-cycle
    /// check (a token with the current credential). SIGTERM or Ctrl-C stop it
    /// between runs.
    Run(RunArgs),
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run once and exit.
    #[arg(long)]
    once: bool,
    /// Seconds between runs, instead of the scheduler's interval (for tests and trials).
    #[arg(long, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..))]
    interval_seconds: Option<u64>,
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true)))]
pub struct SetArgs {
    /// Run synchronization cycles.
    #[arg(long, value_name = "true|false", group = "change")]
    sync_cycle_enabled: Option<bool>,
    /// Run maintenance (the key audit and automatic rotation of a Managed certificate).
    #[arg(long, value_name = "true|false", group = "change")]
    maintenance_enabled: Option<bool>,
    /// Suspend the scheduler entirely.
    #[arg(long, value_name = "true|false", group = "change")]
    suspended: Option<bool>,
    /// Minutes between cycles (1 to 10080).
    #[arg(long, value_name = "N", group = "change",
          value_parser = clap::value_parser!(u32).range(
              i64::from(INTERVAL_MINUTES_MIN)..=i64::from(INTERVAL_MINUTES_MAX)))]
    interval_minutes: Option<u32>,
    #[command(flatten)]
    dry_run: DryRunArg,
}

pub fn run(
    command: SchedulerCommand,
    server: &mut LocalServer,
    out: &Output,
) -> anyhow::Result<()> {
    let settings = match command {
        SchedulerCommand::Show => server.scheduler()?,
        SchedulerCommand::Run(args) => return run_loop(&args, server),
        SchedulerCommand::Set(args) => {
            let change = SchedulerChange {
                sync_cycle_enabled: args.sync_cycle_enabled,
                maintenance_enabled: args.maintenance_enabled,
                scheduler_suspended: args.suspended,
                interval_minutes: args.interval_minutes,
            };
            if args
                .dry_run
                .show(out, || plan_scheduler_change(server, &change))?
            {
                return Ok(());
            }
            change_scheduler(server, &change)?
        }
    };
    let view = SchedulerView {
        settings,
        interrupted_operations: interrupted(server)?,
        last_run: last_run(server)?,
    };
    out.show(&view, human)
}

/// Runs the scheduler's work now and every interval until SIGTERM or Ctrl-C
/// (checked between runs, so a run is never cut off half way).
fn run_loop(args: &RunArgs, server: &mut LocalServer) -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        // Both are watched from the start, so one arriving during a run is
        // held until the run ends instead of killing the process half way.
        let mut terminate = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot watch SIGINT")?;
        let cache = std::sync::Arc::new(TokenCache::default());
        loop {
            let connection =
                for_credential(server, ConnectionInputs::default()).and_then(|inputs| {
                    settings(
                        &inputs,
                        DEFAULT_ADMIN_CLIENT_ID,
                        REPLICATION_BUDGET,
                        cache.clone(),
                    )
                });
            let last = run_once(server, connection).await?;
            for (part, result) in [
                ("maintenance", &last.maintenance),
                ("sync-cycle check", &last.sync_cycle_check),
            ] {
                if let Some(result) = result {
                    let verdict = if result.ok { "ok" } else { "FAILED" };
                    eprintln!("{part}: {verdict}: {}", result.summary);
                }
            }
            if args.once {
                return Ok(());
            }
            let interval = match args.interval_seconds {
                Some(seconds) => Duration::from_secs(seconds),
                None => Duration::from_secs(u64::from(server.scheduler()?.interval_minutes) * 60),
            };
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = terminate.recv() => return Ok(()),
                _ = interrupt.recv() => return Ok(()),
            }
        }
    })
}

/// How long a scheduler run waits for Entra to replicate (a credential that
/// works replicated long ago; this bounds a stuck run).
const REPLICATION_BUDGET: Duration = Duration::from_secs(60);

/// The settings, any operation that stopped with sync cycles turned off, and
/// how the scheduler's last run went.
#[derive(Serialize)]
struct SchedulerView {
    #[serde(flatten)]
    settings: SchedulerSettings,
    interrupted_operations: Vec<InterruptedOperation>,
    last_run: LastRun,
}

fn human(view: &SchedulerView) -> String {
    let settings = &view.settings;
    let mut text = fields(&[
        ("SyncCycleEnabled", yes_no(settings.sync_cycle_enabled)),
        ("MaintenanceEnabled", yes_no(settings.maintenance_enabled)),
        ("SchedulerSuspended", yes_no(settings.scheduler_suspended)),
        (
            "SyncCycleIntervalMinutes",
            settings.interval_minutes.to_string(),
        ),
        (
            "NextSyncCycleStartTimeInUTC",
            or_dash(settings.next_run_at.map(format_time)),
        ),
    ]);
    for (part, result) in [
        ("LastMaintenance", &view.last_run.maintenance),
        ("LastSyncCycleCheck", &view.last_run.sync_cycle_check),
    ] {
        if let Some(result) = result {
            let verdict = if result.ok { "OK" } else { "FAILED" };
            text.push_str(&format!(
                "{part} : {} {verdict}: {}\n",
                format_time(result.at),
                result.summary
            ));
        }
    }
    for operation in &view.interrupted_operations {
        text.push_str(&format!(
            "Interrupted: the {} operation {} (started {}) stopped with sync cycles disabled; SyncCycleEnabled goes back to {} when it is run again or another operation starts.\n",
            operation.kind, operation.id, operation.started_at, operation.sync_cycle_enabled_before
        ));
    }
    text
}
