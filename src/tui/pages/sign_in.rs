//! Sign in: device code (the default on a console without a browser), a
//! user name and password for accounts without MFA, or a browser (for
//! tenants whose Conditional Access blocks the device code). Shows the code,
//! a countdown and a spinner while waiting for approval; for the browser, the
//! address to open and a field for the address a browser on another machine
//! ends on, pasted back. Esc gives up the waiting sign-in. The first pass
//! signs in here for onboarding; "Review who can sign in as this connector"
//! signs in here too, and its sign-in reads the review.

use super::Transition;
use crate::domain::{Input, Remedy, SignInAnswer, Upn};
use crate::engine::audit::Audit;
use crate::engine::progress::Progress;
use crate::entra::Secret;
use crate::tui::model::{Failure, Shared, Task, WizardData};
use crate::tui::theme::Theme;
use crate::tui::widgets::{
    BrowserPrompt, SPINNER, Scroll, TextInput, choice_lines, move_choice, prose, scrolled,
    scrolled_prose, text_lines,
};
use crate::tui::words;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent};
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

/// Ticks per second of the app loop while something animates.
pub const TICKS_PER_SECOND: u32 = 10;

#[derive(Debug, Clone)]
pub struct State {
    /// Which of [`METHODS`].
    method: usize,
    upn: TextInput,
    password: TextInput,
    /// 0: method, 1: account, 2: password.
    focus: usize,
    waiting: Option<Waiting>,
    error: Option<String>,
    /// Lines scrolled down (PgUp/PgDn), when an explanation overflows the page.
    scroll: u16,
    purpose: Purpose,
}

/// What the administrator signs in for.
#[derive(Debug, Clone)]
enum Purpose {
    /// The first pass: onboarding, planned once the method is chosen.
    Onboarding,
    /// The review of who can sign in as this connector, and its removals:
    /// the audit once the administrator read it.
    Review(Option<Audit>),
}

#[derive(Debug, Clone, Default)]
struct Waiting {
    /// What the administrator is asked to do, once the sign-in says.
    prompt: Option<Prompt>,
    ticks: u32,
}

/// What a waiting sign-in asks of the administrator.
#[derive(Debug, Clone)]
enum Prompt {
    /// Enter `user_code` at `verification_uri` before it expires.
    Code {
        verification_uri: String,
        user_code: String,
        expires_in_seconds: u64,
    },
    /// Open the address in a browser; from a browser on another machine,
    /// paste back the address it ends on.
    Browser(BrowserPrompt),
}

impl Waiting {
    /// A key while the sign-in waits: the browser's field takes it.
    fn on_key(&mut self, key: KeyEvent) -> Transition {
        match &mut self.prompt {
            Some(Prompt::Browser(prompt)) => {
                prompt.on_key(key).map_or(Transition::Stay, Transition::Do)
            }
            _ => Transition::Stay,
        }
    }
}

/// The methods offered, in order: how each is answered, named and explained.
const METHODS: [(SignInAnswer, &str, &str); 3] = [
    (
        SignInAnswer::DeviceCode,
        "Device code (recommended)",
        "open a URL on any device with a browser and enter a code",
    ),
    (
        SignInAnswer::Password,
        "User name and password",
        "only for accounts without multi-factor authentication",
    ),
    (
        SignInAnswer::Browser,
        "Browser (when the device code is blocked)",
        "in a browser; from another machine, paste back where it ends",
    ),
];

/// Where `answer` is among [`METHODS`].
fn method_of(answer: SignInAnswer) -> usize {
    METHODS
        .iter()
        .position(|(method, ..)| *method == answer)
        .unwrap_or(0)
}

impl State {
    pub fn new(data: &WizardData) -> State {
        State {
            method: method_of(data.sign_in),
            upn: TextInput::of(data.upn.as_ref()).holding(Input::Upn),
            password: TextInput::masked(),
            focus: 1,
            waiting: None,
            error: None,
            scroll: 0,
            purpose: Purpose::Onboarding,
        }
    }

    /// The sign-in of "Review who can sign in as this connector": the
    /// administrator who reads the review and makes the removals.
    pub fn for_review(data: &WizardData) -> State {
        State {
            purpose: Purpose::Review(None),
            ..State::new(data)
        }
    }

    /// Whether this sign-in is the review's (not the first pass's).
    pub fn reviewing(&self) -> bool {
        matches!(self.purpose, Purpose::Review(_))
    }

    /// What the review's sign-in read, once it did.
    pub fn audit(&self) -> Option<&Audit> {
        match &self.purpose {
            Purpose::Review(audit) => audit.as_ref(),
            Purpose::Onboarding => None,
        }
    }

    pub fn waiting(&self) -> bool {
        self.waiting.is_some()
    }

    /// Whether the sign-in waits for the browser, with the field for the
    /// address it ends on.
    pub fn waiting_for_browser(&self) -> bool {
        matches!(
            self.waiting,
            Some(Waiting {
                prompt: Some(Prompt::Browser(_)),
                ..
            })
        )
    }

    fn answer(&self) -> SignInAnswer {
        METHODS[self.method].0
    }

    fn fields(&self) -> usize {
        if self.answer() == SignInAnswer::Password {
            3
        } else {
            2
        }
    }

    pub fn on_key(&mut self, data: &mut WizardData, key: KeyEvent) -> Transition {
        if let Some(waiting) = &mut self.waiting {
            if key.code == KeyCode::Esc {
                self.waiting = None;
                return Transition::Cancel;
            }
            return waiting.on_key(key);
        }
        match key.code {
            KeyCode::PageUp | KeyCode::PageDown => {
                let most = self.error.as_ref().map_or(0, |e| e.len() / 40 + 2);
                self.scroll = scrolled(self.scroll, key.code, u16::try_from(most).unwrap_or(0));
            }
            KeyCode::Tab => self.focus = (self.focus + 1) % self.fields(),
            KeyCode::BackTab => self.focus = (self.focus + self.fields() - 1) % self.fields(),
            KeyCode::Enter => {
                let upn = match self.upn.value.parse::<Upn>() {
                    Ok(upn) => upn,
                    Err(why) => {
                        self.error = Some(format!("{why}."));
                        self.focus = 1;
                        return Transition::Stay;
                    }
                };
                let password = self.answer() == SignInAnswer::Password;
                if password && self.password.value.is_empty() {
                    self.error = Some("Enter the password, or use the device code.".into());
                    self.focus = 2;
                    return Transition::Stay;
                }
                data.upn = Some(upn.clone());
                data.sign_in = self.answer();
                self.error = None;
                self.waiting = Some(Waiting::default());
                let password =
                    password.then(|| Secret::new(std::mem::take(&mut self.password.value)));
                return Transition::Start(match self.purpose {
                    Purpose::Onboarding => Task::SignIn { upn, password },
                    Purpose::Review(_) => Task::Review { upn, password },
                });
            }
            code if self.focus == 0 => {
                if let Some(next) = move_choice(self.method, METHODS.len(), code) {
                    self.method = next;
                }
            }
            _ => {
                let field = if self.focus == 2 {
                    &mut self.password
                } else {
                    &mut self.upn
                };
                if field.handle(key) {
                    self.error = None;
                }
            }
        }
        Transition::Stay
    }

    pub fn tick(&mut self) {
        if let Some(waiting) = &mut self.waiting {
            waiting.ticks += 1;
        }
    }

    pub fn progress(&mut self, progress: Progress) {
        let Some(waiting) = &mut self.waiting else {
            return;
        };
        waiting.prompt = match progress {
            Progress::SignInCode {
                verification_uri,
                user_code,
                expires_in_seconds,
            } => Some(Prompt::Code {
                verification_uri,
                user_code,
                expires_in_seconds,
            }),
            Progress::SignInBrowser { url } => Some(Prompt::Browser(BrowserPrompt::new(url))),
            _ => return,
        };
        waiting.ticks = 0;
    }

    pub fn signed_in(&mut self, result: Result<String, Failure>) -> Transition {
        self.answered(result.map(|_| ()))
    }

    /// The review's sign-in and read ended: on to the review with what it
    /// read, or why not, here.
    pub fn reviewed(&mut self, result: Result<Audit, Failure>) -> Transition {
        let result = result.map(|audit| {
            if let Purpose::Review(read) = &mut self.purpose {
                *read = Some(audit);
            }
        });
        self.answered(result)
    }

    fn answered(&mut self, result: Result<(), Failure>) -> Transition {
        self.waiting = None;
        self.scroll = 0;
        match result {
            Ok(()) => Transition::Next,
            Err(why) => {
                self.error = Some(crate::tui::words::failure(&why));
                self.offer_another_method(&why.remedies());
                Transition::Stay
            }
        }
    }

    /// A refusal another method gets past (the device code blocked by
    /// Conditional Access: the browser; a password where MFA is required:
    /// the device code) moves the choice to the first such method, so that
    /// Enter tries it.
    fn offer_another_method(&mut self, remedies: &[Remedy]) {
        if let Some(method) = super::method_past(remedies, self.answer(), true) {
            self.method = method_of(method);
            self.focus = 1;
        }
    }

    pub fn view(&self, shared: &Shared, frame: &mut Frame, area: Rect) {
        let theme = shared.theme;
        let mut lines = Vec::new();
        if let Some(waiting) = &self.waiting {
            self.view_waiting(waiting, theme, frame, area);
            return;
        }
        lines.push(Line::raw(match self.purpose {
            Purpose::Onboarding => {
                "Sign in as a Hybrid Identity Administrator (or Global Administrator) of the tenant."
            }
            Purpose::Review(_) => {
                "Sign in as an administrator who may read the connector's application and revoke what was added to it: an Application Administrator, Cloud Application Administrator or Global Administrator removes credentials and owners; Microsoft Graph's app roles only a Privileged Role Administrator or Global Administrator removes."
            }
        }));
        lines.push(Line::raw(""));
        lines.push(Line::styled(
            "Method",
            if self.focus == 0 {
                theme.current()
            } else {
                theme.muted()
            },
        ));
        let methods = METHODS.map(|(_, name, meaning)| (name, meaning));
        lines.extend(choice_lines(&methods, self.method, theme));
        lines.push(Line::raw(""));
        lines.push(self.upn.line("Account (UPN)", self.focus == 1, theme));
        if let (Ok(upn), Some(tenant)) = (
            self.upn.value.parse::<Upn>(),
            &shared.data.connection.tenant,
        ) && let Some(check) = words::account_outside_tenant(&upn, tenant)
        {
            lines.push(Line::styled(check, theme.warning()));
        }
        if self.answer() == SignInAnswer::Password {
            lines.push(self.password.line("Password", self.focus == 2, theme));
        }
        if let Some(error) = &self.error {
            lines.push(Line::raw(""));
            lines.extend(text_lines(error, theme.error()));
        }
        scrolled_prose(
            frame,
            area,
            "Sign in",
            lines,
            theme,
            Scroll::Top(self.scroll),
        );
    }

    /// The page while the sign-in waits: what the administrator is asked to
    /// do, once the sign-in says, and a spinner.
    fn view_waiting(&self, waiting: &Waiting, theme: &Theme, frame: &mut Frame, area: Rect) {
        let spinner = SPINNER[(waiting.ticks as usize) % SPINNER.len()];
        let upn = self.upn.value.trim();
        let mut lines = Vec::new();
        match &waiting.prompt {
            Some(Prompt::Code {
                verification_uri,
                user_code,
                expires_in_seconds,
            }) => {
                let left =
                    expires_in_seconds.saturating_sub(u64::from(waiting.ticks / TICKS_PER_SECOND));
                lines.extend([
                    Line::raw("On any device with a browser, open:"),
                    Line::raw(""),
                    Line::styled(format!("    {verification_uri}"), theme.current()),
                    Line::raw(""),
                    Line::from(vec![
                        Span::raw("and enter the code:  "),
                        Span::styled(user_code.clone(), theme.title()),
                    ]),
                    Line::raw(""),
                    Line::raw(format!("then sign in as {upn}.")),
                    Line::raw(""),
                    Line::styled(
                        format!(
                            "{spinner} Waiting for approval… the code expires in {}:{:02}",
                            left / 60,
                            left % 60
                        ),
                        theme.muted(),
                    ),
                ]);
            }
            Some(Prompt::Browser(prompt)) => {
                let (lines, shown) = prompt.lines(upn, spinner, theme);
                // The field and the status under it stay in view on a small window.
                scrolled_prose(frame, area, "Sign in", lines, theme, Scroll::Showing(shown));
                return;
            }
            None => {
                let reading = match self.purpose {
                    Purpose::Onboarding => "",
                    Purpose::Review(_) => " and reading who can sign in as this connector",
                };
                lines.push(Line::styled(
                    format!("{spinner} Signing in as {upn}{reading}…"),
                    theme.muted(),
                ));
            }
        }
        prose(frame, area, "Sign in", lines, theme);
    }
}
