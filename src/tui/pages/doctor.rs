//! Check this server: every check of `entra-connect doctor`, no change.

use super::Transition;
use crate::engine::doctor::{Finding, Verdict};
use crate::tui::model::Shared;
use crate::tui::widgets::{Scroll, scrolled, scrolled_prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Default)]
pub struct State {
    /// None while the checks run.
    findings: Option<Vec<Finding>>,
    scroll: u16,
}

impl State {
    pub fn checking(&self) -> bool {
        self.findings.is_none()
    }

    pub fn checked(&mut self, findings: Vec<Finding>) {
        self.findings = Some(findings);
    }

    pub fn on_key(&mut self, key: KeyEvent) -> Transition {
        match key.code {
            KeyCode::Char('q') => Transition::Quit,
            code => {
                let most = self.findings.as_ref().map_or(0, |f| f.len() * 3);
                self.scroll = scrolled(self.scroll, code, u16::try_from(most).unwrap_or(0));
                Transition::Stay
            }
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines = Vec::new();
        match &self.findings {
            None => lines.push(Line::styled(
                "Checking: endpoints, clock, key store, credential, certificate, scheduler…",
                theme.muted(),
            )),
            Some(findings) => {
                lines.push(Line::raw(
                    "Nothing was changed. Each check, and the fix where one is needed:",
                ));
                lines.push(Line::raw(""));
                for finding in findings {
                    let style = match finding.verdict {
                        Verdict::Ok => theme.done(),
                        Verdict::Warn => theme.warning(),
                        Verdict::Fail => theme.error(),
                    };
                    lines.push(Line::styled(
                        format!(
                            " [{:<4}] {}: {}",
                            finding.verdict.as_str(),
                            finding.check,
                            finding.detail
                        ),
                        style,
                    ));
                    if let Some(fix) = crate::tui::words::any_of(&finding.fix) {
                        lines.push(Line::styled(format!("        fix: {fix}"), theme.muted()));
                    }
                }
            }
        }
        let scroll = Scroll::Top(self.scroll);
        scrolled_prose(frame, area, "Check this server", lines, theme, scroll);
    }
}
