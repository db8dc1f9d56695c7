//! The TPM key store (preferred): an RSA 2048 signing key created inside the
//! TPM, under a storage primary key the TPM derives again from a fixed
//! template in the owner hierarchy (so no persistent handle is needed and a
//! reboot changes nothing). Only the TPM-wrapped blobs (`<HASH>.tpmkey`, 0600)
//! and the certificate (`<HASH>.crt`) are kept in the state directory; the key
//! is fixedTPM and fixedParent, so it cannot be duplicated off this TPM, and
//! every signature is made by the TPM.
//!
//! The TPM is reached through a TCTI: `--tpm-tcti`, else
//! `ENTRA_CONNECT_TPM_TCTI`, else the standard `TPM2TOOLS_TCTI`, else
//! `device:/dev/tpmrm0`. One connection per process, owned by one worker
//! thread (the TSS context is not `Send`); every call to it is bounded by a
//! timeout, so a TPM that does not answer never hangs the tool. A job that
//! fails says why as a [`TpmFailure`].

mod blob;
mod der;
mod failure;
mod sealing;
mod signer;
mod store;
mod tcti;

#[cfg(not(feature = "tpm"))]
mod absent;
#[cfg(feature = "tpm")]
mod commands;
#[cfg(feature = "tpm")]
mod session;
#[cfg(feature = "tpm")]
mod templates;
#[cfg(feature = "tpm")]
mod worker;

#[cfg(test)]
mod tests;

pub use failure::{BlobPart, TpmFailure, TpmFailureKind, TpmOperation, Unexpected};
pub(super) use failure::{after_another_tpm, from_another_tpm};
pub use store::TpmKeyStore;
pub use tcti::{DEFAULT_TCTI, STANDARD_TCTI_ENV, TCTI_ENV, TctiSetting, TctiSource};

use super::{KeyError, SigningAlgorithm};
use crate::domain::{Input, Remedy};
use blob::WrappedObject;
use der::RsaPublic;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// The TPM's side of each job: the worker thread and the TPM commands, or,
/// built without the `tpm` feature, a TPM that never answers.
mod device {
    #[cfg(not(feature = "tpm"))]
    pub(super) use super::absent::{Connection, Session, create_signing_key, seal, sign, unseal};
    #[cfg(feature = "tpm")]
    pub(super) use super::{
        commands::{create_signing_key, seal, sign, unseal},
        session::Session,
        worker::Connection,
    };
}

/// How long a TPM may take to answer its first command.
#[cfg_attr(not(feature = "tpm"), allow(dead_code))]
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one operation may take: RSA key generation on a hardware TPM
/// can take tens of seconds.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

/// What to do to get a TPM, for every message that says none answered
/// (with [`WITHOUT_A_TPM`]).
pub const HOW_TO_ENABLE: &str = "To keep the key in a TPM, give this server a TPM 2.0: on a Hyper-V Generation 2 VM, Settings > Security > \"Enable Trusted Platform Module\"; on Azure, a VM with Trusted launch and vTPM; on other clouds, the VM's vTPM (e.g. Shielded VM, NitroTPM); on a physical server, TPM 2.0 (fTPM/PTT) in the firmware. The account running entra-connect needs /dev/tpmrm0 (root or the tss group)";

/// The other ways out when no TPM answers: one reached another way, or the
/// software store.
pub const WITHOUT_A_TPM: [Remedy; 2] = [
    Remedy::Give {
        input: Input::TpmTcti,
    },
    Remedy::Give {
        input: Input::SoftwareStore,
    },
];

/// Why no TPM can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmUnavailable {
    pub tcti: String,
    pub why: String,
}

impl fmt::Display for TpmUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no TPM answered at {} ({})", self.tcti, self.why)
    }
}

impl From<TpmUnavailable> for KeyError {
    fn from(unavailable: TpmUnavailable) -> Self {
        KeyError::TpmUnavailable {
            tcti: unavailable.tcti,
            why: unavailable.why,
        }
    }
}

/// What answered: for the doctor and the wizard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TpmInfo {
    pub tcti: String,
    pub manufacturer: String,
}

/// The TPM of this server, connected on first use and shared by every
/// store of one process. Dropping it (and any [`Tpm::background_probe`] still
/// running) closes the connection.
pub struct Tpm {
    setting: TctiSetting,
    /// Shared with a probe running on another thread, so the connection it
    /// opens is this one's.
    connection: Arc<OnceLock<Result<device::Connection, TpmUnavailable>>>,
}

impl fmt::Debug for Tpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tpm")
            .field("tcti", &self.setting.tcti)
            .finish_non_exhaustive()
    }
}

impl Tpm {
    pub fn new(setting: TctiSetting) -> Self {
        Tpm {
            setting,
            connection: Arc::new(OnceLock::new()),
        }
    }

    pub fn tcti(&self) -> &str {
        &self.setting.tcti
    }

    pub fn setting(&self) -> &TctiSetting {
        &self.setting
    }

    fn connection(&self) -> Result<&device::Connection, TpmUnavailable> {
        self.connection
            .get_or_init(|| device::Connection::open(&self.setting.tcti))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether a TPM answers (connecting once, within a few seconds).
    pub fn probe(&self) -> Result<TpmInfo, TpmUnavailable> {
        self.connection().map(|c| TpmInfo {
            tcti: self.setting.tcti.clone(),
            manufacturer: c.manufacturer().to_string(),
        })
    }

    /// [`Tpm::probe`] to run on another thread, as it may wait up to the
    /// connection timeout (5 s) for a slow TPM (the wizard draws meanwhile). The
    /// connection it opens is this `Tpm`'s: later calls find it made.
    pub fn background_probe(
        &self,
    ) -> impl FnOnce() -> Result<TpmInfo, TpmUnavailable> + Send + 'static {
        let tpm = Tpm {
            setting: self.setting.clone(),
            connection: Arc::clone(&self.connection),
        };
        move || tpm.probe()
    }

    pub fn is_available(&self) -> bool {
        self.probe().is_ok()
    }

    /// Runs `job` on the TPM's worker, within [`COMMAND_TIMEOUT`].
    fn call<R: Send + 'static>(
        &self,
        operation: TpmOperation,
        job: impl FnOnce(&mut device::Session) -> Result<R, TpmFailure> + Send + 'static,
    ) -> Result<R, KeyError> {
        let connection = self.connection()?;
        connection
            .run(COMMAND_TIMEOUT, job)
            .map_err(|failure| failure.during(operation, &self.setting.tcti))
    }

    /// Creates a new non-duplicable RSA 2048 signing key in the TPM.
    fn create_signing_key(&self) -> Result<(WrappedObject, RsaPublic), KeyError> {
        self.call(TpmOperation::CreateKey, device::create_signing_key)
    }

    /// Signs `message` (hashed here with SHA-256) with a key of this TPM.
    fn sign(
        &self,
        key: &WrappedObject,
        algorithm: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let key = key.clone();
        let digest = Sha256::digest(message).to_vec();
        self.call(TpmOperation::Sign, move |session| {
            device::sign(session, key, algorithm, digest)
        })
    }
}
