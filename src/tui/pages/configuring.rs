//! Configuring: the engine's steps as a live checklist, with retries and the
//! elapsed time; on failure, the error, what was put back, and Retry / Back / Quit.

use super::Transition;
use super::sign_in::TICKS_PER_SECOND;
use crate::engine::onboard::Plan;
use crate::engine::progress::{Progress, StepStatus};
use crate::tui::app::{Command, Model, Outcome};
use crate::tui::widgets::{SPINNER, checklist_line, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    plan: Plan,
    /// (step, title, status) in the order the engine reported them.
    steps: Vec<(&'static str, &'static str, StepStatus)>,
    ticks: u32,
    result: Option<Result<Outcome, String>>,
}

impl State {
    pub fn new(plan: Plan) -> State {
        State {
            plan,
            steps: Vec::new(),
            ticks: 0,
            result: None,
        }
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

    pub fn tick(&mut self) {
        self.ticks += 1;
    }

    pub fn progress(&mut self, progress: Progress) {
        if let Progress::Step {
            step,
            title,
            status,
            ..
        } = progress
        {
            match self.steps.iter_mut().find(|(name, _, _)| *name == step) {
                Some(entry) => entry.2 = status,
                None => self.steps.push((step, title, status)),
            }
        }
    }

    pub fn finished(&mut self, result: Result<Outcome, String>) -> Transition {
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
                Transition::Run(Command::Run(plan))
            }
            KeyCode::Char('b') => Transition::Back,
            KeyCode::Char('q') => Transition::Quit,
            _ => Transition::Stay,
        }
    }

    pub fn view(&self, model: &Model, frame: &mut Frame, area: Rect) {
        let theme = &model.theme;
        let spinner = SPINNER[(self.ticks as usize) % SPINNER.len()];
        let seconds = self.ticks / TICKS_PER_SECOND;
        let mut lines = vec![
            Line::styled(
                format!("Elapsed {}:{:02}", seconds / 60, seconds % 60),
                theme.muted(),
            ),
            Line::raw(""),
        ];
        for (_, title, status) in &self.steps {
            lines.extend(checklist_line(title, status, spinner, theme));
        }
        if let Some(Err(why)) = &self.result {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!("Stopped: {why}"), theme.error()));
            lines.push(Line::raw(
                "Sync cycles are back as they were; a retry continues where it stopped.",
            ));
        }
        prose(frame, area, "Configuring", lines, theme);
    }
}
