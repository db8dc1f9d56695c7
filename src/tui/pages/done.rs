//! Done: what was configured, and what to do next.

use super::Transition;
use crate::domain::ManagedBy;
use crate::engine::rotate::OldKeyRemoval;
use crate::engine::{ConfigurationReport, Outcome};
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
        let (headline, rows) = described(&self.outcome);
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
        if let Some(configuration) = &shared.context.configuration {
            for step in next_steps(&self.outcome, configuration) {
                lines.push(Line::raw(""));
                lines.push(Line::raw(step));
            }
        }
        prose(frame, area, "Done", lines, theme);
    }
}

/// What an operation did: a headline and its facts, as `Name  value` rows
/// (the Done page, and the summary printed when the wizard closes).
pub fn described(outcome: &Outcome) -> (&'static str, Vec<(&'static str, String)>) {
    match outcome {
        Outcome::Credential(credential) | Outcome::Repaired(credential) => (
            match outcome {
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
                ("Old key", old_key(&rotation.old_key)),
            ],
        ),
        Outcome::ServiceAccountRemoved(account) => (
            "The directory synchronization account was removed.",
            vec![
                ("Removed", account.user_principal_name.clone()),
                (
                    "Way back",
                    match account.way_back_forgotten {
                        true => {
                            "forgotten: it was this server's; a rollback now needs a new account"
                        }
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
    }
}

/// What became of a rotation's old key, in the wizard's words.
fn old_key(removal: &OldKeyRemoval) -> String {
    match removal {
        OldKeyRemoval::NotRemoved { reason, .. } => format!(
            "NOT removed ({reason}): remove it with Remove an application key (Additional tasks)"
        ),
        other => other.describe(),
    }
}

/// What the administrator has to do next, or to know, from the server as
/// the change left it: who renews the certificate and when, and what
/// becomes of the service account the connector used before.
fn next_steps(outcome: &Outcome, configuration: &ConfigurationReport) -> Vec<String> {
    let mut steps = Vec::new();
    if !matches!(
        outcome,
        Outcome::Credential(_) | Outcome::Repaired(_) | Outcome::Rotated(_)
    ) {
        return steps;
    }
    if let Some(certificate) = &configuration.certificate {
        let expires = certificate.details.as_ref().map_or_else(
            || {
                "on a date this server cannot read (the certificate is missing from the key store)"
                    .to_string()
            },
            |info| format!("on {}", info.not_after.date()),
        );
        steps.push(match (certificate.automatic_rotation_enabled, certificate.managed_by) {
            (true, _) => format!(
                "The certificate expires {expires} and is rotated automatically before then."
            ),
            (false, ManagedBy::EntraConnect) => format!(
                "Automatic rotation is off (maintenance or the scheduler is off): the certificate expires {expires}; turn maintenance on (Scheduler settings) or rotate it before then (Rotate application certificate)."
            ),
            (false, ManagedBy::Customer) => format!(
                "No automatic rotation: this certificate is yours and expires {expires}. Renewing it is your job: bring the new one before then with Rotate application certificate."
            ),
        });
    }
    if let (Outcome::Credential(_), Some(account)) =
        (outcome, &configuration.rollback_service_account)
    {
        steps.push(format!(
            "The connector no longer signs in with {account}; this server keeps it as the way back (Roll back to a service account). Once synchronization runs with the application, remove it with Remove a legacy service account only if you no longer want that way back."
        ));
    }
    steps
}

pub fn on_key(key: KeyEvent) -> Transition {
    match key.code {
        KeyCode::Enter | KeyCode::Char('q') => Transition::Quit,
        _ => Transition::Stay,
    }
}
