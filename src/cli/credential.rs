//! `credential show` (Get-ADSyncEntraConnectorCredential).

use super::app::show_outcome;
use super::connection::{ConnectionArgs, DryRunArg, Invocation, SignInArgs, run_operation};
use super::output::{Output, fields};
use crate::domain::{ConnectorCredential, ConnectorIdentityType, format_time};
use crate::engine::connection::remember;
use crate::engine::repair::Repair;
use crate::engine::{LocalServer, OperationRequest, test_credential};
use crate::entra::client::DEFAULT_ADMIN_CLIENT_ID;
use clap::{Args, Subcommand};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Show what the connector signs in with.
    Show,
    /// Sign in with the current credential for the synchronization service; prints who, roles and expiry (never the token).
    Test(Box<ConnectionArgs>),
    /// Rebuild a missing or blank credential record from the tenant (this server's application)
    /// and the key store, after a token proves it (Repair-ADSyncToolsEntraAppParameters).
    Repair(Box<RepairArgs>),
}

#[derive(Debug, Args)]
pub struct RepairArgs {
    /// An administrator who may read applications (Hybrid Identity Administrator or higher).
    #[command(flatten)]
    sign_in: SignInArgs,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Serialize)]
struct CredentialView<'a> {
    connector_identity_type: ConnectorIdentityType,
    service_account: Option<&'a crate::domain::ServiceAccountCredential>,
    application: Option<&'a crate::domain::ApplicationCredential>,
    /// The legacy account kept as the way back (`service-account add`).
    way_back: Option<String>,
    /// The state directory this was read from.
    state_dir: &'a std::path::Path,
}

pub fn run(
    command: CredentialCommand,
    server: &mut LocalServer,
    out: &Output,
) -> anyhow::Result<()> {
    match command {
        CredentialCommand::Repair(args) => {
            let invocation = Invocation::new(&args.connection, &args.sign_in);
            let request = OperationRequest::Repair(Repair);
            match invocation.perform(server, request, args.dry_run, out)? {
                None => Ok(()),
                Some(outcome) => show_outcome(server, out, outcome),
            }
        }
        CredentialCommand::Test(connection) => {
            let (inputs, settings) = connection.for_credential(server, DEFAULT_ADMIN_CLIENT_ID)?;
            let settings = settings?;
            let result = run_operation(server, out, async |server, progress| {
                test_credential(server, settings, progress).await
            })?;
            remember(server, &inputs)?;
            out.show(&result, |r| {
                let mut rows = vec![
                    ("ClientId", r.client_id.clone()),
                    ("TenantId", r.tenant_id.clone()),
                ];
                if let Some(upn) = &r.user_principal_name {
                    rows.push(("UserPrincipalName", upn.clone()));
                }
                rows.extend([
                    ("Roles", r.roles.join(", ")),
                    ("ExpiresInSeconds", r.expires_in_seconds.to_string()),
                ]);
                fields(&rows)
            })
        }
        CredentialCommand::Show => {
            let credential = server.credential()?;
            let view = CredentialView {
                connector_identity_type: credential.identity_type(),
                service_account: match &credential {
                    ConnectorCredential::ServiceAccount(account) => Some(account),
                    _ => None,
                },
                application: match &credential {
                    ConnectorCredential::Application(app) => Some(app),
                    _ => None,
                },
                way_back: server.way_back()?,
                state_dir: server.state_dir(),
            };
            out.show(&view, |view| {
                let mut rows = vec![(
                    "ConnectorIdentityType",
                    view.connector_identity_type.to_string(),
                )];
                if let Some(account) = view.service_account {
                    rows.push(("ServiceAccount", account.user_principal_name.clone()));
                    rows.push(("ConfiguredAt", format_time(account.configured_at)));
                }
                if let Some(app) = view.application {
                    rows.extend([
                        ("TenantId", app.tenant_id.clone()),
                        ("ApplicationId", app.application_id.clone()),
                        ("ServicePrincipalId", app.service_principal_id.clone()),
                        ("CertificateSHA256Hash", app.certificate_sha256.to_string()),
                        ("KeyStore", app.key_store.as_str().to_string()),
                        (
                            "ApplicationManagedBy",
                            app.application_managed_by.as_str().to_string(),
                        ),
                        (
                            "CertificateManagedBy",
                            app.certificate_managed_by.as_str().to_string(),
                        ),
                        ("ConfiguredAt", format_time(app.configured_at)),
                    ]);
                }
                if let Some(upn) = &view.way_back {
                    rows.push(("RollbackServiceAccount", upn.clone()));
                }
                rows.push(("StateDirectory", view.state_dir.display().to_string()));
                fields(&rows)
            })
        }
    }
}
