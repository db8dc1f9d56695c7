//! Ready: the operation's plan, every step with what it changes, before
//! anything is changed. Enter confirms exactly this plan; `s` saves the
//! answers for an unattended rerun.

use super::Transition;
use crate::domain::Method;
use crate::engine::rotate::{NewCertificate, Rotate};
use crate::engine::{EngineError, OperationRequest, Plan};
use crate::plan_words;
use crate::tui::model::{Command, Failure, Shared, Task, WizardData};
use crate::tui::widgets::{
    FileNameKey, Scroll, TextInput, plan_lines, scrolled, scrolled_prose, text_lines,
};
use crate::tui::words::failure;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct State {
    /// The operation to plan; none when the choices do not describe one.
    request: Option<OperationRequest>,
    plan: Option<Result<Plan, Failure>>,
    saving: Option<TextInput>,
    /// Lines scrolled down, when the plan is taller than the page.
    scroll: u16,
}

pub const DEFAULT_ANSWERS_FILE: &str = "entra-connect-answers.toml";

impl State {
    /// Ready for `request`; its plan is asked for on entering the page.
    pub fn new(request: Result<OperationRequest, EngineError>) -> State {
        let (request, plan) = match request {
            Ok(request) => (Some(request), None),
            Err(error) => (None, Some(Err(Arc::new(error)))),
        };
        State {
            request,
            plan,
            saving: None,
            scroll: 0,
        }
    }

    /// The command that works out the plan, until it is known.
    pub fn ask_for_plan(&self) -> Option<Command> {
        match self.plan {
            None => self.request.clone().map(Command::Plan),
            Some(_) => None,
        }
    }

    pub fn request(&self) -> Option<&OperationRequest> {
        self.request.as_ref()
    }

    /// For a certificate of the administrator's own (BYOC, BYOA, or one
    /// brought to a rotation): this tool never rotates it, so its renewal,
    /// and by when, is said before the change.
    fn renewal(&self, shared: &Shared) -> Option<String> {
        let hash = match self.request.as_ref()? {
            OperationRequest::Onboard(onboard) => match &onboard.method {
                Method::Byoc(hash)
                | Method::Byoa {
                    certificate: hash, ..
                } => hash,
                Method::Managed => return None,
            },
            OperationRequest::Rotate(Rotate {
                certificate: NewCertificate::Existing(hash),
            }) => hash,
            _ => return None,
        };
        let expires = shared
            .context
            .certificates
            .iter()
            .find(|stored| &stored.info.sha256 == hash)
            .map_or_else(String::new, |stored| {
                format!(" and expires on {}", stored.info.not_after.date())
            });
        Some(format!(
            "No automatic rotation: this certificate is yours{expires}. Renewing it is your job: bring the new one before then with Rotate application certificate."
        ))
    }

    /// Onboarding, the one operation an answers file can repeat.
    pub fn onboarding(&self) -> bool {
        matches!(self.request, Some(OperationRequest::Onboard(_)))
    }

    pub fn plan(&self) -> Option<&Plan> {
        self.plan.as_ref()?.as_ref().ok()
    }

    pub fn saving(&self) -> bool {
        self.saving.is_some()
    }

    pub fn planned(&mut self, plan: Result<Plan, Failure>) {
        self.plan = Some(plan);
    }

    pub fn on_key(&mut self, key: KeyEvent, data: &WizardData) -> Transition {
        if let Some(input) = &mut self.saving {
            match input.file_name_key(key) {
                FileNameKey::Editing => {}
                FileNameKey::Cancelled => self.saving = None,
                FileNameKey::Chosen(path) => {
                    self.saving = None;
                    if let Some(answers) = data.answers() {
                        return Transition::Do(Command::SaveAnswers(path, Box::new(answers)));
                    }
                }
            }
            return Transition::Stay;
        }
        match key.code {
            KeyCode::Enter => match self.plan() {
                Some(plan) => Transition::Start(Task::Run(plan.clone())),
                None => Transition::Stay,
            },
            KeyCode::Char('s') if self.onboarding() => {
                self.saving = Some(TextInput::new(DEFAULT_ANSWERS_FILE));
                Transition::Stay
            }
            code => {
                // The view stops at the end; this bound only keeps Up responsive.
                let most = self.plan().map_or(0, |plan| plan.steps.len() * 3);
                self.scroll = scrolled(self.scroll, code, u16::try_from(most).unwrap_or(0));
                Transition::Stay
            }
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines = Vec::new();
        match &self.plan {
            None => lines.push(Line::styled("Working out the changes…", theme.muted())),
            Some(Err(why)) => {
                lines.push(Line::styled("These changes cannot be made:", theme.error()));
                lines.extend(text_lines(&failure(why), theme.error()));
                lines.push(Line::raw(""));
                lines.push(Line::raw("Press Esc to go back and change your choices."));
            }
            Some(Ok(plan)) => {
                let intro = plan_words::intro(&plan.steps, plan_words::Shown::Ready);
                lines.push(Line::raw(intro));
                lines.push(Line::raw(""));
                lines.extend(plan_lines(&plan.steps, theme));
                if let Some(renewal) = self.renewal(shared) {
                    lines.push(Line::raw(""));
                    lines.push(Line::styled(renewal, theme.warning()));
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
        let title = match self.request {
            Some(OperationRequest::Rotate(_)) => "Ready to rotate the certificate",
            Some(OperationRequest::RemoveKey(_)) => "Ready to remove the key",
            Some(OperationRequest::RollBack(_)) => "Ready to roll back",
            Some(OperationRequest::RemoveServiceAccount(_)) => "Ready to remove the account",
            Some(OperationRequest::Revoke(_)) => "Ready to revoke",
            _ => "Ready to configure",
        };
        // The file name being typed goes below the plan: keep it in view.
        let scroll = match self.saving {
            Some(_) => Scroll::Bottom,
            None => Scroll::Top(self.scroll),
        };
        scrolled_prose(frame, area, title, lines, theme, scroll);
    }
}
