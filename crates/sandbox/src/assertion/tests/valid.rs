//! The JWTs that must be accepted, and how one is written out with defects.

use super::*;
use serde_json::Map;
use std::time::Duration;

/// A JWT that must be accepted: signed by our key, naming it, with claims
/// that meet the side's rules, with harmless variations.
#[derive(Debug, Clone)]
pub(super) struct Valid {
    pub(super) side: Side,
    pub(super) alg: Algorithm,
    /// Whether the header names the certificate by x5t#S256, by x5t, or both.
    pub(super) x5t_s256: bool,
    pub(super) x5t: bool,
    pub(super) exp: f64,
    pub(super) nbf: Option<f64>,
    pub(super) jti: Option<String>,
    /// `aud` as a list holding the audience among others.
    pub(super) audience_in_list: bool,
    /// Another application's certificate is registered too.
    pub(super) decoy: bool,
    pub(super) extra: Vec<(String, Value)>,
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        ".{0,16}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

pub(super) fn valid(side: Side) -> impl Strategy<Value = Valid> {
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
            move |(alg, (x5t_s256, x5t), (exp, nbf), jti, audience_in_list, decoy, extra)| Valid {
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
            },
        )
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
pub(super) fn build(valid: &Valid, defects: &[Defect]) -> (String, Vec<KeyCredential>) {
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
