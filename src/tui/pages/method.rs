//! Method: Managed (recommended), Bring Your Own Certificate, or Bring Your Own Application.

use super::Transition;
use crate::domain::MethodAnswer;
use crate::tui::model::{Shared, WizardData};
use crate::tui::widgets::{choice_lines, move_choice, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    selected: usize,
}

const METHODS: [(MethodAnswer, &str, &str); 3] = [
    (
        MethodAnswer::Managed,
        "Managed by Entra Connect (recommended)",
        "a new certificate and application, both created and looked after here",
    ),
    (
        MethodAnswer::Byoc,
        "Bring Your Own Certificate",
        "your certificate from the key store; Entra Connect registers the application",
    ),
    (
        MethodAnswer::Byoa,
        "Bring Your Own Application",
        "your existing application and its certificate; nothing is created in Entra",
    ),
];

impl State {
    pub fn new(data: &WizardData) -> State {
        State {
            selected: METHODS
                .iter()
                .position(|(m, _, _)| *m == data.method)
                .unwrap_or(0),
        }
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        match key.code {
            KeyCode::Enter => {
                data.method = METHODS[self.selected].0;
                if data.method == MethodAnswer::Managed {
                    data.certificate = None;
                }
                Transition::Next
            }
            KeyCode::Char('q') => Transition::Quit,
            code => {
                if let Some(next) = move_choice(self.selected, METHODS.len(), code) {
                    self.selected = next;
                }
                Transition::Stay
            }
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let options: Vec<(&str, &str)> = METHODS
            .iter()
            .map(|(_, name, what)| (*name, *what))
            .collect();
        let mut lines = vec![
            Line::raw("How should the application and its certificate be provided?"),
            Line::raw(""),
        ];
        lines.extend(choice_lines(&options, self.selected, shared.theme));
        prose(frame, area, "Authentication method", lines, shared.theme);
    }
}
