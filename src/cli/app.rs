//! `app register` and `app link` (Add-EntraApplicationRegistration,
//! Add-ADSyncApplicationRegistration), and `credential test`.

use super::connection::{CertificateArg, ConnectionArgs, SignInArgs, run_operation};
use super::output::{Output, fields};
use crate::engine::LocalServer;
use crate::engine::link::{LinkChoice, link};
use crate::engine::register::{CertificateSource, register};
use clap::{Args, Subcommand};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register this server's application in Entra (Managed, or BYOC with --certificate-sha256).
    Register(RegisterArgs),
    /// Make an application the connector's credential (the one registered, or BYOA with --application-app-id).
    Link(LinkArgs),
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    sign_in: SignInArgs,
    #[command(flatten)]
    certificate: CertificateArg,
    /// Also grant the password writeback roles (when the password reset service is in the tenant).
    #[arg(long)]
    password_writeback: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    #[command(flatten)]
    sign_in: SignInArgs,
    #[command(flatten)]
    certificate: CertificateArg,
    /// Bring Your Own Application: its application (client) id.
    #[arg(long, value_name = "APPID", requires = "certificate_sha256")]
    application_app_id: Option<String>,
    #[command(flatten)]
    connection: ConnectionArgs,
}

/// What `app register`/`app link` print: enough to find the objects again.
#[derive(Serialize)]
struct Outcome {
    credential_type: &'static str,
    tenant_id: String,
    app_id: String,
    service_principal_id: String,
    certificate_sha256: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    duplicates: Vec<String>,
}

fn human(outcome: &Outcome) -> String {
    let mut rows = vec![
        ("ConnectorIdentityType", outcome.credential_type.to_string()),
        ("TenantId", outcome.tenant_id.clone()),
        ("ApplicationId", outcome.app_id.clone()),
        ("ServicePrincipalId", outcome.service_principal_id.clone()),
        ("CertificateSHA256Hash", outcome.certificate_sha256.clone()),
    ];
    if !outcome.duplicates.is_empty() {
        rows.push((
            "OtherApplicationsForThisHost",
            outcome.duplicates.join(", "),
        ));
    }
    fields(&rows)
}

pub fn run(command: AppCommand, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    match command {
        AppCommand::Register(args) => {
            let request = args.sign_in.request(&args.connection, server)?;
            let source = match args.certificate.certificate_sha256 {
                Some(hash) => CertificateSource::Existing(hash),
                None => CertificateSource::Managed,
            };
            let registration = run_operation(server, async |server, progress| {
                register(server, &request, &source, args.password_writeback, progress).await
            })?;
            out.show(
                &Outcome {
                    credential_type: server.credential()?.identity_type().as_str(),
                    tenant_id: registration.tenant_id,
                    app_id: registration.application.app_id,
                    service_principal_id: registration.service_principal_id,
                    certificate_sha256: registration.certificate.sha256.to_string(),
                    duplicates: registration.duplicates,
                },
                human,
            )
        }
        AppCommand::Link(args) => {
            let request = args.sign_in.request(&args.connection, server)?;
            let choice = match (args.application_app_id, args.certificate.certificate_sha256) {
                (Some(app_id), Some(certificate)) => LinkChoice::Existing {
                    app_id,
                    certificate,
                },
                _ => LinkChoice::Registered,
            };
            let credential = run_operation(server, async |server, progress| {
                link(server, &request, &choice, progress).await
            })?;
            out.show(
                &Outcome {
                    credential_type: "Application",
                    tenant_id: credential.tenant_id,
                    app_id: credential.application_id,
                    service_principal_id: credential.service_principal_id,
                    certificate_sha256: credential.certificate_sha256.to_string(),
                    duplicates: Vec::new(),
                },
                human,
            )
        }
    }
}
