//! The worker's state, kept while the connection lives: the storage
//! primary, the HMAC session salted with it and the signing key loaded last,
//! so a client assertion and a proof in one run need one primary, one
//! session and one Load (about 20 ms on swtpm, once).

use super::failure::{TpmFailure, TpmFailureKind, Unexpected};
use super::templates::primary_template;
use tss_esapi::Context;
use tss_esapi::attributes::SessionAttributesBuilder;
use tss_esapi::constants::SessionType;
use tss_esapi::handles::{KeyHandle, ObjectHandle, SessionHandle};
use tss_esapi::interface_types::algorithm::HashingAlgorithm;
use tss_esapi::interface_types::resource_handles::Hierarchy;
use tss_esapi::interface_types::session_handles::AuthSession;
use tss_esapi::structures::{Private, Public, SymmetricDefinition};

pub(in crate::keys::tpm) struct Session {
    context: Context,
    primary: Option<KeyHandle>,
    /// The HMAC session salted with the primary, kept for the connection.
    session: Option<AuthSession>,
    /// The signing key loaded last (by its private blob), kept loaded.
    loaded: Option<(Vec<u8>, KeyHandle)>,
}

impl Session {
    pub(super) fn new(context: Context) -> Self {
        Session {
            context,
            primary: None,
            session: None,
            loaded: None,
        }
    }

    /// The storage primary, created on first need from its fixed template.
    fn primary(&mut self) -> Result<KeyHandle, TpmFailure> {
        if let Some(primary) = self.primary {
            return Ok(primary);
        }
        let template = primary_template().map_err(TpmFailure::tss)?;
        let created = self
            .context
            .execute_with_nullauth_session(|context| {
                context.create_primary(Hierarchy::Owner, template, None, None, None, None)
            })
            .map_err(|error| match TpmFailure::tss(error) {
                // Most likely an owner hierarchy with a password.
                refused if refused.kind == TpmFailureKind::Refused => {
                    TpmFailure::tss_as(TpmFailureKind::OwnerHierarchy, error)
                }
                failure => failure,
            })?;
        self.primary = Some(created.key_handle);
        Ok(created.key_handle)
    }

    /// The HMAC session salted with the storage primary (started once),
    /// so what crosses the bus (sealed data, digests) is encrypted.
    fn session(&mut self, primary: KeyHandle) -> Result<AuthSession, TpmFailure> {
        if let Some(session) = self.session {
            return Ok(session);
        }
        let session = self
            .context
            .start_auth_session(
                Some(primary),
                None,
                None,
                SessionType::Hmac,
                SymmetricDefinition::AES_128_CFB,
                HashingAlgorithm::Sha256,
            )
            .map_err(TpmFailure::tss)?
            .ok_or_else(|| {
                TpmFailure::new(TpmFailureKind::UnexpectedAnswer(Unexpected::NoSession))
            })?;
        let (attributes, mask) = SessionAttributesBuilder::new()
            .with_decrypt(true)
            .with_encrypt(true)
            .build();
        if let Err(error) = self
            .context
            .tr_sess_set_attributes(session, attributes, mask)
        {
            let _ = self.context.flush_context(session_object(session));
            return Err(TpmFailure::tss(error));
        }
        self.session = Some(session);
        Ok(session)
    }

    /// Runs `f` in the salted session. After an error the session and
    /// the loaded key are flushed, so the next command starts clean.
    pub(super) fn with_session<T>(
        &mut self,
        f: impl FnOnce(&mut Context, KeyHandle) -> tss_esapi::Result<T>,
    ) -> Result<T, TpmFailure> {
        let primary = self.primary()?;
        let session = self.session(primary)?;
        let result = self
            .context
            .execute_with_session(Some(session), |c| f(c, primary));
        if result.is_err() {
            self.reset();
        }
        result.map_err(TpmFailure::tss)
    }

    fn reset(&mut self) {
        if let Some(session) = self.session.take() {
            let _ = self.context.flush_context(session_object(session));
        }
        if let Some((_, key)) = self.loaded.take() {
            let _ = self.context.flush_context(key.into());
        }
    }

    /// The signing key of these areas, loaded under the primary (or
    /// still loaded from the last signature).
    pub(super) fn signing_key(
        &mut self,
        public: Public,
        private: Private,
    ) -> Result<KeyHandle, TpmFailure> {
        if let Some((blob, key)) = &self.loaded
            && blob.as_slice() == private.value()
        {
            return Ok(*key);
        }
        if let Some((_, key)) = self.loaded.take() {
            let _ = self.context.flush_context(key.into());
        }
        let blob = private.value().to_vec();
        let key = self.with_session(|context, primary| context.load(primary, private, public))?;
        self.loaded = Some((blob, key));
        Ok(key)
    }
}

fn session_object(session: AuthSession) -> ObjectHandle {
    ObjectHandle::from(SessionHandle::from(session))
}

/// Loads a blob under the primary, runs `f`, and flushes it again.
pub(super) fn with_loaded<T>(
    context: &mut Context,
    primary: KeyHandle,
    public: Public,
    private: Private,
    f: impl FnOnce(&mut Context, KeyHandle) -> tss_esapi::Result<T>,
) -> tss_esapi::Result<T> {
    let key = context.load(primary, private, public)?;
    let result = f(context, key);
    let flushed = context.flush_context(key.into());
    let value = result?;
    flushed?;
    Ok(value)
}
