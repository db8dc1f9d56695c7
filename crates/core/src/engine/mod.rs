//! The operations the CLI and the wizard run against this server. The ones
//! that reach Entra are operations ([`OperationRequest`]): [`plan`] lists
//! their steps and what each changes, [`execute`] runs that plan on the one
//! runner in [`operation`]. Local ones (certificates, scheduler) are plain
//! functions that write their change with its events in one transaction.

mod admin;
pub mod audit;
mod certificates;
mod change_lock;
mod config;
pub mod connection;
mod credential_test;
pub mod doctor;
mod error;
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
pub mod revoke;
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
    ApplicationAudit, CertificateSection, ConfigurationReport, configuration,
    with_application_audit,
};
pub use credential_test::{CredentialTest, test_credential};
pub use error::EngineError;
use error::MOVE_TO_APPLICATION;
pub use operation::{Change, Condition, PlannedStep, Target};
pub use remove_key::{ApplicationKey, KeyOrigin, application_keys};
pub use scheduler::{SchedulerChange, change_scheduler, plan_scheduler_change};

use crate::domain::{
    ApplicationCredential, CertificateHash, Clock, ConnectorCredential, Event, SchedulerSettings,
    SystemClock,
};
use crate::entra::client::{ConnectionSettings, EntraClient, UserSignIn};
use crate::host::{self, StateDb};
use crate::keys::{
    KeyDirectory, KeyStore, StoredCertificate, TctiSetting, Tpm, TpmInfo, TpmUnavailable,
};
use progress::ProgressSender;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;

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
    Revoke(revoke::Revoke),
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
            OperationRequest::Revoke(_) => revoke::Revoke::KIND,
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
    ServiceAccountRemoved(service_account::RemovedAccount),
    Repaired(ApplicationCredential),
    Revoked(revoke::Revoked),
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
        OperationRequest::Revoke(op) => plan_of(op, server, &target)?,
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
        OperationRequest::Revoke(op) => {
            Outcome::Revoked(perform(server, entra, op, steps, progress).await?)
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
