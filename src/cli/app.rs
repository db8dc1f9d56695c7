//! `app register` and `app link` (Add-EntraApplicationRegistration,
//! Add-ADSyncApplicationRegistration).

use super::connection::{CertificateArg, ConnectionArgs, DryRunArg, Invocation, SignInArgs};
use super::output::{Output, fields};
use crate::domain::{AppId, ApplicationCredential};
use crate::engine::link::{Link, LinkChoice};
use crate::engine::register::{CertificateSource, Register, Registration};
use crate::engine::{LocalServer, OperationRequest, Outcome};
use clap::{Args, Subcommand};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register this server's application in Entra (Managed, or BYOC with --certificate-sha256).
    Register(Box<RegisterArgs>),
    /// Make an application the connector's credential (the one registered, or BYOA with --application-app-id).
    Link(Box<LinkArgs>),
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
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    #[command(flatten)]
    sign_in: SignInArgs,
    #[command(flatten)]
    certificate: CertificateArg,
    /// Bring Your Own Application: its application (client) id.
    #[arg(long, value_name = "APPID", requires = "certificate_sha256")]
    application_app_id: Option<AppId>,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

/// What `app register`/`app link` print: enough to find the objects again.
#[derive(Serialize)]
struct Printed {
    credential_type: &'static str,
    tenant_id: String,
    app_id: String,
    service_principal_id: String,
    certificate_sha256: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    duplicates: Vec<String>,
}

impl Printed {
    fn registered(registration: Registration, credential_type: &'static str) -> Printed {
        Printed {
            credential_type,
            tenant_id: registration.tenant_id,
            app_id: registration.application.app_id,
            service_principal_id: registration.service_principal_id,
            certificate_sha256: registration.certificate.sha256.to_string(),
            duplicates: registration.duplicates,
        }
    }

    fn linked(credential: ApplicationCredential) -> Printed {
        Printed {
            credential_type: "Application",
            tenant_id: credential.tenant_id,
            app_id: credential.application_id,
            service_principal_id: credential.service_principal_id,
            certificate_sha256: credential.certificate_sha256.to_string(),
            duplicates: Vec::new(),
        }
    }
}

fn human(printed: &Printed) -> String {
    let mut rows = vec![
        ("ConnectorIdentityType", printed.credential_type.to_string()),
        ("TenantId", printed.tenant_id.clone()),
        ("ApplicationId", printed.app_id.clone()),
        ("ServicePrincipalId", printed.service_principal_id.clone()),
        ("CertificateSHA256Hash", printed.certificate_sha256.clone()),
    ];
    if !printed.duplicates.is_empty() {
        rows.push((
            "OtherApplicationsForThisHost",
            printed.duplicates.join(", "),
        ));
    }
    fields(&rows)
}

pub fn run(command: AppCommand, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let (invocation, request, dry_run) = match command {
        AppCommand::Register(args) => {
            let certificate = match args.certificate.certificate_sha256 {
                Some(hash) => CertificateSource::Existing(hash),
                None => CertificateSource::Managed,
            };
            let request = OperationRequest::Register(Register {
                certificate,
                password_writeback: args.password_writeback,
            });
            let invocation = Invocation::new(&args.connection, &args.sign_in);
            (invocation, request, args.dry_run)
        }
        AppCommand::Link(args) => {
            let choice = match (args.application_app_id, args.certificate.certificate_sha256) {
                (Some(app_id), Some(certificate)) => LinkChoice::Existing {
                    app_id,
                    certificate,
                },
                _ => LinkChoice::Registered,
            };
            let request = OperationRequest::Link(Link { choice });
            let invocation = Invocation::new(&args.connection, &args.sign_in);
            (invocation, request, args.dry_run)
        }
    };
    let printed = match invocation.perform(server, request, dry_run, out)? {
        None => return Ok(()),
        Some(Outcome::Registered(registration)) => {
            let credential_type = server.credential()?.identity_type().as_str();
            Printed::registered(registration, credential_type)
        }
        Some(Outcome::Credential(credential)) => Printed::linked(credential),
    };
    out.show(&printed, human)
}
