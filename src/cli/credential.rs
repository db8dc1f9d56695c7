//! `credential show` (Get-ADSyncEntraConnectorCredential).

use super::output::{Output, fields};
use crate::domain::{ConnectorCredential, ConnectorIdentityType, format_time};
use crate::engine::LocalServer;
use clap::Subcommand;
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum CredentialCommand {
    /// Show what the connector signs in with.
    Show,
}

#[derive(Serialize)]
struct CredentialView<'a> {
    connector_identity_type: ConnectorIdentityType,
    service_account: Option<&'a crate::domain::ServiceAccountCredential>,
    application: Option<&'a crate::domain::ApplicationCredential>,
}

pub fn run(command: CredentialCommand, server: &LocalServer, out: &Output) -> anyhow::Result<()> {
    match command {
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
            };
            out.show(&view, |view| {
                let mut rows = vec![(
                    "ConnectorIdentityType",
                    view.connector_identity_type.to_string(),
                )];
                if let Some(account) = view.service_account {
                    rows.push(("UserPrincipalName", account.user_principal_name.clone()));
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
                fields(&rows)
            })
        }
    }
}
