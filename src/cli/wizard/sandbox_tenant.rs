//! `wizard --sandbox`: the wizard against an in-process sandbox tenant, as an
//! existing Connect server (its legacy account recorded first) or, with
//! `--fresh`, a new installation. The tenant is kept in the server's state
//! directory ([`TENANT_DIR`]), so a second run continues where the first
//! stopped; `--fresh` starts both afresh.

use super::super::connection::progress_printer;
use super::super::output::Output;
use crate::domain::{Cloud, ConnectionInputs, ConnectorIdentityType, Upn};
use crate::engine::connection::{remember, settings};
use crate::engine::service_account::UseServiceAccount;
use crate::engine::{EntraRequest, LocalServer, OperationRequest, Target};
use crate::entra::Secret;
use crate::entra::client::{DEFAULT_ADMIN_CLIENT_ID, UserSignIn};
use crate::sandbox::{ConditionalAccess, Sandbox, SandboxConfig, SandboxHandle};
use crate::tui::model::{SandboxEndpoints, WizardData};
use crate::tui::{REPLICATION_BUDGET, WizardSetup};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The sandbox tenant's directory inside the server's state directory.
const TENANT_DIR: &str = "sandbox";

/// What server `wizard --sandbox` plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SandboxServer {
    /// A Connect server whose connector signs in with its legacy account.
    Existing,
    /// A new installation.
    Fresh,
}

/// The demo's tenant: every device code approved 2 s after it is shown (as
/// `admin`, or the account it was asked for), and asked for again every
/// second rather than Entra's 5, so the wizard moves on about 2 s after
/// the code appears, as `wizard --help` says; every browser sign-in
/// approved at once; with `policies` turned on.
fn demo_tenant(
    admin: String,
    data_dir: PathBuf,
    policies: Vec<ConditionalAccess>,
) -> SandboxConfig {
    SandboxConfig {
        data_dir: Some(data_dir),
        conditional_access: policies,
        auto_approve: Some(admin),
        auto_approve_delay: std::time::Duration::from_secs(2),
        auto_approve_as_hinted: true,
        device_code_interval: std::time::Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

/// Starts the sandbox tenant `wizard --sandbox` runs against and sets the
/// wizard up for it: its endpoints, its administrator, and for an existing
/// server its legacy account recorded. The tenant lives as long as the handle.
pub(super) async fn start(
    kind: SandboxServer,
    policies: Vec<ConditionalAccess>,
    server: &mut LocalServer,
    setup: &mut WizardSetup,
) -> anyhow::Result<SandboxHandle> {
    let admin = Sandbox::seeded_admin(None)?;
    let data_dir = server.state_dir().join(TENANT_DIR);
    let new_tenant = !data_dir.join(crate::sandbox::TENANT_FILE).exists();
    let handle = Sandbox::start(demo_tenant(admin, data_dir, policies)).await?;
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
        record_legacy_account(server, &handle, &setup.data.connection).await?;
    }
    if new_tenant && !unconfigured {
        // Shown once the pages close: a state from before the tenant was kept.
        eprintln!(
            "note: the sandbox tenant in {} is new, but this server is already configured \
             against another one: its credential will not work here. \
             `entra-connect wizard --sandbox --fresh` starts both afresh.",
            server.state_dir().join(TENANT_DIR).display()
        );
    }
    Ok(handle)
}

/// `--fresh`, before the state is opened: a state that holds a sandbox
/// tenant (one `wizard --sandbox` made) is emptied, tenant and all, so the
/// server and its tenant start anew. Any other state is left as it is:
/// nothing here wipes a real server's state, or what a test prepared.
pub(super) fn start_afresh(state_dir: &Path) -> anyhow::Result<()> {
    let tenant = state_dir.join(TENANT_DIR);
    if !tenant.is_dir() {
        return Ok(());
    }
    // The server's own state (reached through ENTRA_CONNECT_STATE_DIR, say)
    // is never emptied, whatever a sandbox demo left in it.
    let same = |a: &Path, b: &Path| {
        std::fs::canonicalize(a)
            .ok()
            .zip(std::fs::canonicalize(b).ok())
            .is_some_and(|(a, b)| a == b)
    };
    let servers = [
        crate::host::default_state_dir(),
        crate::host::user_state_dir(),
    ];
    if servers
        .iter()
        .flatten()
        .any(|server| same(server, state_dir))
    {
        anyhow::bail!(
            "--fresh empties the state directory, and {} is this machine's server state: \
             give the demo its own with --state-dir DIR, or leave --state-dir and \
             ENTRA_CONNECT_STATE_DIR unset for the demo's default",
            state_dir.display()
        );
    }
    // Refused while another wizard's sandbox serves it.
    Sandbox::discard(&tenant)?;
    let wiped = |path: &Path| format!("cannot empty the sandbox demo's state: {}", path.display());
    for entry in std::fs::read_dir(state_dir).with_context(|| wiped(state_dir))? {
        let path = entry.with_context(|| wiped(state_dir))?.path();
        let removed = match path.is_dir() && !path.is_symlink() {
            true => std::fs::remove_dir_all(&path),
            false => std::fs::remove_file(&path),
        };
        removed.with_context(|| wiped(&path))?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::demo_tenant;
    use std::time::Duration;

    /// The sign-in moves on about 2 s after the code is shown: approved at
    /// 2 s, and asked for again within the next second (with Entra's 5 s
    /// interval the wizard waited 5 s).
    #[test]
    fn the_demo_approves_a_device_code_within_three_seconds() {
        let tenant = demo_tenant(
            "admin@contoso.onmicrosoft.com".into(),
            "sandbox".into(),
            Vec::new(),
        );
        assert!(tenant.auto_approve.is_some() && tenant.auto_approve_as_hinted);
        assert!(
            tenant.auto_approve_delay + tenant.device_code_interval <= Duration::from_secs(3),
            "{tenant:?}"
        );
    }
}
