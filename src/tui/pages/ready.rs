//! Ready: every change, listed before it is made. Enter confirms exactly
//! this plan; `s` saves the answers for an unattended rerun.

use super::Transition;
use crate::engine::onboard::Plan;
use crate::tui::app::{Command, Model, WizardData, answers};
use crate::tui::widgets::{FileNameKey, TextInput, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Default)]
pub struct State {
    plan: Option<Result<Plan, String>>,
    saving: Option<TextInput>,
}

pub const DEFAULT_ANSWERS_FILE: &str = "entra-connect-answers.toml";

impl State {
    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()?.as_ref().ok()
    }

    pub fn saving(&self) -> bool {
        self.saving.is_some()
    }

    pub fn planned(&mut self, plan: Result<Plan, String>) {
        self.plan = Some(plan);
    }

    pub fn on_key(&mut self, key: KeyEvent, data: &WizardData) -> Transition {
        if let Some(input) = &mut self.saving {
            match input.file_name_key(key) {
                FileNameKey::Editing => {}
                FileNameKey::Cancelled => self.saving = None,
                FileNameKey::Chosen(path) => {
                    self.saving = None;
                    return Transition::Run(Command::SaveAnswers(path, Box::new(answers(data))));
                }
            }
            return Transition::Stay;
        }
        match key.code {
            KeyCode::Enter => match self.plan() {
                Some(plan) => Transition::Run(Command::Run(plan.clone())),
                None => Transition::Stay,
            },
            KeyCode::Char('s') => {
                self.saving = Some(TextInput::new(DEFAULT_ANSWERS_FILE));
                Transition::Stay
            }
            _ => Transition::Stay,
        }
    }

    pub fn view(&self, model: &Model, frame: &mut Frame, area: Rect) {
        let theme = &model.theme;
        let mut lines = Vec::new();
        match &self.plan {
            None => lines.push(Line::styled("Working out the changes…", theme.muted())),
            Some(Err(why)) => {
                lines.push(Line::styled("These changes cannot be made:", theme.error()));
                lines.push(Line::styled(why.clone(), theme.error()));
                lines.push(Line::raw(""));
                lines.push(Line::raw("Press Esc to go back and change your choices."));
            }
            Some(Ok(plan)) => {
                lines.push(Line::raw(
                    "Nothing has changed yet. Enter makes these changes, in this order:",
                ));
                lines.push(Line::raw(""));
                for (index, change) in plan.changes.iter().enumerate() {
                    lines.push(Line::raw(format!(" {}. {change}", index + 1)));
                }
            }
        }
        if let Some(input) = &self.saving {
            lines.push(Line::raw(""));
            lines.push(input.line("Save answers to", true, theme));
            lines.push(Line::styled(
                "  (the password is never saved)",
                theme.muted(),
            ));
        }
        prose(frame, area, "Ready to configure", lines, theme);
    }
}
