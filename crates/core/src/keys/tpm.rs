//! The TPM key store (preferred): an RSA 2048 signing key created inside the
//! TPM, under a storage primary key the TPM derives again from a fixed
//! template in the owner hierarchy (so no persistent handle is needed and a
//! reboot changes nothing). Only the TPM-wrapped blobs (`<HASH>.tpmkey`, 0600)
//! and the certificate (`<HASH>.crt`) are kept in the state directory; the key
//! is fixedTPM and fixedParent, so it cannot be duplicated off this TPM, and
//! every signature is made by the TPM.
//!
//! The TPM is reached through a TCTI: `--tpm-tcti`, else
//! `ENTRA_CONNECT_TPM_TCTI`, else the standard `TPM2TOOLS_TCTI`, else
//! `device:/dev/tpmrm0`. One connection per process, owned by one worker
//! thread (the TSS context is not `Send`); every call to it is bounded by a
//! timeout, so a TPM that does not answer never hangs the tool.

use super::files::{BLOB_EXTENSION, check_private, open_directory, write_private};
use super::{
    CertificateInfo, KeyError, KeyMaterial, KeyStore, SigningAlgorithm, StoredCertificate,
    self_signed,
};
use crate::domain::{CertificateHash, StoreKind};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use zeroize::Zeroizing;

/// The TCTI used when none is configured: the kernel's resource manager.
pub const DEFAULT_TCTI: &str = "device:/dev/tpmrm0";
/// This tool's own variable for the TCTI (also `--tpm-tcti`).
pub const TCTI_ENV: &str = "ENTRA_CONNECT_TPM_TCTI";
/// The variable the tpm2-tools read; honoured after ours.
pub const STANDARD_TCTI_ENV: &str = "TPM2TOOLS_TCTI";

/// How long a TPM may take to answer its first command.
#[cfg_attr(not(feature = "tpm"), allow(dead_code))]
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long one operation may take: RSA key generation on a hardware TPM
/// can take tens of seconds.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

const CERTIFICATE_EXTENSION: &str = "crt";
/// The `format` of a key blob file.
const KEY_FORMAT: &str = "entra-connect-tpm-key/1";
/// The `format` of a sealed secret file.
const SEALED_FORMAT: &str = "entra-connect-tpm-sealed/1";
/// How the parent is derived: recorded so a later version can tell.
const PARENT: &str = "owner-hierarchy/ecc-p256-aes128cfb-storage";

/// What to do to get a TPM, for every message that says none answered.
pub const HOW_TO_ENABLE: &str = "To keep the key in a TPM, give this server a TPM 2.0: on a Hyper-V Generation 2 VM, Settings > Security > \"Enable Trusted Platform Module\"; on Azure, a VM with Trusted launch and vTPM; on other clouds, the VM's vTPM (e.g. Shielded VM, NitroTPM); on a physical server, TPM 2.0 (fTPM/PTT) in the firmware. The account running entra-connect needs /dev/tpmrm0 (root or the tss group). A TPM reached another way: --tpm-tcti TCTI or ENTRA_CONNECT_TPM_TCTI (e.g. swtpm:host=127.0.0.1,port=2321). Or choose --store software (an owner-only key file; warning event 1014)";

/// Where the TCTI came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TctiSetting {
    pub tcti: String,
    pub source: &'static str,
}

impl TctiSetting {
    /// `--tpm-tcti` if given, else the environment, else the default.
    pub fn resolve(flag: Option<&str>) -> TctiSetting {
        let from_env = |name: &'static str| {
            std::env::var(name)
                .ok()
                .filter(|v| !v.trim().is_empty())
                .map(|tcti| TctiSetting {
                    tcti: tcti.trim().to_string(),
                    source: name,
                })
        };
        match flag.filter(|f| !f.trim().is_empty()) {
            Some(tcti) => TctiSetting {
                tcti: tcti.trim().to_string(),
                source: "--tpm-tcti",
            },
            None => from_env(TCTI_ENV)
                .or_else(|| from_env(STANDARD_TCTI_ENV))
                .unwrap_or(TctiSetting {
                    tcti: DEFAULT_TCTI.to_string(),
                    source: "default",
                }),
        }
    }
}

/// Why no TPM can be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TpmUnavailable {
    pub tcti: String,
    pub why: String,
}

impl fmt::Display for TpmUnavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no TPM answered at {} ({})", self.tcti, self.why)
    }
}

impl From<TpmUnavailable> for KeyError {
    fn from(unavailable: TpmUnavailable) -> Self {
        KeyError::TpmUnavailable {
            tcti: unavailable.tcti,
            why: unavailable.why,
        }
    }
}

/// What answered: for the doctor and the wizard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TpmInfo {
    pub tcti: String,
    pub manufacturer: String,
}

/// The TPM of this server, connected on first use and shared by every
/// store of one process. Dropping it (and any [`Tpm::background_probe`] still
/// running) closes the connection.
pub struct Tpm {
    setting: TctiSetting,
    /// Shared with a probe running on another thread, so the connection it
    /// opens is this one's.
    connection: Arc<OnceLock<Result<device::Connection, TpmUnavailable>>>,
}

impl fmt::Debug for Tpm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tpm")
            .field("tcti", &self.setting.tcti)
            .finish_non_exhaustive()
    }
}

impl Tpm {
    pub fn new(setting: TctiSetting) -> Self {
        Tpm {
            setting,
            connection: Arc::new(OnceLock::new()),
        }
    }

    pub fn tcti(&self) -> &str {
        &self.setting.tcti
    }

    pub fn setting(&self) -> &TctiSetting {
        &self.setting
    }

    fn connection(&self) -> Result<&device::Connection, TpmUnavailable> {
        self.connection
            .get_or_init(|| device::Connection::open(&self.setting.tcti))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Whether a TPM answers (connecting once, within a few seconds).
    pub fn probe(&self) -> Result<TpmInfo, TpmUnavailable> {
        self.connection().map(|c| TpmInfo {
            tcti: self.setting.tcti.clone(),
            manufacturer: c.manufacturer().to_string(),
        })
    }

    /// [`Tpm::probe`] to run on another thread, as it may wait up to the
    /// connection timeout (5 s) for a slow TPM (the wizard draws meanwhile). The
    /// connection it opens is this `Tpm`'s: later calls find it made.
    pub fn background_probe(
        &self,
    ) -> impl FnOnce() -> Result<TpmInfo, TpmUnavailable> + Send + 'static {
        let tpm = Tpm {
            setting: self.setting.clone(),
            connection: Arc::clone(&self.connection),
        };
        move || tpm.probe()
    }

    pub fn is_available(&self) -> bool {
        self.probe().is_ok()
    }

    fn call<R: Send + 'static>(
        &self,
        what: &'static str,
        job: impl FnOnce(&mut device::Session) -> Result<R, String> + Send + 'static,
    ) -> Result<R, KeyError> {
        let connection = self.connection()?;
        connection
            .run(COMMAND_TIMEOUT, job)
            .map_err(|why| KeyError::Tpm {
                tcti: self.setting.tcti.clone(),
                what,
                why,
            })
    }

    /// Creates a new non-duplicable RSA 2048 signing key in the TPM.
    fn create_signing_key(&self) -> Result<(KeyBlob, RsaPublic), KeyError> {
        let created = self.call("create an RSA 2048 key", device::create_signing_key)?;
        Ok((
            KeyBlob {
                format: KEY_FORMAT.into(),
                parent: PARENT.into(),
                public: STANDARD.encode(created.public),
                private: STANDARD.encode(created.private),
            },
            RsaPublic {
                modulus: created.modulus,
                exponent: created.exponent,
            },
        ))
    }

    /// Signs `message` (hashed here with SHA-256) with a key of this TPM.
    fn sign(
        &self,
        blob: &KeyBlob,
        algorithm: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let (public, private) = blob.decode()?;
        let digest = Sha256::digest(message).to_vec();
        self.call("sign", move |session| {
            device::sign(session, public, private, algorithm, digest)
        })
    }

    /// Seals `secret` to this TPM: a random AES-256 key, sealed in a TPM data
    /// object under the storage primary, encrypts it (AES-256-GCM). The result
    /// is only readable through this TPM.
    pub fn seal(&self, secret: &[u8]) -> Result<Vec<u8>, KeyError> {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let mut key = Zeroizing::new([0u8; 32]);
        let mut nonce = [0u8; 12];
        aws_lc_rs::rand::fill(key.as_mut())
            .and_then(|()| aws_lc_rs::rand::fill(&mut nonce))
            .map_err(|_| KeyError::Crypto("random key".into()))?;
        let sealing_key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, key.as_ref())
                .map_err(|_| KeyError::Crypto("AES key".into()))?,
        );
        // Zeroized if encryption fails while it still holds the secret.
        let mut ciphertext = Zeroizing::new(secret.to_vec());
        sealing_key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(SEALED_FORMAT.as_bytes()),
                &mut *ciphertext,
            )
            .map_err(|_| KeyError::Crypto("AES-GCM encryption".into()))?;
        let to_seal = Zeroizing::new(key.to_vec());
        let (public, private) = self.call("seal a secret", move |session| {
            device::seal(session, &to_seal)
        })?;
        let sealed = SealedSecret {
            format: SEALED_FORMAT.into(),
            parent: PARENT.into(),
            public: STANDARD.encode(public),
            private: STANDARD.encode(private),
            nonce: STANDARD.encode(nonce),
            ciphertext: STANDARD.encode(&*ciphertext),
        };
        serde_json::to_vec_pretty(&sealed).map_err(|e| KeyError::Malformed {
            what: "sealed secret".into(),
            why: e.to_string(),
        })
    }

    /// The secret [`Tpm::seal`] sealed, unsealed by this TPM.
    pub fn unseal(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
        let malformed = |why: String| KeyError::Malformed {
            what: "sealed secret".into(),
            why,
        };
        let sealed: SealedSecret =
            serde_json::from_slice(sealed).map_err(|e| malformed(e.to_string()))?;
        if sealed.format != SEALED_FORMAT {
            return Err(malformed(format!("unknown format {:?}", sealed.format)));
        }
        let decode = |field: &str, value: &str| {
            STANDARD
                .decode(value)
                .map_err(|e| malformed(format!("{field}: {e}")))
        };
        let public = decode("public", &sealed.public)?;
        let private = decode("private", &sealed.private)?;
        let nonce: [u8; 12] = decode("nonce", &sealed.nonce)?
            .try_into()
            .map_err(|_| malformed("nonce: not 12 bytes".into()))?;
        let mut plaintext = Zeroizing::new(decode("ciphertext", &sealed.ciphertext)?);
        let key = self.call("unseal a secret", move |session| {
            device::unseal(session, public, private)
        })?;
        let opening_key = LessSafeKey::new(
            UnboundKey::new(&AES_256_GCM, &key).map_err(|_| malformed("sealed key size".into()))?,
        );
        let length = opening_key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(SEALED_FORMAT.as_bytes()),
                &mut plaintext,
            )
            .map_err(|_| malformed("it does not decrypt (altered?)".into()))?
            .len();
        plaintext.truncate(length);
        Ok(plaintext)
    }
}

/// A key's TPM-wrapped blobs as stored in `<HASH>.tpmkey`: the public area
/// (marshalled TPMT_PUBLIC) and the private area encrypted by the parent.
/// Neither holds the private key in a usable form outside this TPM.
#[derive(Clone, Serialize, Deserialize)]
struct KeyBlob {
    format: String,
    parent: String,
    public: String,
    private: String,
}

impl KeyBlob {
    fn decode(&self) -> Result<(Vec<u8>, Vec<u8>), KeyError> {
        let malformed = |why: String| KeyError::Malformed {
            what: "TPM key blob".into(),
            why,
        };
        if self.format != KEY_FORMAT {
            return Err(malformed(format!("unknown format {:?}", self.format)));
        }
        let public = STANDARD
            .decode(&self.public)
            .map_err(|e| malformed(format!("public: {e}")))?;
        let private = STANDARD
            .decode(&self.private)
            .map_err(|e| malformed(format!("private: {e}")))?;
        Ok((public, private))
    }
}

#[derive(Serialize, Deserialize)]
struct SealedSecret {
    format: String,
    parent: String,
    public: String,
    private: String,
    nonce: String,
    ciphertext: String,
}

/// A key the TPM created: its blobs (marshalled public area, private area
/// wrapped by the parent) and its public numbers.
struct CreatedKey {
    public: Vec<u8>,
    private: Vec<u8>,
    modulus: Vec<u8>,
    exponent: u32,
}

/// An RSA public key as the TPM gives it.
struct RsaPublic {
    modulus: Vec<u8>,
    exponent: u32,
}

impl RsaPublic {
    /// DER `RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`.
    fn der(&self) -> Vec<u8> {
        let mut body = der_unsigned_integer(&self.modulus);
        body.extend(der_unsigned_integer(&self.exponent.to_be_bytes()));
        let mut out = vec![0x30];
        out.extend(der_length(body.len()));
        out.extend(body);
        out
    }
}

fn der_length(length: usize) -> Vec<u8> {
    match length {
        0..=0x7f => vec![length as u8],
        _ => {
            let bytes: Vec<u8> = length
                .to_be_bytes()
                .into_iter()
                .skip_while(|b| *b == 0)
                .collect();
            let mut out = vec![0x80 | bytes.len() as u8];
            out.extend(bytes);
            out
        }
    }
}

fn der_unsigned_integer(big_endian: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = big_endian.iter().copied().skip_while(|b| *b == 0).collect();
    let mut value = match trimmed.first() {
        None => vec![0],
        Some(first) if first & 0x80 != 0 => [&[0u8][..], &trimmed].concat(),
        Some(_) => trimmed,
    };
    let mut out = vec![0x02];
    out.extend(der_length(value.len()));
    out.append(&mut value);
    out
}

/// The TPM as rcgen's signer of the new certificate: rcgen hands over the
/// to-be-signed bytes, the TPM returns the signature.
struct TpmSigner<'a> {
    tpm: &'a Tpm,
    blob: &'a KeyBlob,
    public_key: Vec<u8>,
    /// Why the TPM did not sign (rcgen's error carries no detail).
    failure: std::cell::RefCell<Option<KeyError>>,
}

impl rcgen::PublicKeyData for TpmSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        &self.public_key
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_RSA_SHA256
    }
}

impl rcgen::SigningKey for TpmSigner<'_> {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.tpm
            .sign(self.blob, SigningAlgorithm::Rs256, message)
            .map_err(|error| {
                self.failure.replace(Some(error));
                rcgen::Error::RemoteKeyError
            })
    }
}

/// Certificates whose keys are in the TPM: `<HASH>.crt` beside `<HASH>.tpmkey`
/// in `<state_dir>/keys` (owner-only, like the software store's).
pub struct TpmKeyStore {
    dir: PathBuf,
    tpm: Arc<Tpm>,
}

impl TpmKeyStore {
    /// The store in `<state_dir>/keys`; the TPM is reached only when a key is
    /// created or used.
    pub fn open(state_dir: &Path, tpm: Arc<Tpm>) -> Result<Self, KeyError> {
        let dir = open_directory(state_dir)?;
        Ok(TpmKeyStore { dir, tpm })
    }

    pub fn tpm(&self) -> &Tpm {
        &self.tpm
    }

    fn blob_path(&self, hash: &CertificateHash) -> PathBuf {
        self.dir.join(format!("{hash}.{BLOB_EXTENSION}"))
    }

    fn certificate_path(&self, hash: &CertificateHash) -> PathBuf {
        self.dir.join(format!("{hash}.{CERTIFICATE_EXTENSION}"))
    }

    /// Whether the certificate with this hash has its key in the TPM.
    pub fn holds(&self, hash: &CertificateHash) -> bool {
        self.blob_path(hash).exists()
    }

    fn load_blob(&self, hash: &CertificateHash) -> Result<KeyBlob, KeyError> {
        check_private(&self.dir, "700")?;
        let path = self.blob_path(hash);
        if !path.exists() {
            return Err(KeyError::PrivateKeyMissing(hash.clone()));
        }
        check_private(&path, "600")?;
        let bytes = fs::read(&path).map_err(KeyError::io(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| KeyError::Malformed {
            what: format!("TPM key blob {}", path.display()),
            why: e.to_string(),
        })
    }

    fn read_certificate(&self, hash: &CertificateHash) -> Result<StoredCertificate, KeyError> {
        let path = self.certificate_path(hash);
        let bytes = fs::read(&path).map_err(KeyError::io(&path))?;
        let info = super::read_certificate_file(&bytes)?;
        Ok(StoredCertificate {
            info,
            store: StoreKind::Tpm,
            has_private_key: true,
        })
    }
}

impl KeyStore for TpmKeyStore {
    fn kind(&self) -> StoreKind {
        StoreKind::Tpm
    }

    fn list(&self) -> Result<Vec<StoredCertificate>, KeyError> {
        let mut certificates = Vec::new();
        for entry in fs::read_dir(&self.dir).map_err(KeyError::io(&self.dir))? {
            let path = entry.map_err(KeyError::io(&self.dir))?.path();
            if path.extension().is_some_and(|e| e == BLOB_EXTENSION)
                && let Some(hash) = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.parse::<CertificateHash>().ok())
                && self.certificate_path(&hash).exists()
            {
                certificates.push(self.read_certificate(&hash)?);
            }
        }
        certificates.sort_by_key(|c| c.info.not_after);
        Ok(certificates)
    }

    fn find(&self, hash: &CertificateHash) -> Result<StoredCertificate, KeyError> {
        if !self.holds(hash) || !self.certificate_path(hash).exists() {
            return Err(KeyError::NotFound(hash.clone()));
        }
        self.read_certificate(hash)
    }

    fn create(&self, days: u32) -> Result<StoredCertificate, KeyError> {
        check_private(&self.dir, "700")?;
        let (blob, public) = self.tpm.create_signing_key()?;
        let signer = TpmSigner {
            tpm: &self.tpm,
            blob: &blob,
            public_key: public.der(),
            failure: std::cell::RefCell::new(None),
        };
        let certificate = match self_signed(&signer, days) {
            Ok(certificate) => certificate,
            Err(error) => return Err(signer.failure.take().unwrap_or(error)),
        };
        let info = CertificateInfo::from_der(&certificate)?;
        if info.rsa_public_key != signer.public_key {
            return Err(KeyError::Crypto(
                "the certificate's public key is not the TPM key's".into(),
            ));
        }
        let json = serde_json::to_vec_pretty(&blob).map_err(|e| KeyError::Malformed {
            what: "TPM key blob".into(),
            why: e.to_string(),
        })?;
        write_private(&self.blob_path(&info.sha256), &json)?;
        write_private(&self.certificate_path(&info.sha256), info.pem().as_bytes())?;
        Ok(StoredCertificate {
            info,
            store: StoreKind::Tpm,
            has_private_key: true,
        })
    }

    fn import(&self, _material: KeyMaterial) -> Result<StoredCertificate, KeyError> {
        Err(KeyError::Unsupported(
            "a certificate brought with its private key is kept in the software key store; the TPM store holds keys created in the TPM".into(),
        ))
    }

    fn sign(
        &self,
        hash: &CertificateHash,
        algorithm: SigningAlgorithm,
        message: &[u8],
    ) -> Result<Vec<u8>, KeyError> {
        let blob = self.load_blob(hash)?;
        self.tpm.sign(&blob, algorithm, message)
    }

    /// The key is nowhere but in its blob (the TPM keeps no copy), so
    /// removing the blob destroys it.
    fn delete(&self, hash: &CertificateHash) -> Result<(), KeyError> {
        let certificate = self.certificate_path(hash);
        let blob = self.blob_path(hash);
        if !blob.exists() {
            return Err(KeyError::NotFound(hash.clone()));
        }
        fs::remove_file(&blob).map_err(KeyError::io(&blob))?;
        if certificate.exists() {
            fs::remove_file(&certificate).map_err(KeyError::io(&certificate))?;
        }
        Ok(())
    }
}

/// A TCTI's endpoint, checked before the TSS library is asked to use it, so
/// a missing device or a closed port is reported at once (and the library
/// does not print its own errors).
#[cfg_attr(not(feature = "tpm"), allow(dead_code))]
fn precheck(tcti: &str) -> Result<(), String> {
    let (name, config) = tcti.split_once(':').unwrap_or((tcti, ""));
    match name {
        "device" => {
            let path = if config.is_empty() {
                "/dev/tpm0"
            } else {
                config
            };
            match fs::OpenOptions::new().read(true).write(true).open(path) {
                Ok(_) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    Err(format!("{path} does not exist: this machine shows no TPM"))
                }
                Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(format!(
                    "{path}: permission denied; run as root or add the account to the tss group"
                )),
                Err(e) => Err(format!("{path}: {e}")),
            }
        }
        "swtpm" | "mssim" => {
            use std::net::{TcpStream, ToSocketAddrs};
            let field = |key: &str| {
                config
                    .split(',')
                    .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            };
            let host = field("host").unwrap_or("localhost");
            let port: u16 = match field("port") {
                Some(port) => port
                    .parse()
                    .map_err(|_| format!("the port {port:?} is not a number"))?,
                None => 2321,
            };
            let addresses = (host, port)
                .to_socket_addrs()
                .map_err(|e| format!("cannot resolve {host}: {e}"))?;
            let mut last = format!("{host} has no address");
            for address in addresses {
                match TcpStream::connect_timeout(&address, Duration::from_secs(2)) {
                    Ok(_) => return Ok(()),
                    Err(e) => last = format!("{address}: {e}"),
                }
            }
            Err(last)
        }
        "tabrmd" => Ok(()),
        _ => Err(format!(
            "unknown TCTI {name:?}; use device:PATH, swtpm:host=HOST,port=PORT, mssim:host=HOST,port=PORT or tabrmd"
        )),
    }
}

#[cfg(feature = "tpm")]
mod device {
    //! The one thread that owns the TSS context, and the TPM commands.

    use super::{CONNECT_TIMEOUT, CreatedKey, SigningAlgorithm, TpmUnavailable, precheck};
    use std::str::FromStr;
    use std::sync::mpsc;
    use std::time::Duration;
    use tss_esapi::attributes::{
        ObjectAttributes, ObjectAttributesBuilder, SessionAttributesBuilder,
    };
    use tss_esapi::constants::SessionType;
    use tss_esapi::constants::tss::{TPM2_RH_NULL, TPM2_ST_HASHCHECK};
    use tss_esapi::handles::{KeyHandle, ObjectHandle};
    use tss_esapi::interface_types::algorithm::{HashingAlgorithm, PublicAlgorithm};
    use tss_esapi::interface_types::ecc::EccCurve;
    use tss_esapi::interface_types::key_bits::RsaKeyBits;
    use tss_esapi::interface_types::resource_handles::Hierarchy;
    use tss_esapi::interface_types::session_handles::AuthSession;
    use tss_esapi::structures::{
        Digest, EccPoint, EccScheme, HashScheme, HashcheckTicket, KeyDerivationFunctionScheme,
        KeyedHashScheme, Private, Public, PublicBuilder, PublicEccParametersBuilder, PublicKeyRsa,
        PublicKeyedHashParameters, PublicRsaParametersBuilder, RsaExponent, RsaScheme,
        SensitiveData, Signature, SignatureScheme, SymmetricDefinition, SymmetricDefinitionObject,
    };
    use tss_esapi::traits::{Marshall, UnMarshall};
    use tss_esapi::tss2_esys::TPMT_TK_HASHCHECK;
    use tss_esapi::{Context, TctiNameConf};
    use zeroize::Zeroizing;

    type Job = Box<dyn FnOnce(&mut Session) + Send>;

    /// The connection: jobs go to the worker thread that owns the context.
    pub(super) struct Connection {
        jobs: Option<mpsc::Sender<Job>>,
        /// Closed by the worker once the context is finalised.
        finished: std::sync::Mutex<mpsc::Receiver<()>>,
        manufacturer: String,
    }

    /// Closing the connection flushes what this process loaded (the
    /// primary): a TPM without a resource manager (swtpm, /dev/tpm0) would
    /// otherwise keep it and run out of object slots.
    impl Drop for Connection {
        fn drop(&mut self) {
            drop(self.jobs.take());
            if let Ok(finished) = self.finished.lock() {
                let _ = finished.recv_timeout(CONNECT_TIMEOUT);
            }
        }
    }

    /// The worker's state: the context and the storage primary, created
    /// on first need and kept loaded while the connection lives.
    pub(super) struct Session {
        context: Context,
        primary: Option<KeyHandle>,
        /// The HMAC session salted with the primary, kept for the connection.
        session: Option<AuthSession>,
        /// The signing key loaded last (by its private blob), kept loaded:
        /// a client assertion and a proof in one run need one Load.
        loaded: Option<(Vec<u8>, KeyHandle)>,
    }

    impl Connection {
        /// Connects and asks the TPM for its manufacturer, all within
        /// [`CONNECT_TIMEOUT`]; a TPM that does not answer is unavailable.
        pub(super) fn open(tcti: &str) -> Result<Connection, TpmUnavailable> {
            let unavailable = |why: String| TpmUnavailable {
                tcti: tcti.to_string(),
                why,
            };
            precheck(tcti).map_err(unavailable)?;
            let conf = TctiNameConf::from_str(tcti)
                .map_err(|e| unavailable(format!("the TCTI cannot be parsed: {e}")))?;
            let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
            let (jobs, jobs_rx) = mpsc::channel::<Job>();
            let (finished_tx, finished) = mpsc::channel::<()>();
            std::thread::Builder::new()
                .name("tpm".into())
                .spawn(move || {
                    // Dropped last, after the context: tells the connection it is closed.
                    let _finished = finished_tx;
                    let opened = Context::new(conf).and_then(|mut context| {
                        let manufacturer = tss_esapi::utils::get_tpm_vendor(&mut context)?;
                        Ok((context, manufacturer))
                    });
                    let mut session = match opened {
                        Ok((context, manufacturer)) => {
                            if ready_tx.send(Ok(manufacturer)).is_err() {
                                return;
                            }
                            Session {
                                context,
                                primary: None,
                                session: None,
                                loaded: None,
                            }
                        }
                        Err(e) => {
                            let _ = ready_tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    for job in jobs_rx {
                        job(&mut session);
                    }
                })
                .map_err(|e| unavailable(format!("cannot start the TPM thread: {e}")))?;
            match ready_rx.recv_timeout(CONNECT_TIMEOUT) {
                Ok(Ok(manufacturer)) => Ok(Connection {
                    jobs: Some(jobs),
                    finished: std::sync::Mutex::new(finished),
                    manufacturer,
                }),
                Ok(Err(why)) => Err(unavailable(why)),
                Err(mpsc::RecvTimeoutError::Timeout) => Err(unavailable(format!(
                    "no answer within {} s",
                    CONNECT_TIMEOUT.as_secs()
                ))),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    Err(unavailable("the TPM thread stopped".into()))
                }
            }
        }

        pub(super) fn manufacturer(&self) -> &str {
            &self.manufacturer
        }

        /// Runs `job` on the worker, waiting at most `limit` for its answer.
        pub(super) fn run<R: Send + 'static>(
            &self,
            limit: Duration,
            job: impl FnOnce(&mut Session) -> Result<R, String> + Send + 'static,
        ) -> Result<R, String> {
            let (reply_tx, reply_rx) = mpsc::channel();
            self.jobs
                .as_ref()
                .ok_or("the TPM connection is closed")?
                .send(Box::new(move |session: &mut Session| {
                    let _ = reply_tx.send(job(session));
                }))
                .map_err(|_| "the TPM connection is closed".to_string())?;
            match reply_rx.recv_timeout(limit) {
                Ok(result) => result,
                Err(mpsc::RecvTimeoutError::Timeout) => Err(format!(
                    "the TPM did not answer within {} s",
                    limit.as_secs()
                )),
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    Err("the TPM connection stopped".into())
                }
            }
        }
    }

    fn tss(error: tss_esapi::Error) -> String {
        use tss_esapi::constants::Tss2ResponseCodeKind;
        match error {
            tss_esapi::Error::Tss2Error(code)
                if code.kind() == Some(Tss2ResponseCodeKind::ObjectMemory) =>
            {
                format!(
                    "{error}: other programs keep objects loaded in the TPM. Use the kernel's resource manager (device:/dev/tpmrm0) or tpm2-abrmd, or free the slots with `tpm2_flushcontext -t`"
                )
            }
            tss_esapi::Error::Tss2Error(code)
                if code.kind() == Some(Tss2ResponseCodeKind::Integrity) =>
            {
                format!(
                    "{error}: the key blob was not made by this TPM under its current owner seed (a state directory copied from another server, or a TPM that was cleared); that key cannot be used here. Rotate with an administrator (`entra-connect app rotate --upn UPN`) to get a new key"
                )
            }
            tss_esapi::Error::Tss2Error(code)
                if code.kind() == Some(Tss2ResponseCodeKind::Lockout) =>
            {
                format!(
                    "{error}: the TPM is in dictionary-attack lockout; wait for it to recover or clear the lockout"
                )
            }
            other => other.to_string(),
        }
    }

    /// The storage primary's fixed template (the TCG's ECC P-256 storage
    /// key): the TPM derives the same key from its owner seed every time.
    fn primary_template() -> tss_esapi::Result<Public> {
        let attributes = ObjectAttributesBuilder::new()
            .with_fixed_tpm(true)
            .with_fixed_parent(true)
            .with_sensitive_data_origin(true)
            .with_user_with_auth(true)
            .with_no_da(true)
            .with_restricted(true)
            .with_decrypt(true)
            .build()?;
        PublicBuilder::new()
            .with_public_algorithm(PublicAlgorithm::Ecc)
            .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
            .with_object_attributes(attributes)
            .with_ecc_parameters(
                PublicEccParametersBuilder::new_restricted_decryption_key(
                    SymmetricDefinitionObject::AES_128_CFB,
                    EccCurve::NistP256,
                )
                .with_key_derivation_function_scheme(KeyDerivationFunctionScheme::Null)
                .with_ecc_scheme(EccScheme::Null)
                .build()?,
            )
            .with_ecc_unique_identifier(EccPoint::default())
            .build()
    }

    /// The signing key: RSA 2048, e = 65537, no fixed scheme (RSASSA or
    /// RSA-PSS chosen per signature), created inside the TPM
    /// (sensitiveDataOrigin), never duplicable (fixedTPM, fixedParent).
    fn signing_key_template() -> tss_esapi::Result<Public> {
        let attributes = ObjectAttributesBuilder::new()
            .with_fixed_tpm(true)
            .with_fixed_parent(true)
            .with_sensitive_data_origin(true)
            .with_user_with_auth(true)
            .with_no_da(true)
            .with_sign_encrypt(true)
            .build()?;
        PublicBuilder::new()
            .with_public_algorithm(PublicAlgorithm::Rsa)
            .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
            .with_object_attributes(attributes)
            .with_rsa_parameters(
                PublicRsaParametersBuilder::new_unrestricted_signing_key(
                    RsaScheme::Null,
                    RsaKeyBits::Rsa2048,
                    RsaExponent::default(),
                )
                .build()?,
            )
            .with_rsa_unique_identifier(PublicKeyRsa::default())
            .build()
    }

    /// A sealed data object (no sign, no decrypt): only Unseal reads it.
    fn sealed_template() -> tss_esapi::Result<Public> {
        let attributes = ObjectAttributesBuilder::new()
            .with_fixed_tpm(true)
            .with_fixed_parent(true)
            .with_user_with_auth(true)
            .with_no_da(true)
            .build()?;
        PublicBuilder::new()
            .with_public_algorithm(PublicAlgorithm::KeyedHash)
            .with_name_hashing_algorithm(HashingAlgorithm::Sha256)
            .with_object_attributes(attributes)
            .with_keyed_hash_parameters(PublicKeyedHashParameters::new(KeyedHashScheme::Null))
            .with_keyed_hash_unique_identifier(Digest::default())
            .build()
    }

    fn check_attributes(public: &Public, expected: ObjectAttributes) -> Result<(), String> {
        match public.object_attributes() == expected {
            true => Ok(()),
            false => Err("the key blob's attributes are not the ones this tool creates".into()),
        }
    }

    impl Session {
        fn primary(&mut self) -> Result<KeyHandle, String> {
            if let Some(primary) = self.primary {
                return Ok(primary);
            }
            let template = primary_template().map_err(tss)?;
            let created = self
                .context
                .execute_with_nullauth_session(|context| {
                    context.create_primary(Hierarchy::Owner, template, None, None, None, None)
                })
                .map_err(|e| {
                    format!(
                        "creating the storage primary key in the owner hierarchy failed ({e}); the owner hierarchy must have an empty authorization value"
                    )
                })?;
            self.primary = Some(created.key_handle);
            Ok(created.key_handle)
        }

        /// The HMAC session salted with the storage primary (started once),
        /// so what crosses the bus (sealed data, digests) is encrypted.
        fn session(&mut self, primary: KeyHandle) -> Result<AuthSession, String> {
            if let Some(session) = self.session {
                return Ok(session);
            }
            let session = self
                .context
                .start_auth_session(
                    Some(primary),
                    None,
                    None,
                    SessionType::Hmac,
                    SymmetricDefinition::AES_128_CFB,
                    HashingAlgorithm::Sha256,
                )
                .map_err(tss)?
                .ok_or("the TPM started no session")?;
            let (attributes, mask) = SessionAttributesBuilder::new()
                .with_decrypt(true)
                .with_encrypt(true)
                .build();
            if let Err(error) = self
                .context
                .tr_sess_set_attributes(session, attributes, mask)
            {
                let _ = self
                    .context
                    .flush_context(ObjectHandle::from(session_handle(session)));
                return Err(tss(error));
            }
            self.session = Some(session);
            Ok(session)
        }

        /// Runs `f` in the salted session. After an error the session and
        /// the loaded key are flushed, so the next command starts clean.
        fn with_session<T>(
            &mut self,
            f: impl FnOnce(&mut Context, KeyHandle) -> tss_esapi::Result<T>,
        ) -> Result<T, String> {
            let primary = self.primary()?;
            let session = self.session(primary)?;
            let result = self
                .context
                .execute_with_session(Some(session), |c| f(c, primary));
            if result.is_err() {
                self.reset();
            }
            result.map_err(tss)
        }

        fn reset(&mut self) {
            if let Some(session) = self.session.take() {
                let _ = self
                    .context
                    .flush_context(ObjectHandle::from(session_handle(session)));
            }
            if let Some((_, key)) = self.loaded.take() {
                let _ = self.context.flush_context(key.into());
            }
        }

        /// The signing key of these blobs, loaded under the primary (or
        /// still loaded from the last signature).
        fn signing_key(&mut self, public: Public, private: Private) -> Result<KeyHandle, String> {
            if let Some((blob, key)) = &self.loaded
                && blob.as_slice() == private.value()
            {
                return Ok(*key);
            }
            if let Some((_, key)) = self.loaded.take() {
                let _ = self.context.flush_context(key.into());
            }
            let blob = private.value().to_vec();
            let key =
                self.with_session(|context, primary| context.load(primary, private, public))?;
            self.loaded = Some((blob, key));
            Ok(key)
        }
    }

    fn session_handle(session: AuthSession) -> tss_esapi::handles::SessionHandle {
        session.into()
    }

    /// Loads a blob under the primary, runs `f`, and flushes it again.
    fn with_loaded<T>(
        context: &mut Context,
        primary: KeyHandle,
        public: Public,
        private: Private,
        f: impl FnOnce(&mut Context, KeyHandle) -> tss_esapi::Result<T>,
    ) -> tss_esapi::Result<T> {
        let key = context.load(primary, private, public)?;
        let result = f(context, key);
        let flushed = context.flush_context(key.into());
        let value = result?;
        flushed?;
        Ok(value)
    }

    type Blobs = (Vec<u8>, Vec<u8>);

    pub(super) fn create_signing_key(session: &mut Session) -> Result<CreatedKey, String> {
        let template = signing_key_template().map_err(tss)?;
        let created = session.with_session(|context, primary| {
            context.create(primary, template, None, None, None, None)
        })?;
        let (modulus, exponent) = match &created.out_public {
            Public::Rsa {
                unique, parameters, ..
            } => (unique.value().to_vec(), parameters.exponent().value()),
            _ => return Err("the TPM returned a key that is not RSA".into()),
        };
        if modulus.len() != 256 {
            return Err(format!(
                "the TPM returned a {}-bit key, not 2048",
                modulus.len() * 8
            ));
        }
        let exponent = if exponent == 0 { 65537 } else { exponent };
        Ok(CreatedKey {
            public: created.out_public.marshall().map_err(tss)?,
            private: created.out_private.value().to_vec(),
            modulus,
            exponent,
        })
    }

    fn unmarshal(public: &[u8], private: Vec<u8>) -> Result<(Public, Private), String> {
        let public = Public::unmarshall(public).map_err(|e| format!("public area: {e}"))?;
        let private = Private::try_from(private).map_err(|e| format!("private area: {e}"))?;
        Ok((public, private))
    }

    pub(super) fn sign(
        session: &mut Session,
        public: Vec<u8>,
        private: Vec<u8>,
        algorithm: SigningAlgorithm,
        digest: Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        let (public, private) = unmarshal(&public, private)?;
        check_attributes(
            &public,
            signing_key_template().map_err(tss)?.object_attributes(),
        )?;
        let hash = HashScheme::new(HashingAlgorithm::Sha256);
        let scheme = match algorithm {
            SigningAlgorithm::Rs256 => SignatureScheme::RsaSsa { hash_scheme: hash },
            SigningAlgorithm::Ps256 => SignatureScheme::RsaPss { hash_scheme: hash },
        };
        let digest = Digest::try_from(digest).map_err(tss)?;
        let validation = HashcheckTicket::try_from(TPMT_TK_HASHCHECK {
            tag: TPM2_ST_HASHCHECK,
            hierarchy: TPM2_RH_NULL,
            digest: Default::default(),
        })
        .map_err(tss)?;
        let key = session.signing_key(public, private)?;
        let signature =
            session.with_session(|context, _| context.sign(key, digest, scheme, validation))?;
        match signature {
            Signature::RsaSsa(rsa) | Signature::RsaPss(rsa) => Ok(rsa.signature().value().to_vec()),
            _ => Err("the TPM returned a signature that is not RSA".into()),
        }
    }

    pub(super) fn seal(session: &mut Session, secret: &[u8]) -> Result<Blobs, String> {
        let template = sealed_template().map_err(tss)?;
        let data = SensitiveData::try_from(secret.to_vec()).map_err(tss)?;
        let created = session.with_session(|context, primary| {
            context.create(primary, template, None, Some(data), None, None)
        })?;
        let public = created.out_public.marshall().map_err(tss)?;
        Ok((public, created.out_private.value().to_vec()))
    }

    pub(super) fn unseal(
        session: &mut Session,
        public: Vec<u8>,
        private: Vec<u8>,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        let (public, private) = unmarshal(&public, private)?;
        check_attributes(&public, sealed_template().map_err(tss)?.object_attributes())?;
        let data = session.with_session(|context, primary| {
            with_loaded(context, primary, public, private, |context, object| {
                context.unseal(object.into())
            })
        })?;
        Ok(Zeroizing::new(data.value().to_vec()))
    }
}

#[cfg(not(feature = "tpm"))]
mod device {
    //! Built without the `tpm` feature: there is never a TPM.

    use super::{CreatedKey, SigningAlgorithm, TpmUnavailable};
    use std::time::Duration;
    use zeroize::Zeroizing;

    pub(super) enum Session {}

    pub(super) struct Connection {
        never: Session,
    }

    impl Connection {
        pub(super) fn open(tcti: &str) -> Result<Connection, TpmUnavailable> {
            Err(TpmUnavailable {
                tcti: tcti.to_string(),
                why: "this entra-connect was built without TPM support (cargo feature `tpm`)"
                    .into(),
            })
        }

        pub(super) fn manufacturer(&self) -> &str {
            match self.never {}
        }

        pub(super) fn run<R>(
            &self,
            _limit: Duration,
            _job: impl FnOnce(&mut Session) -> Result<R, String>,
        ) -> Result<R, String> {
            match self.never {}
        }
    }

    pub(super) fn create_signing_key(session: &mut Session) -> Result<CreatedKey, String> {
        match *session {}
    }

    pub(super) fn sign(
        session: &mut Session,
        _public: Vec<u8>,
        _private: Vec<u8>,
        _algorithm: SigningAlgorithm,
        _digest: Vec<u8>,
    ) -> Result<Vec<u8>, String> {
        match *session {}
    }

    pub(super) fn seal(
        session: &mut Session,
        _secret: &[u8],
    ) -> Result<(Vec<u8>, Vec<u8>), String> {
        match *session {}
    }

    pub(super) fn unseal(
        session: &mut Session,
        _public: Vec<u8>,
        _private: Vec<u8>,
    ) -> Result<Zeroizing<Vec<u8>>, String> {
        match *session {}
    }
}
