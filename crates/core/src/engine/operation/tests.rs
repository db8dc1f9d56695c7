//! The runner with a toy operation of two journaled steps, against a real
//! state database in a temporary directory: a failure is recorded against
//! its step and the rerun resumes after the step that finished; every
//! planned step runs or says why it was skipped; a journal entry that cannot
//! be read fails the run naming its step; the scheduler always goes back.

use super::*;
use crate::domain::ConnectionInputs;
use crate::engine::progress::{Progress, StepStatus};
use crate::host::{journal, scheduler};
use serde::Serialize;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc::{UnboundedReceiver, unbounded_channel};

const ONE: Step<u32> = Step::new("one", "First toy step");
const TWO: Step<u32> = Step::new("two", "Second toy step");

/// What the toy does with its second step.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Second {
    Runs,
    Fails,
    Skipped,
    /// Neither run nor skipped: what the runner must refuse.
    LeftOut,
}

/// Two journaled steps with the scheduler off. Its inputs are empty, so
/// every toy is a rerun of the one before.
#[derive(Serialize)]
struct Toy {
    #[serde(skip)]
    second: Second,
    /// Each step whose work ran, with whether sync cycles were on then.
    #[serde(skip)]
    ran: Arc<Mutex<Vec<(&'static str, bool)>>>,
}

impl Toy {
    fn new(second: Second) -> Toy {
        Toy {
            second,
            ran: Arc::default(),
        }
    }

    fn note(&self, step: &'static str, server: &LocalServer) -> Result<(), EngineError> {
        let enabled = server.scheduler()?.sync_cycle_enabled;
        self.ran.lock().unwrap().push((step, enabled));
        Ok(())
    }

    fn ran(&self) -> Vec<&'static str> {
        self.ran
            .lock()
            .unwrap()
            .iter()
            .map(|(step, _)| *step)
            .collect()
    }
}

impl Operation for Toy {
    const KIND: &'static str = "toy";
    type Output = u32;
    type Situation = ();

    fn situation(
        &self,
        _server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<(), EngineError> {
        Ok(())
    }

    fn plan(
        &self,
        _situation: &(),
        server: &LocalServer,
        _target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        Ok(vec![
            plan_scheduler_off(server)?,
            // What the steps change does not matter to the runner.
            ONE.plan(Change::CreateServicePrincipal),
            TWO.plan(Change::AssignSyncRole),
        ])
    }

    async fn execute(
        &self,
        _situation: (),
        run: &mut Run,
        server: &mut LocalServer,
        _entra: &EntraRequest,
    ) -> Result<u32, EngineError> {
        run.disable_scheduler(server).await?;
        let one = run
            .step(server, ONE, async |server| {
                self.note("one", server)?;
                Ok(Done::new(41, "41"))
            })
            .await?;
        match self.second {
            Second::LeftOut => Ok(one),
            Second::Skipped => {
                let because = "the first step settled it".into();
                run.skip(TWO.id, Skip::NotNeeded { because })?;
                Ok(one)
            }
            Second::Runs | Second::Fails => {
                run.step(server, TWO, async |server| {
                    self.note("two", server)?;
                    match self.second {
                        Second::Fails => Err(EngineError::InjectedFault("two")),
                        _ => Ok(Done::new(one + 1, "one more")),
                    }
                })
                .await
            }
        }
    }
}

/// A state directory whose scheduler has sync cycles on.
fn server() -> (tempfile::TempDir, LocalServer) {
    let dir = tempfile::tempdir().unwrap();
    let mut server = LocalServer::open(dir.path()).unwrap();
    server
        .db
        .write(|tx| {
            let mut settings = scheduler::load(tx)?;
            settings.sync_cycle_enabled = true;
            scheduler::save(tx, &settings)
        })
        .unwrap();
    (dir, server)
}

/// A tenant the toy never reaches.
fn entra() -> EntraRequest {
    let inputs = ConnectionInputs {
        tenant: Some("contoso.example".parse().unwrap()),
        ..ConnectionInputs::default()
    };
    let connection = crate::engine::connection::settings(
        &inputs,
        "toy-client",
        std::time::Duration::from_secs(1),
        Default::default(),
    )
    .unwrap();
    EntraRequest {
        connection,
        admin: None,
    }
}

/// Plans `toy` and runs that plan, with the progress it reported.
async fn perform_toy(
    server: &mut LocalServer,
    toy: &Toy,
) -> (Result<u32, EngineError>, Vec<(&'static str, StepStatus)>) {
    let entra = entra();
    let plan = plan_of(toy, server, &entra.target()).unwrap();
    let (progress, events) = unbounded_channel();
    let result = perform(server, &entra, toy, &plan, progress).await;
    (result, statuses(events))
}

fn statuses(mut events: UnboundedReceiver<Progress>) -> Vec<(&'static str, StepStatus)> {
    let mut found = Vec::new();
    while let Ok(event) = events.try_recv() {
        if let Progress::Step { step, status, .. } = event {
            found.push((step, status));
        }
    }
    found
}

/// A journal row of a step: its name, status and detail.
type StepRow = (String, String, String);

/// The toy's runs, oldest first: each run's status and its steps' rows.
fn journal(server: &LocalServer) -> Vec<(String, Vec<StepRow>)> {
    server
        .read(|conn| {
            let mut runs = conn.prepare("SELECT id, status FROM operations ORDER BY rowid")?;
            let runs: Vec<(String, String)> = runs
                .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            let mut steps = conn.prepare(
                "SELECT step, status, detail FROM operation_steps WHERE operation_id = ?1 ORDER BY step",
            )?;
            runs.into_iter()
                .map(|(id, status)| {
                    let rows = steps
                        .query_map([&id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?
                        .collect::<rusqlite::Result<_>>()?;
                    Ok((status, rows))
                })
                .collect()
        })
        .unwrap()
}

/// (step, status) of a run's journal rows.
fn step_statuses(steps: &[StepRow]) -> Vec<(&str, &str)> {
    steps
        .iter()
        .map(|(step, status, _)| (step.as_str(), status.as_str()))
        .collect()
}

#[tokio::test]
async fn a_failure_is_recorded_against_its_step_and_the_rerun_resumes_after_the_one_that_finished()
{
    let (_dir, mut server) = server();
    let failing = Toy::new(Second::Fails);
    let (result, _) = perform_toy(&mut server, &failing).await;
    assert!(
        matches!(result, Err(EngineError::InjectedFault("two"))),
        "{result:?}"
    );
    assert_eq!(
        *failing.ran.lock().unwrap(),
        [("one", false), ("two", false)],
        "both steps ran with sync cycles off"
    );
    assert!(server.scheduler().unwrap().sync_cycle_enabled, "restored");
    let runs = journal(&server);
    assert_eq!(runs.len(), 1);
    let (status, steps) = &runs[0];
    assert_eq!(status, journal::FAILED);
    assert_eq!(
        step_statuses(steps),
        [
            ("disable-scheduler", journal::SUCCEEDED),
            ("one", journal::SUCCEEDED),
            ("two", journal::FAILED),
        ]
    );
    assert!(
        steps[2].2.contains("test fault after step two"),
        "{steps:?}"
    );

    // The plan now says what the earlier run completed.
    let rerun = Toy::new(Second::Runs);
    let plan = plan_of(&rerun, &server, &entra().target()).unwrap();
    let done: Vec<bool> = plan.iter().map(|step| step.done_earlier).collect();
    // The last step, putting the scheduler back, is taken anew every run.
    assert_eq!(done, [false, true, false, false]);
    assert_eq!(plan.last().map(|step| step.name), Some("restore-scheduler"));

    let (result, progress) = perform_toy(&mut server, &rerun).await;
    assert_eq!(
        result.unwrap(),
        42,
        "the second step read the first's value"
    );
    assert_eq!(rerun.ran(), ["two"], "the first step is not repeated");
    assert!(
        progress.contains(&("one", StepStatus::AlreadyDone)),
        "{progress:?}"
    );
    assert!(server.scheduler().unwrap().sync_cycle_enabled, "restored");
    // The scheduler's return is reported as the plan's last step, last.
    assert_eq!(
        progress.last(),
        Some(&(
            "restore-scheduler",
            StepStatus::Done {
                detail: "SyncCycleEnabled is true again".into()
            }
        )),
        "{progress:?}"
    );
    let runs = journal(&server);
    assert_eq!(runs.len(), 1, "the rerun resumed the same run");
    assert_eq!(runs[0].0, journal::SUCCEEDED);
    assert_eq!(
        step_statuses(&runs[0].1),
        [
            ("disable-scheduler", journal::SUCCEEDED),
            ("one", journal::SUCCEEDED),
            ("two", journal::SUCCEEDED),
        ]
    );
}

#[tokio::test]
async fn a_planned_step_that_neither_ran_nor_was_skipped_fails_the_run_naming_it() {
    let (_dir, mut server) = server();
    let (result, _) = perform_toy(&mut server, &Toy::new(Second::LeftOut)).await;
    let error = result.unwrap_err();
    assert!(
        matches!(error, EngineError::StepUnaccounted("Second toy step")),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"Second toy step\""), "{error}");
    assert_eq!(journal(&server)[0].0, journal::FAILED);
    assert!(server.scheduler().unwrap().sync_cycle_enabled, "restored");
}

#[tokio::test]
async fn a_skipped_step_says_why_and_the_run_succeeds() {
    let (_dir, mut server) = server();
    let toy = Toy::new(Second::Skipped);
    let (result, progress) = perform_toy(&mut server, &toy).await;
    assert_eq!(result.unwrap(), 41);
    assert_eq!(toy.ran(), ["one"]);
    let skip = Skip::NotNeeded {
        because: "the first step settled it".into(),
    };
    assert!(
        progress.contains(&("two", StepStatus::Skipped(skip.clone()))),
        "{progress:?}"
    );
    let line = Progress::Step {
        operation: String::new(),
        step: TWO.id.name,
        title: TWO.id.title,
        status: StepStatus::Skipped(skip),
    }
    .line();
    assert_eq!(
        line,
        "[skip] Second toy step: not needed: the first step settled it"
    );
    let runs = journal(&server);
    assert_eq!(runs[0].0, journal::SUCCEEDED);
    assert!(
        !runs[0].1.iter().any(|(step, ..)| step == "two"),
        "a skipped step journals nothing: {runs:?}"
    );
}

#[tokio::test]
async fn a_journal_entry_that_cannot_be_read_fails_the_run_naming_its_step() {
    let (_dir, mut server) = server();
    let (result, _) = perform_toy(&mut server, &Toy::new(Second::Fails)).await;
    assert!(result.is_err());
    server
        .db
        .write(|tx| {
            tx.execute(
                "UPDATE operation_steps SET detail = 'not json' WHERE step = 'one'",
                [],
            )
            .map(drop)
        })
        .unwrap();

    let rerun = Toy::new(Second::Runs);
    let earlier = Journaled::earlier(&server, Toy::KIND, &rerun).unwrap();
    let error = earlier.value(ONE).unwrap_err();
    assert!(
        matches!(
            error,
            EngineError::JournalUnreadable {
                step: "First toy step",
                ..
            }
        ),
        "{error:?}"
    );

    let (result, _) = perform_toy(&mut server, &rerun).await;
    let error = result.unwrap_err();
    assert!(
        matches!(
            error,
            EngineError::JournalUnreadable {
                step: "First toy step",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("\"First toy step\""), "{error}");
    assert!(
        rerun.ran().is_empty(),
        "nothing ran after the unreadable entry"
    );
    assert_eq!(journal(&server)[0].0, journal::FAILED);
    assert!(server.scheduler().unwrap().sync_cycle_enabled, "restored");
}

#[tokio::test]
async fn a_step_outside_the_plan_is_refused() {
    let (_dir, mut server) = server();
    let (progress, _events) = unbounded_channel();
    let mut run = Run::start(
        &mut server,
        "toy",
        &"inputs",
        &[ONE.plan(Change::CreateServicePrincipal)],
        progress,
    )
    .unwrap();
    let refused = run
        .step(&mut server, TWO, async |_| Ok(Done::new(1, "")))
        .await;
    assert!(
        matches!(refused, Err(EngineError::Unplanned("Second toy step"))),
        "{refused:?}"
    );
    let skipped = run.skip(TWO.id, Skip::NotWaitedFor);
    assert!(
        matches!(skipped, Err(EngineError::Unplanned("Second toy step"))),
        "{skipped:?}"
    );
}

/// A change started on a server where an earlier, interrupted one left
/// sync cycles off puts back the administrator's setting that the earlier
/// one recorded, not the "off" it found.
#[tokio::test]
async fn the_guard_restores_what_an_interrupted_change_recorded() {
    let (_dir, mut server) = server();
    let saved = scheduler_guard::SchedulerSaved {
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
    let plan = [SCHEDULER_OFF.plan(Change::SchedulerOff {
        sync_cycle_enabled: true,
    })];
    let (progress, _events) = unbounded_channel();
    let mut run = Run::start(&mut server, "remove-key", &"inputs", &plan, progress).unwrap();
    run.disable_scheduler(&mut server).await.unwrap();
    assert!(!server.scheduler().unwrap().sync_cycle_enabled);
    run.conclude(&mut server, Ok(())).unwrap();
    assert!(server.scheduler().unwrap().sync_cycle_enabled);
}
