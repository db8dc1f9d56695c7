//! Scheduler settings: view, and turn sync cycles and maintenance on or off.

use super::Transition;
use crate::domain::SchedulerSettings;
use crate::tui::model::{Command, Shared};
use crate::tui::widgets::prose;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Default)]
pub struct State;

pub fn on_key(settings: &SchedulerSettings, key: KeyEvent) -> Transition {
    match key.code {
        KeyCode::Char('s') => Transition::Do(Command::SetScheduler {
            sync_cycle_enabled: Some(!settings.sync_cycle_enabled),
            maintenance_enabled: None,
        }),
        KeyCode::Char('m') => Transition::Do(Command::SetScheduler {
            sync_cycle_enabled: None,
            maintenance_enabled: Some(!settings.maintenance_enabled),
        }),
        KeyCode::Char('q') => Transition::Quit,
        _ => Transition::Stay,
    }
}

pub fn view(shared: &Shared, frame: &mut Frame, area: Rect) {
    let settings = &shared.context.scheduler;
    let on_off = |value: bool| if value { "on" } else { "off" };
    let lines = vec![
        Line::raw(format!(
            "Sync cycles (SyncCycleEnabled)        {}",
            on_off(settings.sync_cycle_enabled)
        )),
        Line::raw(format!(
            "Maintenance (MaintenanceEnabled)      {}",
            on_off(settings.maintenance_enabled)
        )),
        Line::raw(format!(
            "Suspended (SchedulerSuspended)        {}",
            on_off(settings.scheduler_suspended)
        )),
        Line::raw(format!(
            "Interval                              {} minutes",
            settings.interval_minutes
        )),
    ];
    prose(frame, area, "Scheduler settings", lines, shared.theme);
}
