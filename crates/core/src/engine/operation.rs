//! The machinery every operation shares, written once: typed steps, the plan
//! made from them, the runner that journals each step (so a rerun resumes),
//! reports progress, records a failure against the step that failed and only
//! that one, and the scheduler guard that keeps sync cycles off while the
//! credential changes and always puts them back.
//!
//! An operation (onboard, register, link, ...) is a type implementing
//! [`Operation`]: its [`Operation::plan`] lists its steps with what each will
//! change, and [`Operation::execute`] runs exactly those steps on a [`Run`].

use super::progress::{Progress, ProgressSender, StepStatus};
use super::{EngineError, EntraRequest, LocalServer};
use crate::domain::{EventId, EventLevel};
use crate::entra::RetryNotice;
use crate::entra::http::RetryObserver;
use crate::host::{events, journal, scheduler};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex};

/// A step's identity: its journal name and the title progress shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepId {
    pub name: &'static str,
    pub title: &'static str,
}

/// A step that changes something and journals what it produced (`T`), so a
/// rerun after a crash or failure resumes it instead of doing it twice.
pub struct Step<T> {
    pub id: StepId,
    journals: PhantomData<fn() -> T>,
}

impl<T> Step<T> {
    pub const fn new(name: &'static str, title: &'static str) -> Self {
        Step {
            id: StepId { name, title },
            journals: PhantomData,
        }
    }

    /// This step in a plan, with what it will change.
    pub fn plan(&self, change: impl Into<String>) -> PlannedStep {
        PlannedStep {
            name: self.id.name,
            title: self.id.title,
            detail: change.into(),
            changes: true,
            done_earlier: false,
        }
    }

    /// This step in a plan when it only looks something up: it changes
    /// nothing, and journals what it found for the steps after it.
    pub fn plan_lookup(&self, detail: impl Into<String>) -> PlannedStep {
        PlannedStep {
            changes: false,
            ..self.plan(detail)
        }
    }
}

impl<T> Clone for Step<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Step<T> {}

/// A step that changes nothing (sign-in, a check, a test token): it runs again
/// on every rerun and journals nothing but a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub id: StepId,
}

impl Check {
    pub const fn new(name: &'static str, title: &'static str) -> Self {
        Check {
            id: StepId { name, title },
        }
    }

    pub fn plan(&self, detail: impl Into<String>) -> PlannedStep {
        PlannedStep {
            name: self.id.name,
            title: self.id.title,
            detail: detail.into(),
            changes: false,
            done_earlier: false,
        }
    }
}

/// One line of a plan: a step and what it will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedStep {
    pub name: &'static str,
    pub title: &'static str,
    /// What the step changes (or, for a check, what it looks at), from the
    /// operation's inputs and the server's current state.
    pub detail: String,
    /// False for checks: the step changes nothing.
    pub changes: bool,
    /// Completed by an earlier run of the same change that stopped part way:
    /// running the plan resumes that run and does not repeat this step.
    pub done_earlier: bool,
}

impl PlannedStep {
    /// `3. Register this server's application`, marked when it changes nothing:
    /// how the Ready page and `--dry-run` both list a plan.
    pub fn heading(&self, number: usize) -> String {
        let marker = match (self.done_earlier, self.changes) {
            (true, _) => " (done in an earlier run)",
            (false, false) => " (no change)",
            (false, true) => "",
        };
        format!("{number}. {}{marker}", self.title)
    }
}

/// The line above a plan: whether running it starts afresh or continues an
/// earlier run that stopped part way.
pub fn plan_intro(steps: &[PlannedStep]) -> &'static str {
    match steps.iter().any(|step| step.done_earlier) {
        true => {
            "An earlier run of this change stopped part way. It continues from there; what it completed is kept, not repeated:"
        }
        false => "Nothing has changed yet. These steps run, in this order:",
    }
}

/// Who an operation acts for and where: shown in its plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub tenant: String,
    pub admin_upn: String,
}

/// An operation: its inputs are the implementing value (journaled, so a rerun
/// with the same inputs resumes and one with other inputs starts afresh).
pub(crate) trait Operation: Serialize {
    /// The journal's name for this kind of operation.
    const KIND: &'static str;
    type Output;

    /// Every step, in order, with what it will change. Preconditions that can
    /// be checked locally are checked here, before anything changes.
    fn plan(&self, server: &LocalServer, target: &Target) -> Result<Vec<PlannedStep>, EngineError>;

    /// [`Operation::plan`], with the steps an earlier, unfinished run with the
    /// same inputs completed marked: what running it now will not repeat.
    fn plan_resuming(
        &self,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let mut steps = self.plan(server, target)?;
        let done = self.done_earlier(server)?;
        for step in &mut steps {
            // The scheduler guard applies anew on every run.
            step.done_earlier = step.name != SCHEDULER_OFF.id.name && done.contains_key(step.name);
        }
        Ok(steps)
    }

    /// What an earlier, unfinished run with the same inputs journaled, by
    /// step name (JSON text); empty when there is none.
    fn done_earlier(&self, server: &LocalServer) -> Result<HashMap<String, String>, EngineError> {
        let inputs = serde_json::to_string(self).map_err(EngineError::Journal)?;
        let open = server.read(|conn| journal::open_run(conn, Self::KIND, Some(&inputs)))?;
        Ok(open.map(|run| run.done).unwrap_or_default())
    }

    /// The value `step` journaled in an earlier, unfinished run with the same
    /// inputs.
    fn journaled<T: DeserializeOwned>(
        &self,
        server: &LocalServer,
        step: StepId,
    ) -> Result<Option<T>, EngineError> {
        let done = self.done_earlier(server)?;
        Ok(done
            .get(step.name)
            .and_then(|json| serde_json::from_str(json).ok()))
    }

    /// Runs the planned steps on `run`.
    async fn execute(
        &self,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<Self::Output, EngineError>;
}

/// Runs `operation` as `confirmed` (its plan, as shown) lists it: the plan is
/// made again from the current state and must be the same, the scheduler is
/// put back after any earlier interrupted run, and the outcome is journaled.
pub(crate) async fn perform<O: Operation>(
    server: &mut LocalServer,
    entra: &EntraRequest,
    operation: &O,
    confirmed: &[PlannedStep],
    progress: ProgressSender,
) -> Result<O::Output, EngineError> {
    let current = operation.plan_resuming(server, &entra.target())?;
    if current != confirmed {
        return Err(EngineError::PlanChanged);
    }
    recover_scheduler(server)?;
    let mut run = Run::start(server, O::KIND, operation, &current, progress)?;
    let result = operation.execute(&mut run, server, entra).await;
    run.conclude(server, result)
}

/// The scheduler guard's step.
pub const SCHEDULER_OFF: Step<SchedulerSaved> = Step::new(
    "disable-scheduler",
    "Disable the sync scheduler for the change",
);

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct SchedulerSaved {
    sync_cycle_enabled_before: bool,
    restored: bool,
}

/// The scheduler guard in a plan.
pub fn plan_scheduler_off(server: &LocalServer) -> Result<PlannedStep, EngineError> {
    let enabled = server.scheduler()?.sync_cycle_enabled;
    Ok(SCHEDULER_OFF.plan(format!(
        "Turn sync cycles off during the change (SyncCycleEnabled is {enabled}) and put them back as they were afterwards"
    )))
}

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
    planned: Vec<&'static str>,
    /// Journaled values of the steps an earlier run completed (JSON text).
    done: HashMap<String, String>,
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
    fn start(
        server: &mut LocalServer,
        kind: &'static str,
        inputs: &impl Serialize,
        plan: &[PlannedStep],
        progress: ProgressSender,
    ) -> Result<Run, EngineError> {
        let inputs = serde_json::to_string(inputs).map_err(EngineError::Journal)?;
        let (id, done) = server.db.write(|tx| {
            let (id, done) = match journal::open_run(tx, kind, Some(&inputs))? {
                Some(record) => (record.id, record.done),
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    journal::begin(tx, &id, kind, &inputs)?;
                    (id, HashMap::new())
                }
            };
            journal::reopen(tx, &id, kind)?;
            Ok((id, done))
        })?;
        if !done.is_empty() {
            tracing::info!(operation = %id, "resuming an operation that stopped before it finished");
        }
        let mut run = Run::untracked(&id, plan, progress);
        run.done = done;
        Ok(run)
    }

    /// A run that journals nothing, for steps that change nothing (the
    /// wizard's sign-in page), so they report progress like any other.
    pub fn untracked(id: &str, plan: &[PlannedStep], progress: ProgressSender) -> Run {
        Run {
            id: id.to_string(),
            planned: plan.iter().map(|step| step.name).collect(),
            done: HashMap::new(),
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

    /// Runs a journaled step, or hands back what an earlier run recorded for it.
    pub async fn step<T: Serialize + DeserializeOwned>(
        &mut self,
        server: &mut LocalServer,
        step: Step<T>,
        work: impl AsyncFnOnce(&mut LocalServer) -> Result<Done<T>, EngineError>,
    ) -> Result<T, EngineError> {
        self.ensure_planned(step.id)?;
        if let Some(json) = self.done.get(step.id.name) {
            let value =
                serde_json::from_str(json).map_err(|error| EngineError::JournalUnreadable {
                    step: step.id.title,
                    error,
                })?;
            self.emit(step.id, StepStatus::AlreadyDone);
            return Ok(value);
        }
        self.run_step(server, step, work).await
    }

    /// Runs a journaled step whatever an earlier run recorded.
    async fn run_step<T: Serialize>(
        &mut self,
        server: &mut LocalServer,
        step: Step<T>,
        work: impl AsyncFnOnce(&mut LocalServer) -> Result<Done<T>, EngineError>,
    ) -> Result<T, EngineError> {
        self.ensure_planned(step.id)?;
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

    fn ensure_planned(&self, step: StepId) -> Result<(), EngineError> {
        match self.planned.contains(&step.name) {
            true => Ok(()),
            false => Err(EngineError::Unplanned(step.title)),
        }
    }

    fn begin(&self, step: StepId) {
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
        self.done.insert(step.name.to_string(), json);
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
                        error: error.to_string(),
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
        let id = self.id.clone();
        let written = server.db.write(|tx| {
            let mut settings = scheduler::load(tx)?;
            // The administrator's setting is what an interrupted change that
            // has not been put back recorded, not what that change left.
            let enabled = journal::all_unfinished(tx)?
                .into_iter()
                .filter(|run| run.id != id)
                .filter_map(|run| scheduler_saved(&run.done))
                .find(|saved| !saved.restored)
                .map_or(settings.sync_cycle_enabled, |saved| {
                    saved.sync_cycle_enabled_before
                });
            let saved = SchedulerSaved {
                sync_cycle_enabled_before: enabled,
                restored: false,
            };
            let json = serde_json::to_string(&saved).unwrap_or_default();
            settings.sync_cycle_enabled = false;
            scheduler::save(tx, &settings)?;
            journal::record_step(tx, &id, step.name, journal::SUCCEEDED, &json)?;
            Ok((
                json,
                format!("SyncCycleEnabled was {enabled}, now false until the change is done"),
            ))
        });
        let outcome = match written {
            Ok((json, summary)) => {
                self.done.insert(step.name.to_string(), json);
                Ok(((), summary))
            }
            Err(error) => Err(error.into()),
        };
        self.end(step, outcome)
    }

    /// Ends the run with its outcome: the scheduler goes back as it was either
    /// way, and the journal says whether the operation finished and, if it
    /// stopped inside a step, which one.
    fn conclude<T>(
        self,
        server: &mut LocalServer,
        result: Result<T, EngineError>,
    ) -> Result<T, EngineError> {
        let restored = restore_for(server, &self.id);
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

/// Restores the scheduler for operation `id` if it disabled it and has not
/// restored it yet. Returns the value restored.
fn restore_for(server: &mut LocalServer, id: &str) -> Result<Option<bool>, EngineError> {
    Ok(server.db.write(|tx| {
        let saved = journal::all_unfinished(tx)?
            .into_iter()
            .find(|r| r.id == id)
            .and_then(|r| scheduler_saved(&r.done))
            .filter(|saved| !saved.restored);
        let Some(saved) = saved else { return Ok(None) };
        let mut settings = scheduler::load(tx)?;
        settings.sync_cycle_enabled = saved.sync_cycle_enabled_before;
        scheduler::save(tx, &settings)?;
        let restored = SchedulerSaved {
            restored: true,
            ..saved
        };
        let detail = serde_json::to_string(&restored).unwrap_or_default();
        journal::record_step(tx, id, SCHEDULER_OFF.id.name, journal::SUCCEEDED, &detail)?;
        Ok(Some(saved.sync_cycle_enabled_before))
    })?)
}

fn scheduler_saved(done: &HashMap<String, String>) -> Option<SchedulerSaved> {
    serde_json::from_str(done.get(SCHEDULER_OFF.id.name)?).ok()
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
    let records = server.read(journal::all_unfinished)?;
    Ok(records
        .into_iter()
        .filter_map(|r| {
            let saved = scheduler_saved(&r.done)?;
            (!saved.restored).then_some(InterruptedOperation {
                id: r.id,
                kind: r.kind,
                started_at: r.started_at,
                sync_cycle_enabled_before: saved.sync_cycle_enabled_before,
            })
        })
        .collect())
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

    pub fn after(step: StepId) -> Result<(), EngineError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A change started on a server where an earlier, interrupted one left
    /// sync cycles off puts back the administrator's setting that the earlier
    /// one recorded, not the "off" it found.
    #[tokio::test]
    async fn the_guard_restores_what_an_interrupted_change_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let mut server = LocalServer::open(dir.path()).unwrap();
        let saved = SchedulerSaved {
            sync_cycle_enabled_before: true,
            restored: false,
        };
        let saved = serde_json::to_string(&saved).unwrap();
        server
            .db
            .write(|tx| {
                journal::begin(tx, "killed", "rotate", "{}")?;
                let step = SCHEDULER_OFF.id.name;
                journal::record_step(tx, "killed", step, journal::SUCCEEDED, &saved)?;
                let mut settings = scheduler::load(tx)?;
                settings.sync_cycle_enabled = false;
                scheduler::save(tx, &settings)
            })
            .unwrap();
        let plan = [SCHEDULER_OFF.plan("")];
        let (progress, _events) = tokio::sync::mpsc::unbounded_channel();
        let mut run = Run::start(&mut server, "remove-key", &"inputs", &plan, progress).unwrap();
        run.disable_scheduler(&mut server).await.unwrap();
        assert!(!server.scheduler().unwrap().sync_cycle_enabled);
        run.conclude(&mut server, Ok(())).unwrap();
        assert!(server.scheduler().unwrap().sync_cycle_enabled);
    }
}
