//! `scheduler show` and `scheduler set` (Get-ADSyncScheduler, Set-ADSyncScheduler).

use super::connection::DryRunArg;
use super::output::{Output, fields, or_dash, yes_no};
use crate::domain::{SchedulerSettings, format_time};
use crate::engine::operation::{InterruptedOperation, interrupted};
use crate::engine::{LocalServer, SchedulerChange, change_scheduler, plan_scheduler_change};
use clap::{ArgGroup, Args, Subcommand};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum SchedulerCommand {
    /// Show the scheduler settings.
    Show,
    /// Change scheduler settings; what is not given stays as it is.
    Set(SetArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("change").required(true).multiple(true)))]
pub struct SetArgs {
    /// Run synchronization cycles.
    #[arg(long, value_name = "true|false", group = "change")]
    sync_cycle_enabled: Option<bool>,
    /// Run maintenance (certificate expiry checks and automatic rotation).
    #[arg(long, value_name = "true|false", group = "change")]
    maintenance_enabled: Option<bool>,
    /// Suspend the scheduler entirely.
    #[arg(long, value_name = "true|false", group = "change")]
    suspended: Option<bool>,
    /// Minutes between cycles (1 to 10080).
    #[arg(long, value_name = "N", group = "change",
          value_parser = clap::value_parser!(u32).range(1..=10080))]
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
    };
    out.show(&view, human)
}

/// The settings, and any operation that stopped with sync cycles turned off.
#[derive(Serialize)]
struct SchedulerView {
    #[serde(flatten)]
    settings: SchedulerSettings,
    interrupted_operations: Vec<InterruptedOperation>,
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
    for operation in &view.interrupted_operations {
        text.push_str(&format!(
            "Interrupted: the {} operation {} (started {}) stopped with sync cycles disabled; SyncCycleEnabled goes back to {} when it is run again or another operation starts.\n",
            operation.kind, operation.id, operation.started_at, operation.sync_cycle_enabled_before
        ));
    }
    text
}
