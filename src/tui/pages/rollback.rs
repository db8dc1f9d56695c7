//! Roll back to a service account (Add-ADSyncAADServiceAccount): what the
//! rollback changes and what it keeps, the administrator who creates a new
//! account should the retained one no longer sign in, and whether to wait
//! for such a new account to work.

use super::Transition;
use crate::domain::Input;
use crate::engine::OperationRequest;
use crate::engine::service_account::{NEW_ACCOUNT_WAIT, RollBack};
use crate::tui::model::{Shared, WizardData};
use crate::tui::widgets::{TextInput, checkbox_line, prose};
use crate::tui::words;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    admin: TextInput,
    /// Wait for a new account to sign in before switching to it.
    wait: bool,
    /// The wait option has the focus rather than the administrator.
    wait_focused: bool,
    error: Option<String>,
}

impl State {
    /// The page with the administrator entered so far and `wait` as chosen.
    pub fn new(data: &WizardData, wait: bool) -> State {
        State {
            admin: TextInput::of(data.upn.as_ref()).holding(Input::Upn),
            wait,
            wait_focused: false,
            error: None,
        }
    }

    /// The rollback chosen on this page.
    pub fn request(&self) -> OperationRequest {
        OperationRequest::RollBack(RollBack { wait: self.wait })
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        match key.code {
            KeyCode::Tab | KeyCode::BackTab => self.wait_focused = !self.wait_focused,
            KeyCode::Char(' ') if self.wait_focused => self.wait = !self.wait,
            KeyCode::Enter => match self.admin.administrator() {
                Ok(admin) => {
                    data.upn = admin;
                    return Transition::Next;
                }
                Err(why) => {
                    self.error = Some(why);
                    self.wait_focused = false;
                }
            },
            _ => {
                if !self.wait_focused && self.admin.handle(key) {
                    self.error = None;
                }
            }
        }
        Transition::Stay
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let report = shared.context.configuration.as_ref();
        let application = report
            .and_then(|report| report.application_id.as_deref())
            .unwrap_or("-");
        let minutes = NEW_ACCOUNT_WAIT.as_secs() / 60;
        let mut lines = vec![
            Line::raw(format!(
                "The connector signs in as application {application}. Rolling back switches it to a directory synchronization account that signs in with a password again; the application stays in place, so moving to it again reuses it."
            )),
            Line::raw(""),
            Line::raw(
                match report.and_then(|report| report.rollback_service_account.as_deref()) {
                    Some(upn) => format!(
                        "First choice: {upn}, kept when this server moved to the application. If its stored password still signs in, nothing changes in the directory."
                    ),
                    None => {
                        "This server kept no service account, so a new one is created.".to_string()
                    }
                },
            ),
            Line::raw(""),
            Line::raw(format!(
                "A new account is created by a Global Administrator, or a User Administrator who is also Privileged Role Administrator (not a Hybrid Identity Administrator), signing in with {}; it can take up to {minutes} minutes to work.",
                words::signing_in_with(shared.data.sign_in)
            )),
            self.admin.line("Administrator", !self.wait_focused, theme),
            Line::raw(""),
            checkbox_line(
                &format!("Wait for a new account to sign in (up to {minutes} minutes)"),
                self.wait,
                self.wait_focused,
                theme,
            ),
            Line::styled(
                "       otherwise the connector may fail to sign in until it works",
                theme.muted(),
            ),
        ];
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        prose(frame, area, "Roll back to a service account", lines, theme);
    }
}
