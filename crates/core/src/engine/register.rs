//! Add-EntraApplicationRegistration: the certificate, this server's
//! application with it, the application's service principal, and the app
//! roles the synchronization service (and password writeback) need.

use super::admin::{plan_sign_in, sign_in_checked};
use super::certificates::{
    has_certificate, key_credential, new_certificate_change, usable_certificate,
};
use super::operation::{
    CertificateSummary, Change, Done, Journaled, Operation, PlannedStep, Run, Step, Target,
};
use super::permissions;
use super::{EngineError, EntraRequest, LocalServer};
use crate::domain::{
    APPLICATION_NAME_PREFIX, CertificateHash, DEFAULT_CERTIFICATE_DAYS, EventId, EventLevel,
    ManagedBy, PASSWORD_RESET_APP_ID, PASSWORD_WRITEBACK_ROLES, SYNC_SERVICE_APP_ID,
    SYNC_SERVICE_ROLE,
};
use crate::entra::client::EntraClient;
use crate::entra::graph::{
    GraphClient, NewAppRoleAssignment, NewApplication, RequiredResourceAccess, ResourceAccess,
    ServicePrincipal,
};
use crate::host::{events, settings};
use crate::keys::{StoreChoice, StoredCertificate};
use serde::{Deserialize, Serialize};

pub const CERTIFICATE: Step<CertificateChoice> =
    Step::new("certificate", "Prepare the certificate");
pub const APPLICATION: Step<RegisteredApplication> =
    Step::new("application", "Register this server's application");
pub const SERVICE_PRINCIPAL: Step<String> = Step::new(
    "service-principal",
    "Create the application's service principal",
);
pub const APP_ROLES: Step<Vec<String>> =
    Step::new("app-roles", "Grant the synchronization permissions");
pub const SAVE_REGISTRATION: Step<()> = Step::new(
    "save-registration",
    "Record the registration for `app link`",
);

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CertificateSource {
    /// Managed: a new key and certificate in this server's store.
    Managed,
    /// Bring Your Own Certificate: one already in the store, by SHA-256 hash.
    Existing(CertificateHash),
}

/// The `app register` operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Register {
    pub certificate: CertificateSource,
    pub password_writeback: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct CertificateChoice {
    pub sha256: CertificateHash,
    pub managed_by: ManagedBy,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RegisteredApplication {
    pub object_id: String,
    pub app_id: String,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Registration {
    pub tenant_id: String,
    pub application: RegisteredApplication,
    pub service_principal_id: String,
    pub certificate: CertificateChoice,
    /// Other applications named like this server's, reported and left alone.
    pub duplicates: Vec<String>,
}

/// The certificate registration will use, as found before anything changes.
pub(crate) enum PlannedCertificate {
    /// The Managed certificate of this server's application, kept when the
    /// connector rolled back to a service account: reused, no new key.
    Kept(CertificateChoice),
    /// A new key and certificate in this server's store (Managed).
    New,
    /// Bring Your Own Certificate: this one from the store, usable now.
    Existing(Box<StoredCertificate>),
}

impl PlannedCertificate {
    /// What `source` comes to on this server; a certificate of yours that
    /// does not meet the rules is refused here.
    pub(super) fn of(
        server: &LocalServer,
        source: &CertificateSource,
    ) -> Result<PlannedCertificate, EngineError> {
        Ok(match source {
            CertificateSource::Managed => match kept_certificate(server) {
                Some(kept) => PlannedCertificate::Kept(kept),
                None => PlannedCertificate::New,
            },
            CertificateSource::Existing(hash) => {
                let stored = usable_certificate(server, hash)
                    .map_err(EngineError::refused_at(CERTIFICATE.id))?;
                PlannedCertificate::Existing(Box::new(stored))
            }
        })
    }
}

impl Operation for Register {
    const KIND: &'static str = "register";
    type Output = Registration;
    type Situation = PlannedCertificate;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<PlannedCertificate, EngineError> {
        super::ensure_not_application(server, Self::KIND)?;
        PlannedCertificate::of(server, &self.certificate)
    }

    fn plan(
        &self,
        certificate: &PlannedCertificate,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let mut steps = vec![plan_sign_in(target, &permissions::REGISTER)];
        steps.extend(plan_steps(
            server,
            target,
            certificate,
            self.password_writeback,
        )?);
        steps.push(SAVE_REGISTRATION.plan(Change::SaveRegistration));
        Ok(steps)
    }

    async fn execute(
        &self,
        certificate: PlannedCertificate,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<Registration, EngineError> {
        let client = entra.client(run)?;
        let graph = sign_in_checked(run, &client, entra, &permissions::REGISTER).await?;
        let registration = register_steps(
            run,
            server,
            entra,
            &client,
            &graph,
            &certificate,
            self.password_writeback,
        )
        .await?;
        let json = serde_json::to_string(&registration).map_err(EngineError::Journal)?;
        run.step(server, SAVE_REGISTRATION, async |_| {
            Ok(Done::new((), "")
                .with_local(move |tx| settings::set(tx, REGISTRATION_SETTING, &json)))
        })
        .await?;
        Ok(registration)
    }
}

/// The registration steps in a plan (shared with onboarding).
pub(super) fn plan_steps(
    server: &LocalServer,
    target: &Target,
    certificate: &PlannedCertificate,
    password_writeback: bool,
) -> Result<Vec<PlannedStep>, EngineError> {
    let certificate = plan_certificate(server, certificate)?;
    Ok(vec![
        certificate,
        APPLICATION.plan(Change::RegisterApplication {
            name: application_name(server)?,
            tenant: target.tenant.clone(),
        }),
        SERVICE_PRINCIPAL.plan(Change::CreateServicePrincipal),
        APP_ROLES.plan(Change::GrantAppRoles { password_writeback }),
    ])
}

/// The certificate step in a plan: the kept one, a new one (Managed), or
/// yours from the store (BYOC).
fn plan_certificate(
    server: &LocalServer,
    certificate: &PlannedCertificate,
) -> Result<PlannedStep, EngineError> {
    Ok(CERTIFICATE.plan(match certificate {
        PlannedCertificate::Kept(kept) => Change::ReuseCertificate {
            sha256: kept.sha256.clone(),
            application: application_name(server)?,
        },
        PlannedCertificate::New => new_certificate_change(
            server,
            server.store_choice().unwrap_or(StoreChoice::Auto),
            DEFAULT_CERTIFICATE_DAYS,
        )
        .map_err(EngineError::refused_at(CERTIFICATE.id))?,
        PlannedCertificate::Existing(stored) => Change::UseCertificate {
            certificate: CertificateSummary::of(&stored.info),
        },
    }))
}

/// The certificate for the application: the kept one, a new one (Managed),
/// or yours from the store, checked again as it is used (BYOC).
async fn prepare_certificate(
    run: &mut Run,
    server: &mut LocalServer,
    certificate: &PlannedCertificate,
) -> Result<CertificateChoice, EngineError> {
    // Creating the key writes warning 1014 itself when it is not in a TPM.
    run.software_key_warned |= matches!(certificate, PlannedCertificate::New);
    run.step(server, CERTIFICATE, async |server| {
        let choice = match certificate {
            PlannedCertificate::Kept(kept) => kept.clone(),
            PlannedCertificate::New => {
                let choice = server.store_choice().unwrap_or(StoreChoice::Auto);
                let created = super::create_certificate(server, choice, DEFAULT_CERTIFICATE_DAYS)?;
                CertificateChoice {
                    sha256: created.info.sha256,
                    managed_by: ManagedBy::EntraConnect,
                }
            }
            PlannedCertificate::Existing(stored) => {
                let hash = &stored.info.sha256;
                usable_certificate(server, hash)?;
                CertificateChoice {
                    sha256: hash.clone(),
                    managed_by: ManagedBy::Customer,
                }
            }
        };
        let summary = format!("{} ({})", choice.sha256, choice.managed_by.renewed_by());
        Ok(Done::new(choice, summary))
    })
    .await
}

/// `ConnectSyncProvisioning_<HOST>_<installation id>`.
pub fn application_name(server: &LocalServer) -> Result<String, EngineError> {
    Ok(format!(
        "{APPLICATION_NAME_PREFIX}_{}_{}",
        host_name(),
        server.installation_id()?
    ))
}

pub(super) fn host_name() -> String {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    let short = name
        .trim()
        .split('.')
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase();
    if short.is_empty() {
        "LOCALHOST".to_string()
    } else {
        short
    }
}

/// Each resource service principal with the ids of the app roles to grant on it.
type Grants = Vec<(ServicePrincipal, Vec<String>)>;

/// The permissions the application needs, looked up on the resource service
/// principals (both lookups at once).
async fn required_access(
    graph: &GraphClient,
    password_writeback: bool,
) -> Result<Grants, EngineError> {
    let (sync, reset) = tokio::join!(
        graph.service_principal_by_app_id(SYNC_SERVICE_APP_ID),
        async {
            if password_writeback {
                graph
                    .service_principal_by_app_id(PASSWORD_RESET_APP_ID)
                    .await
            } else {
                Ok(None)
            }
        }
    );
    let sync = sync?.ok_or(EngineError::SyncServiceMissing)?;
    let mut grants = vec![(sync.clone(), role_ids(&sync, &[SYNC_SERVICE_ROLE])?)];
    if let Some(reset) = reset? {
        let ids = role_ids(&reset, &PASSWORD_WRITEBACK_ROLES)?;
        grants.push((reset, ids));
    }
    Ok(grants)
}

fn role_ids(resource: &ServicePrincipal, values: &[&str]) -> Result<Vec<String>, EngineError> {
    values
        .iter()
        .map(|value| {
            resource
                .app_roles
                .iter()
                .find(|role| role.value.as_deref() == Some(*value))
                .map(|role| role.id.clone())
                .ok_or_else(|| EngineError::AppRoleMissing {
                    resource: resource
                        .display_name
                        .clone()
                        .unwrap_or_else(|| resource.app_id.clone()),
                    role: value.to_string(),
                })
        })
        .collect()
}

fn new_application(
    name: &str,
    certificate: &StoredCertificate,
    grants: &Grants,
    upsert: bool,
) -> NewApplication {
    NewApplication {
        unique_name: upsert.then(|| name.to_string()),
        display_name: name.to_string(),
        sign_in_audience: "AzureADMyOrg".into(),
        key_credentials: vec![key_credential(certificate)],
        required_resource_access: grants
            .iter()
            .map(|(resource, ids)| RequiredResourceAccess {
                resource_app_id: resource.app_id.clone(),
                resource_access: ids
                    .iter()
                    .map(|id| ResourceAccess {
                        id: id.clone(),
                        kind: "Role".into(),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// What the application step hands on besides the journaled application.
#[derive(Default)]
struct Registering {
    /// The permissions, looked up once alongside the first call that needs them.
    grants: Option<Grants>,
    /// A service principal this run created itself has no grants yet: no lookup.
    created_service_principal: bool,
    duplicates: Vec<String>,
}

/// Runs the registration steps of `run` (journaled, resumable).
pub(super) async fn register_steps(
    run: &mut Run,
    server: &mut LocalServer,
    entra: &EntraRequest,
    client: &EntraClient,
    graph: &GraphClient,
    certificate: &PlannedCertificate,
    password_writeback: bool,
) -> Result<Registration, EngineError> {
    let upsert = entra.offers_upsert();
    let tenant_id = client.tenant_id().await?;
    let certificate = prepare_certificate(run, server, certificate).await?;
    let mut state = Registering::default();

    let application = run
        .step(server, APPLICATION, async |server| {
            let stored = server.certificate(&certificate.sha256)?;
            let name = application_name(server)?;
            let prefix = format!("{APPLICATION_NAME_PREFIX}_{}_", host_name());
            let (access, existing) = tokio::join!(
                required_access(graph, password_writeback),
                graph.applications_named(&prefix)
            );
            let grants = state.grants.insert(access?);
            let existing = existing?;
            state.duplicates = existing
                .iter()
                .filter(|app| app.display_name != name)
                .map(|app| format!("{} ({})", app.display_name, app.app_id))
                .collect();
            let app = match existing.into_iter().find(|app| app.display_name == name) {
                Some(app) if has_certificate(&app, &stored) => app,
                Some(app) => {
                    return Err(EngineError::ApplicationHasOtherCertificates {
                        name: app.display_name,
                        app_id: app.app_id,
                    });
                }
                None => {
                    let request = new_application(&name, &stored, grants, upsert);
                    graph.ensure_application(&request, upsert).await?
                }
            };
            let registered = RegisteredApplication {
                object_id: app.id,
                app_id: app.app_id,
                display_name: app.display_name,
            };
            let mut summary = format!("{} ({})", registered.display_name, registered.app_id);
            if !state.duplicates.is_empty() {
                summary.push_str(&format!(
                    "; other applications for this host were left alone: {}",
                    state.duplicates.join(", ")
                ));
            }
            let message = format!(
                "Application {} ({}) registered in tenant {tenant_id} with certificate {}.",
                registered.display_name, registered.app_id, certificate.sha256
            );
            Ok(Done::new(registered, summary).with_local(move |tx| {
                events::record(
                    tx,
                    EventLevel::Information,
                    EventId::APPLICATION_REGISTERED,
                    &message,
                )
            }))
        })
        .await?;

    let service_principal_id = run
        .step(server, SERVICE_PRINCIPAL, async |_| {
            let (sp, created) = graph
                .ensure_service_principal(&application.app_id, upsert)
                .await?;
            state.created_service_principal = created;
            Ok(Done::new(sp.id.clone(), sp.id))
        })
        .await?;

    run.step(server, APP_ROLES, async |_| {
        let grants = match state.grants.take() {
            Some(grants) => grants,
            None => required_access(graph, password_writeback).await?,
        };
        let granted = match state.created_service_principal {
            true => Vec::new(),
            false => graph.app_role_assignments(&service_principal_id).await?,
        };
        let mut assigned = Vec::new();
        for (resource, ids) in &grants {
            for id in ids {
                let present = granted
                    .iter()
                    .any(|a| &a.app_role_id == id && a.resource_id == resource.id);
                if !present {
                    let assignment = graph
                        .ensure_app_role(&NewAppRoleAssignment {
                            principal_id: service_principal_id.clone(),
                            resource_id: resource.id.clone(),
                            app_role_id: id.clone(),
                        })
                        .await?;
                    assigned.push(assignment.id);
                }
            }
        }
        let summary = format!("{} role assignment(s) made", assigned.len());
        let choice = WritebackChoice {
            app_id: application.app_id.clone(),
            password_writeback,
        };
        Ok(Done::new(assigned, summary).with_local(move |tx| choice.record(tx)))
    })
    .await?;

    Ok(Registration {
        tenant_id,
        application,
        service_principal_id,
        certificate,
        duplicates: state.duplicates,
    })
}

/// Whether this server registered its application with password writeback:
/// the audit expects the writeback roles on that application only then, so
/// ones left from an earlier registration with it are found.
#[derive(Debug, Serialize, Deserialize)]
struct WritebackChoice {
    app_id: String,
    password_writeback: bool,
}

const WRITEBACK_SETTING: &str = "password_writeback";

impl WritebackChoice {
    fn record(&self, tx: &rusqlite::Transaction) -> rusqlite::Result<()> {
        let json = serde_json::to_string(self)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        settings::set(tx, WRITEBACK_SETTING, &json)
    }
}

/// Whether this server registered the application `app_id` with password
/// writeback; none when it did not register it (an application of the
/// administrator's own), or registered it before this was recorded.
pub(super) fn registered_with_writeback(
    server: &LocalServer,
    app_id: &str,
) -> Result<Option<bool>, EngineError> {
    let saved = server.read(|conn| settings::get(conn, WRITEBACK_SETTING))?;
    Ok(saved
        .and_then(|json| serde_json::from_str::<WritebackChoice>(&json).ok())
        .filter(|choice| choice.app_id.eq_ignore_ascii_case(app_id))
        .map(|choice| choice.password_writeback))
}

/// Where `app register` leaves its result for `app link`.
const REGISTRATION_SETTING: &str = "registration";

/// The application `app register` made on this server, for `app link`.
pub fn saved_registration(server: &LocalServer) -> Result<Registration, EngineError> {
    let saved = server.read(|conn| settings::get(conn, REGISTRATION_SETTING))?;
    let json = saved.ok_or(EngineError::NothingRegistered)?;
    serde_json::from_str(&json).map_err(EngineError::RegistrationUnreadable)
}

/// The Managed certificate of this server's application, kept when the
/// connector rolled back to a service account and still usable: registering
/// again reuses it, so the application is found with it unchanged (a Hybrid
/// Identity Administrator may not update an existing application's keys).
fn kept_certificate(server: &LocalServer) -> Option<CertificateChoice> {
    let registration = saved_registration(server).ok()?;
    let kept = registration.application.display_name == application_name(server).ok()?
        && registration.certificate.managed_by == ManagedBy::EntraConnect
        && usable_certificate(server, &registration.certificate.sha256).is_ok();
    kept.then_some(registration.certificate)
}

/// The connector's application as a registration, kept for the way forward
/// when it rolls back to a service account (`app link` and onboarding find it
/// again). Only for this server's own application with a Managed certificate.
pub(super) fn way_forward(
    server: &LocalServer,
    app: &crate::domain::ApplicationCredential,
) -> Result<Option<String>, EngineError> {
    let name = application_name(server)?;
    if app.application_managed_by != ManagedBy::EntraConnect {
        return Ok(None);
    }
    let registration = Registration {
        tenant_id: app.tenant_id.clone(),
        application: RegisteredApplication {
            object_id: String::new(),
            app_id: app.application_id.clone(),
            display_name: name,
        },
        service_principal_id: app.service_principal_id.clone(),
        certificate: CertificateChoice {
            sha256: app.certificate_sha256.clone(),
            managed_by: app.certificate_managed_by,
        },
        duplicates: Vec::new(),
    };
    serde_json::to_string(&registration)
        .map(Some)
        .map_err(EngineError::Journal)
}

/// Writes what [`way_forward`] made; call inside a state transaction.
pub(super) fn keep_way_forward(tx: &rusqlite::Transaction, json: &str) -> rusqlite::Result<()> {
    settings::set(tx, REGISTRATION_SETTING, json)
}
