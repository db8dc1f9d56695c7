//! The authorization code flow with PKCE against the sandbox, over HTTP on
//! loopback as a browser and a client would go through it: `/authorize`
//! (approved at once with auto-approve, or through the sign-in page with its
//! second-factor step), the redirect with `code` and `state`, and the
//! `authorization_code` grant with its refusals. And the sandbox's Conditional
//! Access policies: device code blocked, MFA required of everyone.

use crate::harness::tenant::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_connect::sandbox::{ConditionalAccess, SandboxConfig, SandboxHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::time::Duration;

/// A PKCE verifier: 43 to 128 unreserved characters (RFC 7636).
const VERIFIER: &str = "sandbox-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
/// Where the client listens: any port of the registered `http://localhost`.
const REDIRECT: &str = "http://localhost:43817";
const SCOPE: &str = "https://graph.microsoft.com/User.Read openid profile offline_access";
const STATE: &str = "state-from-the-client";
const NONCE: &str = "nonce-from-the-client";

fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// A sandbox that approves every sign-in as the seeded `name` at once.
async fn approving(name: &str, config: SandboxConfig) -> SandboxHandle {
    let upn = format!("{name}@contoso-sandbox.onmicrosoft.com");
    start_with(SandboxConfig {
        auto_approve: Some(upn),
        ..config
    })
    .await
}

/// The authorization request a public client makes, with `changes` (an
/// empty value drops the parameter).
fn authorize_url(sb: &SandboxHandle, changes: &[(&str, &str)]) -> String {
    let challenge = s256(VERIFIER);
    let mut parameters: Vec<(&str, &str)> = vec![
        ("client_id", GRAPH_CLI),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", SCOPE),
        ("state", STATE),
        ("nonce", NONCE),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ];
    for (name, value) in changes {
        parameters.retain(|(n, _)| n != name);
        if !value.is_empty() {
            parameters.push((name, value));
        }
    }
    let query = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&parameters)
        .finish();
    format!("{}/oauth2/v2.0/authorize?{query}", sb.authority())
}

async fn get(url: &str) -> reqwest::Response {
    http().get(url).send().await.expect("GET")
}

async fn post_page(url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    http().post(url).form(form).send().await.expect("POST")
}

/// The query of the 302 `response` answers with, which must go to `REDIRECT`.
fn redirected(response: &reqwest::Response) -> HashMap<String, String> {
    assert_eq!(response.status(), StatusCode::FOUND);
    let location = response.headers()[reqwest::header::LOCATION]
        .to_str()
        .expect("a Location");
    let url = url::Url::parse(location).expect("an absolute Location");
    // No path registered: Entra answers with `/`.
    assert_eq!(url[..url::Position::AfterPath], format!("{REDIRECT}/"));
    url.query_pairs().into_owned().collect()
}

/// The code of a 302, checked to carry the client's state.
fn code_of(response: &reqwest::Response) -> String {
    let query = redirected(response);
    assert_eq!(
        query.get("state").map(String::as_str),
        Some(STATE),
        "{query:?}"
    );
    query
        .get("code")
        .cloned()
        .unwrap_or_else(|| panic!("no code: {query:?}"))
}

/// A code for the default request, approved at once.
async fn approved_code(sb: &SandboxHandle) -> String {
    code_of(&get(&authorize_url(sb, &[])).await)
}

/// A sandbox of `config` approving every sign-in as hybrid.admin, and a
/// code it issued for the default request.
async fn issued_code(config: SandboxConfig) -> (SandboxHandle, String) {
    let sb = approving("hybrid.admin", config).await;
    let code = approved_code(&sb).await;
    (sb, code)
}

/// Redeems `code` with `verifier` and `redirect_uri`, as MSAL does.
async fn redeem(
    sb: &SandboxHandle,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> (StatusCode, Value) {
    token_request(
        sb,
        &[
            ("grant_type", "authorization_code"),
            ("client_id", GRAPH_CLI),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("scope", SCOPE),
            ("client_info", "1"),
        ],
    )
    .await
}

/// A refusal as Entra's token endpoint writes it: `error`, the AADSTS code
/// in `error_codes` and at the head of `error_description`, and the ids
/// that find it in the sign-in logs.
fn assert_refused(status: StatusCode, body: &Value, error: &str, code: u64) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], error, "{body}");
    assert_eq!(aadsts(body), code, "{body}");
    for id in ["trace_id", "correlation_id", "timestamp"] {
        let value = body[id].as_str().unwrap_or_default();
        assert!(!value.is_empty(), "{id}: {body}");
        assert!(
            body["error_description"].as_str().unwrap().contains(value),
            "{body}"
        );
    }
}

/// Redeeming `code` with `wrong` (a verifier and a redirect URI) is refused
/// with `aadsts`, and leaves the code good for the right ones.
async fn refused_then_redeemed(sb: &SandboxHandle, code: &str, wrong: (&str, &str), aadsts: u64) {
    let (status, body) = redeem(sb, code, wrong.0, wrong.1).await;
    assert_refused(status, &body, "invalid_grant", aadsts);
    let (status, body) = redeem(sb, code, VERIFIER, REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

/// The value of the hidden input `name` in a page.
fn hidden(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// A browser at the sign-in page of one authorization request.
struct Browser<'s> {
    sb: &'s SandboxHandle,
    flow: String,
}

impl<'s> Browser<'s> {
    /// Opens the sign-in page of the default request with `changes`: the
    /// browser, and the page.
    async fn open(sb: &'s SandboxHandle, changes: &[(&str, &str)]) -> (Browser<'s>, String) {
        let page = get(&authorize_url(sb, changes)).await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let flow = hidden(&html, "flow");
        (Browser { sb, flow }, html)
    }

    async fn post(&self, fields: &[(&str, &str)]) -> reqwest::Response {
        let mut form = vec![("flow", self.flow.as_str())];
        form.extend_from_slice(fields);
        post_page(&format!("{}/login", self.sb.authority()), &form).await
    }

    /// Submits the password step.
    async fn password(&self, upn: &str, password: &str) -> reqwest::Response {
        self.post(&[("upn", upn), ("password", password)]).await
    }

    /// Answers the second-factor step `token` with `action` (approve or decline).
    async fn second_factor(&self, token: &str, action: &str) -> reqwest::Response {
        self.post(&[("mfa", token), ("action", action)]).await
    }
}

#[tokio::test]
async fn auto_approved_code_flow_redirects_with_code_and_state_then_redeems_for_user_tokens() {
    let (sb, code) = issued_code(SandboxConfig::default()).await;
    let (status, body) = redeem(&sb, &code, VERIFIER, REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let access = claims(body["access_token"].as_str().unwrap());
    assert_eq!(access["upn"], sb.admin_upn.as_str());
    assert_eq!(access["aud"], "https://graph.microsoft.com");
    assert_eq!(access["scp"], "User.Read");
    assert_eq!(access["azp"], GRAPH_CLI);
    let id = claims(body["id_token"].as_str().expect("an ID token for openid"));
    assert_eq!(id["nonce"], NONCE);
    assert_eq!(id["aud"], GRAPH_CLI);
    assert_eq!(id["preferred_username"], sb.admin_upn.as_str());
    assert!(body["refresh_token"].as_str().is_some(), "{body}");
    let info = URL_SAFE_NO_PAD
        .decode(body["client_info"].as_str().unwrap())
        .unwrap();
    let info: Value = serde_json::from_slice(&info).unwrap();
    assert_eq!(info, json!({ "uid": access["oid"], "utid": sb.tenant_id }));
}

#[tokio::test]
async fn sign_in_page_takes_the_password_then_the_second_factor_of_an_mfa_user() {
    let sb = start().await;
    let user = sb.user("mfa.admin").expect("MFA user").clone();
    let (browser, html) = Browser::open(&sb, &[("login_hint", &user.upn)]).await;
    assert!(
        html.contains("Microsoft Graph Command Line Tools"),
        "{html}"
    );

    let wrong = browser.password(&user.upn, "wrong").await;
    assert_eq!(wrong.status(), StatusCode::BAD_REQUEST);
    assert!(wrong.headers().get(reqwest::header::LOCATION).is_none());

    let step = browser.password(&user.upn, &user.password).await;
    assert_eq!(
        step.status(),
        StatusCode::OK,
        "the second factor comes before any code"
    );
    let html = step.text().await.unwrap();
    assert!(html.contains("Approve sign-in request"), "{html}");
    let token = hidden(&html, "mfa");
    let code = code_of(&browser.second_factor(&token, "approve").await);
    let (status, body) = redeem(&sb, &code, VERIFIER, REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["upn"],
        user.upn.as_str()
    );

    // The sign-in is over: its step answers no more.
    let again = browser.second_factor(&token, "approve").await;
    assert_eq!(again.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn sign_in_page_signs_a_user_without_mfa_straight_in_and_a_denied_second_factor_goes_back_refused()
 {
    let sb = start().await;
    let (browser, _) = Browser::open(&sb, &[]).await;
    let code = code_of(&browser.password(&sb.admin_upn, &sb.admin_password).await);
    assert_eq!(
        redeem(&sb, &code, VERIFIER, REDIRECT).await.0,
        StatusCode::OK
    );

    let user = sb.user("mfa.admin").unwrap().clone();
    let (browser, _) = Browser::open(&sb, &[]).await;
    let step = browser.password(&user.upn, &user.password).await;
    let token = hidden(&step.text().await.unwrap(), "mfa");
    let query = redirected(&browser.second_factor(&token, "decline").await);
    assert_eq!(query["error"], "access_denied", "{query:?}");
    assert!(
        query["error_description"].starts_with("AADSTS500121:"),
        "{query:?}"
    );
    assert_eq!(query["state"], STATE);
    assert!(!query.contains_key("code"));
}

#[tokio::test]
async fn a_wrong_verifier_is_refused_with_501481() {
    let (sb, code) = issued_code(SandboxConfig::default()).await;
    let other = "another-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";
    refused_then_redeemed(&sb, &code, (other, REDIRECT), 501481).await;
}

#[tokio::test]
async fn a_code_redeemed_twice_is_refused_with_54005() {
    let (sb, code) = issued_code(SandboxConfig::default()).await;
    let (status, body) = redeem(&sb, &code, VERIFIER, REDIRECT).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = redeem(&sb, &code, VERIFIER, REDIRECT).await;
    assert_refused(status, &body, "invalid_grant", 54005);
}

#[tokio::test]
async fn an_expired_code_is_refused_with_70008() {
    // A code that lives no time at all has expired by its first redemption.
    let config = SandboxConfig {
        authorization_code_lifetime: Duration::ZERO,
        ..SandboxConfig::default()
    };
    let (sb, code) = issued_code(config).await;
    let (status, body) = redeem(&sb, &code, VERIFIER, REDIRECT).await;
    assert_refused(status, &body, "invalid_grant", 70008);
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_requests_is_refused_at_redemption_with_50011() {
    let (sb, code) = issued_code(SandboxConfig::default()).await;
    // Registered too (any port of localhost), but not the one the code was asked with.
    let other = "http://localhost:43818";
    refused_then_redeemed(&sb, &code, (VERIFIER, other), 50011).await;
}

#[tokio::test]
async fn an_unregistered_redirect_uri_gets_the_50011_page_and_no_redirect() {
    let sb = approving("hybrid.admin", SandboxConfig::default()).await;
    for redirect_uri in [
        "https://attacker.example/callback",
        "http://localhost:43817/elsewhere",
        "http://127.0.0.1:43817",
    ] {
        let response = get(&authorize_url(&sb, &[("redirect_uri", redirect_uri)])).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{redirect_uri}");
        assert!(
            response.headers().get(reqwest::header::LOCATION).is_none(),
            "{redirect_uri}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains("AADSTS50011:"), "{html}");
        assert!(html.contains("Correlation ID:"), "{html}");
    }
    // And an unknown client is shown no page of the client's either.
    let response = get(&authorize_url(
        &sb,
        &[("client_id", "00000000-1111-2222-3333-444444444444")],
    ))
    .await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.text().await.unwrap().contains("AADSTS700016:"));
}

#[tokio::test]
async fn a_public_client_must_send_an_s256_challenge() {
    let sb = approving("hybrid.admin", SandboxConfig::default()).await;
    let refusals = [
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            9002325,
        ),
        (
            vec![
                ("code_challenge", VERIFIER),
                ("code_challenge_method", "plain"),
            ],
            50149,
        ),
        (vec![("code_challenge_method", "")], 50149),
        (vec![("code_challenge", "too-short")], 501491),
    ];
    for (changes, code) in refusals {
        let query = redirected(&get(&authorize_url(&sb, &changes)).await);
        assert_eq!(query["error"], "invalid_request", "{changes:?}: {query:?}");
        assert!(
            query["error_description"].starts_with(&format!("AADSTS{code}:")),
            "{query:?}"
        );
        assert_eq!(query["state"], STATE);
        assert!(!query.contains_key("code"), "{query:?}");
    }
}

#[tokio::test]
async fn block_device_code_refuses_an_approved_device_code_with_53003_and_the_browser_still_signs_in()
 {
    let sb = start_with(SandboxConfig {
        conditional_access: vec![ConditionalAccess::BlockDeviceCode],
        ..SandboxConfig::default()
    })
    .await;
    let code = device_code(&sb, GRAPH_SCOPE).await;
    let approved = http()
        .post(format!("{}/sandbox/device/approve", sb.authority_host))
        .json(&json!({ "user_code": code["user_code"], "upn": sb.admin_upn }))
        .send()
        .await
        .unwrap();
    assert_eq!(approved.status(), StatusCode::OK);
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_refused(status, &body, "interaction_required", 53003);

    // The policy blocks one flow, not the user.
    let (browser, _) = Browser::open(&sb, &[]).await;
    let code = code_of(&browser.password(&sb.admin_upn, &sb.admin_password).await);
    assert_eq!(
        redeem(&sb, &code, VERIFIER, REDIRECT).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn require_mfa_refuses_the_password_grant_with_50076_and_the_device_page_asks_for_the_second_factor()
 {
    let sb = start_with(SandboxConfig {
        conditional_access: vec![ConditionalAccess::RequireMfa],
        // Polls may follow each other at once: no slow_down to wait out.
        device_code_interval: Duration::ZERO,
        ..SandboxConfig::default()
    })
    .await;
    for name in ["hybrid.admin", "plain.user"] {
        let user = sb.user(name).expect("seeded user").clone();
        assert!(!user.mfa_required, "{name} needs MFA only by the policy");
        let (status, body) = password_grant(&sb, &user.upn, &user.password, GRAPH_SCOPE).await;
        assert_refused(status, &body, "invalid_grant", 50076);
    }
    // The directory synchronization accounts are excluded, as baselines
    // check a policy for all users does: Connect cannot do MFA.
    let sync = sb
        .user("Sync_CONNECT01_1a2b3c4d5e6f")
        .expect("seeded")
        .clone();
    let (status, body) = password_grant(&sb, &sync.upn, &sync.password, GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let code = device_code(&sb, GRAPH_SCOPE).await;
    let user_code = code["user_code"].as_str().unwrap();
    let page = format!("{}/devicelogin", sb.authority_host);
    let step = post_page(
        &page,
        &[
            ("user_code", user_code),
            ("upn", &sb.admin_upn),
            ("password", &sb.admin_password),
            ("action", "approve"),
        ],
    )
    .await;
    assert_eq!(step.status(), StatusCode::OK);
    let html = step.text().await.unwrap();
    assert!(html.contains("Approve sign-in request"), "{html}");
    let (_, pending) = poll_device_code(&sb, &code).await;
    assert_eq!(pending["error"], "authorization_pending", "{pending}");

    let token = hidden(&html, "mfa");
    let approved = post_page(
        &page,
        &[
            ("user_code", user_code),
            ("mfa", &token),
            ("action", "approve"),
        ],
    )
    .await;
    assert_eq!(approved.status(), StatusCode::OK);
    assert!(approved.text().await.unwrap().contains("Approved."));
    let (status, body) = poll_device_code(&sb, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["upn"],
        sb.admin_upn.as_str()
    );
}
