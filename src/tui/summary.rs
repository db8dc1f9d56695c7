//! What the wizard prints on the normal screen once it has closed: what
//! changed, what was put back, and what to run next. The pages are gone
//! by then, so this is what stays in the terminal's scrollback.

use super::app::Model;
use super::model::Failure;
use super::pages::{Page, done};
use crate::engine::progress::StepStatus;
use crate::engine::{Change, EngineError, OperationRequest, Outcome};

/// The summary, one line each. `last` is how the change that was running
/// when the wizard closed ended: cancelled (the scheduler put back), the
/// error that kept the scheduler from being put back, or, when it finished
/// before the cancel reached it, its outcome.
pub fn exit_summary(model: &Model, last: Option<&Result<Outcome, Failure>>) -> Vec<String> {
    let mut lines = Vec::new();
    let finished_last = last.and_then(|result| result.as_ref().ok());
    for outcome in model.finished.iter().chain(finished_last) {
        let (headline, rows) = done::described(outcome, &model.context.certificates);
        lines.push(format!("entra-connect: {headline}"));
        lines.extend(
            rows.into_iter()
                .map(|(name, value)| format!("  {name}: {value}")),
        );
    }
    if let Page::Configuring(state) = &model.page
        && state.outcome().is_none()
        && finished_last.is_none()
    {
        let operation = operation(&state.plan().request);
        let steps: Vec<_> = state.steps().collect();
        let stopped_at = steps
            .iter()
            .position(|(_, status)| {
                !completed(*status) && !matches!(status, Some(StepStatus::Skipped(_)))
            })
            .unwrap_or(steps.len().saturating_sub(1));
        let at = steps.get(stopped_at).map_or_else(String::new, |(step, _)| {
            format!(
                " at step {} of {} ({})",
                stopped_at + 1,
                steps.len(),
                step.title
            )
        });
        let why = match state.failure() {
            Some(failure) => format!("failed{at}: {}", super::words::failure(failure)),
            None => format!("cancelled{at}"),
        };
        lines.push(format!("entra-connect: {operation} {why}."));
        let scheduler_was_off = steps.iter().any(|(step, status)| {
            matches!(step.change, Change::SchedulerOff { .. }) && completed(*status)
        });
        match last {
            Some(Err(error)) if !matches!(error.as_ref(), EngineError::Cancelled) => {
                lines.push(format!(
                    "  The scheduler could NOT be put back: {}",
                    super::words::failure(error)
                ))
            }
            _ if scheduler_was_off => lines.push(
                "  The scheduler was put back as it was (SyncCycleEnabled restored).".to_string(),
            ),
            _ => {}
        }
        let done: Vec<&str> = steps
            .iter()
            .filter(|(step, status)| {
                step.changes
                    && !matches!(
                        step.change,
                        Change::SchedulerOff { .. } | Change::SchedulerBack { .. }
                    )
                    && completed(*status)
            })
            .map(|(step, _)| step.title)
            .collect();
        match done.is_empty() {
            true => lines.push("  Nothing else was changed.".to_string()),
            false => lines.push(format!(
                "  Done before it stopped, and kept for the rerun: {}.",
                done.join("; ")
            )),
        }
        lines.push("  Run entra-connect wizard again to resume it.".to_string());
    }
    if lines.is_empty() {
        lines.push("entra-connect: nothing was changed.".to_string());
    }
    lines
}

/// Whether a step with `status` had done its work (in this run or an
/// earlier one).
fn completed(status: Option<&StepStatus>) -> bool {
    matches!(
        status,
        Some(StepStatus::Done { .. } | StepStatus::AlreadyDone)
    )
}

/// The operation, as a sentence names it.
fn operation(request: &OperationRequest) -> &'static str {
    match request {
        OperationRequest::Onboard(_) => "The switch to application identity",
        OperationRequest::Register(_) => "The application's registration",
        OperationRequest::Link(_) => "The link to the application",
        OperationRequest::Rotate(_) => "The certificate's rotation",
        OperationRequest::RemoveKey(_) => "The key's removal",
        OperationRequest::UseServiceAccount(_) => "Recording the service account",
        OperationRequest::RollBack(_) => "The rollback",
        OperationRequest::RemoveServiceAccount(_) => "The account's removal",
        OperationRequest::Repair(_) => "The credential's repair",
        OperationRequest::Revoke(_) => "The revocation",
    }
}
