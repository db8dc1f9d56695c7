//! The pages of the wizard, one file each, and the flow between them. A page
//! owns its state, turns keys into a [`Transition`], and draws itself; where
//! it goes next is derived from what was entered, not stored.

pub mod app_id;
pub mod certificate;
pub mod configuring;
pub mod connect;
pub mod done;
pub mod method;
pub mod options;
pub mod ready;
pub mod scheduler;
pub mod sign_in;
pub mod tasks;
pub mod view_config;
pub mod welcome;

use super::app::{Command, Message, Model, WizardData};
use super::widgets::StepState;
use crate::domain::{ConnectorIdentityType, MethodAnswer};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;

/// What a page asks for after a key.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Stay,
    Next,
    Back,
    Quit,
    Run(Command),
}

#[derive(Debug, Clone)]
pub enum Page {
    Welcome(welcome::State),
    Connect(connect::State),
    SignIn(sign_in::State),
    Method(method::State),
    Certificate(certificate::State),
    AppId(app_id::State),
    Options(options::State),
    Ready(ready::State),
    Configuring(configuring::State),
    Done(done::State),
    Tasks(tasks::State),
    ViewConfig(view_config::State),
    Scheduler(scheduler::State),
}

/// The first-pass steps shown in the header, in order.
const STEPS: [&str; 9] = [
    "Welcome",
    "Connect",
    "Sign in",
    "Method",
    "Certificate",
    "App id",
    "Options",
    "Ready",
    "Configure",
];

impl Page {
    fn step_index(&self) -> Option<usize> {
        Some(match self {
            Page::Welcome(_) => 0,
            Page::Connect(_) => 1,
            Page::SignIn(_) => 2,
            Page::Method(_) => 3,
            Page::Certificate(_) => 4,
            Page::AppId(_) => 5,
            Page::Options(_) => 6,
            Page::Ready(_) => 7,
            Page::Configuring(_) | Page::Done(_) => 8,
            _ => return None,
        })
    }

    /// The header's steps: those the chosen method skips are hidden.
    pub fn steps(&self, data: &WizardData) -> Vec<(&'static str, StepState)> {
        let Some(current) = self.step_index() else {
            return Vec::new();
        };
        let finished = matches!(self, Page::Done(_));
        STEPS
            .iter()
            .enumerate()
            .filter(|(index, _)| match index {
                4 => data.method != MethodAnswer::Managed,
                5 => data.method == MethodAnswer::Byoa,
                _ => true,
            })
            .map(|(index, name)| {
                let state = if index < current || finished {
                    StepState::Done
                } else if index == current {
                    StepState::Current
                } else {
                    StepState::Ahead
                };
                (*name, state)
            })
            .collect()
    }

    /// Esc goes back, except in a page's own sub-mode (typing a file name)
    /// or while something runs.
    fn esc_goes_back(&self) -> bool {
        match self {
            Page::Ready(state) => !state.saving(),
            Page::ViewConfig(state) => !state.exporting(),
            _ => !self.is_running(),
        }
    }

    pub fn animates(&self) -> bool {
        match self {
            Page::SignIn(state) => state.waiting(),
            Page::Configuring(state) => state.running(),
            _ => false,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, Page::Configuring(state) if state.running())
            || matches!(self, Page::SignIn(state) if state.waiting())
    }

    /// What Ctrl-C asks, saying what quitting now would stop.
    pub fn quit_question(&self) -> &'static str {
        match self {
            Page::Configuring(state) if state.running() => {
                "Quit and cancel the running change? The scheduler is put back. (y/n)"
            }
            Page::SignIn(state) if state.waiting() => {
                "Quit? The sign-in is abandoned; nothing has been changed. (y/n)"
            }
            _ => "Quit the wizard? (y/n)",
        }
    }

    pub fn key_help(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Page::Welcome(_) => &[("Enter", "start"), ("q", "quit"), ("Ctrl-C", "quit")],
            Page::Connect(_) => &[
                ("Tab", "next field"),
                ("↑↓", "cloud"),
                ("Enter", "continue"),
                ("Esc", "back"),
            ],
            Page::SignIn(state) if state.waiting() => &[("Ctrl-C", "cancel")],
            Page::SignIn(_) => &[
                ("Tab", "next field"),
                ("↑↓", "method"),
                ("Enter", "sign in"),
                ("Esc", "back"),
            ],
            Page::Method(_) | Page::Tasks(_) => &[
                ("↑↓", "choose"),
                ("Enter", "continue"),
                ("Esc", "back"),
                ("q", "quit"),
            ],
            Page::Certificate(_) => &[
                ("↑↓", "choose"),
                ("Enter", "use this certificate"),
                ("Esc", "back"),
            ],
            Page::AppId(_) => &[("Enter", "continue"), ("Esc", "back")],
            Page::Options(_) => &[("Space", "toggle"), ("Enter", "continue"), ("Esc", "back")],
            Page::Ready(state) if state.saving() => &[("Enter", "save"), ("Esc", "cancel")],
            Page::Ready(_) => &[
                ("Enter", "make these changes"),
                ("s", "save answers"),
                ("Esc", "back"),
            ],
            Page::Configuring(state) if state.failed() => {
                &[("r", "retry"), ("b/Esc", "back"), ("q", "quit")]
            }
            Page::Configuring(_) => &[("Ctrl-C", "cancel (the scheduler is put back)")],
            Page::Done(_) => &[("Enter/q", "quit")],
            Page::ViewConfig(state) if state.exporting() => {
                &[("Enter", "export"), ("Esc", "cancel")]
            }
            Page::ViewConfig(_) => &[("e", "export to a file"), ("Esc", "back"), ("q", "quit")],
            Page::Scheduler(_) => &[
                ("s", "sync cycles on/off"),
                ("m", "maintenance on/off"),
                ("Esc", "back"),
            ],
        }
    }

    /// Entering the page that follows this one, from what was entered.
    fn next(&self, model: &Model) -> Option<Page> {
        let data = &model.data;
        Some(match self {
            Page::Welcome(_) => Page::Connect(connect::State::new(data)),
            Page::Connect(_) => Page::SignIn(sign_in::State::new(data)),
            Page::SignIn(_) => Page::Method(method::State::new(data)),
            Page::Method(_) if data.method == MethodAnswer::Managed => {
                Page::Options(options::State)
            }
            Page::Method(_) => Page::Certificate(certificate::State::new(data, &model.context)),
            Page::Certificate(_) if data.method == MethodAnswer::Byoa => {
                Page::AppId(app_id::State::new(data))
            }
            Page::Certificate(_) | Page::AppId(_) => Page::Options(options::State),
            Page::Options(_) => Page::Ready(ready::State::default()),
            Page::Ready(state) => Page::Configuring(configuring::State::new(state.plan()?.clone())),
            Page::Configuring(state) => Page::Done(done::State::new(state.outcome()?.clone())),
            Page::Tasks(state) => state.open(model),
            _ => return None,
        })
    }

    /// Going back, where that is safe; entered values are kept in the data.
    fn previous(&self, model: &Model) -> Option<Page> {
        let data = &model.data;
        let second_pass = !matches!(
            model.context.configured,
            None | Some(ConnectorIdentityType::None)
        );
        Some(match self {
            Page::Connect(_) if second_pass => Page::Tasks(tasks::State::default()),
            Page::Connect(_) => Page::Welcome(welcome::State),
            Page::SignIn(_) => Page::Connect(connect::State::new(data)),
            Page::Method(_) => Page::SignIn(sign_in::State::new(data)),
            Page::Certificate(_) => Page::Method(method::State::new(data)),
            Page::AppId(_) => Page::Certificate(certificate::State::new(data, &model.context)),
            Page::Options(_) if data.method == MethodAnswer::Byoa => {
                Page::AppId(app_id::State::new(data))
            }
            Page::Options(_) if data.method == MethodAnswer::Byoc => {
                Page::Certificate(certificate::State::new(data, &model.context))
            }
            Page::Options(_) => Page::Method(method::State::new(data)),
            Page::Ready(_) => Page::Options(options::State),
            Page::Configuring(state) if state.failed() => Page::Ready(ready::State::default()),
            Page::ViewConfig(_) | Page::Scheduler(_) => Page::Tasks(tasks::State::default()),
            _ => return None,
        })
    }
}

/// Routes a message to the page it concerns.
pub fn update(model: &mut Model, message: Message) -> Option<Command> {
    let transition = match message {
        Message::Key(key) => on_key(model, key),
        Message::Resize | Message::Saved(_) | Message::SchedulerChanged(_) => Transition::Stay,
        Message::Tick => {
            match &mut model.page {
                Page::SignIn(state) => state.tick(),
                Page::Configuring(state) => state.tick(),
                _ => {}
            }
            Transition::Stay
        }
        Message::Progress(progress) => {
            match &mut model.page {
                Page::SignIn(state) => state.progress(progress),
                Page::Configuring(state) => state.progress(progress),
                _ => {}
            }
            Transition::Stay
        }
        Message::SignedIn(result) => match &mut model.page {
            Page::SignIn(state) => state.signed_in(result),
            _ => Transition::Stay,
        },
        Message::Planned(result) => {
            if let Page::Ready(state) = &mut model.page {
                state.planned(result);
            }
            Transition::Stay
        }
        Message::Finished(result) => match &mut model.page {
            Page::Configuring(state) => state.finished(result),
            _ => Transition::Stay,
        },
    };
    apply(model, transition)
}

fn on_key(model: &mut Model, key: KeyEvent) -> Transition {
    if key.code == KeyCode::Esc && model.page.esc_goes_back() {
        return Transition::Back;
    }
    let Model {
        page,
        data,
        context,
        ..
    } = model;
    match page {
        Page::Welcome(_) => welcome::on_key(key),
        Page::Connect(state) => state.on_key(data, key),
        Page::SignIn(state) => state.on_key(data, key),
        Page::Method(state) => state.on_key(data, key),
        Page::Certificate(state) => state.on_key(data, context, key),
        Page::AppId(state) => state.on_key(data, key),
        Page::Options(_) => options::on_key(data, key),
        Page::Ready(state) => state.on_key(key, data),
        Page::Configuring(state) => state.on_key(key),
        Page::Done(_) => done::on_key(key),
        Page::Tasks(state) => state.on_key(context, key),
        Page::ViewConfig(state) => state.on_key(key),
        Page::Scheduler(_) => scheduler::on_key(&context.scheduler, key),
    }
}

fn apply(model: &mut Model, transition: Transition) -> Option<Command> {
    match transition {
        Transition::Stay => None,
        Transition::Quit => {
            model.quit = true;
            None
        }
        Transition::Run(command) => {
            // Confirming the plan on Ready moves on as the flow says.
            if let (Command::Run(_), Page::Ready(_)) = (&command, &model.page)
                && let Some(next) = model.page.next(model)
            {
                model.page = next;
            }
            Some(command)
        }
        Transition::Next => {
            let next = model.page.next(model)?;
            let entering_ready = matches!(next, Page::Ready(_));
            model.page = next;
            entering_ready.then_some(Command::BuildPlan)
        }
        Transition::Back => {
            model.page = model.page.previous(model)?;
            None
        }
    }
}

pub fn view(model: &Model, frame: &mut Frame, area: Rect) {
    match &model.page {
        Page::Welcome(_) => welcome::view(model, frame, area),
        Page::Connect(state) => state.view(model, frame, area),
        Page::SignIn(state) => state.view(model, frame, area),
        Page::Method(state) => state.view(model, frame, area),
        Page::Certificate(state) => state.view(model, frame, area),
        Page::AppId(state) => state.view(model, frame, area),
        Page::Options(_) => options::view(model, frame, area),
        Page::Ready(state) => state.view(model, frame, area),
        Page::Configuring(state) => state.view(model, frame, area),
        Page::Done(state) => state.view(model, frame, area),
        Page::Tasks(state) => state.view(model, frame, area),
        Page::ViewConfig(state) => state.view(model, frame, area),
        Page::Scheduler(_) => scheduler::view(model, frame, area),
    }
}
