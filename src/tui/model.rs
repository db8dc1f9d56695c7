//! What the wizard's pages and its app loop share, in one leaf module the
//! pages import: what was entered ([`WizardData`]), facts about this server
//! ([`Context`]), the [`Message`]s that change the wizard and the
//! [`Command`]s (effects as data) it asks the app loop to carry out.

use super::theme::Theme;
use crate::domain::{
    Answers, AppId, CertificateHash, ConnectionInputs, EndpointUrl, Method, MethodAnswer,
    SchedulerSettings, SignInAnswer, Upn,
};
use crate::engine::audit::Audit;
use crate::engine::doctor::Finding;
use crate::engine::progress::Progress;
use crate::engine::revoke::{Revoke, Selection};
use crate::engine::service_account::SyncAccount;
use crate::engine::{
    ApplicationKey, ConfigurationReport, EngineError, OperationRequest, Outcome, Plan, Target,
    onboard::Onboard,
};
use crate::entra::Secret;
use crate::keys::{StoredCertificate, TpmInfo, TpmUnavailable};
use ratatui::crossterm::event::KeyEvent;
use ratatui::layout::Size;
use std::path::PathBuf;
use std::sync::Arc;
use time::OffsetDateTime;

/// Everything entered so far; kept when going back so nothing is typed twice.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WizardData {
    /// Tenant, cloud, and (for the sandbox) endpoint overrides.
    pub connection: ConnectionInputs,
    pub sign_in: SignInAnswer,
    pub upn: Option<Upn>,
    pub method: MethodAnswer,
    pub certificate: Option<CertificateHash>,
    pub app_id: Option<AppId>,
    pub password_writeback: bool,
}

impl WizardData {
    /// The onboarding these choices describe.
    pub fn onboarding(&self) -> Result<OperationRequest, EngineError> {
        let method =
            Method::from_choice(self.method, self.certificate.clone(), self.app_id.clone())?;
        Ok(OperationRequest::Onboard(Onboard {
            method,
            password_writeback: self.password_writeback,
        }))
    }

    /// Where and as whom the wizard's operations run.
    pub fn target(&self) -> Target {
        Target {
            tenant: self
                .connection
                .tenant
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            admin_upn: self
                .upn
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        }
    }

    /// The answers file for what was entered (never a password), once the
    /// tenant and the account are known.
    pub fn answers(&self) -> Option<Answers> {
        Some(Answers {
            tenant: self.connection.tenant.clone()?,
            cloud: self.connection.cloud,
            authority_host: self.connection.authority_host.clone(),
            graph_url: self.connection.graph_url.clone(),
            ca_cert: self.connection.ca_cert.clone(),
            upn: self.upn.clone()?,
            sign_in: self.sign_in,
            method: self.method,
            certificate_sha256: self.certificate.clone(),
            application_app_id: match self.method {
                MethodAnswer::Byoa => self.app_id.clone(),
                _ => None,
            },
            password_writeback: self.password_writeback,
        })
    }
}

/// The in-process sandbox tenant's endpoints, with `wizard --sandbox`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SandboxEndpoints {
    pub authority_host: EndpointUrl,
    pub graph_url: EndpointUrl,
}

/// Facts from outside the wizard, loaded by the app loop and refreshed by it.
#[derive(Debug, Clone)]
pub struct Context {
    /// None on the first pass; the configured identity type on the second.
    pub configured: Option<crate::domain::ConnectorIdentityType>,
    /// Whether a TPM answers: asked in the background once the first frame
    /// is drawn, as a slow TPM may take seconds.
    pub tpm: TpmCheck,
    pub certificates: Vec<StoredCertificate>,
    pub configuration: Option<ConfigurationReport>,
    pub scheduler: SchedulerSettings,
    pub sandbox: Option<SandboxEndpoints>,
    pub now: OffsetDateTime,
}

/// Whether a TPM answers, where new keys are made.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum TpmCheck {
    /// Not known yet: the probe runs in the background.
    #[default]
    Checking,
    /// This TPM answers: new keys are made inside it.
    Found(TpmInfo),
    /// None answers: new keys go to the software store.
    NotFound(TpmUnavailable),
}

impl TpmCheck {
    pub fn from_probe(probe: Result<TpmInfo, TpmUnavailable>) -> TpmCheck {
        match probe {
            Ok(info) => TpmCheck::Found(info),
            Err(why) => TpmCheck::NotFound(why),
        }
    }
}

/// What a page draws from besides its own state.
pub struct Shared<'a> {
    pub data: &'a WizardData,
    pub context: &'a Context,
    pub theme: &'a Theme,
}

/// An engine failure, shared by the messages that carry it.
pub type Failure = Arc<EngineError>;

/// Tells one engine task from another, so a late result of a task that was
/// cancelled or replaced is dropped (in one place: `app::update`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpId(pub u64);

/// Work a page asks for; the app loop gives it an [`OpId`] and runs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Task {
    SignIn {
        upn: Upn,
        password: Option<Secret>,
    },
    /// Sign `admin` in (device code) and list the directory synchronization accounts.
    ListSyncAccounts {
        admin: Upn,
    },
    /// Sign `upn` in as the sign-in page chose, for the removals too, and
    /// read everything that can sign in as this connector (the review of
    /// "Review who can sign in as this connector").
    Review {
        upn: Upn,
        password: Option<Secret>,
    },
    Run(Plan),
}

/// What an engine task reports.
#[derive(Debug, Clone)]
pub enum EngineEvent {
    Progress(Progress),
    SignedIn(Result<String, Failure>),
    SyncAccountsListed(Result<Vec<SyncAccount>, Failure>),
    Reviewed(Result<Audit, Failure>),
    Finished(Result<Outcome, Failure>),
}

/// Why a file was not written.
#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("cannot write {path}: {error}")]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("cannot write the file: {0}")]
    Format(String),
    /// Another task needed the server while the export read the tenant.
    #[error("the export to {} was cancelled to start the next task; export again", .0.display())]
    Cancelled(PathBuf),
}

/// Everything that can happen to the wizard.
#[derive(Debug, Clone)]
pub enum Message {
    Key(KeyEvent),
    /// The terminal's size, as the wizard opens and on every change.
    Resize(Size),
    Tick,
    /// From the engine task `OpId`.
    Engine(OpId, EngineEvent),
    Planned(Result<Plan, Failure>),
    /// The revocation of the items chosen from the review, as the engine made it.
    Chosen(Result<Revoke, Failure>),
    /// The checks of "Check this server".
    Doctored(Vec<Finding>),
    /// The application's keys, read by the application itself.
    KeysListed(Result<Vec<ApplicationKey>, Failure>),
    /// The answers file was written.
    Saved(Result<PathBuf, Arc<SaveError>>),
    /// The configuration (with the application's keys) was exported.
    Exported(Result<PathBuf, Arc<SaveError>>),
    SchedulerChanged(Result<SchedulerSettings, Failure>),
    /// Whether a TPM answered the background probe.
    TpmProbed(Result<TpmInfo, TpmUnavailable>),
    /// SIGTERM or SIGHUP: quit now, as Ctrl-C then y would.
    Terminated,
}

impl Message {
    /// Whether this message ends a task the server was lent to.
    pub fn returns_server(&self) -> bool {
        matches!(
            self,
            Message::Engine(
                _,
                EngineEvent::Finished(_)
                    | EngineEvent::SyncAccountsListed(_)
                    | EngineEvent::Reviewed(_)
            ) | Message::Doctored(_)
                | Message::KeysListed(_)
                | Message::Exported(_)
        )
    }
}

/// Effects the app loop carries out.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Ask whether a TPM answers, off the UI loop (it may take seconds);
    /// answered by [`Message::TpmProbed`].
    ProbeTpm,
    Start {
        op: OpId,
        task: Task,
    },
    Cancel(OpId),
    /// An address pasted on the Sign in page, for the browser sign-in
    /// waiting for the redirect (it holds the authorization code).
    PasteRedirect(Secret),
    /// Work out the plan of an operation for the Ready page.
    Plan(OperationRequest),
    /// Make the revocation of what `selection` chooses from the review's
    /// `audit` (answered by [`Message::Chosen`]).
    Choose {
        audit: Box<Audit>,
        selection: Selection,
    },
    /// Run every check of `doctor` (no change).
    Doctor,
    /// Read the application's keys with the key audit's verdict (no change).
    ListKeys,
    Export(PathBuf),
    SaveAnswers(PathBuf, Box<Answers>),
    SetScheduler {
        sync_cycle_enabled: Option<bool>,
        maintenance_enabled: Option<bool>,
    },
}
