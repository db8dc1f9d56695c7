//! Remove-EntraApplicationKey: the application removes one of its keys itself
//! (`removeKey`, proof signed by the key in use): the revocation path for a
//! certificate. Never the key in use, never the last valid key. Also the
//! read-only list of the application's keys (`app keys`).

use super::certificates::usable_certificate;
use super::operation::{Change, Check, Done, Journaled, Operation, PlannedStep, Run, Step, Target};
use super::own_keys::{app_graph, is_certificate, key_valid_at, own_application, signed_proof};
use super::progress::ProgressSender;
use super::{EngineError, EntraRequest, LocalServer};
use crate::domain::{
    ApplicationCredential, CertificateHash, ConnectorCredential, EventId, EventLevel,
};
use crate::entra::EntraError;
use crate::entra::client::{ConnectionSettings, EntraClient};
use crate::entra::graph::{Application, GraphClient, KeyCredential};
use crate::host::{credential, events};
use crate::keys::{KeyStore, StoredCertificate};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

/// Journaled, though it changes nothing: a rerun after the key was removed
/// (the answer lost, or the process killed) knows which key it asked for.
pub const FIND_KEY: Step<FoundKey> = Step::new("find-key", "Look up the key on the application");
pub const REMOVE_KEY: Step<String> = Step::new("remove-key", "Remove the key from the application");
const LIST_KEYS: Check = Check::new("list-keys", "Read the application's keys");

/// The `app remove-key` operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoveKey {
    pub key_id: String,
}

/// The key to remove, as the lookup found it on the application.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FoundKey {
    /// The application's object id, which removeKey and its proof name.
    app_object_id: String,
    key: ApplicationKey,
}

/// What `app remove-key` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedKey {
    pub app_id: String,
    pub key_id: String,
    pub thumbprint: Option<String>,
}

/// One of the application's keys, as `app keys` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplicationKey {
    pub key_id: String,
    /// SHA-1 thumbprint (uppercase hex), from `customKeyIdentifier`.
    pub thumbprint: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub origin: KeyOrigin,
}

/// The key audit's verdict on a key: whose it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyOrigin {
    /// The certificate the connector signs in with.
    InUse,
    /// A certificate in this server's key store (an earlier or next one).
    ThisServer,
    /// Added by someone else: whoever holds its private key can sign in as
    /// this server's connector.
    Unknown,
}

impl KeyOrigin {
    pub fn describe(self) -> &'static str {
        match self {
            KeyOrigin::InUse => "in use",
            KeyOrigin::ThisServer => "added by this server",
            KeyOrigin::Unknown => "UNKNOWN: not added by this server",
        }
    }
}

/// The connector's application credential and the certificate in use, which
/// must be able to sign (it proves the application holds a current key).
pub(crate) struct Current {
    pub(super) credential: ApplicationCredential,
    pub(super) certificate: StoredCertificate,
}

pub(super) fn in_use(server: &LocalServer) -> Result<Current, EngineError> {
    let credential = match server.credential()? {
        ConnectorCredential::Application(app) => app,
        other => {
            return Err(EngineError::RotationNeedsApplication {
                identity: other.identity_type().to_string(),
            });
        }
    };
    let certificate = usable_certificate(server, &credential.certificate_sha256)?;
    Ok(Current {
        credential,
        certificate,
    })
}

fn thumbprint(key: &KeyCredential) -> Option<String> {
    let id = key.custom_key_identifier.as_deref()?;
    Some(match STANDARD.decode(id) {
        Ok(raw) => hex::encode_upper(raw),
        Err(_) => id.to_string(),
    })
}

/// This server's certificates as (SHA-256 hash, SHA-1 thumbprint): those in
/// its key store and every one the connector has signed in with here (a
/// rotated Managed certificate's files are gone, its key may not be).
fn this_servers_certificates(
    server: &LocalServer,
) -> Result<Vec<(CertificateHash, String)>, EngineError> {
    let mut ours = server.read(credential::remembered_certificates)?;
    ours.extend(
        server
            .certificates()?
            .into_iter()
            .map(|stored| (stored.info.sha256, stored.info.thumbprint)),
    );
    Ok(ours)
}

/// The application's keys, each with the audit's verdict: the one in use,
/// this server's others (`ours`), and the rest.
fn keys_of(
    app: &Application,
    current: &StoredCertificate,
    ours: &[(CertificateHash, String)],
) -> Vec<ApplicationKey> {
    app.key_credentials
        .iter()
        .map(|key| {
            let origin =
                if is_certificate(key, &current.info.sha256, Some(&current.info.thumbprint)) {
                    KeyOrigin::InUse
                } else if ours
                    .iter()
                    .any(|(sha256, thumbprint)| is_certificate(key, sha256, Some(thumbprint)))
                {
                    KeyOrigin::ThisServer
                } else {
                    KeyOrigin::Unknown
                };
            ApplicationKey {
                key_id: key.key_id.clone().unwrap_or_default(),
                thumbprint: thumbprint(key),
                start: key.start_date_time.clone(),
                end: key.end_date_time.clone(),
                origin,
            }
        })
        .collect()
}

/// The keys, one per line, for a refusal.
fn describe(keys: &[ApplicationKey]) -> String {
    keys.iter()
        .map(|key| {
            format!(
                "{} (thumbprint {}, until {}, {})",
                key.key_id,
                key.thumbprint.as_deref().unwrap_or("unknown"),
                key.end.as_deref().unwrap_or("unknown"),
                key.origin.describe()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Operation for RemoveKey {
    const KIND: &'static str = "remove-key";
    type Output = RemovedKey;

    type Situation = Current;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<Current, EngineError> {
        in_use(server).map_err(EngineError::refused_at(FIND_KEY.id))
    }

    fn plan(
        &self,
        Current {
            credential,
            certificate,
        }: &Current,
        _server: &LocalServer,
        _target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        Ok(vec![
            FIND_KEY.plan_lookup(Change::FindKey {
                app_id: credential.application_id.clone(),
                key_id: self.key_id.clone(),
            }),
            REMOVE_KEY.plan(Change::RemoveKey {
                key_id: self.key_id.clone(),
                signed_with: certificate.info.sha256.clone(),
            }),
        ])
    }

    async fn execute(
        &self,
        Current {
            credential,
            certificate: current,
        }: Current,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<RemovedKey, EngineError> {
        let store = server.key_store()?;
        let ours = this_servers_certificates(server)?;
        let client = entra.client(run)?;
        let app_id = credential.application_id.clone();
        let key_id = self.key_id.clone();
        let found = run
            .step(server, FIND_KEY, async |server| {
                let now = server.now();
                let graph = app_graph(&client, &store, &current, &app_id).await?;
                let app = own_application(&graph, &app_id).await?;
                let keys = keys_of(&app, &current, &ours);
                let Some(found) = keys
                    .iter()
                    .find(|k| k.key_id.eq_ignore_ascii_case(&key_id))
                    .cloned()
                else {
                    return Err(EngineError::KeyUnknown {
                        key_id: key_id.clone(),
                        keys: describe(&keys),
                    });
                };
                if found.origin == KeyOrigin::InUse {
                    return Err(EngineError::KeyInUse {
                        key_id: found.key_id,
                    });
                }
                let others_valid = app.key_credentials.iter().any(|k| {
                    !k.key_id
                        .as_deref()
                        .is_some_and(|id| id.eq_ignore_ascii_case(&key_id))
                        && key_valid_at(k, now)
                });
                if !others_valid {
                    return Err(EngineError::LastValidKey {
                        key_id: found.key_id,
                    });
                }
                let summary = format!(
                    "key {} (thumbprint {})",
                    found.key_id,
                    found.thumbprint.as_deref().unwrap_or("unknown")
                );
                let found = FoundKey {
                    app_object_id: app.id,
                    key: found,
                };
                Ok(Done::new(found, summary))
            })
            .await?;

        let removed_id = found.key.key_id.clone();
        run.step(server, REMOVE_KEY, async |_| {
            // A rerun found the key earlier; it may have become the one in
            // use since (the connector rotated onto it).
            if found.key.thumbprint.as_deref() == Some(current.info.thumbprint.as_str()) {
                return Err(EngineError::KeyInUse {
                    key_id: removed_id.clone(),
                });
            }
            let graph = app_graph(&client, &store, &current, &app_id).await?;
            remove_own_key(
                &graph,
                &store,
                &current,
                &app_id,
                &found.app_object_id,
                &removed_id,
            )
            .await?;
            let message = format!(
                "Key {removed_id} (thumbprint {}) was removed from application {app_id}.",
                found.key.thumbprint.as_deref().unwrap_or("unknown")
            );
            let summary = format!("removed key {removed_id}");
            Ok(
                Done::new(removed_id.clone(), summary).with_local(move |tx| {
                    events::record(
                        tx,
                        EventLevel::Information,
                        EventId::APPLICATION_KEY_REMOVED,
                        &message,
                    )
                }),
            )
        })
        .await?;
        Ok(RemovedKey {
            app_id: credential.application_id,
            key_id: found.key.key_id,
            thumbprint: found.key.thumbprint,
        })
    }
}

/// Removes the key `key_id` from the application (object `object_id`), the
/// application proving with `current` (the certificate in use) that it holds
/// a key. A key already gone is removed: an earlier run's removal went
/// through, and its answer was lost or the process stopped before it was
/// journaled.
pub(super) async fn remove_own_key(
    graph: &GraphClient,
    store: &dyn KeyStore,
    current: &StoredCertificate,
    app_id: &str,
    object_id: &str,
    key_id: &str,
) -> Result<(), EngineError> {
    let proof = signed_proof(store, current, object_id)?;
    match graph.remove_key(object_id, key_id, &proof).await {
        Ok(()) | Err(EntraError::Graph { status: 404, .. }) => Ok(()),
        Err(error @ EntraError::Ambiguous { .. }) => {
            let again = own_application(graph, app_id).await?;
            let still = again.key_credentials.iter().any(|k| {
                k.key_id
                    .as_deref()
                    .is_some_and(|id| id.eq_ignore_ascii_case(key_id))
            });
            match still {
                true => Err(error.into()),
                false => Ok(()),
            }
        }
        Err(other) => Err(other.into()),
    }
}

/// `app keys`: the application's keys with the audit's verdict, read by the
/// application itself with the certificate in use. Changes nothing.
pub async fn application_keys(
    server: &LocalServer,
    connection: ConnectionSettings,
    progress: ProgressSender,
) -> Result<Vec<ApplicationKey>, EngineError> {
    // Refused before any request: no application credential, no usable certificate.
    in_use(server)?;
    let mut run = Run::untracked("application-keys", &[LIST_KEYS.id], progress);
    let client = EntraClient::new(connection, run.retry_observer())?;
    run.check(LIST_KEYS, async || {
        let (_, keys) = read_own_application(server, &client).await?;
        let summary = format!("{} key(s)", keys.len());
        Ok((keys, summary))
    })
    .await
}

/// The application as it reads itself with the certificate in use (its
/// keys and client secrets), and its keys with the audit's verdict.
pub(super) async fn read_own_application(
    server: &LocalServer,
    client: &EntraClient,
) -> Result<(Application, Vec<ApplicationKey>), EngineError> {
    let Current {
        credential,
        certificate: current,
    } = in_use(server)?;
    let store = server.key_store()?;
    let ours = this_servers_certificates(server)?;
    let graph = app_graph(client, &store, &current, &credential.application_id).await?;
    let app = own_application(&graph, &credential.application_id).await?;
    let keys = keys_of(&app, &current, &ours);
    Ok((app, keys))
}
