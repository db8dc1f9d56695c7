//! Review who can sign in as this connector: everything that can act as it
//! (the application's keys, secrets, federated credentials, owners, app
//! roles and grants), as the administrator signed in on the page before read
//! it, each with the audit's verdict. What this server did not put there
//! starts marked; what may not be removed (the key in use, what the
//! connector needs, a disabled service principal) is listed with why and
//! cannot be marked. Enter asks the engine for the revocation of the marked
//! items, whose plan the Ready page shows. With nothing unknown, the page
//! says so and only scrolls.

use super::Transition;
use crate::domain::AuditKind;
use crate::engine::OperationRequest;
use crate::engine::audit::{Audit, AuditItem, AuditVerdict};
use crate::engine::revoke::{Revoke, Selection};
use crate::tui::model::{Command, Failure, Shared};
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    Scroll, checkbox_line, day, meaning_line, move_choice, scrolled, scrolled_prose, text_lines,
};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    audit: Audit,
    /// Whether each of the audit's items is marked for removal.
    marked: Vec<bool>,
    /// The item under the cursor.
    selected: usize,
    /// Lines scrolled down, when nothing is unknown (and so no cursor).
    scroll: u16,
    /// The revocation the engine made of the marked items, once it did.
    chosen: Option<Revoke>,
    error: Option<String>,
}

const TITLE: &str = "Review who can sign in as this connector";

/// Whether `item` may be marked for removal.
fn removable(item: &AuditItem) -> bool {
    item.removal.is_some()
}

fn unknown(item: &AuditItem) -> bool {
    item.verdict == AuditVerdict::Unknown
}

/// Why `item` cannot be removed here; none when it can.
fn kept_because(item: &AuditItem) -> Option<String> {
    if removable(item) {
        return None;
    }
    Some(match (item.verdict, item.kind) {
        (AuditVerdict::InUse, _) => {
            "the connector signs in with it (Rotate application certificate replaces it)"
                .to_string()
        }
        (_, AuditKind::DisabledServicePrincipal) => {
            let enable = item
                .revoke
                .as_ref()
                .map(|revoke| format!(": {}", revoke.command_line()))
                .unwrap_or_default();
            format!("nothing to remove: enable the service principal again{enable}")
        }
        (AuditVerdict::Expected, _) => "the connector needs it".to_string(),
        _ => "cannot be removed here".to_string(),
    })
}

impl State {
    /// The review of `audit`: every unknown item that may be removed marked,
    /// the cursor on the first of them (or the first item that may be removed).
    pub fn new(audit: Audit) -> State {
        let marked: Vec<bool> = audit
            .items
            .iter()
            .map(|item| unknown(item) && removable(item))
            .collect();
        let selected = marked
            .iter()
            .position(|marked| *marked)
            .or_else(|| audit.items.iter().position(removable))
            .unwrap_or(0);
        State {
            audit,
            marked,
            selected,
            scroll: 0,
            chosen: None,
            error: None,
        }
    }

    /// Whether nothing this server did not put there was found: nothing is
    /// offered but going back.
    pub fn clean(&self) -> bool {
        self.audit.clean()
    }

    /// The revocation chosen on this page, once the engine made it.
    pub fn request(&self) -> Option<OperationRequest> {
        self.chosen.clone().map(OperationRequest::Revoke)
    }

    /// The ids of the marked items.
    fn selection(&self) -> Selection {
        let ids = self
            .audit
            .items
            .iter()
            .zip(&self.marked)
            .filter(|(_, marked)| **marked)
            .map(|(item, _)| item.id.clone())
            .collect();
        Selection::Ids(ids)
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Transition {
        if key.code == KeyCode::Char('q') {
            return Transition::Quit;
        }
        if self.clean() {
            // The view stops at the end; this bound only keeps Up responsive.
            let most = u16::try_from(self.audit.items.len() * 3).unwrap_or(u16::MAX);
            self.scroll = scrolled(self.scroll, key.code, most);
            return Transition::Stay;
        }
        match key.code {
            KeyCode::Char(' ') => {
                let item = &self.audit.items[self.selected];
                self.error = match kept_because(item) {
                    Some(why) => Some(format!(
                        "This {} cannot be removed: {why}.",
                        item.kind.describe()
                    )),
                    None => {
                        self.marked[self.selected] = !self.marked[self.selected];
                        None
                    }
                };
            }
            KeyCode::Char('a') => {
                for (item, marked) in self.audit.items.iter().zip(&mut self.marked) {
                    *marked |= unknown(item) && removable(item);
                }
                self.error = None;
            }
            KeyCode::Enter => {
                if !self.marked.contains(&true) {
                    self.error = Some(
                        "Nothing is marked: Space marks the item under the cursor, a every unknown one."
                            .into(),
                    );
                    return Transition::Stay;
                }
                self.error = None;
                return Transition::Do(Command::Choose {
                    audit: Box::new(self.audit.clone()),
                    selection: self.selection(),
                });
            }
            code => {
                if let Some(next) = move_choice(self.selected, self.audit.items.len(), code) {
                    self.selected = next;
                    self.error = None;
                }
            }
        }
        Transition::Stay
    }

    /// The engine's revocation of the marked items: on to its plan, or why
    /// not, here.
    pub fn chosen(&mut self, result: Result<Revoke, Failure>) -> Transition {
        match result {
            Ok(revoke) => {
                self.chosen = Some(revoke);
                Transition::Next
            }
            Err(why) => {
                self.error = Some(crate::tui::words::failure(&why));
                Transition::Stay
            }
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let admin = shared
            .data
            .upn
            .as_ref()
            .map_or_else(|| "the administrator".to_string(), ToString::to_string);
        let app_id = &self.audit.app_id;
        let mut lines = vec![Line::raw(match self.clean() {
            true => format!(
                "Nothing this server did not put there can sign in as application {app_id}, as {admin} read it: nothing to revoke."
            ),
            false => format!(
                "What can sign in as application {app_id}, as {admin} read it. UNKNOWN: this server did not put it there, and whoever holds it can act as the connector. Those start marked; what is marked is removed by one plan, shown first."
            ),
        })];
        lines.push(Line::raw(""));
        let mut cursor_line = 0;
        for (index, item) in self.audit.items.iter().enumerate() {
            let focused = !self.clean() && index == self.selected;
            let mark = (!self.clean() && removable(item)).then(|| self.marked[index]);
            lines.push(item_line(item, mark, focused, theme));
            if focused {
                // Its meaning, the line after, shows with it.
                cursor_line = lines.len();
            }
            lines.push(meaning_line(&meaning(item), theme));
        }
        if !self.audit.needs_administrator.is_empty() {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "Not read with {admin}'s roles: {}.",
                    self.audit.needs_administrator.join("; ")
                ),
                theme.warning(),
            ));
        }
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.extend(text_lines(error, theme.error()));
        }
        // A refusal shows where it is said; otherwise the item under the cursor.
        let scroll = match (&self.error, self.clean()) {
            (Some(_), _) => Scroll::Bottom,
            (None, true) => Scroll::Top(self.scroll),
            (None, false) => Scroll::Showing(cursor_line),
        };
        scrolled_prose(frame, area, TITLE, lines, theme, scroll);
    }
}

/// An item's first line: its mark (none when it cannot be marked), what it
/// is and the verdict; unknown ones stand out, and the cursor's is reversed
/// (as the certificate table's), which reads without colours too.
fn item_line(item: &AuditItem, mark: Option<bool>, focused: bool, theme: &Theme) -> Line<'static> {
    let name = item
        .display_name
        .as_ref()
        .map(|name| format!(" \"{name}\""))
        .unwrap_or_default();
    let label = format!(
        "{}{name}: {}",
        item.kind.describe(),
        item.verdict.describe()
    );
    let mut line = match mark {
        Some(marked) => checkbox_line(&label, marked, false, theme),
        None => Line::raw(format!("     {label}")),
    };
    if unknown(item) {
        line = line.style(theme.warning());
    }
    match focused {
        true => line.patch_style(theme.selected()),
        false => line,
    }
}

/// What tells an item apart, under it: its id, detail and end, and why it
/// cannot be removed here.
fn meaning(item: &AuditItem) -> String {
    let mut parts = vec![format!("id {}", item.id)];
    parts.extend(item.detail.clone());
    if item.end.is_some() {
        parts.push(format!("ends {}", day(item.end.as_deref())));
    }
    parts.extend(kept_because(item));
    parts.join("; ")
}
