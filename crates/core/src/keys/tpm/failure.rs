//! Why a TPM job failed, as values: the engine tells a key of another TPM
//! (a copied server) from a TPM that does not answer, and the words for each
//! are here, once.

use crate::domain::{NextCommand, Remedy};
use crate::keys::KeyError;
use std::fmt;
use std::time::Duration;

/// What the TPM was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TpmOperation {
    CreateKey,
    Sign,
    Seal,
    Unseal,
}

impl fmt::Display for TpmOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TpmOperation::CreateKey => "create an RSA 2048 key",
            TpmOperation::Sign => "sign",
            TpmOperation::Seal => "seal a secret",
            TpmOperation::Unseal => "unseal a secret",
        })
    }
}

/// Which part of a TPM object's blob could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobPart {
    /// The public area (a marshalled TPMT_PUBLIC).
    Public,
    /// The private area (wrapped by the storage primary).
    Private,
}

/// An answer of the TPM that is not the one asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unexpected {
    KeyNotRsa,
    /// An RSA key of this many bits, not 2048.
    KeyBits(usize),
    SignatureNotRsa,
    NoSession,
}

/// What went wrong with a TPM job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TpmFailureKind {
    /// The connection to the TPM broke while the job ran (a TCTI error).
    Unreachable,
    /// The worker thread that owns the connection has stopped.
    Disconnected,
    /// The TPM did not answer within this limit.
    TimedOut(Duration),
    /// The blob fails its integrity check under this TPM's storage primary:
    /// another TPM made it (a copied state directory), or this TPM before it
    /// was cleared.
    AnotherTpm,
    /// The blob cannot be read: the part named, or (None) the TPM found its
    /// areas inconsistent.
    DamagedBlob(Option<BlobPart>),
    /// The blob holds an object with other attributes than this tool creates.
    UnexpectedAttributes,
    /// The storage primary cannot be created in the owner hierarchy.
    OwnerHierarchy,
    /// The TPM has no room for another object or session.
    SlotsFull,
    /// The TPM is in dictionary-attack lockout.
    Lockout,
    UnexpectedAnswer(Unexpected),
    /// Any other refusal, by the TPM or the TSS library (its error says which).
    Refused,
}

/// A TPM job's failure: what happened, and the TSS library's error behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TpmFailure {
    pub kind: TpmFailureKind,
    #[cfg(feature = "tpm")]
    pub tss: Option<tss_esapi::Error>,
}

impl TpmFailure {
    #[cfg_attr(not(feature = "tpm"), allow(dead_code))]
    pub(super) fn new(kind: TpmFailureKind) -> Self {
        TpmFailure {
            kind,
            #[cfg(feature = "tpm")]
            tss: None,
        }
    }

    /// The key store's error for this failure of `operation` on the TPM at
    /// `tcti`; a blob of another TPM has its own variant.
    pub(super) fn during(self, operation: TpmOperation, tcti: &str) -> KeyError {
        let tcti = tcti.to_string();
        match self.kind {
            TpmFailureKind::AnotherTpm => KeyError::FromAnotherTpm {
                tcti,
                operation,
                failure: self,
            },
            _ => KeyError::Tpm {
                tcti,
                operation,
                failure: self,
            },
        }
    }

    /// The TSS library's error, as it words it, with its response code.
    #[cfg(feature = "tpm")]
    fn tss_text(&self) -> Option<String> {
        self.tss.as_ref().map(esapi::describe)
    }

    #[cfg(not(feature = "tpm"))]
    fn tss_text(&self) -> Option<String> {
        None
    }
}

impl fmt::Display for TpmFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tss = self.tss_text();
        let tss = tss.as_deref().unwrap_or("no detail");
        match self.kind {
            TpmFailureKind::Unreachable => write!(f, "the connection to the TPM failed ({tss})"),
            TpmFailureKind::Disconnected => f.write_str("the TPM connection stopped"),
            TpmFailureKind::TimedOut(limit) => {
                write!(f, "the TPM did not answer within {} s", limit.as_secs())
            }
            TpmFailureKind::AnotherTpm => write!(
                f,
                "{tss}: the blob was not made by this TPM under its current owner seed"
            ),
            TpmFailureKind::DamagedBlob(Some(part)) => {
                let part = match part {
                    BlobPart::Public => "public",
                    BlobPart::Private => "private",
                };
                write!(f, "the blob's {part} area cannot be read ({tss})")
            }
            TpmFailureKind::DamagedBlob(None) => write!(
                f,
                "the TPM finds the blob's public and private areas do not belong together: it is damaged ({tss})"
            ),
            TpmFailureKind::UnexpectedAttributes => {
                f.write_str("the key blob's attributes are not the ones this tool creates")
            }
            TpmFailureKind::OwnerHierarchy => write!(
                f,
                "creating the storage primary key in the owner hierarchy failed ({tss}); the owner hierarchy must have an empty authorization value"
            ),
            TpmFailureKind::SlotsFull => write!(
                f,
                "{tss}: other programs keep objects loaded in the TPM. Use the kernel's resource manager (device:/dev/tpmrm0) or tpm2-abrmd, or free the slots with `tpm2_flushcontext -t`"
            ),
            TpmFailureKind::Lockout => write!(
                f,
                "{tss}: the TPM is in dictionary-attack lockout; wait for it to recover or clear the lockout"
            ),
            TpmFailureKind::UnexpectedAnswer(unexpected) => match unexpected {
                Unexpected::KeyNotRsa => f.write_str("the TPM returned a key that is not RSA"),
                Unexpected::KeyBits(bits) => {
                    write!(f, "the TPM returned a {bits}-bit key, not 2048")
                }
                Unexpected::SignatureNotRsa => {
                    f.write_str("the TPM returned a signature that is not RSA")
                }
                Unexpected::NoSession => f.write_str("the TPM started no session"),
            },
            TpmFailureKind::Refused => f.write_str(tss),
        }
    }
}

impl std::error::Error for TpmFailure {}

/// What a blob of another TPM means, and what to do, by what was asked.
pub(in crate::keys) fn from_another_tpm(operation: TpmOperation) -> &'static str {
    match operation {
        TpmOperation::CreateKey | TpmOperation::Sign => {
            "this server's TPM did not create this key: its blob was not made by this TPM (the state directory was copied from another server, or this TPM was cleared after the key was made), so the key cannot be used here. The fix is a new certificate: on a copied server, give it its own application, set up afresh; on the server that made the key, rotate with an administrator"
        }
        TpmOperation::Seal | TpmOperation::Unseal => {
            "this server's TPM did not seal this secret: its blob was not made by this TPM (the state directory was copied from another server, or this TPM was cleared after it was sealed), so it cannot be unsealed here. Record the secret again on this server (a connector account's password)"
        }
    }
}

/// The remedies [`from_another_tpm`] names, in its order.
pub(in crate::keys) fn after_another_tpm(operation: TpmOperation) -> Vec<Remedy> {
    match operation {
        TpmOperation::CreateKey | TpmOperation::Sign => vec![
            Remedy::run(NextCommand::SetUpAfresh),
            Remedy::run(NextCommand::RotateWithAdministrator),
        ],
        TpmOperation::Seal | TpmOperation::Unseal => {
            vec![Remedy::run(NextCommand::UseServiceAccount)]
        }
    }
}

/// The TSS library's errors as failure kinds.
#[cfg(feature = "tpm")]
pub(super) mod esapi {
    use super::{TpmFailure, TpmFailureKind};
    use tss_esapi::constants::response_code::{Tss2ResponseCode, Tss2ResponseCodeKind};

    // Which layer of the TSS stack said a response code: its bits 16 to 23.
    const TPM_LAYER: u32 = 0;
    const TCTI_LAYER: u32 = 10;
    /// A resource manager answering in the TPM's own codes (object memory).
    const RESOURCE_MANAGER_TPM_LAYER: u32 = 12;

    impl TpmFailure {
        /// The failure the TSS library's `error` means.
        pub(in crate::keys::tpm) fn tss(error: tss_esapi::Error) -> Self {
            TpmFailure::tss_as(kind_of(&error), error)
        }

        /// `error`, known here to mean `kind`.
        pub(in crate::keys::tpm) fn tss_as(kind: TpmFailureKind, error: tss_esapi::Error) -> Self {
            TpmFailure {
                kind,
                tss: Some(error),
            }
        }
    }

    fn raw(code: Tss2ResponseCode) -> u32 {
        match code {
            Tss2ResponseCode::Success => 0,
            Tss2ResponseCode::FormatZero(code) => code.0,
            Tss2ResponseCode::FormatOne(code) => code.0,
        }
    }

    /// What the TSS library's `error` means. The crate reads a response
    /// code's number without its layer, so the layer is checked first: an
    /// ESAPI or TCTI code is not the TPM's code of the same number.
    pub(in crate::keys::tpm) fn kind_of(error: &tss_esapi::Error) -> TpmFailureKind {
        let tss_esapi::Error::Tss2Error(code) = *error else {
            return TpmFailureKind::Refused;
        };
        match (raw(code) >> 16) & 0xff {
            TCTI_LAYER => TpmFailureKind::Unreachable,
            TPM_LAYER | RESOURCE_MANAGER_TPM_LAYER => match code.kind() {
                // Load checks the private area's HMAC, keyed by the parent's
                // seed, first: a blob of another parent fails it.
                Some(Tss2ResponseCodeKind::Integrity) => TpmFailureKind::AnotherTpm,
                Some(Tss2ResponseCodeKind::Binding | Tss2ResponseCodeKind::Sensitive) => {
                    TpmFailureKind::DamagedBlob(None)
                }
                Some(Tss2ResponseCodeKind::ObjectMemory | Tss2ResponseCodeKind::SessionMemory) => {
                    TpmFailureKind::SlotsFull
                }
                Some(Tss2ResponseCodeKind::Lockout) => TpmFailureKind::Lockout,
                _ => TpmFailureKind::Refused,
            },
            _ => TpmFailureKind::Refused,
        }
    }

    /// The library's words for `error`, with the response code (its words
    /// for a code of another layer are "response code not recognized").
    pub(super) fn describe(error: &tss_esapi::Error) -> String {
        match error {
            tss_esapi::Error::Tss2Error(code) => {
                format!("{error} (TSS response code {:#x})", raw(*code))
            }
            tss_esapi::Error::WrapperError(_) => error.to_string(),
        }
    }
}
