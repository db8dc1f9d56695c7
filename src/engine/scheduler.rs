//! Set-ADSyncScheduler: change the scheduler settings.

use super::{EngineError, LocalServer};
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

/// Applies `change` and records what changed, in one transaction. Returns the
/// settings as they now are.
pub fn change_scheduler(
    server: &mut LocalServer,
    change: &SchedulerChange,
) -> Result<SchedulerSettings, EngineError> {
    Ok(server.db.write(|tx| {
        let before = scheduler::load(tx)?;
        let mut after = before.clone();
        let mut changed = Vec::new();
        let mut apply = |name: &str, field: &mut bool, value: Option<bool>| {
            if let Some(value) = value.filter(|v| v != field) {
                changed.push(format!("{name} {field} -> {value}"));
                *field = value;
            }
        };
        apply(
            "SyncCycleEnabled",
            &mut after.sync_cycle_enabled,
            change.sync_cycle_enabled,
        );
        apply(
            "MaintenanceEnabled",
            &mut after.maintenance_enabled,
            change.maintenance_enabled,
        );
        apply(
            "SchedulerSuspended",
            &mut after.scheduler_suspended,
            change.scheduler_suspended,
        );
        if let Some(minutes) = change
            .interval_minutes
            .filter(|m| *m != before.interval_minutes)
        {
            changed.push(format!(
                "SyncCycleIntervalMinutes {} -> {minutes}",
                before.interval_minutes
            ));
            after.interval_minutes = minutes;
        }
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
}
