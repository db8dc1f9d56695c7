//! Creating, importing and deleting certificates in the local key store.

use super::operation::{CertificateSummary, Change, StepId};
use super::{EngineError, LocalServer, PlannedStep};
use crate::domain::{
    CertificateHash, ConnectorCredential, EventId, EventLevel, NextCommand, StoreKind,
};
use crate::entra::graph::{Application, KeyCredential};
use crate::host::events;
use crate::keys::{KeyError, KeyMaterial, KeyStore, StoreChoice, StoredCertificate};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// A local change as a one-step plan, for `--dry-run`.
fn local_change(name: &'static str, title: &'static str, change: Change) -> Vec<PlannedStep> {
    vec![StepId { name, title }.planned(change, true)]
}

/// What creating a key and certificate does (also the certificate step of
/// Managed onboarding and rotation), saying where the key will live. A
/// `--store tpm` with no TPM is refused here, before anything changes.
pub(super) fn new_certificate_change(
    server: &LocalServer,
    choice: StoreChoice,
    days: u32,
) -> Result<Change, EngineError> {
    Ok(Change::NewCertificate {
        days,
        placement: server.key_store_for(choice)?.placement()?,
    })
}

pub fn plan_create_certificate(
    server: &LocalServer,
    choice: StoreChoice,
    days: u32,
) -> Result<Vec<PlannedStep>, EngineError> {
    Ok(local_change(
        "create-certificate",
        "Create a key and certificate",
        new_certificate_change(server, choice, days)?,
    ))
}

pub fn plan_import_certificate(material: &KeyMaterial) -> Vec<PlannedStep> {
    local_change(
        "import-certificate",
        "Import a certificate and its key",
        Change::ImportCertificate {
            certificate: CertificateSummary::of(&material.certificate),
        },
    )
}

/// Checks a certificate can be deleted (it exists and the connector does not
/// sign in with it), and says what deleting it does.
pub fn plan_delete_certificate(
    server: &LocalServer,
    hash: &CertificateHash,
) -> Result<Vec<PlannedStep>, EngineError> {
    if let ConnectorCredential::Application(app) = server.credential()?
        && &app.certificate_sha256 == hash
    {
        return Err(EngineError::CertificateInUse(hash.clone()));
    }
    let stored = server.certificate(hash)?;
    Ok(local_change(
        "delete-certificate",
        "Delete a certificate and its key",
        Change::DeleteCertificate {
            sha256: hash.clone(),
            subject: stored.info.subject,
            store: stored.store.as_str().to_string(),
        },
    ))
}

pub fn create_certificate(
    server: &mut LocalServer,
    choice: StoreChoice,
    days: u32,
) -> Result<StoredCertificate, EngineError> {
    server.changing("cert new", |server| {
        let created = server.key_store_for(choice)?.create(days)?;
        record_new_key(server, &created, EventId::CERTIFICATE_CREATED, "Created")?;
        Ok(created)
    })
}

pub fn import_certificate(
    server: &mut LocalServer,
    material: KeyMaterial,
) -> Result<StoredCertificate, EngineError> {
    server.changing("cert import", |server| {
        let imported = server.key_store()?.import(material)?;
        record_new_key(server, &imported, EventId::CERTIFICATE_IMPORTED, "Imported")?;
        Ok(imported)
    })
}

/// Writes the information event for a new key and, when the key is not in a
/// TPM, warning 1014, once for the operation.
fn record_new_key(
    server: &mut LocalServer,
    certificate: &StoredCertificate,
    id: EventId,
    verb: &str,
) -> Result<(), EngineError> {
    let hash = &certificate.info.sha256;
    let message = format!(
        "{verb} certificate {hash} ({}, valid until {}) in the {} key store.",
        certificate.info.subject,
        crate::domain::format_time(certificate.info.not_after),
        certificate.store.as_str()
    );
    let in_software = certificate.store == StoreKind::Software;
    let warning = software_key_warning(server, hash);
    server.db.write(|tx| {
        events::record(tx, EventLevel::Information, id, &message)?;
        if in_software {
            events::record(tx, EventLevel::Warning, EventId::KEY_NOT_IN_TPM, &warning)?;
        }
        Ok(())
    })?;
    Ok(())
}

/// Deletes a certificate and its key, unless the connector signs in with it.
pub fn delete_certificate(
    server: &mut LocalServer,
    hash: &CertificateHash,
) -> Result<(), EngineError> {
    server.changing("cert delete", |server| {
        plan_delete_certificate(server, hash)?;
        server.key_store()?.delete(hash)?;
        let message = format!("Deleted certificate {hash} and its private key.");
        server.db.write(|tx| {
            events::record(
                tx,
                EventLevel::Information,
                EventId::CERTIFICATE_DELETED,
                &message,
            )
        })?;
        Ok(())
    })
}

/// The text of warning 1014 for a key in the software store, with what the
/// TPM said.
pub(super) fn software_key_warning(server: &LocalServer, hash: &CertificateHash) -> String {
    let tpm = match server.tpm().probe() {
        Ok(info) => format!(
            "A TPM answers at {}: `{}` replaces the connector's key with one inside it.",
            info.tcti,
            NextCommand::RotateIntoTpm.command_line()
        ),
        Err(unavailable) => format!("{unavailable}."),
    };
    format!(
        "The private key of certificate {hash} is not protected by a TPM: it is a file in {}. Keep that directory owner-only and back it up securely. {tpm}",
        server.state_dir().join("keys").display()
    )
}

/// The certificate by hash, refused (saying why) unless it can sign in now.
pub(super) fn usable_certificate(
    server: &LocalServer,
    hash: &CertificateHash,
) -> Result<StoredCertificate, EngineError> {
    let stored = server.certificate(hash)?;
    if let Some(problem) = stored.info.problem(server.now()) {
        return Err(KeyError::Unusable {
            hash: hash.clone(),
            problem,
        }
        .into());
    }
    if !stored.has_private_key {
        return Err(KeyError::PrivateKeyMissing(hash.clone()).into());
    }
    Ok(stored)
}

/// Whether `application` lists the certificate among its keys (Graph names a
/// key by the certificate's SHA-1 thumbprint, as Edm.Binary).
pub(super) fn has_certificate(application: &Application, certificate: &StoredCertificate) -> bool {
    let thumbprint = certificate.info.thumbprint.as_str();
    application
        .key_credentials
        .iter()
        .any(|key| key_has_thumbprint(key, thumbprint))
}

/// Whether `key`'s `customKeyIdentifier` is the SHA-1 thumbprint (hex) given:
/// as Graph's base64 of its bytes, or as hex.
pub(super) fn key_has_thumbprint(key: &KeyCredential, thumbprint_hex: &str) -> bool {
    key.custom_key_identifier.as_deref().is_some_and(|id| {
        id.eq_ignore_ascii_case(thumbprint_hex)
            || STANDARD
                .decode(id)
                .is_ok_and(|raw| hex::encode_upper(raw).eq_ignore_ascii_case(thumbprint_hex))
    })
}

/// The key credential Graph takes for a certificate. Graph keeps the
/// `customKeyIdentifier` sent; the thumbprint is how keys are recognised.
pub(super) fn key_credential(certificate: &StoredCertificate) -> KeyCredential {
    let thumbprint = hex::decode(&certificate.info.thumbprint).unwrap_or_default();
    KeyCredential {
        key_id: None,
        kind: "AsymmetricX509Cert".into(),
        usage: "Verify".into(),
        key: Some(STANDARD.encode(&certificate.info.der)),
        display_name: Some(certificate.info.subject.clone()),
        custom_key_identifier: Some(STANDARD.encode(thumbprint)),
        start_date_time: None,
        end_date_time: None,
    }
}
