//! The connector credential row.

use super::{column, format_time, parse_time};
use crate::domain::{
    ApplicationCredential, CertificateHash, ConnectorCredential, ServiceAccountCredential,
};
use rusqlite::{Connection, Row, params};

pub fn load(conn: &Connection) -> rusqlite::Result<ConnectorCredential> {
    conn.query_row(
        "SELECT identity_type, service_account_upn, tenant_id, application_id,
                service_principal_id, certificate_sha256, key_store,
                application_managed_by, certificate_managed_by, configured_at
         FROM connector_credential WHERE id = 1",
        [],
        from_row,
    )
}

fn from_row(row: &Row) -> rusqlite::Result<ConnectorCredential> {
    let identity_type: String = row.get(0)?;
    let configured_at = column(9, &row.get::<_, String>(9)?, parse_time)?;
    Ok(match identity_type.as_str() {
        "ServiceAccount" => ConnectorCredential::ServiceAccount(ServiceAccountCredential {
            user_principal_name: row.get(1)?,
            configured_at,
        }),
        "Application" => ConnectorCredential::Application(ApplicationCredential {
            tenant_id: row.get(2)?,
            application_id: row.get(3)?,
            service_principal_id: row.get(4)?,
            certificate_sha256: column(5, &row.get::<_, String>(5)?, |s| {
                s.parse::<CertificateHash>().map_err(|e| e.to_string())
            })?,
            key_store: column(6, &row.get::<_, String>(6)?, str::parse)?,
            application_managed_by: column(7, &row.get::<_, String>(7)?, str::parse)?,
            certificate_managed_by: column(8, &row.get::<_, String>(8)?, str::parse)?,
            configured_at,
        }),
        _ => ConnectorCredential::None,
    })
}

/// Replaces the credential; call inside [`super::StateDb::write`].
pub fn save(conn: &Connection, credential: &ConnectorCredential) -> rusqlite::Result<()> {
    let identity_type = credential.identity_type().as_str();
    match credential {
        ConnectorCredential::None => conn.execute(
            "UPDATE connector_credential SET identity_type = ?1,
                service_account_upn = NULL, tenant_id = NULL, application_id = NULL,
                service_principal_id = NULL, certificate_sha256 = NULL, key_store = NULL,
                application_managed_by = NULL, certificate_managed_by = NULL,
                configured_at = ?2 WHERE id = 1",
            params![identity_type, format_time(time::OffsetDateTime::now_utc())],
        ),
        ConnectorCredential::ServiceAccount(account) => conn.execute(
            "UPDATE connector_credential SET identity_type = ?1,
                service_account_upn = ?2, tenant_id = NULL, application_id = NULL,
                service_principal_id = NULL, certificate_sha256 = NULL, key_store = NULL,
                application_managed_by = NULL, certificate_managed_by = NULL,
                configured_at = ?3 WHERE id = 1",
            params![
                identity_type,
                account.user_principal_name,
                format_time(account.configured_at)
            ],
        ),
        ConnectorCredential::Application(app) => conn.execute(
            "UPDATE connector_credential SET identity_type = ?1,
                service_account_upn = NULL, tenant_id = ?2, application_id = ?3,
                service_principal_id = ?4, certificate_sha256 = ?5, key_store = ?6,
                application_managed_by = ?7, certificate_managed_by = ?8,
                configured_at = ?9 WHERE id = 1",
            params![
                identity_type,
                app.tenant_id,
                app.application_id,
                app.service_principal_id,
                app.certificate_sha256.as_str(),
                app.key_store.as_str(),
                app.application_managed_by.as_str(),
                app.certificate_managed_by.as_str(),
                format_time(app.configured_at)
            ],
        ),
    }
    .map(|_| ())
}
