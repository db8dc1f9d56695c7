//! The application as it sees itself, for rotation and key removal: its own
//! app-only Graph client, its keys, which certificate a key is, whether a key
//! is still valid, and the proof of possession its key calls carry.

use super::EngineError;
use crate::domain::{CertificateHash, Clock, SystemClock};
use crate::entra::assertion::proof_of_possession;
use crate::entra::client::EntraClient;
use crate::entra::graph::{Application, GRAPH_APP_ID, GraphClient, KeyCredential};
use crate::entra::{EntraError, Secret};
use crate::keys::{KeyError, KeyStore, StoredCertificate};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use time::OffsetDateTime;

/// The app-only Graph scope (Graph's application id works in every cloud).
fn graph_app_scope() -> String {
    format!("{GRAPH_APP_ID}/.default")
}

/// The application's own Graph client, signed in with `certificate`.
pub(super) async fn app_graph(
    client: &EntraClient,
    store: &dyn KeyStore,
    certificate: &StoredCertificate,
    app_id: &str,
) -> Result<GraphClient, EntraError> {
    let token = client
        .app_token(store, &certificate.info, app_id, &graph_app_scope())
        .await?;
    Ok(client.graph(token.secret.clone()))
}

/// The application (with its keys) as it sees itself.
pub(super) async fn own_application(
    graph: &GraphClient,
    app_id: &str,
) -> Result<Application, EngineError> {
    graph
        .application_keys(app_id)
        .await?
        .ok_or_else(|| EngineError::ApplicationNotFound {
            app_id: app_id.to_string(),
        })
}

/// Whether `key` is the certificate with this hash (by the `key` Graph
/// returns) or this SHA-1 thumbprint (by `customKeyIdentifier`).
pub(super) fn is_certificate(
    key: &KeyCredential,
    sha256: &CertificateHash,
    thumbprint: Option<&str>,
) -> bool {
    let by_thumbprint =
        thumbprint.is_some_and(|hex| super::certificates::key_has_thumbprint(key, hex));
    let by_key = key
        .key
        .as_deref()
        .and_then(|k| STANDARD.decode(k.trim()).ok())
        .is_some_and(|der| CertificateHash::of_der(&der) == *sha256);
    by_thumbprint || by_key
}

/// The application's key for the certificate with this hash or thumbprint.
pub(super) fn find_key<'a>(
    app: &'a Application,
    sha256: &CertificateHash,
    thumbprint: Option<&str>,
) -> Option<&'a KeyCredential> {
    app.key_credentials
        .iter()
        .find(|key| is_certificate(key, sha256, thumbprint))
}

/// Whether a key is valid at `now` (by its end date as Graph gives it).
pub(super) fn key_valid_at(key: &KeyCredential, now: OffsetDateTime) -> bool {
    key.end_date_time
        .as_deref()
        .and_then(|end| crate::domain::parse_time(end).ok())
        .is_none_or(|end| end > now)
}

/// A proof of possession signed with `certificate`'s key for the application
/// object `object_id` (addKey, removeKey). Entra checks its times against its
/// own clock, so they are the system's, never the server's "now".
pub(super) fn signed_proof(
    store: &dyn KeyStore,
    certificate: &StoredCertificate,
    object_id: &str,
) -> Result<Secret, KeyError> {
    proof_of_possession(store, &certificate.info, object_id, SystemClock.now())
}
