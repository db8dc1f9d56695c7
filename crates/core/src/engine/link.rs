//! Add-ADSyncApplicationRegistration: prove the application can sign in for
//! the synchronization service with its certificate, then make it the
//! connector's credential.

use super::admin::{plan_sign_in, sign_in_checked};
use super::certificates::{has_certificate, usable_certificate};
use super::operation::{
    Change, Check, Done, Journaled, Operation, PlannedStep, Replicating, Run, Step, Target,
    plan_scheduler_off,
};
use super::permissions;
use super::register::{Registration, saved_registration};
use super::{EngineError, EntraRequest, LocalServer};
use crate::domain::{
    AppId, ApplicationCredential, CertificateHash, ConnectorCredential, EventId, EventLevel,
    ManagedBy, SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE,
};
use crate::entra::client::EntraClient;
use crate::entra::graph::GraphClient;
use crate::host::{credential, events, settings};
use crate::keys::StoredCertificate;
use serde::{Deserialize, Serialize};

pub const CHECK_APPLICATION: Check = Check::new(
    "check-application",
    "Check the application, its certificate and permissions",
);
pub const VERIFY_TOKEN: Check = Check::new(
    "verify-token",
    "Sign in as the application for the synchronization service",
);
pub const SAVE_CREDENTIAL: Step<LinkTarget> = Step::new(
    "save-credential",
    "Switch the connector to application identity",
);

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

/// What keeps an existing application from being used, each with its fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    Certificate {
        certificate: CertificateHash,
        /// Its SHA-1 thumbprint, which Certificates & secrets lists.
        thumbprint: String,
        application: String,
    },
    ServicePrincipal {
        app_id: String,
    },
    SyncRole,
    SyncService,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Certificate {
                certificate,
                thumbprint,
                application,
            } => write!(
                f,
                "the certificate {certificate} (thumbprint {thumbprint}) is not among the application's certificates: upload it to {application} (Certificates & secrets)"
            ),
            Missing::ServicePrincipal { app_id } => write!(
                f,
                "the application has no service principal in this tenant: create its enterprise application (e.g. `az ad sp create --id {app_id}`)"
            ),
            Missing::SyncRole => write!(
                f,
                "the application is not granted {SYNC_SERVICE_ROLE} on the Microsoft Entra AD Synchronization Service: add it under API permissions and grant admin consent"
            ),
            Missing::SyncService => write!(
                f,
                "the tenant has no service principal for the Microsoft Entra AD Synchronization Service ({SYNC_SERVICE_APP_ID})"
            ),
        }
    }
}

/// Bring Your Own Application: the application must exist, carry the
/// certificate, and hold the synchronization role. Every missing piece is
/// named with its fix.
pub(super) async fn check_existing_application(
    run: &mut Run,
    server: &LocalServer,
    client: &EntraClient,
    graph: &GraphClient,
    app_id: &str,
    certificate: &CertificateHash,
) -> Result<LinkTarget, EngineError> {
    run.check(CHECK_APPLICATION, async || {
        let stored = usable_certificate(server, certificate)?;
        let (application, service_principal, sync) = tokio::join!(
            graph.application_by_app_id(app_id),
            graph.service_principal_by_app_id(app_id),
            graph.service_principal_by_app_id(SYNC_SERVICE_APP_ID),
        );
        let application = application?.ok_or_else(|| EngineError::ApplicationNotFound {
            app_id: app_id.to_string(),
        })?;
        let mut missing = Vec::new();
        if !has_certificate(&application, &stored) {
            missing.push(Missing::Certificate {
                certificate: certificate.clone(),
                thumbprint: stored.info.thumbprint.clone(),
                application: application.display_name.clone(),
            });
        }
        let service_principal = service_principal?;
        match (&service_principal, sync?) {
            (None, _) => missing.push(Missing::ServicePrincipal {
                app_id: app_id.to_string(),
            }),
            (Some(sp), Some(sync)) => {
                let role = sync
                    .app_roles
                    .iter()
                    .find(|r| r.value.as_deref() == Some(SYNC_SERVICE_ROLE));
                let assignments = graph.app_role_assignments(&sp.id).await?;
                let granted = role.is_some_and(|role| {
                    assignments
                        .iter()
                        .any(|a| a.resource_id == sync.id && a.app_role_id == role.id)
                });
                if !granted {
                    missing.push(Missing::SyncRole);
                }
            }
            (Some(_), None) => missing.push(Missing::SyncService),
        }
        if !missing.is_empty() {
            return Err(EngineError::ApplicationNotReady {
                name: application.display_name,
                app_id: app_id.to_string(),
                missing,
            });
        }
        let target = LinkTarget {
            tenant_id: client.tenant_id().await?,
            app_id: application.app_id,
            service_principal_id: service_principal.map(|sp| sp.id).unwrap_or_default(),
            certificate_sha256: certificate.clone(),
            application_managed_by: ManagedBy::Customer,
            certificate_managed_by: ManagedBy::Customer,
        };
        Ok((target, application.display_name))
    })
    .await
}

/// The linking steps in a plan (shared with onboarding).
pub(super) fn plan_steps(server: &LocalServer) -> Result<Vec<PlannedStep>, EngineError> {
    Ok(vec![
        VERIFY_TOKEN.plan(Change::AcquireSyncToken {
            waiting_for: Replicating::ApplicationAndGrant,
        }),
        SAVE_CREDENTIAL.plan(Change::SwitchToApplication {
            from: server.credential()?.identity_type(),
        }),
    ])
}

/// Why the credential is written: the connector switches to the application,
/// or a damaged record is rebuilt (`credential repair`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Switch {
    Linked,
    Repaired,
}

/// Acquires a token for the synchronization service as the application (through
/// replication lag), then writes the connector credential in the same
/// transaction as the journal step.
pub(super) async fn link_steps(
    run: &mut Run,
    server: &mut LocalServer,
    client: &EntraClient,
    target: &LinkTarget,
    switch: Switch,
) -> Result<ApplicationCredential, EngineError> {
    let stored = server.certificate(&target.certificate_sha256)?;
    let store = server.key_store()?;
    run.check(VERIFY_TOKEN, async || {
        // The connector switches only once the token carries the role.
        client
            .app_token_with_role(
                &store,
                &stored.info,
                &target.app_id,
                &format!("{SYNC_SERVICE_APP_ID}/.default"),
                SYNC_SERVICE_ROLE,
            )
            .await?;
        Ok(((), format!("token acquired with {SYNC_SERVICE_ROLE}")))
    })
    .await?;

    let credential = ApplicationCredential {
        tenant_id: target.tenant_id.clone(),
        application_id: target.app_id.clone(),
        service_principal_id: target.service_principal_id.clone(),
        certificate_sha256: target.certificate_sha256.clone(),
        key_store: stored.store,
        application_managed_by: target.application_managed_by,
        certificate_managed_by: target.certificate_managed_by,
        configured_at: server.now(),
    };
    let warn_software_key =
        stored.store == crate::domain::StoreKind::Software && !run.software_key_warned;
    run.step(server, SAVE_CREDENTIAL, async |server| {
        let (event, message) = match switch {
            Switch::Linked => (
                EventId::CREDENTIAL_CHANGED,
                format!(
                    "The connector now signs in as application {} with certificate {}.",
                    credential.application_id, credential.certificate_sha256
                ),
            ),
            Switch::Repaired => (
                EventId::CREDENTIAL_REPAIRED,
                format!(
                    "The connector credential record was rebuilt from the tenant: application {}, service principal {}, certificate {}.",
                    credential.application_id,
                    credential.service_principal_id,
                    credential.certificate_sha256
                ),
            ),
        };
        let saved = ConnectorCredential::Application(credential.clone());
        let (hash, thumbprint) = (stored.info.sha256.clone(), stored.info.thumbprint.clone());
        let warning =
            super::certificates::software_key_warning(server, &credential.certificate_sha256);
        // The machine this was set up on, so a copied state is recognised.
        let machine = super::maintenance::machine_id();
        let done = Done::new(target.clone(), "ConnectorIdentityType Application");
        Ok(done.with_local(move |tx| {
            credential::save(tx, &saved)?;
            credential::remember_certificate(tx, &hash, &thumbprint)?;
            if let Some(machine) = &machine {
                settings::set(tx, super::maintenance::SETUP_MACHINE_ID, machine)?;
            }
            if warn_software_key {
                events::record(tx, EventLevel::Warning, EventId::KEY_NOT_IN_TPM, &warning)?;
            }
            events::record(tx, EventLevel::Information, event, &message)
        }))
    })
    .await?;
    run.software_key_warned |= warn_software_key;
    Ok(credential)
}

/// What `app link` links: the application `app register` made on this server
/// (Managed, BYOC), or an existing one (BYOA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum LinkChoice {
    Registered,
    Existing {
        app_id: AppId,
        certificate: CertificateHash,
    },
}

/// The `app link` operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub choice: LinkChoice,
}

/// What `app link` links, as found before anything changes.
pub(crate) enum LinkSituation {
    /// The application `app register` saved on this server.
    Registered(Registration),
    /// Bring Your Own Application, with this certificate from the store.
    Existing {
        app_id: AppId,
        certificate: Box<StoredCertificate>,
    },
}

impl Operation for Link {
    const KIND: &'static str = "link";
    type Output = ApplicationCredential;
    type Situation = LinkSituation;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<LinkSituation, EngineError> {
        super::ensure_not_application(server, Self::KIND)?;
        Ok(match &self.choice {
            LinkChoice::Registered => LinkSituation::Registered(saved_registration(server)?),
            LinkChoice::Existing {
                app_id,
                certificate,
            } => LinkSituation::Existing {
                app_id: app_id.clone(),
                certificate: Box::new(
                    usable_certificate(server, certificate)
                        .map_err(EngineError::refused_at(CHECK_APPLICATION.id))?,
                ),
            },
        })
    }

    fn plan(
        &self,
        situation: &LinkSituation,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let mut steps = match situation {
            LinkSituation::Registered(registration) => {
                vec![CHECK_APPLICATION.plan(Change::UseRegisteredApplication {
                    name: registration.application.display_name.clone(),
                    app_id: registration.application.app_id.clone(),
                })]
            }
            LinkSituation::Existing {
                app_id,
                certificate,
            } => vec![
                plan_sign_in(target, &permissions::CHECK_APPLICATION),
                CHECK_APPLICATION.plan(Change::CheckApplication {
                    app_id: app_id.to_string(),
                    sha256: certificate.info.sha256.clone(),
                }),
            ],
        };
        steps.push(plan_scheduler_off(server)?);
        steps.extend(plan_steps(server)?);
        Ok(steps)
    }

    async fn execute(
        &self,
        situation: LinkSituation,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<ApplicationCredential, EngineError> {
        let client = entra.client(run)?;
        let target = match situation {
            LinkSituation::Registered(registration) => {
                run.check(CHECK_APPLICATION, async || {
                    let name = registration.application.display_name.clone();
                    Ok((LinkTarget::from(&registration), name))
                })
                .await?
            }
            LinkSituation::Existing {
                app_id,
                certificate,
            } => {
                let needs = &permissions::CHECK_APPLICATION;
                let graph = sign_in_checked(run, &client, entra, needs).await?;
                check_existing_application(
                    run,
                    server,
                    &client,
                    &graph,
                    app_id.as_str(),
                    &certificate.info.sha256,
                )
                .await?
            }
        };
        run.disable_scheduler(server).await?;
        link_steps(run, server, &client, &target, Switch::Linked).await
    }
}
