//! Certificate picker (BYOC and BYOA): the key store as a table; certificates
//! that cannot be used are shown with the reason but cannot be chosen.

use super::Transition;
use crate::domain::format_date;
use crate::keys::StoredCertificate;
use crate::tui::model::{Context, Shared, WizardData};
use crate::tui::widgets::{cut, move_choice, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::{Constraint, Layout, Margin, Rect};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Cell, Paragraph, Row, Table, Wrap};

#[derive(Debug, Clone)]
pub struct State {
    selected: usize,
    error: Option<String>,
}

impl State {
    /// The page on the certificate chosen before, or else on the first one
    /// that can be used.
    pub fn new(data: &WizardData, context: &Context) -> State {
        let chosen = data.certificate.as_ref().and_then(|hash| {
            context
                .certificates
                .iter()
                .position(|c| &c.info.sha256 == hash)
        });
        State {
            selected: chosen.unwrap_or_else(|| first_usable(&context.certificates, context)),
            error: None,
        }
    }

    pub fn on_key(
        &mut self,
        data: &mut WizardData,
        context: &Context,
        key: KeyEvent,
    ) -> Transition {
        if key.code == KeyCode::Enter {
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
        if let Some(next) = move_choice(self.selected, context.certificates.len(), key.code) {
            // A refusal was about the certificate the cursor has left.
            self.selected = next;
            self.error = None;
        }
        Transition::Stay
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let context = shared.context;
        let [intro, table_area, detail] = Layout::vertical([
            Constraint::Length(4),
            Constraint::Min(4),
            Constraint::Length(6),
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
        let table_area = table_area.inner(Margin::new(2, 0));
        let statuses: Vec<String> = context
            .certificates
            .iter()
            .map(|c| status_label(c, context))
            .collect();
        let columns = Columns::at(
            table_area.width,
            context.certificates.iter().map(|c| c.store.as_str()),
            statuses.iter().map(String::as_str),
        );
        let rows = context
            .certificates
            .iter()
            .zip(statuses.iter())
            .enumerate()
            .map(|(index, (c, status))| {
                let style = if index == self.selected {
                    theme.selected()
                } else if unusable(c, context).is_some() {
                    theme.muted()
                } else {
                    ratatui::style::Style::new()
                };
                let hash = match columns.whole_hash {
                    true => c.info.sha256.to_string(),
                    false => c.info.sha256.short(),
                };
                let cells = [
                    c.info.subject.as_str(),
                    &hash,
                    &format_date(c.info.not_after),
                    c.store.as_str(),
                    status,
                ];
                Row::new(
                    cells
                        .iter()
                        .zip(columns.widths)
                        .map(|(text, width)| Cell::from(cut(text, usize::from(width)))),
                )
                .style(style)
            });
        let table = Table::new(rows, columns.widths.map(Constraint::Length))
            .column_spacing(COLUMN_SPACING)
            .header(
                Row::new(vec!["Subject", "SHA-256", "Not after", "Store", "Status"])
                    .style(theme.title()),
            )
            .block(Block::default().borders(Borders::NONE));
        frame.render_widget(table, table_area);
        let mut lines = Vec::new();
        if let Some(chosen) = context.certificates.get(self.selected) {
            // Whole here, as the table may cut them.
            lines.push(Line::raw(format!("Subject  {}", chosen.info.subject)));
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
            detail.inner(Margin::new(2, 0)),
        );
    }
}

const COLUMN_SPACING: u16 = 2;

/// The table's column widths at a width: the dates, stores and statuses
/// whole, the subject in what is left, and the hash whole once the subject
/// keeps [`Columns::SUBJECT_ROOM`] beside it (shortened, `ABABABAB…ABABABAB`,
/// before).
struct Columns {
    widths: [u16; 5],
    whole_hash: bool,
}

impl Columns {
    const SUBJECT_ROOM: u16 = 32;
    const WHOLE_HASH: u16 = 64;
    const SHORT_HASH: u16 = 17;
    const DATE: u16 = 10;

    /// The columns at `width` for `stores` and `statuses` (their headers
    /// included), which are never cut.
    fn at<'a>(
        width: u16,
        stores: impl Iterator<Item = &'a str>,
        statuses: impl Iterator<Item = &'a str>,
    ) -> Columns {
        let store = widest("Store", stores);
        let status = widest("Status", statuses);
        let fixed = Self::DATE + store + status + 4 * COLUMN_SPACING;
        let left = width.saturating_sub(fixed);
        let whole_hash = left >= Self::WHOLE_HASH + Self::SUBJECT_ROOM;
        let hash = if whole_hash {
            Self::WHOLE_HASH
        } else {
            Self::SHORT_HASH
        };
        Columns {
            widths: [left.saturating_sub(hash), hash, Self::DATE, store, status],
            whole_hash,
        }
    }
}

/// The columns the widest of a column's `header` and `texts` takes.
fn widest<'a>(header: &'a str, texts: impl Iterator<Item = &'a str>) -> u16 {
    let widest = std::iter::once(header)
        .chain(texts)
        .map(|text| text.chars().count());
    u16::try_from(widest.max().unwrap_or(0)).unwrap_or(u16::MAX)
}

/// Where a picker's cursor starts among `certificates`: on the first that
/// can be used (the first of all if none can).
pub fn first_usable<'a>(
    certificates: impl IntoIterator<Item = &'a StoredCertificate>,
    context: &Context,
) -> usize {
    certificates
        .into_iter()
        .position(|c| unusable(c, context).is_none())
        .unwrap_or(0)
}

/// Why `certificate` cannot be the connector's, in a sentence; none when it can.
pub fn unusable(certificate: &StoredCertificate, context: &Context) -> Option<String> {
    if let Some(problem) = certificate.info.problem(context.now) {
        return Some(problem.to_string());
    }
    (!certificate.has_private_key).then(|| "its private key is missing".to_string())
}

/// The short status a list shows; [`unusable`] gives the whole reason.
pub fn status_label(certificate: &StoredCertificate, context: &Context) -> String {
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
