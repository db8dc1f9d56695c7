//! View or export current configuration (the same content as `config export`).

use super::Transition;
use crate::domain::format_time;
use crate::engine::ConfigurationReport;
use crate::tui::model::{Command, Shared};
use crate::tui::widgets::{FileNameKey, TextInput, field_line, prose};
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
}

impl State {
    pub fn exporting(&self) -> bool {
        self.exporting.is_some()
    }

    /// The export ended (its result is on the status line).
    pub fn exported(&mut self) {
        self.writing = None;
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Transition {
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
            _ => Transition::Stay,
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines: Vec<Line> = match &shared.context.configuration {
            Some(report) => rows(report)
                .into_iter()
                .map(|(name, value)| field_line(name, value, 28))
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
                    "Exporting to {}: reading the application's keys from the tenant…",
                    path.display()
                ),
                theme.muted(),
            ));
        }
        prose(frame, area, "Current configuration", lines, theme);
    }
}

fn rows(report: &ConfigurationReport) -> Vec<(&'static str, String)> {
    let mut rows = vec![("Connector identity type", report.identity_type.to_string())];
    let mut push = |name, value: Option<String>| {
        if let Some(value) = value {
            rows.push((name, value));
        }
    };
    push("Service account", report.service_account.clone());
    push("Tenant", report.tenant_id.clone());
    push("Application id", report.application_id.clone());
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
        push("SHA-256 hash", Some(certificate.sha256_hash.clone()));
        match &certificate.details {
            Some(info) => {
                push("Thumbprint", Some(info.thumbprint.clone()));
                push("Subject", Some(info.subject.clone()));
                push("Issuer", Some(info.issuer.clone()));
                push("Serial number", Some(info.serial_number.clone()));
                push("Not valid before", Some(format_time(info.not_before)));
                push("Not valid after", Some(format_time(info.not_after)));
            }
            None => push(
                "Certificate",
                Some("MISSING from the key store".to_string()),
            ),
        }
    }
    rows
}
