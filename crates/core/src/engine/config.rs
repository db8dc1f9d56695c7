//! "View or export current configuration": what the connector signs in with.

use super::audit::{Audit, unattended};
use super::progress::ProgressSender;
use super::{EngineError, LocalServer};
use crate::domain::{ConnectorCredential, ConnectorIdentityType, ManagedBy, StoreKind};
use crate::entra::client::ConnectionSettings;
use crate::keys::{CertificateInfo, KeyError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ConfigurationReport {
    pub identity_type: ConnectorIdentityType,
    pub installation_id: String,
    pub service_account: Option<String>,
    /// The legacy account kept as the way back while an application is in use.
    pub rollback_service_account: Option<String>,
    pub tenant_id: Option<String>,
    pub application_id: Option<String>,
    pub service_principal_id: Option<String>,
    pub application_managed_by: Option<ManagedBy>,
    pub certificate: Option<CertificateSection>,
    /// The unattended audit: the application's keys and client secrets,
    /// each with its verdict (a secret by its hint, never its value); only
    /// when the tenant was asked ([`with_application_audit`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_audit: Option<ApplicationAudit>,
}

impl ConfigurationReport {
    /// The exported configuration, one document wherever it is written from
    /// (`config export --output`, the wizard's export): the report as
    /// indented JSON, ending with a newline.
    pub fn export_document(&self) -> Result<String, serde_json::Error> {
        Ok(serde_json::to_string_pretty(self)? + "\n")
    }
}

/// The application's keys and client secrets as the tenant holds them, with
/// the audit's verdicts, or why they were not read.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "result", rename_all = "kebab-case")]
pub enum ApplicationAudit {
    Read { audit: Audit },
    NotRead { why: String },
}

#[derive(Debug, Clone, Serialize)]
pub struct CertificateSection {
    pub managed_by: ManagedBy,
    /// Managed by this tool, with maintenance enabled and the scheduler running.
    pub automatic_rotation_enabled: bool,
    pub key_store: StoreKind,
    pub sha256_hash: String,
    /// The certificate as the key store holds it; `None` when it is missing there.
    pub details: Option<CertificateInfo>,
}

pub fn configuration(server: &LocalServer) -> Result<ConfigurationReport, EngineError> {
    let credential = server.credential()?;
    let mut report = ConfigurationReport {
        identity_type: credential.identity_type(),
        installation_id: server.installation_id()?,
        service_account: None,
        rollback_service_account: server.way_back()?,
        tenant_id: None,
        application_id: None,
        service_principal_id: None,
        application_managed_by: None,
        certificate: None,
        application_audit: None,
    };
    match credential {
        ConnectorCredential::None => {}
        ConnectorCredential::ServiceAccount(account) => {
            report.service_account = Some(account.user_principal_name);
        }
        ConnectorCredential::Application(app) => {
            let details = match server.certificate(&app.certificate_sha256) {
                Ok(stored) => Some(stored.info),
                Err(EngineError::Key(KeyError::NotFound(_))) => None,
                Err(other) => return Err(other),
            };
            let scheduler = server.scheduler()?;
            report.certificate = Some(CertificateSection {
                managed_by: app.certificate_managed_by,
                automatic_rotation_enabled: app.certificate_managed_by == ManagedBy::EntraConnect
                    && scheduler.maintenance_enabled
                    && !scheduler.scheduler_suspended,
                key_store: app.key_store,
                sha256_hash: app.certificate_sha256.to_string(),
                details,
            });
            report.tenant_id = Some(app.tenant_id);
            report.application_id = Some(app.application_id);
            report.service_principal_id = Some(app.service_principal_id);
            report.application_managed_by = Some(app.application_managed_by);
        }
    }
    Ok(report)
}

/// [`configuration`] with the unattended audit (the application's own read
/// of its keys and client secrets, as the scheduler's tick runs it); a
/// failure to read them is reported in the section, not as an error (the
/// local configuration still shows).
pub async fn with_application_audit(
    server: &LocalServer,
    connection: Result<ConnectionSettings, EngineError>,
    progress: ProgressSender,
) -> Result<ConfigurationReport, EngineError> {
    let mut report = configuration(server)?;
    if report.application_id.is_some() {
        let read = match connection {
            Ok(connection) => unattended(server, &connection, progress).await,
            Err(error) => Err(error),
        };
        report.application_audit = Some(match read {
            Ok(audit) => ApplicationAudit::Read { audit },
            Err(error) => ApplicationAudit::NotRead {
                why: error.to_string(),
            },
        });
    }
    Ok(report)
}
