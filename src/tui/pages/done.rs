//! Done: what was configured, and what to do next.

use super::Transition;
use crate::domain::{CertificateHash, ManagedBy};
use crate::engine::rotate::OldKeyRemoval;
use crate::engine::{ConfigurationReport, Outcome};
use crate::keys::StoredCertificate;
use crate::tui::model::Shared;
use crate::tui::widgets::{Scroll, field_line, scrolled, scrolled_prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    outcome: Outcome,
    /// Lines scrolled down, when what was done is taller than the page.
    scroll: u16,
}

impl State {
    pub fn new(outcome: Outcome) -> State {
        State { outcome, scroll: 0 }
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Transition {
        match key.code {
            KeyCode::Enter | KeyCode::Char('q') => Transition::Quit,
            code => {
                // The view stops at the end; this bound only keeps Up responsive.
                let most =
                    3 * (described(&self.outcome, &[]).1.len() + warnings(&self.outcome).len() + 2);
                self.scroll = scrolled(self.scroll, code, u16::try_from(most).unwrap_or(0));
                Transition::Stay
            }
        }
    }

    pub fn outcome(&self) -> &Outcome {
        &self.outcome
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let (headline, rows) = described(&self.outcome, &shared.context.certificates);
        let mut lines = vec![Line::styled(headline, theme.done()), Line::raw("")];
        lines.extend(
            rows.into_iter()
                .map(|(name, value)| field_line(name, value, 24)),
        );
        for warning in warnings(&self.outcome) {
            lines.push(Line::raw(""));
            lines.push(Line::styled(format!("Warning: {warning}"), theme.warning()));
        }
        if let Some(configuration) = &shared.context.configuration {
            for step in next_steps(&self.outcome, configuration) {
                lines.push(Line::raw(""));
                lines.push(Line::raw(step));
            }
        }
        let scroll = Scroll::Top(self.scroll);
        scrolled_prose(frame, area, "Done", lines, theme, scroll);
    }
}

/// What the operation warns of, besides what it did.
fn warnings(outcome: &Outcome) -> &[String] {
    match outcome {
        Outcome::Rotated(rotation) => rotation.warnings.as_slice(),
        Outcome::RolledBack(rolled_back) => rolled_back.warnings.as_slice(),
        _ => &[],
    }
}

/// What an operation did: a headline and its facts, as `Name  value` rows
/// (the Done page, and the summary printed when the wizard closes). A
/// certificate is named by its whole SHA-256 hash with, beside it, the SHA-1
/// thumbprint the Entra portal lists it by (Certificates & secrets): the
/// rotation's own, else the key store's (`certificates`, as the change left it).
pub fn described(
    outcome: &Outcome,
    certificates: &[StoredCertificate],
) -> (&'static str, Vec<(&'static str, String)>) {
    let in_store = |hash: &CertificateHash| {
        certificates
            .iter()
            .find(|stored| &stored.info.sha256 == hash)
            .map(|stored| stored.info.thumbprint.clone())
    };
    match outcome {
        Outcome::Credential(credential) | Outcome::Repaired(credential) => {
            let mut rows = vec![("Application id", credential.application_id.clone())];
            rows.extend(certificate(
                CURRENT,
                &credential.certificate_sha256,
                "",
                in_store(&credential.certificate_sha256),
            ));
            rows.push(("Tenant", credential.tenant_id.clone()));
            let headline = match outcome {
                Outcome::Repaired(_) => "The connector credential record was rebuilt.",
                _ => "The connector now signs in with application identity.",
            };
            (headline, rows)
        }
        Outcome::Registered(registration) => {
            let hash = &registration.certificate.sha256;
            let mut rows = vec![("Application id", registration.application.app_id.clone())];
            rows.extend(certificate(CURRENT, hash, "", in_store(hash)));
            rows.push(("Tenant", registration.tenant_id.clone()));
            ("This server's application is registered.", rows)
        }
        Outcome::Rotated(rotation) => {
            let mut rows = vec![("Application id", rotation.app_id.clone())];
            rows.extend(certificate(
                NEW,
                &rotation.new_certificate_sha256,
                "",
                Some(rotation.new_certificate_thumbprint.clone()),
            ));
            let kept = match rotation.old_certificate_deleted {
                true => " (deleted from the key store)",
                false => " (yours: it stays in the key store)",
            };
            rows.extend(certificate(
                OLD,
                &rotation.old_certificate_sha256,
                kept,
                rotation.old_certificate_thumbprint.clone(),
            ));
            rows.extend([
                ("Key added by", rotation.path.describe().to_string()),
                ("Old key", old_key(&rotation.old_key)),
            ]);
            ("The connector's certificate was rotated.", rows)
        }
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
        Outcome::Revoked(revoked) => (
            "What this server did not put there can no longer sign in as its connector.",
            std::iter::once(("Application id", revoked.app_id.clone()))
                .chain(
                    revoked
                        .removed
                        .iter()
                        .map(|removal| ("Removed", removal.describe())),
                )
                .collect(),
        ),
        Outcome::KeyRemoved(removed) => {
            let mut rows = vec![
                ("Application id", removed.app_id.clone()),
                ("Key id", removed.key_id.clone()),
            ];
            rows.extend(
                removed
                    .thumbprint
                    .clone()
                    .map(|thumbprint| (CURRENT.thumbprint, thumbprint)),
            );
            ("The key was removed from the application.", rows)
        }
    }
}

/// What a certificate's two names are labelled with: the certificate in
/// use, or a rotation's new and old one.
struct Labels {
    sha256: &'static str,
    thumbprint: &'static str,
}

const CURRENT: Labels = Labels {
    sha256: "Certificate SHA-256",
    thumbprint: "Thumbprint (SHA-1)",
};
const NEW: Labels = Labels {
    sha256: "New certificate",
    thumbprint: "New thumbprint (SHA-1)",
};
const OLD: Labels = Labels {
    sha256: "Old certificate",
    thumbprint: "Old thumbprint (SHA-1)",
};

/// A certificate's rows: its whole SHA-256 hash (then `note`), and its SHA-1
/// thumbprint when it is known.
fn certificate(
    labels: Labels,
    sha256: &CertificateHash,
    note: &str,
    thumbprint: Option<String>,
) -> Vec<(&'static str, String)> {
    let mut rows = vec![(labels.sha256, format!("{sha256}{note}"))];
    rows.extend(thumbprint.map(|thumbprint| (labels.thumbprint, thumbprint)));
    rows
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
