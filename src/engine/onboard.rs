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
#[derive(Debug, Clone, PartialEq, Eq)]
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

#[derive(Debug, Clone)]
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
    let mut run = Run::start(server, "onboard", progress)?;
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
