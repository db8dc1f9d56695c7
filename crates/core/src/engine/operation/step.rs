//! Typed steps and the plan made from them: what the Ready page and
//! `--dry-run` show (the binary words them), and what the runner holds a
//! run to.

use super::change::Change;
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
    pub fn plan(&self, change: Change) -> PlannedStep {
        self.id.planned(change, true)
    }

    /// This step in a plan when it only looks something up: it changes
    /// nothing, and journals what it found for the steps after it.
    pub fn plan_lookup(&self, looks_at: Change) -> PlannedStep {
        self.id.planned(looks_at, false)
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

    pub fn plan(&self, looks_at: Change) -> PlannedStep {
        self.id.planned(looks_at, false)
    }
}

impl StepId {
    /// A plan line for a step that is no [`Step`] or [`Check`] of an
    /// operation: a local change run as one step.
    pub fn planned(self, change: Change, changes: bool) -> PlannedStep {
        PlannedStep {
            name: self.name,
            title: self.title,
            change,
            changes,
            only_if: None,
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
    pub change: Change,
    /// False for checks: the step changes nothing.
    pub changes: bool,
    /// When the step does anything only in some case.
    pub only_if: Option<Condition>,
    /// Completed by an earlier run of the same change that stopped part way:
    /// running the plan resumes that run and does not repeat this step.
    pub done_earlier: bool,
}

impl PlannedStep {
    pub fn only_if(self, condition: Condition) -> PlannedStep {
        PlannedStep {
            only_if: Some(condition),
            ..self
        }
    }
}

/// The case in which a step does anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Condition {
    /// A rollback whose retained account no longer signs in.
    NewAccountNeeded,
}

/// Who an operation acts for and where: shown in its plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub tenant: String,
    pub admin_upn: String,
}
