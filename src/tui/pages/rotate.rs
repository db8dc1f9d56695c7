//! Rotate application certificate: what the connector signs in with now, the
//! certificate that follows it (a new managed one, or one of yours from the
//! key store), and, only for when the application cannot add its key itself,
//! an administrator who may update application credentials.

use super::Transition;
use super::certificate::{first_usable, status_label, unusable};
use crate::domain::{CertificateDays, Input, ManagedBy, format_date, format_time};
use crate::engine::OperationRequest;
use crate::engine::rotate::{NewCertificate, Rotate};
use crate::keys::StoredCertificate;
use crate::tui::model::{Context, Shared, WizardData};
use crate::tui::widgets::{
    CHOICE_MEANING_INDENT, Scroll, TextInput, choice_lines, move_choice, prose_width,
    scrolled_prose,
};
use crate::tui::words;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    /// Among [`candidates`], for a certificate of yours.
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

/// The certificates of yours in the key store but the one in use: those
/// that cannot follow it are listed with why, and not chosen.
fn candidates(context: &Context) -> Vec<&StoredCertificate> {
    let current = context
        .configuration
        .as_ref()
        .and_then(|report| report.certificate.as_ref())
        .map(|certificate| certificate.sha256_hash.as_str());
    context
        .certificates
        .iter()
        .filter(|c| Some(c.info.sha256.to_string().as_str()) != current)
        .collect()
}

impl State {
    /// The page with nothing chosen: the administrator's field starts empty,
    /// as the application rotates its own key while its certificate is
    /// valid (an administrator entered for another task is not reused).
    pub fn new(context: &Context) -> State {
        State {
            selected: first_usable(candidates(context), context),
            admin: TextInput::default().holding(Input::Upn),
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
            false => NewCertificate::Existing(self.chosen(context)?.info.sha256.clone()),
        };
        Some(OperationRequest::Rotate(Rotate { certificate }))
    }

    /// The certificate of yours under the cursor, if it can be used.
    fn chosen<'a>(&self, context: &'a Context) -> Option<&'a StoredCertificate> {
        candidates(context)
            .get(self.selected)
            .copied()
            .filter(|c| unusable(c, context).is_none())
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
                if let Some(next) = move_choice(self.selected, candidates(context).len(), code) {
                    // A refusal was about the certificate the cursor has left.
                    self.selected = next;
                    self.error = None;
                }
            }
        }
        Transition::Stay
    }

    fn confirm(&mut self, data: &mut WizardData, context: &Context) -> Transition {
        if self.request(context).is_none() {
            self.error = Some(match candidates(context).get(self.selected) {
                Some(refused) => format!(
                    "{} cannot be used: {}. Choose a usable certificate.",
                    refused.info.subject,
                    unusable(refused, context).unwrap_or_default()
                ),
                None => "No certificate of yours can follow the current one: import one first (entra-connect cert import).".into(),
            });
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
        // The line with the focus, kept in view when the page is too tall.
        let mut focus = 0;
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
            let candidates = candidates(context);
            if candidates.iter().all(|c| unusable(c, context).is_some()) {
                lines.push(Line::styled(
                    "  none usable: import one first (entra-connect cert import)",
                    theme.warning(),
                ));
            }
            // The hash whole when it fits beside its date under the subject.
            let until =
                |c: &StoredCertificate| format!(", until {}", format_date(c.info.not_after));
            let whole_hash = candidates.iter().all(|c| {
                CHOICE_MEANING_INDENT + c.info.sha256.to_string().len() + until(c).len()
                    <= prose_width(area)
            });
            let options: Vec<(String, String)> = candidates
                .iter()
                .map(|c| {
                    let name = match unusable(c, context) {
                        Some(_) => format!(
                            "{} (unusable: {})",
                            c.info.subject,
                            status_label(c, context)
                        ),
                        None => c.info.subject.clone(),
                    };
                    let hash = match whole_hash {
                        true => c.info.sha256.to_string(),
                        false => c.info.sha256.short(),
                    };
                    (name, format!("{hash}{}", until(c)))
                })
                .collect();
            // Each choice takes two lines: its name, then its hash and date.
            focus = lines.len() + 2 * self.selected + 1;
            lines.extend(choice_lines(&options, self.selected, theme));
        }
        lines.push(Line::raw(""));
        lines.push(Line::raw(format!(
            "The application adds its new key itself. Only when it cannot (its certificate expired or is missing) does an Application Administrator, Cloud Application Administrator or Global Administrator do it, signing in with {}; otherwise leave this empty:",
            words::signing_in_with(shared.data.sign_in)
        )));
        if self.admin_focused {
            focus = lines.len();
        }
        lines.push(self.admin.line("Administrator", self.admin_focused, theme));
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            focus = lines.len();
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        scrolled_prose(
            frame,
            area,
            "Rotate application certificate",
            lines,
            theme,
            Scroll::Showing(focus),
        );
    }
}
