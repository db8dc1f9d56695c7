//! How long a client-credentials token request takes against the in-process
//! sandbox on loopback, without injected latency. Assertion signing happens in
//! the untimed setup: what is measured is the HTTP round trip and the
//! sandbox's own work (assertion verification, token signing). Criterion's
//! summary is the mean; the median is printed after it (`support/criterion_median.rs`).

#[path = "support/criterion_median.rs"]
mod criterion_median;

#[path = "support/tenant.rs"]
mod tenant;

use base64::Engine;
use criterion::{BatchSize, Criterion, criterion_group};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::{Duration, SystemTime};

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn token_request(c: &mut Criterion) {
    let (runtime, sandbox) = tenant::start();
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");

    // Register an application with a certificate, as an administrator would.
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .expect("key");
    let der = entra_connect::keys::self_signed(&key, 30).expect("certificate");
    let encoding = EncodingKey::from_rsa_pem(key.serialize_pem().as_bytes()).expect("PKCS#8");
    let token_endpoint = sandbox.token_endpoint();
    let app_id = runtime.block_on(async {
        let admin: Value = http
            .post(&token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(&[
                ("grant_type", "password"),
                ("client_id", "14d82eec-204b-4c2f-b7e8-296a70dab67e"),
                ("username", &sandbox.admin_upn),
                ("password", &sandbox.admin_password),
                ("scope", "https://graph.microsoft.com/.default"),
            ]))
            .send()
            .await
            .expect("sign-in")
            .json()
            .await
            .expect("JSON");
        let admin = admin["access_token"].as_str().expect("token").to_string();
        let app: Value = http
            .post(format!("{}/applications", sandbox.graph_url))
            .bearer_auth(&admin)
            .json(&json!({
                "displayName": "bench",
                "keyCredentials": [{ "type": "AsymmetricX509Cert", "usage": "Verify",
                    "key": base64::engine::general_purpose::STANDARD.encode(&der) }],
            }))
            .send()
            .await
            .expect("create app")
            .json()
            .await
            .expect("JSON");
        let app_id = app["appId"].as_str().expect("appId").to_string();
        http.post(format!("{}/servicePrincipals", sandbox.graph_url))
            .bearer_auth(&admin)
            .json(&json!({ "appId": app_id }))
            .send()
            .await
            .expect("create SP");
        app_id
    });

    let mut header = Header::new(Algorithm::PS256);
    header.x5t_s256 =
        Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(&der)));
    let assertion = || {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = json!({
            "aud": token_endpoint, "iss": app_id, "sub": app_id,
            "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 600,
        });
        form(&[
            ("grant_type", "client_credentials"),
            ("client_id", &app_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            (
                "client_assertion",
                &jsonwebtoken::encode(&header, &claims, &encoding).expect("sign"),
            ),
            ("scope", "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default"),
        ])
    };

    c.bench_function("client_credentials_token", |b| {
        b.iter_batched(
            assertion,
            |body| {
                runtime.block_on(async {
                    let response = http
                        .post(&token_endpoint)
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(body)
                        .send()
                        .await
                        .expect("token request");
                    assert!(response.status().is_success());
                    response.bytes().await.expect("body")
                })
            },
            BatchSize::SmallInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(50).measurement_time(Duration::from_secs(8));
    targets = token_request
}
fn main() {
    let started = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    criterion_median::print_median("client_credentials_token", started);
}
