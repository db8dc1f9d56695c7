//! The TPM key store: certificates whose keys are in the TPM, `<HASH>.crt`
//! beside `<HASH>.tpmkey` in `<state_dir>/keys` (owner-only, like the
//! software store's).

use super::Tpm;
use super::blob::WrappedObject;
use super::signer::TpmSigner;
use crate::domain::{CertificateHash, StoreKind};
use crate::keys::files::{BLOB_EXTENSION, check_private, open_directory, write_private};
use crate::keys::{
    CertificateInfo, KeyError, KeyMaterial, KeyStore, SigningAlgorithm, StoredCertificate,
    read_certificate_file, self_signed,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const CERTIFICATE_EXTENSION: &str = "crt";

pub struct TpmKeyStore {
    dir: PathBuf,
    tpm: Arc<Tpm>,
}

impl TpmKeyStore {
    /// The store in `<state_dir>/keys`; the TPM is reached only when a key is
    /// created or used.
    pub fn open(state_dir: &Path, tpm: Arc<Tpm>) -> Result<Self, KeyError> {
        let dir = open_directory(state_dir)?;
        Ok(TpmKeyStore { dir, tpm })
    }

    pub fn tpm(&self) -> &Tpm {
        &self.tpm
    }

    fn blob_path(&self, hash: &CertificateHash) -> PathBuf {
        self.dir.join(format!("{hash}.{BLOB_EXTENSION}"))
    }

    fn certificate_path(&self, hash: &CertificateHash) -> PathBuf {
        self.dir.join(format!("{hash}.{CERTIFICATE_EXTENSION}"))
    }

    /// Whether the certificate with this hash has its key in the TPM.
    pub fn holds(&self, hash: &CertificateHash) -> bool {
        self.blob_path(hash).exists()
    }

    fn load_blob(&self, hash: &CertificateHash) -> Result<WrappedObject, KeyError> {
        check_private(&self.dir, "700")?;
        let path = self.blob_path(hash);
        if !path.exists() {
            return Err(KeyError::PrivateKeyMissing(hash.clone()));
        }
        check_private(&path, "600")?;
        let bytes = fs::read(&path).map_err(KeyError::io(&path))?;
        WrappedObject::from_key_blob(&bytes, &format!("TPM key blob {}", path.display()))
    }

    fn read_certificate(&self, hash: &CertificateHash) -> Result<StoredCertificate, KeyError> {
        let path = self.certificate_path(hash);
        let bytes = fs::read(&path).map_err(KeyError::io(&path))?;
        let info = read_certificate_file(&bytes)?;
        Ok(StoredCertificate {
            info,
            store: StoreKind::Tpm,
            has_private_key: true,
        })
    }
}

impl KeyStore for TpmKeyStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Tpm
    }

    fn list(&self) -> Result<Vec<StoredCertificate>, KeyError> {
        let mut certificates = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(KeyError::io(&self.dir))? {
            let path = entry.map_err(KeyError::io(&self.dir))?.path();
            if path.extension().is_some_and(|e| e == BLOB_EXTENSION)
                && let Some(hash) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<CertificateHash>().ok())
                && self.certificate_path(&hash).exists()
            {
                certificates.push(self.read_certificate(&hash)?);
            }
        }
        certificates.sort_by_key(|c| c.info.not_after);
        Ok(certificates)
    }

    fn find(&self, hash: &CertificateHash) -> Result<StoredCertificate, KeyError> {
        if !self.holds(hash) || !self.certificate_path(hash).exists() {
            return Err(KeyError::NotFound(hash.clone()));
        }
        self.read_certificate(hash)
    }

    fn create(&self, days: u32) -> Result<StoredCertificate, KeyError> {
        check_private(&self.dir, "700")?;
        let (key, public) = self.tpm.create_signing_key()?;
        let signer = TpmSigner::new(&self.tpm, &key, public.der());
        let certificate = self_signed(&signer, days).map_err(|error| signer.explain(error))?;
        let info = CertificateInfo::from_der(&certificate)?;
        if info.rsa_public_key != signer.public_key() {
            return Err(KeyError::Crypto(
                "the certificate's public key is not the TPM key's".into(),
            ));
        }
        write_private(&self.blob_path(&info.sha256), &key.to_key_blob()?)?;
        write_private(&self.certificate_path(&info.sha256), info.pem().as_bytes())?;
        Ok(StoredCertificate {
            info,
            store: StoreKind::Tpm,
            has_private_key: true,
        })
    }

    fn import(&self, _material: KeyMaterial) -> Result<StoredCertificate, KeyError> {
        Err(KeyError::Unsupported(
            "a certificate brought with its private key is kept in the software key store; the TPM store holds keys created in the TPM".into(),
        ))
    }

    fn sign(
        &self,
        hash: &CertificateHash,
        algorithm: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let key = self.load_blob(hash)?;
        self.tpm.sign(&key, algorithm, message)
    }

    /// The key is nowhere but in its blob (the TPM keeps no copy), so
    /// removing the blob destroys it.
    fn delete(&self, hash: &CertificateHash) -> Result<(), KeyError> {
        let certificate = self.certificate_path(hash);
        let blob = self.blob_path(hash);
        if !blob.exists() {
            return Err(KeyError::NotFound(hash.clone()));
        }
        fs::remove_file(&blob).map_err(KeyError::io(&blob))?;
        if certificate.exists() {
            fs::remove_file(&certificate).map_err(KeyError::io(&certificate))?;
        }
        Ok(())
    }
}
