//! The wizard's whole sequence as one operation: with the scheduler off,
//! register (or check) the application, link it, and put the scheduler back
//! exactly as it was.

use super::admin::{plan_sign_in, sign_in_checked};
use super::certificates::usable_certificate;
use super::link::{CHECK_APPLICATION, check_existing_application, link_steps};
use super::operation::{Operation, PlannedStep, Run, Target, plan_scheduler_off};
use super::permissions;
use super::register::{CertificateSource, register_steps, roles_granted};
use super::{EngineError, EntraRequest, LocalServer, ensure_not_application};
use crate::domain::{ApplicationCredential, CertificateHash, Method};

/// The onboarding operation, with the wizard's choices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Onboard {
    pub method: Method,
    pub password_writeback: bool,
}

/// Where the application comes from.
enum Application<'a> {
    /// This tool registers it, with a certificate from here.
    Register(CertificateSource),
    /// Bring Your Own Application.
    Existing {
        app_id: &'a str,
        certificate: &'a CertificateHash,
    },
}

impl Onboard {
    fn application(&self) -> Application<'_> {
        match &self.method {
            Method::Managed => Application::Register(CertificateSource::Managed),
            Method::Byoc(hash) => Application::Register(CertificateSource::Existing(hash.clone())),
            Method::Byoa {
                app_id,
                certificate,
            } => Application::Existing {
                app_id: app_id.as_str(),
                certificate,
            },
        }
    }
}

impl Operation for Onboard {
    const KIND: &'static str = "onboard";
    type Output = ApplicationCredential;

    fn plan(&self, server: &LocalServer, target: &Target) -> Result<Vec<PlannedStep>, EngineError> {
        ensure_not_application(server, Self::KIND)?;
        // The wizard signs in before the method is chosen, so every method asks
        // for what registration needs (which covers checking an existing one).
        let mut steps = vec![
            plan_sign_in(target, &permissions::REGISTER),
            plan_scheduler_off(server)?,
        ];
        match self.application() {
            Application::Register(source) => steps.extend(super::register::plan_steps(
                server,
                target,
                &source,
                self.password_writeback,
            )?),
            Application::Existing {
                app_id,
                certificate,
            } => {
                let stored = usable_certificate(server, certificate)
                    .map_err(EngineError::refused_at(CHECK_APPLICATION.id))?;
                steps.push(CHECK_APPLICATION.plan(format!(
                    "Use the existing application {app_id} with certificate {certificate} ({}): nothing is created in Entra; it must carry the certificate and hold {}",
                    stored.info.subject,
                    roles_granted(self.password_writeback)
                )));
            }
        }
        steps.extend(super::link::plan_steps(server)?);
        Ok(steps)
    }

    async fn execute(
        &self,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<ApplicationCredential, EngineError> {
        let client = entra.client(run)?;
        let graph = sign_in_checked(run, &client, entra, &permissions::REGISTER).await?;
        run.disable_scheduler(server).await?;
        let target = match self.application() {
            Application::Register(source) => (&register_steps(
                run,
                server,
                entra,
                &client,
                &graph,
                &source,
                self.password_writeback,
            )
            .await?)
                .into(),
            Application::Existing {
                app_id,
                certificate,
            } => {
                check_existing_application(run, server, &client, &graph, app_id, certificate)
                    .await?
            }
        };
        link_steps(run, server, &client, &target, super::link::Switch::Linked).await
    }
}
