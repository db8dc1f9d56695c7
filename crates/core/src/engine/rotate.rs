//! Invoke-ADSyncApplicationCredentialRotation: a new certificate for the
//! connector's application. The application rolls its own key (an app-only
//! Graph token and `addKey` with a proof signed by the current key, no
//! administrator); when the current key cannot sign (expired, not in the key
//! store) or an administrator is given, an administrator who may update
//! application credentials replaces `keyCredentials` instead. Then: a token
//! with the new certificate, the switch, and `removeKey` of the old key
//! (proof signed by the new key), whose failure leaves an error event with
//! the command that finishes it, not a failed rotation.

mod keys;

use super::admin::{SIGN_IN_CREDENTIAL_ADMIN, plan_sign_in_as, sign_in_checked_as};
use super::certificates::{new_certificate_change, usable_certificate};
use super::operation::{
    CertificateSummary, Change, Check, Done, Journaled, KeyWriter, Operation, PathReason,
    PlannedStep, Replicating, Run, Step, Target, plan_scheduler_off,
};
use super::{EngineError, EntraRequest, LocalServer, permissions};
use crate::domain::{
    ApplicationCredential, CertificateDays, CertificateHash, ConnectorCredential, EventId,
    EventLevel, ManagedBy, NextCommand, SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE,
};
use crate::host::{credential, events};
use crate::keys::{KeyError, KeyStore, StoreChoice};
use keys::{KeyCertificates, add_key_itself, removal_done, remove_old_key, replace_keys};
use serde::{Deserialize, Serialize};

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
    pub why: PathReason,
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
    /// SHA-1 (uppercase hex), as the Entra portal lists a key; the old one's
    /// only when it was in the store when the rotation began.
    pub old_certificate_thumbprint: Option<String>,
    pub new_certificate_thumbprint: String,
    pub path: RotationPath,
    pub why: PathReason,
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
pub(crate) struct Situation {
    credential: ApplicationCredential,
    old: RotatedCertificate,
    /// Prepared by an earlier run.
    new: Option<RotatedCertificate>,
    choice: PathChoice,
    /// An administrator signs in: the administrator's path, with the new key
    /// not added by an earlier run.
    sign_in: bool,
}

impl Situation {
    /// The step that adds the new key, by the path chosen.
    fn key_step(&self) -> Step<AddedKey> {
        match self.choice.path {
            RotationPath::Application => ADD_KEY,
            RotationPath::Administrator => REPLACE_KEYS,
        }
    }

    /// A Managed certificate is deleted once it is replaced; yours stays.
    fn deletes_old(&self) -> bool {
        self.old.managed_by == ManagedBy::EntraConnect
    }
}

impl Rotate {
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
    let administrator = |why: PathReason| PathChoice {
        path: RotationPath::Administrator,
        why,
    };
    let stored = match server.certificate(current) {
        Ok(stored) => stored,
        Err(EngineError::Key(KeyError::NotFound(_))) => {
            return Ok(administrator(PathReason::NotInStore {
                sha256: current.clone(),
            }));
        }
        Err(other) => return Err(other),
    };
    if !stored.has_private_key {
        return Ok(administrator(PathReason::NoPrivateKey {
            sha256: current.clone(),
        }));
    }
    if let Some(problem) = stored.info.problem(server.now()) {
        return Ok(administrator(PathReason::CannotSign {
            sha256: current.clone(),
            problem: problem.to_string(),
        }));
    }
    Ok(match admin {
        true => administrator(PathReason::AdministratorGiven),
        false => PathChoice {
            path: RotationPath::Application,
            why: PathReason::CurrentValid,
        },
    })
}

impl Operation for Rotate {
    const KIND: &'static str = "rotate";
    type Output = Rotation;

    type Situation = Situation;

    fn situation(
        &self,
        server: &LocalServer,
        target: &Target,
        earlier: &Journaled,
    ) -> Result<Situation, EngineError> {
        let credential = match server.credential()? {
            ConnectorCredential::Application(app) => app,
            other => {
                return Err(EngineError::RotationNeedsApplication {
                    identity: other.identity_type().to_string(),
                });
            }
        };
        let prepared = earlier.value(NEW_CERTIFICATE)?;
        let added = match earlier.value(ADD_KEY)? {
            Some(added) => Some(added),
            None => earlier.value(REPLACE_KEYS)?,
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
        let admin = !target.admin_upn.is_empty();
        let choice = match &added {
            Some(added) => added.choice.clone(),
            None => choose_path(server, &old.sha256, admin)?,
        };
        let situation = Situation {
            sign_in: choice.path == RotationPath::Administrator && added.is_none(),
            credential,
            old,
            new: prepared.map(|p| p.new),
            choice,
        };
        self.check_new(server, &situation)?;
        if situation.sign_in && !admin {
            return Err(EngineError::RotationNeedsAdministrator {
                why: situation.choice.why.to_string(),
            });
        }
        Ok(situation)
    }

    fn plan(
        &self,
        situation: &Situation,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let old = &situation.old.sha256;
        let app_id = &situation.credential.application_id;
        let mut steps = Vec::new();
        if situation.sign_in {
            steps.push(plan_sign_in_as(
                SIGN_IN_CREDENTIAL_ADMIN,
                target,
                &permissions::UPDATE_CREDENTIALS,
            ));
        }
        steps.push(plan_scheduler_off(server)?);
        steps.push(
            NEW_CERTIFICATE.plan(match (&self.certificate, &situation.new) {
                (_, Some(new)) => Change::PreparedCertificate {
                    sha256: new.sha256.clone(),
                },
                (NewCertificate::Managed { days }, None) => new_certificate_change(
                    server,
                    new_key_store(server, &situation.credential),
                    days.get(),
                )
                .map_err(EngineError::refused_at(NEW_CERTIFICATE.id))?,
                (NewCertificate::Existing(hash), None) => Change::UseCertificate {
                    certificate: CertificateSummary::of(&server.certificate(hash)?.info),
                },
            }),
        );
        let by = match situation.choice.path {
            RotationPath::Application => KeyWriter::Application {
                app_id: app_id.clone(),
                current: old.clone(),
            },
            RotationPath::Administrator => KeyWriter::Administrator {
                upn: Some(target.admin_upn.clone()).filter(|upn| !upn.is_empty()),
            },
        };
        steps.push(situation.key_step().plan(Change::AddKey {
            by,
            why: situation.choice.why.clone(),
        }));
        steps.push(VERIFY.plan(Change::AcquireSyncToken {
            waiting_for: Replicating::NewKey,
        }));
        steps.push(SWITCH.plan(Change::SwitchCertificate { from: old.clone() }));
        steps.push(REMOVE_OLD_KEY.plan(Change::RemoveOldKey {
            sha256: old.clone(),
            yours: situation.old.managed_by == ManagedBy::Customer,
        }));
        if situation.deletes_old() {
            steps.push(DELETE_OLD_CERTIFICATE.plan(Change::DeleteOldCertificate {
                sha256: old.clone(),
            }));
        }
        Ok(steps)
    }

    async fn execute(
        &self,
        situation: Situation,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<Rotation, EngineError> {
        let client = entra.client(run)?;
        let app_id = situation.credential.application_id.clone();
        let admin_graph = match situation.sign_in {
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
                let summary = format!("{} ({})", new.sha256, new.managed_by.renewed_by());
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
        let added = run
            .step(server, situation.key_step(), async |server| {
                let (added, by) = match &admin_graph {
                    Some(graph) => (
                        replace_keys(graph, &app_id, &keys, choice.clone()).await?,
                        "by the administrator",
                    ),
                    None if choice.path == RotationPath::Application => {
                        let current = usable_certificate(server, &prepared.old.sha256)?;
                        let added = add_key_itself(
                            &client,
                            &store,
                            &current,
                            &app_id,
                            &keys,
                            choice.clone(),
                        )
                        .await?;
                        (added, "by the application itself")
                    }
                    // Without a sign-in, the administrator's key was added by
                    // an earlier run: its journal answers, and this does not run.
                    None => {
                        return Err(EngineError::RotationNeedsAdministrator {
                            why: choice.why.to_string(),
                        });
                    }
                };
                Ok(Done::new(added, format!("{by}: {}", choice.why)))
            })
            .await?;

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
            configured_at: server.now(),
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
            .step(server, REMOVE_OLD_KEY, async |server| {
                let outcome =
                    remove_old_key(&client, &store, &keys, &app_id, &added, server.now()).await;
                Ok(removal_done(outcome, &app_id, &prepared.old, &added))
            })
            .await?;

        let delete_old = situation.deletes_old();
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
                "the old certificate {} is yours (Bring Your Own Certificate) and stays in the key store; delete it with `{}` when you no longer need it",
                prepared.old.sha256,
                NextCommand::DeleteCertificate {
                    sha256: prepared.old.sha256.clone()
                }
                .command_line()
            ));
        }
        Ok(Rotation {
            app_id,
            old_certificate_sha256: prepared.old.sha256,
            new_certificate_sha256: prepared.new.sha256,
            old_certificate_thumbprint: prepared.old.thumbprint,
            new_certificate_thumbprint: new_stored.info.thumbprint.clone(),
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
