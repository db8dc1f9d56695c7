//! Done: what was configured, and what to do next.

use super::Transition;
use crate::tui::app::{Model, Outcome};
use crate::tui::widgets::prose;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    outcome: Outcome,
}

impl State {
    pub fn new(outcome: Outcome) -> State {
        State { outcome }
    }

    pub fn view(&self, model: &Model, frame: &mut Frame, area: Rect) {
        let theme = &model.theme;
        let lines = vec![
            Line::styled(
                "The connector now signs in with application identity.",
                theme.done(),
            ),
            Line::raw(""),
            Line::raw(format!("Application id          {}", self.outcome.app_id)),
            Line::raw(format!(
                "Certificate SHA-256     {}",
                self.outcome.certificate
            )),
            Line::raw(format!("Tenant                  {}", model.data.tenant)),
            Line::raw(""),
            Line::raw(
                "Recommended next step: once synchronization runs, remove the legacy directory",
            ),
            Line::raw("synchronization service account (Sync_<HOST>_…), which is no longer used."),
        ];
        prose(frame, area, "Done", lines, theme);
    }
}

pub fn on_key(key: KeyEvent) -> Transition {
    match key.code {
        KeyCode::Enter | KeyCode::Char('q') => Transition::Quit,
        _ => Transition::Stay,
    }
}
