//! Certificate picker (BYOC and BYOA): the key store as a table; certificates
//! that cannot be used are shown with the reason but cannot be chosen.

use super::Transition;
use crate::domain::format_date;
use crate::tui::model::{Context, Shared, WizardData};
use crate::tui::widgets::prose;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

#[derive(Debug, Clone)]
pub struct State {
    selected: usize,
    error: Option<String>,
}

impl State {
    pub fn new(data: &WizardData, context: &Context) -> State {
        let selected = data
            .certificate
            .as_ref()
            .and_then(|hash| {
                context
                    .certificates
                    .iter()
                    .position(|c| &c.info.sha256 == hash)
            })
            .unwrap_or(0);
        State {
            selected,
            error: None,
        }
    }

    pub fn on_key(
        &mut self,
        data: &mut WizardData,
        context: &Context,
        key: KeyEvent,
    ) -> Transition {
        let count = context.certificates.len();
        match key.code {
            KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Down => self.selected = (self.selected + 1).min(count.saturating_sub(1)),
            KeyCode::Enter => {
                let Some(chosen) = context.certificates.get(self.selected) else {
                    self.error = Some("The key store is empty: create or import a certificate first (entra-connect cert new / cert import).".into());
                    return Transition::Stay;
                };
                if unusable(chosen, context).is_some() {
                    self.error = Some(
                        "Choose a usable certificate; the reason this one cannot be used is above."
                            .into(),
                    );
                    return Transition::Stay;
                }
                data.certificate = Some(chosen.info.sha256.clone());
                return Transition::Next;
            }
            _ => {}
        }
        Transition::Stay
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let context = shared.context;
        let [intro, table_area, detail] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Min(4),
            Constraint::Length(5),
        ])
        .areas(area);
        prose(
            frame,
            intro,
            "Choose the certificate",
            vec![Line::raw(
                "RSA 2048 with SHA-256, currently valid, with its private key in the key store.",
            )],
            theme,
        );
        let rows = context.certificates.iter().enumerate().map(|(index, c)| {
            let status = status_label(c, context);
            let style = if index == self.selected {
                theme.selected()
            } else if unusable(c, context).is_some() {
                theme.muted()
            } else {
                ratatui::style::Style::new()
            };
            Row::new(vec![
                Cell::from(c.info.subject.clone()),
                Cell::from(c.info.sha256.short()),
                Cell::from(format_date(c.info.not_after)),
                Cell::from(c.store.as_str()),
                Cell::from(status),
            ])
            .style(style)
        });
        let table = Table::new(
            rows,
            [
                Constraint::Percentage(30),
                Constraint::Length(19),
                Constraint::Length(11),
                Constraint::Length(9),
                Constraint::Min(10),
            ],
        )
        .header(
            Row::new(vec!["Subject", "SHA-256", "Not after", "Store", "Status"])
                .style(theme.title()),
        )
        .block(Block::default().borders(Borders::NONE));
        frame.render_widget(table, table_area.inner(ratatui::layout::Margin::new(2, 0)));
        let mut lines = Vec::new();
        if let Some(chosen) = context.certificates.get(self.selected) {
            lines.push(Line::raw(format!("SHA-256  {}", chosen.info.sha256)));
            lines.push(Line::raw(format!("Issuer   {}", chosen.info.issuer)));
            if let Some(why) = unusable(chosen, context) {
                lines.push(Line::styled(
                    format!("Cannot be used: {why}"),
                    theme.warning(),
                ));
            }
        } else {
            lines.push(Line::styled(
                "The key store holds no certificates.",
                theme.warning(),
            ));
        }
        if let Some(error) = &self.error {
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        frame.render_widget(
            Paragraph::new(lines).wrap(Wrap { trim: true }).block(
                Block::default()
                    .borders(Borders::TOP)
                    .border_style(theme.muted()),
            ),
            detail.inner(ratatui::layout::Margin::new(2, 0)),
        );
    }
}

fn unusable(certificate: &crate::keys::StoredCertificate, context: &Context) -> Option<String> {
    if let Some(problem) = certificate.info.problem(context.now) {
        return Some(problem.to_string());
    }
    (!certificate.has_private_key).then(|| "its private key is missing".to_string())
}

/// The table's short status; the detail pane gives the whole reason.
fn status_label(certificate: &crate::keys::StoredCertificate, context: &Context) -> String {
    use crate::keys::CertificateProblem::*;
    match certificate.info.problem(context.now) {
        Some(NotRsa(_)) => "not RSA".into(),
        Some(WrongKeySize(bits)) => format!("RSA {bits}"),
        Some(WrongSignature(_)) => "not SHA-256".into(),
        Some(NotYetValid(_)) => "not yet valid".into(),
        Some(Expired(_)) => "expired".into(),
        None if !certificate.has_private_key => "no key".into(),
        None => "usable".into(),
    }
}
