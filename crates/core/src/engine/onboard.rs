//! The wizard's whole sequence as one operation: with the scheduler off,
//! register the application (or, before turning it off, check yours), link
//! it, and put the scheduler back exactly as it was.

use super::admin::{plan_sign_in, sign_in_checked};
use super::certificates::usable_certificate;
use super::link::{CHECK_APPLICATION, check_existing_application, link_steps};
use super::operation::{
    CertificateSummary, Change, Journaled, Operation, PlannedStep, Run, Target, plan_scheduler_off,
};
use super::permissions;
use super::register::{CertificateSource, PlannedCertificate, register_steps};
use super::{EngineError, EntraRequest, LocalServer, ensure_not_application};
use crate::domain::{AppId, ApplicationCredential, Method};
use crate::keys::StoredCertificate;

/// The onboarding operation, with the wizard's choices.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Onboard {
    pub method: Method,
    pub password_writeback: bool,
}

/// Where the application comes from, as found before anything changes.
pub(crate) enum Application {
    /// This tool registers it, with this certificate.
    Register(PlannedCertificate),
    /// Bring Your Own Application, with this certificate from the store.
    Existing {
        app_id: AppId,
        certificate: Box<StoredCertificate>,
    },
}

impl Operation for Onboard {
    const KIND: &'static str = "onboard";
    type Output = ApplicationCredential;
    type Situation = Application;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<Application, EngineError> {
        ensure_not_application(server, Self::KIND)?;
        let source = match &self.method {
            Method::Managed => CertificateSource::Managed,
            Method::Byoc(hash) => CertificateSource::Existing(hash.clone()),
            Method::Byoa {
                app_id,
                certificate,
            } => {
                return Ok(Application::Existing {
                    app_id: app_id.clone(),
                    certificate: Box::new(
                        usable_certificate(server, certificate)
                            .map_err(EngineError::refused_at(CHECK_APPLICATION.id))?,
                    ),
                });
            }
        };
        Ok(Application::Register(PlannedCertificate::of(
            server, &source,
        )?))
    }

    fn plan(
        &self,
        application: &Application,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        // The wizard signs in before the method is chosen, so every method asks
        // for what registration needs (which covers checking an existing one).
        let mut steps = vec![plan_sign_in(target, &permissions::REGISTER)];
        match application {
            Application::Register(certificate) => {
                steps.push(plan_scheduler_off(server)?);
                steps.extend(super::register::plan_steps(
                    server,
                    target,
                    certificate,
                    self.password_writeback,
                )?);
            }
            // An existing application is checked before anything changes, as
            // `app link` checks it: sync cycles go off only once it passed.
            Application::Existing {
                app_id,
                certificate,
            } => {
                steps.push(CHECK_APPLICATION.plan(Change::UseExistingApplication {
                    app_id: app_id.to_string(),
                    certificate: CertificateSummary::of(&certificate.info),
                    password_writeback: self.password_writeback,
                }));
                steps.push(plan_scheduler_off(server)?);
            }
        }
        steps.extend(super::link::plan_steps(server)?);
        Ok(steps)
    }

    async fn execute(
        &self,
        application: Application,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<ApplicationCredential, EngineError> {
        let client = entra.client(run)?;
        let graph = sign_in_checked(run, &client, entra, &permissions::REGISTER).await?;
        let target = match application {
            Application::Register(certificate) => {
                run.disable_scheduler(server).await?;
                (&register_steps(
                    run,
                    server,
                    entra,
                    &client,
                    &graph,
                    &certificate,
                    self.password_writeback,
                )
                .await?)
                    .into()
            }
            Application::Existing {
                app_id,
                certificate,
            } => {
                let target = check_existing_application(
                    run,
                    server,
                    &client,
                    &graph,
                    app_id.as_str(),
                    &certificate.info.sha256,
                )
                .await?;
                run.disable_scheduler(server).await?;
                target
            }
        };
        link_steps(run, server, &client, &target, super::link::Switch::Linked).await
    }
}
