//! Remove a legacy service account (Remove-ADSyncAADServiceAccount): an
//! administrator who may delete users signs in, the tenant's directory
//! synchronization accounts are listed with what this server does with each
//! (in use, way back, not used), and one is chosen: never the one in use, the
//! way back only after an explicit confirmation.

use super::Transition;
use crate::domain::Input;
use crate::engine::OperationRequest;
use crate::engine::progress::Progress;
use crate::engine::service_account::{AccountName, AccountUse, RemoveServiceAccount, SyncAccount};
use crate::tui::model::{Failure, Shared, Task, WizardData};
use crate::tui::widgets::{
    SPINNER, Scroll, TaskSignIn, TextInput, choice_lines, move_choice, scrolled_prose, text_lines,
};
use crate::tui::words::{self, Asked};
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::Line;

#[derive(Debug, Clone)]
pub struct State {
    admin: TextInput,
    accounts: Accounts,
    selected: usize,
    /// Asking whether to remove this server's way back all the same.
    confirming_way_back: bool,
    error: Option<String>,
    /// Reads asked for on this page: a refusal asked again is numbered, so
    /// the same answer twice is seen to be a second answer.
    attempts: u32,
}

#[derive(Debug, Clone)]
enum Accounts {
    /// Not read yet: the administrator is being entered.
    Unread,
    /// The administrator signs in and the accounts are read.
    Reading {
        /// What the administrator's sign-in asks, while it waits.
        sign_in: Option<TaskSignIn>,
        ticks: u32,
    },
    Read(Result<Vec<SyncAccount>, Failure>),
}

/// The account's name, the part of its UPN before `@`, as the removal takes it.
fn name(account: &SyncAccount) -> Result<AccountName, String> {
    let upn = &account.user_principal_name;
    upn.split_once('@')
        .map_or(upn.as_str(), |(name, _)| name)
        .parse()
}

impl State {
    /// The page with the administrator entered so far; nothing read yet.
    pub fn new(data: &WizardData) -> State {
        State {
            admin: TextInput::of(data.upn.as_ref()).holding(Input::Upn),
            accounts: Accounts::Unread,
            selected: 0,
            confirming_way_back: false,
            error: None,
            attempts: 0,
        }
    }

    pub fn reading(&self) -> bool {
        matches!(self.accounts, Accounts::Reading { .. })
    }

    /// Whether the sign-in waits for the browser, with the field for the
    /// address it ends on.
    pub fn waiting_for_browser(&self) -> bool {
        matches!(&self.accounts, Accounts::Reading { sign_in, .. } if TaskSignIn::browser(sign_in.as_ref()))
    }

    pub fn confirming_way_back(&self) -> bool {
        self.confirming_way_back
    }

    /// Whether the accounts are listed to choose from.
    pub fn choosing(&self) -> bool {
        matches!(self.accounts, Accounts::Read(Ok(_)))
    }

    pub fn tick(&mut self) {
        if let Accounts::Reading { ticks, .. } = &mut self.accounts {
            *ticks += 1;
        }
    }

    pub fn progress(&mut self, progress: Progress) {
        // Reading the accounts changes nothing, so it never waits for a change.
        if let Accounts::Reading { sign_in, .. } = &mut self.accounts {
            TaskSignIn::follow(sign_in, &progress);
        }
    }

    pub fn listed(&mut self, accounts: Result<Vec<SyncAccount>, Failure>) {
        // An account this server does not use is the likely choice.
        if let Ok(accounts) = &accounts {
            self.selected = accounts
                .iter()
                .position(|account| account.use_on_this_server == AccountUse::None)
                .unwrap_or(0);
        }
        self.accounts = Accounts::Read(accounts);
    }

    fn chosen(&self) -> Option<&SyncAccount> {
        match &self.accounts {
            Accounts::Read(Ok(accounts)) => accounts.get(self.selected),
            _ => None,
        }
    }

    /// The removal chosen on this page; removing the way back forgets it.
    pub fn request(&self) -> Option<OperationRequest> {
        let chosen = self.chosen()?;
        Some(OperationRequest::RemoveServiceAccount(
            RemoveServiceAccount {
                name: name(chosen).ok()?,
                forget_rollback: chosen.use_on_this_server == AccountUse::WayBack,
            },
        ))
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        if self.confirming_way_back {
            self.confirming_way_back = false;
            return match key.code {
                KeyCode::Char('y') | KeyCode::Char('Y') => Transition::Next,
                _ => Transition::Stay,
            };
        }
        if let Accounts::Reading { sign_in, .. } = &mut self.accounts {
            // Esc gives up the sign-in (and the read), as on the Sign in page.
            if key.code == KeyCode::Esc {
                self.accounts = Accounts::Unread;
                return Transition::Cancel;
            }
            return (sign_in.as_mut())
                .and_then(|sign_in| sign_in.on_key(key))
                .map_or(Transition::Stay, Transition::Do);
        }
        match &self.accounts {
            Accounts::Reading { .. } => Transition::Stay,
            Accounts::Read(Ok(accounts)) => {
                let count = accounts.len();
                self.choose(key, count)
            }
            Accounts::Unread | Accounts::Read(Err(_)) => match key.code {
                KeyCode::Enter => self.list(data),
                _ => {
                    if self.admin.handle(key) {
                        self.error = None;
                    }
                    Transition::Stay
                }
            },
        }
    }

    /// Signs the administrator in and reads the accounts.
    fn list(&mut self, data: &mut WizardData) -> Transition {
        let admin = match self.admin.administrator() {
            Ok(Some(admin)) => admin,
            Ok(None) => {
                self.error = Some("Enter the administrator who lists the accounts.".into());
                return Transition::Stay;
            }
            Err(why) => {
                self.error = Some(why);
                return Transition::Stay;
            }
        };
        data.upn = Some(admin.clone());
        // Refused for the method (the device code blocked): the one the refusal names.
        if let Accounts::Read(Err(why)) = &self.accounts
            && let Some(method) = super::method_past(&why.remedies(), data.sign_in, false)
        {
            data.sign_in = method;
        }
        self.error = None;
        self.attempts += 1;
        self.accounts = Accounts::Reading {
            sign_in: None,
            ticks: 0,
        };
        Transition::Start(Task::ListSyncAccounts { admin })
    }

    fn choose(&mut self, key: KeyEvent, count: usize) -> Transition {
        match key.code {
            KeyCode::Enter => match self.chosen().map(|c| (c.use_on_this_server, name(c))) {
                None => {}
                Some((_, Err(why))) => self.error = Some(why),
                Some((AccountUse::InUse, _)) => {
                    self.error = Some(
                        "The connector signs in with this account: move it to application identity first (Configure application-based authentication).".into(),
                    );
                }
                Some((AccountUse::WayBack, _)) => self.confirming_way_back = true,
                Some((AccountUse::None, _)) => return Transition::Next,
            },
            KeyCode::Char('q') => return Transition::Quit,
            code => {
                if let Some(next) = move_choice(self.selected, count, code) {
                    self.selected = next;
                    self.error = None;
                }
            }
        }
        Transition::Stay
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let admin = self.admin.value.trim();
        let mut lines = Vec::new();
        // The line kept in view on a small window: a waiting browser's field.
        let mut focus = 0;
        match &self.accounts {
            Accounts::Unread | Accounts::Read(Err(_)) => {
                lines.push(Line::raw(format!(
                    "A directory synchronization account (Sync_<HOST>_…) that no server signs in with any more can be deleted. Listing and deleting them needs a Privileged Authentication Administrator or a Global Administrator (the role is privileged, so a User Administrator may not), who signs in with {}.",
                    words::signing_in_with(shared.data.sign_in)
                )));
                lines.push(Line::raw(""));
                lines.push(self.admin.line("Administrator", true, theme));
            }
            Accounts::Reading { sign_in, ticks } => {
                let spinner = SPINNER[(*ticks as usize) % SPINNER.len()];
                lines.push(Line::styled(
                    format!(
                        "{spinner} Signing in as {admin} and reading the directory synchronization accounts…"
                    ),
                    theme.muted(),
                ));
                if let Some(sign_in) = sign_in {
                    let (prompt, shown) = sign_in.lines(admin, spinner, theme);
                    focus = lines.len() + shown;
                    lines.extend(prompt);
                }
            }
            Accounts::Read(Ok(accounts)) => {
                lines.push(Line::raw(format!(
                    "The tenant's directory synchronization accounts, as {admin} reads them. The one this server's connector signs in with cannot be removed."
                )));
                lines.push(Line::raw(""));
                if accounts.is_empty() {
                    lines.push(Line::styled("  none in this tenant", theme.muted()));
                }
                let options: Vec<(&str, &str)> = accounts
                    .iter()
                    .map(|account| {
                        (
                            account.user_principal_name.as_str(),
                            account.use_on_this_server.describe(),
                        )
                    })
                    .collect();
                lines.extend(choice_lines(&options, self.selected, theme));
            }
        }
        if let Accounts::Read(Err(why)) = &self.accounts {
            lines.push(Line::raw(""));
            let heading = match self.attempts {
                0 | 1 => "The accounts could not be read:".to_string(),
                attempt => format!("The accounts could not be read (attempt {attempt}):"),
            };
            lines.push(Line::styled(heading, theme.error()));
            let why = words::failure_asked(why, Asked::Enter);
            lines.extend(text_lines(&why, theme.error()));
        }
        if let (true, Some(chosen)) = (self.confirming_way_back, self.chosen()) {
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "{} is this server's way back. Without it a rollback needs a new account, which only a Global Administrator (or a User Administrator with Privileged Role Administrator) can create. Remove it and forget the way back? (y/n)",
                    chosen.user_principal_name
                ),
                theme.warning(),
            ));
        }
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.push(Line::styled(error.clone(), theme.error()));
        }
        scrolled_prose(
            frame,
            area,
            "Remove a legacy service account",
            lines,
            theme,
            Scroll::Showing(focus),
        );
    }
}
