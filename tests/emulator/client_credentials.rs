//! Client credentials with a certificate assertion: each rule accepted and refused.

use crate::harness::tenant::*;
use jsonwebtoken::Algorithm;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn valid_assertion_gets_a_token_with_the_assigned_roles() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let claims = claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], SYNC_APP_ID);
    assert_eq!(claims["appid"], app.app_id.as_str());
    assert_eq!(claims["azp"], app.app_id.as_str());
    assert_eq!(claims["oid"], app.sp_id.as_str());
    assert_eq!(claims["sub"], app.sp_id.as_str());
    assert_eq!(claims["tid"], sb.tenant_id.as_str());
    assert_eq!(claims["roles"], json!(["ADSynchronization.ReadWrite.All"]));
    assert!(claims.get("scp").is_none());
    assert!(claims["exp"].as_i64().unwrap() > now());

    // RS256 and the SHA-1 x5t are accepted too.
    let mut header = jsonwebtoken::Header::new(Algorithm::RS256);
    header.x5t = Some(cert.x5t());
    let assertion = jsonwebtoken::encode(
        &header,
        &cert.assertion_claims(&sb, &app.app_id),
        &cert.encoding,
    )
    .unwrap();
    let (status, body) = client_credentials(&sb, &app.app_id, &assertion, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The token is signed by a key in the sandbox's JWKS.
    let jwks: serde_json::Value = http()
        .get(format!("{}/discovery/v2.0/keys", sb.authority()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwks["keys"][0].clone()).unwrap();
    let key = jsonwebtoken::DecodingKey::from_jwk(&jwk).unwrap();
    let mut validation = jsonwebtoken::Validation::new(Algorithm::RS256);
    validation.set_audience(&[SYNC_APP_ID]);
    jsonwebtoken::decode::<serde_json::Value>(
        body["access_token"].as_str().unwrap(),
        &key,
        &validation,
    )
    .expect("the access token verifies with the published JWKS");
}

#[tokio::test]
async fn graph_default_scope_gives_a_graph_token_without_roles() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        GRAPH_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert!(claims.get("roles").is_none(), "{claims}");
}

#[tokio::test]
async fn assertion_signed_by_a_key_not_on_the_app_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let stranger = TestCert::new();
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &stranger.assertion(&sb, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(aadsts(&body), 700027);

    // The registered certificate named in the header, but another key signed.
    let mut header = jsonwebtoken::Header::new(Algorithm::PS256);
    header.x5t_s256 = Some(cert.x5t_s256());
    let forged = jsonwebtoken::encode(
        &header,
        &cert.assertion_claims(&sb, &app.app_id),
        &stranger.encoding,
    )
    .unwrap();
    let (status, body) = client_credentials(&sb, &app.app_id, &forged, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(aadsts(&body), 700027);
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims["aud"] = json!("https://login.microsoftonline.com/common/oauth2/v2.0/token");
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(aadsts(&body), 700023);

    // The same endpoint named by the tenant's domain is accepted.
    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims["aud"] = json!(format!(
        "{}/{}/oauth2/v2.0/token",
        sb.authority_host, sb.tenant_domain
    ));
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn issuer_different_from_subject_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims["iss"] = json!(uuid::Uuid::new_v4().to_string());
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 700021);

    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims["sub"] = json!("someone-else");
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 700021);
}

#[tokio::test]
async fn expired_or_future_assertion_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims["nbf"] = json!(now() - 1200);
    claims["iat"] = json!(now() - 1200);
    claims["exp"] = json!(now() - 600);
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 700024);

    // nbf beyond the five minutes of skew.
    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims["nbf"] = json!(now() + 900);
    claims["exp"] = json!(now() + 1200);
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 700024);

    // Within the skew is fine.
    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims["nbf"] = json!(now() + 60);
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn reused_jti_is_accepted_and_missing_jti_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    // Entra does not refuse an assertion presented again within its lifetime
    // (MSAL reuses one until it nears expiry).
    let assertion = cert.assertion(&sb, &app.app_id);
    let (status, body) = client_credentials(&sb, &app.app_id, &assertion, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = client_credentials(&sb, &app.app_id, &assertion, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let mut claims = cert.assertion_claims(&sb, &app.app_id);
    claims.as_object_mut().unwrap().remove("jti");
    let (status, body) =
        client_credentials(&sb, &app.app_id, &cert.sign(&claims), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 50027);
}

#[tokio::test]
async fn unknown_client_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, body) =
        client_credentials(&sb, &unknown, &cert.assertion(&sb, &unknown), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "unauthorized_client");
    assert_eq!(aadsts(&body), 700016);
}

#[tokio::test]
async fn key_outside_its_validity_dates_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    // Re-register the key so it starts tomorrow (still within the certificate's validity):
    // a credential update, which takes an Application Administrator.
    let admin = user_token(&sb, "app.admin").await;
    let start = entra_connect::domain::format_time(
        time::OffsetDateTime::now_utc() + time::Duration::days(1),
    );
    let mut key = cert.key_credential();
    key["startDateTime"] = json!(start);
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/applications/{}", app.object_id),
        Some(json!({ "keyCredentials": [key] })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(aadsts(&body), 700027);
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("expired or not yet valid"),
        "{body}"
    );

    // Back to the certificate's own dates: accepted.
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/applications/{}", app.object_id),
        Some(json!({ "keyCredentials": [cert.key_credential()] })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn application_without_service_principal_is_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let admin = admin_token(&sb).await;
    let (_, app_id) = create_app(&sb, &admin, "no-sp", vec![cert.key_credential()]).await;
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(aadsts(&body), 7000229);

    create_sp(&sb, &admin, &app_id).await;
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // No role assigned: a token, but without roles.
    assert!(
        claims(body["access_token"].as_str().unwrap())
            .get("roles")
            .is_none()
    );
}

#[tokio::test]
async fn client_secrets_and_bad_scopes_are_refused() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let (status, body) = token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app.app_id),
            ("client_secret", "hunter2"),
            ("scope", SYNC_SCOPE),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(aadsts(&body), 7000215);

    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/ADSynchronization.ReadWrite.All",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 1002012);

    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        "https://graph.microsoft.com/.default 6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 70011);

    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        "api://nothing-here/.default",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 500011);
}

#[tokio::test]
async fn unknown_tenant_is_refused() {
    let sb = start().await;
    let (status, body) = post_form(
        &format!(
            "{}/fabrikam.onmicrosoft.com/oauth2/v2.0/token",
            sb.authority_host
        ),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 90002);
    let response = http()
        .get(format!(
            "{}/fabrikam.onmicrosoft.com/v2.0/.well-known/openid-configuration",
            sb.authority_host
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
}
