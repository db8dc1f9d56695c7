//! What a run journaled: the steps it completed, each with the value it
//! produced, read back as the step's type. A value that no longer reads as
//! that type is an error naming the step, never taken for a step not done.

use super::step::{Step, StepId};
use crate::engine::{EngineError, LocalServer};
use crate::host::journal;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::HashMap;

/// The steps of one run that completed, each with what it journaled (JSON
/// text).
#[derive(Debug, Clone, Default)]
pub struct Journaled(HashMap<String, String>);

impl Journaled {
    /// What the last run of `kind` with these `inputs` that stopped before
    /// it finished journaled; nothing when there is none.
    pub(crate) fn earlier(
        server: &LocalServer,
        kind: &str,
        inputs: &impl Serialize,
    ) -> Result<Journaled, EngineError> {
        let inputs = inputs_json(inputs)?;
        let open = server.read(|conn| journal::open_run(conn, kind, Some(&inputs)))?;
        Ok(Journaled(open.map(|run| run.done).unwrap_or_default()))
    }

    pub(super) fn from_steps(done: HashMap<String, String>) -> Journaled {
        Journaled(done)
    }

    /// Whether the step named `name` completed.
    pub fn completed(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value `step` journaled, if it completed.
    pub fn value<T: DeserializeOwned>(&self, step: Step<T>) -> Result<Option<T>, EngineError> {
        self.0
            .get(step.id.name)
            .map(|json| {
                serde_json::from_str(json).map_err(|error| EngineError::JournalUnreadable {
                    step: step.id.title,
                    error,
                })
            })
            .transpose()
    }

    pub(super) fn record(&mut self, step: StepId, json: String) {
        self.0.insert(step.name.to_string(), json);
    }
}

/// An operation's inputs as the journal keeps them: a rerun with the same
/// ones resumes the run that stopped.
pub(super) fn inputs_json(inputs: &impl Serialize) -> Result<String, EngineError> {
    serde_json::to_string(inputs).map_err(EngineError::Journal)
}
