//! The machinery every operation shares, written once: typed steps and the
//! plan made from them, what an earlier run journaled ([`Journaled`]), the
//! runner ([`Run`]) that journals each step so a rerun resumes and holds a run
//! to its plan, and the scheduler guard that keeps sync cycles off while the
//! credential changes and always puts them back.
//!
//! An operation (onboard, register, link, ...) implements the crate's
//! `Operation` trait: it works out its situation once, from its inputs, the
//! server's state and what an earlier run journaled; its plan lists its steps
//! from that situation, and its execution runs exactly those steps on a
//! [`Run`], reading the same situation, so the two cannot branch apart. Each
//! planned step runs, or says why it was skipped ([`Skip`]).

mod change;
mod journaled;
mod run;
mod scheduler_guard;
mod step;

pub use crate::engine::progress::Skip;
pub use change::{
    ApplicationLookup, CertificateSummary, Change, KeyWriter, Needs, PathReason, RemovalNeeds,
    Replicating,
};
pub use journaled::Journaled;
pub use run::{Done, Run};
pub use scheduler_guard::{
    InterruptedOperation, interrupted, plan_scheduler_off, recover_scheduler,
};
pub use step::{Check, Condition, PlannedStep, Step, StepId, Target};

use super::progress::ProgressSender;
use super::{EngineError, EntraRequest, LocalServer};
use scheduler_guard::SCHEDULER_OFF;
use serde::Serialize;

/// An operation: its inputs are the implementing value (journaled, so a rerun
/// with the same inputs resumes and one with other inputs starts afresh).
pub(crate) trait Operation: Serialize {
    /// The journal's name for this kind of operation.
    const KIND: &'static str;
    type Output;
    /// What the operation starts from, before anything changes: what both
    /// its plan and its execution read.
    type Situation;

    /// Works out the situation from the server's state and `earlier`, what
    /// an unfinished run with the same inputs journaled. Preconditions that
    /// can be checked locally are checked here, before anything changes.
    fn situation(
        &self,
        server: &LocalServer,
        target: &Target,
        earlier: &Journaled,
    ) -> Result<Self::Situation, EngineError>;

    /// Every step, in order, with what it will change.
    fn plan(
        &self,
        situation: &Self::Situation,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError>;

    /// Runs the planned steps on `run`: each runs, or is skipped with why.
    async fn execute(
        &self,
        situation: Self::Situation,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<Self::Output, EngineError>;
}

/// `operation`'s situation and plan as they stand, with the steps an earlier,
/// unfinished run with the same inputs completed marked: what running it now
/// will not repeat.
fn survey<O: Operation>(
    operation: &O,
    server: &LocalServer,
    target: &Target,
) -> Result<(O::Situation, Vec<PlannedStep>), EngineError> {
    let earlier = Journaled::earlier(server, O::KIND, operation)?;
    let situation = operation.situation(server, target, &earlier)?;
    let mut steps =
        scheduler_guard::with_scheduler_back(operation.plan(&situation, server, target)?);
    for step in &mut steps {
        // The scheduler guard applies anew on every run.
        step.done_earlier = step.name != SCHEDULER_OFF.id.name && earlier.completed(step.name);
    }
    Ok((situation, steps))
}

/// `operation`'s plan as it stands (see [`survey`]).
pub(crate) fn plan_of<O: Operation>(
    operation: &O,
    server: &LocalServer,
    target: &Target,
) -> Result<Vec<PlannedStep>, EngineError> {
    Ok(survey(operation, server, target)?.1)
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
    let (situation, current) = survey(operation, server, &entra.target())?;
    if current != confirmed {
        return Err(EngineError::PlanChanged);
    }
    recover_scheduler(server)?;
    let mut run = Run::start(server, O::KIND, operation, &current, progress)?;
    let result = operation.execute(situation, &mut run, server, entra).await;
    run.conclude(server, result)
}

#[cfg(test)]
mod tests;
