//! Typed steps and the plan made from them: what the Ready page and
//! `--dry-run` show, and what the runner holds a run to.

use serde::Serialize;
use std::marker::PhantomData;

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
