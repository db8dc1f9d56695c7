//! What a client sends to create or change an application, checked: the
//! request body and the keyCredentials built from it, as Graph validates them.

use crate::certificate::Certificate;
use crate::directory::{KeyCredential, new_id};
use crate::errors::GraphError;
use crate::graph::schema;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;
use std::time::Instant;
use time::OffsetDateTime;

/// An application as a client writes it: the properties the sandbox models
/// (see `schema::APPLICATION`), and the other documented ones as sent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct ApplicationBody {
    pub(super) unique_name: Option<String>,
    pub(super) display_name: Option<String>,
    pub(super) sign_in_audience: Option<String>,
    pub(super) key_credentials: Option<Vec<KeyCredentialInput>>,
    pub(super) required_resource_access: Option<Vec<RequiredResourceAccess>>,
    password_credentials: Option<Vec<serde_json::Value>>,
    #[serde(skip)]
    pub(super) kept: serde_json::Map<String, serde_json::Value>,
}

impl ApplicationBody {
    /// Reads a request body as Graph does (annotations ignored, undeclared
    /// properties refused).
    pub(super) fn read(bytes: &[u8]) -> Result<ApplicationBody, GraphError> {
        let read = schema::read_body(bytes, &schema::APPLICATION)?;
        let mut body: ApplicationBody = read.typed()?;
        // Passwords are added with addPassword, never written with the
        // application (graph/api/application-post-applications, -update).
        if body
            .password_credentials
            .take()
            .is_some_and(|p| !p.is_empty())
        {
            return Err(GraphError::bad_request(
                "Property 'passwordCredentials' cannot be written with the application: add a password with addPassword. The sandbox supports certificate credentials only.",
            ));
        }
        body.kept = read.kept;
        Ok(body)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct KeyCredentialInput {
    pub(super) key_id: Option<String>,
    pub(super) key: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    usage: Option<String>,
    display_name: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
    custom_key_identifier: Option<String>,
}

#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(super) struct RequiredResourceAccess {
    resource_app_id: String,
    resource_access: Vec<ResourceAccess>,
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct ResourceAccess {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

const SIGN_IN_AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

pub(super) fn validate_audience(audience: &str) -> Result<(), GraphError> {
    if SIGN_IN_AUDIENCES.contains(&audience) {
        Ok(())
    } else {
        Err(GraphError::bad_request(format!(
            "Invalid value specified for property 'signInAudience' of resource 'Application': {audience}"
        )))
    }
}

pub(super) fn resource_access_json(
    entries: Vec<RequiredResourceAccess>,
) -> Result<Vec<serde_json::Value>, GraphError> {
    for entry in &entries {
        if uuid::Uuid::parse_str(&entry.resource_app_id).is_err() {
            return Err(GraphError::bad_request(format!(
                "Invalid value specified for property 'resourceAppId': {}",
                entry.resource_app_id
            )));
        }
        for access in &entry.resource_access {
            if uuid::Uuid::parse_str(&access.id).is_err()
                || !matches!(access.kind.as_str(), "Role" | "Scope")
            {
                return Err(GraphError::bad_request(
                    "Invalid value specified for property 'resourceAccess' of resource 'RequiredResourceAccess'.",
                ));
            }
        }
    }
    entries
        .into_iter()
        .map(|e| serde_json::to_value(e).map_err(|e| GraphError::bad_request(e.to_string())))
        .collect()
}

fn parse_date(text: Option<&str>, property: &str) -> Result<Option<OffsetDateTime>, GraphError> {
    text.map(|t| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_err(|_| {
            GraphError::bad_request(format!(
                "Invalid value specified for property '{property}' of resource 'KeyCredential'."
            ))
        })
    })
    .transpose()
}

/// A keyCredential from its Graph form. An entry without `key` keeps the
/// existing key with that keyId (as Graph's GET may omit it).
pub(super) fn build_key(
    input: KeyCredentialInput,
    existing: &[KeyCredential],
    visible_from: Instant,
) -> Result<KeyCredential, GraphError> {
    let Some(key) = input.key.filter(|k| !k.is_empty()) else {
        let key_id = input.key_id.unwrap_or_default();
        return existing
            .iter()
            .find(|k| k.key_id.eq_ignore_ascii_case(&key_id))
            .cloned()
            .ok_or_else(|| {
                GraphError::bad_request("Property 'key' is required for a new key credential.")
            });
    };
    if input.kind.as_deref() != Some("AsymmetricX509Cert") {
        return Err(GraphError::bad_request(
            "Invalid value specified for property 'type' of resource 'KeyCredential'; only AsymmetricX509Cert is supported.",
        ));
    }
    if input.usage.as_deref() != Some("Verify") {
        return Err(GraphError::bad_request(
            "Invalid value specified for property 'usage' of resource 'KeyCredential'; a certificate credential has usage Verify.",
        ));
    }
    let der = STANDARD.decode(key.trim()).map_err(|_| {
        GraphError::bad_request("Property 'key' of resource 'KeyCredential' is not valid base64.")
    })?;
    let certificate = Certificate::from_der(&der).map_err(|e| {
        GraphError::bad_request(format!(
            "Key credential 'key' is not a valid X.509 certificate: {e}"
        ))
    })?;
    if certificate.key_algorithm != "RSA" {
        return Err(GraphError::bad_request(
            "Key credential 'key' must hold an RSA public key.",
        ));
    }
    let start = parse_date(input.start_date_time.as_deref(), "startDateTime")?
        .unwrap_or(certificate.not_before);
    let end =
        parse_date(input.end_date_time.as_deref(), "endDateTime")?.unwrap_or(certificate.not_after);
    let slack = time::Duration::seconds(1);
    if end <= start {
        return Err(GraphError::bad_request(
            "Key credential end date must be after its start date.",
        ));
    }
    if end > certificate.not_after + slack || start + slack < certificate.not_before {
        return Err(GraphError::bad_request(
            "Key credential start and end dates must lie within the certificate's validity period.",
        ));
    }
    let custom_key_identifier = match input.custom_key_identifier.as_deref() {
        Some(sent) => decode_binary(sent).ok_or_else(|| {
            GraphError::bad_request(
                "Invalid value specified for property 'customKeyIdentifier' of resource 'KeyCredential'.",
            )
        })?,
        // Graph's default: the certificate's SHA-1 thumbprint.
        None => hex::decode(&certificate.thumbprint).unwrap_or_default(),
    };
    let key_id = match input.key_id {
        Some(id) => uuid::Uuid::parse_str(&id)
            .map_err(|_| GraphError::bad_request("Invalid value specified for property 'keyId'."))?
            .to_string(),
        None => new_id(),
    };
    // A resubmitted existing key keeps its replication time.
    let visible_from = existing
        .iter()
        .find(|k| k.key_id == key_id && k.certificate.der == certificate.der)
        .map_or(visible_from, |k| k.visible_from);
    Ok(KeyCredential {
        key_id,
        display_name: input.display_name,
        custom_key_identifier,
        certificate,
        start,
        end,
        visible_from,
    })
}

pub(super) fn build_keys(
    inputs: Vec<KeyCredentialInput>,
    existing: &[KeyCredential],
    visible_from: Instant,
) -> Result<Vec<KeyCredential>, GraphError> {
    let keys = inputs
        .into_iter()
        .map(|input| build_key(input, existing, visible_from))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, key) in keys.iter().enumerate() {
        for other in &keys[i + 1..] {
            if key.key_id == other.key_id || key.certificate.der == other.certificate.der {
                return Err(GraphError::bad_request(
                    "Key credentials must be unique: two entries have the same keyId or the same certificate.",
                ));
            }
        }
    }
    Ok(keys)
}

/// An Edm.Binary value as JSON carries it: base64 (base64url accepted too).
fn decode_binary(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()
}
