//! Invoke-ADSyncApplicationCredentialRotation: a new certificate for the
//! connector's application. The application rolls its own key (an app-only
//! Graph token and `addKey` with a proof signed by the current key, no
//! administrator); when the current key cannot sign (expired, not in the key
//! store) or an administrator is given, an administrator who may update
//! application credentials replaces `keyCredentials` instead. Then: a token
//! with the new certificate, the switch, and `removeKey` of the old key
//! (proof signed by the new key), whose failure leaves an error event with
//! the command that finishes it, not a failed rotation.

use super::admin::{SIGN_IN_CREDENTIAL_ADMIN, plan_sign_in_as, sign_in_checked_as};
use super::certificates::{
    key_credential, key_has_thumbprint, new_certificate_change, usable_certificate,
};
use super::operation::{
    Check, Done, Operation, PlannedStep, Run, Step, Target, plan_scheduler_off,
};
use super::{EngineError, EntraRequest, LocalServer, permissions};
use crate::domain::{
    ApplicationCredential, CertificateDays, CertificateHash, ConnectorCredential, EventId,
    EventLevel, ManagedBy, SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE, format_time,
};
use crate::entra::EntraError;
use crate::entra::assertion::proof_of_possession;
use crate::entra::client::EntraClient;
use crate::entra::graph::{Application, GRAPH_APP_ID, GraphClient, KeyCredential, Repeat};
use crate::host::{credential, events};
use crate::keys::{KeyError, KeyStore, StoreChoice, StoredCertificate};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub const NEW_CERTIFICATE: Step<Prepared> =
    Step::new("new-certificate", "Prepare the new certificate");
pub const ADD_KEY: Step<AddedKey> = Step::new(
    "add-key",
    "Add the new key to the application (the application itself)",
);
pub const REPLACE_KEYS: Step<AddedKey> = Step::new(
    "replace-keys",
    "Add the new key to the application (an administrator)",
);
pub const VERIFY: Check = Check::new(
    "verify-new-certificate",
    "Sign in as the application with the new certificate",
);
pub const SWITCH: Step<()> = Step::new(
    "switch-credential",
    "Switch the connector to the new certificate",
);
pub const REMOVE_OLD_KEY: Step<OldKeyRemoval> =
    Step::new("remove-old-key", "Remove the old key from the application");
pub const DELETE_OLD_CERTIFICATE: Step<()> = Step::new(
    "delete-old-certificate",
    "Delete the old key and certificate from this server",
);

/// The app-only Graph scope (Graph's application id works in every cloud).
pub(super) fn graph_app_scope() -> String {
    format!("{GRAPH_APP_ID}/.default")
}

/// Where the new certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum NewCertificate {
    /// Managed: a new key and certificate in this server's store.
    Managed { days: CertificateDays },
    /// Bring Your Own Certificate / Application: one in the store, by hash.
    Existing(CertificateHash),
}

/// The `app rotate` operation. Its inputs are the command line's only, so a
/// rerun resumes whatever the credential became part way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotate {
    pub certificate: NewCertificate,
}

/// Who adds the new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RotationPath {
    /// `addKey` with a proof signed by the current key.
    Application,
    /// `PATCH keyCredentials` by an administrator.
    Administrator,
}

impl RotationPath {
    /// Who added the new key, for people.
    pub fn describe(self) -> &'static str {
        match self {
            RotationPath::Application => "the application itself (addKey)",
            RotationPath::Administrator => "an administrator (PATCH keyCredentials)",
        }
    }
}

/// The path and why it applies.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PathChoice {
    pub path: RotationPath,
    pub why: String,
}

/// A certificate of the rotation, as journaled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotatedCertificate {
    pub sha256: CertificateHash,
    /// SHA-1 (uppercase hex), when the certificate is in the store.
    pub thumbprint: Option<String>,
    pub managed_by: ManagedBy,
}

/// What the certificate step records: the credential before, and the new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prepared {
    pub old: RotatedCertificate,
    pub new: RotatedCertificate,
}

/// What adding the key records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddedKey {
    pub object_id: String,
    pub new_key_id: Option<String>,
    pub old_key_id: Option<String>,
    pub choice: PathChoice,
}

/// What became of the old key on the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum OldKeyRemoval {
    Removed {
        key_id: String,
    },
    /// Not on the application (any more).
    AlreadyGone,
    /// Not removed: the change stands, error event 1131 says how to finish.
    NotRemoved {
        key_id: Option<String>,
        reason: String,
        command: String,
    },
}

/// What a rotation produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rotation {
    pub app_id: String,
    pub old_certificate_sha256: CertificateHash,
    pub new_certificate_sha256: CertificateHash,
    pub path: RotationPath,
    pub why: String,
    pub old_key: OldKeyRemoval,
    /// Managed: deleted from the store; yours (BYOC/BYOA): kept.
    pub old_certificate_deleted: bool,
    pub warnings: Vec<String>,
}

impl OldKeyRemoval {
    /// What became of the old key, for people (with the command that
    /// finishes a removal that failed).
    pub fn describe(&self) -> String {
        match self {
            OldKeyRemoval::Removed { key_id } => format!("removed ({key_id})"),
            OldKeyRemoval::AlreadyGone => "not on the application".to_string(),
            OldKeyRemoval::NotRemoved { command, .. } => format!("NOT removed: run {command}"),
        }
    }
}

/// The rotation as far as it can be known before running: from the journal
/// of an earlier run that stopped, else from the current credential.
struct Situation {
    credential: ApplicationCredential,
    old: RotatedCertificate,
    new: Option<RotatedCertificate>,
    added: Option<AddedKey>,
    choice: PathChoice,
}

impl Rotate {
    fn situation(&self, server: &LocalServer, admin: bool) -> Result<Situation, EngineError> {
        let credential = match server.credential()? {
            ConnectorCredential::Application(app) => app,
            other => {
                return Err(EngineError::RotationNeedsApplication {
                    identity: other.identity_type().to_string(),
                });
            }
        };
        let prepared: Option<Prepared> = self.journaled(server, NEW_CERTIFICATE.id)?;
        let added = match self.journaled::<AddedKey>(server, ADD_KEY.id)? {
            Some(added) => Some(added),
            None => self.journaled(server, REPLACE_KEYS.id)?,
        };
        let old = match &prepared {
            Some(prepared) => prepared.old.clone(),
            None => RotatedCertificate {
                sha256: credential.certificate_sha256.clone(),
                thumbprint: server
                    .certificate(&credential.certificate_sha256)
                    .ok()
                    .map(|c| c.info.thumbprint),
                managed_by: credential.certificate_managed_by,
            },
        };
        let choice = match &added {
            Some(added) => added.choice.clone(),
            None => choose_path(server, &old.sha256, admin)?,
        };
        Ok(Situation {
            credential,
            old,
            new: prepared.map(|p| p.new),
            added,
            choice,
        })
    }

    /// The new certificate's rules, checked before anything changes.
    fn check_new(&self, server: &LocalServer, situation: &Situation) -> Result<(), EngineError> {
        if situation.new.is_some() {
            return Ok(());
        }
        match &self.certificate {
            NewCertificate::Managed { .. } => match situation.old.managed_by {
                ManagedBy::EntraConnect => Ok(()),
                ManagedBy::Customer => Err(EngineError::RotationNeedsCertificate),
            },
            NewCertificate::Existing(hash) => {
                usable_certificate(server, hash)
                    .map_err(EngineError::refused_at(NEW_CERTIFICATE.id))?;
                match *hash == situation.old.sha256 {
                    true => Err(EngineError::SameCertificate(hash.clone())),
                    false => Ok(()),
                }
            }
        }
    }
}

/// Whether the application can roll its own key with the current
/// certificate, or an administrator has to (and why).
fn choose_path(
    server: &LocalServer,
    current: &CertificateHash,
    admin: bool,
) -> Result<PathChoice, EngineError> {
    let administrator = |why: String| PathChoice {
        path: RotationPath::Administrator,
        why,
    };
    let stored = match server.certificate(current) {
        Ok(stored) => stored,
        Err(EngineError::Key(KeyError::NotFound(_))) => {
            return Ok(administrator(format!(
                "the current certificate {current} is not in this server's key store, so the application cannot prove it holds its key"
            )));
        }
        Err(other) => return Err(other),
    };
    if !stored.has_private_key {
        return Ok(administrator(format!(
            "the private key of the current certificate {current} is missing from the key store"
        )));
    }
    if let Some(problem) = stored.info.problem(server.now()) {
        return Ok(administrator(format!(
            "the current certificate {current} cannot sign: {problem}"
        )));
    }
    Ok(match admin {
        true => administrator("an administrator was given with --upn".into()),
        false => PathChoice {
            path: RotationPath::Application,
            why: "the current certificate is valid, so the application proves it holds it; no administrator is needed".into(),
        },
    })
}

impl Operation for Rotate {
    const KIND: &'static str = "rotate";
    type Output = Rotation;

    fn plan(&self, server: &LocalServer, target: &Target) -> Result<Vec<PlannedStep>, EngineError> {
        let admin = !target.admin_upn.is_empty();
        let situation = self.situation(server, admin)?;
        self.check_new(server, &situation)?;
        let old = &situation.old.sha256;
        let app_id = &situation.credential.application_id;
        let mut steps = Vec::new();
        let sign_in =
            situation.choice.path == RotationPath::Administrator && situation.added.is_none();
        if sign_in {
            if !admin {
                return Err(EngineError::RotationNeedsAdministrator {
                    why: situation.choice.why.clone(),
                });
            }
            steps.push(plan_sign_in_as(
                SIGN_IN_CREDENTIAL_ADMIN,
                target,
                &permissions::UPDATE_CREDENTIALS,
            ));
        }
        steps.push(plan_scheduler_off(server)?);
        steps.push(NEW_CERTIFICATE.plan(match (&self.certificate, &situation.new) {
            (_, Some(new)) => format!("Certificate {} (prepared earlier)", new.sha256),
            (NewCertificate::Managed { days }, None) => new_certificate_change(
                server,
                new_key_store(server, &situation.credential),
                days.get(),
            )
            .map_err(EngineError::refused_at(NEW_CERTIFICATE.id))?,
            (NewCertificate::Existing(hash), None) => {
                let stored = server.certificate(hash)?;
                format!(
                    "Use certificate {hash} ({}, valid until {}) from the key store, checked as at registration",
                    stored.info.subject,
                    format_time(stored.info.not_after)
                )
            }
        }));
        steps.push(match situation.choice.path {
            RotationPath::Application => ADD_KEY.plan(format!(
                "As application {app_id} (an app-only Graph token with the current certificate {old}), add the new certificate to its keys with addKey and a proof signed by the current key. Why this path: {}",
                situation.choice.why
            )),
            RotationPath::Administrator => REPLACE_KEYS.plan(format!(
                "As {}, read the application's keys and write them back with the new certificate added (PATCH keyCredentials replaces the whole collection; every other key is kept). Why this path: {}",
                match target.admin_upn.is_empty() {
                    true => "the administrator of the earlier run",
                    false => target.admin_upn.as_str(),
                },
                situation.choice.why
            )),
        });
        steps.push(VERIFY.plan(format!(
            "Acquire a token for the synchronization service with the new certificate, waiting for Entra to replicate the key, until it carries {SYNC_SERVICE_ROLE}"
        )));
        steps.push(SWITCH.plan(format!(
            "Switch the connector credential from certificate {old} to the new one (event {})",
            EventId::ROTATION_DONE.0
        )));
        let kept = match situation.old.managed_by {
            ManagedBy::EntraConnect => "",
            ManagedBy::Customer => {
                " The old certificate is yours (Bring Your Own Certificate): it stays in the key store."
            }
        };
        steps.push(REMOVE_OLD_KEY.plan(format!(
            "Remove the old key (certificate {old}) from the application with removeKey and a proof signed by the new key; never the last valid key. If that fails the rotation stands: error event {} names the key and the command that removes it.{kept}",
            EventId::OLD_KEY_NOT_REMOVED.0
        )));
        if situation.old.managed_by == ManagedBy::EntraConnect {
            steps.push(DELETE_OLD_CERTIFICATE.plan(format!(
                "Delete the old key and certificate {old} from the key store (managed by EntraConnect)"
            )));
        }
        Ok(steps)
    }

    async fn execute(
        &self,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<Rotation, EngineError> {
        let admin = entra.admin.is_some();
        let situation = self.situation(server, admin)?;
        let client = entra.client(run)?;
        let app_id = situation.credential.application_id.clone();
        let admin_graph = match situation.choice.path == RotationPath::Administrator
            && situation.added.is_none()
        {
            true => Some(
                sign_in_checked_as(
                    SIGN_IN_CREDENTIAL_ADMIN,
                    run,
                    &client,
                    entra,
                    &permissions::UPDATE_CREDENTIALS,
                )
                .await?,
            ),
            false => None,
        };
        run.disable_scheduler(server).await?;

        let old = situation.old.clone();
        run.software_key_warned |= matches!(self.certificate, NewCertificate::Managed { .. });
        let prepared = run
            .step(server, NEW_CERTIFICATE, async |server| {
                let new = match &self.certificate {
                    NewCertificate::Managed { days } => {
                        let choice = new_key_store(server, &situation.credential);
                        let created = super::create_certificate(server, choice, days.get())?;
                        RotatedCertificate {
                            sha256: created.info.sha256,
                            thumbprint: Some(created.info.thumbprint),
                            managed_by: ManagedBy::EntraConnect,
                        }
                    }
                    NewCertificate::Existing(hash) => {
                        let stored = usable_certificate(server, hash)?;
                        RotatedCertificate {
                            sha256: hash.clone(),
                            thumbprint: Some(stored.info.thumbprint),
                            managed_by: ManagedBy::Customer,
                        }
                    }
                };
                let summary = format!("{} ({})", new.sha256, new.managed_by.as_str());
                Ok(Done::new(Prepared { old, new }, summary))
            })
            .await?;

        let store = server.key_store()?;
        let new_stored = usable_certificate(server, &prepared.new.sha256)?;
        let keys = KeyCertificates {
            old: &prepared.old,
            new: &new_stored,
        };
        let choice = situation.choice.clone();
        let added = match (choice.path, &admin_graph) {
            (RotationPath::Administrator, Some(graph)) => {
                run.step(server, REPLACE_KEYS, async |_| {
                    let added = replace_keys(graph, &app_id, &keys, choice.clone()).await?;
                    let summary = format!("by the administrator: {}", choice.why);
                    Ok(Done::new(added, summary))
                })
                .await?
            }
            (RotationPath::Administrator, None) => {
                // Resumed after the administrator added the key.
                run.step(server, REPLACE_KEYS, async |_| {
                    Err(EngineError::RotationNeedsAdministrator {
                        why: choice.why.clone(),
                    })
                })
                .await?
            }
            (RotationPath::Application, _) => {
                run.step(server, ADD_KEY, async |server| {
                    let current = usable_certificate(server, &prepared.old.sha256)?;
                    let added =
                        add_key_itself(&client, &store, &current, &app_id, &keys, choice.clone())
                            .await?;
                    let summary = format!("by the application itself: {}", choice.why);
                    Ok(Done::new(added, summary))
                })
                .await?
            }
        };

        run.check(VERIFY, async || {
            client
                .app_token_with_role(
                    &store,
                    &new_stored.info,
                    &app_id,
                    &format!("{SYNC_SERVICE_APP_ID}/.default"),
                    SYNC_SERVICE_ROLE,
                )
                .await?;
            Ok(((), format!("token acquired with {SYNC_SERVICE_ROLE}")))
        })
        .await?;

        let new_credential = ApplicationCredential {
            certificate_sha256: prepared.new.sha256.clone(),
            key_store: new_stored.store,
            certificate_managed_by: prepared.new.managed_by,
            configured_at: OffsetDateTime::now_utc(),
            ..situation.credential.clone()
        };
        let by = match added.choice.path {
            RotationPath::Application => "the application itself (addKey)".to_string(),
            RotationPath::Administrator => "an administrator (PATCH keyCredentials)".to_string(),
        };
        let message = format!(
            "The connector's certificate was rotated: application {app_id} now signs in with certificate {} instead of {}. The new key was added by {by} because {}.",
            prepared.new.sha256, prepared.old.sha256, added.choice.why
        );
        run.step(server, SWITCH, async |_| {
            let saved = ConnectorCredential::Application(new_credential.clone());
            let summary = format!("the connector signs in with {}", prepared.new.sha256);
            let hash = new_stored.info.sha256.clone();
            let thumbprint = new_stored.info.thumbprint.clone();
            Ok(Done::new((), summary).with_local(move |tx| {
                credential::save(tx, &saved)?;
                credential::remember_certificate(tx, &hash, &thumbprint)?;
                events::record(
                    tx,
                    EventLevel::Information,
                    EventId::ROTATION_DONE,
                    &message,
                )
            }))
        })
        .await?;

        let removal = run
            .step(server, REMOVE_OLD_KEY, async |_| {
                let outcome =
                    remove_old_key(&client, &store, &new_stored, &app_id, &prepared.old, &added)
                        .await;
                Ok(removal_done(outcome, &app_id, &prepared.old, &added))
            })
            .await?;

        let delete_old = prepared.old.managed_by == ManagedBy::EntraConnect;
        if delete_old {
            let hash = prepared.old.sha256.clone();
            run.step(server, DELETE_OLD_CERTIFICATE, async |server| {
                let summary = match server.key_store()?.delete(&hash) {
                    Ok(()) => format!("deleted certificate {hash} and its key"),
                    Err(KeyError::NotFound(_)) => {
                        format!("certificate {hash} was not in the store")
                    }
                    Err(other) => return Err(other.into()),
                };
                let message = format!("Deleted certificate {hash} and its private key (rotated).");
                Ok(Done::new((), summary).with_local(move |tx| {
                    events::record(
                        tx,
                        EventLevel::Information,
                        EventId::CERTIFICATE_DELETED,
                        &message,
                    )
                }))
            })
            .await?;
        }

        let mut warnings = Vec::new();
        if let OldKeyRemoval::NotRemoved {
            reason, command, ..
        } = &removal
        {
            warnings.push(format!(
                "the old key was not removed from the application ({reason}); remove it with: {command}"
            ));
        }
        if !delete_old {
            warnings.push(format!(
                "the old certificate {} is yours (Bring Your Own Certificate) and stays in the key store; delete it with `entra-connect cert delete {}` when you no longer need it",
                prepared.old.sha256, prepared.old.sha256
            ));
        }
        Ok(Rotation {
            app_id,
            old_certificate_sha256: prepared.old.sha256,
            new_certificate_sha256: prepared.new.sha256,
            path: added.choice.path,
            why: added.choice.why,
            old_key: removal,
            old_certificate_deleted: delete_old,
            warnings,
        })
    }
}

/// Where a rotation's new key goes: `--store` when given, else the same
/// kind of store as the key it replaces (a TPM key is replaced by a TPM key).
fn new_key_store(server: &LocalServer, credential: &ApplicationCredential) -> StoreChoice {
    let current = server
        .certificate(&credential.certificate_sha256)
        .map_or(credential.key_store, |stored| stored.store);
    server
        .store_choice()
        .unwrap_or(StoreChoice::same_as(current))
}

/// The certificates a key lookup compares with.
struct KeyCertificates<'a> {
    old: &'a RotatedCertificate,
    new: &'a StoredCertificate,
}

/// Whether `key` is the certificate with this hash (by the `key` Graph
/// returns) or this SHA-1 thumbprint (by `customKeyIdentifier`).
pub(super) fn is_certificate(
    key: &KeyCredential,
    sha256: &CertificateHash,
    thumbprint: Option<&str>,
) -> bool {
    let by_thumbprint = thumbprint.is_some_and(|hex| key_has_thumbprint(key, hex));
    let by_key = key
        .key
        .as_deref()
        .and_then(|k| STANDARD.decode(k.trim()).ok())
        .is_some_and(|der| CertificateHash::of_der(&der) == *sha256);
    by_thumbprint || by_key
}

fn find_key<'a>(
    app: &'a Application,
    sha256: &CertificateHash,
    thumbprint: Option<&str>,
) -> Option<&'a KeyCredential> {
    app.key_credentials
        .iter()
        .find(|key| is_certificate(key, sha256, thumbprint))
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
async fn add_key_itself(
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
                let proof =
                    proof_of_possession(store, &current.info, &app.id, OffsetDateTime::now_utc())?;
                graph.add_key(&app.id, &new_key, &proof).await
            },
        )
        .await
        .map_err(refusal)?;
    Ok(added(written.into_inner().key_id))
}

/// The administrator's PATCH of the whole collection: every key read back
/// (with `key`) plus the new one; nothing when it is there already.
async fn replace_keys(
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

/// Whether a key is valid now (by its end date as Graph gives it).
pub(super) fn key_valid_now(key: &KeyCredential) -> bool {
    key.end_date_time
        .as_deref()
        .and_then(|end| crate::domain::parse_time(end).ok())
        .is_none_or(|end| end > OffsetDateTime::now_utc())
}

/// removeKey of the old key by the application, with a proof signed by the
/// new key; never the last valid key.
async fn remove_old_key(
    client: &EntraClient,
    store: &dyn KeyStore,
    new: &StoredCertificate,
    app_id: &str,
    old: &RotatedCertificate,
    added: &AddedKey,
) -> Result<OldKeyRemoval, EngineError> {
    let graph = app_graph(client, store, new, app_id).await?;
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
        .any(|k| k.key_id.as_deref() != Some(key_id.as_str()) && key_valid_now(k));
    if !others_valid {
        return Err(EngineError::LastValidKey { key_id });
    }
    let proof = proof_of_possession(store, &new.info, &app.id, OffsetDateTime::now_utc())?;
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
fn removal_done(
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
            let command = match &key_id {
                Some(id) => format!("entra-connect app remove-key --certificate-id {id}"),
                None => "entra-connect app keys, then entra-connect app remove-key --certificate-id KEYID".to_string(),
            };
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
