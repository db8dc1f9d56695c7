//! Done: what was configured, and what to do next.

use super::Transition;
use crate::engine::Outcome;
use crate::tui::model::Shared;
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

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let (headline, app_id, certificate, tenant) = match &self.outcome {
            Outcome::Credential(credential) => (
                "The connector now signs in with application identity.",
                &credential.application_id,
                &credential.certificate_sha256,
                &credential.tenant_id,
            ),
            Outcome::Registered(registration) => (
                "This server's application is registered.",
                &registration.application.app_id,
                &registration.certificate.sha256,
                &registration.tenant_id,
            ),
        };
        let lines = vec![
            Line::styled(headline, theme.done()),
            Line::raw(""),
            Line::raw(format!("Application id          {app_id}")),
            Line::raw(format!("Certificate SHA-256     {certificate}")),
            Line::raw(format!("Tenant                  {tenant}")),
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
