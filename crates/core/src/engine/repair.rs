//! Repair-ADSyncToolsEntraAppParameters: when the connector's credential
//! record is missing or has blank fields, rebuild it from the tenant (this
//! server's application by its unique name, or the application id the record
//! still holds; its service principal and keys) and the key store (the
//! certificate whose key is on the application), verify a token, then save.

use super::admin::{plan_sign_in, sign_in_checked};
use super::certificates::has_certificate;
use super::link::{LinkTarget, SAVE_CREDENTIAL, Switch, VERIFY_TOKEN, link_steps};
use super::operation::{
    ApplicationLookup, Change, Check, Journaled, Operation, PlannedStep, Replicating, Run, Target,
    plan_scheduler_off,
};
use super::register::application_name;
use super::{EngineError, EntraRequest, LocalServer, permissions};
use crate::domain::{ApplicationCredential, MANAGED_CERTIFICATE_SUBJECT, ManagedBy};
use crate::entra::graph::Application;
use crate::host::credential::{self, RawApplication};
use crate::keys::StoredCertificate;
use serde::Serialize;

pub const FIND_APPLICATION: Check = Check::new(
    "find-application",
    "Find this server's application and its certificate",
);

/// The `credential repair` operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair;

/// What the repair starts from: the damaged record and the name of this
/// server's application.
pub(crate) struct Damaged {
    record: RawApplication,
    name: String,
}

/// What the record holds now: the application fields (blank or not) when it
/// says Application, nothing when it says None.
fn damaged_record(server: &LocalServer) -> Result<RawApplication, EngineError> {
    let (identity, raw) = server.read(credential::raw)?;
    match identity.as_str() {
        "Application" if raw.blank_fields().is_empty() => Err(EngineError::RecordComplete {
            app_id: raw.application_id,
        }),
        "ServiceAccount" => Err(EngineError::RecordComplete {
            app_id: String::new(),
        }),
        _ => Ok(raw),
    }
}

impl Operation for Repair {
    const KIND: &'static str = "repair-credential";
    type Output = ApplicationCredential;
    type Situation = Damaged;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<Damaged, EngineError> {
        Ok(Damaged {
            record: damaged_record(server)?,
            name: application_name(server)?,
        })
    }

    fn plan(
        &self,
        damaged: &Damaged,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let raw = &damaged.record;
        let by = match raw.application_id.trim() {
            "" => ApplicationLookup::Name {
                name: damaged.name.clone(),
            },
            app_id => ApplicationLookup::AppId {
                app_id: app_id.to_string(),
            },
        };
        let blank = raw.blank_fields();
        Ok(vec![
            plan_sign_in(target, &permissions::CHECK_APPLICATION),
            FIND_APPLICATION.plan(Change::FindApplication {
                all_blank: blank.len() == 4,
                blank: blank.iter().map(ToString::to_string).collect(),
                by,
                tenant: target.tenant.clone(),
            }),
            plan_scheduler_off(server)?,
            VERIFY_TOKEN.plan(Change::AcquireSyncToken {
                waiting_for: Replicating::Nothing,
            }),
            SAVE_CREDENTIAL.plan(Change::WriteRepairedCredential),
        ])
    }

    async fn execute(
        &self,
        damaged: Damaged,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<ApplicationCredential, EngineError> {
        let Damaged { record: raw, name } = damaged;
        let client = entra.client(run)?;
        let graph = sign_in_checked(run, &client, entra, &permissions::CHECK_APPLICATION).await?;
        let target = run
            .check(FIND_APPLICATION, async || {
                let application = match raw.application_id.trim() {
                    "" => graph
                        .applications_named(&name)
                        .await?
                        .into_iter()
                        .find(|app| app.display_name == name),
                    app_id => graph.application_by_app_id(app_id).await?,
                };
                let tenant_id = client.tenant_id().await?;
                let application = application.ok_or_else(|| EngineError::NoApplicationForServer {
                    name: match raw.application_id.trim() {
                        "" => name.clone(),
                        app_id => app_id.to_string(),
                    },
                    tenant: tenant_id.clone(),
                })?;
                // The keys with their certificates (`key`), to match the store.
                let application = graph
                    .application_keys(&application.app_id)
                    .await?
                    .unwrap_or(application);
                let certificate = certificate_on(server, &application)?;
                let service_principal = graph
                    .service_principal_by_app_id(&application.app_id)
                    .await?
                    .ok_or_else(|| EngineError::ApplicationNotFound {
                        app_id: application.app_id.clone(),
                    })?;
                let target = LinkTarget {
                    tenant_id,
                    app_id: application.app_id.clone(),
                    service_principal_id: service_principal.id,
                    certificate_sha256: certificate.info.sha256.clone(),
                    application_managed_by: match application.display_name == name {
                        true => ManagedBy::EntraConnect,
                        false => ManagedBy::Customer,
                    },
                    certificate_managed_by: match made_here(&certificate) {
                        true => ManagedBy::EntraConnect,
                        false => ManagedBy::Customer,
                    },
                };
                let summary = format!(
                    "application {} ({}), service principal {}, certificate {} (application managed by {}, certificate by {})",
                    application.display_name,
                    target.app_id,
                    target.service_principal_id,
                    target.certificate_sha256,
                    target.application_managed_by.as_str(),
                    target.certificate_managed_by.as_str()
                );
                Ok((target, summary))
            })
            .await?;
        run.disable_scheduler(server).await?;
        link_steps(run, server, &client, &target, Switch::Repaired).await
    }
}

/// The newest certificate in the store whose key is on `application`, with
/// a private key to sign with.
fn certificate_on(
    server: &LocalServer,
    application: &Application,
) -> Result<StoredCertificate, EngineError> {
    let stored = server.certificates()?;
    stored
        .iter()
        .filter(|certificate| certificate.has_private_key)
        .filter(|certificate| has_certificate(application, certificate))
        .max_by_key(|certificate| certificate.info.not_after)
        .cloned()
        .ok_or_else(|| EngineError::NoCertificateOnApplication {
            app_id: application.app_id.clone(),
            keys: application
                .key_credentials
                .iter()
                .map(|key| key.key_id.clone().unwrap_or_default())
                .collect::<Vec<_>>()
                .join(", "),
            store: stored
                .iter()
                .map(|certificate| certificate.info.sha256.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// A certificate this tool made (Managed): self-signed with its subject.
fn made_here(certificate: &StoredCertificate) -> bool {
    certificate.info.subject == MANAGED_CERTIFICATE_SUBJECT
        && certificate.info.issuer == MANAGED_CERTIFICATE_SUBJECT
}
