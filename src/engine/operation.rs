//! The machinery every Entra operation shares: a journal to resume from,
//! progress for each named step, and the scheduler guard that keeps sync
//! cycles off while the credential changes and always puts them back.

use super::progress::{Progress, ProgressSender, StepStatus};
use super::{EngineError, LocalServer};
use crate::domain::{EventId, EventLevel};
use crate::entra::RetryNotice;
use crate::entra::http::RetryObserver;
use crate::host::{events, journal, scheduler};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// A named step of an operation, with the title progress shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub name: &'static str,
    pub title: &'static str,
}

/// The scheduler guard's journal entry.
const SCHEDULER_STEP: Step = Step {
    name: "disable-scheduler",
    title: "Disable the sync scheduler for the change",
};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct SchedulerSaved {
    sync_cycle_enabled_before: bool,
    restored: bool,
}

/// The step running now, so retry notices from the HTTP layer name it.
pub type CurrentStep = Arc<Mutex<Option<Step>>>;

pub struct Run {
    pub id: String,
    done: HashMap<String, Value>,
    progress: ProgressSender,
    current: CurrentStep,
    /// Warning 1014 (key not in a TPM) is written once per run.
    pub software_key_warned: bool,
}

impl Run {
    /// Resumes the last run of `kind` with the same `inputs` that stopped
    /// (crash, kill, failure) before it succeeded, or begins a new one. Other
    /// open runs of `kind` are abandoned.
    pub fn start(
        server: &mut LocalServer,
        kind: &'static str,
        inputs: &impl Serialize,
        progress: ProgressSender,
    ) -> Result<Run, EngineError> {
        let inputs = serde_json::to_string(inputs).unwrap_or_default();
        let run = server.db.write(|tx| {
            let (id, done) = match journal::open_run(tx, kind, Some(&inputs))? {
                Some(record) => (record.id, record.done),
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    journal::begin(tx, &id, kind, &inputs)?;
                    (id, HashMap::new())
                }
            };
            journal::reopen(tx, &id, kind)?;
            Ok(Run {
                id,
                done,
                progress: progress.clone(),
                current: CurrentStep::default(),
                software_key_warned: false,
            })
        })?;
        if !run.done.is_empty() {
            tracing::info!(operation = %run.id, "resuming an operation that stopped before it finished");
        }
        Ok(run)
    }

    /// A run that journals nothing: for steps that change nothing (the
    /// wizard's sign-in page), so they report progress like any other.
    pub fn untracked(kind: &str, progress: ProgressSender) -> Run {
        Run {
            id: kind.to_string(),
            done: HashMap::new(),
            progress,
            current: CurrentStep::default(),
            software_key_warned: false,
        }
    }

    fn emit(&self, step: Step, status: StepStatus) {
        let _ = self.progress.send(Progress::Step {
            operation: self.id.clone(),
            step: step.name,
            title: step.title,
            status,
        });
    }

    pub fn progress(&self) -> &ProgressSender {
        &self.progress
    }

    /// Turns HTTP retries into `Retrying` progress of the step running now.
    pub fn retry_observer(&self) -> RetryObserver {
        retry_progress(self.progress.clone(), self.id.clone(), self.current.clone())
    }

    /// What `step` recorded in an earlier run, if it completed then.
    pub fn resume<T: DeserializeOwned>(&self, step: Step) -> Option<T> {
        let value = serde_json::from_value(self.done.get(step.name)?.clone()).ok()?;
        self.emit(step, StepStatus::AlreadyDone);
        Some(value)
    }

    /// Reports `step` done without journaling it: steps that must run again on
    /// a resume (sign-in, token checks) use this.
    pub fn note_done(&self, step: Step, summary: String) {
        self.emit(step, StepStatus::Done { detail: summary });
        abort_if_asked(step);
    }

    pub fn begin(&self, step: Step) {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(step);
        self.emit(step, StepStatus::Running);
    }

    /// Records `step` as done with `value` in the same transaction as `local`
    /// (the step's own local change, if any).
    pub fn complete<T: Serialize>(
        &mut self,
        server: &mut LocalServer,
        step: Step,
        value: &T,
        summary: String,
        local: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<()>,
    ) -> Result<(), EngineError> {
        let json = serde_json::to_value(value).unwrap_or(Value::Null);
        let id = self.id.clone();
        server.db.write(|tx| {
            local(tx)?;
            journal::record_step(tx, &id, step.name, journal::SUCCEEDED, &json)
        })?;
        self.done.insert(step.name.to_string(), json);
        self.emit(step, StepStatus::Done { detail: summary });
        abort_if_asked(step);
        Ok(())
    }

    /// Records the failure of the step that was running, and ends the run as failed.
    pub fn fail(self, server: &mut LocalServer, error: &EngineError) {
        let step = *self.current.lock().unwrap_or_else(|p| p.into_inner());
        let message = error.to_string();
        let id = self.id.clone();
        let result = server.db.write(|tx| {
            if let Some(step) = step {
                journal::record_step(
                    tx,
                    &id,
                    step.name,
                    journal::FAILED,
                    &serde_json::json!({ "error": message }),
                )?;
            }
            journal::finish(tx, &id, journal::FAILED)
        });
        if let Err(e) = result {
            tracing::warn!(error = %e, "could not record the failure in the journal");
        }
        if let Some(step) = step {
            self.emit(step, StepStatus::Failed { error: message });
        }
    }

    pub fn succeed(self, server: &mut LocalServer) -> Result<(), EngineError> {
        let id = self.id.clone();
        server
            .db
            .write(|tx| journal::finish(tx, &id, journal::SUCCEEDED))?;
        Ok(())
    }

    /// Turns sync cycles off for the change, remembering how they were.
    pub fn disable_scheduler(&mut self, server: &mut LocalServer) -> Result<(), EngineError> {
        self.begin(SCHEDULER_STEP);
        let id = self.id.clone();
        let saved = server.db.write(|tx| {
            let mut settings = scheduler::load(tx)?;
            let saved = SchedulerSaved {
                sync_cycle_enabled_before: settings.sync_cycle_enabled,
                restored: false,
            };
            settings.sync_cycle_enabled = false;
            scheduler::save(tx, &settings)?;
            let detail = serde_json::to_value(saved).unwrap_or(Value::Null);
            journal::record_step(tx, &id, SCHEDULER_STEP.name, journal::SUCCEEDED, &detail)?;
            Ok(saved)
        })?;
        self.emit(
            SCHEDULER_STEP,
            StepStatus::Done {
                detail: format!(
                    "SyncCycleEnabled was {}, now false until the change is done",
                    saved.sync_cycle_enabled_before
                ),
            },
        );
        abort_if_asked(SCHEDULER_STEP);
        Ok(())
    }

    /// Puts sync cycles back as they were before this run disabled them.
    pub fn restore_scheduler(&self, server: &mut LocalServer) -> Result<(), EngineError> {
        restore_for(server, &self.id)?;
        Ok(())
    }
}

/// Restores the scheduler for operation `id` if it disabled it and has not
/// restored it yet. Returns the value restored.
fn restore_for(server: &mut LocalServer, id: &str) -> Result<Option<bool>, EngineError> {
    Ok(server.db.write(|tx| {
        let saved = journal::all_unfinished(tx)?
            .into_iter()
            .find(|r| r.id == id)
            .and_then(|r| r.done.get(SCHEDULER_STEP.name).cloned())
            .and_then(|v| serde_json::from_value::<SchedulerSaved>(v).ok())
            .filter(|saved| !saved.restored);
        let Some(saved) = saved else { return Ok(None) };
        let mut settings = scheduler::load(tx)?;
        settings.sync_cycle_enabled = saved.sync_cycle_enabled_before;
        scheduler::save(tx, &settings)?;
        let detail = serde_json::to_value(SchedulerSaved {
            restored: true,
            ..saved
        })
        .unwrap_or(Value::Null);
        journal::record_step(tx, id, SCHEDULER_STEP.name, journal::SUCCEEDED, &detail)?;
        Ok(Some(saved.sync_cycle_enabled_before))
    })?)
}

/// An operation that stopped (crash, kill) while it had the scheduler off.
#[derive(Debug, Clone, Serialize)]
pub struct InterruptedOperation {
    pub id: String,
    pub kind: String,
    pub started_at: String,
    pub sync_cycle_enabled_before: bool,
}

/// Unfinished operations that left sync cycles disabled.
pub fn interrupted(server: &LocalServer) -> Result<Vec<InterruptedOperation>, EngineError> {
    let records = server.read(journal::all_unfinished)?;
    Ok(records
        .into_iter()
        .filter_map(|r| {
            let saved: SchedulerSaved =
                serde_json::from_value(r.done.get(SCHEDULER_STEP.name)?.clone()).ok()?;
            (!saved.restored).then_some(InterruptedOperation {
                id: r.id,
                kind: r.kind,
                started_at: r.started_at,
                sync_cycle_enabled_before: saved.sync_cycle_enabled_before,
            })
        })
        .collect())
}

/// On the next start after a kill: put the scheduler back for every
/// interrupted operation, with an event saying so.
pub fn recover_scheduler(server: &mut LocalServer) -> Result<(), EngineError> {
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

/// An observer that reports each HTTP retry as `Retrying` progress of the
/// step in `current` (the step running at the time).
pub fn retry_progress(
    progress: ProgressSender,
    operation: String,
    current: CurrentStep,
) -> RetryObserver {
    Arc::new(move |notice: RetryNotice| {
        let step = *current.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(step) = step {
            let _ = progress.send(Progress::Step {
                operation: operation.clone(),
                step: step.name,
                title: step.title,
                status: StepStatus::Retrying {
                    why: notice.reason,
                    delay_ms: notice.delay.as_millis() as u64,
                },
            });
        }
    })
}

/// Test hook: `ENTRA_CONNECT_TEST_ABORT_AFTER=<step>` kills the process right
/// after that step is recorded, as a crash would.
fn abort_if_asked(step: Step) {
    if std::env::var("ENTRA_CONNECT_TEST_ABORT_AFTER").is_ok_and(|s| s == step.name) {
        eprintln!(
            "aborting after step {} (ENTRA_CONNECT_TEST_ABORT_AFTER)",
            step.name
        );
        std::process::abort();
    }
}

/// Ends a run with its outcome: the scheduler goes back as it was either way,
/// and the journal says whether the operation finished.
pub fn conclude<T>(
    run: Run,
    server: &mut LocalServer,
    result: Result<T, EngineError>,
) -> Result<T, EngineError> {
    let restored = run.restore_scheduler(server);
    match (result, restored) {
        (Ok(value), Ok(())) => {
            run.succeed(server)?;
            Ok(value)
        }
        (Ok(_), Err(error)) | (Err(error), _) => {
            run.fail(server, &error);
            Err(error)
        }
    }
}
