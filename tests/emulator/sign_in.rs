//! Delegated sign-in: the device code flow (pending, slow_down, expired,
//! declined, approved, auto-approve) and the password grant.

use crate::harness::tenant::*;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;

/// How long a code lives: long enough that one never expires while a test
/// sleeps its intervals, however slow the machine.
const LIFETIME: Duration = Duration::from_secs(60);
/// The lifetime of a code that a test waits out.
const SHORT_LIFETIME: Duration = Duration::from_secs(3);

fn quick_device_flow() -> SandboxConfig {
    SandboxConfig {
        device_code_lifetime: LIFETIME,
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

/// What the tests' device codes ask for.
const DEVICE_SCOPE: &str = "https://graph.microsoft.com/.default offline_access";

async fn decide(sb: &SandboxHandle, code: &Value, upn: &str, decline: bool) -> StatusCode {
    http()
        .post(format!("{}/sandbox/device/approve", sb.authority_host))
        .json(&json!({ "user_code": code["user_code"], "upn": upn, "decline": decline }))
        .send()
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn device_code_is_pending_until_approved_then_redeemed_once() {
    let sb = start_with(quick_device_flow()).await;
    let code = device_code(&sb, DEVICE_SCOPE).await;
    assert_eq!(code["interval"], 1);
    assert_eq!(code["expires_in"], LIFETIME.as_secs());
    assert!(
        code["verification_uri"]
            .as_str()
            .unwrap()
            .starts_with(&sb.authority_host),
        "{code}"
    );
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_pending", "{body}");

    assert_eq!(
        decide(&sb, &code, &sb.admin_upn, false).await,
        StatusCode::OK
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["upn"], sb.admin_upn.as_str());
    assert_eq!(claims["aud"], "https://graph.microsoft.com");
    assert!(
        claims["scp"]
            .as_str()
            .unwrap()
            .contains("Application.ReadWrite.All")
    );
    assert!(
        claims["wids"]
            .as_array()
            .unwrap()
            .contains(&json!("8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"))
    );

    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant", "{body}");
}

#[tokio::test]
async fn polling_faster_than_the_interval_gets_slow_down() {
    let sb = start_with(quick_device_flow()).await;
    let code = device_code(&sb, DEVICE_SCOPE).await;
    let (_, first) = poll_device_code(&sb, &code).await;
    assert_eq!(first["error"], "authorization_pending", "{first}");
    let (status, second) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(second["error"], "slow_down", "{second}");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, third) = poll_device_code(&sb, &code).await;
    assert_eq!(third["error"], "authorization_pending", "{third}");
}

#[tokio::test]
async fn device_code_expires() {
    let sb = start_with(SandboxConfig {
        device_code_lifetime: SHORT_LIFETIME,
        ..quick_device_flow()
    })
    .await;
    let code = device_code(&sb, DEVICE_SCOPE).await;
    tokio::time::sleep(SHORT_LIFETIME + Duration::from_millis(100)).await;
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "expired_token", "{body}");
    assert_eq!(aadsts(&body), 70020);
    // An expired code can no longer be approved.
    assert_eq!(
        decide(&sb, &code, &sb.admin_upn, false).await,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn declined_device_code_is_refused() {
    let sb = start_with(quick_device_flow()).await;
    let code = device_code(&sb, DEVICE_SCOPE).await;
    assert_eq!(
        decide(&sb, &code, &sb.admin_upn, true).await,
        StatusCode::OK
    );
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "authorization_declined", "{body}");
}

#[tokio::test]
async fn auto_approve_signs_the_user_in_after_a_short_delay() {
    let mut config = quick_device_flow();
    config.auto_approve = Some("global.admin@contoso-sandbox.onmicrosoft.com".into());
    // Long enough that the first poll, right after the code, comes before it.
    config.auto_approve_delay = Duration::from_secs(3);
    let sb = start_with(config).await;
    let code = device_code(&sb, DEVICE_SCOPE).await;
    let (_, body) = poll_device_code(&sb, &code).await;
    assert_eq!(body["error"], "authorization_pending", "{body}");
    let mut token = None;
    for _ in 0..8 {
        tokio::time::sleep(Duration::from_millis(1050)).await;
        let (status, body) = poll_device_code(&sb, &code).await;
        if status == StatusCode::OK {
            token = Some(body["access_token"].as_str().unwrap().to_string());
            break;
        }
        assert_eq!(body["error"], "authorization_pending", "{body}");
    }
    let token = token.expect("approved within 8 s");
    assert_eq!(
        claims(&token)["upn"],
        "global.admin@contoso-sandbox.onmicrosoft.com"
    );
}

#[tokio::test]
async fn approval_page_checks_the_password() {
    let sb = start_with(quick_device_flow()).await;
    let page = http()
        .get(format!("{}/devicelogin", sb.authority_host))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<form"));
    let code = device_code(&sb, DEVICE_SCOPE).await;
    let submit = |password: String| {
        let user_code = code["user_code"].as_str().unwrap().to_string();
        let url = format!("{}/devicelogin", sb.authority_host);
        let upn = sb.admin_upn.clone();
        async move {
            let (status, _) = post_form_raw(
                &url,
                &[
                    ("user_code", &user_code),
                    ("upn", &upn),
                    ("password", &password),
                    ("action", "approve"),
                ],
            )
            .await;
            status
        }
    };
    assert_eq!(submit("wrong".into()).await, StatusCode::BAD_REQUEST);
    assert_eq!(submit(sb.admin_password.clone()).await, StatusCode::OK);
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn password_grant_signs_in_users_without_mfa() {
    let sb = start().await;
    let sync = sb
        .user("Sync_CONNECT01_1a2b3c4d5e6f")
        .expect("sync account")
        .clone();
    assert!(
        sync.roles
            .contains(&"Directory Synchronization Accounts".to_string())
    );
    let (status, body) = password_grant(&sb, &sync.upn, &sync.password, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["aud"], SYNC_APP_ID);
    assert_eq!(claims["upn"], sync.upn.as_str());
    assert_eq!(claims["scp"], "user_impersonation");

    let token = admin_token(&sb).await;
    assert_eq!(claims_of(&token)["upn"], sb.admin_upn.as_str());
}

fn claims_of(token: &str) -> Value {
    claims(token)
}

#[tokio::test]
async fn password_grant_refuses_a_bad_password() {
    let sb = start().await;
    let (status, body) = password_grant(&sb, &sb.admin_upn, "not-the-password", GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(aadsts(&body), 50126);

    let (status, body) = password_grant(
        &sb,
        "nobody@contoso-sandbox.onmicrosoft.com",
        "x",
        GRAPH_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 50034);
}

#[tokio::test]
async fn password_grant_refuses_a_user_who_needs_mfa() {
    let sb = start().await;
    let user = sb.user("mfa.admin").expect("MFA user").clone();
    assert!(user.mfa_required);
    let (status, body) = password_grant(&sb, &user.upn, &user.password, GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(aadsts(&body), 50076);
    assert_eq!(body["suberror"], "basic_action");
}

#[tokio::test]
async fn password_grant_needs_a_public_client_and_consented_scopes() {
    let sb = start().await;
    let (status, body) = token_request(
        &sb,
        &[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", &sb.admin_upn),
            ("password", &sb.admin_password),
            ("scope", "https://graph.microsoft.com/Mail.Send"),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 70011);

    let (status, body) = token_request(
        &sb,
        &[
            ("grant_type", "password"),
            ("client_id", "93625bc8-bfe2-437a-97e0-3d0060024faa"),
            ("username", &sb.admin_upn),
            ("password", &sb.admin_password),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 700016);
}

async fn post_form_raw(url: &str, form: &[(&str, &str)]) -> (StatusCode, String) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = http()
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    (response.status(), response.text().await.unwrap())
}
