//! The scheduler guard: sync cycles stay off while the credential changes
//! and always go back as the administrator had them, when the run ends
//! whatever its outcome, or on the next start after a kill.

use super::change::Change;
use super::journaled::Journaled;
use super::step::{PlannedStep, Step, StepId};
use crate::domain::{EventId, EventLevel};
use crate::engine::{EngineError, LocalServer};
use crate::host::journal::{self, OperationRecord};
use crate::host::{events, scheduler};
use serde::{Deserialize, Serialize};

/// The scheduler guard's step.
pub(super) const SCHEDULER_OFF: Step<SchedulerSaved> = Step::new(
    "disable-scheduler",
    "Disable the sync scheduler for the change",
);

/// The scheduler guard's last step, a change the run makes when it ends
/// (not journaled: the first step's record says whether it is done).
pub(super) const SCHEDULER_BACK: StepId = StepId {
    name: "restore-scheduler",
    title: "Put the sync scheduler back as it was",
};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub(super) struct SchedulerSaved {
    pub(super) sync_cycle_enabled_before: bool,
    pub(super) restored: bool,
}

/// The scheduler guard in a plan (its first step; `with_scheduler_back`
/// adds the last).
pub fn plan_scheduler_off(server: &LocalServer) -> Result<PlannedStep, EngineError> {
    let enabled = server.scheduler()?.sync_cycle_enabled;
    Ok(SCHEDULER_OFF.plan(Change::SchedulerOff {
        sync_cycle_enabled: enabled,
    }))
}

/// `steps` ending with the step that puts the scheduler back, when they
/// turn it off: every plan says so, last, as it happens.
pub(super) fn with_scheduler_back(mut steps: Vec<PlannedStep>) -> Vec<PlannedStep> {
    let was = steps.iter().find_map(|step| match step.change {
        Change::SchedulerOff { sync_cycle_enabled } => Some(sync_cycle_enabled),
        _ => None,
    });
    if let Some(sync_cycle_enabled) = was {
        steps.push(SCHEDULER_BACK.planned(Change::SchedulerBack { sync_cycle_enabled }, true));
    }
    steps
}

/// What `run` saved of the scheduler, if it turned it off.
fn saved(run: OperationRecord) -> Result<Option<SchedulerSaved>, EngineError> {
    Journaled::from_steps(run.done).value(SCHEDULER_OFF)
}

/// Turns sync cycles off for run `id`, journaling how they were, in one
/// transaction. Returns the journaled value and a summary.
pub(super) fn turn_off(
    server: &mut LocalServer,
    id: &str,
) -> Result<(String, String), EngineError> {
    server.db.write(|tx| {
        let mut settings = scheduler::load(tx)?;
        // The administrator's setting is what an interrupted change that has
        // not been put back recorded, not what that change left.
        let mut enabled = settings.sync_cycle_enabled;
        for run in journal::all_unfinished(tx)? {
            if run.id == id {
                continue;
            }
            match saved(run) {
                Ok(Some(saved)) if !saved.restored => {
                    enabled = saved.sync_cycle_enabled_before;
                    break;
                }
                Ok(_) => {}
                Err(unreadable) => return Ok(Err(unreadable)),
            }
        }
        let saved = SchedulerSaved {
            sync_cycle_enabled_before: enabled,
            restored: false,
        };
        let json = serde_json::to_string(&saved).unwrap_or_default();
        settings.sync_cycle_enabled = false;
        scheduler::save(tx, &settings)?;
        journal::record_step(tx, id, SCHEDULER_OFF.id.name, journal::SUCCEEDED, &json)?;
        let summary = format!("SyncCycleEnabled was {enabled}, now false until the change is done");
        Ok(Ok((json, summary)))
    })?
}

/// Restores the scheduler for operation `id` if it disabled it and has not
/// restored it yet. Returns the value restored.
pub(super) fn restore_for(server: &mut LocalServer, id: &str) -> Result<Option<bool>, EngineError> {
    server.db.write(|tx| {
        let Some(run) = journal::all_unfinished(tx)?
            .into_iter()
            .find(|r| r.id == id)
        else {
            return Ok(Ok(None));
        };
        let saved = match saved(run) {
            Ok(Some(saved)) if !saved.restored => saved,
            Ok(_) => return Ok(Ok(None)),
            Err(unreadable) => return Ok(Err(unreadable)),
        };
        let mut settings = scheduler::load(tx)?;
        settings.sync_cycle_enabled = saved.sync_cycle_enabled_before;
        scheduler::save(tx, &settings)?;
        let restored = SchedulerSaved {
            restored: true,
            ..saved
        };
        let detail = serde_json::to_string(&restored).unwrap_or_default();
        journal::record_step(tx, id, SCHEDULER_OFF.id.name, journal::SUCCEEDED, &detail)?;
        Ok(Ok(Some(saved.sync_cycle_enabled_before)))
    })?
}

/// An operation that stopped (crash, kill) while it had the scheduler off.
#[derive(Debug, Clone, Serialize)]
pub struct InterruptedOperation {
    pub id: String,
    pub kind: String,
    pub started_at: String,
    pub sync_cycle_enabled_before: bool,
}

/// Unfinished operations that left sync cycles disabled. None while another
/// process is changing this server: its operation is running, not interrupted.
pub fn interrupted(server: &LocalServer) -> Result<Vec<InterruptedOperation>, EngineError> {
    if server.change_running_elsewhere()? {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for run in server.read(journal::all_unfinished)? {
        let (id, kind, started_at) = (run.id.clone(), run.kind.clone(), run.started_at.clone());
        if let Some(saved) = saved(run)?.filter(|saved| !saved.restored) {
            found.push(InterruptedOperation {
                id,
                kind,
                started_at,
                sync_cycle_enabled_before: saved.sync_cycle_enabled_before,
            });
        }
    }
    Ok(found)
}

/// On the next start after a kill (or on cancel): put the scheduler back for
/// every interrupted operation, with an event saying so. Under the state
/// lock, so a change running in another process is never taken for one.
pub fn recover_scheduler(server: &mut LocalServer) -> Result<(), EngineError> {
    server.changing("restore the scheduler", recover_scheduler_locked)
}

fn recover_scheduler_locked(server: &mut LocalServer) -> Result<(), EngineError> {
    for operation in interrupted(server)? {
        if let Some(value) = restore_for(server, &operation.id)? {
            let message = format!(
                "The {} operation {} started at {} was interrupted with sync cycles disabled; SyncCycleEnabled was restored to {value}.",
                operation.kind, operation.id, operation.started_at
            );
            server.db.write(|tx| {
                events::record(
                    tx,
                    EventLevel::Warning,
                    EventId::OPERATION_INTERRUPTED,
                    &message,
                )
            })?;
        }
    }
    Ok(())
}
