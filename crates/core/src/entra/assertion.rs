//! JWTs signed by a certificate's key through the key store (the key never
//! leaves it): the client assertion of the client credentials grant, and the
//! proof of possession Graph's addKey/removeKey require.

use super::Secret;
use crate::keys::{CertificateInfo, KeyError, KeyStore, SigningAlgorithm};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Graph's audience for addKey/removeKey proofs (the legacy Azure AD Graph id).
pub const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";

/// Client assertions live at most this long (the platform allows 10 minutes).
const ASSERTION_LIFETIME_SECONDS: i64 = 600;

#[derive(Serialize)]
struct Header<'a> {
    alg: &'a str,
    typ: &'a str,
    #[serde(rename = "x5t#S256")]
    x5t_s256: String,
    x5t: String,
}

#[derive(Serialize)]
struct Claims<'a> {
    aud: &'a str,
    iss: &'a str,
    sub: &'a str,
    jti: String,
    nbf: i64,
    iat: i64,
    exp: i64,
}

/// The assertion for `client_id` at `token_endpoint` (its `aud`), valid for
/// ten minutes from `now`, with a fresh `jti`.
pub fn client_assertion(
    store: &dyn KeyStore,
    certificate: &CertificateInfo,
    algorithm: SigningAlgorithm,
    client_id: &str,
    token_endpoint: &str,
    now: OffsetDateTime,
) -> Result<Secret, KeyError> {
    signed(
        store,
        certificate,
        algorithm,
        token_endpoint,
        client_id,
        client_id,
        now,
    )
}

/// The proof that the caller holds a current key of the application with
/// object id `application_object_id`.
pub fn proof_of_possession(
    store: &dyn KeyStore,
    certificate: &CertificateInfo,
    application_object_id: &str,
    now: OffsetDateTime,
) -> Result<Secret, KeyError> {
    signed(
        store,
        certificate,
        SigningAlgorithm::Rs256,
        PROOF_AUDIENCE,
        application_object_id,
        application_object_id,
        now,
    )
}

fn signed(
    store: &dyn KeyStore,
    certificate: &CertificateInfo,
    algorithm: SigningAlgorithm,
    aud: &str,
    iss: &str,
    sub: &str,
    now: OffsetDateTime,
) -> Result<Secret, KeyError> {
    let header = Header {
        alg: match algorithm {
            SigningAlgorithm::Rs256 => "RS256",
            SigningAlgorithm::Ps256 => "PS256",
        },
        typ: "JWT",
        x5t_s256: URL_SAFE_NO_PAD.encode(Sha256::digest(&certificate.der)),
        x5t: URL_SAFE_NO_PAD.encode(Sha1::digest(&certificate.der)),
    };
    let issued = now.unix_timestamp();
    let claims = Claims {
        aud,
        iss,
        sub,
        jti: uuid::Uuid::new_v4().to_string(),
        nbf: issued,
        iat: issued,
        exp: issued + ASSERTION_LIFETIME_SECONDS,
    };
    let signing_input = format!("{}.{}", base64_json(&header)?, base64_json(&claims)?);
    let signature = store.sign(&certificate.sha256, algorithm, signing_input.as_bytes())?;
    Ok(Secret::new(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    )))
}

fn base64_json(value: &impl Serialize) -> Result<String, KeyError> {
    let json =
        serde_json::to_vec(value).map_err(|e| KeyError::Crypto(format!("JWT encoding: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(json))
}
