//! Browser sign-in (issue 22): the authorization code flow with PKCE against
//! the sandbox's `/authorize`, the redirect arriving at the tool's loopback
//! listener or pasted back on its standard input (an SSH console, where the
//! browser runs elsewhere and `http://localhost` does not load there). The
//! sandbox approves at once (`auto_approve`), so a plain HTTP client stands
//! in for the browser in the first tests; the last drives a real one
//! (headless Chromium) where Conditional Access blocks the device code.

use crate::harness::chromium::Chromium;
use crate::harness::process::Running;
use crate::harness::tenant;
use entra_connect::sandbox::{ConditionalAccess, SandboxConfig, SandboxHandle};
use reqwest::StatusCode;
use std::net::TcpStream;
use url::Url;

/// A sandbox whose sign-in pages approve the hybrid administrator at once.
async fn approving_sandbox() -> SandboxHandle {
    tenant::start_with(SandboxConfig {
        auto_approve: Some(tenant::seeded_upn("hybrid.admin")),
        ..SandboxConfig::default()
    })
    .await
}

/// `--json app register --upn <hybrid.admin> --sign-in HOW…` against `sb`.
fn register_args(sb: &SandboxHandle, how: &[&str]) -> Vec<String> {
    let upn = sb.user("hybrid.admin").unwrap().upn.clone();
    let mut args: Vec<String> = ["--json", "app", "register", "--upn", &upn, "--sign-in"]
        .into_iter()
        .chain(how.iter().copied())
        .map(String::from)
        .collect();
    args.extend(tenant::connection_waiting(sb));
    args
}

/// `entra-connect --json app register --upn <hybrid.admin> --sign-in browser`.
fn register_in_browser(sb: &SandboxHandle, state: &std::path::Path) -> Running {
    Running::start(state, &register_args(sb, &["browser"]), &[])
}

/// The address the sign-in printed, after checking it asks for PKCE (S256),
/// a state, a nonce and the loopback redirect.
pub(super) fn sign_in_address(running: &mut Running) -> Url {
    let event = running.event("sign_in_browser");
    let url = Url::parse(event["url"].as_str().unwrap()).unwrap();
    let field = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    assert_eq!(
        field("code_challenge_method").as_deref(),
        Some("S256"),
        "{url}"
    );
    assert_eq!(field("response_type").as_deref(), Some("code"), "{url}");
    for present in ["code_challenge", "state", "nonce"] {
        assert!(
            field(present).is_some_and(|v| v.len() >= 16),
            "{present} in {url}"
        );
    }
    let redirect = field("redirect_uri").unwrap();
    assert!(redirect.starts_with("http://localhost:"), "{redirect}");
    url
}

/// What the sandbox's sign-in answers a browser that follows `address`
/// (trusting its CA, when it has one): the redirect, with the code and state.
pub(super) async fn redirect_of(sb: &SandboxHandle, address: &Url) -> Url {
    let answer = tenant::http_for(sb)
        .get(address.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND, "{address}");
    let location = answer.headers()["location"].to_str().unwrap();
    Url::parse(location).unwrap()
}

fn port_of(redirect: &Url) -> u16 {
    redirect
        .port()
        .expect("the loopback redirect names its port")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_redirect_reaches_the_loopback_listener_which_then_closes() {
    let sb = approving_sandbox().await;
    let state = tempfile::tempdir().unwrap();
    let mut running = register_in_browser(&sb, state.path());
    let address = sign_in_address(&mut running);
    let redirect = redirect_of(&sb, &address).await;
    let code = redirect
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();

    // What a browser on this machine does with the redirect.
    let page = tenant::http().get(redirect.clone()).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(
        page.text()
            .await
            .unwrap()
            .contains("You may close this window")
    );

    let (code_exit, stdout, stderr) = running.finish();
    assert_eq!(code_exit, Some(0), "{stderr}");
    let registered: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert!(registered["app_id"].is_string(), "{stdout}");
    assert!(
        !stderr.contains(&code),
        "the authorization code was printed"
    );
    let listener = TcpStream::connect(("127.0.0.1", port_of(&redirect)));
    assert!(listener.is_err(), "the loopback listener is closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pasted_redirect_signs_in_and_one_of_another_sign_in_is_refused() {
    let sb = approving_sandbox().await;
    let state = tempfile::tempdir().unwrap();

    // Another sign-in's redirect (its state differs): refused, nothing redeemed.
    let mut running = register_in_browser(&sb, state.path());
    let address = sign_in_address(&mut running);
    let mut forged = redirect_of(&sb, &address).await;
    let pairs: Vec<(String, String)> = forged
        .query_pairs()
        .map(|(k, v)| match k.as_ref() {
            "state" => (k.into_owned(), "not-this-sign-ins-state".to_string()),
            _ => (k.into_owned(), v.into_owned()),
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    running.type_line("not an address");
    running.type_line(forged.as_str());
    let (exit, _, stderr) = running.finish();
    assert_ne!(exit, Some(0));
    assert!(
        stderr.contains("does not belong to this sign-in"),
        "{stderr}"
    );

    // The address the browser ended on, pasted: signed in.
    let mut running = register_in_browser(&sb, state.path());
    let address = sign_in_address(&mut running);
    let redirect = redirect_of(&sb, &address).await;
    running.type_line(redirect.as_str());
    let (exit, stdout, stderr) = running.finish();
    assert_eq!(exit, Some(0), "{stderr}");
    assert!(stdout.contains("app_id"), "{stdout}");
    let listener = TcpStream::connect(("127.0.0.1", port_of(&redirect)));
    assert!(listener.is_err(), "the loopback listener is closed");
}

/// A tenant that blocks the device code flow and requires MFA of everyone,
/// as Microsoft's baselines recommend: a real browser signs the
/// administrator in on the sandbox's pages (password, then the second
/// factor), and its redirect reaches the tool's listener. The same browser
/// approves a device code, which the policy then refuses, and the tool says
/// so; the password grant is refused for MFA. Nothing was registered by the
/// refused sign-ins.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_browser_signs_in_where_conditional_access_blocks_the_device_code_and_requires_mfa()
{
    let sb = tenant::start_with(SandboxConfig {
        conditional_access: vec![
            ConditionalAccess::BlockDeviceCode,
            ConditionalAccess::RequireMfa,
        ],
        ..SandboxConfig::default()
    })
    .await;
    let admin = sb.user("hybrid.admin").unwrap().clone();
    let state = tempfile::tempdir().unwrap();
    let browser = Chromium::start().await;

    // The device code, approved in the browser with the second factor: refused by the policy.
    let args = register_args(&sb, &["device-code"]);
    let mut running = Running::start(state.path(), &args, &[]);
    let code = running.event("sign_in_code");
    browser
        .open(code["verification_uri"].as_str().unwrap())
        .await;
    browser
        .fill("input[name=user_code]", code["user_code"].as_str().unwrap())
        .await;
    browser.fill("input[name=upn]", &admin.upn).await;
    browser.fill("input[name=password]", &admin.password).await;
    browser.click("button[value=approve]").await;
    approve_second_factor(&browser).await;
    let (exit, _, stderr) = running.finish();
    assert_ne!(exit, Some(0));
    assert!(stderr.contains("AADSTS53003"), "{stderr}");
    assert!(stderr.contains("Conditional Access policy"), "{stderr}");
    assert!(
        stderr.contains("--sign-in browser"),
        "the way that works: {stderr}"
    );

    // The password: refused for MFA, saying what to do.
    let args = register_args(&sb, &["password", "--password-stdin"]);
    let refused = crate::harness::process::run_async(
        state.path(),
        args,
        format!("{}\n", admin.password),
        vec![],
    )
    .await;
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(
        said.contains("AADSTS50076") && said.contains("multi-factor"),
        "{said}"
    );

    // The browser: the sign-in page, the second factor, and the redirect home.
    let mut running = register_in_browser(&sb, state.path());
    let address = sign_in_address(&mut running);
    browser.open(address.as_str()).await;
    browser.fill("input[name=password]", &admin.password).await;
    browser.click("button[value=approve]").await;
    approve_second_factor(&browser).await;
    let (exit, stdout, stderr) = running.finish();
    assert_eq!(exit, Some(0), "{stderr}");
    assert!(stdout.contains("app_id"), "{stdout}");
    assert!(browser.url().await.starts_with("http://localhost:"));
    assert!(browser.text().await.contains("You may close this window"));
    browser.quit().await;
}

/// The sandbox's second-factor page, approved (it stands in for the
/// authenticator app).
async fn approve_second_factor(browser: &Chromium) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !browser.text().await.contains("Approve sign-in request") {
        assert!(
            std::time::Instant::now() < deadline,
            "no second-factor page: {}",
            browser.text().await
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.click("button[value=approve]").await;
}
