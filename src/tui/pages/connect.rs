//! Connect: which tenant, in which cloud.

use super::Transition;
use crate::domain::{Cloud, ConnectionInputs, Input, Tenant};
use crate::tui::model::{Context, SandboxEndpoints, Shared, WizardData};
use crate::tui::widgets::{TextInput, choice_lines, move_choice, prose};
use crate::tui::words;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

/// One entry of the cloud list: a cloud, or (with `wizard --sandbox`) the
/// sandbox tenant, which is the public cloud's protocol at local endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Sandbox,
    Cloud(Cloud),
}

impl Choice {
    fn label(self) -> &'static str {
        match self {
            Choice::Sandbox => "Sandbox tenant (local emulation)",
            Choice::Cloud(cloud) => cloud.label(),
        }
    }

    /// The sandbox speaks the public cloud's protocol.
    fn cloud(self) -> Cloud {
        match self {
            Choice::Sandbox => Cloud::Public,
            Choice::Cloud(cloud) => cloud,
        }
    }
}

#[derive(Debug, Clone)]
pub struct State {
    tenant: TextInput,
    choice: usize,
    choices: Vec<Choice>,
    sandbox: Option<SandboxEndpoints>,
    /// 0: tenant field, 1: cloud list.
    focus: usize,
    error: Option<String>,
}

impl State {
    pub fn new(data: &WizardData, context: &Context) -> State {
        let clouds = Cloud::ALL.map(Choice::Cloud);
        let choices: Vec<Choice> = match context.sandbox {
            Some(_) => std::iter::once(Choice::Sandbox).chain(clouds).collect(),
            None => clouds.to_vec(),
        };
        let current = match (&context.sandbox, &data.connection.authority_host) {
            (Some(_), Some(_)) => Choice::Sandbox,
            _ => Choice::Cloud(data.connection.cloud.unwrap_or_default()),
        };
        State {
            tenant: TextInput::of(data.connection.tenant.as_ref()).holding(Input::Tenant),
            choice: choices.iter().position(|c| *c == current).unwrap_or(0),
            choices,
            sandbox: context.sandbox.clone(),
            focus: 0,
            error: None,
        }
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        match key.code {
            KeyCode::Tab | KeyCode::BackTab => self.focus = 1 - self.focus,
            KeyCode::Enter => {
                let tenant = match self.tenant.value.parse::<Tenant>() {
                    Ok(tenant) => tenant,
                    Err(why) => {
                        self.error = Some(format!("{why}."));
                        return Transition::Stay;
                    }
                };
                let choice = self.choices[self.choice];
                let endpoints = match choice {
                    Choice::Sandbox => self.sandbox.clone(),
                    Choice::Cloud(_) => None,
                };
                data.connection = ConnectionInputs {
                    tenant: Some(tenant),
                    cloud: Some(choice.cloud()),
                    authority_host: endpoints.as_ref().map(|e| e.authority_host.clone()),
                    graph_url: endpoints.map(|e| e.graph_url),
                    ca_cert: None,
                };
                return Transition::Next;
            }
            code if self.focus == 1 => {
                if let Some(next) = move_choice(self.choice, self.choices.len(), code) {
                    self.choice = next;
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

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines = vec![
            Line::raw(
                "The tenant this server synchronizes to: its id (a GUID) or a verified domain.",
            ),
            Line::raw(""),
            self.tenant.line("Tenant", self.focus == 0, theme),
        ];
        if let (Ok(tenant), Some(upn)) = (self.tenant.value.parse::<Tenant>(), &shared.data.upn)
            && let Some(check) = words::account_outside_tenant(upn, &tenant)
        {
            lines.push(Line::styled(check, theme.warning()));
        }
        lines.extend([
            Line::raw(""),
            Line::styled(
                "Cloud",
                if self.focus == 1 {
                    theme.current()
                } else {
                    theme.muted()
                },
            ),
        ]);
        let options: Vec<(&str, &str)> = self.choices.iter().map(|c| (c.label(), "")).collect();
        lines.extend(choice_lines(&options, self.choice, theme));
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        prose(frame, area, "Connect to Microsoft Entra ID", lines, theme);
    }
}
