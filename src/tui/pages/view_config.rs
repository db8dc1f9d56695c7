//! View or export current configuration (the same content as `config export`).

use super::Transition;
use crate::domain::format_time;
use crate::engine::ConfigurationReport;
use crate::tui::model::{Command, Shared};
use crate::tui::widgets::{FileNameKey, Scroll, TextInput, field_line, scrolled, scrolled_prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;
use std::path::PathBuf;

pub const DEFAULT_EXPORT_FILE: &str = "entra-connect-configuration.json";

#[derive(Debug, Clone, Default)]
pub struct State {
    exporting: Option<TextInput>,
    /// The file an export is being written to (its keys read from the
    /// tenant first), until its result comes.
    writing: Option<PathBuf>,
    /// Lines scrolled down, when the configuration is taller than the page.
    scroll: u16,
}

impl State {
    pub fn exporting(&self) -> bool {
        self.exporting.is_some()
    }

    /// The export ended (its result is on the status line).
    pub fn exported(&mut self) {
        self.writing = None;
    }

    pub fn on_key(
        &mut self,
        key: KeyEvent,
        configuration: Option<&ConfigurationReport>,
    ) -> Transition {
        if let Some(input) = &mut self.exporting {
            match input.file_name_key(key) {
                FileNameKey::Editing => {}
                FileNameKey::Cancelled => self.exporting = None,
                FileNameKey::Chosen(path) => {
                    self.exporting = None;
                    self.writing = Some(path.clone());
                    return Transition::Do(Command::Export(path));
                }
            }
            return Transition::Stay;
        }
        match key.code {
            KeyCode::Char('e') => {
                self.exporting = Some(TextInput::new(DEFAULT_EXPORT_FILE));
                Transition::Stay
            }
            KeyCode::Char('q') => Transition::Quit,
            code => {
                // The view stops at the end; this bound only keeps Up responsive.
                let most = configuration.map_or(0, |report| rows(report).len() * 2);
                self.scroll = scrolled(self.scroll, code, u16::try_from(most).unwrap_or(0));
                Transition::Stay
            }
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines: Vec<Line> = match &shared.context.configuration {
            Some(report) => rows(report)
                .into_iter()
                .map(|(name, value)| field_line(name, value, NAME_WIDTH))
                .collect(),
            None => vec![Line::styled(
                "The configuration could not be read.",
                theme.error(),
            )],
        };
        if let Some(input) = &self.exporting {
            lines.push(Line::raw(""));
            lines.push(input.line("Export to (JSON)", true, theme));
        }
        if let Some(path) = &self.writing {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "Exporting to {}: reading the application's keys and secrets from the tenant…",
                    path.display()
                ),
                theme.muted(),
            ));
        }
        // The file name being typed, or the export under way, stays in sight.
        let scroll = match self.exporting.is_some() || self.writing.is_some() {
            true => Scroll::Bottom,
            false => Scroll::Top(self.scroll),
        };
        scrolled_prose(frame, area, "Current configuration", lines, theme, scroll);
    }
}

/// The width of the names column.
const NAME_WIDTH: usize = 28;

/// The facts `config export` prints, in its order, in the wizard's words.
fn rows(report: &ConfigurationReport) -> Vec<(&'static str, String)> {
    let mut rows = vec![
        ("Connector identity type", report.identity_type.to_string()),
        ("Installation id", report.installation_id.clone()),
    ];
    let mut push = |name, value: Option<String>| {
        if let Some(value) = value {
            rows.push((name, value));
        }
    };
    push(
        "Rollback service account",
        report.rollback_service_account.clone(),
    );
    push("Service account", report.service_account.clone());
    push("Tenant", report.tenant_id.clone());
    push("Application id", report.application_id.clone());
    push("Service principal id", report.service_principal_id.clone());
    push(
        "Application managed by",
        report
            .application_managed_by
            .map(|m| m.as_str().to_string()),
    );
    if let Some(certificate) = &report.certificate {
        push(
            "Certificate managed by",
            Some(certificate.managed_by.as_str().to_string()),
        );
        let rotation = match certificate.automatic_rotation_enabled {
            true => "enabled",
            false => "disabled",
        };
        push("Automatic rotation", Some(rotation.to_string()));
        push(
            "Key store",
            Some(certificate.key_store.as_str().to_string()),
        );
        push("SHA-256 hash", Some(certificate.sha256_hash.clone()));
        match &certificate.details {
            Some(info) => {
                push("Thumbprint", Some(info.thumbprint.clone()));
                push("Subject", Some(info.subject.clone()));
                push("Issuer", Some(info.issuer.clone()));
                push("Serial number", Some(info.serial_number.clone()));
                push("Not valid before", Some(format_time(info.not_before)));
                push("Not valid after", Some(format_time(info.not_after)));
                push(
                    "Key algorithm",
                    Some(format!("{} {}", info.key_algorithm, info.key_bits)),
                );
                push(
                    "Signature algorithm",
                    Some(info.signature_algorithm.clone()),
                );
            }
            None => push(
                "Certificate",
                Some("MISSING from the key store".to_string()),
            ),
        }
    }
    // The keys and secrets are the tenant's: this page reads nothing, the export does.
    if report.application_id.is_some() {
        push(
            "Keys and secrets",
            Some(
                "read from the tenant by the export (e), each with the audit's verdict".to_string(),
            ),
        );
    }
    rows
}
