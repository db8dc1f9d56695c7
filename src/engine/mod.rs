//! The operations the CLI (and later the wizard) run against this server. Each
//! public function is one operation: it checks its preconditions before it
//! changes anything, and writes its state change with its events in one
//! transaction.

mod certificates;
mod config;
mod scheduler;

pub use certificates::{StoreChoice, create_certificate, delete_certificate, import_certificate};
pub use config::{CertificateSection, ConfigurationReport, configuration};
pub use scheduler::{SchedulerChange, change_scheduler};

use crate::domain::{CertificateHash, ConnectorCredential, Event, SchedulerSettings};
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
    fn read<T>(
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
