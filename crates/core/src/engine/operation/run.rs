//! One run of an operation: it journals each step (so a rerun resumes),
//! reports progress, records a failure against the step that failed and only
//! that one, and at the end holds the run to its plan: every planned step
//! ran or said why it was skipped.

use super::journaled::{Journaled, inputs_json};
use super::scheduler_guard::{SCHEDULER_BACK, SCHEDULER_OFF, restore_for, turn_off};
use super::step::{Check, PlannedStep, Step, StepId};
use crate::engine::progress::{Progress, ProgressSender, Skip, StepStatus};
use crate::engine::{EngineError, LocalServer};
use crate::entra::RetryNotice;
use crate::entra::http::RetryObserver;
use crate::host::journal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// What a journaled step hands back: its value, a one-line summary for
/// progress, and the local change to commit in the same transaction as its
/// journal row.
pub struct Done<T> {
    value: T,
    summary: String,
    local: Option<LocalChange>,
}

type LocalChange = Box<dyn FnOnce(&rusqlite::Transaction) -> rusqlite::Result<()>>;

impl<T> Done<T> {
    pub fn new(value: T, summary: impl Into<String>) -> Self {
        Done {
            value,
            summary: summary.into(),
            local: None,
        }
    }

    pub fn with_local(
        mut self,
        change: impl FnOnce(&rusqlite::Transaction) -> rusqlite::Result<()> + 'static,
    ) -> Self {
        self.local = Some(Box::new(change));
        self
    }
}

/// The step running now, so retry notices from the HTTP layer name it.
type CurrentStep = Arc<Mutex<Option<StepId>>>;

/// One run of an operation.
pub struct Run {
    id: String,
    /// The steps of the confirmed plan; nothing else may run.
    planned: Vec<StepId>,
    /// The steps that ran in this run (done, failed, or done in an earlier
    /// run) or said why they were skipped.
    accounted: HashSet<&'static str>,
    /// What the steps completed so far journaled, in earlier runs and this one.
    done: Journaled,
    progress: ProgressSender,
    current: CurrentStep,
    /// The step that failed, if the run stopped inside a step.
    failed: Option<StepId>,
    /// Warning 1014 (key not in a TPM) is written once per run.
    pub software_key_warned: bool,
}

impl Run {
    /// Resumes the last run of `kind` with the same `inputs` that stopped
    /// (crash, kill, failure) before it succeeded, or begins a new one. Other
    /// open runs of `kind` are abandoned.
    pub(super) fn start(
        server: &mut LocalServer,
        kind: &'static str,
        inputs: &impl Serialize,
        plan: &[PlannedStep],
        progress: ProgressSender,
    ) -> Result<Run, EngineError> {
        let inputs = inputs_json(inputs)?;
        let (id, done) = server.db.write(|tx| {
            let (id, done) = match journal::open_run(tx, kind, Some(&inputs))? {
                Some(record) => (record.id, record.done),
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    journal::begin(tx, &id, kind, &inputs)?;
                    (id, Default::default())
                }
            };
            journal::reopen(tx, &id, kind)?;
            Ok((id, done))
        })?;
        let steps: Vec<StepId> = plan
            .iter()
            .map(|step| StepId {
                name: step.name,
                title: step.title,
            })
            .collect();
        let mut run = Run::untracked(&id, &steps, progress);
        run.done = Journaled::from_steps(done);
        if !run.done.is_empty() {
            tracing::info!(operation = %id, "resuming an operation that stopped before it finished");
        }
        Ok(run)
    }

    /// A run that journals nothing, for steps that change nothing (the
    /// wizard's sign-in page), so they report progress like any other.
    pub fn untracked(id: &str, steps: &[StepId], progress: ProgressSender) -> Run {
        Run {
            id: id.to_string(),
            planned: steps.to_vec(),
            accounted: HashSet::new(),
            done: Journaled::default(),
            progress,
            current: CurrentStep::default(),
            failed: None,
            software_key_warned: false,
        }
    }

    pub fn progress(&self) -> &ProgressSender {
        &self.progress
    }

    /// Turns HTTP retries into `Retrying` progress of the step running now.
    pub fn retry_observer(&self) -> RetryObserver {
        retry_progress(self.progress.clone(), self.id.clone(), self.current.clone())
    }

    /// Runs a journaled step, or hands back what an earlier run recorded for
    /// it (an entry that cannot be read fails the run, naming the step).
    pub async fn step<T: Serialize + DeserializeOwned>(
        &mut self,
        server: &mut LocalServer,
        step: Step<T>,
        work: impl AsyncFnOnce(&mut LocalServer) -> Result<Done<T>, EngineError>,
    ) -> Result<T, EngineError> {
        self.ensure_planned(step.id)?;
        if let Some(value) = self.done.value(step)? {
            self.accounted.insert(step.id.name);
            self.emit(step.id, StepStatus::AlreadyDone);
            return Ok(value);
        }
        self.begin(step.id);
        let outcome = match work(server).await {
            Ok(done) => self.record(server, step.id, done),
            Err(error) => Err(error),
        };
        self.end(step.id, outcome)
    }

    /// Runs a step that changes nothing; it runs again on every rerun.
    pub async fn check<T>(
        &mut self,
        check: Check,
        work: impl AsyncFnOnce() -> Result<(T, String), EngineError>,
    ) -> Result<T, EngineError> {
        self.ensure_planned(check.id)?;
        self.begin(check.id);
        let outcome = work().await;
        self.end(check.id, outcome)
    }

    /// Leaves a planned step out, saying why.
    pub fn skip(&mut self, step: StepId, why: Skip) -> Result<(), EngineError> {
        self.ensure_planned(step)?;
        self.accounted.insert(step.name);
        self.emit(step, StepStatus::Skipped(why));
        Ok(())
    }

    fn ensure_planned(&self, step: StepId) -> Result<(), EngineError> {
        match self.planned.iter().any(|planned| planned.name == step.name) {
            true => Ok(()),
            false => Err(EngineError::Unplanned(step.title)),
        }
    }

    fn begin(&mut self, step: StepId) {
        self.accounted.insert(step.name);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = Some(step);
        self.emit(step, StepStatus::Running);
    }

    /// Commits a step's journal row with its local change.
    fn record<T: Serialize>(
        &mut self,
        server: &mut LocalServer,
        step: StepId,
        done: Done<T>,
    ) -> Result<(T, String), EngineError> {
        let json = serde_json::to_string(&done.value).map_err(EngineError::Journal)?;
        let id = self.id.clone();
        let local = done.local;
        server.db.write(|tx| {
            if let Some(local) = local {
                local(tx)?;
            }
            journal::record_step(tx, &id, step.name, journal::SUCCEEDED, &json)
        })?;
        self.done.record(step, json);
        Ok((done.value, done.summary))
    }

    /// Ends the step running now: done, or failed (recorded against this step).
    fn end<T>(
        &mut self,
        step: StepId,
        outcome: Result<(T, String), EngineError>,
    ) -> Result<T, EngineError> {
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = None;
        match outcome {
            Ok((value, detail)) => {
                self.emit(step, StepStatus::Done { detail });
                test_hooks::after(step)?;
                Ok(value)
            }
            Err(error) => {
                self.failed = Some(step);
                self.emit(
                    step,
                    StepStatus::Failed {
                        kind: error.kind(),
                        message: error.to_string(),
                        remedies: error.remedies(),
                    },
                );
                Err(error)
            }
        }
    }

    fn emit(&self, step: StepId, status: StepStatus) {
        let _ = self.progress.send(Progress::Step {
            operation: self.id.clone(),
            step: step.name,
            title: step.title,
            status,
        });
    }

    /// Turns sync cycles off for the change, remembering how they were. The
    /// run puts them back when it ends, whatever the outcome. A guard, not a
    /// result: a resumed run turns them off again (the earlier run's were put
    /// back when it was recovered).
    pub async fn disable_scheduler(&mut self, server: &mut LocalServer) -> Result<(), EngineError> {
        let step = SCHEDULER_OFF.id;
        self.ensure_planned(step)?;
        self.begin(step);
        let outcome = turn_off(server, &self.id).map(|(json, summary)| {
            self.done.record(step, json);
            ((), summary)
        });
        self.end(step, outcome)
    }

    /// Reports the guard's last step, when planned, by what putting the
    /// scheduler back did (`restored`: the value restored, or none when this
    /// run had not turned it off).
    fn scheduler_back(&mut self, restored: &Result<Option<bool>, EngineError>) {
        let step = SCHEDULER_BACK;
        if !self.planned.contains(&step) {
            return;
        }
        self.accounted.insert(step.name);
        let status = match restored {
            Ok(Some(value)) => StepStatus::Done {
                detail: format!("SyncCycleEnabled is {value} again"),
            },
            Ok(None) => StepStatus::Skipped(Skip::NotNeeded {
                because: "this run had not turned sync cycles off".to_string(),
            }),
            Err(error) => StepStatus::Failed {
                kind: error.kind(),
                message: error.to_string(),
                remedies: error.remedies(),
            },
        };
        self.emit(step, status);
    }

    /// The first planned step that neither ran nor said why it was skipped.
    fn unaccounted(&self) -> Option<StepId> {
        self.planned
            .iter()
            .find(|step| !self.accounted.contains(step.name))
            .copied()
    }

    /// Ends the run with its outcome: the scheduler goes back as it was either
    /// way, and the journal says whether the operation finished and, if it
    /// stopped inside a step, which one. A run that left a planned step
    /// unaccounted for did not do what was confirmed: it fails, naming it.
    pub(super) fn conclude<T>(
        mut self,
        server: &mut LocalServer,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let restored = restore_for(server, &self.id);
        self.scheduler_back(&restored);
        let result = result.and_then(|value| match self.unaccounted() {
            Some(step) => Err(EngineError::StepUnaccounted(step.title)),
            None => Ok(value),
        });
        let id = self.id.clone();
        match (result, restored) {
            (Ok(value), Ok(_)) => {
                server
                    .db
                    .write(|tx| journal::finish(tx, &id, journal::SUCCEEDED))?;
                Ok(value)
            }
            (Ok(_), Err(error)) | (Err(error), _) => {
                let failed = self.failed;
                let detail = serde_json::json!({ "error": error.to_string() }).to_string();
                let written = server.db.write(|tx| {
                    if let Some(step) = failed {
                        journal::record_step(tx, &id, step.name, journal::FAILED, &detail)?;
                    }
                    journal::finish(tx, &id, journal::FAILED)
                });
                if let Err(e) = written {
                    tracing::warn!(error = %e, "could not record the failure in the journal");
                }
                Err(error)
            }
        }
    }
}

/// An observer that reports each HTTP retry as `Retrying` progress of the
/// step in `current` (the step running at the time).
fn retry_progress(
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
                    budget: notice.budget,
                },
            });
        }
    })
}

/// Faults the process tests inject right after a step completes:
/// `ENTRA_CONNECT_TEST_ABORT_AFTER=<step>` kills the process (a crash);
/// `ENTRA_CONNECT_TEST_FAIL_AFTER=<step>` raises an error between that step
/// and the next.
mod test_hooks {
    use super::{EngineError, StepId};

    /// Only debug builds (the tests') read the hooks: release builds (the
    /// packaged tool) never do.
    const READ: bool = cfg!(debug_assertions);

    pub(super) fn after(step: StepId) -> Result<(), EngineError> {
        after_in(READ, step, |var| std::env::var(var).ok())
    }

    /// [`after`] in a build that reads the hooks (`read`) or not, with the
    /// environment's variables from `var`.
    fn after_in(
        read: bool,
        step: StepId,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), EngineError> {
        if !read {
            return Ok(());
        }
        let asked = |name: &str| var(name).is_some_and(|s| s == step.name);
        if asked("ENTRA_CONNECT_TEST_ABORT_AFTER") {
            eprintln!(
                "aborting after step {} (ENTRA_CONNECT_TEST_ABORT_AFTER)",
                step.name
            );
            std::process::abort();
        }
        if asked("ENTRA_CONNECT_TEST_FAIL_AFTER") {
            return Err(EngineError::InjectedFault(step.name));
        }
        Ok(())
    }

    #[cfg(test)]
    mod tests {
        use super::*;
        use std::cell::RefCell;

        const STEP: StepId = StepId {
            name: "certificate",
            title: "Prepare the certificate",
        };

        /// A release build reads no variable, so both hooks naming the step
        /// change nothing (a build that read them would abort here); the
        /// same environment in a debug build raises the injected fault.
        #[test]
        fn a_release_build_reads_no_hook() {
            let read = RefCell::new(Vec::new());
            let both = |name: &str| {
                read.borrow_mut().push(name.to_string());
                Some(STEP.name.to_string())
            };
            assert!(after_in(false, STEP, both).is_ok());
            assert!(read.borrow().is_empty(), "{:?}", read.borrow());

            let fail_only =
                |name: &str| (name == "ENTRA_CONNECT_TEST_FAIL_AFTER").then(|| STEP.name.into());
            assert!(matches!(
                after_in(true, STEP, fail_only),
                Err(EngineError::InjectedFault("certificate"))
            ));
            assert!(after_in(false, STEP, fail_only).is_ok());
        }
    }
}
