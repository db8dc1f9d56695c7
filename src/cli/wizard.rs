//! `wizard --answers FILE`: the wizard's onboarding, unattended, with progress
//! lines instead of pages.

use super::connection::{ConnectionArgs, SignInArgs, run_operation};
use super::output::{Output, fields};
use crate::domain::{Answers, MethodAnswer};
use crate::engine::LocalServer;
use crate::engine::onboard::{Method, OnboardOptions, onboard};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::tui::WizardSetup;
use crate::tui::app::{Cloud, WizardData};
use anyhow::Context;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Debug, Default, Args)]
pub struct WizardArgs {
    /// Run unattended from a TOML answers file (see assets/answers-managed.toml).
    #[arg(long, value_name = "FILE")]
    answers: Option<PathBuf>,
    /// Against the built-in sandbox tenant (started in-process; the administrator's
    /// device code is approved after about 2 s), with a temporary state directory
    /// unless one is given.
    #[arg(long)]
    pub sandbox: bool,
}

pub fn run(args: WizardArgs, server: LocalServer, out: &Output) -> anyhow::Result<()> {
    match &args.answers {
        Some(path) => unattended(path, server, out),
        None => {
            anyhow::ensure!(
                std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
                "the wizard needs a terminal; to run it unattended give --answers FILE"
            );
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            runtime.block_on(interactive(args.sandbox, server))
        }
    }
}

/// The pages, in this terminal; with `sandbox`, against an in-process sandbox tenant.
async fn interactive(sandbox: bool, server: LocalServer) -> anyhow::Result<()> {
    let mut setup = WizardSetup::default();
    let mut _tenant = None;
    if sandbox {
        let admin = Sandbox::seeded_admin(None)?;
        let handle = Sandbox::start(SandboxConfig {
            auto_approve: Some(admin),
            auto_approve_delay: std::time::Duration::from_secs(2),
            ..SandboxConfig::default()
        })
        .await?;
        setup.data = WizardData {
            tenant: handle.tenant_domain.clone(),
            cloud: Cloud::Sandbox,
            upn: handle.admin_upn.clone(),
            ..WizardData::default()
        };
        setup.sandbox_endpoints = Some((handle.authority_host.clone(), handle.graph_url.clone()));
        _tenant = Some(handle);
    }
    crate::tui::run(server, setup).await
}

/// The onboarding from an answers file, with progress lines instead of pages.
fn unattended(path: &std::path::Path, mut server: LocalServer, out: &Output) -> anyhow::Result<()> {
    let server = &mut server;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the answers file {}", path.display()))?;
    let answers = Answers::parse(&text).map_err(|why| {
        anyhow::anyhow!("the answers file {} is not valid: {why}", path.display())
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
