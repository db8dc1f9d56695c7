//! `wizard --answers FILE`: the wizard's onboarding, unattended, with progress
//! lines instead of pages.

use super::connection::{ConnectionArgs, SignInArgs, run_operation};
use super::output::{Output, fields};
use crate::domain::{Answers, MethodAnswer};
use crate::engine::LocalServer;
use crate::engine::onboard::{Method, OnboardOptions, onboard};
use anyhow::Context;
use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct WizardArgs {
    /// Run unattended from a TOML answers file (see assets/answers-managed.toml).
    #[arg(long, value_name = "FILE", required = true)]
    answers: PathBuf,
}

pub fn run(args: WizardArgs, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.answers)
        .with_context(|| format!("cannot read the answers file {}", args.answers.display()))?;
    let answers = Answers::parse(&text).map_err(|why| {
        anyhow::anyhow!(
            "the answers file {} is not valid: {why}",
            args.answers.display()
        )
    })?;
    let connection = ConnectionArgs::from_answers(&answers)?;
    let request = SignInArgs::from_answers(&answers).request(&connection, server)?;
    let certificate = answers.certificate_sha256.clone();
    let method = match (
        answers.method,
        certificate,
        answers.application_app_id.clone(),
    ) {
        (MethodAnswer::Managed, _, _) => Method::Managed,
        (MethodAnswer::Byoc, Some(hash), _) => Method::Byoc(hash),
        (MethodAnswer::Byoa, Some(certificate), Some(app_id)) => Method::Byoa {
            app_id,
            certificate,
        },
        _ => anyhow::bail!("the answers file lacks what its method needs"),
    };
    let options = OnboardOptions {
        method,
        password_writeback: answers.password_writeback,
    };
    let credential = run_operation(server, async |server, progress| {
        onboard(server, &request, &options, progress).await
    })?;
    out.show(&credential, |c| {
        fields(&[
            ("ConnectorIdentityType", "Application".to_string()),
            ("TenantId", c.tenant_id.clone()),
            ("ApplicationId", c.application_id.clone()),
            ("CertificateSHA256Hash", c.certificate_sha256.to_string()),
            (
                "NextStep",
                "remove the legacy service account once synchronization runs (entra-connect service-account remove)".to_string(),
            ),
        ])
    })
}
