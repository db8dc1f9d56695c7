//! Property tests of every parser of outside data reachable from the
//! library's surface: arbitrary input never panics, and what is not valid is
//! refused with an error. The case counts are bounded so CI stays fast, and
//! every run replays the same cases from one fixed seed. To look for new
//! failures, opt in to a random seed with `PROPTEST_RANDOM=1`, and to more
//! cases with `PROPTEST_CASES=N` (proptest reports the smallest failing input):
//! `PROPTEST_RANDOM=1 PROPTEST_CASES=5000 cargo test --test local parsers::`.

use crate::harness::process;
use entra_connect::domain::{
    Answers, CertificateHash, ConnectorCredential, ConnectorIdentityType, EventLevel,
    INTERVAL_MINUTES_MAX, INTERVAL_MINUTES_MIN, ManagedBy, StoreKind, format_time, parse_time,
};
use entra_connect::engine::LocalServer;
use entra_connect::keys::{CertificateInfo, KeyError, read_key_material};
use proptest::prelude::*;
use proptest::sample::select;
use rusqlite::types::{Value, ValueRef};
use sha2::{Digest, Sha256};
use std::path::Path;
use std::sync::LazyLock;
use time::OffsetDateTime;

/// Bounded, and the same cases on every run, so CI is reproducible; unless
/// `PROPTEST_RANDOM=1` asks for a random seed, or `PROPTEST_CASES` for
/// another count (see the module's doc).
fn config(cases: u32) -> ProptestConfig {
    let random = std::env::var("PROPTEST_RANDOM").is_ok_and(|v| v == "1");
    let cases = match std::env::var("PROPTEST_CASES") {
        Ok(count) => count
            .parse()
            .unwrap_or_else(|_| panic!("PROPTEST_CASES={count:?} is not a count")),
        Err(_) => cases,
    };
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: match random {
            true => proptest::test_runner::RngSeed::Random,
            false => proptest::test_runner::RngSeed::Fixed(0x45434E54),
        },
        ..ProptestConfig::default()
    }
}

/// Text around a valid form: a hash with noise, an answers file with noise.
fn noisy(valid: &'static str) -> impl Strategy<Value = String> {
    (0..valid.len(), ".{0,8}", 0..4usize).prop_map(move |(at, noise, cut)| {
        // `valid` is ASCII, so any byte offset in it is a character boundary.
        let mut text = valid.to_string();
        text.insert_str(at.min(text.len()), &noise);
        let keep = text.chars().count().saturating_sub(cut);
        text.chars().take(keep).collect()
    })
}

const HASH: &str = "4D59121F539CC19D998D53339B2205D1BB5F56AE1D7328313430AD59C90AD59E";
const ANSWERS: &str = "tenant = \"contoso.onmicrosoft.com\"\nupn = \"admin@contoso.onmicrosoft.com\"\nsign_in = \"device-code\"\nmethod = \"managed\"\n";

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn hash_input_is_parsed_or_refused(text in prop_oneof![".*", noisy(HASH), "[0-9a-fA-F:]{0,100}"]) {
        match text.parse::<CertificateHash>() {
            // Whatever is accepted is 64 uppercase hex digits, the same digits.
            Ok(hash) => {
                let digits: String = text.chars().filter(char::is_ascii_hexdigit).collect();
                prop_assert_eq!(hash.as_str(), digits.to_ascii_uppercase());
                prop_assert_eq!(hash.as_str().len(), 64);
            }
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }

    #[test]
    fn answers_files_are_parsed_or_refused(text in prop_oneof![".*", noisy(ANSWERS)]) {
        if let Err(error) = Answers::parse(&text) {
            prop_assert!(!error.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(config(48))]

    #[test]
    fn certificate_files_are_refused_not_panicked_on(
        bytes in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..2048),
            // PEM armour around noise, with and without a key block.
            proptest::collection::vec(any::<u8>(), 0..512).prop_map(|noise| {
                let body = String::from_utf8_lossy(&noise).into_owned();
                format!("-----BEGIN CERTIFICATE-----\n{body}\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----\n{body}\n-----END PRIVATE KEY-----\n").into_bytes()
            }),
        ]
    ) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("upload");
        std::fs::write(&path, &bytes).unwrap();
        let read = read_key_material(
            &path,
            None,
            || Ok(zeroize::Zeroizing::new("password".to_string())),
            OffsetDateTime::now_utc(),
        );
        prop_assert!(read.is_err(), "noise was accepted as a certificate");
    }

    #[test]
    fn a_state_file_that_is_not_ours_is_refused(bytes in proptest::collection::vec(any::<u8>(), 1..4096)) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("entra-connect.db"), &bytes).unwrap();
        prop_assert!(LocalServer::open(dir.path()).is_err());
        // Refused, and left as it was.
        prop_assert_eq!(std::fs::read(dir.path().join("entra-connect.db")).unwrap(), bytes);
    }
}

// ---------------------------------------------------------------------------
// Certificate and key import, past the PEM and base64 layers: the DER,
// PKCS#8, PKCS#1 and PKCS#12 parsers get well-encoded files whose contents
// are noise or a real certificate and key with bytes changed.

const PASSWORD: &str = "Pfx-Pa55word!";

/// A real RSA key and its certificate, in every form an upload can take.
struct Real {
    certificate: Vec<u8>,
    /// The certificate's DER `RSAPublicKey`.
    public_key: Vec<u8>,
    pkcs8: Vec<u8>,
    pkcs1: Vec<u8>,
    /// PKCS#12 sealed with PASSWORD, with its MAC and without one (so that a
    /// changed byte reaches the bags instead of failing the MAC).
    pfx: Vec<u8>,
    pfx_without_mac: Vec<u8>,
}

static REAL: LazyLock<Real> = LazyLock::new(|| {
    let pair = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .expect("RSA key");
    let certificate = entra_connect::keys::self_signed(&pair, 30).expect("certificate");
    let pkcs8 = pair.serialize_der();
    // PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING (RSAPrivateKey) }
    let pkcs1 = content(der_elements(&pkcs8)[2]).to_vec();
    let mut store = p12_keystore::KeyStore::new();
    let chain = p12_keystore::PrivateKeyChain::new(
        b"1".as_slice(),
        p12_keystore::PrivateKey::from_der(&pkcs8).expect("PKCS#8"),
        [p12_keystore::Certificate::from_der(&certificate).expect("certificate")],
    );
    store.add_entry(
        "entra-connect",
        p12_keystore::KeyStoreEntry::PrivateKeyChain(chain),
    );
    let pfx = store
        .writer(PASSWORD)
        .encryption_iterations(1)
        .mac_iterations(1)
        .write()
        .expect("PKCS#12");
    // PFX ::= SEQUENCE { version, authSafe, macData OPTIONAL }
    let pfx_without_mac = der_sequence(&der_elements(&pfx)[..2]);
    let public_key = CertificateInfo::from_der(&certificate)
        .expect("certificate")
        .rsa_public_key;
    Real {
        certificate,
        public_key,
        pkcs8,
        pkcs1,
        pfx,
        pfx_without_mac,
    }
});

/// The lengths of a DER element's header and of its content.
fn der_header(element: &[u8]) -> (usize, usize) {
    match element[1] {
        short @ 0..0x80 => (2, usize::from(short)),
        long => {
            let n = usize::from(long & 0x7f);
            let length = element[2..2 + n]
                .iter()
                .fold(0, |length, byte| length << 8 | usize::from(*byte));
            (2 + n, length)
        }
    }
}

fn content(element: &[u8]) -> &[u8] {
    let (header, length) = der_header(element);
    &element[header..header + length]
}

/// The elements of the DER SEQUENCE `der`, each whole.
fn der_elements(der: &[u8]) -> Vec<&[u8]> {
    let mut rest = content(der);
    let mut elements = Vec::new();
    while !rest.is_empty() {
        let (header, length) = der_header(rest);
        let (element, after) = rest.split_at(header + length);
        elements.push(element);
        rest = after;
    }
    elements
}

fn der_sequence(elements: &[&[u8]]) -> Vec<u8> {
    let body = elements.concat();
    let length = body.len().to_be_bytes();
    let significant = length
        .iter()
        .skip_while(|b| **b == 0)
        .copied()
        .collect::<Vec<_>>();
    let mut der = vec![0x30];
    match body.len() {
        0..0x80 => der.push(body.len() as u8),
        _ => {
            der.push(0x80 | significant.len() as u8);
            der.extend(significant);
        }
    }
    der.extend(body);
    der
}

/// A change that always changes the bytes.
#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Truncate(usize),
    Append(Vec<u8>),
}

fn mutations() -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        3 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => proptest::collection::vec(any::<u8>(), 1..8).prop_map(Mutation::Append),
    ];
    proptest::collection::vec(one, 1..4)
}

fn mutate(bytes: &[u8], mutations: &[Mutation]) -> Vec<u8> {
    let mut bytes = bytes.to_vec();
    for mutation in mutations {
        match mutation {
            Mutation::Flip { at, mask } if !bytes.is_empty() => {
                let at = at % bytes.len();
                bytes[at] ^= mask;
            }
            Mutation::Truncate(at) if !bytes.is_empty() => bytes.truncate(at % bytes.len()),
            Mutation::Append(tail) => bytes.extend(tail),
            _ => {}
        }
    }
    bytes
}

/// What is inside the armour (or the PFX file).
#[derive(Debug, Clone)]
enum Part {
    Real,
    Mutated(Vec<Mutation>),
    Noise(Vec<u8>),
}

impl Part {
    fn of(&self, real: &[u8]) -> Vec<u8> {
        match self {
            Part::Real => real.to_vec(),
            Part::Mutated(mutations) => mutate(real, mutations),
            Part::Noise(bytes) => bytes.clone(),
        }
    }
}

fn part() -> impl Strategy<Value = Part> {
    prop_oneof![
        1 => Just(Part::Real),
        3 => mutations().prop_map(Part::Mutated),
        2 => proptest::collection::vec(any::<u8>(), 0..1500).prop_map(Part::Noise),
    ]
}

/// Which key DER goes in which armour; the last two are in the wrong one.
#[derive(Debug, Clone, Copy)]
enum KeyForm {
    Pkcs8,
    Pkcs1,
    Pkcs8AsPkcs1,
    Pkcs1AsPkcs8,
}

#[derive(Debug, Clone)]
enum Upload {
    Pem {
        certificate: Part,
        key: Option<(KeyForm, Part)>,
    },
    Pfx {
        without_mac: bool,
        file: Part,
        right_password: bool,
    },
}

fn upload() -> impl Strategy<Value = Upload> {
    let key_form = select(vec![
        KeyForm::Pkcs8,
        KeyForm::Pkcs1,
        KeyForm::Pkcs8AsPkcs1,
        KeyForm::Pkcs1AsPkcs8,
    ]);
    prop_oneof![
        3 => (part(), proptest::option::weighted(0.9, (key_form, part())))
            .prop_map(|(certificate, key)| Upload::Pem { certificate, key }),
        2 => (any::<bool>(), part(), proptest::bool::weighted(0.8)).prop_map(
            |(without_mac, file, right_password)| Upload::Pfx { without_mac, file, right_password }
        ),
    ]
}

impl Upload {
    fn bytes(&self) -> Vec<u8> {
        let real = &*REAL;
        match self {
            Upload::Pem { certificate, key } => {
                let mut blocks = vec![pem::Pem::new(
                    "CERTIFICATE",
                    certificate.of(&real.certificate),
                )];
                if let Some((form, key)) = key {
                    blocks.push(match form {
                        KeyForm::Pkcs8 => pem::Pem::new("PRIVATE KEY", key.of(&real.pkcs8)),
                        KeyForm::Pkcs1 => pem::Pem::new("RSA PRIVATE KEY", key.of(&real.pkcs1)),
                        KeyForm::Pkcs8AsPkcs1 => {
                            pem::Pem::new("RSA PRIVATE KEY", key.of(&real.pkcs8))
                        }
                        KeyForm::Pkcs1AsPkcs8 => pem::Pem::new("PRIVATE KEY", key.of(&real.pkcs1)),
                    });
                }
                pem::encode_many(&blocks).into_bytes()
            }
            Upload::Pfx {
                without_mac, file, ..
            } => {
                let bytes = file.of(if *without_mac {
                    &real.pfx_without_mac
                } else {
                    &real.pfx
                });
                // Noise that happens to hold a PEM marker would take the PEM path.
                if bytes.windows(11).any(|w| w == b"-----BEGIN ") {
                    Vec::new()
                } else {
                    bytes
                }
            }
        }
    }

    /// How the key compares with the real one: (the same bytes, the real
    /// key followed by more bytes), both false when it is absent, changed
    /// or in the wrong armour.
    fn key(&self) -> (bool, bool) {
        let Upload::Pem {
            key: Some((form, part)),
            ..
        } = self
        else {
            return (false, false);
        };
        let real = match form {
            KeyForm::Pkcs8 => &REAL.pkcs8,
            KeyForm::Pkcs1 => &REAL.pkcs1,
            KeyForm::Pkcs8AsPkcs1 | KeyForm::Pkcs1AsPkcs8 => return (false, false),
        };
        let bytes = part.of(real);
        (
            bytes == *real,
            bytes.len() > real.len() && bytes.starts_with(real),
        )
    }

    /// The real certificate with its real key, in the right form: the one
    /// upload that must be accepted.
    fn is_whole(&self) -> bool {
        match self {
            Upload::Pem { certificate, .. } => {
                certificate.of(&REAL.certificate) == REAL.certificate && self.key().0
            }
            Upload::Pfx {
                without_mac,
                file,
                right_password,
            } => {
                let real = if *without_mac {
                    &REAL.pfx_without_mac
                } else {
                    &REAL.pfx
                };
                *right_password && file.of(real) == *real
            }
        }
    }

    /// Where nothing but a refusal is right: noise anywhere, a changed or
    /// missing key, a key in the wrong armour, a wrong password.
    fn must_be_refused(&self) -> bool {
        match self {
            Upload::Pem { certificate, .. } => {
                // The real key followed by more bytes too: aws-lc alone
                // would read the key and ignore them.
                let (whole, _) = self.key();
                matches!(certificate, Part::Noise(_)) || !whole
            }
            Upload::Pfx {
                file,
                right_password,
                ..
            } => matches!(file, Part::Noise(_)) || !right_password,
        }
    }
}

fn import_upload(upload: &Upload) -> Result<entra_connect::keys::KeyMaterial, KeyError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upload");
    std::fs::write(&path, upload.bytes()).unwrap();
    let password = match upload {
        Upload::Pfx {
            right_password: false,
            ..
        } => "wrong-password",
        _ => PASSWORD,
    };
    read_key_material(
        &path,
        None,
        || Ok(zeroize::Zeroizing::new(password.to_string())),
        OffsetDateTime::now_utc(),
    )
}

/// The real key with bytes after its DER is refused, in either form (the key
/// parser alone would read the key and keep the rest in the stored file).
#[test]
fn a_key_followed_by_more_bytes_is_refused() {
    for (form, real) in [(KeyForm::Pkcs8, &REAL.pkcs8), (KeyForm::Pkcs1, &REAL.pkcs1)] {
        let mut followed = real.clone();
        followed.extend_from_slice(b"\x00\x01 more");
        let upload = Upload::Pem {
            certificate: Part::Real,
            key: Some((form, Part::Noise(followed))),
        };
        match import_upload(&upload) {
            Ok(_) => panic!("{form:?} followed by more bytes was accepted"),
            Err(error) => assert!(
                error.to_string().contains("more bytes follow"),
                "{form:?}: {error}"
            ),
        }
    }
}

proptest! {
    #![proptest_config(config(96))]

    /// Every upload is refused with an error, or accepted as a certificate
    /// that parses and holds the real public key (a changed certificate can
    /// still be one: the import checks the key, not the issuer's signature).
    /// A changed key, noise, a wrong armour or password: refused. The real
    /// pair: accepted, so the property can fail.
    #[test]
    fn uploads_that_reach_the_der_parsers_are_refused_unless_sound(upload in upload()) {
        match import_upload(&upload) {
            Ok(material) => {
                prop_assert!(!upload.must_be_refused(), "accepted: {upload:?}");
                prop_assert_eq!(&material.certificate.rsa_public_key, &REAL.public_key);
                if let Upload::Pem { certificate, .. } = &upload {
                    let der = certificate.of(&REAL.certificate);
                    prop_assert_eq!(
                        material.certificate.sha256.as_str(),
                        hex::encode_upper(Sha256::digest(&der))
                    );
                }
            }
            Err(error) => {
                prop_assert!(!upload.is_whole(), "the real pair was refused: {error}");
                prop_assert!(!error.to_string().is_empty());
                match &upload {
                    Upload::Pem { certificate: Part::Noise(_), .. } => {
                        prop_assert!(matches!(error, KeyError::Malformed { .. }), "{error}");
                    }
                    Upload::Pfx { without_mac: false, file: Part::Real, right_password: false } => {
                        prop_assert!(matches!(error, KeyError::WrongPassword), "{error}");
                    }
                    _ => {}
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// The state database reader, given values it did not write: each column each
// reader reads gets SQL NULL, numbers, blobs, text that is not UTF-8, noise
// and near-valid text (CHECK constraints off, as a hand edit would leave it).

/// What a reader must make of a column.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Time,
    OptionalTime,
    Hash,
    /// One of a named enum's names (`parse` says whether it is).
    Name(fn(&str) -> bool),
    /// Text that is not blank.
    NotBlank,
    /// Any text, returned as stored (not checked by the reader).
    Text,
    OptionalText,
    U32,
    /// A whole number of minutes, one minute to a week.
    Minutes,
    /// Any integer; non-zero is true (SQLite's booleans).
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reader {
    Credential,
    WayBack,
    Events,
    Scheduler,
    InstallationId,
}

/// A column, the row it is changed in, and the reader that reads it.
#[derive(Debug, Clone, Copy)]
struct Target {
    table: &'static str,
    column: &'static str,
    /// Its index in the reader's query, which the errors name.
    index: usize,
    kind: Kind,
    reader: Reader,
    /// The credential row's identity type before the change.
    identity: &'static str,
    /// Text close to what the reader expects.
    example: &'static str,
}

const fn target(
    table: &'static str,
    column: &'static str,
    index: usize,
    kind: Kind,
    reader: Reader,
    identity: &'static str,
    example: &'static str,
) -> Target {
    Target {
        table,
        column,
        index,
        kind,
        reader,
        identity,
        example,
    }
}

fn identity_type(s: &str) -> bool {
    s.parse::<ConnectorIdentityType>().is_ok()
}
fn store_kind(s: &str) -> bool {
    s.parse::<StoreKind>().is_ok()
}
fn managed_by(s: &str) -> bool {
    s.parse::<ManagedBy>().is_ok()
}
fn event_level(s: &str) -> bool {
    s.parse::<EventLevel>().is_ok()
}

const TIME: &str = "2025-06-15T10:00:00Z";
const CREDENTIAL: &str = "connector_credential";
const TARGETS: &[Target] = &[
    target(
        CREDENTIAL,
        "identity_type",
        0,
        Kind::Name(identity_type),
        Reader::Credential,
        "Application",
        "ServiceAccount",
    ),
    target(
        CREDENTIAL,
        "tenant_id",
        2,
        Kind::NotBlank,
        Reader::Credential,
        "Application",
        " ",
    ),
    target(
        CREDENTIAL,
        "application_id",
        3,
        Kind::NotBlank,
        Reader::Credential,
        "Application",
        " ",
    ),
    target(
        CREDENTIAL,
        "service_principal_id",
        4,
        Kind::NotBlank,
        Reader::Credential,
        "Application",
        " ",
    ),
    target(
        CREDENTIAL,
        "certificate_sha256",
        5,
        Kind::Hash,
        Reader::Credential,
        "Application",
        HASH,
    ),
    target(
        CREDENTIAL,
        "key_store",
        6,
        Kind::Name(store_kind),
        Reader::Credential,
        "Application",
        "TPM",
    ),
    target(
        CREDENTIAL,
        "application_managed_by",
        7,
        Kind::Name(managed_by),
        Reader::Credential,
        "Application",
        "Customer",
    ),
    target(
        CREDENTIAL,
        "certificate_managed_by",
        8,
        Kind::Name(managed_by),
        Reader::Credential,
        "Application",
        "Customer",
    ),
    target(
        CREDENTIAL,
        "configured_at",
        9,
        Kind::Time,
        Reader::Credential,
        "Application",
        TIME,
    ),
    target(
        CREDENTIAL,
        "configured_at",
        9,
        Kind::Time,
        Reader::Credential,
        "ServiceAccount",
        TIME,
    ),
    target(
        CREDENTIAL,
        "configured_at",
        9,
        Kind::Time,
        Reader::Credential,
        "None",
        TIME,
    ),
    target(
        CREDENTIAL,
        "service_account_upn",
        1,
        Kind::Text,
        Reader::Credential,
        "ServiceAccount",
        "old@contoso.com",
    ),
    target(
        CREDENTIAL,
        "service_account_upn",
        0,
        Kind::OptionalText,
        Reader::WayBack,
        "Application",
        "old@contoso.com",
    ),
    target(
        "events",
        "time",
        0,
        Kind::Time,
        Reader::Events,
        "None",
        TIME,
    ),
    target(
        "events",
        "level",
        1,
        Kind::Name(event_level),
        Reader::Events,
        "None",
        "Error",
    ),
    target(
        "events",
        "event_id",
        2,
        Kind::U32,
        Reader::Events,
        "None",
        "4294967296",
    ),
    target(
        "events",
        "message",
        3,
        Kind::Text,
        Reader::Events,
        "None",
        "x",
    ),
    target(
        "scheduler",
        "sync_cycle_enabled",
        0,
        Kind::Bool,
        Reader::Scheduler,
        "None",
        "1",
    ),
    target(
        "scheduler",
        "maintenance_enabled",
        1,
        Kind::Bool,
        Reader::Scheduler,
        "None",
        "0",
    ),
    target(
        "scheduler",
        "scheduler_suspended",
        2,
        Kind::Bool,
        Reader::Scheduler,
        "None",
        "2",
    ),
    target(
        "scheduler",
        "interval_minutes",
        3,
        Kind::Minutes,
        Reader::Scheduler,
        "None",
        "30",
    ),
    target(
        "scheduler",
        "next_run_at",
        4,
        Kind::OptionalTime,
        Reader::Scheduler,
        "None",
        TIME,
    ),
    target(
        "settings",
        "value",
        0,
        Kind::Text,
        Reader::InstallationId,
        "None",
        "0123456789ab",
    ),
];

/// A value as SQL stores it, read back after the column's affinity applied.
#[derive(Debug, Clone, PartialEq)]
enum Stored {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    /// Text whose bytes are not UTF-8.
    NotUtf8,
    Blob,
}

impl Stored {
    fn read(value: ValueRef<'_>) -> Stored {
        match value {
            ValueRef::Null => Stored::Null,
            ValueRef::Integer(i) => Stored::Integer(i),
            ValueRef::Real(r) => Stored::Real(r),
            ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => Stored::Text(text.to_string()),
                Err(_) => Stored::NotUtf8,
            },
            ValueRef::Blob(_) => Stored::Blob,
        }
    }

    /// What the reader must return for this column (as text), or None when
    /// it must refuse the value.
    fn expected(&self, kind: Kind) -> Option<String> {
        let time = |s: &str| parse_time(s).ok().map(format_time);
        match (kind, self) {
            (Kind::Time | Kind::OptionalTime, Stored::Text(s)) => time(s),
            (Kind::OptionalTime | Kind::OptionalText, Stored::Null) => Some("none".into()),
            (Kind::Hash, Stored::Text(s)) => s
                .parse::<CertificateHash>()
                .ok()
                .map(|h| h.as_str().to_string()),
            (Kind::Name(known), Stored::Text(s)) => known(s).then(|| s.clone()),
            (Kind::NotBlank, Stored::Text(s)) => (!s.trim().is_empty()).then(|| s.clone()),
            (Kind::Text | Kind::OptionalText, Stored::Text(s)) => Some(s.clone()),
            (Kind::U32, Stored::Integer(i)) => u32::try_from(*i).ok().map(|n| n.to_string()),
            (Kind::Bool, Stored::Integer(i)) => Some((*i != 0).to_string()),
            (Kind::Minutes, Stored::Integer(i)) => u32::try_from(*i)
                .ok()
                .filter(|minutes| (INTERVAL_MINUTES_MIN..=INTERVAL_MINUTES_MAX).contains(minutes))
                .map(|n| n.to_string()),
            _ => None,
        }
    }
}

/// What a value written by SQL is.
#[derive(Debug, Clone)]
enum Garbage {
    Null,
    Integer(i64),
    Real(f64),
    Text(String),
    NotUtf8(Vec<u8>),
    Blob(Vec<u8>),
}

fn garbage(example: &'static str) -> impl Strategy<Value = Garbage> {
    let integer = prop_oneof![
        any::<i64>(),
        select(vec![
            0,
            1,
            -1,
            2,
            i64::from(u32::MAX),
            i64::from(u32::MAX) + 1,
            i64::MIN
        ]),
    ];
    let not_utf8 = proptest::collection::vec(any::<u8>(), 0..16).prop_map(|mut bytes| {
        bytes.push(0xff);
        Garbage::NotUtf8(bytes)
    });
    prop_oneof![
        1 => Just(Garbage::Null),
        1 => integer.prop_map(Garbage::Integer),
        1 => (-1e12f64..1e12).prop_map(Garbage::Real),
        1 => ".{0,40}".prop_map(Garbage::Text),
        2 => noisy(example).prop_map(Garbage::Text),
        1 => Just(Garbage::Text(example.to_string())),
        1 => not_utf8,
        1 => proptest::collection::vec(any::<u8>(), 0..16).prop_map(Garbage::Blob),
    ]
}

/// The reader's view of the target column, as text, or its error.
fn view(server: &LocalServer, target: &Target) -> Result<String, String> {
    let error = |e: entra_connect::engine::EngineError| e.to_string();
    match target.reader {
        Reader::Credential => {
            let credential = server.credential().map_err(error)?;
            Ok(match (&credential, target.column) {
                (_, "identity_type") => credential.identity_type().as_str().to_string(),
                (ConnectorCredential::Application(app), column) => match column {
                    "tenant_id" => app.tenant_id.clone(),
                    "application_id" => app.application_id.clone(),
                    "service_principal_id" => app.service_principal_id.clone(),
                    "certificate_sha256" => app.certificate_sha256.as_str().to_string(),
                    "key_store" => app.key_store.as_str().to_string(),
                    "application_managed_by" => app.application_managed_by.as_str().to_string(),
                    "certificate_managed_by" => app.certificate_managed_by.as_str().to_string(),
                    "configured_at" => format_time(app.configured_at),
                    _ => unreachable!(),
                },
                (ConnectorCredential::ServiceAccount(account), "service_account_upn") => {
                    account.user_principal_name.clone()
                }
                (ConnectorCredential::ServiceAccount(account), "configured_at") => {
                    format_time(account.configured_at)
                }
                (ConnectorCredential::None, "configured_at") => "not read".into(),
                (other, column) => panic!("{column} read from {other:?}"),
            })
        }
        Reader::WayBack => Ok(server
            .way_back()
            .map_err(error)?
            .unwrap_or_else(|| "none".into())),
        Reader::Events => {
            let events = server.events(None, None).map_err(error)?;
            assert_eq!(events.len(), 1, "one event was written");
            let event = &events[0];
            Ok(match target.column {
                "time" => format_time(event.time),
                "level" => event.level.as_str().to_string(),
                "event_id" => event.id.to_string(),
                "message" => event.message.clone(),
                _ => unreachable!(),
            })
        }
        Reader::Scheduler => {
            let settings = server.scheduler().map_err(error)?;
            Ok(match target.column {
                "sync_cycle_enabled" => settings.sync_cycle_enabled.to_string(),
                "maintenance_enabled" => settings.maintenance_enabled.to_string(),
                "scheduler_suspended" => settings.scheduler_suspended.to_string(),
                "interval_minutes" => settings.interval_minutes.to_string(),
                "next_run_at" => settings.next_run_at.map_or("none".into(), format_time),
                _ => unreachable!(),
            })
        }
        Reader::InstallationId => server.installation_id().map_err(error),
    }
}

/// Every reader of the tables the change did not touch, which must still read.
fn untouched_readers_read(server: &LocalServer, table: &str) -> Result<(), String> {
    let error = |e: entra_connect::engine::EngineError| e.to_string();
    if table != CREDENTIAL {
        server.credential().map_err(error)?;
        server.way_back().map_err(error)?;
    }
    if table != "events" {
        server.events(None, None).map_err(error)?;
    }
    if table != "scheduler" {
        server.scheduler().map_err(error)?;
    }
    if table != "settings" {
        server.installation_id().map_err(error)?;
    }
    Ok(())
}

fn a_target_and_garbage() -> impl Strategy<Value = (Target, Garbage)> {
    select(TARGETS).prop_flat_map(|target| (Just(target), garbage(target.example)))
}

/// The state written as entra-connect writes it, then `garbage` in one column.
/// None when SQLite itself refuses the value (NOT NULL).
fn state_with(dir: &Path, target: &Target, garbage: &Garbage) -> Option<Stored> {
    drop(LocalServer::open(dir).unwrap());
    let db = rusqlite::Connection::open(dir.join("entra-connect.db")).unwrap();
    db.execute(
        "UPDATE connector_credential SET identity_type = ?1, service_account_upn = 'old@contoso.com',
         tenant_id = 'tenant', application_id = 'application', service_principal_id = 'principal',
         certificate_sha256 = ?2, key_store = 'TPM', application_managed_by = 'EntraConnect',
         certificate_managed_by = 'EntraConnect', configured_at = ?3 WHERE id = 1",
        rusqlite::params![target.identity, HASH, TIME],
    )
    .unwrap();
    db.execute(
        "INSERT INTO events (time, level, event_id, message) VALUES (?1, 'Warning', 1001, 'x')",
        [TIME],
    )
    .unwrap();
    db.execute_batch("PRAGMA ignore_check_constraints = ON")
        .unwrap();
    let row = match target.table {
        "settings" => "key = 'installation_id'",
        "events" => "1",
        _ => "id = 1",
    };
    let (value, expression) = match garbage {
        Garbage::Null => (Value::Null, "?1"),
        Garbage::Integer(i) => (Value::Integer(*i), "?1"),
        Garbage::Real(r) => (Value::Real(*r), "?1"),
        Garbage::Text(text) => (Value::Text(text.clone()), "?1"),
        Garbage::NotUtf8(bytes) => (Value::Blob(bytes.clone()), "CAST(?1 AS TEXT)"),
        Garbage::Blob(bytes) => (Value::Blob(bytes.clone()), "?1"),
    };
    let (table, column) = (target.table, target.column);
    db.execute(
        &format!("UPDATE {table} SET {column} = {expression} WHERE {row}"),
        [value],
    )
    .ok()?;
    let stored = db
        .query_row(
            &format!("SELECT {column} FROM {table} WHERE {row}"),
            [],
            |row| Ok(Stored::read(row.get_ref(0)?)),
        )
        .unwrap();
    Some(stored)
}

proptest! {
    #![proptest_config(config(160))]

    /// A value the reader accepts is returned as stored (or as parsed); one it
    /// cannot use is refused with an error naming its column; the readers of
    /// the other tables still read.
    #[test]
    fn the_state_reader_refuses_values_it_did_not_write((target, garbage) in a_target_and_garbage()) {
        let dir = tempfile::tempdir().unwrap();
        let Some(stored) = state_with(dir.path(), &target, &garbage) else {
            return Ok(()); // SQLite refused it (NOT NULL): no reader can meet it.
        };
        let server = process::local_server(dir.path());
        let read = view(&server, &target);
        match (stored.expected(target.kind), read) {
            (Some(expected), Ok(read)) => {
                // A None credential reads no configured_at.
                if read != "not read" {
                    prop_assert_eq!(read, expected, "{:?} read from {:?}", target.column, stored);
                }
            }
            (Some(expected), Err(error)) => {
                prop_assert!(false, "{stored:?} (read as {expected}) was refused: {error}");
            }
            (None, Ok(read)) => {
                prop_assert!(false, "{stored:?} in {} was read as {read:?}", target.column);
            }
            (None, Err(error)) => {
                let index = target.index;
                prop_assert!(
                    error.contains(target.column)
                        || error.contains(&format!("index: {index}"))
                        || error.contains(&format!("index {index}")),
                    "the error does not name {}: {error}", target.column
                );
            }
        }
        if let Err(error) = untouched_readers_read(&server, target.table) {
            prop_assert!(false, "{} in {} broke another reader: {error}", target.column, target.table);
        }
    }
}
