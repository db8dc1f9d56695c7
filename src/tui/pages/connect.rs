//! Connect: which tenant, in which cloud.

use super::Transition;
use crate::tui::app::{Cloud, Model, WizardData};
use crate::tui::widgets::{TextInput, choice_lines, move_choice, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    tenant: TextInput,
    cloud: usize,
    clouds: Vec<Cloud>,
    /// 0: tenant field, 1: cloud list.
    focus: usize,
    error: Option<String>,
}

impl State {
    pub fn new(data: &WizardData) -> State {
        let mut clouds = vec![Cloud::Public, Cloud::Usgov, Cloud::China];
        if data.cloud == Cloud::Sandbox {
            clouds.insert(0, Cloud::Sandbox);
        }
        State {
            tenant: TextInput::new(&data.tenant),
            cloud: clouds.iter().position(|c| *c == data.cloud).unwrap_or(0),
            clouds,
            focus: 0,
            error: None,
        }
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        match key.code {
            KeyCode::Tab | KeyCode::BackTab => self.focus = 1 - self.focus,
            KeyCode::Enter => {
                let tenant = self.tenant.value.trim().to_string();
                if let Some(why) = tenant_problem(&tenant) {
                    self.error = Some(why);
                    return Transition::Stay;
                }
                data.tenant = tenant;
                data.cloud = self.clouds[self.cloud];
                return Transition::Next;
            }
            code if self.focus == 1 => {
                if let Some(next) = move_choice(self.cloud, self.clouds.len(), code) {
                    self.cloud = next;
                }
            }
            KeyCode::Up | KeyCode::Down => {
                self.focus = 1;
                return self.on_key(data, key);
            }
            _ => {
                if self.tenant.handle(key) {
                    self.error = None;
                }
            }
        }
        Transition::Stay
    }

    pub fn view(&self, model: &Model, frame: &mut Frame, area: Rect) {
        let theme = &model.theme;
        let mut lines = vec![
            Line::raw(
                "The tenant this server synchronizes to: its id (a GUID) or a verified domain.",
            ),
            Line::raw(""),
            self.tenant.line("Tenant", self.focus == 0, theme),
            Line::raw(""),
            Line::styled(
                "Cloud",
                if self.focus == 1 {
                    theme.current()
                } else {
                    theme.muted()
                },
            ),
        ];
        let options: Vec<(&str, &str)> = self.clouds.iter().map(|c| (c.label(), "")).collect();
        lines.extend(choice_lines(&options, self.cloud, theme));
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        prose(frame, area, "Connect to Microsoft Entra ID", lines, theme);
    }
}

/// Why `tenant` cannot be a tenant id or domain, if it cannot.
pub fn tenant_problem(tenant: &str) -> Option<String> {
    if tenant.is_empty() {
        return Some("Enter the tenant id or a domain such as contoso.onmicrosoft.com.".into());
    }
    let guid = uuid::Uuid::parse_str(tenant).is_ok();
    let domain = tenant.contains('.')
        && tenant
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-')
        && !tenant.starts_with('.')
        && !tenant.ends_with('.');
    (!guid && !domain).then(|| {
        format!("{tenant:?} is neither a tenant id (GUID) nor a domain name such as contoso.onmicrosoft.com.")
    })
}
