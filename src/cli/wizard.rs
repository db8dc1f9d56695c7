//! `wizard`: the pages in this terminal; `wizard --sandbox` against an
//! in-process sandbox tenant, as an existing Connect server (or, with
//! `--fresh`, a new installation); `wizard --answers FILE`: the wizard's
//! onboarding, unattended, with progress lines instead of pages.

use super::UsageError;
use super::connection::{DryRunArg, Invocation, progress_printer};
use super::output::{Output, fields};
use crate::domain::Answers;
use crate::domain::{Cloud, ConnectionInputs, ConnectorIdentityType, Upn};
use crate::engine::connection::{remember, settings};
use crate::engine::onboard::Onboard;
use crate::engine::service_account::UseServiceAccount;
use crate::engine::{EntraRequest, LocalServer, OperationRequest, Outcome, Target};
use crate::entra::Secret;
use crate::entra::client::{DEFAULT_ADMIN_CLIENT_ID, UserSignIn};
use crate::sandbox::{Sandbox, SandboxConfig, SandboxHandle};
use crate::tui::model::{SandboxEndpoints, WizardData};
use crate::tui::{REPLICATION_BUDGET, WizardSetup};
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
    /// unless one is given. The server is an existing Connect server: its connector
    /// signs in with the tenant's legacy directory synchronization account, recorded
    /// first if the state has no credential yet.
    #[arg(long)]
    pub sandbox: bool,
    /// With --sandbox: a new installation instead (no connector credential yet).
    #[arg(long, requires = "sandbox")]
    fresh: bool,
    /// With --answers: print the plan and change nothing.
    #[arg(long, requires = "answers")]
    dry_run: bool,
}

impl WizardArgs {
    /// The answers file (none without --answers), read and checked, its
    /// `ca_cert` too: before the state is opened, so that a usage error
    /// creates and reads nothing.
    pub fn read_answers(&self) -> Result<Option<Answers>, UsageError> {
        let Some(path) = &self.answers else {
            return Ok(None);
        };
        let refused =
            |why: String| UsageError(format!("the answers file {} {why}", path.display()));
        let text =
            std::fs::read_to_string(path).map_err(|e| refused(format!("cannot be read: {e}")))?;
        let answers =
            Answers::parse(&text).map_err(|why| refused(format!("is not valid: {why}")))?;
        if let Some(ca_cert) = &answers.ca_cert {
            crate::entra::extra_roots(ca_cert)
                .map_err(|e| refused(format!("is not valid: key `ca_cert`: the file {e}")))?;
        }
        Ok(Some(answers))
    }
}

/// Runs the wizard: unattended with `answers` (from [`WizardArgs::read_answers`]),
/// otherwise its pages.
pub fn run(
    args: WizardArgs,
    answers: Option<Answers>,
    server: LocalServer,
    out: &Output,
) -> anyhow::Result<()> {
    match answers {
        Some(answers) => unattended(
            answers,
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
            let sandbox = match (args.sandbox, args.fresh) {
                (false, _) => None,
                (true, false) => Some(SandboxServer::Existing),
                (true, true) => Some(SandboxServer::Fresh),
            };
            let result = runtime.block_on(interactive(sandbox, server));
            // The wizard has put back whatever it changed; a TPM probe still
            // waiting on a TPM that does not answer must not hold up the exit.
            runtime.shutdown_background();
            result
        }
    }
}

/// What server `wizard --sandbox` plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SandboxServer {
    /// A Connect server whose connector signs in with its legacy account.
    Existing,
    /// A new installation.
    Fresh,
}

/// The pages, in this terminal; with `sandbox`, against an in-process sandbox tenant.
async fn interactive(
    sandbox: Option<SandboxServer>,
    mut server: LocalServer,
) -> anyhow::Result<()> {
    let mut setup = WizardSetup::default();
    let mut _tenant = None;
    if let Some(kind) = sandbox {
        let admin = Sandbox::seeded_admin(None)?;
        let handle = Sandbox::start(SandboxConfig {
            auto_approve: Some(admin),
            auto_approve_delay: std::time::Duration::from_secs(2),
            auto_approve_as_hinted: true,
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
        let unconfigured = server.credential()?.identity_type() == ConnectorIdentityType::None;
        if kind == SandboxServer::Existing && unconfigured {
            record_legacy_account(&mut server, &handle, &setup.data.connection).await?;
        }
        _tenant = Some(handle);
    }
    crate::tui::run(server, setup).await
}

/// The role the sandbox's seeded legacy connector account holds.
const SYNC_ACCOUNTS_ROLE: &str = "Directory Synchronization Accounts";

/// Records the sandbox tenant's seeded legacy connector account as this
/// server's credential, as `service-account use` does (the account signs
/// itself in with its password; progress goes to stderr before the pages open),
/// so the wizard opens on a server that still uses a service account.
async fn record_legacy_account(
    server: &mut LocalServer,
    tenant: &SandboxHandle,
    connection: &ConnectionInputs,
) -> anyhow::Result<()> {
    let account = tenant
        .users
        .iter()
        .find(|user| user.roles.iter().any(|role| role == SYNC_ACCOUNTS_ROLE))
        .context("the sandbox tenant has no directory synchronization account")?;
    let upn: Upn = account.upn.parse()?;
    let target = Target {
        tenant: tenant.tenant_domain.clone(),
        admin_upn: upn.to_string(),
    };
    let request = OperationRequest::UseServiceAccount(UseServiceAccount { upn: upn.clone() });
    let plan = crate::engine::plan(server, target, request)?;
    let entra = EntraRequest {
        connection: settings(
            connection,
            DEFAULT_ADMIN_CLIENT_ID,
            REPLICATION_BUDGET,
            Default::default(),
        )?,
        admin: Some(UserSignIn::Password {
            upn: upn.to_string(),
            password: Secret::new(account.password.clone()),
        }),
    };
    let (progress, printer) = progress_printer(&Output { json: false });
    let recorded = crate::engine::execute(server, &entra, &plan, progress).await;
    let _ = printer.await;
    recorded?;
    remember(server, connection)?;
    Ok(())
}

/// The onboarding from an answers file, with progress lines instead of pages.
fn unattended(
    answers: Answers,
    dry_run: DryRunArg,
    mut server: LocalServer,
    out: &Output,
) -> anyhow::Result<()> {
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
