//! Server certificate checks that read the trusted roots only when the first
//! TLS handshake needs them, and then in the cheapest way the system allows:
//! its one CA bundle file (Debian's `/etc/ssl/certs/ca-certificates.crt`, or
//! `SSL_CERT_FILE`) rather than every file of a certificate directory. A
//! command that talks plain http on loopback, or nothing at all, reads none.

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::path::Path;
use std::sync::{Arc, OnceLock};

/// Where distributions keep their single CA bundle, most common first.
const BUNDLES: [&str; 5] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/ca-bundle.pem",
    "/etc/ssl/cert.pem",
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
];

/// Why a `--ca-cert` file cannot be trusted as a root; said of "the file".
#[derive(Debug, thiserror::Error)]
pub enum CaCertError {
    #[error("cannot be read: {0}")]
    Unreadable(std::io::Error),
    #[error("is not a PEM certificate (it has no -----BEGIN CERTIFICATE----- block)")]
    NotPem,
    #[error("holds a CERTIFICATE block that is not an X.509 certificate")]
    NotX509,
}

/// The certificates of a PEM file given to trust besides the system's roots
/// (`--ca-cert`, `ca_cert` in an answers file): every one it holds, at least
/// one, each a well-formed X.509 certificate.
pub fn extra_roots(path: &Path) -> Result<Vec<CertificateDer<'static>>, CaCertError> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let pem = std::fs::read(path).map_err(CaCertError::Unreadable)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| CaCertError::NotPem)?;
    if certificates.is_empty() {
        return Err(CaCertError::NotPem);
    }
    match certificates
        .iter()
        .all(|der| X509Certificate::from_der(der).is_ok_and(|(rest, _)| rest.is_empty()))
    {
        true => Ok(certificates),
        false => Err(CaCertError::NotX509),
    }
}

/// A TLS client configuration whose roots are the system's plus `extra`,
/// loaded on first use.
pub(super) fn client_config(
    extra: Vec<CertificateDer<'static>>,
) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = LazyRoots {
        extra,
        provider: provider.clone(),
        verifier: OnceLock::new(),
    };
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// WebPKI verification against roots read on the first handshake.
#[derive(Debug)]
struct LazyRoots {
    extra: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
    verifier: OnceLock<Result<Arc<WebPkiServerVerifier>, String>>,
}

impl LazyRoots {
    fn verifier(&self) -> Result<&Arc<WebPkiServerVerifier>, rustls::Error> {
        self.verifier
            .get_or_init(|| {
                let mut roots = RootCertStore::empty();
                roots.add_parsable_certificates(system_roots());
                roots.add_parsable_certificates(self.extra.iter().cloned());
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                    .build()
                    .map_err(|e| format!("no trusted root certificates could be loaded: {e}"))
            })
            .as_ref()
            .map_err(|why| rustls::Error::General(why.clone()))
    }
}

/// The system's roots: `SSL_CERT_FILE`, else the distribution's bundle file,
/// else (no bundle anywhere) every certificate the platform lists.
fn system_roots() -> Vec<CertificateDer<'static>> {
    let configured = std::env::var_os("SSL_CERT_FILE").map(std::path::PathBuf::from);
    let bundle = configured
        .into_iter()
        .chain(BUNDLES.iter().map(std::path::PathBuf::from))
        .find(|path| path.is_file());
    match bundle {
        Some(path) => read_bundle(&path),
        None => rustls_native_certs::load_native_certs().certs,
    }
}

fn read_bundle(path: &Path) -> Vec<CertificateDer<'static>> {
    match CertificateDer::pem_file_iter(path) {
        Ok(certificates) => certificates.filter_map(Result::ok).collect(),
        Err(error) => {
            tracing::warn!(path = %path.display(), %error, "the CA bundle cannot be read");
            Vec::new()
        }
    }
}

impl ServerCertVerifier for LazyRoots {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.verifier()?.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        )
    }

    // Handshake signatures need no roots: the provider's algorithms check them.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
