//! The sandbox's own signing key, the access tokens it issues with it, and the
//! validation Graph applies to them.

use super::SandboxError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// Access token lifetime, as the platform's default.
pub(crate) const ACCESS_TOKEN_SECONDS: i64 = 3599;

pub(crate) struct TokenSigner {
    encoding: EncodingKey,
    decoding: DecodingKey,
    kid: String,
    jwk: serde_json::Value,
}

/// What the sandbox puts in an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct AccessClaims {
    pub aud: String,
    pub iss: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub tid: String,
    pub oid: String,
    pub sub: String,
    pub azp: String,
    pub appid: String,
    /// "app" for client credentials, "user" for delegated tokens.
    pub idtyp: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wids: Vec<String>,
    pub uti: String,
    pub ver: String,
}

/// The signing key and its certificate, as a tenant with a data directory
/// keeps them, so that tokens it issued stay valid and its JWKS the same
/// across restarts.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SigningKeys {
    /// PKCS#8 PEM.
    key: String,
    /// The self-signed certificate published in JWKS, DER in base64.
    certificate: String,
}

impl SigningKeys {
    /// A fresh RSA 2048 key with a self-signed certificate.
    pub(crate) fn generate() -> Result<Self, SandboxError> {
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .map_err(|e| SandboxError::Crypto(format!("RSA key generation: {e}")))?;
        let certificate = crate::certificate::self_signed(&key, 365)
            .map_err(|e| SandboxError::Crypto(e.to_string()))?;
        Ok(SigningKeys {
            key: key.serialize_pem(),
            certificate: base64::engine::general_purpose::STANDARD.encode(certificate),
        })
    }
}

impl TokenSigner {
    /// The signer of `keys`, published in JWKS with their certificate.
    pub(crate) fn new(keys: &SigningKeys) -> Result<Self, SandboxError> {
        let certificate = base64::engine::general_purpose::STANDARD
            .decode(&keys.certificate)
            .map_err(|e| SandboxError::Crypto(format!("signing certificate: {e}")))?;
        let (modulus, exponent) = rsa_components(&certificate)?;
        let kid = URL_SAFE_NO_PAD.encode(Sha256::digest(&certificate));
        let encoding = EncodingKey::from_rsa_pem(keys.key.as_bytes())
            .map_err(|e| SandboxError::Crypto(format!("signing key: {e}")))?;
        let decoding = DecodingKey::from_rsa_components(&modulus, &exponent)
            .map_err(|e| SandboxError::Crypto(format!("verification key: {e}")))?;
        let jwk = serde_json::json!({
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": kid,
            "x5t": URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&certificate)),
            "n": modulus,
            "e": exponent,
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&certificate)],
        });
        Ok(TokenSigner {
            encoding,
            decoding,
            kid,
            jwk,
        })
    }

    pub(crate) fn jwks(&self) -> serde_json::Value {
        serde_json::json!({ "keys": [self.jwk] })
    }

    /// Signs `claims` (an access token's or an ID token's) with the tenant's key.
    pub(crate) fn issue(&self, claims: &impl Serialize) -> Result<String, SandboxError> {
        let mut header = Header::new(Algorithm::RS256);
        header.typ = Some("JWT".into());
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| SandboxError::Crypto(format!("token signing: {e}")))
    }

    /// Checks signature, expiry and audience (one `audience_ok` accepts); the
    /// reason on refusal is for the caller's message.
    pub(crate) fn validate(
        &self,
        token: &str,
        audience_ok: &dyn Fn(&str) -> bool,
    ) -> Result<AccessClaims, String> {
        let mut validation = Validation::new(Algorithm::RS256);
        // The audience is checked below, against names that are not a fixed list.
        validation.validate_aud = false;
        validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss"]);
        validation.validate_nbf = true;
        validation.leeway = 0;
        let claims = jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    "Lifetime validation failed, the token is expired.".to_string()
                }
                jsonwebtoken::errors::ErrorKind::InvalidSignature => {
                    "Signature validation failed.".to_string()
                }
                _ => format!("IDX14100: JWT is not well formed: {e}"),
            })?;
        match audience_ok(&claims.aud) {
            true => Ok(claims),
            false => Err("Invalid audience.".to_string()),
        }
    }
}

/// The modulus and exponent (base64url) of the RSA key in a certificate.
fn rsa_components(certificate: &[u8]) -> Result<(String, String), SandboxError> {
    let (_, parsed) = X509Certificate::from_der(certificate)
        .map_err(|e| SandboxError::Crypto(format!("certificate: {e}")))?;
    match parsed.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let trim = |bytes: &[u8]| {
                let start = bytes.iter().position(|b| *b != 0).unwrap_or(0);
                URL_SAFE_NO_PAD.encode(&bytes[start..])
            };
            Ok((trim(rsa.modulus), trim(rsa.exponent)))
        }
        _ => Err(SandboxError::Crypto("the signing key is not RSA".into())),
    }
}
