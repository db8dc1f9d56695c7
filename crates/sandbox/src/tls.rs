//! HTTPS for the sandbox: a throwaway CA and a server certificate for
//! 127.0.0.1 and localhost, both generated at start. The CA PEM is written to a
//! file so clients (MSAL, reqwest, curl) can trust it explicitly.

use super::{SandboxConfig, SandboxError};
use axum_server::tls_rustls::RustlsConfig;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use time::{Duration, OffsetDateTime};

pub(crate) async fn server_config(
    config: &SandboxConfig,
    port: u16,
) -> Result<(RustlsConfig, PathBuf), SandboxError> {
    let crypto = |e: rcgen::Error| SandboxError::Crypto(format!("TLS certificate: {e}"));
    let now = OffsetDateTime::now_utc();

    let ca_key = KeyPair::generate().map_err(crypto)?;
    let mut ca_params = CertificateParams::default();
    let mut ca_name = DistinguishedName::new();
    ca_name.push(DnType::CommonName, "entra-connect sandbox CA");
    ca_params.distinguished_name = ca_name;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca_params.not_before = now - Duration::hours(1);
    ca_params.not_after = now + Duration::days(30);
    let ca_cert = ca_params.self_signed(&ca_key).map_err(crypto)?;
    let issuer = Issuer::new(ca_params, ca_key);

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

    let path = config.ca_cert_path.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!(
            "entra-connect-sandbox-{}-{port}-ca.pem",
            std::process::id()
        ))
    });
    std::fs::write(&path, ca_cert.pem()).map_err(|error| SandboxError::CaFile {
        path: path.clone(),
        error,
    })?;
    let rustls = RustlsConfig::from_der(
        vec![server_cert.der().to_vec(), ca_cert.der().to_vec()],
        server_key.serialize_der(),
    )
    .await
    .map_err(|e| SandboxError::Crypto(format!("TLS configuration: {e}")))?;
    Ok((rustls, path))
}
