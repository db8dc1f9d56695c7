//! Configuring: the plan's steps as a live checklist (the engine's own steps,
//! updated by its progress), with retries and the elapsed time; on failure,
//! the error, what was put back, and Retry / Back / Quit.

use super::Transition;
use super::sign_in::TICKS_PER_SECOND;
use crate::engine::progress::{Progress, StepStatus};
use crate::engine::{OperationRequest, Outcome, Plan, PlannedStep};
use crate::tui::model::{Failure, Shared, Task, WizardData};
use crate::tui::widgets::{
    SPINNER, Scroll, TaskSignIn, checklist_line, scrolled_prose, text_lines,
};
use crate::tui::words::{Asked, failure_asked};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    plan: Plan,
    /// The last status of each planned step, in the plan's order.
    statuses: Vec<Option<StepStatus>>,
    ticks: u32,
    /// What an administrator's sign-in asks, while it waits.
    sign_in: Option<TaskSignIn>,
    /// The change already running on this server that this run waits for.
    waiting_for: Option<String>,
    result: Option<Result<Outcome, Failure>>,
}

impl State {
    pub fn new(plan: Plan) -> State {
        State {
            statuses: vec![None; plan.steps.len()],
            plan,
            ticks: 0,
            sign_in: None,
            waiting_for: None,
            result: None,
        }
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    pub fn running(&self) -> bool {
        self.result.is_none()
    }

    /// Whether an administrator's sign-in waits for the browser, with the
    /// field for the address it ends on.
    pub fn waiting_for_browser(&self) -> bool {
        self.running() && TaskSignIn::browser(self.sign_in.as_ref())
    }

    /// Where the run's sign-in was asked for: a task's own page signs in
    /// with the session's method as the run starts, and r retries it; the
    /// onboarding and the revocation signed in on the Sign in page.
    fn asked(&self) -> Asked {
        match self.plan.request {
            OperationRequest::Rotate(_)
            | OperationRequest::RemoveKey(_)
            | OperationRequest::RollBack(_)
            | OperationRequest::RemoveServiceAccount(_) => Asked::Retry,
            _ => Asked::OnSignIn,
        }
    }

    pub fn failed(&self) -> bool {
        matches!(self.result, Some(Err(_)))
    }

    pub fn outcome(&self) -> Option<&Outcome> {
        self.result.as_ref()?.as_ref().ok()
    }

    /// Why the run failed, once it has.
    pub fn failure(&self) -> Option<&Failure> {
        self.result.as_ref()?.as_ref().err()
    }

    /// Each planned step with its last status (`None`: not started).
    pub fn steps(&self) -> impl Iterator<Item = (&PlannedStep, Option<&StepStatus>)> {
        self.plan
            .steps
            .iter()
            .zip(self.statuses.iter().map(Option::as_ref))
    }

    pub fn tick(&mut self) {
        self.ticks += 1;
    }

    pub fn progress(&mut self, progress: Progress) {
        TaskSignIn::follow(&mut self.sign_in, &progress);
        match progress {
            Progress::SignInCode { .. } | Progress::SignInBrowser { .. } => {}
            Progress::WaitingForChange { .. } => self.waiting_for = Some(progress.line()),
            Progress::Step { step, status, .. } => {
                // Steps run once the change waited for is over.
                self.waiting_for = None;
                if let Some(index) = self.plan.steps.iter().position(|s| s.name == step) {
                    self.statuses[index] = Some(status);
                }
            }
        }
    }

    pub fn finished(&mut self, result: Result<Outcome, Failure>) -> Transition {
        let ok = result.is_ok();
        self.result = Some(result);
        self.sign_in = None;
        if ok {
            Transition::Next
        } else {
            Transition::Stay
        }
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        if self.running() {
            return (self.sign_in.as_mut())
                .and_then(|sign_in| sign_in.on_key(key))
                .map_or(Transition::Stay, Transition::Do);
        }
        if !self.failed() {
            return Transition::Stay;
        }
        match key.code {
            KeyCode::Char('r') => {
                // Refused for the method (the device code blocked): the one the refusal names.
                if self.asked() == Asked::Retry
                    && let Some(why) = self.failure()
                    && let Some(method) = super::method_past(&why.remedies(), data.sign_in, false)
                {
                    data.sign_in = method;
                }
                let plan = self.plan.clone();
                *self = State::new(plan.clone());
                Transition::Start(Task::Run(plan))
            }
            KeyCode::Char('b') => Transition::Back,
            KeyCode::Char('q') => Transition::Quit,
            _ => Transition::Stay,
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let spinner = SPINNER[(self.ticks as usize) % SPINNER.len()];
        let seconds = self.ticks / TICKS_PER_SECOND;
        let mut lines = vec![
            Line::styled(
                format!("Elapsed {}:{:02}", seconds / 60, seconds % 60),
                theme.muted(),
            ),
            Line::raw(""),
        ];
        let asked = self.asked();
        for (step, status) in self.plan.steps.iter().zip(&self.statuses) {
            lines.extend(checklist_line(
                step.title,
                status.as_ref(),
                spinner,
                asked,
                theme,
            ));
        }
        if let Some(notice) = &self.waiting_for {
            lines.push(Line::raw(""));
            lines.push(Line::styled(notice.clone(), theme.current()));
        }
        // The latest lines matter most: what runs now, or why it stopped;
        // while the browser waits, its field and status stay in view.
        let mut scroll = Scroll::Bottom;
        if let Some(sign_in) = &self.sign_in {
            let upn = shared.data.upn.as_ref().map(ToString::to_string);
            let (prompt, shown) = sign_in.lines(
                upn.as_deref().unwrap_or("the administrator"),
                spinner,
                theme,
            );
            if self.waiting_for_browser() {
                scroll = Scroll::Showing(lines.len() + shown);
            }
            lines.extend(prompt);
        }
        if let Some(Err(why)) = &self.result {
            lines.push(Line::raw(""));
            // A failed step shows its error above; otherwise say what stopped the run.
            let failed_step = self
                .statuses
                .iter()
                .any(|s| matches!(s, Some(StepStatus::Failed { .. })));
            let stopped = match failed_step {
                true => "Stopped at the step marked ✗.".to_string(),
                false => format!("Stopped. {}", failure_asked(why, asked)),
            };
            lines.extend(text_lines(&stopped, theme.error()));
            lines.push(Line::raw(
                "Sync cycles are back as they were; a retry continues where it stopped.",
            ));
        }
        scrolled_prose(frame, area, "Configuring", lines, theme, scroll);
    }
}
