//! TPM objects as the state directory keeps them: a key's blobs in
//! `<HASH>.tpmkey` and a sealed secret's file, JSON with base64 fields, each
//! marked with its format.

use crate::keys::KeyError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// The `format` of a key blob file.
const KEY_FORMAT: &str = "entra-connect-tpm-key/1";
/// The `format` of a sealed secret file (also the AES-GCM associated data).
pub(super) const SEALED_FORMAT: &str = "entra-connect-tpm-sealed/1";
/// How the parent is derived: recorded so a later version can tell.
const PARENT: &str = "owner-hierarchy/ecc-p256-aes128cfb-storage";

/// A TPM object outside the TPM: its public area (a marshalled TPMT_PUBLIC)
/// and its private area, encrypted by the storage primary. Neither holds a
/// secret in a usable form outside the TPM that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WrappedObject {
    pub(super) public: Vec<u8>,
    pub(super) private: Vec<u8>,
}

/// A secret [`super::Tpm::seal`] sealed: the AES-256 key that encrypts it, as
/// a sealed data object of the TPM, and the secret encrypted (AES-256-GCM).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SealedSecret {
    pub(super) key: WrappedObject,
    pub(super) nonce: [u8; 12],
    pub(super) ciphertext: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct KeyBlobFile {
    format: String,
    parent: String,
    public: String,
    private: String,
}

#[derive(Serialize, Deserialize)]
struct SealedFile {
    format: String,
    parent: String,
    public: String,
    private: String,
    nonce: String,
    ciphertext: String,
}

fn malformed(what: &str) -> impl Fn(String) -> KeyError + '_ {
    move |why| KeyError::Malformed {
        what: what.to_string(),
        why,
    }
}

/// The JSON of one of these files, read back.
fn from_json<'a, T: Deserialize<'a>>(bytes: &'a [u8], what: &str) -> Result<T, KeyError> {
    serde_json::from_slice(bytes).map_err(|e| malformed(what)(e.to_string()))
}

/// Refuses a file of another format (or a later version of this one).
fn check_format(found: &str, expected: &str, what: &str) -> Result<(), KeyError> {
    match found == expected {
        true => Ok(()),
        false => Err(malformed(what)(format!("unknown format {found:?}"))),
    }
}

fn decode(field: &str, value: &str, what: &str) -> Result<Vec<u8>, KeyError> {
    STANDARD
        .decode(value)
        .map_err(|e| malformed(what)(format!("{field}: {e}")))
}

fn to_json(file: &impl Serialize, what: &str) -> Result<Vec<u8>, KeyError> {
    serde_json::to_vec_pretty(file).map_err(|e| malformed(what)(e.to_string()))
}

impl WrappedObject {
    /// The contents of a key blob file (`<HASH>.tpmkey`).
    pub(super) fn to_key_blob(&self) -> Result<Vec<u8>, KeyError> {
        let file = KeyBlobFile {
            format: KEY_FORMAT.into(),
            parent: PARENT.into(),
            public: STANDARD.encode(&self.public),
            private: STANDARD.encode(&self.private),
        };
        to_json(&file, "TPM key blob")
    }

    /// The key of a key blob file's contents; `what` names the file in messages.
    pub(super) fn from_key_blob(bytes: &[u8], what: &str) -> Result<Self, KeyError> {
        let file: KeyBlobFile = from_json(bytes, what)?;
        check_format(&file.format, KEY_FORMAT, what)?;
        Ok(WrappedObject {
            public: decode("public", &file.public, what)?,
            private: decode("private", &file.private, what)?,
        })
    }
}

impl SealedSecret {
    const WHAT: &str = "sealed secret";

    pub(super) fn to_json(&self) -> Result<Vec<u8>, KeyError> {
        let file = SealedFile {
            format: SEALED_FORMAT.into(),
            parent: PARENT.into(),
            public: STANDARD.encode(&self.key.public),
            private: STANDARD.encode(&self.key.private),
            nonce: STANDARD.encode(self.nonce),
            ciphertext: STANDARD.encode(&self.ciphertext),
        };
        to_json(&file, Self::WHAT)
    }

    pub(super) fn from_json(bytes: &[u8]) -> Result<Self, KeyError> {
        let what = Self::WHAT;
        let file: SealedFile = from_json(bytes, what)?;
        check_format(&file.format, SEALED_FORMAT, what)?;
        let nonce = decode("nonce", &file.nonce, what)?
            .try_into()
            .map_err(|_| malformed(what)("nonce: not 12 bytes".into()))?;
        Ok(SealedSecret {
            key: WrappedObject {
                public: decode("public", &file.public, what)?,
                private: decode("private", &file.private, what)?,
            },
            nonce,
            ciphertext: decode("ciphertext", &file.ciphertext, what)?,
        })
    }
}
