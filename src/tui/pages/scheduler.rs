//! Scheduler settings: view, and turn sync cycles and maintenance on or off.
//! Turning one off stops something the administrator may rely on without
//! seeing it (synchronization; automatic rotation and the key audit), so it
//! is asked first, with what it costs.

use super::Transition;
use crate::domain::SchedulerSettings;
use crate::tui::model::{Command, Context, Shared};
use crate::tui::widgets::{field_line, prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Default)]
pub struct State {
    /// Asking whether to turn this off.
    confirming: Option<Setting>,
}

/// A setting the page turns on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    SyncCycles,
    Maintenance,
}

impl Setting {
    fn is_on(self, settings: &SchedulerSettings) -> bool {
        match self {
            Setting::SyncCycles => settings.sync_cycle_enabled,
            Setting::Maintenance => settings.maintenance_enabled,
        }
    }

    /// The command that sets it to `on`.
    fn set(self, on: bool) -> Command {
        Command::SetScheduler {
            sync_cycle_enabled: (self == Setting::SyncCycles).then_some(on),
            maintenance_enabled: (self == Setting::Maintenance).then_some(on),
        }
    }
}

impl State {
    pub fn confirming(&self) -> bool {
        self.confirming.is_some()
    }

    pub fn on_key(&mut self, settings: &SchedulerSettings, key: KeyEvent) -> Transition {
        if let Some(setting) = self.confirming.take() {
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Transition::Do(setting.set(false)),
                _ => Transition::Stay,
            };
        }
        let setting = match key.code {
            KeyCode::Char('s') => Setting::SyncCycles,
            KeyCode::Char('m') => Setting::Maintenance,
            KeyCode::Char('q') => return Transition::Quit,
            _ => return Transition::Stay,
        };
        match setting.is_on(settings) {
            // Turning off: asked first.
            true => {
                self.confirming = Some(setting);
                Transition::Stay
            }
            false => Transition::Do(setting.set(true)),
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let settings = &shared.context.scheduler;
        let on_off = |value: bool| if value { "on" } else { "off" }.to_string();
        let mut lines = vec![
            field_line(
                "Sync cycles (SyncCycleEnabled)",
                on_off(settings.sync_cycle_enabled),
                38,
            ),
            field_line(
                "Maintenance (MaintenanceEnabled)",
                on_off(settings.maintenance_enabled),
                38,
            ),
            field_line(
                "Suspended (SchedulerSuspended)",
                on_off(settings.scheduler_suspended),
                38,
            ),
            field_line(
                "Interval",
                format!("{} minutes", settings.interval_minutes),
                38,
            ),
        ];
        if let Some(setting) = self.confirming {
            lines.push(Line::raw(""));
            lines.push(Line::styled(cost(setting, shared.context), theme.warning()));
        }
        prose(frame, area, "Scheduler settings", lines, theme);
    }
}

/// What turning `setting` off stops, and the question.
fn cost(setting: Setting, context: &Context) -> String {
    match setting {
        Setting::SyncCycles => "Turn sync cycles off? The directory stops synchronizing to Entra until they are turned on again. (y/n)".to_string(),
        Setting::Maintenance => {
            let certificate = context
                .configuration
                .as_ref()
                .and_then(|configuration| configuration.certificate.as_ref())
                .filter(|certificate| certificate.automatic_rotation_enabled);
            let rotation = match certificate.and_then(|c| c.details.as_ref()) {
                Some(info) => format!(
                    "Automatic rotation stops: the certificate expires on {} and will not be rotated",
                    info.not_after.date()
                ),
                None => "Automatic rotation stops".to_string(),
            };
            format!(
                "Turn maintenance off? {}, and the application's keys are no longer audited. (y/n)",
                match certificate {
                    Some(_) => rotation,
                    None => "Nothing rotates automatically now, but it would stop any later automatic rotation".to_string(),
                }
            )
        }
    }
}
