//! Add-EntraApplicationRegistration: the certificate, this server's
//! application with it, the application's service principal, and the app
//! roles the synchronization service (and password writeback) need.

use super::operation::{Run, Step};
use super::{EngineError, LocalServer};
use crate::domain::{
    APPLICATION_NAME_PREFIX, CertificateHash, EventId, EventLevel, GLOBAL_ADMINISTRATOR,
    HYBRID_IDENTITY_ADMINISTRATOR, ManagedBy, PASSWORD_RESET_APP_ID, PASSWORD_WRITEBACK_ROLES,
    SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE,
};
use crate::entra::client::{AdminSignIn, EntraClient};
use crate::entra::graph::{
    Application, GraphClient, KeyCredential, NewAppRoleAssignment, NewApplication,
    RequiredResourceAccess, ResourceAccess, ServicePrincipal,
};
use crate::host::events;
use crate::keys::StoredCertificate;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

pub const SIGN_IN: Step = Step {
    name: "sign-in",
    title: "Sign in as Hybrid Identity Administrator",
};
pub const CERTIFICATE: Step = Step {
    name: "certificate",
    title: "Prepare the certificate",
};
pub const APPLICATION: Step = Step {
    name: "application",
    title: "Register this server's application",
};
pub const SERVICE_PRINCIPAL: Step = Step {
    name: "service-principal",
    title: "Create the application's service principal",
};
pub const APP_ROLES: Step = Step {
    name: "app-roles",
    title: "Grant the synchronization permissions",
};

/// Where the certificate comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum CertificateSource {
    /// Managed: a new key and certificate in this server's store; rotated automatically.
    Managed,
    /// Bring Your Own Certificate: one already in the store, by SHA-256 hash.
    Existing(CertificateHash),
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

/// Signs the administrator in and checks the account and its role, before any change.
pub async fn sign_in_checked(
    run: &Run,
    client: &EntraClient,
    sign_in: &AdminSignIn,
) -> Result<GraphClient, EngineError> {
    run.begin(SIGN_IN);
    let progress = run.progress().clone();
    let graph = client
        .sign_in_admin(sign_in, |code| {
            let _ = progress.send(super::progress::Progress::SignInCode {
                verification_uri: code.verification_uri.clone(),
                user_code: code.user_code.clone(),
                expires_in_seconds: code.expires_in,
            });
        })
        .await?;
    let (me, roles) = tokio::join!(graph.me(), graph.my_directory_roles());
    let me = me?;
    if !me.user_principal_name.eq_ignore_ascii_case(sign_in.upn()) {
        return Err(EngineError::Refused(format!(
            "the account signed in is {}, not {}; sign in with the account given in --upn",
            me.user_principal_name,
            sign_in.upn()
        )));
    }
    let roles = roles?;
    let allowed = roles.iter().any(|role| {
        role.role_template_id == HYBRID_IDENTITY_ADMINISTRATOR
            || role.role_template_id == GLOBAL_ADMINISTRATOR
    });
    if !allowed {
        return Err(EngineError::Refused(format!(
            "{} holds neither the Hybrid Identity Administrator nor the Global Administrator role; nothing was changed. Ask a Global Administrator to assign Hybrid Identity Administrator, then run again",
            me.user_principal_name
        )));
    }
    run.note_done(SIGN_IN, format!("signed in as {}", me.user_principal_name));
    Ok(graph)
}

/// The certificate for the application: a new one (Managed) or one in the
/// store that meets the rules (BYOC).
pub fn prepare_certificate(
    run: &mut Run,
    server: &mut LocalServer,
    source: &CertificateSource,
) -> Result<CertificateChoice, EngineError> {
    if let Some(done) = run.resume::<CertificateChoice>(CERTIFICATE) {
        return Ok(done);
    }
    run.begin(CERTIFICATE);
    let choice = match source {
        CertificateSource::Managed => {
            // Creating the key already writes warning 1014 when it is not in a TPM.
            run.software_key_warned = true;
            let created = super::create_certificate(
                server,
                super::StoreChoice::Auto,
                crate::domain::DEFAULT_CERTIFICATE_DAYS,
            )?;
            CertificateChoice {
                sha256: created.info.sha256,
                managed_by: ManagedBy::EntraConnect,
            }
        }
        CertificateSource::Existing(hash) => {
            usable_certificate(server, hash)?;
            CertificateChoice {
                sha256: hash.clone(),
                managed_by: ManagedBy::Customer,
            }
        }
    };
    let summary = format!("{} ({})", choice.sha256, choice.managed_by.as_str());
    run.complete(server, CERTIFICATE, &choice, summary, |_| Ok(()))?;
    Ok(choice)
}

/// The certificate by hash, refused (saying why) unless it can sign in now.
pub fn usable_certificate(
    server: &LocalServer,
    hash: &CertificateHash,
) -> Result<StoredCertificate, EngineError> {
    let stored = server.certificate(hash)?;
    if let Some(problem) = stored.info.problem(time::OffsetDateTime::now_utc()) {
        return Err(crate::keys::KeyError::Unusable {
            hash: hash.clone(),
            problem,
        }
        .into());
    }
    if !stored.has_private_key {
        return Err(crate::keys::KeyError::PrivateKeyMissing(hash.clone()).into());
    }
    Ok(stored)
}

/// `ConnectSyncProvisioning_<HOST>_<installation id>`.
pub fn application_name(server: &LocalServer) -> Result<String, EngineError> {
    Ok(format!(
        "{APPLICATION_NAME_PREFIX}_{}_{}",
        host_name(),
        server.installation_id()?
    ))
}

fn host_name() -> String {
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

/// The permissions the application needs, looked up on the resource service
/// principals (both lookups at once).
/// Each resource service principal with the ids of the app roles to grant on it.
type Grants = Vec<(ServicePrincipal, Vec<String>)>;

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
    let sync = sync?.ok_or_else(|| {
        EngineError::Refused(format!(
            "the tenant has no service principal for the Microsoft Entra AD Synchronization Service ({SYNC_SERVICE_APP_ID}); is directory synchronization enabled for this tenant?"
        ))
    })?;
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
                .ok_or_else(|| {
                    EngineError::Refused(format!(
                        "the service principal {} offers no app role {value}",
                        resource.display_name.as_deref().unwrap_or(&resource.app_id)
                    ))
                })
        })
        .collect()
}

fn key_credential(certificate: &StoredCertificate) -> KeyCredential {
    KeyCredential {
        key_id: None,
        kind: "AsymmetricX509Cert".into(),
        usage: "Verify".into(),
        key: Some(STANDARD.encode(&certificate.info.der)),
        display_name: Some(certificate.info.subject.clone()),
        custom_key_identifier: None,
        start_date_time: None,
        end_date_time: None,
    }
}

/// Whether `application` lists the certificate among its keys (Graph names a
/// key by the certificate's SHA-1 thumbprint).
pub fn has_certificate(application: &Application, certificate: &StoredCertificate) -> bool {
    let thumbprint_hex = certificate.info.thumbprint.as_str();
    let thumbprint_b64 = hex::decode(thumbprint_hex)
        .map(|raw| STANDARD.encode(raw))
        .unwrap_or_default();
    application.key_credentials.iter().any(|key| {
        key.custom_key_identifier
            .as_deref()
            .is_some_and(|id| id == thumbprint_b64 || id.eq_ignore_ascii_case(thumbprint_hex))
    })
}

/// Runs the registration steps of `run` (journaled, resumable).
pub async fn register_steps(
    run: &mut Run,
    server: &mut LocalServer,
    client: &EntraClient,
    graph: &GraphClient,
    source: &CertificateSource,
    password_writeback: bool,
) -> Result<Registration, EngineError> {
    let tenant_id = client.tenant_id().await?;
    let certificate = prepare_certificate(run, server, source)?;
    let stored = server.certificate(&certificate.sha256)?;
    let name = application_name(server)?;

    // The permissions are looked up once, alongside the first call that needs them.
    let mut grants = None;
    // What this run created itself is known to be bare: no lookups for it.
    let mut created_application = false;
    let (application, duplicates) = match run.resume::<RegisteredApplication>(APPLICATION) {
        Some(done) => (done, Vec::new()),
        None => {
            run.begin(APPLICATION);
            let prefix = format!("{APPLICATION_NAME_PREFIX}_{}_", host_name());
            let (access, existing) = tokio::join!(
                required_access(graph, password_writeback),
                graph.applications_named(&prefix)
            );
            let access = grants.insert(access?);
            let existing = existing?;
            let duplicates: Vec<String> = existing
                .iter()
                .filter(|app| app.display_name != name)
                .map(|app| format!("{} ({})", app.display_name, app.app_id))
                .collect();
            let app = match existing.into_iter().find(|app| app.display_name == name) {
                Some(app) if has_certificate(&app, &stored) => app,
                Some(app) => {
                    return Err(EngineError::Refused(format!(
                        "this server's application {} ({}) already exists with other certificates; use `entra-connect app rotate` to change its certificate",
                        app.display_name, app.app_id
                    )));
                }
                None => {
                    let request = NewApplication {
                        display_name: name.clone(),
                        sign_in_audience: "AzureADMyOrg".into(),
                        key_credentials: vec![key_credential(&stored)],
                        required_resource_access: access
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
                    };
                    created_application = true;
                    graph.create_application(&request).await?
                }
            };
            let registered = RegisteredApplication {
                object_id: app.id,
                app_id: app.app_id,
                display_name: app.display_name,
            };
            let mut summary = format!("{} ({})", registered.display_name, registered.app_id);
            if !duplicates.is_empty() {
                summary.push_str(&format!(
                    "; other applications for this host were left alone: {}",
                    duplicates.join(", ")
                ));
            }
            let message = format!(
                "Application {} ({}) registered in tenant {tenant_id} with certificate {}.",
                registered.display_name, registered.app_id, certificate.sha256
            );
            run.complete(server, APPLICATION, &registered, summary, |tx| {
                events::record(
                    tx,
                    EventLevel::Information,
                    EventId::APPLICATION_REGISTERED,
                    &message,
                )
            })?;
            (registered, duplicates)
        }
    };

    let mut created_service_principal = false;
    let service_principal_id = match run.resume::<String>(SERVICE_PRINCIPAL) {
        Some(id) => id,
        None => {
            run.begin(SERVICE_PRINCIPAL);
            let existing = match created_application {
                true => None,
                false => {
                    graph
                        .service_principal_by_app_id(&application.app_id)
                        .await?
                }
            };
            let sp = match existing {
                Some(sp) => sp,
                None => {
                    created_service_principal = true;
                    graph.create_service_principal(&application.app_id).await?
                }
            };
            run.complete(server, SERVICE_PRINCIPAL, &sp.id, sp.id.clone(), |_| Ok(()))?;
            sp.id
        }
    };

    if run.resume::<Vec<String>>(APP_ROLES).is_none() {
        run.begin(APP_ROLES);
        let grants = match grants {
            Some(grants) => grants,
            None => required_access(graph, password_writeback).await?,
        };
        let granted = match created_service_principal {
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
                        .assign_app_role(&NewAppRoleAssignment {
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
        run.complete(server, APP_ROLES, &assigned, summary, |_| Ok(()))?;
    }

    Ok(Registration {
        tenant_id,
        application,
        service_principal_id,
        certificate,
        duplicates,
    })
}

/// Where `app register` leaves its result for `app link`.
const REGISTRATION_SETTING: &str = "registration";

/// The `app register` operation.
pub async fn register(
    server: &mut LocalServer,
    request: &super::EntraRequest,
    source: &CertificateSource,
    password_writeback: bool,
    progress: super::progress::ProgressSender,
) -> Result<Registration, EngineError> {
    super::ensure_not_application(server, "register")?;
    super::operation::recover_scheduler(server)?;
    let mut run = Run::start(server, "register", &(source, password_writeback), progress)?;
    let result = async {
        let client = request.client(&run)?;
        let graph = sign_in_checked(&run, &client, &request.sign_in).await?;
        let registration = register_steps(
            &mut run,
            server,
            &client,
            &graph,
            source,
            password_writeback,
        )
        .await?;
        let json = serde_json::to_string(&registration).unwrap_or_default();
        server
            .db
            .write(|tx| crate::host::settings::set(tx, REGISTRATION_SETTING, &json))?;
        Ok(registration)
    }
    .await;
    super::operation::conclude(run, server, result)
}

/// The application `app register` made on this server, for `app link`.
pub fn registered(server: &LocalServer) -> Result<super::link::LinkTarget, EngineError> {
    let saved = server.read(|conn| crate::host::settings::get(conn, REGISTRATION_SETTING))?;
    let registration: Registration = saved
        .and_then(|json| serde_json::from_str(&json).ok())
        .ok_or_else(|| {
            EngineError::Refused(
                "no application was registered on this server yet: run `entra-connect app register` first, or give --application-app-id".into(),
            )
        })?;
    Ok((&registration).into())
}
