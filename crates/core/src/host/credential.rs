//! The connector credential row.

use super::{Record, format_time, parse_time};
use crate::domain::{
    ApplicationCredential, CertificateHash, ConnectorCredential, ConnectorIdentityType,
    ServiceAccountCredential,
};
use rusqlite::{Connection, Row, params};

pub(crate) fn load(conn: &Connection) -> rusqlite::Result<ConnectorCredential> {
    conn.query_row(
        "SELECT identity_type, service_account_upn, tenant_id, application_id,
                service_principal_id, certificate_sha256, key_store,
                application_managed_by, certificate_managed_by, configured_at
         FROM connector_credential WHERE id = 1",
        [],
        from_row,
    )
}

/// The credential record, in messages about a value it holds.
const RECORD: Record = Record {
    name: "the connector credential",
    repairable: false,
};

/// Its application fields: a blank or unreadable one is what `credential
/// repair` rebuilds.
const APPLICATION: Record = Record {
    name: "the connector credential",
    repairable: true,
};

/// What a hash field holds.
const HASH: &str = "a certificate's SHA-256 hash (64 hexadecimal digits)";

/// An application field that must not be blank.
fn filled(row: &Row, index: usize, expected: &str) -> rusqlite::Result<String> {
    APPLICATION.column(row, index, expected, |s| match s.trim().is_empty() {
        true => Err(()),
        false => Ok(s.to_string()),
    })
}

fn from_row(row: &Row) -> rusqlite::Result<ConnectorCredential> {
    let identity_type = RECORD.column(row, 0, "None, ServiceAccount or Application", str::parse)?;
    let configured_at = RECORD.column(row, 9, "an RFC 3339 time", parse_time)?;
    let managed_by = |index| RECORD.column(row, index, "EntraConnect or Customer", str::parse);
    Ok(match identity_type {
        ConnectorIdentityType::ServiceAccount => {
            ConnectorCredential::ServiceAccount(ServiceAccountCredential {
                user_principal_name: row.get(1)?,
                configured_at,
            })
        }
        ConnectorIdentityType::Application => {
            ConnectorCredential::Application(ApplicationCredential {
                tenant_id: filled(row, 2, "the tenant id")?,
                application_id: filled(row, 3, "the application (client) id")?,
                service_principal_id: filled(row, 4, "the service principal's object id")?,
                certificate_sha256: APPLICATION.column(row, 5, HASH, str::parse)?,
                key_store: RECORD.column(row, 6, "TPM or Software", str::parse)?,
                application_managed_by: managed_by(7)?,
                certificate_managed_by: managed_by(8)?,
                configured_at,
            })
        }
        ConnectorIdentityType::None => ConnectorCredential::None,
    })
}

/// Records that the connector signs in with this certificate (its SHA-256
/// hash and SHA-1 thumbprint) on this server.
pub(crate) fn remember_certificate(
    conn: &Connection,
    sha256: &CertificateHash,
    thumbprint: &str,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT OR IGNORE INTO connector_certificates (sha256, thumbprint, first_used_at)
         VALUES (?1, ?2, ?3)",
        params![
            sha256.as_str(),
            thumbprint,
            format_time(time::OffsetDateTime::now_utc())
        ],
    )
    .map(|_| ())
}

/// Every certificate the connector has signed in with on this server, as
/// (SHA-256 hash, SHA-1 thumbprint), the deleted ones included.
pub(crate) fn remembered_certificates(
    conn: &Connection,
) -> rusqlite::Result<Vec<(CertificateHash, String)>> {
    let mut statement = conn
        .prepare("SELECT sha256, thumbprint FROM connector_certificates ORDER BY first_used_at")?;
    let record = Record {
        name: "a certificate the connector signed in with",
        repairable: false,
    };
    let rows = statement.query_map([], |row| {
        Ok((record.column(row, 0, HASH, str::parse)?, row.get(1)?))
    })?;
    rows.collect()
}

/// The legacy connector account this server signed in with, kept when it
/// moved to an application as the way back (none on a new installation).
pub(crate) fn service_account(conn: &Connection) -> rusqlite::Result<Option<String>> {
    conn.query_row(
        "SELECT service_account_upn FROM connector_credential WHERE id = 1",
        [],
        |row| row.get(0),
    )
}

/// Forgets the retained legacy account (its user was deleted); the
/// connector's application credential is untouched.
pub(crate) fn forget_service_account(conn: &Connection) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE connector_credential SET service_account_upn = NULL
         WHERE id = 1 AND identity_type = 'Application'",
        [],
    )
    .map(|_| ())
}

/// The application fields of the credential record, as text, blank ones
/// included: what `credential repair` starts from when [`load`] cannot read
/// the record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct RawApplication {
    pub tenant_id: String,
    pub application_id: String,
    pub service_principal_id: String,
    pub certificate_sha256: String,
}

impl RawApplication {
    /// The names of the fields that are blank or unreadable.
    pub(crate) fn blank_fields(&self) -> Vec<&'static str> {
        let mut blank = Vec::new();
        for (name, value) in [
            ("TenantId", &self.tenant_id),
            ("ApplicationId", &self.application_id),
            ("ServicePrincipalId", &self.service_principal_id),
        ] {
            if value.trim().is_empty() {
                blank.push(name);
            }
        }
        if self.certificate_sha256.parse::<CertificateHash>().is_err() {
            blank.push("CertificateSHA256Hash");
        }
        blank
    }
}

/// The record's identity type and its application fields as text.
pub(crate) fn raw(conn: &Connection) -> rusqlite::Result<(String, RawApplication)> {
    conn.query_row(
        "SELECT identity_type, tenant_id, application_id, service_principal_id, certificate_sha256
         FROM connector_credential WHERE id = 1",
        [],
        |row| {
            let text = |i| {
                row.get::<_, Option<String>>(i)
                    .map(Option::unwrap_or_default)
            };
            Ok((
                text(0)?,
                RawApplication {
                    tenant_id: text(1)?,
                    application_id: text(2)?,
                    service_principal_id: text(3)?,
                    certificate_sha256: text(4)?,
                },
            ))
        },
    )
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
            // The service account's name stays: it is the way back (rollback).
            "UPDATE connector_credential SET identity_type = ?1,
                tenant_id = ?2, application_id = ?3,
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
