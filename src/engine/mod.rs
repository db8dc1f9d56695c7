//! The operations the CLI (and later the wizard) run against this server. Each
//! public function is one operation: it checks its preconditions before it
//! changes anything, and writes its state change with its events in one
//! transaction.

mod certificates;
mod config;
pub mod connection;
mod credential_test;
pub mod link;
pub mod onboard;
pub mod operation;
pub mod progress;
pub mod register;
mod scheduler;

pub use certificates::{StoreChoice, create_certificate, delete_certificate, import_certificate};
pub use config::{CertificateSection, ConfigurationReport, configuration};
pub use credential_test::{CredentialTest, test_credential};
pub use scheduler::{SchedulerChange, change_scheduler};

use crate::domain::{CertificateHash, ConnectorCredential, Event, SchedulerSettings};
use crate::entra::EntraError;
use crate::entra::client::{AdminSignIn, ConnectionSettings, EntraClient};
use crate::host::{self, StateDb, StateError};
use crate::keys::{KeyError, KeyStore, SoftwareKeyStore, StoredCertificate};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(
        "the certificate {0} is the connector's current credential; rotate to another certificate before deleting it"
    )]
    CertificateInUse(CertificateHash),
    #[error(transparent)]
    Entra(#[from] EntraError),
    /// A precondition failed; the message says what to do.
    #[error("{0}")]
    Refused(String),
}

/// Where Entra is and who signs in, for operations that reach it.
#[derive(Debug, Clone)]
pub struct EntraRequest {
    pub connection: ConnectionSettings,
    pub sign_in: AdminSignIn,
}

impl EntraRequest {
    /// A client whose retries show up as progress of `run`'s current step.
    fn client(&self, run: &operation::Run) -> Result<EntraClient, EngineError> {
        Ok(EntraClient::new(
            self.connection.clone(),
            run.retry_observer(),
        )?)
    }
}

/// Signs the administrator in and checks account and role, changing nothing.
/// The token stays in the request's cache for the operation that follows.
/// Returns the signed-in account.
pub async fn sign_in(
    request: &EntraRequest,
    progress: progress::ProgressSender,
) -> Result<String, EngineError> {
    let run = operation::Run::untracked("sign-in", progress);
    let client = request.client(&run)?;
    register::sign_in_checked(&run, &client, &request.sign_in).await?;
    Ok(request.sign_in.upn().to_string())
}

/// Register, link and onboard start from a server that does not use an
/// application yet (the seed's precondition), unless they resume a run of
/// `kind` that already switched the credential.
fn ensure_not_application(server: &LocalServer, kind: &str) -> Result<(), EngineError> {
    let resuming_switched = server
        .read(|conn| crate::host::journal::open_run(conn, kind, None))?
        .is_some_and(|run| run.done.contains_key(link::SAVE_CREDENTIAL.name));
    match server.credential()? {
        ConnectorCredential::Application(_) if resuming_switched => Ok(()),
        ConnectorCredential::Application(app) => Err(EngineError::Refused(format!(
            "the connector already signs in as application {}; nothing was changed. To change its certificate use `entra-connect app rotate`",
            app.application_id
        ))),
        _ => Ok(()),
    }
}

/// This Connect server: its state database and its key store.
pub struct LocalServer {
    db: StateDb,
    state_dir: PathBuf,
}

impl LocalServer {
    pub fn open(state_dir: &Path) -> Result<Self, EngineError> {
        Ok(LocalServer {
            db: StateDb::open(state_dir)?,
            state_dir: state_dir.to_path_buf(),
        })
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

    /// The store holding existing keys. Until TPM support lands every key is in
    /// the software store.
    pub fn key_store(&self) -> Result<SoftwareKeyStore, EngineError> {
        Ok(SoftwareKeyStore::open(&self.state_dir)?)
    }

    pub fn certificates(&self) -> Result<Vec<StoredCertificate>, EngineError> {
        Ok(self.key_store()?.list()?)
    }

    pub fn certificate(&self, hash: &CertificateHash) -> Result<StoredCertificate, EngineError> {
        Ok(self.key_store()?.find(hash)?)
    }
}
