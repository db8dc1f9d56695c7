//! The TPM as rcgen's signer of a new certificate: rcgen hands over the
//! to-be-signed bytes, the TPM returns the signature.

use super::Tpm;
use super::blob::WrappedObject;
use crate::keys::{KeyError, SigningAlgorithm};
use std::cell::RefCell;

pub(super) struct TpmSigner<'a> {
    tpm: &'a Tpm,
    key: &'a WrappedObject,
    /// The key's `RSAPublicKey` DER.
    public_key: Vec<u8>,
    /// Why the TPM did not sign (rcgen's error carries no detail).
    failure: RefCell<Option<KeyError>>,
}

impl<'a> TpmSigner<'a> {
    pub(super) fn new(tpm: &'a Tpm, key: &'a WrappedObject, public_key: Vec<u8>) -> Self {
        TpmSigner {
            tpm,
            key,
            public_key,
            failure: RefCell::new(None),
        }
    }

    pub(super) fn public_key(&self) -> &[u8] {
        &self.public_key
    }

    /// The TPM's error behind rcgen's `error`, if the TPM failed.
    pub(super) fn explain(&self, error: KeyError) -> KeyError {
        self.failure.take().unwrap_or(error)
    }
}

impl rcgen::PublicKeyData for TpmSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for TpmSigner<'_> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.tpm
            .sign(self.key, SigningAlgorithm::Rs256, message)
            .map_err(|error| {
                self.failure.replace(Some(error));
                rcgen::Error::RemoteKeyError
            })
    }
}
