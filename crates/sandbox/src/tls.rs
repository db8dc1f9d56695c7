//! HTTPS for the sandbox: a CA and a server certificate for 127.0.0.1 and
//! localhost. The CA is made at start, or read back from the data directory
//! (so a client that trusts its file keeps trusting it); the server
//! certificate is made at every start. The CA PEM is written to a file so
//! clients (MSAL, reqwest, curl) can trust it explicitly.

use super::SandboxError;
use axum_server::tls_rustls::RustlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use time::{Duration, OffsetDateTime};

/// How long a CA lasts: a tenant with a data directory keeps its CA for years
/// of demos; one without makes a new one at every start anyway.
const CA_DAYS: i64 = 3650;

/// The CA's certificate and key (PEM), as a tenant with a data directory keeps them.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct CaKeys {
    certificate: String,
    key: String,
}

fn crypto(e: rcgen::Error) -> SandboxError {
    SandboxError::Crypto(format!("TLS certificate: {e}"))
}

/// The CA's parameters; the same at every start, so a CA read back issues
/// certificates that chain to the certificate made with them.
fn ca_params(now: OffsetDateTime) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "entra-connect sandbox CA");
    params.distinguished_name = name;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(CA_DAYS);
    params
}

impl CaKeys {
    pub(crate) fn generate() -> Result<Self, SandboxError> {
        let key = KeyPair::generate().map_err(crypto)?;
        let certificate = ca_params(OffsetDateTime::now_utc())
            .self_signed(&key)
            .map_err(crypto)?;
        Ok(CaKeys {
            certificate: certificate.pem(),
            key: key.serialize_pem(),
        })
    }
}

/// The server's TLS configuration, its certificate issued by `ca`, whose
/// certificate is written to `ca_path`.
pub(crate) async fn server_config(
    ca: &CaKeys,
    ca_path: &Path,
) -> Result<RustlsConfig, SandboxError> {
    let now = OffsetDateTime::now_utc();
    let ca_key = KeyPair::from_pem(&ca.key).map_err(crypto)?;
    let ca_der = pem_der(&ca.certificate)?;
    let issuer = Issuer::new(ca_params(now), ca_key);

    let server_key = KeyPair::generate().map_err(crypto)?;
    let mut params = CertificateParams::default();
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, "127.0.0.1");
    params.distinguished_name = name;
    params.subject_alt_names = vec![
        SanType::IpAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        SanType::DnsName("localhost".try_into().map_err(crypto)?),
    ];
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    // Strict verifiers (Python 3.13+, rustls) want the issuer's key identifier.
    params.use_authority_key_identifier_extension = true;
    params.not_before = now - Duration::hours(1);
    params.not_after = now + Duration::days(30);
    let server_cert = params.signed_by(&server_key, &issuer).map_err(crypto)?;

    std::fs::write(ca_path, &ca.certificate).map_err(|error| SandboxError::CaFile {
        path: ca_path.to_path_buf(),
        error,
    })?;
    RustlsConfig::from_der(
        vec![server_cert.der().to_vec(), ca_der],
        server_key.serialize_der(),
    )
    .await
    .map_err(|e| SandboxError::Crypto(format!("TLS configuration: {e}")))
}

/// The DER of a one-certificate PEM.
fn pem_der(pem: &str) -> Result<Vec<u8>, SandboxError> {
    x509_parser::pem::parse_x509_pem(pem.as_bytes())
        .map(|(_, pem)| pem.contents)
        .map_err(|e| SandboxError::Crypto(format!("the CA certificate is not PEM: {e}")))
}
