//! Additional tasks (second pass): what can be done on a configured server.

use super::{
    Page, Transition, connect, doctor, keys, rollback, rotate, scheduler, sign_in, sync_accounts,
    view_config,
};
use crate::domain::ConnectorIdentityType;
use crate::tui::model::{Context, Shared, WizardData};
use crate::tui::widgets::{Scroll, choice_lines, move_choice, scrolled_prose};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Task {
    ViewConfiguration,
    ConfigureApplication,
    Rotate,
    RemoveKey,
    Review,
    RollBack,
    RemoveServiceAccount,
    Doctor,
    Scheduler,
}

impl Task {
    fn label(self) -> (&'static str, &'static str) {
        match self {
            Task::ViewConfiguration => (
                "View or export current configuration",
                "what the connector signs in with",
            ),
            Task::ConfigureApplication => (
                "Configure application-based authentication",
                "switch from the service account to application identity",
            ),
            Task::Rotate => (
                "Rotate application certificate",
                "a new certificate for the application; the old key is removed",
            ),
            Task::RemoveKey => (
                "Remove an application key",
                "the application's keys (in use, this server's, unknown); revoke one",
            ),
            Task::Review => (
                "Review who can sign in as this connector",
                "credentials, owners and grants; revoke what this server did not add",
            ),
            Task::RollBack => (
                "Roll back to a service account",
                "sign in with a password again; the application is kept",
            ),
            Task::RemoveServiceAccount => (
                "Remove a legacy service account",
                "delete a directory synchronization account no server uses any more",
            ),
            Task::Doctor => (
                "Check this server",
                "every check, no change: endpoints, clock, keys, credential, scheduler",
            ),
            Task::Scheduler => (
                "Scheduler settings",
                "view and turn sync cycles and maintenance on or off",
            ),
        }
    }
}

/// The menu, on the task the cursor is on.
#[derive(Debug, Clone)]
pub struct State {
    selected: Task,
}

/// The tasks that exist for this server.
fn tasks(context: &Context) -> Vec<Task> {
    let mut tasks = vec![Task::ViewConfiguration];
    match context.configured {
        Some(ConnectorIdentityType::ServiceAccount) => tasks.push(Task::ConfigureApplication),
        Some(ConnectorIdentityType::Application) => {
            tasks.extend([Task::Rotate, Task::RemoveKey, Task::Review, Task::RollBack]);
        }
        _ => {}
    }
    // The legacy accounts live in the tenant of this server's credential:
    // offered once that is known (an application's tenant, a service account).
    let tenant_known = context
        .configuration
        .as_ref()
        .is_some_and(|report| report.tenant_id.is_some() || report.service_account.is_some());
    if tenant_known {
        tasks.push(Task::RemoveServiceAccount);
    }
    tasks.push(Task::Doctor);
    tasks.push(Task::Scheduler);
    tasks
}

impl State {
    /// The menu as the wizard opens on it: a connector still on its service
    /// account starts on the switch to application identity, which is what
    /// such a server is here for; others start at the top.
    pub fn new(context: &Context) -> State {
        let selected = match context.configured {
            Some(ConnectorIdentityType::ServiceAccount) => Task::ConfigureApplication,
            _ => Task::ViewConfiguration,
        };
        State { selected }
    }

    /// The menu coming back from `page`: on the task that page is part of,
    /// as it was left to open it.
    pub fn back_from(page: &Page, context: &Context) -> State {
        let selected = match page {
            Page::ViewConfig(_) => Task::ViewConfiguration,
            Page::Connect(_) => Task::ConfigureApplication,
            Page::Rotate(_) => Task::Rotate,
            Page::Keys(_) => Task::RemoveKey,
            Page::SignIn(state) if state.reviewing() => Task::Review,
            Page::Review(_) => Task::Review,
            Page::RollBack(_) => Task::RollBack,
            Page::SyncAccounts(_) => Task::RemoveServiceAccount,
            Page::Doctor(_) => Task::Doctor,
            Page::Scheduler(_) => Task::Scheduler,
            _ => return State::new(context),
        };
        State { selected }
    }

    /// Where the cursor is among the tasks offered (the top if its task is
    /// no longer offered).
    fn index(&self, tasks: &[Task]) -> usize {
        tasks
            .iter()
            .position(|task| *task == self.selected)
            .unwrap_or(0)
    }

    pub fn on_key(&mut self, context: &Context, key: KeyEvent) -> Transition {
        match key.code {
            KeyCode::Enter => Transition::Next,
            KeyCode::Char('q') => Transition::Quit,
            code => {
                let tasks = tasks(context);
                if let Some(next) = move_choice(self.index(&tasks), tasks.len(), code)
                    && let Some(task) = tasks.get(next)
                {
                    self.selected = *task;
                }
                Transition::Stay
            }
        }
    }

    pub fn open(&self, data: &WizardData, context: &Context) -> Page {
        let tasks = tasks(context);
        match tasks.get(self.index(&tasks)) {
            Some(Task::ConfigureApplication) => Page::Connect(connect::State::new(data, context)),
            Some(Task::Rotate) => Page::Rotate(rotate::State::new(context)),
            Some(Task::RemoveKey) => Page::Keys(keys::State::default()),
            Some(Task::Review) => Page::SignIn(sign_in::State::for_review(data)),
            Some(Task::RollBack) => Page::RollBack(rollback::State::new(data, true)),
            Some(Task::RemoveServiceAccount) => Page::SyncAccounts(sync_accounts::State::new(data)),
            Some(Task::Scheduler) => Page::Scheduler(scheduler::State::default()),
            Some(Task::Doctor) => Page::Doctor(doctor::State::default()),
            _ => Page::ViewConfig(view_config::State::default()),
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let configured = shared
            .context
            .configured
            .unwrap_or(ConnectorIdentityType::None);
        let tasks = tasks(shared.context);
        let options: Vec<(&str, &str)> = tasks.iter().map(|t| t.label()).collect();
        let mut lines = vec![
            Line::raw(format!("The connector signs in with: {configured}")),
            Line::raw(""),
        ];
        // Each task takes two lines, its name then its meaning: on a small
        // window the menu follows the cursor.
        let focus = lines.len() + 2 * self.index(&tasks) + 1;
        lines.extend(choice_lines(&options, self.index(&tasks), shared.theme));
        scrolled_prose(
            frame,
            area,
            "Additional tasks",
            lines,
            shared.theme,
            Scroll::Showing(focus),
        );
    }
}
