//! Reading a certificate and private key brought by the administrator (Bring Your
//! Own Certificate): PEM (certificate + PKCS#8 or PKCS#1 key) or PKCS#12 (.pfx),
//! checked against the application-identity rules before anything is stored.

use super::{CertificateInfo, KeyError};
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{KeyPair, RsaKeyPair};
use std::fmt;
use std::path::Path;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// A checked certificate and the PKCS#8 DER of its private key.
pub struct KeyMaterial {
    pub certificate: CertificateInfo,
    pub(super) private_key_pkcs8: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("certificate", &self.certificate)
            .field("private_key_pkcs8", &"[redacted]")
            .finish()
    }
}

/// Reads `path` (and `key_path`, when the key is in its own PEM file), asking for
/// a PFX password through `pfx_password` only when the file is PKCS#12.
pub fn read_key_material(
    path: &Path,
    key_path: Option<&Path>,
    pfx_password: impl FnOnce() -> std::io::Result<Zeroizing<String>>,
    now: OffsetDateTime,
) -> Result<KeyMaterial, KeyError> {
    let bytes = Zeroizing::new(std::fs::read(path).map_err(KeyError::io(path))?);
    let (certificate_der, key) = if looks_like_pem(&bytes) {
        let mut blocks = parse_pem(path, &bytes)?;
        if let Some(key_path) = key_path {
            let key_bytes =
                Zeroizing::new(std::fs::read(key_path).map_err(KeyError::io(key_path))?);
            blocks.extend(parse_pem(key_path, &key_bytes)?);
        }
        from_pem_blocks(path, blocks)?
    } else {
        let password = pfx_password().map_err(KeyError::io("standard input"))?;
        from_pkcs12(&bytes, &password)?
    };
    check(certificate_der, key, now)
}

fn looks_like_pem(bytes: &[u8]) -> bool {
    bytes.windows(11).any(|w| w == b"-----BEGIN ")
}

fn parse_pem(path: &Path, bytes: &[u8]) -> Result<Vec<pem::Pem>, KeyError> {
    pem::parse_many(bytes).map_err(|e| KeyError::Malformed {
        what: format!("PEM file {}", path.display()),
        why: e.to_string(),
    })
}

/// A private key as found in a file: PKCS#8 or PKCS#1 DER, or a kind that
/// cannot belong to an RSA certificate.
enum FoundKey {
    Pkcs8(Zeroizing<Vec<u8>>),
    Pkcs1(Zeroizing<Vec<u8>>),
    NotRsa,
}

fn from_pem_blocks(
    path: &Path,
    blocks: Vec<pem::Pem>,
) -> Result<(Vec<u8>, Option<FoundKey>), KeyError> {
    let mut certificate = None;
    let mut key = None;
    for block in blocks {
        match block.tag() {
            "CERTIFICATE" if certificate.is_none() => certificate = Some(block.into_contents()),
            "PRIVATE KEY" => key = Some(FoundKey::Pkcs8(Zeroizing::new(block.into_contents()))),
            "RSA PRIVATE KEY" => key = Some(FoundKey::Pkcs1(Zeroizing::new(block.into_contents()))),
            "ENCRYPTED PRIVATE KEY" => {
                return Err(KeyError::Unsupported(format!(
                    "{} holds an encrypted PEM key; import it as a .pfx, or decrypt it first with `openssl pkey -in FILE -out KEY.pem`",
                    path.display()
                )));
            }
            "EC PRIVATE KEY" | "DSA PRIVATE KEY" => key = Some(FoundKey::NotRsa),
            _ => {}
        }
    }
    let certificate = certificate.ok_or_else(|| KeyError::Malformed {
        what: format!("PEM file {}", path.display()),
        why: "it holds no CERTIFICATE block".into(),
    })?;
    Ok((certificate, key))
}

fn from_pkcs12(bytes: &[u8], password: &str) -> Result<(Vec<u8>, Option<FoundKey>), KeyError> {
    use p12_keystore::{KeyStore, Pkcs12ImportPolicy, error::Error};
    let store = KeyStore::from_pkcs12(bytes, password, Pkcs12ImportPolicy::Strict).map_err(
        |e| match e {
            Error::MacError(_) => KeyError::WrongPassword,
            other => KeyError::Malformed {
                what: "PFX file".into(),
                why: other.to_string(),
            },
        },
    )?;
    let (_, chain) = store
        .private_key_chain()
        .ok_or_else(|| KeyError::Malformed {
            what: "PFX file".into(),
            why: "it holds no private key with its certificate".into(),
        })?;
    let leaf = chain.certs().first().ok_or_else(|| KeyError::Malformed {
        what: "PFX file".into(),
        why: "its private key has no certificate".into(),
    })?;
    let key = FoundKey::Pkcs8(Zeroizing::new(chain.key().as_der().to_vec()));
    Ok((leaf.as_der().to_vec(), Some(key)))
}

fn not_a_key() -> KeyError {
    KeyError::Malformed {
        what: "private key".into(),
        why: "it is not an RSA private key (PKCS#8 \"PRIVATE KEY\" or PKCS#1 \"RSA PRIVATE KEY\")"
            .into(),
    }
}

/// `der` when it is exactly one DER value: the key parser reads the first
/// and ignores what follows, which would then be stored with the key.
fn one_der_value(der: &[u8]) -> Result<&[u8], KeyError> {
    match x509_parser::der_parser::parse_der(der) {
        Ok(([], _)) => Ok(der),
        Ok(_) => Err(KeyError::Malformed {
            what: "private key".into(),
            why: "more bytes follow its DER encoding".into(),
        }),
        Err(_) => Err(not_a_key()),
    }
}

/// Applies the rules in order: a usable certificate, then a private key that
/// is RSA and belongs to it.
fn check(
    certificate_der: Vec<u8>,
    key: Option<FoundKey>,
    now: OffsetDateTime,
) -> Result<KeyMaterial, KeyError> {
    let certificate = CertificateInfo::from_der(&certificate_der)?;
    if let Some(problem) = certificate.problem(now) {
        return Err(KeyError::Unusable {
            hash: certificate.sha256,
            problem,
        });
    }
    let key = key.ok_or_else(|| KeyError::NoPrivateKey(certificate.sha256.clone()))?;
    let mismatch = || KeyError::KeyMismatch(certificate.sha256.clone());
    let (pair, private_key_pkcs8) = match key {
        FoundKey::Pkcs8(der) => {
            let pair = RsaKeyPair::from_pkcs8(one_der_value(&der)?).map_err(|_| not_a_key())?;
            (pair, der)
        }
        FoundKey::Pkcs1(der) => {
            let pair = RsaKeyPair::from_der(one_der_value(&der)?).map_err(|_| not_a_key())?;
            let pkcs8 = pair
                .as_der()
                .map_err(|_| KeyError::Crypto("converting the PKCS#1 key to PKCS#8".into()))?;
            let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
            (pair, pkcs8)
        }
        FoundKey::NotRsa => return Err(mismatch()),
    };
    if pair.public_key().as_ref() != certificate.rsa_public_key.as_slice() {
        return Err(mismatch());
    }
    Ok(KeyMaterial {
        certificate,
        private_key_pkcs8,
    })
}
