//! The TPM jobs, run on the worker: create a signing key, sign, seal and
//! unseal, each in the salted session.

use super::blob::WrappedObject;
use super::der::RsaPublic;
use super::failure::{BlobPart, TpmFailure, TpmFailureKind, Unexpected};
use super::session::{Session, with_loaded};
use super::templates::{check_attributes, sealed_template, signing_key_template};
use crate::keys::SigningAlgorithm;
use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::structures::{
    Digest, HashScheme, HashcheckTicket, Private, Public, SensitiveData, Signature, SignatureScheme,
};
use tss_esapi::traits::{Marshall, UnMarshall};
use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;
use zeroize::Zeroizing;

fn unexpected(answer: Unexpected) -> TpmFailure {
    TpmFailure::new(TpmFailureKind::UnexpectedAnswer(answer))
}

/// A blob's areas as the TPM takes them.
fn unmarshal(object: WrappedObject) -> Result<(Public, Private), TpmFailure> {
    let damaged = |part| move |e| TpmFailure::tss_as(TpmFailureKind::DamagedBlob(Some(part)), e);
    let public = Public::unmarshall(&object.public).map_err(damaged(BlobPart::Public))?;
    let private = Private::try_from(object.private).map_err(damaged(BlobPart::Private))?;
    Ok((public, private))
}

/// The TPM's areas of a new object, as kept outside it.
fn wrapped(public: &Public, private: &Private) -> Result<WrappedObject, TpmFailure> {
    Ok(WrappedObject {
        public: public.marshall().map_err(TpmFailure::tss)?,
        private: private.value().to_vec(),
    })
}

/// Creates a new signing key: its blobs and its public numbers.
pub(super) fn create_signing_key(
    session: &mut Session,
) -> Result<(WrappedObject, RsaPublic), TpmFailure> {
    let template = signing_key_template().map_err(TpmFailure::tss)?;
    let created = session.with_session(|context, primary| {
        context.create(primary, template, None, None, None, None)
    })?;
    let (modulus, exponent) = match &created.out_public {
        Public::Rsa {
            unique, parameters, ..
        } => (unique.value().to_vec(), parameters.exponent().value()),
        _ => return Err(unexpected(Unexpected::KeyNotRsa)),
    };
    if modulus.len() != 256 {
        return Err(unexpected(Unexpected::KeyBits(modulus.len() * 8)));
    }
    // The TPM's zero means the default exponent.
    let exponent = if exponent == 0 { 65537 } else { exponent };
    Ok((
        wrapped(&created.out_public, &created.out_private)?,
        RsaPublic { modulus, exponent },
    ))
}

/// Signs a SHA-256 `digest` with the key of `key`'s blobs.
pub(super) fn sign(
    session: &mut Session,
    key: WrappedObject,
    algorithm: SigningAlgorithm,
    digest: Vec<u8>,
) -> Result<Vec<u8>, TpmFailure> {
    let (public, private) = unmarshal(key)?;
    check_attributes(&public, signing_key_template())?;
    let hash = HashScheme::new(HashingAlgorithm::Sha256);
    let scheme = match algorithm {
        SigningAlgorithm::Rs256 => SignatureScheme::RsaSsa { hash_scheme: hash },
        SigningAlgorithm::Ps256 => SignatureScheme::RsaPss { hash_scheme: hash },
    };
    let digest = Digest::try_from(digest).map_err(TpmFailure::tss)?;
    let validation = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
        tag: TPM2_ST_HASHCHECK,
        hierarchy: TPM2_RH_NULL,
        digest: Default::default(),
    })
    .map_err(TpmFailure::tss)?;
    let key = session.signing_key(public, private)?;
    let signature =
        session.with_session(|context, _| context.sign(key, digest, scheme, validation))?;
    match signature {
        Signature::RsaSsa(rsa) | Signature::RsaPss(rsa) => Ok(rsa.signature().value().to_vec()),
        _ => Err(unexpected(Unexpected::SignatureNotRsa)),
    }
}

/// Seals `secret` in a new data object under the primary.
pub(super) fn seal(session: &mut Session, secret: &[u8]) -> Result<WrappedObject, TpmFailure> {
    let template = sealed_template().map_err(TpmFailure::tss)?;
    let data = SensitiveData::try_from(secret.to_vec()).map_err(TpmFailure::tss)?;
    let created = session.with_session(|context, primary| {
        context.create(primary, template, None, Some(data), None, None)
    })?;
    wrapped(&created.out_public, &created.out_private)
}

/// The secret in the sealed data object of `object`'s blobs.
pub(super) fn unseal(
    session: &mut Session,
    object: WrappedObject,
) -> Result<Zeroizing<Vec<u8>>, TpmFailure> {
    let (public, private) = unmarshal(object)?;
    check_attributes(&public, sealed_template())?;
    let data = session.with_session(|context, primary| {
        with_loaded(context, primary, public, private, |context, object| {
            context.unseal(object.into())
        })
    })?;
    Ok(Zeroizing::new(data.value().to_vec()))
}
