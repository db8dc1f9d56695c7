//! Application id (BYOA): the existing application's client id, a GUID.

use super::Transition;
use crate::tui::app::{Model, WizardData};
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
            input: TextInput::new(&data.app_id),
            error: None,
        }
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        if key.code == KeyCode::Enter {
            let value = self.input.value.trim();
            match uuid::Uuid::parse_str(value) {
                Ok(id) => {
                    data.app_id = id.hyphenated().to_string();
                    return Transition::Next;
                }
                Err(_) => {
                    self.error = Some(format!(
                        "{value:?} is not an application id: expected a GUID such as 11111111-2222-3333-4444-555555555555."
                    ));
                }
            }
        } else if self.input.handle(key) {
            self.error = None;
        }
        Transition::Stay
    }

    pub fn view(&self, model: &Model, frame: &mut Frame, area: Rect) {
        let theme = &model.theme;
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
