//! The tool's client assertion, checked with an independent JWT library
//! (jsonwebtoken) against the certificate's public key read by the test itself.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_connect::entra::assertion::{PROOF_AUDIENCE, client_assertion, proof_of_possession};
use entra_connect::keys::{KeyStore, SigningAlgorithm, SoftwareKeyStore};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;
use sha2::{Digest, Sha256};
use x509_parser::prelude::FromDer;

/// The certificate's RSA key as jsonwebtoken wants it, parsed here, not by the tool.
fn decoding_key(der: &[u8]) -> DecodingKey {
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).unwrap();
    match cert.public_key().parsed().unwrap() {
        x509_parser::public_key::PublicKey::RSA(rsa) => {
            // DER integers carry a leading zero when the top bit is set.
            let unsigned = |bytes: &[u8]| {
                bytes
                    .iter()
                    .skip_while(|b| **b == 0)
                    .copied()
                    .collect::<Vec<u8>>()
            };
            DecodingKey::from_rsa_raw_components(&unsigned(rsa.modulus), &unsigned(rsa.exponent))
        }
        other => panic!("not RSA: {other:?}"),
    }
}

const TOKEN_ENDPOINT: &str =
    "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token";
const CLIENT_ID: &str = "11111111-2222-3333-4444-555555555555";

fn verify(algorithm: SigningAlgorithm, jwt_alg: Algorithm) {
    let state = tempfile::tempdir().unwrap();
    let store = SoftwareKeyStore::open(state.path()).unwrap();
    let certificate = store.create(30).unwrap().info;
    let now = time::OffsetDateTime::now_utc();
    let assertion = client_assertion(
        &store,
        &certificate,
        algorithm,
        CLIENT_ID,
        TOKEN_ENDPOINT,
        now,
    )
    .unwrap();

    let header = jsonwebtoken::decode_header(assertion.expose()).unwrap();
    assert_eq!(header.alg, jwt_alg);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(
        header.x5t_s256.as_deref(),
        Some(
            URL_SAFE_NO_PAD
                .encode(Sha256::digest(&certificate.der))
                .as_str()
        )
    );

    let mut validation = Validation::new(jwt_alg);
    validation.set_audience(&[TOKEN_ENDPOINT]);
    validation.set_issuer(&[CLIENT_ID]);
    validation.set_required_spec_claims(&["exp", "nbf", "aud", "iss", "sub"]);
    validation.validate_nbf = true;
    validation.leeway = 0;
    let data = jsonwebtoken::decode::<Value>(
        assertion.expose(),
        &decoding_key(&certificate.der),
        &validation,
    )
    .expect("the assertion verifies against the certificate");
    let claims = data.claims;
    assert_eq!(claims["sub"], CLIENT_ID);
    let issued = now.unix_timestamp();
    assert_eq!(claims["iat"], issued);
    assert_eq!(claims["nbf"], issued);
    let exp = claims["exp"].as_i64().unwrap();
    assert!(
        exp > issued && exp <= issued + 600,
        "exp {exp} vs now {issued}"
    );
    let jti = claims["jti"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(jti).is_ok(), "{jti}");

    // A second assertion has a fresh jti.
    let again = client_assertion(
        &store,
        &certificate,
        algorithm,
        CLIENT_ID,
        TOKEN_ENDPOINT,
        now,
    )
    .unwrap();
    let again: Value =
        jsonwebtoken::decode(again.expose(), &decoding_key(&certificate.der), &validation)
            .unwrap()
            .claims;
    assert_ne!(again["jti"], claims["jti"]);

    // Another certificate's key does not verify it: the check can fail.
    let other = store.create(30).unwrap().info;
    assert!(
        jsonwebtoken::decode::<Value>(assertion.expose(), &decoding_key(&other.der), &validation)
            .is_err()
    );
}

#[test]
fn ps256_assertion_verifies_with_every_field_right() {
    verify(SigningAlgorithm::Ps256, Algorithm::PS256);
}

#[test]
fn rs256_assertion_verifies_with_every_field_right() {
    verify(SigningAlgorithm::Rs256, Algorithm::RS256);
}

#[test]
fn proof_of_possession_names_the_application_object() {
    let state = tempfile::tempdir().unwrap();
    let store = SoftwareKeyStore::open(state.path()).unwrap();
    let certificate = store.create(30).unwrap().info;
    let object_id = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";
    let proof = proof_of_possession(
        &store,
        &certificate,
        object_id,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[PROOF_AUDIENCE]);
    validation.set_issuer(&[object_id]);
    let claims: Value =
        jsonwebtoken::decode(proof.expose(), &decoding_key(&certificate.der), &validation)
            .unwrap()
            .claims;
    assert!(claims["exp"].as_i64().unwrap() - claims["nbf"].as_i64().unwrap() <= 600);
}
