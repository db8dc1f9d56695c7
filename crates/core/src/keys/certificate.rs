//! X.509 parsing (x509-parser), the application-identity rules a certificate must
//! meet, and creation of the self-signed certificate (rcgen).

use super::KeyError;
use crate::domain::{CertificateHash, MANAGED_CERTIFICATE_SUBJECT};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, KeyUsagePurpose,
    SerialNumber, SigningKey,
};
use serde::Serialize;
use sha1::Sha1;
use sha2::Digest;
use std::fmt;
use time::{Duration, OffsetDateTime};
use x509_parser::oid_registry::{
    OID_EC_P256, OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION, OID_PKCS1_RSASSAPSS,
    OID_PKCS1_SHA1WITHRSA, OID_PKCS1_SHA256WITHRSA, OID_PKCS1_SHA384WITHRSA,
    OID_PKCS1_SHA512WITHRSA, OID_SIG_ECDSA_WITH_SHA256, OID_SIG_ECDSA_WITH_SHA384,
};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// What this tool needs to know about a certificate, read from its DER.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct CertificateInfo {
    pub sha256: CertificateHash,
    /// SHA-1 over the DER, uppercase hex (what Windows calls the thumbprint).
    pub thumbprint: String,
    pub subject: String,
    pub issuer: String,
    pub serial_number: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_before: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
    pub key_algorithm: String,
    pub key_bits: usize,
    pub signature_algorithm: String,
    #[serde(skip)]
    pub der: Vec<u8>,
    /// The DER `RSAPublicKey` (empty for other key types), to match a private key.
    #[serde(skip)]
    pub rsa_public_key: Vec<u8>,
}

impl fmt::Debug for CertificateInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertificateInfo")
            .field("sha256", &self.sha256)
            .field("subject", &self.subject)
            .field("not_after", &self.not_after)
            .finish_non_exhaustive()
    }
}

/// Why a certificate cannot serve as an application credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CertificateProblem {
    #[error("its key is {0}, but application identity needs an RSA 2048 key")]
    NotRsa(String),
    #[error("its RSA key has {0} bits, but application identity needs exactly 2048")]
    WrongKeySize(usize),
    #[error("it is signed with {0}, but application identity needs sha256WithRSAEncryption")]
    WrongSignature(String),
    #[error("it is not valid before {0}")]
    NotYetValid(String),
    #[error("it expired on {0}")]
    Expired(String),
}

impl CertificateInfo {
    pub fn from_der(der: &[u8]) -> Result<Self, KeyError> {
        let (rest, cert) = X509Certificate::from_der(der).map_err(|e| KeyError::Malformed {
            what: "certificate".into(),
            why: e.to_string(),
        })?;
        if !rest.is_empty() {
            return Err(KeyError::Malformed {
                what: "certificate".into(),
                why: format!("{} bytes follow the certificate", rest.len()),
            });
        }
        let spki = cert.public_key();
        let (key_algorithm, key_bits, rsa_public_key) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => (
                "RSA".to_string(),
                rsa.key_size(),
                spki.subject_public_key.data.to_vec(),
            ),
            Ok(key) => {
                let alg = &spki.algorithm;
                let name = if alg.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
                    let curve = alg
                        .parameters
                        .as_ref()
                        .and_then(|p| p.as_oid().ok())
                        .filter(|oid| *oid == OID_EC_P256)
                        .map_or("EC", |_| "EC P-256");
                    curve.to_string()
                } else {
                    alg.algorithm.to_id_string()
                };
                (name, key.key_size(), Vec::new())
            }
            Err(e) => {
                return Err(KeyError::Malformed {
                    what: "certificate public key".into(),
                    why: e.to_string(),
                });
            }
        };
        let time = |t: x509_parser::time::ASN1Time| t.to_datetime();
        Ok(CertificateInfo {
            sha256: CertificateHash::of_der(der),
            thumbprint: hex::encode_upper(Sha1::digest(der)),
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            serial_number: hex::encode_upper(cert.raw_serial()),
            not_before: time(cert.validity().not_before),
            not_after: time(cert.validity().not_after),
            key_algorithm,
            key_bits,
            signature_algorithm: signature_name(&cert.signature_algorithm.algorithm),
            der: der.to_vec(),
            rsa_public_key,
        })
    }

    /// The first reason this certificate cannot be an application credential at `now`.
    pub fn problem(&self, now: OffsetDateTime) -> Option<CertificateProblem> {
        if self.key_algorithm != "RSA" {
            return Some(CertificateProblem::NotRsa(self.key_algorithm.clone()));
        }
        if self.key_bits != 2048 {
            return Some(CertificateProblem::WrongKeySize(self.key_bits));
        }
        if self.signature_algorithm != "sha256WithRSAEncryption" {
            return Some(CertificateProblem::WrongSignature(
                self.signature_algorithm.clone(),
            ));
        }
        if now < self.not_before {
            return Some(CertificateProblem::NotYetValid(crate::domain::format_time(
                self.not_before,
            )));
        }
        if now > self.not_after {
            return Some(CertificateProblem::Expired(crate::domain::format_time(
                self.not_after,
            )));
        }
        None
    }

    pub fn pem(&self) -> String {
        pem::encode(&pem::Pem::new("CERTIFICATE", self.der.clone()))
    }
}

fn signature_name(oid: &x509_parser::der_parser::oid::Oid) -> String {
    let known = [
        (OID_PKCS1_SHA256WITHRSA, "sha256WithRSAEncryption"),
        (OID_PKCS1_SHA1WITHRSA, "sha1WithRSAEncryption"),
        (OID_PKCS1_SHA384WITHRSA, "sha384WithRSAEncryption"),
        (OID_PKCS1_SHA512WITHRSA, "sha512WithRSAEncryption"),
        (OID_PKCS1_RSASSAPSS, "rsassaPss"),
        (OID_SIG_ECDSA_WITH_SHA256, "ecdsa-with-SHA256"),
        (OID_SIG_ECDSA_WITH_SHA384, "ecdsa-with-SHA384"),
        (OID_PKCS1_RSAENCRYPTION, "rsaEncryption"),
    ];
    known
        .iter()
        .find(|(known, _)| known == oid)
        .map_or_else(|| oid.to_id_string(), |(_, name)| name.to_string())
}

/// Creates the self-signed certificate for a new key: subject and issuer
/// `CN=Entra Connect Sync Provisioning`, SHA-256 with RSA, random serial,
/// valid from now for `days`. The key signs through `signer`, so it may live
/// anywhere (a file, a TPM).
pub fn self_signed(signer: &impl SigningKey, days: u32) -> Result<Vec<u8>, KeyError> {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    let common_name = MANAGED_CERTIFICATE_SUBJECT.trim_start_matches("CN=");
    name.push(DnType::CommonName, common_name);
    params.distinguished_name = name;
    let now = OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap_or(OffsetDateTime::now_utc());
    params.not_before = now;
    params.not_after = now + Duration::days(i64::from(days));
    let mut random = [0u8; 16];
    aws_lc_rs::rand::fill(&mut random).map_err(|_| KeyError::Crypto("random serial".into()))?;
    params.serial_number = Some(SerialNumber::from_slice(&serial_from(random)));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth];
    params.use_authority_key_identifier_extension = false;
    let certificate = params
        .self_signed(signer)
        .map_err(|e| KeyError::Crypto(format!("certificate creation: {e}")))?;
    Ok(certificate.der().to_vec())
}

/// A serial number of exactly 16 content bytes from 16 random ones. The top
/// byte is kept in 0x40..=0x7F: positive (RFC 5280) and neither zero nor
/// high-bit, so DER needs no padding byte and strips nothing; tools that print
/// the serial with or without the sign byte (Windows, openssl) then agree.
fn serial_from(mut random: [u8; 16]) -> [u8; 16] {
    random[0] = (random[0] & 0x3f) | 0x40;
    random
}

/// The thumbprint and hash of a certificate file of any kind (PEM or DER).
pub fn read_certificate_file(bytes: &[u8]) -> Result<CertificateInfo, KeyError> {
    match pem::parse_many(bytes) {
        Ok(blocks) if !blocks.is_empty() => {
            let block = blocks
                .iter()
                .find(|b| b.tag() == "CERTIFICATE")
                .ok_or_else(|| KeyError::Malformed {
                    what: "PEM file".into(),
                    why: "it holds no CERTIFICATE block".into(),
                })?;
            CertificateInfo::from_der(block.contents())
        }
        _ => CertificateInfo::from_der(bytes),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_encode_as_sixteen_bytes_whatever_the_random_top_byte() {
        // A P-256 key signs fast; the serial's encoding does not depend on it.
        let signer = rcgen::KeyPair::generate().unwrap();
        for top in [0x00, 0x01, 0x7f, 0x80, 0xca, 0xff] {
            let mut random = [0xca; 16];
            random[0] = top;
            let serial = serial_from(random);
            let mut params = CertificateParams::default();
            params.serial_number = Some(SerialNumber::from_slice(&serial));
            let der = params.self_signed(&signer).unwrap().der().to_vec();
            let info = CertificateInfo::from_der(&der).unwrap();
            assert_eq!(
                info.serial_number,
                hex::encode_upper(serial),
                "top byte {top:#04x}"
            );
            // No sign byte and nothing stripped: openssl, which prints the
            // number without its sign byte, shows the same 32 digits.
            assert!((0x01..=0x7f).contains(&serial[0]), "top byte {top:#04x}");
        }
    }
}
