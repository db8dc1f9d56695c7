//! Properties of the verifier: a JWT built to meet the rules is accepted, and
//! one with something wrong with it is refused for that.

mod defects;
mod valid;

use super::*;
use crate::certificate::{Certificate, self_signed};
use defects::{Defect, defect};
use jsonwebtoken::EncodingKey;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};
use std::sync::LazyLock;
use valid::{Valid, build, valid};

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
        let encoding = EncodingKey::from_rsa_pem(pair.serialize_pem().as_bytes()).expect("PKCS#8");
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
        let signature =
            jsonwebtoken::crypto::sign(message.as_bytes(), &self.encoding, alg).expect("signing");
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

fn check(side: Side, jwt: &str, keys: &[KeyCredential]) -> Result<VerifiedClaims, AssertionError> {
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

/// A fraction of a second, as MSAL for Python sends (0 half the time).
fn fraction() -> impl Strategy<Value = f64> {
    prop_oneof![Just(0.0), (1u32..1000).prop_map(|n| f64::from(n) / 1000.0)]
}

/// A client assertion or a proof, and none to three things wrong with it.
fn case() -> impl Strategy<Value = (Valid, Vec<Defect>)> {
    select(vec![Side::ClientAssertion, Side::Proof])
        .prop_flat_map(|side| (valid(side), proptest::collection::vec(defect(side), 0..=3)))
}

/// `header.claims.signature`, each part base64url of arbitrary bytes or
/// of a JSON object with arbitrary values: what a client could send.
fn jwt_like() -> impl Strategy<Value = String> {
    let part =
        prop_oneof![
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
