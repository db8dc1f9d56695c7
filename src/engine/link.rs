//! Add-ADSyncApplicationRegistration: prove the application can sign in for
//! the synchronization service with its certificate, then make it the
//! connector's credential.

use super::operation::{Run, Step};
use super::register::{Registration, has_certificate, usable_certificate};
use super::{EngineError, LocalServer};
use crate::domain::{
    ApplicationCredential, CertificateHash, ConnectorCredential, EventId, EventLevel, ManagedBy,
    SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE,
};
use crate::entra::client::EntraClient;
use crate::entra::graph::GraphClient;
use crate::host::{credential, events};
use serde::{Deserialize, Serialize};

pub const CHECK_APPLICATION: Step = Step {
    name: "check-application",
    title: "Check the application, its certificate and permissions",
};
pub const VERIFY_TOKEN: Step = Step {
    name: "verify-token",
    title: "Sign in as the application for the synchronization service",
};
pub const SAVE_CREDENTIAL: Step = Step {
    name: "save-credential",
    title: "Switch the connector to application identity",
};

/// What the connector will sign in as.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LinkTarget {
    pub tenant_id: String,
    pub app_id: String,
    pub service_principal_id: String,
    pub certificate_sha256: CertificateHash,
    pub application_managed_by: ManagedBy,
    pub certificate_managed_by: ManagedBy,
}

impl From<&Registration> for LinkTarget {
    fn from(registration: &Registration) -> Self {
        LinkTarget {
            tenant_id: registration.tenant_id.clone(),
            app_id: registration.application.app_id.clone(),
            service_principal_id: registration.service_principal_id.clone(),
            certificate_sha256: registration.certificate.sha256.clone(),
            application_managed_by: ManagedBy::EntraConnect,
            certificate_managed_by: registration.certificate.managed_by,
        }
    }
}

/// Bring Your Own Application: the application must exist, carry the
/// certificate, and hold the synchronization role. Every missing piece is
/// named with its fix.
pub async fn check_existing_application(
    run: &Run,
    server: &LocalServer,
    client: &EntraClient,
    graph: &GraphClient,
    app_id: &str,
    certificate: &CertificateHash,
) -> Result<LinkTarget, EngineError> {
    run.begin(CHECK_APPLICATION);
    let stored = usable_certificate(server, certificate)?;
    let (application, service_principal, sync) = tokio::join!(
        graph.application_by_app_id(app_id),
        graph.service_principal_by_app_id(app_id),
        graph.service_principal_by_app_id(SYNC_SERVICE_APP_ID),
    );
    let application = application?.ok_or_else(|| {
        EngineError::Refused(format!(
            "no application with application id {app_id} in this tenant; check --application-app-id (the application (client) id, not the object id)"
        ))
    })?;
    let mut missing = Vec::new();
    if !has_certificate(&application, &stored) {
        missing.push(format!(
            "the certificate {certificate} is not among the application's certificates: upload it to {} (Certificates & secrets)",
            application.display_name
        ));
    }
    let service_principal = service_principal?;
    let sync = sync?;
    match (&service_principal, &sync) {
        (None, _) => missing.push(format!(
            "the application has no service principal in this tenant: create its enterprise application (e.g. `az ad sp create --id {app_id}`)"
        )),
        (Some(sp), Some(sync)) => {
            let role = sync.app_roles.iter().find(|r| r.value.as_deref() == Some(SYNC_SERVICE_ROLE));
            let assignments = graph.app_role_assignments(&sp.id).await?;
            let granted = role.is_some_and(|role| {
                assignments
                    .iter()
                    .any(|a| a.resource_id == sync.id && a.app_role_id == role.id)
            });
            if !granted {
                missing.push(format!(
                    "the application is not granted {SYNC_SERVICE_ROLE} on the Microsoft Entra AD Synchronization Service: add it under API permissions and grant admin consent"
                ));
            }
        }
        (Some(_), None) => missing.push(format!(
            "the tenant has no service principal for the Microsoft Entra AD Synchronization Service ({SYNC_SERVICE_APP_ID})"
        )),
    }
    if !missing.is_empty() {
        return Err(EngineError::Refused(format!(
            "the application {} ({app_id}) cannot be used yet; nothing was changed: {}",
            application.display_name,
            missing.join("; ")
        )));
    }
    run.note_done(CHECK_APPLICATION, application.display_name.clone());
    Ok(LinkTarget {
        tenant_id: client.tenant_id().await?,
        app_id: application.app_id,
        service_principal_id: service_principal.map(|sp| sp.id).unwrap_or_default(),
        certificate_sha256: certificate.clone(),
        application_managed_by: ManagedBy::Customer,
        certificate_managed_by: ManagedBy::Customer,
    })
}

/// Acquires a token for the synchronization service as the application (through
/// replication lag), then writes the connector credential in the same
/// transaction as the journal step.
pub async fn link_steps(
    run: &mut Run,
    server: &mut LocalServer,
    client: &EntraClient,
    target: &LinkTarget,
) -> Result<ApplicationCredential, EngineError> {
    let stored = server.certificate(&target.certificate_sha256)?;
    let store = server.key_store()?;
    run.begin(VERIFY_TOKEN);
    client
        .app_token(
            &store,
            &stored.info,
            &target.app_id,
            &format!("{SYNC_SERVICE_APP_ID}/.default"),
        )
        .await?;
    run.note_done(VERIFY_TOKEN, "token acquired".into());

    let credential = ApplicationCredential {
        tenant_id: target.tenant_id.clone(),
        application_id: target.app_id.clone(),
        service_principal_id: target.service_principal_id.clone(),
        certificate_sha256: target.certificate_sha256.clone(),
        key_store: stored.store,
        application_managed_by: target.application_managed_by,
        certificate_managed_by: target.certificate_managed_by,
        configured_at: time::OffsetDateTime::now_utc(),
    };
    if run.resume::<LinkTarget>(SAVE_CREDENTIAL).is_none() {
        run.begin(SAVE_CREDENTIAL);
        let message = format!(
            "The connector now signs in as application {} with certificate {}.",
            credential.application_id, credential.certificate_sha256
        );
        let saved = ConnectorCredential::Application(credential.clone());
        let warn_software_key =
            stored.store == crate::domain::StoreKind::Software && !run.software_key_warned;
        let warning =
            super::certificates::software_key_warning(server, &credential.certificate_sha256);
        run.complete(
            server,
            SAVE_CREDENTIAL,
            target,
            "ConnectorIdentityType Application".into(),
            |tx| {
                credential::save(tx, &saved)?;
                if warn_software_key {
                    events::record(tx, EventLevel::Warning, EventId::KEY_NOT_IN_TPM, &warning)?;
                }
                events::record(
                    tx,
                    EventLevel::Information,
                    EventId::CREDENTIAL_CHANGED,
                    &message,
                )
            },
        )?;
        run.software_key_warned |= warn_software_key;
    }
    Ok(credential)
}

/// What `app link` links: the application `app register` made on this server
/// (Managed, BYOC), or an existing one (BYOA).
#[derive(Debug, Clone, Serialize)]
pub enum LinkChoice {
    Registered,
    Existing {
        app_id: String,
        certificate: CertificateHash,
    },
}

/// The `app link` operation.
pub async fn link(
    server: &mut LocalServer,
    request: &super::EntraRequest,
    choice: &LinkChoice,
    progress: super::progress::ProgressSender,
) -> Result<ApplicationCredential, EngineError> {
    super::ensure_not_application(server, "link")?;
    super::operation::recover_scheduler(server)?;
    let mut run = Run::start(server, "link", choice, progress)?;
    let result = async {
        let client = request.client(&run)?;
        let target = match choice {
            LinkChoice::Registered => super::register::registered(server)?,
            LinkChoice::Existing {
                app_id,
                certificate,
            } => {
                let graph =
                    super::register::sign_in_checked(&run, &client, &request.sign_in).await?;
                check_existing_application(&run, server, &client, &graph, app_id, certificate)
                    .await?
            }
        };
        link_steps(&mut run, server, &client, &target).await
    }
    .await;
    super::operation::conclude(run, server, result)
}
