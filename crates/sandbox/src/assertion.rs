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
pub const NBF_SKEW_SECONDS: i64 = 300;

/// What a JWT must say to be accepted.
pub struct Expected<'a> {
    pub audiences: &'a [String],
    pub issuer: &'a str,
    /// `sub` must equal this (client assertions); None for proofs.
    pub subject: Option<&'a str>,
    /// The longest `exp - nbf` accepted (proofs: 10 minutes).
    pub max_lifetime: Option<i64>,
    pub require_jti: bool,
}

#[derive(Debug, Clone)]
pub struct VerifiedClaims {
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
pub enum AssertionError {
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
pub fn verify(
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
mod tests {
    use super::*;
    use crate::certificate::{Certificate, self_signed};
    use jsonwebtoken::EncodingKey;
    use proptest::prelude::*;
    use proptest::sample::select;
    use proptest::strategy::Union;
    use serde_json::{Map, Value, json};
    use std::sync::LazyLock;
    use std::time::Duration;

    /// The verifier's "now": fixed, so every run sees the same cases.
    const NOW: i64 = 1_750_000_000;
    const AUDIENCE: &str = "https://login.example/token";
    const CLIENT: &str = "c0ffee00-2222-4333-a444-5555deadbeef";
    /// Stands in the claims for a raw JSON number literal until they are written out.
    const LITERAL: &str = "@literal@";

    fn now() -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(NOW).unwrap()
    }

    /// An RSA key and its self-signed certificate, registered as a current key.
    struct Signer {
        key: KeyCredential,
        encoding: EncodingKey,
    }

    impl Signer {
        fn new() -> Signer {
            let pair =
                rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                    .expect("RSA key");
            let der = self_signed(&pair, 30).expect("certificate");
            let certificate = Certificate::from_der(&der).expect("certificate");
            let encoding =
                EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).expect("PKCS#8");
            let key = KeyCredential {
                key_id: "b4a8f5a2-6c1e-4f7a-9d0e-3c2b1a0f9e8d".into(),
                display_name: None,
                custom_key_identifier: hex::decode(&certificate.thumbprint).unwrap(),
                certificate,
                start: now() - time::Duration::days(1),
                end: now() + time::Duration::days(1),
                visible_from: Instant::now(),
            };
            Signer { key, encoding }
        }

        fn x5t_s256(&self) -> String {
            URL_SAFE_NO_PAD.encode(hex::decode(self.key.certificate.sha256.as_str()).unwrap())
        }

        fn x5t(&self) -> String {
            URL_SAFE_NO_PAD.encode(hex::decode(&self.key.certificate.thumbprint).unwrap())
        }

        fn sign(&self, message: &str, alg: Algorithm) -> Vec<u8> {
            let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, alg)
                .expect("signing");
            URL_SAFE_NO_PAD.decode(signature).unwrap()
        }
    }

    /// The application's certificate.
    static OURS: LazyLock<Signer> = LazyLock::new(Signer::new);
    /// A certificate of someone else (registered on the application in some cases).
    static STRANGER: LazyLock<Signer> = LazyLock::new(Signer::new);

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Side {
        /// At the token endpoint: `sub` and `jti` required, no lifetime bound.
        ClientAssertion,
        /// addKey/removeKey: `nbf` required, at most 10 minutes long.
        Proof,
    }

    fn check(
        side: Side,
        jwt: &str,
        keys: &[KeyCredential],
    ) -> Result<VerifiedClaims, AssertionError> {
        let audiences = [AUDIENCE.to_string()];
        let expected = match side {
            Side::ClientAssertion => Expected {
                audiences: &audiences,
                issuer: CLIENT,
                subject: Some(CLIENT),
                max_lifetime: None,
                require_jti: true,
            },
            Side::Proof => Expected {
                audiences: &audiences,
                issuer: CLIENT,
                subject: None,
                max_lifetime: Some(600),
                require_jti: false,
            },
        };
        verify(jwt, keys, &expected, now(), Instant::now())
    }

    /// A JWT that must be accepted: signed by our key, naming it, with claims
    /// that meet the side's rules, with harmless variations.
    #[derive(Debug, Clone)]
    struct Valid {
        side: Side,
        alg: Algorithm,
        /// Whether the header names the certificate by x5t#S256, by x5t, or both.
        x5t_s256: bool,
        x5t: bool,
        exp: f64,
        nbf: Option<f64>,
        jti: Option<String>,
        /// `aud` as a list holding the audience among others.
        audience_in_list: bool,
        /// Another application's certificate is registered too.
        decoy: bool,
        extra: Vec<(String, Value)>,
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            ".{0,16}".prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::Null),
        ]
    }

    /// A fraction of a second, as MSAL for Python sends (0 half the time).
    fn fraction() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), (1u32..1000).prop_map(|n| f64::from(n) / 1000.0)]
    }

    fn valid(side: Side) -> impl Strategy<Value = Valid> {
        // exp after now; nbf within the skew; a proof at most 10 minutes long.
        let times = match side {
            Side::ClientAssertion => (
                (1i64..=31_536_000, fraction()).prop_map(|(ahead, f)| (NOW + ahead) as f64 + f),
                proptest::option::of(
                    (-86_400i64..=299, fraction()).prop_map(|(at, f)| (NOW + at) as f64 + f),
                ),
            )
                .boxed(),
            Side::Proof => ((1i64..=300, fraction()), (0i64..=299, fraction()))
                .prop_map(|((ahead, fe), (behind, fn_))| {
                    ((NOW + ahead) as f64 + fe, Some((NOW - behind) as f64 + fn_))
                })
                .boxed(),
        };
        let jti = match side {
            Side::ClientAssertion => "[A-Za-z0-9-]{1,36}".prop_map(Some).boxed(),
            Side::Proof => proptest::option::of(".{0,20}").boxed(),
        };
        let extra = proptest::collection::vec(("[a-z_]{1,8}", leaf()), 0..3).prop_map(|pairs| {
            pairs
                .into_iter()
                .filter(|(k, _)| !["aud", "iss", "sub", "exp", "nbf", "jti"].contains(&k.as_str()))
                .collect::<Vec<_>>()
        });
        (
            select(vec![Algorithm::PS256, Algorithm::RS256]),
            select(vec![(true, false), (false, true), (true, true)]),
            times,
            jti,
            any::<bool>(),
            any::<bool>(),
            extra,
        )
            .prop_map(
                move |(alg, (x5t_s256, x5t), (exp, nbf), jti, audience_in_list, decoy, extra)| {
                    Valid {
                        side,
                        alg,
                        x5t_s256,
                        x5t,
                        exp,
                        nbf,
                        jti,
                        audience_in_list,
                        decoy,
                        extra,
                    }
                },
            )
    }

    /// One thing wrong with a JWT; each makes it one that must be refused.
    #[derive(Debug, Clone)]
    enum Defect {
        /// `alg` other than PS256 and RS256, or not a string.
        Alg(Value),
        NoThumbprint,
        /// x5t#S256 names a certificate that is not registered.
        UnknownS256(Vec<u8>),
        /// Only x5t, naming a certificate that is not registered.
        UnknownX5t(Vec<u8>),
        /// x5t#S256 carries the SHA-1 thumbprint.
        Sha1AsS256,
        /// A thumbprint that is not base64url (in x5t#S256, or alone in x5t).
        ThumbprintNotBase64 {
            sha256: bool,
            text: String,
        },
        ThumbprintNotString {
            sha256: bool,
            value: Value,
        },
        HeaderNotJson(Vec<u8>),
        /// The certificate's key is registered but past its end date.
        KeyExpired,
        /// The certificate's key is added but not replicated yet.
        KeyNotReplicated,
        Missing(&'static str),
        /// A claim with a value of the wrong type or the wrong value.
        Odd(&'static str, Value),
        ExpPast(f64),
        ExpNegative(Value),
        /// exp so far ahead the proof would last more than 10 minutes.
        ExpHuge(Value),
        /// exp written as a JSON number literal that is out of range or not JSON.
        ExpLiteral(&'static str),
        NbfFuture(Value),
        /// nbf so far back the proof would last more than 10 minutes.
        NbfFarPast(Value),
        LongLifetime {
            behind: i64,
            extra: i64,
        },
        ClaimsNotJson(Vec<u8>),
        ClaimsNotObject(Value),
        SignatureFlipped {
            at: usize,
            mask: u8,
        },
        SignatureTruncated(usize),
        SignatureExtended(Vec<u8>),
        SignatureGarbage(Vec<u8>),
        SignatureNotBase64 {
            at: usize,
            junk: char,
        },
        SignedByStranger,
        /// Signed with the other RSA padding than `alg` says (PSS for RS256, PKCS#1 for PS256).
        SignedWithOtherPadding,
        ClaimsChangedAfterSigning,
        /// Not three parts.
        Parts(usize),
    }

    fn not_json() -> impl Strategy<Value = Vec<u8>> {
        (
            select(vec!["", "{", "[", "\"", "{\"alg\":"]),
            proptest::collection::vec(any::<u8>(), 0..48),
        )
            .prop_map(|(start, rest)| [start.as_bytes(), &rest].concat())
            .prop_filter("not JSON", |bytes| {
                serde_json::from_slice::<Value>(bytes).is_err()
            })
    }

    fn not_base64url() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{0,20}[+/!*~ =][A-Za-z0-9_-]{0,20}"
    }

    fn odd_value(claim: &'static str, side: Side) -> BoxedStrategy<Value> {
        let wrong_text = ".{0,24}".prop_filter("not the expected value", |t: &String| {
            t != AUDIENCE && t != CLIENT
        });
        let not_text = select(vec![
            json!(0),
            json!(-1),
            json!(1e300),
            json!(u64::MAX),
            json!(true),
            Value::Null,
            json!({}),
            json!({ "value": CLIENT }),
            json!([]),
            json!([1, 2]),
            json!([null]),
        ]);
        match claim {
            "aud" => prop_oneof![
                not_text,
                wrong_text.clone().prop_map(Value::from),
                wrong_text.prop_map(|t| json!([t])),
                Just(json!(AUDIENCE.to_uppercase())),
                Just(json!(format!("{AUDIENCE}/"))),
                Just(json!([[AUDIENCE]])),
            ]
            .boxed(),
            "iss" | "sub" => prop_oneof![
                not_text,
                wrong_text.prop_map(Value::from),
                Just(json!(CLIENT.to_uppercase())),
                Just(json!(format!(" {CLIENT}"))),
                Just(json!([CLIENT])),
                Just(json!([CLIENT, "another"])),
            ]
            .boxed(),
            "exp" | "nbf" => {
                let mut values = vec![
                    json!(NOW.to_string()),
                    json!("soon"),
                    json!(true),
                    json!({}),
                    json!([NOW + 60]),
                ];
                // A null exp is malformed; a null nbf is a missing one (proofs need it).
                if claim == "exp" || side == Side::Proof {
                    values.push(Value::Null);
                }
                select(values).boxed()
            }
            "jti" => {
                let mut values = vec![json!(1), json!(true), json!({}), json!(["id"])];
                if side == Side::ClientAssertion {
                    values.extend([Value::Null, json!("")]);
                }
                select(values).boxed()
            }
            _ => unreachable!(),
        }
    }

    fn defect(side: Side) -> BoxedStrategy<Defect> {
        let hash = |len: std::ops::Range<usize>| proptest::collection::vec(any::<u8>(), len);
        let mut claims = vec!["aud", "iss", "exp"];
        match side {
            Side::ClientAssertion => claims.extend(["sub", "jti"]),
            Side::Proof => claims.push("nbf"),
        }
        let mut odd = vec!["aud", "iss", "exp", "nbf", "jti"];
        if side == Side::ClientAssertion {
            odd.push("sub");
        }
        let mut all: Vec<BoxedStrategy<Defect>> = vec![
            prop_oneof![
                select(vec![
                    "HS256", "HS384", "HS512", "RS384", "RS512", "PS384", "PS512", "ES256",
                    "ES384", "EdDSA", "none", "ps256", "PS256 ", "RSA-OAEP", "",
                ])
                .prop_map(Value::from),
                select(vec![
                    json!(256),
                    Value::Null,
                    json!(["PS256"]),
                    json!({ "alg": "PS256" })
                ]),
            ]
            .prop_map(Defect::Alg)
            .boxed(),
            Just(Defect::NoThumbprint).boxed(),
            prop_oneof![hash(0..20), hash(20..21), hash(32..33), hash(33..64)]
                .prop_map(Defect::UnknownS256)
                .boxed(),
            prop_oneof![hash(0..20), hash(20..21), hash(32..33)]
                .prop_map(Defect::UnknownX5t)
                .boxed(),
            Just(Defect::Sha1AsS256).boxed(),
            (any::<bool>(), not_base64url())
                .prop_map(|(sha256, text)| Defect::ThumbprintNotBase64 { sha256, text })
                .boxed(),
            (
                any::<bool>(),
                select(vec![json!(1), json!(true), json!([]), json!({})]),
            )
                .prop_map(|(sha256, value)| Defect::ThumbprintNotString { sha256, value })
                .boxed(),
            not_json().prop_map(Defect::HeaderNotJson).boxed(),
            Just(Defect::KeyExpired).boxed(),
            Just(Defect::KeyNotReplicated).boxed(),
            select(claims).prop_map(Defect::Missing).boxed(),
            select(odd)
                .prop_flat_map(move |claim| (Just(claim), odd_value(claim, side)))
                .prop_map(|(claim, value)| Defect::Odd(claim, value))
                .boxed(),
            ((0i64..=NOW), fraction())
                .prop_map(|(ago, f)| Defect::ExpPast(((NOW - ago) as f64 + f).min(NOW as f64)))
                .boxed(),
            prop_oneof![
                (1i64..=i64::MAX).prop_map(|n| json!(-n)),
                select(vec![
                    json!(-0.5),
                    json!(-1e300),
                    json!(-f64::MAX),
                    json!(i64::MIN)
                ]),
            ]
            .prop_map(Defect::ExpNegative)
            .boxed(),
            select(vec![
                "1e400",
                "-1e400",
                "NaN",
                "Infinity",
                "-Infinity",
                "0x6F",
                "1_750_000_300",
                "01750000300",
                "+1750000300",
                "1750000300.",
                ".5",
                "1e",
                "--1",
            ])
            .prop_map(Defect::ExpLiteral)
            .boxed(),
            prop_oneof![
                (1i64..=1_000_000_000, fraction())
                    .prop_map(|(d, f)| json!((NOW + NBF_SKEW_SECONDS + d) as f64 + f)),
                select(vec![
                    json!(1e300),
                    json!(f64::MAX),
                    json!(u64::MAX),
                    json!(i64::MAX)
                ]),
            ]
            .prop_map(Defect::NbfFuture)
            .boxed(),
            not_json().prop_map(Defect::ClaimsNotJson).boxed(),
            select(vec![
                json!([]),
                json!([{ "exp": NOW + 60 }]),
                json!(1),
                json!("claims"),
                json!(true),
                Value::Null,
            ])
            .prop_map(Defect::ClaimsNotObject)
            .boxed(),
            (any::<usize>(), 1u8..=255)
                .prop_map(|(at, mask)| Defect::SignatureFlipped { at, mask })
                .boxed(),
            any::<usize>().prop_map(Defect::SignatureTruncated).boxed(),
            hash(1..16).prop_map(Defect::SignatureExtended).boxed(),
            hash(0..300).prop_map(Defect::SignatureGarbage).boxed(),
            (
                any::<usize>(),
                select(vec!['+', '/', '=', '!', ' ', '\u{e9}']),
            )
                .prop_map(|(at, junk)| Defect::SignatureNotBase64 { at, junk })
                .boxed(),
            Just(Defect::SignedByStranger).boxed(),
            Just(Defect::SignedWithOtherPadding).boxed(),
            Just(Defect::ClaimsChangedAfterSigning).boxed(),
            select(vec![1usize, 2, 4, 5])
                .prop_map(Defect::Parts)
                .boxed(),
        ];
        if side == Side::Proof {
            all.extend([
                prop_oneof![
                    (601i64..=1_000_000_000).prop_map(|ahead| json!(NOW + ahead)),
                    select(vec![
                        json!(u64::MAX),
                        json!(i64::MAX),
                        json!(1e19),
                        json!(1e300),
                        json!(f64::MAX)
                    ]),
                ]
                .prop_map(Defect::ExpHuge)
                .boxed(),
                prop_oneof![
                    (0i64..=NOW).prop_map(|d| json!(NOW - 600 - d)),
                    (1i64..=i64::MAX).prop_map(|n| json!(-n)),
                    select(vec![
                        json!(i64::MIN),
                        json!(-1e19),
                        json!(-1e300),
                        json!(-f64::MAX)
                    ]),
                ]
                .prop_map(Defect::NbfFarPast)
                .boxed(),
                (0i64..=300, 0i64..=1_000_000)
                    .prop_map(|(behind, extra)| Defect::LongLifetime { behind, extra })
                    .boxed(),
            ]);
        }
        Union::new(all).boxed()
    }

    /// Whole numbers as JSON integers, the rest as floats.
    fn number(x: f64) -> Value {
        if x.fract() == 0.0 && x.abs() < 1e15 {
            json!(x as i64)
        } else {
            json!(x)
        }
    }

    /// The JWT `valid` describes with `defects` applied, and the application's keys.
    fn build(valid: &Valid, defects: &[Defect]) -> (String, Vec<KeyCredential>) {
        let mut header = Map::new();
        header.insert("alg".into(), json!(format!("{:?}", valid.alg)));
        header.insert("typ".into(), json!("JWT"));
        if valid.x5t_s256 {
            header.insert("x5t#S256".into(), json!(OURS.x5t_s256()));
        }
        if valid.x5t {
            header.insert("x5t".into(), json!(OURS.x5t()));
        }
        let mut claims = Map::new();
        for (name, value) in &valid.extra {
            claims.insert(name.clone(), value.clone());
        }
        let audience = match valid.audience_in_list {
            true => json!(["https://other.example", AUDIENCE]),
            false => json!(AUDIENCE),
        };
        claims.insert("aud".into(), audience);
        claims.insert("iss".into(), json!(CLIENT));
        if valid.side == Side::ClientAssertion {
            claims.insert("sub".into(), json!(CLIENT));
        }
        claims.insert("exp".into(), number(valid.exp));
        if let Some(nbf) = valid.nbf {
            claims.insert("nbf".into(), number(nbf));
        }
        if let Some(jti) = &valid.jti {
            claims.insert("jti".into(), json!(jti));
        }

        let mut ours = OURS.key.clone();
        let (mut header_raw, mut claims_raw, mut literal) = (None, None, None);
        let (mut signer, mut sign_alg) = (&*OURS, valid.alg);
        for defect in defects {
            match defect {
                Defect::Alg(value) => {
                    header.insert("alg".into(), value.clone());
                }
                Defect::NoThumbprint => {
                    header.remove("x5t#S256");
                    header.remove("x5t");
                }
                Defect::UnknownS256(hash) => {
                    header.insert("x5t#S256".into(), json!(URL_SAFE_NO_PAD.encode(hash)));
                }
                Defect::UnknownX5t(hash) => {
                    header.remove("x5t#S256");
                    header.insert("x5t".into(), json!(URL_SAFE_NO_PAD.encode(hash)));
                }
                Defect::Sha1AsS256 => {
                    header.insert("x5t#S256".into(), json!(OURS.x5t()));
                }
                Defect::ThumbprintNotBase64 { sha256: true, text } => {
                    header.insert("x5t#S256".into(), json!(text));
                }
                Defect::ThumbprintNotBase64 {
                    sha256: false,
                    text,
                } => {
                    header.remove("x5t#S256");
                    header.insert("x5t".into(), json!(text));
                }
                Defect::ThumbprintNotString { sha256, value } => {
                    let slot = if *sha256 { "x5t#S256" } else { "x5t" };
                    header.insert(slot.into(), value.clone());
                }
                Defect::HeaderNotJson(bytes) => header_raw = Some(bytes.clone()),
                Defect::KeyExpired => ours.end = now() - time::Duration::seconds(1),
                Defect::KeyNotReplicated => {
                    ours.visible_from = Instant::now() + Duration::from_secs(3600);
                }
                Defect::Missing(claim) => {
                    claims.remove(*claim);
                }
                Defect::Odd(claim, value) => {
                    claims.insert(claim.to_string(), value.clone());
                }
                Defect::ExpPast(exp) => {
                    claims.insert("exp".into(), number(*exp));
                }
                Defect::ExpNegative(exp) | Defect::ExpHuge(exp) => {
                    claims.insert("exp".into(), exp.clone());
                }
                Defect::ExpLiteral(text) => {
                    claims.insert("exp".into(), json!(LITERAL));
                    literal = Some(*text);
                }
                Defect::NbfFuture(nbf) | Defect::NbfFarPast(nbf) => {
                    claims.insert("nbf".into(), nbf.clone());
                }
                Defect::LongLifetime { behind, extra } => {
                    claims.insert("nbf".into(), json!(NOW - behind));
                    claims.insert("exp".into(), json!(NOW - behind + 601 + extra));
                }
                Defect::ClaimsNotJson(bytes) => claims_raw = Some(bytes.clone()),
                Defect::ClaimsNotObject(value) => claims_raw = Some(value.to_string().into_bytes()),
                Defect::SignedByStranger => signer = &*STRANGER,
                Defect::SignedWithOtherPadding => {
                    sign_alg = match valid.alg {
                        Algorithm::PS256 => Algorithm::RS256,
                        _ => Algorithm::PS256,
                    }
                }
                // Applied to the signed JWT below.
                Defect::SignatureFlipped { .. }
                | Defect::SignatureTruncated(_)
                | Defect::SignatureExtended(_)
                | Defect::SignatureGarbage(_)
                | Defect::SignatureNotBase64 { .. }
                | Defect::ClaimsChangedAfterSigning
                | Defect::Parts(_) => {}
            }
        }

        let header = header_raw.unwrap_or_else(|| Value::Object(header).to_string().into_bytes());
        let mut claims = claims_raw.unwrap_or_else(|| {
            let text = Value::Object(claims).to_string();
            match literal {
                Some(number) => text.replace(&format!("\"{LITERAL}\""), number),
                None => text,
            }
            .into_bytes()
        });
        let encode = |header: &[u8], claims: &[u8]| {
            format!(
                "{}.{}",
                URL_SAFE_NO_PAD.encode(header),
                URL_SAFE_NO_PAD.encode(claims)
            )
        };
        let mut signature = signer.sign(&encode(&header, &claims), sign_alg);
        let mut signature_text = None;
        let mut parts = 3;
        for defect in defects {
            match defect {
                Defect::SignatureFlipped { at, mask } if !signature.is_empty() => {
                    let at = at % signature.len();
                    signature[at] ^= mask;
                }
                Defect::SignatureTruncated(at) if !signature.is_empty() => {
                    signature.truncate(at % signature.len());
                }
                Defect::SignatureExtended(bytes) => signature.extend(bytes),
                Defect::SignatureGarbage(bytes) => signature = bytes.clone(),
                Defect::SignatureNotBase64 { at, junk } => signature_text = Some((*at, *junk)),
                // The same claims as JSON, but not the bytes that were signed.
                Defect::ClaimsChangedAfterSigning => claims.push(b' '),
                Defect::Parts(n) => parts = *n,
                _ => {}
            }
        }
        let mut signature = URL_SAFE_NO_PAD.encode(&signature);
        if let Some((at, junk)) = signature_text {
            signature.insert(at % (signature.len() + 1), junk);
        }
        let message = encode(&header, &claims);
        let jwt = match parts {
            1 => URL_SAFE_NO_PAD.encode(&header),
            2 => message,
            n => format!("{message}{}", format!(".{signature}").repeat(n - 2)),
        };
        let keys = match valid.decoy {
            true => vec![STRANGER.key.clone(), ours],
            false => vec![ours],
        };
        (jwt, keys)
    }

    impl Defect {
        /// Whether `error` is the refusal this defect calls for, when it is the JWT's only one.
        fn explains(&self, error: &AssertionError) -> bool {
            use AssertionError as E;
            let missing = |claim: &str| matches!(error, E::MissingClaim(c) if c == claim);
            let malformed = matches!(error, E::Malformed(_));
            match self {
                Defect::Alg(value) => match serde_json::from_value::<Algorithm>(value.clone()) {
                    Ok(_) => matches!(error, E::Algorithm(_)),
                    Err(_) => malformed,
                },
                Defect::NoThumbprint => matches!(error, E::NoThumbprint),
                Defect::UnknownS256(_)
                | Defect::UnknownX5t(_)
                | Defect::Sha1AsS256
                | Defect::KeyNotReplicated => matches!(error, E::KeyNotFound(_)),
                Defect::KeyExpired => matches!(error, E::KeyNotCurrent(_)),
                Defect::ThumbprintNotBase64 { .. }
                | Defect::ThumbprintNotString { .. }
                | Defect::HeaderNotJson(_)
                | Defect::ExpLiteral(_)
                | Defect::ClaimsNotJson(_)
                | Defect::ClaimsNotObject(_)
                | Defect::SignatureNotBase64 { .. }
                | Defect::Parts(_) => malformed,
                Defect::Missing("exp") => {
                    matches!(error, E::Malformed(why) if why.contains("exp")) || missing("exp")
                }
                Defect::Missing(claim) => missing(claim),
                // jsonwebtoken reads a claim of the wrong type as missing, or
                // (having half-read it) as malformed JSON.
                Defect::Odd("aud", _) => {
                    missing("aud") || malformed || matches!(error, E::Audience(_))
                }
                Defect::Odd("iss", _) => {
                    missing("iss") || malformed || matches!(error, E::Issuer(_))
                }
                Defect::Odd("sub", _) => {
                    missing("sub") || malformed || matches!(error, E::Subject(_))
                }
                Defect::Odd(claim @ ("nbf" | "jti"), Value::Null) => missing(claim),
                Defect::Odd("jti", Value::String(_)) => missing("jti"),
                Defect::Odd(_, _) => malformed,
                Defect::ExpPast(_) => matches!(error, E::Expired(_)),
                Defect::ExpNegative(_) => missing("exp") || matches!(error, E::Expired(_)),
                Defect::ExpHuge(_) => missing("exp") || matches!(error, E::Lifetime(_)),
                Defect::NbfFuture(_) => matches!(error, E::NotYetValid(_)),
                Defect::NbfFarPast(_) | Defect::LongLifetime { .. } => {
                    matches!(error, E::Lifetime(_))
                }
                Defect::SignatureFlipped { .. }
                | Defect::SignatureTruncated(_)
                | Defect::SignatureExtended(_)
                | Defect::SignatureGarbage(_)
                | Defect::SignedByStranger
                | Defect::SignedWithOtherPadding
                | Defect::ClaimsChangedAfterSigning => matches!(error, E::Signature),
            }
        }
    }

    /// A client assertion or a proof, and none to three things wrong with it.
    fn case() -> impl Strategy<Value = (Valid, Vec<Defect>)> {
        select(vec![Side::ClientAssertion, Side::Proof])
            .prop_flat_map(|side| (valid(side), proptest::collection::vec(defect(side), 0..=3)))
    }

    /// `header.claims.signature`, each part base64url of arbitrary bytes or
    /// of a JSON object with arbitrary values: what a client could send.
    fn jwt_like() -> impl Strategy<Value = String> {
        let part = prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..96),
            (".{0,12}", prop_oneof![".{0,24}", Just(OURS.x5t_s256())], any::<i64>()).prop_map(
                |(key, text, number)| {
                    serde_json::json!({ "alg": "PS256", "x5t#S256": text, key: number, "exp": number })
                        .to_string()
                        .into_bytes()
                }
            ),
        ];
        (part.clone(), part.clone(), part).prop_map(|(a, b, c)| {
            [a, b, c]
                .map(|bytes| URL_SAFE_NO_PAD.encode(bytes))
                .join(".")
        })
    }

    proptest! {
        #![proptest_config(crate::proptest_config(256))]

        #[test]
        fn arbitrary_assertions_are_refused(jwt in prop_oneof![".{0,200}", jwt_like()]) {
            for side in [Side::ClientAssertion, Side::Proof] {
                let verified = check(side, &jwt, &[STRANGER.key.clone(), OURS.key.clone()]);
                prop_assert!(verified.is_err());
            }
        }

        /// Signed by a registered key, naming it, with claims that meet the
        /// rules: accepted. Anything wrong with it: refused, and when one
        /// thing is wrong, refused for that.
        #[test]
        fn assertions_are_refused_for_what_is_wrong_with_them((valid, defects) in case()) {
            let (jwt, keys) = build(&valid, &defects);
            match (check(valid.side, &jwt, &keys), defects.as_slice()) {
                (Ok(claims), []) => {
                    prop_assert_eq!(claims.exp, valid.exp.floor() as i64);
                    prop_assert_eq!(claims.nbf, valid.nbf.map(|n| n.ceil() as i64));
                    prop_assert_eq!(claims.jti, valid.jti);
                }
                (Err(error), []) => prop_assert!(false, "a valid JWT was refused: {error}"),
                (Ok(_), _) => prop_assert!(false, "accepted despite {defects:?}"),
                (Err(error), [defect]) => {
                    prop_assert!(defect.explains(&error), "{defect:?} was refused as {error:?}");
                }
                (Err(_), _) => {}
            }
        }
    }

    fn client_assertion() -> Valid {
        Valid {
            side: Side::ClientAssertion,
            alg: Algorithm::PS256,
            x5t_s256: true,
            x5t: false,
            exp: (NOW + 600) as f64 + 0.25,
            nbf: Some(NOW as f64 - 0.5),
            jti: Some("f3c6a0e2-7d4b-4c9a-8e1f-2b5d6a7c8e9f".into()),
            audience_in_list: false,
            decoy: true,
            extra: vec![("iat".into(), json!(NOW))],
        }
    }

    fn proof() -> Valid {
        Valid {
            side: Side::Proof,
            alg: Algorithm::RS256,
            x5t_s256: false,
            x5t: true,
            exp: (NOW + 300) as f64,
            nbf: Some((NOW - 300) as f64),
            jti: None,
            audience_in_list: true,
            decoy: false,
            extra: Vec::new(),
        }
    }

    fn refusal(valid: &Valid, defect: Defect) -> AssertionError {
        let (jwt, keys) = build(valid, &[defect]);
        check(valid.side, &jwt, &keys).expect_err("refused")
    }

    /// The positive control: without it the properties above could pass by
    /// refusing everything.
    #[test]
    fn a_correctly_signed_assertion_is_accepted_and_a_forged_one_is_not() {
        let (jwt, keys) = build(&client_assertion(), &[]);
        let claims = check(Side::ClientAssertion, &jwt, &keys).expect("accepted");
        assert_eq!((claims.exp, claims.nbf), (NOW + 600, Some(NOW)));
        let forged = refusal(&client_assertion(), Defect::SignedByStranger);
        assert_eq!(forged, AssertionError::Signature);

        let (jwt, keys) = build(&proof(), &[]);
        assert!(check(Side::Proof, &jwt, &keys).is_ok());
        let longer = refusal(
            &proof(),
            Defect::LongLifetime {
                behind: 0,
                extra: 0,
            },
        );
        assert_eq!(longer, AssertionError::Lifetime(600));
    }

    /// What the property found: the first two were accepted, the last
    /// overflowed (a panic in debug builds, a wrap to a short lifetime in release).
    #[test]
    fn no_sub_a_list_for_iss_and_an_nbf_far_in_the_past_are_refused() {
        let missing_sub = AssertionError::MissingClaim("sub".into());
        assert_eq!(
            refusal(&client_assertion(), Defect::Missing("sub")),
            missing_sub
        );
        assert_eq!(
            refusal(&client_assertion(), Defect::Odd("sub", json!(0))),
            missing_sub
        );
        let listed = refusal(&client_assertion(), Defect::Odd("iss", json!([CLIENT])));
        assert!(matches!(listed, AssertionError::Malformed(_)), "{listed:?}");
        for nbf in [json!(-1e300), json!(i64::MIN)] {
            let far = refusal(&proof(), Defect::NbfFarPast(nbf));
            assert_eq!(far, AssertionError::Lifetime(600));
        }
    }
}
