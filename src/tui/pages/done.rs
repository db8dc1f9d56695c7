//! Done: what was configured, and what to do next.

use super::Transition;
use crate::engine::Outcome;
use crate::tui::model::Shared;
use crate::tui::widgets::{field_line, prose};
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

    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let (headline, rows) = match &self.outcome {
            Outcome::Credential(credential) | Outcome::Repaired(credential) => (
                match &self.outcome {
                    Outcome::Repaired(_) => "The connector credential record was rebuilt.",
                    _ => "The connector now signs in with application identity.",
                },
                vec![
                    ("Application id", credential.application_id.clone()),
                    (
                        "Certificate SHA-256",
                        credential.certificate_sha256.to_string(),
                    ),
                    ("Tenant", credential.tenant_id.clone()),
                ],
            ),
            Outcome::Registered(registration) => (
                "This server's application is registered.",
                vec![
                    ("Application id", registration.application.app_id.clone()),
                    (
                        "Certificate SHA-256",
                        registration.certificate.sha256.to_string(),
                    ),
                    ("Tenant", registration.tenant_id.clone()),
                ],
            ),
            Outcome::Rotated(rotation) => (
                "The connector's certificate was rotated.",
                vec![
                    ("Application id", rotation.app_id.clone()),
                    ("New certificate", rotation.new_certificate_sha256.short()),
                    (
                        "Old certificate",
                        format!(
                            "{} ({})",
                            rotation.old_certificate_sha256.short(),
                            match rotation.old_certificate_deleted {
                                true => "deleted from the key store",
                                false => "yours: it stays in the key store",
                            }
                        ),
                    ),
                    ("Key added by", rotation.path.describe().to_string()),
                    ("Old key", rotation.old_key.describe()),
                ],
            ),
            Outcome::ServiceAccountRemoved(account) => (
                "The directory synchronization account was removed.",
                vec![
                    ("Removed", account.user_principal_name.clone()),
                    (
                        "Way back",
                        match account.way_back_forgotten {
                            true => "forgotten: it was this server's; a rollback now needs a new account",
                            false => "unchanged: the account was not this server's way back",
                        }
                        .to_string(),
                    ),
                ],
            ),
            Outcome::ServiceAccount(account) => (
                "The connector signs in with its service account.",
                vec![("Service account", account.user_principal_name.clone())],
            ),
            Outcome::RolledBack(rolled_back) => (
                "Rolled back: the connector signs in with a service account again.",
                vec![
                    ("Service account", rolled_back.user_principal_name.clone()),
                    (
                        "Account",
                        match rolled_back.created {
                            true => "new (the retained one no longer signed in)".to_string(),
                            false => "the one kept as the way back".to_string(),
                        },
                    ),
                    (
                        "Application",
                        "kept: moving to it again reuses it".to_string(),
                    ),
                ],
            ),
            Outcome::KeyRemoved(removed) => (
                "The key was removed from the application.",
                vec![
                    ("Application id", removed.app_id.clone()),
                    ("Key id", removed.key_id.clone()),
                ],
            ),
        };
        let mut lines = vec![Line::styled(headline, theme.done()), Line::raw("")];
        lines.extend(
            rows.into_iter()
                .map(|(name, value)| field_line(name, value, 24)),
        );
        let warnings = match &self.outcome {
            Outcome::Rotated(rotation) => rotation.warnings.as_slice(),
            Outcome::RolledBack(rolled_back) => rolled_back.warnings.as_slice(),
            _ => &[],
        };
        for warning in warnings {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!("Warning: {warning}"), theme.warning()));
        }
        if let Outcome::Credential(_) = &self.outcome {
            lines.push(Line::raw(""));
            lines.push(Line::raw(
                "Recommended next step: once synchronization runs, remove the legacy directory",
            ));
            lines.push(Line::raw(
                "synchronization service account (Sync_<HOST>_…), which is no longer used.",
            ));
        }
        prose(frame, area, "Done", lines, theme);
    }
}

pub fn on_key(key: KeyEvent) -> Transition {
    match key.code {
        KeyCode::Enter | KeyCode::Char('q') => Transition::Quit,
        _ => Transition::Stay,
    }
}
