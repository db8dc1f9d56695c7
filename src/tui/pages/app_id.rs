//! Application id (BYOA): the existing application's client id, a GUID.

use super::Transition;
use crate::domain::{AppId, Input};
use crate::tui::model::{Shared, WizardData};
use crate::tui::widgets::{TextInput, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    input: TextInput,
    error: Option<String>,
}

impl State {
    pub fn new(data: &WizardData) -> State {
        State {
            input: TextInput::of(data.app_id.as_ref()).holding(Input::ApplicationAppId),
            error: None,
        }
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        if key.code == KeyCode::Enter {
            match self.input.value.parse::<AppId>() {
                Ok(id) => {
                    data.app_id = Some(id);
                    return Transition::Next;
                }
                Err(why) => self.error = Some(format!("{why}.")),
            }
        } else if self.input.handle(key) {
            self.error = None;
        }
        Transition::Stay
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines = vec![
            Line::raw("The application (client) id of your application, from its overview page."),
            Line::raw(
                "It must carry the certificate you chose and hold ADSynchronization.ReadWrite.All.",
            ),
            Line::raw(""),
            self.input.line("Application id", true, theme),
        ];
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        prose(frame, area, "Your application", lines, theme);
    }
}
