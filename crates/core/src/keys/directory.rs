//! The key store of this server's state directory: certificates in
//! `<state_dir>/keys`, each with its private key in the TPM (a `.tpmkey` blob
//! beside the `.crt`) or in the software store (a `.key` file). Which store a
//! certificate's key is in is read from those files; where a new key goes is
//! the [`StoreChoice`] the directory was opened with.

use super::{
    KeyError, KeyMaterial, KeyStore, SigningAlgorithm, SoftwareKeyStore, StoredCertificate, Tpm,
    TpmKeyStore,
};
use crate::domain::{CertificateHash, StoreKind, named_enum};
use std::path::Path;
use std::sync::Arc;

named_enum! {
    /// Where a new key goes: `--store auto|tpm|software`.
    #[serde(rename_all = "kebab-case")]
    pub enum StoreChoice {
        /// The TPM when one answers, else the software store (warning event 1014).
        Auto => "auto",
        /// The TPM, or an error saying why there is none.
        Tpm => "tpm",
        /// The software store (an owner-only key file).
        Software => "software",
    }
}

impl StoreChoice {
    /// The choice that keeps a key in the same kind of store as `kind`
    /// (rotation replaces a key with one like it).
    pub fn same_as(kind: StoreKind) -> Self {
        match kind {
            StoreKind::Tpm => StoreChoice::Tpm,
            StoreKind::Software => StoreChoice::Software,
        }
    }
}

/// Where a new private key will be created, and why there.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "store", rename_all = "kebab-case")]
pub enum Placement {
    /// In the TPM reached through `tcti`; the key never leaves it.
    Tpm { tcti: String },
    /// In the owner-only software store, because it was chosen or because
    /// no TPM answered.
    Software { chosen: bool },
}

impl Placement {
    pub fn kind(&self) -> StoreKind {
        match self {
            Placement::Tpm { .. } => StoreKind::Tpm,
            Placement::Software { .. } => StoreKind::Software,
        }
    }
}

pub struct KeyDirectory {
    software: SoftwareKeyStore,
    tpm: TpmKeyStore,
    new_keys: StoreChoice,
}

impl KeyDirectory {
    /// The store in `<state_dir>/keys`; the TPM is reached only to create
    /// a key there or to sign with one of its keys.
    pub fn open(state_dir: &Path, tpm: Arc<Tpm>, new_keys: StoreChoice) -> Result<Self, KeyError> {
        Ok(KeyDirectory {
            software: SoftwareKeyStore::open(state_dir)?,
            tpm: TpmKeyStore::open(state_dir, tpm)?,
            new_keys,
        })
    }

    pub fn tpm(&self) -> &Tpm {
        self.tpm.tpm()
    }

    /// Where [`KeyStore::create`] will put the key: asks the TPM (once, within
    /// seconds) unless the software store was chosen.
    pub fn placement(&self) -> Result<Placement, KeyError> {
        let tpm = self.tpm.tpm();
        let in_tpm = || Placement::Tpm {
            tcti: tpm.tcti().to_string(),
        };
        match self.new_keys {
            StoreChoice::Software => Ok(Placement::Software { chosen: true }),
            StoreChoice::Tpm => tpm.probe().map(|_| in_tpm()).map_err(KeyError::from),
            StoreChoice::Auto => Ok(match tpm.probe() {
                Ok(_) => in_tpm(),
                Err(_) => Placement::Software { chosen: false },
            }),
        }
    }

    /// The store that holds `hash`'s key.
    fn holder(&self, hash: &CertificateHash) -> &dyn KeyStore {
        match self.tpm.holds(hash) {
            true => &self.tpm,
            false => &self.software,
        }
    }
}

impl KeyStore for KeyDirectory {
    /// The kind of store new keys go to.
    fn kind(&self) -> StoreKind {
        self.placement()
            .map_or(StoreKind::Software, |placement| placement.kind())
    }

    fn list(&self) -> Result<Vec<StoredCertificate>, KeyError> {
        let mut certificates = self.software.list()?;
        certificates.extend(self.tpm.list()?);
        certificates.sort_by_key(|c| c.info.not_after);
        Ok(certificates)
    }

    fn find(&self, hash: &CertificateHash) -> Result<StoredCertificate, KeyError> {
        self.holder(hash).find(hash)
    }

    fn create(&self, days: u32) -> Result<StoredCertificate, KeyError> {
        match self.placement()?.kind() {
            StoreKind::Tpm => self.tpm.create(days),
            StoreKind::Software => self.software.create(days),
        }
    }

    /// A certificate brought with its key goes to the software store.
    fn import(&self, material: KeyMaterial) -> Result<StoredCertificate, KeyError> {
        self.software.import(material)
    }

    fn sign(
        &self,
        hash: &CertificateHash,
        algorithm: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        self.holder(hash).sign(hash, algorithm, message)
    }

    fn delete(&self, hash: &CertificateHash) -> Result<(), KeyError> {
        self.holder(hash).delete(hash)
    }
}
