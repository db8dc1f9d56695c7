//! Options: the password writeback permissions.

use super::Transition;
use crate::tui::model::{Shared, WizardData};
use crate::tui::widgets::{checkbox_line, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Default)]
pub struct State;

pub fn on_key(data: &mut WizardData, key: KeyEvent) -> Transition {
    match key.code {
        KeyCode::Char(' ') => {
            data.password_writeback = !data.password_writeback;
            Transition::Stay
        }
        KeyCode::Enter => Transition::Next,
        _ => Transition::Stay,
    }
}

pub fn view(shared: &Shared, frame: &mut Frame, area: Rect) {
    let theme = shared.theme;
    let lines = vec![
        checkbox_line(
            "Password writeback",
            shared.data.password_writeback,
            true,
            theme,
        ),
        Line::styled(
            "       also grant the Microsoft password reset service roles (when that service is in the tenant)",
            theme.muted(),
        ),
    ];
    prose(frame, area, "Options", lines, theme);
}
