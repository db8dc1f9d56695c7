//! "View or export current configuration": what the connector signs in with.

use super::{EngineError, LocalServer};
use crate::domain::{ConnectorCredential, ConnectorIdentityType, ManagedBy, StoreKind};
use crate::keys::{CertificateInfo, KeyError};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct ConfigurationReport {
    pub identity_type: ConnectorIdentityType,
    pub installation_id: String,
    pub service_account: Option<String>,
    pub tenant_id: Option<String>,
    pub application_id: Option<String>,
    pub service_principal_id: Option<String>,
    pub application_managed_by: Option<ManagedBy>,
    pub certificate: Option<CertificateSection>,
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
        tenant_id: None,
        application_id: None,
        service_principal_id: None,
        application_managed_by: None,
        certificate: None,
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
