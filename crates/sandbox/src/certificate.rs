//! The certificates the emulated tenant keeps: what Graph and the token
//! endpoint need of a key credential's certificate, read from its DER with
//! x509-parser, and the self-signed certificates the sandbox makes itself
//! (its token signing key's, tests'), with rcgen. Its own, so the emulator
//! shares no code with the tool it is a test of.

use sha1::Sha1;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// A key credential's certificate, as the tenant sees it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Certificate {
    /// SHA-256 over the DER, uppercase hex (`x5t#S256` in hex).
    pub sha256: String,
    /// SHA-1 over the DER, uppercase hex (`x5t` in hex; Graph's default `customKeyIdentifier`).
    pub thumbprint: String,
    pub subject: String,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
    /// "RSA", or the algorithm's OID for any other key.
    pub key_algorithm: String,
    /// The DER `RSAPublicKey` (empty for other key types), what signatures are checked with.
    pub rsa_public_key: Vec<u8>,
    pub der: Vec<u8>,
}

impl std::fmt::Debug for Certificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Certificate")
            .field("sha256", &self.sha256)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Certificate {
    /// The certificate `der` holds (nothing after it), or why it is not one.
    pub(crate) fn from_der(der: &[u8]) -> Result<Self, String> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| e.to_string())?;
        if !rest.is_empty() {
            return Err(format!("{} bytes follow the certificate", rest.len()));
        }
        let spki = cert.public_key();
        let (key_algorithm, rsa_public_key) = match spki.parsed() {
            Ok(PublicKey::RSA(_)) => ("RSA".to_string(), spki.subject_public_key.data.to_vec()),
            Ok(_) => (spki.algorithm.algorithm.to_id_string(), Vec::new()),
            Err(e) => return Err(format!("its public key cannot be read: {e}")),
        };
        Ok(Certificate {
            sha256: hex::encode_upper(Sha256::digest(der)),
            thumbprint: hex::encode_upper(Sha1::digest(der)),
            subject: cert.subject().to_string(),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            key_algorithm,
            rsa_public_key,
            der: der.to_vec(),
        })
    }
}

/// Saved as its DER in base64 and read back through [`Certificate::from_der`],
/// so what the tenant derives from it cannot disagree with the certificate.
impl serde::Serialize for Certificate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use base64::Engine;
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.der))
    }
}

impl<'de> serde::Deserialize<'de> for Certificate {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use base64::Engine;
        use serde::de::Error;
        let text = String::deserialize(deserializer)?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(text)
            .map_err(|e| D::Error::custom(format!("a certificate is not base64: {e}")))?;
        Certificate::from_der(&der)
            .map_err(|e| D::Error::custom(format!("a certificate cannot be read: {e}")))
    }
}

/// A self-signed certificate (DER) for `key`, valid from now for `days`.
pub(crate) fn self_signed(key: &rcgen::KeyPair, days: i64) -> Result<Vec<u8>, rcgen::Error> {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Entra ID sandbox");
    let now = OffsetDateTime::now_utc();
    params.not_before = now;
    params.not_after = now + time::Duration::days(days);
    Ok(params.self_signed(key)?.der().to_vec())
}
