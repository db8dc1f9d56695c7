//! Secrets sealed to this TPM: a random AES-256 key, sealed in a TPM data
//! object under the storage primary, encrypts the secret (AES-256-GCM), so
//! the sealed file is only readable through this TPM.

use super::blob::{SEALED_FORMAT, SealedSecret};
use super::{Tpm, TpmOperation, device};
use crate::keys::KeyError;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use zeroize::Zeroizing;

impl Tpm {
    /// Seals `secret` to this TPM; the result is a sealed file's contents.
    pub fn seal(&self, secret: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut key = Zeroizing::new([0u8; 32]);
        let mut nonce = [0u8; 12];
        aws_lc_rs::rand::fill(key.as_mut())
            .and_then(|()| aws_lc_rs::rand::fill(&mut nonce))
            .map_err(|_| KeyError::Crypto("random key".into()))?;
        let sealing_key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key.as_ref())
                .map_err(|_| KeyError::Crypto("AES key".into()))?,
        );
        // Zeroized if encryption fails while it still holds the secret.
        let mut ciphertext = Zeroizing::new(secret.to_vec());
        sealing_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(SEALED_FORMAT.as_bytes()),
                &mut *ciphertext,
            )
            .map_err(|_| KeyError::Crypto("AES-GCM encryption".into()))?;
        let to_seal = Zeroizing::new(key.to_vec());
        let sealed_key = self.call(TpmOperation::Seal, move |session| {
            device::seal(session, &to_seal)
        })?;
        SealedSecret {
            key: sealed_key,
            nonce,
            ciphertext: std::mem::take(&mut *ciphertext),
        }
        .to_json()
    }

    /// The secret [`Tpm::seal`] sealed, unsealed by this TPM.
    pub fn unseal(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let malformed = |why: &str| KeyError::Malformed {
            what: "sealed secret".into(),
            why: why.into(),
        };
        let SealedSecret {
            key: sealed_key,
            nonce,
            ciphertext,
        } = SealedSecret::from_json(sealed)?;
        let mut plaintext = Zeroizing::new(ciphertext);
        let key = self.call(TpmOperation::Unseal, move |session| {
            device::unseal(session, sealed_key)
        })?;
        let opening_key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &key).map_err(|_| malformed("sealed key size"))?,
        );
        let length = opening_key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(SEALED_FORMAT.as_bytes()),
                &mut plaintext,
            )
            .map_err(|_| malformed("it does not decrypt (altered?)"))?
            .len();
        plaintext.truncate(length);
        Ok(plaintext)
    }
}
