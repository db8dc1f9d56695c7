//! Built without the `tpm` feature: there is never a TPM.

use super::blob::WrappedObject;
use super::der::RsaPublic;
use super::{SigningAlgorithm, TpmFailure, TpmUnavailable};
use std::time::Duration;
use zeroize::Zeroizing;

pub(super) enum Session {}

pub(super) struct Connection {
    never: Session,
}

impl Connection {
    pub(super) fn open(tcti: &str) -> Result<Connection, TpmUnavailable> {
        Err(TpmUnavailable {
            tcti: tcti.to_string(),
            why: "this entra-connect was built without TPM support (cargo feature `tpm`)".into(),
        })
    }

    pub(super) fn manufacturer(&self) -> &str {
        match self.never {}
    }

    pub(super) fn run<R>(
        &self,
        _limit: Duration,
        _job: impl FnOnce(&mut Session) -> Result<R, TpmFailure>,
    ) -> Result<R, TpmFailure> {
        match self.never {}
    }
}

pub(super) fn create_signing_key(
    session: &mut Session,
) -> Result<(WrappedObject, RsaPublic), TpmFailure> {
    match *session {}
}

pub(super) fn sign(
    session: &mut Session,
    _key: WrappedObject,
    _algorithm: SigningAlgorithm,
    _digest: Vec<u8>,
) -> Result<Vec<u8>, TpmFailure> {
    match *session {}
}

pub(super) fn seal(session: &mut Session, _secret: &[u8]) -> Result<WrappedObject, TpmFailure> {
    match *session {}
}

pub(super) fn unseal(
    session: &mut Session,
    _object: WrappedObject,
) -> Result<Zeroizing<Vec<u8>>, TpmFailure> {
    match *session {}
}
