//! Configuring: the plan's steps as a live checklist (the engine's own steps,
//! updated by its progress), with retries and the elapsed time; on failure,
//! the error, what was put back, and Retry / Back / Quit.

use super::Transition;
use super::sign_in::TICKS_PER_SECOND;
use crate::engine::progress::{Progress, StepStatus};
use crate::engine::{Outcome, Plan, PlannedStep};
use crate::tui::model::{Failure, Shared, Task};
use crate::tui::widgets::{SPINNER, Scroll, checklist_line, scrolled_prose, text_lines};
use crate::tui::words::failure;
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
    /// What an administrator's device-code sign-in asks, while it waits.
    sign_in_code: Option<String>,
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
            sign_in_code: None,
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
        match progress {
            Progress::SignInCode { .. } | Progress::SignInBrowser { .. } => {
                self.sign_in_code = Some(progress.line())
            }
            Progress::WaitingForChange { .. } => self.waiting_for = Some(progress.line()),
            Progress::Step { step, status, .. } => {
                // Steps run once the change waited for is over.
                self.waiting_for = None;
                // The code is used once the sign-in step is over.
                if !matches!(status, StepStatus::Running | StepStatus::Retrying { .. }) {
                    self.sign_in_code = None;
                }
                if let Some(index) = self.plan.steps.iter().position(|s| s.name == step) {
                    self.statuses[index] = Some(status);
                }
            }
        }
    }

    pub fn finished(&mut self, result: Result<Outcome, Failure>) -> Transition {
        let ok = result.is_ok();
        self.result = Some(result);
        if ok {
            Transition::Next
        } else {
            Transition::Stay
        }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Transition {
        if !self.failed() {
            return Transition::Stay;
        }
        match key.code {
            KeyCode::Char('r') => {
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
        for (step, status) in self.plan.steps.iter().zip(&self.statuses) {
            lines.extend(checklist_line(step.title, status.as_ref(), spinner, theme));
        }
        for notice in [&self.waiting_for, &self.sign_in_code]
            .into_iter()
            .flatten()
        {
            lines.push(Line::raw(""));
            lines.push(Line::styled(notice.clone(), theme.current()));
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
                false => format!("Stopped. {}", failure(why)),
            };
            lines.extend(text_lines(&stopped, theme.error()));
            lines.push(Line::raw(
                "Sync cycles are back as they were; a retry continues where it stopped.",
            ));
        }
        // The latest lines matter most: what runs now, or why it stopped.
        scrolled_prose(frame, area, "Configuring", lines, theme, Scroll::Bottom);
    }
}
