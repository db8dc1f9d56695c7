//! The wizard's whole sequence as one operation: with the scheduler off,
//! register (or check) the application, link it, and put the scheduler back
//! exactly as it was.

use super::link::{LinkTarget, check_existing_application, link_steps};
use super::operation::{Run, conclude, recover_scheduler};
use super::progress::ProgressSender;
use super::register::{CertificateSource, register_steps, sign_in_checked};
use super::{EngineError, EntraRequest, LocalServer, ensure_not_application};
use crate::domain::{ApplicationCredential, CertificateHash};

/// The three ways to get an application credential.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Method {
    /// A new certificate and application, both looked after by this tool.
    Managed,
    /// Bring Your Own Certificate: this tool registers the application with it.
    Byoc(CertificateHash),
    /// Bring Your Own Application: an existing application and its certificate.
    Byoa {
        app_id: String,
        certificate: CertificateHash,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OnboardOptions {
    pub method: Method,
    pub password_writeback: bool,
}

pub async fn onboard(
    server: &mut LocalServer,
    request: &EntraRequest,
    options: &OnboardOptions,
    progress: ProgressSender,
) -> Result<ApplicationCredential, EngineError> {
    ensure_not_application(server, "onboard")?;
    recover_scheduler(server)?;
    let mut run = Run::start(server, "onboard", options, progress)?;
    let result = async {
        let client = request.client(&run)?;
        let graph = sign_in_checked(&run, &client, &request.sign_in).await?;
        run.disable_scheduler(server)?;
        let target: LinkTarget = match &options.method {
            Method::Managed => (&register_steps(
                &mut run,
                server,
                &client,
                &graph,
                &CertificateSource::Managed,
                options.password_writeback,
            )
            .await?)
                .into(),
            Method::Byoc(hash) => {
                let source = CertificateSource::Existing(hash.clone());
                (&register_steps(
                    &mut run,
                    server,
                    &client,
                    &graph,
                    &source,
                    options.password_writeback,
                )
                .await?)
                    .into()
            }
            Method::Byoa {
                app_id,
                certificate,
            } => {
                check_existing_application(&run, server, &client, &graph, app_id, certificate)
                    .await?
            }
        };
        link_steps(&mut run, server, &client, &target).await
    }
    .await;
    conclude(run, server, result)
}

/// An onboarding as the Ready page shows it: every change, in order, and the
/// options that carry it out exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub options: OnboardOptions,
    pub changes: Vec<String>,
}

/// Describes what `onboard` with `options` will change on this server and in
/// `tenant`, before anything is changed.
pub fn plan(
    server: &LocalServer,
    tenant: &str,
    options: OnboardOptions,
) -> Result<Plan, EngineError> {
    use crate::domain::{
        DEFAULT_CERTIFICATE_DAYS, MANAGED_CERTIFICATE_SUBJECT, PASSWORD_WRITEBACK_ROLES,
        SYNC_SERVICE_ROLE,
    };
    let mut changes = Vec::new();
    let roles = || {
        let mut roles = format!("{SYNC_SERVICE_ROLE} (Microsoft Entra AD Synchronization Service)");
        if options.password_writeback {
            roles.push_str(&format!(
                ", {} (Microsoft password reset service, if present)",
                PASSWORD_WRITEBACK_ROLES.join(", ")
            ));
        }
        roles
    };
    let certificate = match &options.method {
        Method::Managed => {
            changes.push(format!(
                "Create an RSA 2048 key and a self-signed certificate {MANAGED_CERTIFICATE_SUBJECT}, valid {DEFAULT_CERTIFICATE_DAYS} days, in the software key store (no TPM); rotated automatically"
            ));
            None
        }
        Method::Byoc(hash)
        | Method::Byoa {
            certificate: hash, ..
        } => {
            let stored = super::register::usable_certificate(server, hash)?;
            changes.push(format!(
                "Use certificate {hash} ({}, valid until {}) from the key store",
                stored.info.subject,
                crate::domain::format_time(stored.info.not_after)
            ));
            Some(hash.clone())
        }
    };
    match &options.method {
        Method::Byoa { app_id, .. } => changes.push(format!(
            "Use the existing application {app_id}: nothing is created in Entra; it must carry the certificate and hold {}",
            roles()
        )),
        _ => {
            changes.push(format!(
                "Register the application {} in tenant {tenant} (this organization only) with the certificate{}",
                super::register::application_name(server)?,
                if certificate.is_none() { "" } else { " above" }
            ));
            changes.push(format!("Create its service principal and grant it {}", roles()));
        }
    }
    let scheduler = server.scheduler()?;
    changes.push(format!(
        "Turn sync cycles off during the change (SyncCycleEnabled is {}) and put them back as they were afterwards",
        scheduler.sync_cycle_enabled
    ));
    changes.push(format!(
        "Switch the connector credential from {} to Application, after a test sign-in with the certificate",
        server.credential()?.identity_type()
    ));
    Ok(Plan { options, changes })
}
