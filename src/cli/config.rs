//! `config export`: the wizard's "View or export current configuration".

use super::app::audit_table;
use super::cert::certificate_rows;
use super::connection::{ConnectionArgs, run_operation};
use super::output::{Output, fields, or_dash, yes_no};
use crate::engine::{
    ApplicationAudit, ConfigurationReport, LocalServer, configuration, with_application_audit,
};
use crate::entra::client::DEFAULT_ADMIN_CLIENT_ID;
use anyhow::Context;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Show the configuration, or write it to a file.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Write to FILE instead of stdout: always JSON, whatever FILE is named (the document the
    /// wizard's export writes; stdout stays a table unless --json).
    #[arg(long, short, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Do not ask the tenant for the application's keys and client secrets
    /// (the audit); the local configuration only.
    #[arg(long)]
    offline: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
}

pub fn run(command: ConfigCommand, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let ConfigCommand::Export(args) = command;
    let report = match args.offline {
        true => configuration(server)?,
        false => {
            let (_, settings) = args
                .connection
                .for_credential(server, DEFAULT_ADMIN_CLIENT_ID)?;
            run_operation(server, out, async |server, progress| {
                with_application_audit(server, settings, progress).await
            })?
        }
    };
    match args.output {
        None => out.show(&report, human),
        Some(path) => {
            std::fs::write(&path, report.export_document()?)
                .with_context(|| format!("cannot write the configuration to {}", path.display()))?;
            eprintln!("Configuration exported to {}.", path.display());
            Ok(())
        }
    }
}

fn human(report: &ConfigurationReport) -> String {
    let mut rows = vec![
        ("ConnectorIdentityType", report.identity_type.to_string()),
        ("InstallationId", report.installation_id.clone()),
    ];
    if let Some(account) = &report.rollback_service_account {
        rows.push(("RollbackServiceAccount", account.clone()));
    }
    if let Some(account) = &report.service_account {
        rows.push(("ServiceAccount", account.clone()));
    }
    if report.application_id.is_some() {
        rows.extend([
            ("TenantId", or_dash(report.tenant_id.as_ref())),
            ("ApplicationId", or_dash(report.application_id.as_ref())),
            (
                "ServicePrincipalId",
                or_dash(report.service_principal_id.as_ref()),
            ),
            (
                "ApplicationManagedBy",
                or_dash(report.application_managed_by.map(|m| m.as_str())),
            ),
        ]);
    }
    if let Some(certificate) = &report.certificate {
        rows.extend([
            (
                "CertificateManagedBy",
                certificate.managed_by.as_str().to_string(),
            ),
            (
                "AutomaticRotationEnabled",
                yes_no(certificate.automatic_rotation_enabled),
            ),
            ("KeyStore", certificate.key_store.as_str().to_string()),
        ]);
        match &certificate.details {
            Some(info) => rows.extend(certificate_rows(info)),
            None => rows.extend([
                ("SHA256Hash", certificate.sha256_hash.clone()),
                (
                    "Certificate",
                    "MISSING from the key store: the connector cannot sign in until the certificate is restored or rotated".to_string(),
                ),
            ]),
        }
    }
    let mut text = fields(&rows);
    match &report.application_audit {
        None => {}
        Some(ApplicationAudit::Read { audit }) => {
            text.push_str("\nApplication keys and client secrets (read from the tenant; audit):\n");
            text.push_str(&audit_table(audit));
        }
        Some(ApplicationAudit::NotRead { why }) => {
            text.push_str(&format!(
                "\nApplication keys and client secrets: not read ({why})\n"
            ));
        }
    }
    text
}
