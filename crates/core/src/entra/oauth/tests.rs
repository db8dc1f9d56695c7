//! The grants against a scripted token endpoint on loopback (real HTTP through
//! our client), with tokio's clock paused so the device poll's timing can be
//! checked to the second without waiting for it.

use super::*;
use crate::entra::http::{RetryNotice, RetryPolicy, RetryReason};
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use base64::Engine;
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::time::Instant as TokioInstant;

/// A token endpoint that answers from a script (the last answer repeats) and
/// records when each request came and what it said.
#[derive(Default)]
struct Script {
    answers: Mutex<VecDeque<(u16, Value)>>,
    device: Mutex<Option<Value>>,
    requests: Mutex<Vec<(TokioInstant, HashMap<String, String>)>>,
}

impl Script {
    fn requests(&self) -> Vec<(TokioInstant, HashMap<String, String>)> {
        self.requests.lock().unwrap().clone()
    }

    fn times(&self) -> Vec<TokioInstant> {
        self.requests().into_iter().map(|(at, _)| at).collect()
    }
}

async fn token(State(script): State<Arc<Script>>, body: String) -> impl IntoResponse {
    let form = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    script
        .requests
        .lock()
        .unwrap()
        .push((TokioInstant::now(), form));
    let mut answers = script.answers.lock().unwrap();
    let (status, body) = match answers.len() {
        0 => (500, json!({})),
        1 => answers[0].clone(),
        _ => answers.pop_front().unwrap(),
    };
    (StatusCode::from_u16(status).unwrap(), axum::Json(body))
}

async fn devicecode(State(script): State<Arc<Script>>) -> impl IntoResponse {
    let answer = script.device.lock().unwrap().clone();
    axum::Json(answer.unwrap_or_else(|| device_answer(900, Some(5))))
}

struct Endpoint {
    script: Arc<Script>,
    token: Url,
    device: Url,
    http: HttpClient,
    notices: Arc<Mutex<Vec<RetryNotice>>>,
    clock: PausedTime,
}

/// Wall time that moves with tokio's paused clock, counted from when the
/// endpoint was served: a device code expires as the test's time passes.
#[derive(Clone, Copy)]
struct PausedTime {
    origin: TokioInstant,
}

impl Clock for PausedTime {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + (TokioInstant::now() - self.origin)
    }
}

async fn serve(answers: Vec<(u16, Value)>) -> Endpoint {
    let script = Arc::new(Script::default());
    script.answers.lock().unwrap().extend(answers);
    let app = Router::new()
        .route("/token", post(token))
        .route("/devicecode", post(devicecode))
        .with_state(script.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let notices = Arc::new(Mutex::new(Vec::new()));
    let seen = notices.clone();
    let http = HttpClient::new(
        None,
        RetryPolicy::default(),
        Arc::new(move |notice| seen.lock().unwrap().push(notice)),
    )
    .unwrap();
    Endpoint {
        script,
        token: format!("{base}/token").parse().unwrap(),
        device: format!("{base}/devicecode").parse().unwrap(),
        http,
        notices,
        clock: PausedTime {
            origin: TokioInstant::now(),
        },
    }
}

fn device_answer(expires_in: u64, interval: Option<u64>) -> Value {
    let mut answer = json!({
        "device_code": "device-code-secret",
        "user_code": "ABCD-EFGH",
        "verification_uri": "https://microsoft.com/devicelogin",
        "expires_in": expires_in,
        "message": "To sign in, use a web browser to open the page https://microsoft.com/devicelogin and enter the code ABCD-EFGH to authenticate.",
    });
    if let Some(interval) = interval {
        answer["interval"] = json!(interval);
    }
    answer
}

fn oauth_error(error: &str, code: u32, description: &str) -> (u16, Value) {
    (
        400,
        json!({
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "trace_id": "t",
        }),
    )
}

fn pending() -> (u16, Value) {
    oauth_error(
        "authorization_pending",
        70016,
        "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
    )
}

fn slow_down() -> (u16, Value) {
    oauth_error("slow_down", 70016, "Poll less often.")
}

/// A token whose payload says `scp`.
fn issued(scp: &str) -> (u16, Value) {
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(json!({ "tid": "tenant", "scp": scp }).to_string());
    (
        200,
        json!({
            "token_type": "Bearer",
            "access_token": format!("e30.{payload}.sig"),
            "expires_in": 3600,
            "scope": "https://graph.microsoft.com/.default",
        }),
    )
}

fn graph_default() -> Vec<String> {
    vec!["https://graph.microsoft.com/.default".to_string()]
}

const CLIENT: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

async fn start(endpoint: &Endpoint) -> DeviceCode {
    start_device_code(
        &endpoint.http,
        &endpoint.device,
        CLIENT,
        &graph_default(),
        Some("admin@contoso.example"),
        &endpoint.clock,
    )
    .await
    .unwrap()
}

async fn poll(endpoint: &Endpoint, code: &DeviceCode) -> Result<AccessToken, EntraError> {
    poll_device_code(
        &endpoint.http,
        &endpoint.token,
        CLIENT,
        code,
        &endpoint.clock,
    )
    .await
}

/// Seconds between consecutive requests.
fn gaps(times: &[TokioInstant]) -> Vec<u64> {
    times
        .windows(2)
        .map(|pair| (pair[1] - pair[0]).as_secs())
        .collect()
}

#[tokio::test(start_paused = true)]
async fn device_code_start_reads_microsofts_answer() {
    let endpoint = serve(vec![]).await;
    let code = start(&endpoint).await;
    assert_eq!(code.user_code, "ABCD-EFGH");
    assert_eq!(code.verification_uri, "https://microsoft.com/devicelogin");
    assert_eq!((code.expires_in, code.interval), (900, 5));
    assert!(code.message.starts_with("To sign in"));
    assert!(!format!("{code:?}").contains("device-code-secret"));

    // The v1 spelling, and no interval: 5 seconds.
    let mut v1 = device_answer(600, None);
    v1["verification_url"] = v1["verification_uri"].take();
    v1.as_object_mut().unwrap().remove("verification_uri");
    *endpoint.script.device.lock().unwrap() = Some(v1);
    let code = start(&endpoint).await;
    assert_eq!(code.verification_uri, "https://microsoft.com/devicelogin");
    assert_eq!((code.expires_in, code.interval), (600, 5));
}

/// Numbers from the wire that would overflow the clock: a device code's
/// expiry or interval beyond a day is refused, a token's lifetime held to a day.
#[tokio::test(start_paused = true)]
async fn lifetimes_beyond_a_day_never_overflow_the_clock() {
    let endpoint = serve(vec![]).await;
    for (expires_in, interval) in [(u64::MAX / 2, None), (900, Some(u64::MAX / 2))] {
        *endpoint.script.device.lock().unwrap() = Some(device_answer(expires_in, interval));
        let error = start_device_code(
            &endpoint.http,
            &endpoint.device,
            CLIENT,
            &graph_default(),
            None,
            &endpoint.clock,
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&error, EntraError::Parse { why, .. } if why.contains("beyond a day")),
            "{error:?}"
        );
    }

    let (status, mut answer) = issued("User.Read");
    answer["expires_in"] = json!(u64::MAX / 2);
    *endpoint.script.device.lock().unwrap() = Some(device_answer(900, None));
    let endpoint_with_token = serve(vec![(status, answer)]).await;
    let code = start(&endpoint_with_token).await;
    let token = poll(&endpoint_with_token, &code).await.unwrap();
    assert_eq!(token.lifetime, Duration::from_secs(24 * 3600));
}

#[tokio::test(start_paused = true)]
async fn pending_keeps_polling_at_the_interval() {
    let endpoint = serve(vec![pending(), pending(), pending(), issued("User.Read")]).await;
    let code = start(&endpoint).await;
    let started = TokioInstant::now();
    let token = poll(&endpoint, &code).await.unwrap();
    assert_eq!(token.lifetime, Duration::from_secs(3600));
    assert_eq!(token.claims().tid.as_deref(), Some("tenant"));
    let times = endpoint.script.times();
    assert_eq!(times.len(), 4);
    assert_eq!((times[0] - started).as_secs(), 0);
    assert_eq!(gaps(&times), [5, 5, 5]);
    let (_, form) = &endpoint.script.requests()[0];
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:device_code"
    );
    assert_eq!(form["device_code"], "device-code-secret");
    assert_eq!(form["client_id"], CLIENT);
}

#[tokio::test(start_paused = true)]
async fn pending_is_a_state_even_with_http_200() {
    let (_, body) = pending();
    let (_, slow) = slow_down();
    let endpoint = serve(vec![(200, body), (200, slow), issued("User.Read")]).await;
    let code = start(&endpoint).await;
    poll(&endpoint, &code).await.unwrap();
    assert_eq!(gaps(&endpoint.script.times()), [5, 10]);
}

#[tokio::test(start_paused = true)]
async fn slow_down_adds_five_seconds_for_every_later_poll() {
    let endpoint = serve(vec![
        pending(),
        slow_down(),
        pending(),
        slow_down(),
        pending(),
        issued("User.Read"),
    ])
    .await;
    let code = start(&endpoint).await;
    poll(&endpoint, &code).await.unwrap();
    assert_eq!(gaps(&endpoint.script.times()), [5, 10, 10, 15, 15]);
}

#[tokio::test(start_paused = true)]
async fn polling_stops_when_the_code_expires() {
    let endpoint = serve(vec![pending()]).await;
    *endpoint.script.device.lock().unwrap() = Some(device_answer(12, Some(5)));
    let code = start(&endpoint).await;
    let started = TokioInstant::now();
    let error = poll(&endpoint, &code).await.unwrap_err();
    assert!(matches!(error, EntraError::DeviceCodeExpired), "{error:?}");
    let times = endpoint.script.times();
    assert_eq!(gaps(&times), [5, 5]);
    assert!(
        times
            .iter()
            .all(|at| *at - started <= Duration::from_secs(12))
    );
    // Given up at the first check past expires_in, not later.
    assert_eq!((TokioInstant::now() - started).as_secs(), 15);
}

#[tokio::test(start_paused = true)]
async fn expiry_counts_from_when_the_code_was_issued() {
    let endpoint = serve(vec![pending()]).await;
    *endpoint.script.device.lock().unwrap() = Some(device_answer(12, Some(5)));
    let code = start(&endpoint).await;
    // The administrator took 8 s to read the code before polling began.
    tokio::time::sleep(Duration::from_secs(8)).await;
    let error = poll(&endpoint, &code).await.unwrap_err();
    assert!(matches!(error, EntraError::DeviceCodeExpired), "{error:?}");
    assert_eq!(endpoint.script.times().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn dropping_the_poll_stops_it() {
    let endpoint = serve(vec![pending()]).await;
    let code = start(&endpoint).await;
    let (http, token_url, script, clock) = (
        endpoint.http.clone(),
        endpoint.token.clone(),
        endpoint.script.clone(),
        endpoint.clock,
    );
    let task =
        tokio::spawn(
            async move { poll_device_code(&http, &token_url, CLIENT, &code, &clock).await },
        );
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(script.times().len(), 3);
    task.abort();
    assert!(task.await.unwrap_err().is_cancelled());
    tokio::time::sleep(Duration::from_secs(120)).await;
    assert_eq!(script.times().len(), 3);
}

#[tokio::test(start_paused = true)]
async fn the_server_ending_the_flow_is_typed() {
    let declined = oauth_error(
        "authorization_declined",
        70000,
        "The user declined the sign-in request.",
    );
    let endpoint = serve(vec![pending(), declined]).await;
    let code = start(&endpoint).await;
    let error = poll(&endpoint, &code).await.unwrap_err();
    assert!(matches!(error, EntraError::DeviceCodeDeclined), "{error:?}");

    let expired = oauth_error("expired_token", 70020, "This device code has expired.");
    let endpoint = serve(vec![expired]).await;
    let code = start(&endpoint).await;
    let error = poll(&endpoint, &code).await.unwrap_err();
    assert!(matches!(error, EntraError::DeviceCodeExpired), "{error:?}");

    // Anything else keeps its AADSTS number from error_codes, even where the
    // description does not repeat it.
    let approval = oauth_error(
        "invalid_grant",
        90094,
        "An administrator must grant permission to this app.",
    );
    let endpoint = serve(vec![pending(), approval]).await;
    let code = start(&endpoint).await;
    match poll(&endpoint, &code).await.unwrap_err() {
        EntraError::Token {
            status,
            code,
            aadsts,
            description,
        } => {
            assert_eq!(status, 400);
            assert_eq!(code, OAuthErrorCode::InvalidGrant);
            assert_eq!(aadsts, Some(90094));
            assert_eq!(
                description,
                "An administrator must grant permission to this app."
            );
        }
        other => panic!("expected a token error, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_lost_connection_ends_the_poll_with_the_transport_error() {
    let endpoint = serve(vec![pending()]).await;
    let code = start(&endpoint).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let http = HttpClient::new(
        None,
        RetryPolicy {
            max_attempts: 2,
            ..RetryPolicy::default()
        },
        Arc::new(|_| {}),
    )
    .unwrap();
    let token_url: Url = format!("http://{closed}/token").parse().unwrap();
    let started = TokioInstant::now();
    let error = poll_device_code(&http, &token_url, CLIENT, &code, &endpoint.clock)
        .await
        .unwrap_err();
    assert!(matches!(error, EntraError::Transport { .. }), "{error:?}");
    assert!(TokioInstant::now() - started < Duration::from_secs(60));
}

#[tokio::test(start_paused = true)]
async fn client_credentials_sign_a_fresh_assertion_for_every_attempt() {
    let not_yet = oauth_error(
        "unauthorized_client",
        700016,
        "AADSTS700016: Application with identifier 'x' was not found in the directory.",
    );
    let endpoint = serve(vec![not_yet, issued("")]).await;
    let signed = std::sync::atomic::AtomicU32::new(0);
    let assertion = || {
        let n = signed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Secret::new(format!("assertion-{n}")))
    };
    let token = client_credentials(
        &endpoint.http,
        &endpoint.token,
        "app-id",
        "https://graph.microsoft.com/.default",
        assertion,
    )
    .await
    .unwrap();
    assert!(token.scopes().is_empty());
    let requests = endpoint.script.requests();
    assert_eq!(requests.len(), 2);
    for (n, (_, form)) in requests.iter().enumerate() {
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["client_id"], "app-id");
        assert_eq!(form["scope"], "https://graph.microsoft.com/.default");
        assert_eq!(form["client_assertion_type"], JWT_BEARER);
        assert_eq!(form["client_assertion"], format!("assertion-{n}"));
        assert!(!form.contains_key("client_secret"));
    }
    // The retry was announced as replication, by our one HTTP client.
    let notices = endpoint.notices.lock().unwrap().clone();
    assert_eq!(notices.len(), 1);
    assert!(
        matches!(notices[0].reason, RetryReason::NotVisibleYet { .. }),
        "{notices:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn password_grant_reports_aadsts_and_sends_the_scopes() {
    let wrong = oauth_error(
        "invalid_grant",
        50126,
        "AADSTS50126: Error validating credentials due to invalid username or password.\r\nTrace ID: x",
    );
    let endpoint = serve(vec![wrong, issued("Application.ReadWrite.All User.Read")]).await;
    let scopes = vec![
        "https://graph.microsoft.com/Application.ReadWrite.All".to_string(),
        "https://graph.microsoft.com/User.Read".to_string(),
    ];
    let secret = Secret::new("hunter2");
    let error = password(
        &endpoint.http,
        &endpoint.token,
        CLIENT,
        &scopes,
        "admin@contoso.example",
        &secret,
    )
    .await
    .unwrap_err();
    assert_eq!(error.aadsts(), Some(50126));
    assert!(
        error
            .to_string()
            .ends_with("Check the user name and password."),
        "{error}"
    );
    let token = password(
        &endpoint.http,
        &endpoint.token,
        CLIENT,
        &scopes,
        "admin@contoso.example",
        &secret,
    )
    .await
    .unwrap();
    assert_eq!(
        token.scopes(),
        ["Application.ReadWrite.All", "User.Read"]
            .map(String::from)
            .into()
    );
    let (_, form) = &endpoint.script.requests()[0];
    assert_eq!(form["grant_type"], "password");
    assert_eq!(form["username"], "admin@contoso.example");
    assert_eq!(form["password"], "hunter2");
    assert_eq!(form["scope"], scopes.join(" "));
}

#[tokio::test(start_paused = true)]
async fn answers_that_are_not_oauth_are_parse_errors() {
    for answer in [
        (200, json!({ "unexpected": true })),
        (404, json!({ "message": "not here" })),
    ] {
        let endpoint = serve(vec![answer]).await;
        let error = password(
            &endpoint.http,
            &endpoint.token,
            CLIENT,
            &graph_default(),
            "u",
            &Secret::new("p"),
        )
        .await
        .unwrap_err();
        match error {
            EntraError::Parse { url, .. } => assert_eq!(url, endpoint.token.as_str()),
            other => panic!("expected a parse error, got {other:?}"),
        }
    }
}

/// The wizard runs the sign-in on a spawned task.
#[allow(dead_code)]
fn device_flow_futures_can_move_between_threads(http: &HttpClient, url: &Url, code: &DeviceCode) {
    fn send<T: Send>(_: T) {}
    let clock = crate::domain::SystemClock;
    send(start_device_code(http, url, CLIENT, &[], None, &clock));
    send(poll_device_code(http, url, CLIENT, code, &clock));
    send(password(http, url, CLIENT, &[], "u", &Secret::new("p")));
}
