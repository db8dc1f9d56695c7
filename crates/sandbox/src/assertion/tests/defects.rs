//! What can be wrong with a JWT, and which refusal each thing calls for.

use super::*;
use proptest::strategy::Union;

/// One thing wrong with a JWT; each makes it one that must be refused.
#[derive(Debug, Clone)]
pub(super) enum Defect {
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

pub(super) fn defect(side: Side) -> BoxedStrategy<Defect> {
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
                "HS256", "HS384", "HS512", "RS384", "RS512", "PS384", "PS512", "ES256", "ES384",
                "EdDSA", "none", "ps256", "PS256 ", "RSA-OAEP", "",
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

impl Defect {
    /// Whether `error` is the refusal this defect calls for, when it is the JWT's only one.
    pub(super) fn explains(&self, error: &AssertionError) -> bool {
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
            Defect::Odd("aud", _) => missing("aud") || malformed || matches!(error, E::Audience(_)),
            Defect::Odd("iss", _) => missing("iss") || malformed || matches!(error, E::Issuer(_)),
            Defect::Odd("sub", _) => missing("sub") || malformed || matches!(error, E::Subject(_)),
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
