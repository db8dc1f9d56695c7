//! Remove an application key: the application's keys as the key audit sees
//! them (in use, added by this server, unknown), read by the application
//! itself; one that is not in use is chosen for removal.

use super::Transition;
use crate::engine::remove_key::RemoveKey;
use crate::engine::{ApplicationKey, KeyOrigin, OperationRequest};
use crate::tui::model::{Failure, Shared};
use crate::tui::widgets::{choice_lines, day, move_choice, prose, text_lines};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Default)]
pub struct State {
    /// None until the tenant answered.
    keys: Option<Result<Vec<ApplicationKey>, Failure>>,
    selected: usize,
    error: Option<String>,
}

impl State {
    pub fn listing(&self) -> bool {
        self.keys.is_none()
    }

    pub fn listed(&mut self, keys: Result<Vec<ApplicationKey>, Failure>) {
        // The first key that is not in use is the likely choice.
        if let Ok(keys) = &keys {
            self.selected = keys
                .iter()
                .position(|key| key.origin != KeyOrigin::InUse)
                .unwrap_or(0);
        }
        self.keys = Some(keys);
    }

    fn chosen(&self) -> Option<&ApplicationKey> {
        self.keys.as_ref()?.as_ref().ok()?.get(self.selected)
    }

    /// The removal chosen on this page.
    pub fn request(&self) -> Option<OperationRequest> {
        Some(OperationRequest::RemoveKey(RemoveKey {
            key_id: self.chosen()?.key_id.clone(),
        }))
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Transition {
        let count = match &self.keys {
            Some(Ok(keys)) => keys.len(),
            _ => 0,
        };
        match key.code {
            KeyCode::Enter => match self.chosen() {
                None => {}
                Some(chosen) if chosen.origin == KeyOrigin::InUse => {
                    self.error = Some(
                        "The connector signs in with this key: rotate first (Rotate application certificate), then remove the old key.".into(),
                    );
                }
                Some(_) => return Transition::Next,
            },
            KeyCode::Char('q') => return Transition::Quit,
            code => {
                if let Some(next) = move_choice(self.selected, count, code) {
                    self.selected = next;
                    self.error = None;
                }
            }
        }
        Transition::Stay
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines = Vec::new();
        match &self.keys {
            None => lines.push(Line::styled(
                "Reading the application's keys (as the application, with the certificate in use)…",
                theme.muted(),
            )),
            Some(Err(why)) => {
                lines.push(Line::styled(
                    "The application's keys could not be read:",
                    theme.error(),
                ));
                lines.extend(text_lines(&crate::tui::words::failure(why), theme.error()));
            }
            Some(Ok(keys)) => {
                lines.push(Line::raw(
                    "The application removes the key itself, with a proof signed by the key in use. A key this server did not add can sign in as this connector: remove it unless you know whose it is.",
                ));
                lines.push(Line::raw(""));
                let options: Vec<(String, String)> = keys
                    .iter()
                    .map(|key| {
                        (
                            key.key_id.clone(),
                            format!(
                                "{}; valid {} to {}; thumbprint {}",
                                key.origin.describe(),
                                day(key.start.as_deref()),
                                day(key.end.as_deref()),
                                key.thumbprint.as_deref().unwrap_or("-"),
                            ),
                        )
                    })
                    .collect();
                lines.extend(choice_lines(&options, self.selected, theme));
            }
        }
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        prose(frame, area, "Remove an application key", lines, theme);
    }
}
