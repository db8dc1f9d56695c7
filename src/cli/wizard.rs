//! `wizard`: the pages in this terminal; `wizard --sandbox` against an
//! in-process sandbox tenant, as an existing Connect server (or, with
//! `--fresh`, a new installation); `wizard --answers FILE`: the wizard's
//! onboarding, unattended, with progress lines instead of pages.

use super::UsageError;
use super::connection::{DryRunArg, Invocation};
use super::output::{Output, fields};
use crate::domain::Answers;
use crate::engine::onboard::Onboard;
use crate::engine::{LocalServer, OperationRequest, Outcome};
use crate::tui::WizardSetup;
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
    /// device code is approved after about 2 s, a browser sign-in at once). The
    /// server is an existing Connect server: its connector signs in with the
    /// tenant's legacy directory synchronization account, recorded first if the
    /// state has no credential yet.
    /// Its state (default: ~/.local/share/entra-connect-sandbox, never a real
    /// server's) keeps the tenant too, in sandbox/: a second run continues where
    /// the first stopped.
    #[cfg(feature = "sandbox")]
    #[arg(long)]
    sandbox: bool,
    /// With --sandbox: a new installation against a new tenant instead (no
    /// connector credential yet); a state a sandbox demo made is emptied first.
    #[cfg(feature = "sandbox")]
    #[arg(long, requires = "sandbox")]
    fresh: bool,
    /// With --sandbox: a Conditional Access policy of the sandbox tenant
    /// (repeatable), as `sandbox serve` takes it: block-device-code (a
    /// device code is refused with AADSTS53003: sign in with the browser) or
    /// require-mfa (a password sign-in is refused with AADSTS50076).
    #[cfg(feature = "sandbox")]
    #[arg(
        long,
        value_name = "POLICY",
        requires = "sandbox",
        value_parser = super::sandbox::conditional_access
    )]
    conditional_access: Vec<crate::sandbox::ConditionalAccess>,
    /// With --answers: print the plan and change nothing.
    #[arg(long, requires = "answers")]
    dry_run: bool,
}

#[cfg(feature = "sandbox")]
mod sandbox_tenant;

impl WizardArgs {
    /// With `--sandbox`: a demo, whose state is its own unless one is given.
    pub fn uses_sandbox(&self) -> bool {
        self.sandbox_server().is_some()
    }

    /// Makes the state in `state_dir` ready before it is opened: with
    /// `--sandbox --fresh`, a demo's state and tenant start anew (only when
    /// the pages will open: never to then refuse for want of a terminal).
    pub fn prepare_state(&self, state_dir: &std::path::Path) -> anyhow::Result<()> {
        #[cfg(feature = "sandbox")]
        if self.answers.is_none()
            && self.sandbox_server() == Some(sandbox_tenant::SandboxServer::Fresh)
        {
            ensure_terminal()?;
            sandbox_tenant::start_afresh(state_dir)?;
        }
        let _ = state_dir;
        Ok(())
    }

    #[cfg(feature = "sandbox")]
    fn sandbox_server(&self) -> Option<sandbox_tenant::SandboxServer> {
        use sandbox_tenant::SandboxServer;
        match (self.sandbox, self.fresh) {
            (false, _) => None,
            (true, false) => Some(SandboxServer::Existing),
            (true, true) => Some(SandboxServer::Fresh),
        }
    }

    #[cfg(not(feature = "sandbox"))]
    fn sandbox_server(&self) -> Option<()> {
        None
    }

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
            ensure_terminal()?;
            let runtime =
                tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let summary = runtime.block_on(interactive(&args, server));
            // The wizard has put back whatever it changed; a TPM probe still
            // waiting on a TPM that does not answer must not hold up the exit.
            runtime.shutdown_background();
            for line in summary? {
                println!("{line}");
            }
            Ok(())
        }
    }
}

/// The pages need a terminal.
fn ensure_terminal() -> anyhow::Result<()> {
    anyhow::ensure!(
        std::io::stdin().is_terminal() && std::io::stdout().is_terminal(),
        "the wizard needs a terminal; to run it unattended give --answers FILE"
    );
    Ok(())
}

/// The pages, in this terminal; with `--sandbox`, against an in-process sandbox tenant.
async fn interactive(args: &WizardArgs, server: LocalServer) -> anyhow::Result<Vec<String>> {
    #[cfg(feature = "sandbox")]
    if let Some(kind) = args.sandbox_server() {
        let (mut server, mut setup) = (server, WizardSetup::default());
        let policies = args.conditional_access.clone();
        let _tenant = sandbox_tenant::start(kind, policies, &mut server, &mut setup).await?;
        return crate::tui::run(server, setup).await;
    }
    let _ = args;
    crate::tui::run(server, WizardSetup::default()).await
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
