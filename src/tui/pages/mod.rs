//! The pages of the wizard, one file each, and the flow between them. A page
//! owns its state, turns keys into a [`Transition`], and draws itself; where
//! it goes next is derived from what was entered, not stored. Pages know the
//! shared types in `tui::model`, never the app that holds them.

pub mod app_id;
pub mod certificate;
pub mod configuring;
pub mod connect;
pub mod doctor;
pub mod done;
pub mod keys;
pub mod method;
pub mod options;
pub mod ready;
pub mod review;
pub mod rollback;
pub mod rotate;
pub mod scheduler;
pub mod sign_in;
pub mod sync_accounts;
pub mod tasks;
pub mod view_config;
pub mod welcome;

use super::model::{Command, Context, Task, WizardData};
use super::widgets::StepState;
use crate::domain::{ConnectorIdentityType, MethodAnswer, Remedy, SignInAnswer};
use crate::engine::{OperationRequest, Outcome};

/// What a page asks for after a key or a result.
#[derive(Debug, Clone, PartialEq)]
pub enum Transition {
    Stay,
    Next,
    Back,
    Quit,
    /// Start an engine task (the app gives it its id).
    Start(Task),
    /// Stop the running engine task (a sign-in given up on) and stay.
    Cancel,
    Do(Command),
}

/// The sign-in method a refusal's remedies move to (the device code
/// blocked by Conditional Access: the browser; a password where MFA is
/// required: the device code): the first other than `tried`, and not the
/// password where the page has no field for it (a task's own page).
pub fn method_past(
    remedies: &[Remedy],
    tried: SignInAnswer,
    password_field: bool,
) -> Option<SignInAnswer> {
    remedies.iter().find_map(|remedy| match remedy {
        Remedy::SignInWith { method }
            if *method != tried && (password_field || *method != SignInAnswer::Password) =>
        {
            Some(*method)
        }
        _ => None,
    })
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
    Doctor(doctor::State),
    ViewConfig(view_config::State),
    Scheduler(scheduler::State),
    Rotate(rotate::State),
    Keys(keys::State),
    RollBack(rollback::State),
    SyncAccounts(sync_accounts::State),
    Review(review::State),
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
    /// Where this page is among the first pass's steps; none outside it (the
    /// second pass's tasks have no such steps).
    fn step_index(&self) -> Option<usize> {
        let onboarding = match self {
            Page::Ready(state) => state.onboarding(),
            Page::Configuring(state) => {
                matches!(state.plan().request, OperationRequest::Onboard(_))
            }
            Page::Done(state) => matches!(state.outcome(), Outcome::Credential(_)),
            Page::SignIn(state) => !state.reviewing(),
            _ => true,
        };
        if !onboarding {
            return None;
        }
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

    /// What entering this page asks the app loop for: Ready its plan, Check
    /// this server its checks.
    pub fn on_enter(&mut self) -> Option<Command> {
        match self {
            Page::Ready(state) => state.ask_for_plan(),
            Page::Doctor(state) if state.checking() => Some(Command::Doctor),
            Page::Keys(state) if state.listing() => Some(Command::ListKeys),
            _ => None,
        }
    }

    /// Esc goes back, except in a page's own sub-mode (typing a file name)
    /// or while something runs.
    pub fn esc_goes_back(&self) -> bool {
        match self {
            Page::Ready(state) => !state.saving(),
            Page::ViewConfig(state) => !state.exporting(),
            Page::SyncAccounts(state) => !state.reading() && !state.confirming_way_back(),
            Page::Scheduler(state) => !state.confirming(),
            _ => !self.is_running(),
        }
    }

    pub fn animates(&self) -> bool {
        match self {
            Page::SignIn(state) => state.waiting(),
            Page::Configuring(state) => state.running(),
            Page::SyncAccounts(state) => state.reading(),
            _ => false,
        }
    }

    pub fn is_running(&self) -> bool {
        matches!(self, Page::Configuring(state) if state.running())
            || matches!(self, Page::SignIn(state) if state.waiting())
            || matches!(self, Page::SyncAccounts(state) if state.reading())
    }

    /// What Ctrl-C asks, saying what quitting now would stop.
    pub fn quit_question(&self) -> &'static str {
        match self {
            Page::Configuring(state) if state.running() => {
                "Quit and cancel the running change? The scheduler is put back. (y/n)"
            }
            // Otherwise what runs is a sign-in (with, on Remove a legacy service account, a read).
            _ if self.is_running() => {
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
            Page::SignIn(state) if state.waiting_for_browser() => &[
                ("Enter", "send the pasted address"),
                ("Esc", "cancel the sign-in"),
                ("Ctrl-C", "quit"),
            ],
            Page::SignIn(state) if state.waiting() => {
                &[("Esc", "cancel the sign-in"), ("Ctrl-C", "quit")]
            }
            Page::SignIn(_) => &[
                ("Tab", "next field"),
                ("↑↓", "method"),
                ("Enter", "sign in"),
                ("PgUp/PgDn", "scroll"),
                ("Esc", "back"),
            ],
            Page::Tasks(_) => &[("↑↓", "choose"), ("Enter", "continue"), ("q", "quit")],
            Page::Method(_) => &[
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
            // Still being worked out, or refused: nothing to confirm yet.
            Page::Ready(state) if state.plan().is_none() => &[("↑↓", "scroll"), ("Esc", "back")],
            Page::Ready(state) if !state.onboarding() => &[
                ("Enter", "make these changes"),
                ("↑↓", "scroll"),
                ("Esc", "back"),
            ],
            Page::Ready(_) => &[
                ("Enter", "make these changes"),
                ("↑↓", "scroll"),
                ("s", "save answers"),
                ("Esc", "back"),
            ],
            Page::Configuring(state) if state.failed() => {
                &[("r", "retry"), ("b/Esc", "back"), ("q", "quit")]
            }
            Page::Configuring(state) if state.waiting_for_browser() => &[
                ("Enter", "send the pasted address"),
                ("Ctrl-C", "cancel (the scheduler is put back)"),
            ],
            Page::Configuring(_) => &[("Ctrl-C", "cancel (the scheduler is put back)")],
            Page::Done(_) => &[("↑↓", "scroll"), ("Enter/q", "quit")],
            Page::ViewConfig(state) if state.exporting() => {
                &[("Enter", "export"), ("Esc", "cancel")]
            }
            Page::ViewConfig(_) => &[
                ("e", "export to a file"),
                ("↑↓", "scroll"),
                ("Esc", "back"),
                ("q", "quit"),
            ],
            Page::Doctor(_) => &[("↑↓", "scroll"), ("Esc", "back"), ("q", "quit")],
            Page::Scheduler(state) if state.confirming() => {
                &[("y", "turn it off"), ("n/Esc", "keep it on")]
            }
            Page::Scheduler(_) => &[
                ("s", "sync cycles on/off"),
                ("m", "maintenance on/off"),
                ("Esc", "back"),
            ],
            Page::Rotate(_) => &[
                ("Tab", "next field"),
                ("↑↓", "choose"),
                ("Enter", "continue"),
                ("Esc", "back"),
            ],
            Page::Keys(_) => &[
                ("↑↓", "choose"),
                ("Enter", "remove this key"),
                ("Esc", "back"),
                ("q", "quit"),
            ],
            Page::RollBack(_) => &[
                ("Tab", "next field"),
                ("Space", "wait on/off"),
                ("Enter", "continue"),
                ("Esc", "back"),
            ],
            Page::SyncAccounts(state) if state.waiting_for_browser() => &[
                ("Enter", "send the pasted address"),
                ("Esc", "cancel the sign-in"),
                ("Ctrl-C", "quit"),
            ],
            Page::SyncAccounts(state) if state.reading() => {
                &[("Esc", "cancel the sign-in"), ("Ctrl-C", "quit")]
            }
            Page::SyncAccounts(state) if state.confirming_way_back() => &[
                ("y", "remove it and forget the way back"),
                ("n/Esc", "choose again"),
            ],
            Page::SyncAccounts(state) if state.choosing() => &[
                ("↑↓", "choose"),
                ("Enter", "remove this account"),
                ("Esc", "back"),
                ("q", "quit"),
            ],
            Page::SyncAccounts(_) => &[("Enter", "sign in and list the accounts"), ("Esc", "back")],
            Page::Review(state) if state.clean() => {
                &[("↑↓", "scroll"), ("Esc", "back"), ("q", "quit")]
            }
            Page::Review(_) => &[
                ("↑↓", "choose"),
                ("Space", "mark"),
                ("a", "mark every unknown"),
                ("Enter", "revoke the marked"),
                ("Esc", "back"),
            ],
        }
    }

    /// Entering the page that follows this one, from what was entered.
    pub fn next(&self, data: &WizardData, context: &Context) -> Option<Page> {
        Some(match self {
            Page::Welcome(_) => Page::Connect(connect::State::new(data, context)),
            Page::Connect(_) => Page::SignIn(sign_in::State::new(data)),
            Page::SignIn(state) if state.reviewing() => {
                Page::Review(review::State::new(state.audit()?.clone()))
            }
            Page::SignIn(_) => Page::Method(method::State::new(data)),
            Page::Method(_) if data.method == MethodAnswer::Managed => {
                Page::Options(options::State)
            }
            Page::Method(_) => Page::Certificate(certificate::State::new(data, context)),
            Page::Certificate(_) if data.method == MethodAnswer::Byoa => {
                Page::AppId(app_id::State::new(data))
            }
            Page::Certificate(_) | Page::AppId(_) => Page::Options(options::State),
            Page::Options(_) => Page::Ready(ready::State::new(data.onboarding())),
            Page::Ready(state) => Page::Configuring(configuring::State::new(state.plan()?.clone())),
            Page::Configuring(state) => Page::Done(done::State::new(state.outcome()?.clone())),
            Page::Tasks(state) => state.open(data, context),
            Page::Rotate(state) => Page::Ready(ready::State::new(Ok(state.request(context)?))),
            Page::Keys(state) => Page::Ready(ready::State::new(Ok(state.request()?))),
            Page::RollBack(state) => Page::Ready(ready::State::new(Ok(state.request()))),
            Page::SyncAccounts(state) => Page::Ready(ready::State::new(Ok(state.request()?))),
            Page::Review(state) => Page::Ready(ready::State::new(Ok(state.request()?))),
            _ => return None,
        })
    }

    /// Going back, where that is safe; entered values are kept in the data.
    pub fn previous(&self, data: &WizardData, context: &Context) -> Option<Page> {
        let second_pass = !matches!(context.configured, None | Some(ConnectorIdentityType::None));
        Some(match self {
            Page::Connect(_) if second_pass => Page::Tasks(tasks::State::back_from(self, context)),
            Page::Connect(_) => Page::Welcome(welcome::State),
            Page::SignIn(state) if state.reviewing() => {
                Page::Tasks(tasks::State::back_from(self, context))
            }
            Page::SignIn(_) => Page::Connect(connect::State::new(data, context)),
            Page::Method(_) => Page::SignIn(sign_in::State::new(data)),
            Page::Certificate(_) => Page::Method(method::State::new(data)),
            Page::AppId(_) => Page::Certificate(certificate::State::new(data, context)),
            Page::Options(_) if data.method == MethodAnswer::Byoa => {
                Page::AppId(app_id::State::new(data))
            }
            Page::Options(_) if data.method == MethodAnswer::Byoc => {
                Page::Certificate(certificate::State::new(data, context))
            }
            Page::Options(_) => Page::Method(method::State::new(data)),
            Page::Ready(state) => match state.request() {
                Some(OperationRequest::Rotate(_)) => Page::Rotate(rotate::State::new(context)),
                Some(OperationRequest::RemoveKey(_)) => Page::Keys(keys::State::default()),
                Some(OperationRequest::RollBack(rollback)) => {
                    Page::RollBack(rollback::State::new(data, rollback.wait))
                }
                Some(OperationRequest::RemoveServiceAccount(_)) => {
                    Page::SyncAccounts(sync_accounts::State::new(data))
                }
                // The review is read again: the tenant may have changed meanwhile.
                Some(OperationRequest::Revoke(_)) => Page::SignIn(sign_in::State::for_review(data)),
                _ => Page::Options(options::State),
            },
            // A failed run goes back to its plan, worked out again from the server as it now is.
            Page::Configuring(state) if state.failed() => {
                Page::Ready(ready::State::new(Ok(state.plan().request.clone())))
            }
            Page::ViewConfig(_)
            | Page::Scheduler(_)
            | Page::Doctor(_)
            | Page::Rotate(_)
            | Page::Keys(_)
            | Page::RollBack(_)
            | Page::SyncAccounts(_)
            | Page::Review(_) => Page::Tasks(tasks::State::back_from(self, context)),
            _ => return None,
        })
    }
}
