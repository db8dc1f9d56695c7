//! The operations the CLI and the wizard run against this server. The ones
//! that reach Entra are operations ([`OperationRequest`]): [`plan`] lists
//! their steps and what each changes, [`execute`] runs that plan on the one
//! runner in [`operation`]. Local ones (certificates, scheduler) are plain
//! functions that write their change with its events in one transaction.

mod admin;
mod certificates;
mod change_lock;
mod config;
pub mod connection;
mod credential_test;
pub mod doctor;
pub mod link;
pub mod maintenance;
pub mod onboard;
pub mod operation;
mod own_keys;
pub mod permissions;
pub mod progress;
pub mod register;
pub mod remove_key;
pub mod repair;
pub mod rotate;
mod scheduler;
pub mod service_account;

pub use crate::keys::StoreChoice;
pub use admin::sign_in;
pub use certificates::{
    create_certificate, delete_certificate, import_certificate, plan_create_certificate,
    plan_delete_certificate, plan_import_certificate,
};
pub use change_lock::{LOCK_WAIT, LockNotice};
pub use config::{
    ApplicationKeys, CertificateSection, ConfigurationReport, configuration, with_application_keys,
};
pub use credential_test::{CredentialTest, test_credential};
pub use operation::{Change, Condition, PlannedStep, Target};
pub use remove_key::{ApplicationKey, KeyOrigin, application_keys};
pub use scheduler::{SchedulerChange, change_scheduler, plan_scheduler_change};

use crate::domain::{
    ApplicationCredential, CertificateHash, Clock, ConnectorCredential, Event, SYNC_SERVICE_APP_ID,
    SchedulerSettings, SystemClock,
};
use crate::entra::EntraError;
use crate::entra::client::{ConnectionSettings, EntraClient, UserSignIn};
use crate::host::{self, StateDb, StateError};
use crate::keys::{
    KeyDirectory, KeyError, KeyStore, StoredCertificate, TctiSetting, Tpm, TpmInfo, TpmUnavailable,
};
use progress::ProgressSender;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

/// Why an operation did not happen or stopped. One variant per refusal, with
/// what the administrator needs to put it right.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Entra(#[from] EntraError),
    #[error(transparent)]
    Method(#[from] crate::domain::MethodError),
    #[error(
        "the certificate {0} is the connector's current credential; it cannot be deleted while the connector signs in with it"
    )]
    CertificateInUse(CertificateHash),
    #[error("the connector already signs in as application {app_id}; nothing was changed")]
    AlreadyApplication { app_id: String },
    #[error(
        "the account signed in is {actual}, not {expected}; nothing was changed. Sign in with the account given in --upn"
    )]
    WrongAccount { expected: String, actual: String },
    #[error(
        "the tenant has no service principal for the Microsoft Entra AD Synchronization Service ({}); is directory synchronization enabled for this tenant?",
        SYNC_SERVICE_APP_ID
    )]
    SyncServiceMissing,
    #[error("{0}")]
    ConsentMissing(Box<permissions::ConsentMissing>),
    #[error(
        "{upn} holds none of the roles this change needs ({roles}); nothing was changed. A Privileged Role Administrator or Global Administrator can assign one (if it is eligible in Privileged Identity Management, activate it first), then run again"
    )]
    RoleMissing { upn: String, roles: String },
    #[error("the service principal {resource} offers no app role {role}")]
    AppRoleMissing { resource: String, role: String },
    #[error(
        "this server's application {name} ({app_id}) already exists with other certificates; nothing was changed. To use it, link it as your own application: `entra-connect app link --application-app-id {app_id} --certificate-sha256 HASH` with a certificate it carries"
    )]
    ApplicationHasOtherCertificates { name: String, app_id: String },
    #[error(
        "no application was registered on this server yet: run `entra-connect app register` first, or give --application-app-id"
    )]
    NothingRegistered,
    #[error(
        "the registration `app register` saved on this server cannot be read ({0}); run `entra-connect app register` again (it finds its application in the tenant), or give --application-app-id"
    )]
    RegistrationUnreadable(serde_json::Error),
    #[error(
        "no application with application id {app_id} in this tenant; check --application-app-id (the application (client) id, not the object id)"
    )]
    ApplicationNotFound { app_id: String },
    #[error(
        "the application {name} ({app_id}) cannot be used yet; nothing was changed: {}",
        missing.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    ApplicationNotReady {
        name: String,
        app_id: String,
        missing: Vec<link::Missing>,
    },
    #[error(
        "the connector has no application credential to test; configure one with `entra-connect wizard` or `entra-connect app register` and `app link`"
    )]
    NoApplicationCredential,
    /// A local precondition of one step failed while planning.
    #[error("{refusal}; nothing was changed")]
    StepRefused {
        step: &'static str,
        refusal: Box<EngineError>,
    },
    #[error(
        "this server's state changed since the plan was made; nothing was changed. Look at the plan again and confirm it"
    )]
    PlanChanged,
    #[error(
        "another change is running on this server ({}) and did not finish within {} s; nothing was changed. Run again when it has finished",
        holder.as_ref().map_or("its name is not known yet".to_string(), |h| h.to_string()),
        waited.as_secs()
    )]
    ChangeRunning {
        holder: Option<Box<host::lock::LockHolder>>,
        waited: std::time::Duration,
    },
    #[error(
        "while this change waited, another one ({holder}) changed this server; nothing was changed by this one. Look at the state again (`entra-connect credential show`) and run it again if it is still needed"
    )]
    ChangedWhileWaiting { holder: Box<host::lock::LockHolder> },
    #[error("internal error: waiting for the state lock stopped")]
    LockWaitFailed,
    #[error("internal error: the step \"{0}\" is not in the confirmed plan; it was not run")]
    Unplanned(&'static str),
    #[error(
        "internal error: the step \"{0}\" of the confirmed plan neither ran nor said why it was skipped; the run is recorded as failed. Run the same change again to resume it"
    )]
    StepUnaccounted(&'static str),
    #[error("cannot journal the operation's progress: {0}")]
    Journal(serde_json::Error),
    #[error(
        "the journal of an earlier run cannot be read at step \"{step}\" ({error}); nothing was changed by this run"
    )]
    JournalUnreadable {
        step: &'static str,
        error: serde_json::Error,
    },
    #[error(
        "no tenant given: add --tenant ID-OR-DOMAIN (it is remembered once an operation works)"
    )]
    NoTenant,
    #[error("test fault after step {0} (ENTRA_CONNECT_TEST_FAIL_AFTER)")]
    InjectedFault(&'static str),
    #[error(
        "it needs an administrator (the current certificate cannot prove the application's key)."
    )]
    AdministratorNeeded,
    #[error("sign in first: the operation needs the administrator's sign-in")]
    NotSignedIn,
    #[error("cancelled: the scheduler was restored; run the same change again to resume it")]
    Cancelled,
    #[error(
        "the connector signs in with {identity}, not an application; this applies to application identity only: set it up with `entra-connect wizard` or `entra-connect app register` and `app link`"
    )]
    RotationNeedsApplication { identity: String },
    #[error(
        "the certificate in use is yours (Bring Your Own Certificate or Application), so this server does not make its successor; nothing was changed. Give the new one with --certificate-sha256 HASH (import it first with `entra-connect cert import`)"
    )]
    RotationNeedsCertificate,
    #[error("the certificate {0} is the one in use already; nothing was changed. Give another one")]
    SameCertificate(CertificateHash),
    #[error(
        "the application cannot roll its own key: {why}. Nothing was changed. An administrator who may update application credentials (Application Administrator, Cloud Application Administrator or Global Administrator; not a Hybrid Identity Administrator) replaces the application's keys instead: run again with --upn UPN"
    )]
    RotationNeedsAdministrator { why: String },
    #[error(
        "the application could not add its new key itself ({0}); the connector still signs in with its current certificate. Run again with --upn UPN of an Application Administrator, Cloud Application Administrator or Global Administrator: the administrator then adds the key (PATCH keyCredentials)"
    )]
    SelfRotationRefused(Box<EntraError>),
    #[error(
        "key {key_id} is the one the connector signs in with; nothing was changed. Rotate first (`entra-connect app rotate`), then remove the old key"
    )]
    KeyInUse { key_id: String },
    #[error("the application has no key {key_id}; nothing was changed. Its keys: {keys}")]
    KeyUnknown { key_id: String, keys: String },
    #[error(
        "key {key_id} is the application's last valid key; it is not removed (the application could no longer sign in)"
    )]
    LastValidKey { key_id: String },
    #[error(
        "the password of {upn} is needed: give it on standard input with --password-stdin (it is stored protected, never printed)"
    )]
    PasswordNeeded { upn: String },
    #[error(
        "{upn} is not in the Directory Synchronization Accounts role, so it is not a connector account; nothing was changed. Give the account the Connect wizard created (Sync_<HOST>_<id>@…)"
    )]
    NotASyncAccount { upn: String },
    #[error(
        "the connector signs in with {identity}, not an application, so there is nothing to roll back; nothing was changed"
    )]
    RollbackNeedsApplication { identity: String },
    #[error(
        "the stored password of {upn} is missing from this server's state directory; the account cannot be used. Run `entra-connect service-account add` again after removing that account (`service-account remove`), or record it with `service-account use`"
    )]
    PasswordLost { upn: String },
    #[error(
        "{upn} is the account the connector signs in with; nothing was changed. Move the connector to an application first (`entra-connect wizard`, or `app register` and `app link`)"
    )]
    AccountInUse { upn: String },
    #[error(
        "{upn} is this server's way back (the connector returns to it on `service-account add`); nothing was changed. To remove it all the same, give --force-forget-rollback: a later rollback then needs a new account, which only a Global Administrator (or a User Administrator with Privileged Role Administrator) can create"
    )]
    AccountIsWayBack { upn: String },
    #[error(
        "no directory synchronization account is named {name}; nothing was changed. The accounts in the Directory Synchronization Accounts role: {accounts}"
    )]
    SyncAccountNotFound { name: String, accounts: String },
    #[error(
        "the connector credential record is complete{}; there is nothing to repair. `entra-connect credential test` checks that it works",
        if app_id.is_empty() { String::new() } else { format!(" (application {app_id})") }
    )]
    RecordComplete { app_id: String },
    #[error(
        "tenant {tenant} holds no application {name} for this server; nothing was changed. Check --tenant (the record cannot be rebuilt from another tenant), or set the server up again with `entra-connect wizard`"
    )]
    NoApplicationForServer { name: String, tenant: String },
    #[error(
        "none of the application {app_id}'s keys ({keys}) belongs to a certificate with a private key in this server's store ({store}); nothing was changed. Import the certificate (`entra-connect cert import`) or rotate from the server that holds it"
    )]
    NoCertificateOnApplication {
        app_id: String,
        keys: String,
        store: String,
    },
}

impl EngineError {
    /// Wraps a local precondition of `step` found while planning.
    fn refused_at(step: operation::StepId) -> impl FnOnce(EngineError) -> EngineError {
        move |refusal| EngineError::StepRefused {
            step: step.title,
            refusal: Box::new(refusal),
        }
    }
}

/// Where Entra is and who signs in, for operations that reach it.
#[derive(Debug, Clone)]
pub struct EntraRequest {
    pub connection: ConnectionSettings,
    /// The administrator; none for what the application does itself
    /// (rotation, key removal, the maintenance tick).
    pub admin: Option<UserSignIn>,
}

impl EntraRequest {
    /// A client whose retries show up as progress of `run`'s current step.
    fn client(&self, run: &operation::Run) -> Result<EntraClient, EngineError> {
        Ok(EntraClient::new(
            self.connection.clone(),
            run.retry_observer(),
        )?)
    }

    /// Graph's upsert (PATCH with `Prefer: create-if-missing`) is documented
    /// for the public cloud; elsewhere creation is a POST looked up first.
    fn offers_upsert(&self) -> bool {
        self.connection.cloud == crate::domain::Cloud::Public
    }

    pub fn target(&self) -> Target {
        Target {
            tenant: self.connection.tenant.to_string(),
            admin_upn: self
                .admin
                .as_ref()
                .map(UserSignIn::upn)
                .unwrap_or_default()
                .to_string(),
        }
    }
}

/// Every operation the CLI and the wizard run, with its inputs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "operation", rename_all = "kebab-case")]
pub enum OperationRequest {
    Onboard(onboard::Onboard),
    Register(register::Register),
    Link(link::Link),
    Rotate(rotate::Rotate),
    RemoveKey(remove_key::RemoveKey),
    UseServiceAccount(service_account::UseServiceAccount),
    RollBack(service_account::RollBack),
    RemoveServiceAccount(service_account::RemoveServiceAccount),
    Repair(repair::Repair),
}

impl OperationRequest {
    /// The operation's name, as its journal and the state lock give it.
    pub fn kind(&self) -> &'static str {
        use operation::Operation as _;
        match self {
            OperationRequest::Onboard(_) => onboard::Onboard::KIND,
            OperationRequest::Register(_) => register::Register::KIND,
            OperationRequest::Link(_) => link::Link::KIND,
            OperationRequest::Rotate(_) => rotate::Rotate::KIND,
            OperationRequest::RemoveKey(_) => remove_key::RemoveKey::KIND,
            OperationRequest::UseServiceAccount(_) => service_account::UseServiceAccount::KIND,
            OperationRequest::RollBack(_) => service_account::RollBack::KIND,
            OperationRequest::RemoveServiceAccount(_) => {
                service_account::RemoveServiceAccount::KIND
            }
            OperationRequest::Repair(_) => repair::Repair::KIND,
        }
    }
}

/// What a finished operation produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Outcome {
    /// Onboard and link: the connector's new credential.
    Credential(ApplicationCredential),
    Registered(register::Registration),
    Rotated(rotate::Rotation),
    KeyRemoved(remove_key::RemovedKey),
    ServiceAccount(crate::domain::ServiceAccountCredential),
    RolledBack(service_account::RolledBack),
    ServiceAccountRemoved(service_account::SyncAccount),
    Repaired(ApplicationCredential),
}

/// An operation as it will run: its inputs and every step with what it
/// changes. The wizard's Ready page and `--dry-run` show it; [`execute`] runs
/// exactly it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub request: OperationRequest,
    pub target: Target,
    pub steps: Vec<PlannedStep>,
}

/// Works out what `request` will change, from its inputs and this server's
/// state, changing nothing and reaching nothing.
pub fn plan(
    server: &LocalServer,
    target: Target,
    request: OperationRequest,
) -> Result<Plan, EngineError> {
    use operation::plan_of;
    let steps = match &request {
        OperationRequest::Onboard(op) => plan_of(op, server, &target)?,
        OperationRequest::Register(op) => plan_of(op, server, &target)?,
        OperationRequest::Link(op) => plan_of(op, server, &target)?,
        OperationRequest::Rotate(op) => plan_of(op, server, &target)?,
        OperationRequest::RemoveKey(op) => plan_of(op, server, &target)?,
        OperationRequest::UseServiceAccount(op) => plan_of(op, server, &target)?,
        OperationRequest::RollBack(op) => plan_of(op, server, &target)?,
        OperationRequest::RemoveServiceAccount(op) => plan_of(op, server, &target)?,
        OperationRequest::Repair(op) => plan_of(op, server, &target)?,
    };
    Ok(Plan {
        request,
        target,
        steps,
    })
}

/// Runs a plan made by [`plan`] (and confirmed), reporting each step. It
/// holds the state lock throughout; waiting for another change, it says so,
/// and is refused if that change ran an operation meanwhile (the plan was
/// made from the state before it).
pub async fn execute(
    server: &mut LocalServer,
    entra: &EntraRequest,
    plan: &Plan,
    progress: ProgressSender,
) -> Result<Outcome, EngineError> {
    let before = server.read(host::journal::change_mark)?;
    let notify = progress.clone();
    let guard = server
        .take_lock(plan.request.kind(), move |holder| {
            let _ = notify.send(progress::Progress::WaitingForChange {
                holder: holder.clone(),
            });
        })
        .await?;
    if let Some(holder) = &guard.waited_for
        && server.read(host::journal::change_mark)? != before
    {
        return Err(EngineError::ChangedWhileWaiting {
            holder: Box::new(holder.clone()),
        });
    }
    let outcome = run_plan(server, entra, plan, progress).await;
    drop(guard);
    outcome
}

async fn run_plan(
    server: &mut LocalServer,
    entra: &EntraRequest,
    plan: &Plan,
    progress: ProgressSender,
) -> Result<Outcome, EngineError> {
    use operation::perform;
    let steps = &plan.steps;
    Ok(match &plan.request {
        OperationRequest::Onboard(op) => {
            Outcome::Credential(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::Register(op) => {
            Outcome::Registered(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::Link(op) => {
            Outcome::Credential(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::Rotate(op) => {
            Outcome::Rotated(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::RemoveKey(op) => {
            Outcome::KeyRemoved(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::UseServiceAccount(op) => {
            Outcome::ServiceAccount(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::RollBack(op) => {
            Outcome::RolledBack(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::RemoveServiceAccount(op) => {
            Outcome::ServiceAccountRemoved(perform(server, entra, op, steps, progress).await?)
        }
        OperationRequest::Repair(op) => {
            Outcome::Repaired(perform(server, entra, op, steps, progress).await?)
        }
    })
}

/// Register, link and onboard start from a server that does not use an
/// application yet (the seed's precondition), unless they resume a run of
/// `kind` that already switched the credential.
fn ensure_not_application(server: &LocalServer, kind: &str) -> Result<(), EngineError> {
    let resuming_switched = server
        .read(|conn| host::journal::open_run(conn, kind, None))?
        .is_some_and(|run| run.done.contains_key(link::SAVE_CREDENTIAL.id.name));
    match server.credential()? {
        ConnectorCredential::Application(_) if resuming_switched => Ok(()),
        ConnectorCredential::Application(app) => Err(EngineError::AlreadyApplication {
            app_id: app.application_id,
        }),
        _ => Ok(()),
    }
}

/// This Connect server: its state database, its key store and its TPM.
pub struct LocalServer {
    db: StateDb,
    state_dir: PathBuf,
    /// Reached through the TCTI of `--tpm-tcti`, the environment or the
    /// default; connected on first use, once for the whole process.
    tpm: Arc<Tpm>,
    /// Where new keys go when `--store` was given.
    store_choice: Option<StoreChoice>,
    /// "Now" for every decision the engine makes (expiry, the rotation
    /// path, the maintenance tick, what it records as configured); tests put
    /// it anywhere. What Entra checks against its own clock (assertions,
    /// proofs of possession) carries the system's time.
    clock: Arc<dyn Clock>,
    /// Set while this server holds the state lock for a change.
    holding_lock: Arc<std::sync::atomic::AtomicBool>,
    /// How long a change waits for one already running.
    lock_wait: std::time::Duration,
    lock_notice: Option<LockNotice>,
}

impl LocalServer {
    pub fn open(state_dir: &Path) -> Result<Self, EngineError> {
        Ok(LocalServer {
            db: StateDb::open(state_dir)?,
            state_dir: state_dir.to_path_buf(),
            tpm: Arc::new(Tpm::new(TctiSetting::resolve(None))),
            store_choice: None,
            clock: Arc::new(SystemClock),
            holding_lock: Arc::default(),
            lock_wait: LOCK_WAIT,
            lock_notice: None,
        })
    }

    /// Makes `clock` the engine's "now" (tests put it anywhere).
    pub fn set_clock(&mut self, clock: Arc<dyn Clock>) {
        self.clock = clock;
    }

    pub fn now(&self) -> time::OffsetDateTime {
        self.clock.now()
    }

    /// Reaches the TPM through `tcti` (`--tpm-tcti`) instead of the
    /// environment's (`ENTRA_CONNECT_TPM_TCTI`, `TPM2TOOLS_TCTI`) or the default.
    pub fn use_tpm_tcti(&mut self, tcti: &str) {
        self.tpm = Arc::new(Tpm::new(TctiSetting::resolve(Some(tcti))));
    }

    /// Where new keys go (`--store`). Without it: `auto` for a first key, and
    /// a rotation keeps the kind of store of the key it replaces.
    pub fn choose_store(&mut self, choice: StoreChoice) {
        self.store_choice = Some(choice);
    }

    pub fn store_choice(&self) -> Option<StoreChoice> {
        self.store_choice
    }

    pub fn tpm(&self) -> &Tpm {
        &self.tpm
    }

    /// Closes the TPM connection (flushing what it loaded); the next use
    /// connects again. For long-running processes between their work.
    pub fn release_tpm(&mut self) {
        self.tpm = Arc::new(Tpm::new(self.tpm.setting().clone()));
    }

    /// Whether a TPM answers (asked once per process, within seconds): what
    /// the wizard's Welcome page and the doctor report.
    pub fn tpm_status(&self) -> Result<TpmInfo, TpmUnavailable> {
        self.tpm.probe()
    }

    pub fn state_dir(&self) -> &Path {
        &self.state_dir
    }

    /// Runs a read against the database, mapping its error like a write's.
    pub(crate) fn read<T>(
        &self,
        query: impl FnOnce(&rusqlite::Connection) -> rusqlite::Result<T>,
    ) -> Result<T, EngineError> {
        query(self.db.conn()).map_err(|e| self.db.classify(self.db.path(), e).into())
    }

    pub fn credential(&self) -> Result<ConnectorCredential, EngineError> {
        self.read(host::credential::load)
    }

    /// The legacy connector account kept as the way back (rollback) while
    /// the connector signs in as an application; never its password.
    pub fn way_back(&self) -> Result<Option<String>, EngineError> {
        match self.credential()? {
            ConnectorCredential::Application(_) => self.read(host::credential::service_account),
            _ => Ok(None),
        }
    }

    pub fn scheduler(&self) -> Result<SchedulerSettings, EngineError> {
        self.read(host::scheduler::load)
    }

    pub fn installation_id(&self) -> Result<String, EngineError> {
        self.read(host::settings::installation_id)
    }

    pub fn events(
        &self,
        since: Option<OffsetDateTime>,
        id: Option<u32>,
    ) -> Result<Vec<Event>, EngineError> {
        self.read(|conn| host::events::query(conn, since, id))
    }

    /// The key store: every certificate with its key in the TPM or the
    /// software store; new keys go where `--store` said (default `auto`).
    pub fn key_store(&self) -> Result<KeyDirectory, EngineError> {
        self.key_store_for(self.store_choice.unwrap_or(StoreChoice::Auto))
    }

    /// The key store, creating new keys as `choice` says.
    pub fn key_store_for(&self, choice: StoreChoice) -> Result<KeyDirectory, EngineError> {
        Ok(KeyDirectory::open(
            &self.state_dir,
            Arc::clone(&self.tpm),
            choice,
        )?)
    }

    pub fn certificates(&self) -> Result<Vec<StoredCertificate>, EngineError> {
        Ok(self.key_store()?.list()?)
    }

    pub fn certificate(&self, hash: &CertificateHash) -> Result<StoredCertificate, EngineError> {
        Ok(self.key_store()?.find(hash)?)
    }
}
