//! The fallback key store for servers without a TPM: one PKCS#8 key file (0600)
//! and one certificate file per SHA-256 hash, in an owner-only directory.

use super::files::{check_private, open_directory, write_private};
use super::{
    CertificateInfo, KeyError, KeyMaterial, KeyStore, SigningAlgorithm, StoredCertificate,
    self_signed,
};
use crate::domain::{CertificateHash, StoreKind};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair};
use std::fs;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

const KEY_EXTENSION: &str = "key";
pub(crate) const CERTIFICATE_EXTENSION: &str = "crt";

pub struct SoftwareKeyStore {
    dir: PathBuf,
}

impl SoftwareKeyStore {
    /// The store in `<state_dir>/keys`, created owner-only if missing.
    pub fn open(state_dir: &Path) -> Result<Self, KeyError> {
        Ok(SoftwareKeyStore {
            dir: open_directory(state_dir)?,
        })
    }

    fn key_path(&self, hash: &CertificateHash) -> PathBuf {
        self.dir.join(format!("{hash}.{KEY_EXTENSION}"))
    }

    fn certificate_path(&self, hash: &CertificateHash) -> PathBuf {
        self.dir.join(format!("{hash}.{CERTIFICATE_EXTENSION}"))
    }

    fn load_key(&self, hash: &CertificateHash) -> Result<RsaKeyPair, KeyError> {
        check_private(&self.dir, "700")?;
        let path = self.key_path(hash);
        if !path.exists() {
            return Err(KeyError::PrivateKeyMissing(hash.clone()));
        }
        check_private(&path, "600")?;
        let text = Zeroizing::new(fs::read_to_string(&path).map_err(KeyError::io(&path))?);
        let block = pem::parse(text.as_bytes()).map_err(|e| KeyError::Malformed {
            what: format!("key file {}", path.display()),
            why: e.to_string(),
        })?;
        let der = Zeroizing::new(block.into_contents());
        RsaKeyPair::from_pkcs8(&der).map_err(|e| KeyError::Malformed {
            what: format!("key file {}", path.display()),
            why: e.to_string(),
        })
    }

    /// Writes the key then the certificate, each through a temporary file, so a
    /// crash never leaves a half-written key.
    fn save(&self, certificate_der: &[u8], pkcs8: &[u8]) -> Result<StoredCertificate, KeyError> {
        check_private(&self.dir, "700")?;
        let info = CertificateInfo::from_der(certificate_der)?;
        let key_pem = Zeroizing::new(pem::encode(&pem::Pem::new("PRIVATE KEY", pkcs8.to_vec())));
        write_private(&self.key_path(&info.sha256), key_pem.as_bytes())?;
        write_private(&self.certificate_path(&info.sha256), info.pem().as_bytes())?;
        Ok(StoredCertificate {
            info,
            store: StoreKind::Software,
            has_private_key: true,
        })
    }

    fn read_certificate(&self, path: &Path) -> Result<StoredCertificate, KeyError> {
        let bytes = fs::read(path).map_err(KeyError::io(path))?;
        let info = super::read_certificate_file(&bytes)?;
        let has_private_key = self.key_path(&info.sha256).exists();
        Ok(StoredCertificate {
            info,
            store: StoreKind::Software,
            has_private_key,
        })
    }
}

impl KeyStore for SoftwareKeyStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Software
    }

    fn list(&self) -> Result<Vec<StoredCertificate>, KeyError> {
        let mut certificates = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(KeyError::io(&self.dir))? {
            let path = entry.map_err(KeyError::io(&self.dir))?.path();
            if path.extension().is_some_and(|e| e == CERTIFICATE_EXTENSION) {
                let certificate = self.read_certificate(&path)?;
                // A certificate whose key is in the TPM belongs to the TPM store.
                if !super::files::is_blob_of(&self.dir, &certificate.info.sha256) {
                    certificates.push(certificate);
                }
            }
        }
        certificates.sort_by_key(|c| c.info.not_after);
        Ok(certificates)
    }

    fn find(&self, hash: &CertificateHash) -> Result<StoredCertificate, KeyError> {
        let path = self.certificate_path(hash);
        if !path.exists() || super::files::is_blob_of(&self.dir, hash) {
            return Err(KeyError::NotFound(hash.clone()));
        }
        self.read_certificate(&path)
    }

    fn create(&self, days: u32) -> Result<StoredCertificate, KeyError> {
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(|e| KeyError::Crypto(format!("RSA key generation: {e}")))?;
        let certificate = self_signed(&key, days)?;
        let pkcs8 = Zeroizing::new(key.serialize_der());
        self.save(&certificate, &pkcs8)
    }

    fn import(&self, material: KeyMaterial) -> Result<StoredCertificate, KeyError> {
        self.save(&material.certificate.der, &material.private_key_pkcs8)
    }

    fn sign(
        &self,
        hash: &CertificateHash,
        algorithm: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let key = self.load_key(hash)?;
        let padding = match algorithm {
            SigningAlgorithm::Rs256 => &RSA_PKCS1_SHA256,
            SigningAlgorithm::Ps256 => &RSA_PSS_SHA256,
        };
        let mut signature = vec![0u8; key.public_modulus_len()];
        key.sign(padding, &SystemRandom::new(), message, &mut signature)
            .map_err(|_| KeyError::Crypto("RSA signing".into()))?;
        Ok(signature)
    }

    fn delete(&self, hash: &CertificateHash) -> Result<(), KeyError> {
        let certificate = self.certificate_path(hash);
        if !certificate.exists() || super::files::is_blob_of(&self.dir, hash) {
            return Err(KeyError::NotFound(hash.clone()));
        }
        let key = self.key_path(hash);
        if key.exists() {
            fs::remove_file(&key).map_err(KeyError::io(&key))?;
        }
        fs::remove_file(&certificate).map_err(KeyError::io(&certificate))
    }
}
