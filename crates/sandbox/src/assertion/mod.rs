//! Verification of JWTs signed by an application's certificate: the client
//! assertion at the token endpoint and the proof of possession for addKey and
//! removeKey. The key is chosen by the header's `x5t#S256` or `x5t` among the
//! application's current keys; jsonwebtoken checks the signature, `aud`, `iss`
//! and `sub`; the time rules (exp strictly in the future, nbf with five minutes
//! of skew, bounded lifetime) are checked here because they differ per side.

use super::directory::KeyCredential;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use std::time::Instant;
use time::OffsetDateTime;

/// Clock skew allowed on `nbf`.
pub(crate) const NBF_SKEW_SECONDS: i64 = 300;

/// What a JWT must say to be accepted.
pub(crate) struct Expected<'a> {
    pub audiences: &'a [String],
    pub issuer: &'a str,
    /// `sub` must equal this (client assertions); None for proofs.
    pub subject: Option<&'a str>,
    /// The longest `exp - nbf` accepted (proofs: 10 minutes).
    pub max_lifetime: Option<i64>,
    pub require_jti: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct VerifiedClaims {
    pub exp: i64,
    pub nbf: Option<i64>,
    pub jti: Option<String>,
}

/// The claims as sent: NumericDate may carry fractions (MSAL for Python sends them).
#[derive(Deserialize)]
struct RawClaims {
    exp: f64,
    #[serde(default)]
    nbf: Option<f64>,
    #[serde(default)]
    jti: Option<String>,
    /// Read only to refuse a list: RFC 7519 makes `iss` one string, and
    /// jsonwebtoken accepts a list that holds the expected issuer.
    #[serde(default, rename = "iss")]
    _iss: Option<String>,
}

/// Why a JWT was refused; the token endpoint and Graph map these to their codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum AssertionError {
    #[error("the JWT is malformed: {0}")]
    Malformed(String),
    #[error("the algorithm {0} is not accepted (PS256 or RS256)")]
    Algorithm(String),
    #[error("the JWT header names no certificate (x5t#S256 or x5t)")]
    NoThumbprint,
    #[error("the key was not found; thumbprint of key used by client: '{0}'")]
    KeyNotFound(String),
    #[error("the key '{0}' is registered but not valid now (outside its start and end dates)")]
    KeyNotCurrent(String),
    #[error("the signature is invalid")]
    Signature,
    #[error("the audience claim is not {0}")]
    Audience(String),
    #[error("the issuer claim is not {0}")]
    Issuer(String),
    #[error("the subject claim is not {0}")]
    Subject(String),
    #[error("the claim '{0}' is missing")]
    MissingClaim(String),
    #[error("the JWT expired at {0}")]
    Expired(i64),
    #[error("the JWT is not valid before {0}")]
    NotYetValid(i64),
    #[error("the JWT lifetime exceeds {0} seconds")]
    Lifetime(i64),
}

/// Verifies `jwt` against `keys` (all of the application's keys; only current
/// ones are used) and the expectations.
pub(crate) fn verify(
    jwt: &str,
    keys: &[KeyCredential],
    expected: &Expected<'_>,
    now: OffsetDateTime,
    instant: Instant,
) -> Result<VerifiedClaims, AssertionError> {
    let header =
        jsonwebtoken::decode_header(jwt).map_err(|e| AssertionError::Malformed(e.to_string()))?;
    if !matches!(header.alg, Algorithm::PS256 | Algorithm::RS256) {
        return Err(AssertionError::Algorithm(format!("{:?}", header.alg)));
    }
    // (uppercase hex thumbprint, whether it is SHA-256 rather than SHA-1)
    let (thumbprint, sha256) = match (&header.x5t_s256, &header.x5t) {
        (Some(s256), _) => (decode_thumbprint(s256, "x5t#S256")?, true),
        (None, Some(x5t)) => (decode_thumbprint(x5t, "x5t")?, false),
        (None, None) => return Err(AssertionError::NoThumbprint),
    };
    let matches = |k: &KeyCredential| {
        if sha256 {
            k.certificate.sha256.as_str() == thumbprint
        } else {
            k.certificate.thumbprint == thumbprint
        }
    };
    let candidates: Vec<&KeyCredential> = keys.iter().filter(|k| matches(k)).collect();
    let key = match candidates.iter().find(|k| k.is_current(now, instant)) {
        Some(key) => key,
        None if candidates.iter().any(|k| instant >= k.visible_from) => {
            return Err(AssertionError::KeyNotCurrent(thumbprint));
        }
        None => return Err(AssertionError::KeyNotFound(thumbprint)),
    };

    let mut validation = Validation::new(header.alg);
    validation.algorithms = vec![header.alg];
    // jsonwebtoken compares `sub` only when it is required: without this, an
    // assertion with no `sub` (or one that is not a string) would pass.
    let mut required = vec!["exp", "aud", "iss"];
    if expected.subject.is_some() {
        required.push("sub");
    }
    validation.set_required_spec_claims(&required);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.set_audience(expected.audiences);
    validation.set_issuer(&[expected.issuer]);
    validation.sub = expected.subject.map(str::to_string);
    let decoding = DecodingKey::from_rsa_der(&key.certificate.rsa_public_key);
    let raw = jsonwebtoken::decode::<RawClaims>(jwt, &decoding, &validation)
        .map_err(|e| match e.kind() {
            ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) => AssertionError::Signature,
            ErrorKind::InvalidAudience => AssertionError::Audience(expected.audiences.join(" or ")),
            ErrorKind::InvalidIssuer => AssertionError::Issuer(expected.issuer.to_string()),
            ErrorKind::InvalidSubject => {
                AssertionError::Subject(expected.subject.unwrap_or_default().to_string())
            }
            ErrorKind::MissingRequiredClaim(claim) => AssertionError::MissingClaim(claim.clone()),
            _ => AssertionError::Malformed(e.to_string()),
        })?
        .claims;
    // Whole seconds, rounded so that a fraction never lengthens validity.
    let claims = VerifiedClaims {
        exp: raw.exp.floor() as i64,
        nbf: raw.nbf.map(|n| n.ceil() as i64),
        jti: raw.jti,
    };

    let now_unix = now.unix_timestamp();
    if claims.exp <= now_unix {
        return Err(AssertionError::Expired(claims.exp));
    }
    if let Some(nbf) = claims.nbf
        && nbf > now_unix + NBF_SKEW_SECONDS
    {
        return Err(AssertionError::NotYetValid(nbf));
    }
    if let Some(max) = expected.max_lifetime {
        let start = claims
            .nbf
            .ok_or_else(|| AssertionError::MissingClaim("nbf".into()))?;
        // Saturating: an nbf far in the past (-1e300 reads as i64::MIN) must
        // not wrap around into a short lifetime.
        if claims.exp.saturating_sub(start) > max {
            return Err(AssertionError::Lifetime(max));
        }
    }
    if expected.require_jti && claims.jti.as_deref().is_none_or(str::is_empty) {
        return Err(AssertionError::MissingClaim("jti".into()));
    }
    Ok(claims)
}

fn decode_thumbprint(value: &str, name: &str) -> Result<String, AssertionError> {
    URL_SAFE_NO_PAD
        .decode(value.trim_end_matches('='))
        .map(hex::encode_upper)
        .map_err(|_| AssertionError::Malformed(format!("{name} is not base64url")))
}

#[cfg(test)]
mod tests;
