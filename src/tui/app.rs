//! The wizard as the Elm architecture: one [`Model`], the [`Message`]s that
//! change it, a pure [`update`] that returns the [`Command`]s to run (effects
//! as data), and a pure [`view`]. Only the app loop (`super::run`) executes
//! commands and talks to the engine.

use super::pages::{self, Page};
use super::theme::Theme;
use super::widgets;
use crate::domain::{Answers, CertificateHash, MethodAnswer, SchedulerSettings, SignInAnswer};
use crate::engine::ConfigurationReport;
use crate::engine::onboard::Plan;
use crate::engine::progress::Progress;
use crate::keys::StoredCertificate;
use ratatui::Frame;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use std::path::PathBuf;
use time::OffsetDateTime;

/// The smallest terminal the wizard draws in.
pub const MIN_WIDTH: u16 = 80;
pub const MIN_HEIGHT: u16 = 24;

/// Everything entered so far; kept when going back so nothing is typed twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WizardData {
    pub tenant: String,
    pub cloud: Cloud,
    pub sign_in: SignInAnswer,
    pub upn: String,
    pub method: MethodAnswer,
    pub certificate: Option<CertificateHash>,
    pub app_id: String,
    pub password_writeback: bool,
}

/// The clouds the Connect page offers; `Sandbox` only with `wizard --sandbox`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Cloud {
    #[default]
    Public,
    Usgov,
    China,
    Sandbox,
}

impl Cloud {
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Public => "Microsoft Entra ID (worldwide)",
            Cloud::Usgov => "US Government",
            Cloud::China => "China (21Vianet)",
            Cloud::Sandbox => "Sandbox tenant (local emulation)",
        }
    }
}

/// Facts from outside the wizard, loaded by the app loop and refreshed by it.
#[derive(Debug, Clone)]
pub struct Context {
    /// None on the first pass; the configured identity type on the second.
    pub configured: Option<crate::domain::ConnectorIdentityType>,
    /// Whether the machine has a TPM device (keys still go to the software store).
    pub tpm_present: bool,
    pub certificates: Vec<StoredCertificate>,
    pub configuration: Option<ConfigurationReport>,
    pub scheduler: SchedulerSettings,
    pub sandbox: bool,
    pub now: OffsetDateTime,
}

/// The wizard's whole state.
pub struct Model {
    pub page: Page,
    pub data: WizardData,
    pub context: Context,
    pub theme: Theme,
    /// Asking "quit?" after Ctrl-C.
    pub confirm_quit: bool,
    /// A transient notice on the status line (export done, answers saved...).
    pub notice: Option<String>,
    pub quit: bool,
}

/// Everything that can happen to the wizard.
#[derive(Debug, Clone)]
pub enum Message {
    Key(KeyEvent),
    Resize,
    Tick,
    Progress(Progress),
    SignedIn(Result<String, String>),
    Planned(Result<Plan, String>),
    Finished(Result<Outcome, String>),
    /// A file was written (configuration export, answers).
    Saved(Result<PathBuf, String>),
    SchedulerChanged(Result<SchedulerSettings, String>),
}

/// What a finished onboarding produced, for the Done page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub app_id: String,
    pub certificate: CertificateHash,
}

/// Effects the app loop carries out.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    StartSignIn {
        upn: String,
        password: Option<String>,
    },
    Run(Plan),
    Cancel,
    Export(PathBuf),
    SaveAnswers(PathBuf, Box<Answers>),
    SetScheduler {
        sync_cycle_enabled: Option<bool>,
        maintenance_enabled: Option<bool>,
    },
    BuildPlan,
}

impl Model {
    pub fn new(context: Context, data: WizardData, theme: Theme) -> Model {
        let page = match context.configured {
            None | Some(crate::domain::ConnectorIdentityType::None) => {
                Page::Welcome(Default::default())
            }
            Some(_) => Page::Tasks(Default::default()),
        };
        Model {
            page,
            data,
            context,
            theme,
            confirm_quit: false,
            notice: None,
            quit: false,
        }
    }

    /// Whether something animates (spinner, countdown): only then does the loop tick.
    pub fn wants_ticks(&self) -> bool {
        self.page.animates()
    }
}

/// The answers file for what was entered (never a password).
pub fn answers(data: &WizardData) -> Answers {
    Answers {
        tenant: data.tenant.clone(),
        cloud: match data.cloud {
            Cloud::Public | Cloud::Sandbox => None,
            Cloud::Usgov => Some("usgov".into()),
            Cloud::China => Some("china".into()),
        },
        authority_host: None,
        graph_url: None,
        ca_cert: None,
        upn: data.upn.clone(),
        sign_in: data.sign_in,
        method: data.method,
        certificate_sha256: data.certificate.clone(),
        application_app_id: (data.method == MethodAnswer::Byoa).then(|| data.app_id.clone()),
        password_writeback: data.password_writeback,
    }
}

/// Applies `message`; returns what to run.
pub fn update(model: &mut Model, message: Message) -> Option<Command> {
    if let Message::Key(key) = &message {
        if key.kind != KeyEventKind::Press {
            return None;
        }
        if key.code == KeyCode::Char('c') && key.modifiers.contains(KeyModifiers::CONTROL) {
            if model.confirm_quit || !model.page.is_running() && matches!(model.page, Page::Done(_))
            {
                model.quit = true;
                return model.page.is_running().then_some(Command::Cancel);
            }
            model.confirm_quit = true;
            return None;
        }
        if model.confirm_quit {
            model.confirm_quit = false;
            if matches!(key.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                model.quit = true;
                return model.page.is_running().then_some(Command::Cancel);
            }
            return None;
        }
    }
    if !matches!(message, Message::Tick | Message::Progress(_)) {
        model.notice = None;
    }
    match &message {
        Message::Saved(result) => {
            model.notice = Some(match result {
                Ok(path) => format!("Saved {}", path.display()),
                Err(why) => format!("Not saved: {why}"),
            });
            return None;
        }
        Message::SchedulerChanged(Ok(settings)) => {
            model.context.scheduler = settings.clone();
            model.notice = Some("Scheduler settings saved.".into());
            return None;
        }
        Message::SchedulerChanged(Err(why)) => {
            model.notice = Some(format!("Scheduler not changed: {why}"));
            return None;
        }
        _ => {}
    }
    pages::update(model, message)
}

/// Draws the whole screen: header, page, status and key help.
pub fn view(model: &Model, frame: &mut Frame) {
    let area = frame.area();
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        widgets::too_small(frame, area, &model.theme);
        return;
    }
    let [header, body, status, help] = Layout::vertical([
        Constraint::Length(3),
        Constraint::Min(1),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(area);
    widgets::header(frame, header, model);
    pages::view(model, frame, body);
    let status_text = if model.confirm_quit {
        Some(model.page.quit_question().to_string())
    } else {
        model.notice.clone()
    };
    widgets::status_line(frame, status, status_text.as_deref(), &model.theme);
    widgets::key_help(frame, help, model.page.key_help(), &model.theme);
}
