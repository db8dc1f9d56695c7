//! How a rotation's keys change on the application: the new key added by
//! the application itself (addKey) or by an administrator (PATCH
//! keyCredentials), each exactly once, and the old key removed afterwards.

use super::{AddedKey, OldKeyRemoval, PathChoice, RotatedCertificate};
use crate::domain::{EventId, EventLevel, NextCommand};
use crate::engine::EngineError;
use crate::engine::certificates::key_credential;
use crate::engine::operation::Done;
use crate::engine::own_keys::{app_graph, find_key, key_valid_at, own_application, signed_proof};
use crate::entra::EntraError;
use crate::entra::client::EntraClient;
use crate::entra::graph::{GraphClient, Repeat};
use crate::host::events;
use crate::keys::{KeyStore, StoredCertificate};
use time::OffsetDateTime;

/// The certificates a key lookup compares with.
pub(super) struct KeyCertificates<'a> {
    pub(super) old: &'a RotatedCertificate,
    pub(super) new: &'a StoredCertificate,
}

/// An answer meaning the application may not roll its own key: the token
/// endpoint refused its current certificate, or Graph refused the proof or
/// the call. Anything else (transport, lost answers) is not a refusal.
fn refusal(error: EntraError) -> EngineError {
    match error {
        EntraError::Key(error) => EngineError::Key(error),
        EntraError::Token { .. }
        | EntraError::Graph {
            status: 401 | 403, ..
        } => EngineError::SelfRotationRefused(Box::new(error)),
        other => other.into(),
    }
}

/// addKey by the application, exactly once: the keys are looked at first,
/// and after an answer that got lost they are polled (through replication)
/// before the key is sent again; Graph's "already exists" for the
/// certificate is success once the key shows.
pub(super) async fn add_key_itself(
    client: &EntraClient,
    store: &dyn KeyStore,
    current: &StoredCertificate,
    app_id: &str,
    keys: &KeyCertificates<'_>,
    choice: PathChoice,
) -> Result<AddedKey, EngineError> {
    let graph = app_graph(client, store, current, app_id)
        .await
        .map_err(refusal)?;
    let app = graph
        .application_keys(app_id)
        .await
        .map_err(refusal)?
        .ok_or_else(|| EngineError::ApplicationNotFound {
            app_id: app_id.to_string(),
        })?;
    let new_hash = &keys.new.info.sha256;
    let new_thumbprint = Some(keys.new.info.thumbprint.as_str());
    let old_key_id = find_key(&app, &keys.old.sha256, keys.old.thumbprint.as_deref())
        .and_then(|k| k.key_id.clone());
    let added = |new_key_id: Option<String>| AddedKey {
        object_id: app.id.clone(),
        new_key_id,
        old_key_id: old_key_id.clone(),
        choice: choice.clone(),
    };
    if let Some(existing) = find_key(&app, new_hash, new_thumbprint) {
        return Ok(added(existing.key_id.clone()));
    }
    let new_key = key_credential(keys.new);
    // Graph documents no refusal of a second addKey of one certificate.
    let written = graph
        .write_once(Repeat::Duplicates)
        .write_first()
        .run(
            async || {
                let again = graph.application_keys(app_id).await?;
                Ok(again.and_then(|app| find_key(&app, new_hash, new_thumbprint).cloned()))
            },
            async || {
                // Signed for each send: a repeat may come after a long wait.
                let proof = signed_proof(store, current, &app.id)?;
                graph.add_key(&app.id, &new_key, &proof).await
            },
        )
        .await
        .map_err(refusal)?;
    Ok(added(written.into_inner().key_id))
}

/// The administrator's PATCH of the whole collection: every key read back
/// (with `key`) plus the new one; nothing when it is there already.
pub(super) async fn replace_keys(
    graph: &GraphClient,
    app_id: &str,
    keys: &KeyCertificates<'_>,
    choice: PathChoice,
) -> Result<AddedKey, EngineError> {
    let new_hash = &keys.new.info.sha256;
    let new_thumbprint = Some(keys.new.info.thumbprint.as_str());
    let mut app = own_application(graph, app_id).await?;
    if find_key(&app, new_hash, new_thumbprint).is_none() {
        let mut collection = app.key_credentials.clone();
        collection.push(key_credential(keys.new));
        graph.replace_key_credentials(&app.id, &collection).await?;
        app = own_application(graph, app_id).await?;
    }
    Ok(AddedKey {
        new_key_id: find_key(&app, new_hash, new_thumbprint).and_then(|k| k.key_id.clone()),
        old_key_id: find_key(&app, &keys.old.sha256, keys.old.thumbprint.as_deref())
            .and_then(|k| k.key_id.clone()),
        object_id: app.id,
        choice,
    })
}

/// removeKey of the old key by the application, with a proof signed by the
/// new key; never the last valid key (at `now`).
pub(super) async fn remove_old_key(
    client: &EntraClient,
    store: &dyn KeyStore,
    keys: &KeyCertificates<'_>,
    app_id: &str,
    added: &AddedKey,
    now: OffsetDateTime,
) -> Result<OldKeyRemoval, EngineError> {
    let old = keys.old;
    let graph = app_graph(client, store, keys.new, app_id).await?;
    let app = own_application(&graph, app_id).await?;
    let Some(key) = find_key(&app, &old.sha256, old.thumbprint.as_deref()) else {
        return Ok(OldKeyRemoval::AlreadyGone);
    };
    let key_id = key
        .key_id
        .clone()
        .or_else(|| added.old_key_id.clone())
        .unwrap_or_default();
    let others_valid = app
        .key_credentials
        .iter()
        .any(|k| k.key_id.as_deref() != Some(key_id.as_str()) && key_valid_at(k, now));
    if !others_valid {
        return Err(EngineError::LastValidKey { key_id });
    }
    let proof = signed_proof(store, keys.new, &app.id)?;
    match graph.remove_key(&app.id, &key_id, &proof).await {
        Ok(()) => Ok(OldKeyRemoval::Removed { key_id }),
        Err(error @ EntraError::Ambiguous { .. }) => {
            let again = own_application(&graph, app_id).await?;
            match find_key(&again, &old.sha256, old.thumbprint.as_deref()) {
                None => Ok(OldKeyRemoval::Removed { key_id }),
                Some(_) => Err(error.into()),
            }
        }
        Err(other) => Err(other.into()),
    }
}

/// The removal step's outcome: a failure is recorded as error event 1131
/// with the command that finishes the job, and the rotation stands.
pub(super) fn removal_done(
    outcome: Result<OldKeyRemoval, EngineError>,
    app_id: &str,
    old: &RotatedCertificate,
    added: &AddedKey,
) -> Done<OldKeyRemoval> {
    match outcome {
        Ok(removal) => {
            let summary = match &removal {
                OldKeyRemoval::Removed { key_id } => format!("removed key {key_id}"),
                _ => "the old key is not on the application".to_string(),
            };
            Done::new(removal, summary)
        }
        Err(error) => {
            let key_id = added.old_key_id.clone();
            let command = NextCommand::RemoveKey {
                key_id: key_id.clone(),
            }
            .command_line();
            let reason = error.to_string();
            let message = format!(
                "The old key {} (certificate {}) of application {app_id} was not removed after the rotation: {reason}. The connector already signs in with the new certificate. Remove the old key with: {command}",
                key_id.as_deref().unwrap_or("(keyId unknown)"),
                old.sha256
            );
            let summary = format!("WARNING: not removed ({reason}); run: {command}");
            let removal = OldKeyRemoval::NotRemoved {
                key_id,
                reason,
                command,
            };
            Done::new(removal, summary).with_local(move |tx| {
                events::record(
                    tx,
                    EventLevel::Error,
                    EventId::OLD_KEY_NOT_REMOVED,
                    &message,
                )
            })
        }
    }
}
