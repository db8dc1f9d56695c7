//! Rotate application certificate: what the connector signs in with now, the
//! certificate that follows it (a new managed one, or one of yours from the
//! key store), and, only for when the application cannot add its key itself,
//! an administrator who may update application credentials.

use super::Transition;
use crate::domain::{CertificateDays, ManagedBy, format_date, format_time};
use crate::engine::OperationRequest;
use crate::engine::rotate::{NewCertificate, Rotate};
use crate::keys::StoredCertificate;
use crate::tui::model::{Context, Shared, WizardData};
use crate::tui::widgets::{TextInput, choice_lines, move_choice, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    /// Among [`successors`], for a certificate of yours.
    selected: usize,
    admin: TextInput,
    /// Typing the administrator rather than choosing a certificate.
    admin_focused: bool,
    error: Option<String>,
}

/// Whether the connector's certificate is this server's (Managed).
fn managed(context: &Context) -> bool {
    context
        .configuration
        .as_ref()
        .and_then(|report| report.certificate.as_ref())
        .is_some_and(|certificate| certificate.managed_by == ManagedBy::EntraConnect)
}

/// The certificates of yours that can follow the current one: usable now,
/// with their key, and not the one in use.
fn successors(context: &Context) -> Vec<&StoredCertificate> {
    let current = context
        .configuration
        .as_ref()
        .and_then(|report| report.certificate.as_ref())
        .map(|certificate| certificate.sha256_hash.as_str());
    context
        .certificates
        .iter()
        .filter(|c| c.has_private_key && c.info.problem(context.now).is_none())
        .filter(|c| Some(c.info.sha256.to_string().as_str()) != current)
        .collect()
}

impl State {
    /// The page with nothing chosen: the administrator's field starts empty,
    /// as the application rotates its own key while its certificate is
    /// valid (an administrator entered for another task is not reused).
    pub fn new(context: &Context) -> State {
        State {
            selected: 0,
            admin: TextInput::default(),
            admin_focused: managed(context),
            error: None,
        }
    }

    /// The rotation chosen on this page.
    pub fn request(&self, context: &Context) -> Option<OperationRequest> {
        let certificate = match managed(context) {
            true => NewCertificate::Managed {
                days: CertificateDays::default(),
            },
            false => NewCertificate::Existing(
                successors(context).get(self.selected)?.info.sha256.clone(),
            ),
        };
        Some(OperationRequest::Rotate(Rotate { certificate }))
    }

    pub fn on_key(
        &mut self,
        data: &mut WizardData,
        context: &Context,
        key: KeyEvent,
    ) -> Transition {
        let choosing = !managed(context);
        match key.code {
            KeyCode::Tab if choosing => self.admin_focused = !self.admin_focused,
            KeyCode::Enter => return self.confirm(data, context),
            _ if self.admin_focused => {
                if self.admin.handle(key) {
                    self.error = None;
                }
            }
            code => {
                if let Some(next) = move_choice(self.selected, successors(context).len(), code) {
                    self.selected = next;
                }
            }
        }
        Transition::Stay
    }

    fn confirm(&mut self, data: &mut WizardData, context: &Context) -> Transition {
        if self.request(context).is_none() {
            self.error = Some(
                "No certificate of yours can follow the current one: import one first (entra-connect cert import)."
                    .into(),
            );
            return Transition::Stay;
        }
        match self.admin.administrator() {
            Ok(admin) => {
                data.upn = admin;
                Transition::Next
            }
            Err(why) => {
                self.error = Some(why);
                Transition::Stay
            }
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let context = shared.context;
        let mut lines = Vec::new();
        if let Some(report) = &context.configuration
            && let Some(certificate) = &report.certificate
        {
            lines.push(Line::raw(format!(
                "The connector signs in as application {} with certificate",
                report.application_id.as_deref().unwrap_or("-")
            )));
            let until = match &certificate.details {
                Some(info) if info.not_after <= context.now => {
                    format!("EXPIRED {}", format_time(info.not_after))
                }
                Some(info) => format!("valid until {}", format_time(info.not_after)),
                None => "MISSING from the key store".to_string(),
            };
            lines.push(Line::raw(format!(
                "{} ({}, {until}).",
                certificate.sha256_hash,
                certificate.managed_by.as_str()
            )));
            lines.push(Line::raw(""));
        }
        if managed(context) {
            lines.push(Line::raw(format!(
                "A new key and certificate, valid {} days, are made in this server's key store.",
                CertificateDays::default()
            )));
            lines.push(Line::raw(
                "Once the connector signs in with it, the old key leaves the application and the old certificate is deleted.",
            ));
        } else {
            lines.push(Line::raw(
                "Your certificate follows the current one, which stays in the key store. Choose it:",
            ));
            let successors = successors(context);
            if successors.is_empty() {
                lines.push(Line::styled(
                    "  none usable: import one first (entra-connect cert import)",
                    theme.warning(),
                ));
            }
            let options: Vec<(String, String)> = successors
                .iter()
                .map(|c| {
                    (
                        c.info.subject.clone(),
                        format!(
                            "{}, until {}",
                            c.info.sha256.short(),
                            format_date(c.info.not_after)
                        ),
                    )
                })
                .collect();
            lines.extend(choice_lines(&options, self.selected, theme));
        }
        lines.push(Line::raw(""));
        lines.push(Line::raw(
            "The application adds its new key itself. Only when it cannot (its certificate expired or is missing) does an Application Administrator, Cloud Application Administrator or Global Administrator do it, signing in with a device code; otherwise leave this empty:",
        ));
        lines.push(self.admin.line("Administrator", self.admin_focused, theme));
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        prose(frame, area, "Rotate application certificate", lines, theme);
    }
}
