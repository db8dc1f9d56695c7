//! Certificates and the private keys behind them. A [`KeyStore`] signs on the
//! caller's behalf and never hands out a private key.

mod certificate;
mod directory;
mod files;
mod import;
mod software;
mod tpm;

pub use certificate::{CertificateInfo, CertificateProblem, read_certificate_file, self_signed};
pub use directory::{KeyDirectory, Placement, StoreChoice};
pub(crate) use files::DIRECTORY as KEYS_DIRECTORY;
pub(crate) use files::write_private;
pub use import::{KeyMaterial, read_key_material};
pub(crate) use software::CERTIFICATE_EXTENSION;
pub use software::SoftwareKeyStore;
pub use tpm::{
    BlobPart, DEFAULT_TCTI, HOW_TO_ENABLE, STANDARD_TCTI_ENV, TCTI_ENV, TctiSetting, TctiSource,
    Tpm, TpmFailure, TpmFailureKind, TpmInfo, TpmKeyStore, TpmOperation, TpmUnavailable,
    Unexpected, WITHOUT_A_TPM,
};

use crate::domain::{CertificateHash, Input, NextCommand, Remedy, StoreKind};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("no certificate with SHA-256 hash {0} in the key store")]
    NotFound(CertificateHash),
    #[error("the certificate {0} is in the key store, but its private key is missing")]
    PrivateKeyMissing(CertificateHash),
    #[error(
        "{path} is readable by other users (mode {mode:03o}); the key store refuses it. Fix: chmod {fix} {path}"
    )]
    InsecurePermissions {
        path: PathBuf,
        mode: u32,
        fix: &'static str,
    },
    #[error("cannot read or write {path}: {error}")]
    Io {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("the {what} is malformed: {why}")]
    Malformed { what: String, why: String },
    #[error("the certificate {hash} cannot be used: {problem}")]
    Unusable {
        hash: CertificateHash,
        problem: CertificateProblem,
    },
    #[error("the private key does not match the certificate {0}")]
    KeyMismatch(CertificateHash),
    #[error("the PFX password is wrong (or the file was altered)")]
    WrongPassword,
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "no private key came with the certificate {0}; give the key in the same PEM file or a file of its own, or import a .pfx"
    )]
    NoPrivateKey(CertificateHash),
    #[error("a cryptographic operation failed: {0}")]
    Crypto(String),
    #[error("no TPM answered at {tcti} ({why}). {}", tpm::HOW_TO_ENABLE)]
    TpmUnavailable { tcti: String, why: String },
    #[error("the TPM at {tcti} could not {operation}: {failure}")]
    Tpm {
        tcti: String,
        operation: TpmOperation,
        failure: TpmFailure,
    },
    /// The blob was made by another TPM: the state directory was copied from
    /// another server, or this TPM was cleared since.
    #[error("the TPM at {tcti} could not {operation}: {}", tpm::from_another_tpm(*operation))]
    FromAnotherTpm {
        tcti: String,
        operation: TpmOperation,
        failure: TpmFailure,
    },
}

impl KeyError {
    /// What puts it right; any one of them will do.
    pub fn remedies(&self) -> Vec<Remedy> {
        match self {
            KeyError::NotFound(_) => vec![Remedy::run(NextCommand::ListCertificates)],
            KeyError::NoPrivateKey(_) => vec![Remedy::give(Input::KeyFile)],
            KeyError::TpmUnavailable { .. } => WITHOUT_A_TPM.to_vec(),
            KeyError::Tpm { .. } => vec![Remedy::run(NextCommand::Doctor)],
            KeyError::FromAnotherTpm { operation, .. } => tpm::after_another_tpm(*operation),
            _ => Vec::new(),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> KeyError {
        let path = path.into();
        move |error| KeyError::Io { path, error }
    }
}

/// The JWS algorithms a key can sign with (the client assertion uses PS256 by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningAlgorithm {
    Rs256,
    Ps256,
}

/// A certificate in a store, and whether its private key is there to sign with.
#[derive(Debug, Clone, Serialize)]
pub struct StoredCertificate {
    #[serde(flatten)]
    pub info: CertificateInfo,
    pub store: StoreKind,
    pub has_private_key: bool,
}

pub trait KeyStore {
    fn kind(&self) -> StoreKind;

    /// Every certificate in the store, ordered by not-after (newest last).
    fn list(&self) -> Result<Vec<StoredCertificate>, KeyError>;

    /// The certificate with this SHA-256 hash, or [`KeyError::NotFound`].
    fn find(&self, hash: &CertificateHash) -> Result<StoredCertificate, KeyError>;

    /// Creates a new RSA 2048 key and its self-signed certificate, valid for `days`.
    fn create(&self, days: u32) -> Result<StoredCertificate, KeyError>;

    /// Stores a certificate and its private key brought by the administrator.
    fn import(&self, material: KeyMaterial) -> Result<StoredCertificate, KeyError>;

    /// Signs `message` with the certificate's private key.
    fn sign(
        &self,
        hash: &CertificateHash,
        algorithm: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError>;

    /// Removes the certificate and destroys its private key.
    fn delete(&self, hash: &CertificateHash) -> Result<(), KeyError>;
}
