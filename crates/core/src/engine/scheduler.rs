//! Set-ADSyncScheduler: change the scheduler settings.

use super::operation::{Change, StepId};
use super::{EngineError, LocalServer, PlannedStep};
use crate::domain::{EventId, EventLevel, SchedulerSettings};
use crate::host::{events, scheduler};

/// The settings to change; `None` leaves a setting as it is.
#[derive(Debug, Clone, Default)]
pub struct SchedulerChange {
    pub sync_cycle_enabled: Option<bool>,
    pub maintenance_enabled: Option<bool>,
    pub scheduler_suspended: Option<bool>,
    pub interval_minutes: Option<u32>,
}

impl SchedulerChange {
    /// `before` with this change applied, and each setting that changes as
    /// `Name old -> new`.
    fn apply(&self, before: &SchedulerSettings) -> (SchedulerSettings, Vec<String>) {
        let mut after = before.clone();
        let mut changed = Vec::new();
        let mut set = |name: &str, field: &mut bool, value: Option<bool>| {
            if let Some(value) = value.filter(|v| v != field) {
                changed.push(format!("{name} {field} -> {value}"));
                *field = value;
            }
        };
        set(
            "SyncCycleEnabled",
            &mut after.sync_cycle_enabled,
            self.sync_cycle_enabled,
        );
        set(
            "MaintenanceEnabled",
            &mut after.maintenance_enabled,
            self.maintenance_enabled,
        );
        set(
            "SchedulerSuspended",
            &mut after.scheduler_suspended,
            self.scheduler_suspended,
        );
        if let Some(minutes) = self
            .interval_minutes
            .filter(|m| *m != before.interval_minutes)
        {
            changed.push(format!(
                "SyncCycleIntervalMinutes {} -> {minutes}",
                before.interval_minutes
            ));
            after.interval_minutes = minutes;
        }
        (after, changed)
    }
}

/// What `change` would change, for `--dry-run`.
pub fn plan_scheduler_change(
    server: &LocalServer,
    change: &SchedulerChange,
) -> Result<Vec<PlannedStep>, EngineError> {
    let (_, changed) = change.apply(&server.scheduler()?);
    let changes = !changed.is_empty();
    let step = StepId {
        name: "set-scheduler",
        title: "Change the scheduler settings",
    };
    Ok(vec![
        step.planned(Change::SetScheduler { changed }, changes),
    ])
}

/// Applies `change` and records what changed, in one transaction. Returns the
/// settings as they now are.
pub fn change_scheduler(
    server: &mut LocalServer,
    change: &SchedulerChange,
) -> Result<SchedulerSettings, EngineError> {
    // Under the lock: a change running now has sync cycles off for itself
    // and puts them back when it ends, after which this one applies.
    server.changing("scheduler set", |server| {
        Ok(server.db.write(|tx| {
            let (after, changed) = change.apply(&scheduler::load(tx)?);
            if !changed.is_empty() {
                scheduler::save(tx, &after)?;
                let message = format!("Scheduler settings changed: {}.", changed.join(", "));
                events::record(
                    tx,
                    EventLevel::Information,
                    EventId::SCHEDULER_CHANGED,
                    &message,
                )?;
            }
            Ok(after)
        })?)
    })
}
