//! `wizard --answers FILE`: the wizard's onboarding, unattended, with progress
//! lines instead of pages.

use super::UsageError;
use super::connection::{DryRunArg, Invocation};
use super::output::{Output, fields};
use crate::domain::Answers;
use crate::domain::{Cloud, ConnectionInputs};
use crate::engine::onboard::Onboard;
use crate::engine::{LocalServer, OperationRequest, Outcome};
use crate::sandbox::{Sandbox, SandboxConfig};
use crate::tui::WizardSetup;
use crate::tui::model::{SandboxEndpoints, WizardData};
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
    /// With --answers: print the plan and change nothing.
    #[arg(long, requires = "answers")]
    dry_run: bool,
}

pub fn run(args: WizardArgs, server: LocalServer, out: &Output) -> anyhow::Result<()> {
    match &args.answers {
        Some(path) => unattended(
            path,
            DryRunArg {
                dry_run: args.dry_run,
            },
            server,
            out,
        ),
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
        let sandbox = SandboxEndpoints {
            authority_host: handle.authority_host.parse()?,
            graph_url: handle.graph_url.parse()?,
        };
        setup.data = WizardData {
            connection: ConnectionInputs {
                tenant: Some(handle.tenant_domain.parse()?),
                cloud: Some(Cloud::Public),
                authority_host: Some(sandbox.authority_host.clone()),
                graph_url: Some(sandbox.graph_url.clone()),
                ca_cert: None,
            },
            upn: Some(handle.admin_upn.parse()?),
            ..WizardData::default()
        };
        setup.sandbox = Some(sandbox);
        _tenant = Some(handle);
    }
    crate::tui::run(server, setup).await
}

/// The onboarding from an answers file, with progress lines instead of pages.
fn unattended(
    path: &std::path::Path,
    dry_run: DryRunArg,
    mut server: LocalServer,
    out: &Output,
) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the answers file {}", path.display()))?;
    let answers = Answers::parse(&text).map_err(|why| {
        UsageError(format!(
            "the answers file {} is not valid: {why}",
            path.display()
        ))
    })?;
    let request = OperationRequest::Onboard(Onboard {
        method: answers.method()?,
        password_writeback: answers.password_writeback,
    });
    let invocation = Invocation::from_answers(&answers);
    let Some(Outcome::Credential(credential)) =
        invocation.perform(&mut server, request, dry_run, out)?
    else {
        return Ok(());
    };
    out.show(&credential, |c| {
        fields(&[
            ("ConnectorIdentityType", "Application".to_string()),
            ("TenantId", c.tenant_id.clone()),
            ("ApplicationId", c.application_id.clone()),
            ("CertificateSHA256Hash", c.certificate_sha256.to_string()),
            (
                "NextStep",
                "check the connector signs in: entra-connect credential test".to_string(),
            ),
        ])
    })
}
