//! The device code flow: the devicecode endpoint, redemption at the token
//! endpoint, and the sandbox's stand-in for <https://microsoft.com/devicelogin>
//! (an HTML page, a JSON endpoint for tests, and `--auto-approve`).
//!
//! Approving is where consent is given, as at the platform's consent prompt
//! (`login.rs`, shared with the browser sign-in): anyone whose approval could
//! not consent ends the flow with AADSTS90094 at the next poll. A user who
//! must use MFA passes the second-factor step first; a Conditional Access
//! policy blocking the device code flow answers the approved code with
//! AADSTS53003.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - entra/identity-platform/v2-oauth2-device-code (authorization_pending, slow_down, expired_token)
//! - entra/identity-platform/v2-admin-consent (who may consent for the organization)

use super::AppState;
use super::directory::{DeviceCode, DeviceCodeState};
use super::errors::OAuthError;
use super::grants::{
    Form, admin_consent_required, check_scopes_exist, find_resource, parse_scope, public_client,
    resolve_tenant, user_claims,
};
use super::login::{self, Decision, SignInError, Step};
use super::tokens::AccessClaims;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/devicelogin", get(login_page).post(login_submit))
        .route("/sandbox/device/approve", post(approve_json))
}

#[derive(Debug, Serialize)]
pub(crate) struct DeviceCodeResponse {
    user_code: String,
    device_code: String,
    verification_uri: String,
    expires_in: u64,
    interval: u64,
    message: String,
}

fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs_f64().ceil().max(1.0) as u64
}

pub(crate) async fn device_code(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<DeviceCodeResponse>, OAuthError> {
    let authority = resolve_tenant(&state, &tenant)?;
    let form = Form::parse(&body);
    authority.admit(&state, &form)?;
    let instant = Instant::now();
    let scope_text = form.require("scope")?.to_string();
    let (client_id, user_code, device_code, approver) = {
        let mut directory = state.directory();
        let approver = login::auto_approver(&state, &directory, form.get("login_hint"), instant);
        let client = public_client(&directory, &form, instant)?;
        let scope = parse_scope(&scope_text)?;
        let resource = find_resource(&state, &directory, &scope.resource, instant)?;
        // Consent is asked for when the user signs in, not here.
        check_scopes_exist(resource, &scope)?;
        let client_id = client.app_id.clone();
        let user_code = new_user_code();
        let device_code = format!(
            "DAQABAAEAAAD{}{}",
            uuid::Uuid::new_v4().simple(),
            uuid::Uuid::new_v4().simple()
        );
        directory.device_codes.insert(
            device_code.clone(),
            DeviceCode {
                user_code: user_code.clone(),
                client_id: client_id.clone(),
                scope: scope_text,
                expires_at: instant + state.config.device_code_lifetime,
                interval: state.config.device_code_interval,
                last_poll: None,
                state: DeviceCodeState::Pending,
            },
        );
        (client_id, user_code, device_code, approver)
    };
    state
        .device_codes
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    tracing::debug!(client_id, "device code issued");
    if let Some(upn) = approver {
        let state = state.clone();
        let user_code = user_code.clone();
        tokio::spawn(async move {
            tokio::time::sleep(state.config.auto_approve_delay).await;
            if let Err(error) = decide(&state, &user_code, &upn, true) {
                tracing::warn!(%error, "auto-approve failed");
            }
        });
    }
    let verification_uri = format!("{}/devicelogin", state.base_url(&headers));
    Ok(Json(DeviceCodeResponse {
        message: format!(
            "To sign in, use a web browser to open the page {verification_uri} and enter the code {user_code} to authenticate."
        ),
        user_code,
        device_code,
        verification_uri,
        expires_in: whole_seconds(state.config.device_code_lifetime),
        interval: whole_seconds(state.config.device_code_interval),
    }))
}

/// Nine letters, like the platform's codes; no 0/O or 1/I to misread.
fn new_user_code() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..9)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// The device code grant at the token endpoint.
/// The user's claims, and the scope the code was asked for (OpenID scopes included).
pub(crate) fn redeem(
    state: &AppState,
    form: &Form,
    issuer: &str,
) -> Result<(AccessClaims, String), OAuthError> {
    let instant = Instant::now();
    let mut directory = state.directory();
    let client_id = public_client(&directory, form, instant)?.app_id.clone();
    let code_value = form.require("device_code")?.to_string();
    let invalid = || {
        OAuthError::bad_request(
            "invalid_grant",
            70000,
            "The provided value for the input parameter 'device_code' is not valid.",
        )
    };
    let code = directory
        .device_codes
        .get_mut(&code_value)
        .filter(|c| c.client_id.eq_ignore_ascii_case(&client_id))
        .ok_or_else(invalid)?;
    if instant >= code.expires_at {
        return Err(OAuthError::bad_request(
            "expired_token",
            70020,
            "The provided value for the input parameter 'device_code' is not valid. This device code has expired.",
        ));
    }
    let previous = code.last_poll.replace(instant);
    if matches!(code.state, DeviceCodeState::Pending)
        && previous.is_some_and(|p| instant.duration_since(p) < code.interval)
    {
        return Err(OAuthError::bad_request(
            "slow_down",
            70016,
            "OAuth 2.0 device flow error. The client is polling faster than the interval; slow down.",
        ));
    }
    let user_id = match &code.state {
        DeviceCodeState::Pending => {
            return Err(OAuthError::bad_request(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            ));
        }
        DeviceCodeState::Declined => {
            return Err(OAuthError::bad_request(
                "authorization_declined",
                70000,
                "The user declined the sign-in request.",
            ));
        }
        DeviceCodeState::AdminConsentRequired => return Err(admin_consent_required()),
        DeviceCodeState::Redeemed => {
            return Err(OAuthError::bad_request(
                "invalid_grant",
                54005,
                "OAuth2 device code was already redeemed, please retry with a new valid code.",
            ));
        }
        DeviceCodeState::Approved { user_id } => user_id.clone(),
    };
    // The user signed in; the tenant's policy refuses the token all the same.
    state.config.admit_device_code()?;
    code.state = DeviceCodeState::Redeemed;
    let scope_text = code.scope.clone();
    let scope = parse_scope(&scope_text)?;
    let client = public_client(&directory, form, instant)?;
    let resource = find_resource(state, &directory, &scope.resource, instant)?;
    let user = directory.user(&user_id, instant).ok_or_else(invalid)?;
    // Consent was granted at approval when the approver could; otherwise
    // there is nothing to issue.
    let claims = user_claims(&directory, user, client, resource, &scope, issuer)?;
    Ok((claims, scope_text))
}

#[derive(Debug, thiserror::Error)]
enum DecideError {
    #[error("no pending sign-in has the code {0}")]
    UnknownCode(String),
    #[error("the sign-in with this code is no longer pending")]
    NotPending,
    #[error(transparent)]
    SignIn(#[from] SignInError),
    #[error("the sign-in request is not valid: {0}")]
    Request(String),
}

/// Approves or declines the pending code `user_code` for `user` (an id or
/// UPN), who has signed in.
fn decide(
    state: &AppState,
    user_code: &str,
    user: &str,
    approve: bool,
) -> Result<Decision, DecideError> {
    let instant = Instant::now();
    let mut directory = state.directory();
    let user_id = directory
        .user(user, instant)
        .ok_or_else(|| SignInError::UnknownUser(user.to_string()))?
        .id
        .clone();
    let code = directory
        .device_code_by_user_code(user_code)
        .filter(|c| instant < c.expires_at)
        .ok_or_else(|| DecideError::UnknownCode(user_code.to_string()))?;
    if !matches!(code.state, DeviceCodeState::Pending) {
        return Err(DecideError::NotPending);
    }
    if !approve {
        code.state = DeviceCodeState::Declined;
        return Ok(Decision::Declined);
    }
    let (client_id, scope_text) = (code.client_id.clone(), code.scope.clone());
    let decision = login::consent_prompt(
        state,
        &mut directory,
        &user_id,
        &client_id,
        &scope_text,
        instant,
    )
    .map_err(|e| DecideError::Request(e.message))?;
    let code = directory
        .device_code_by_user_code(user_code)
        .ok_or_else(|| DecideError::UnknownCode(user_code.to_string()))?;
    code.state = match decision {
        Decision::AdminConsentRequired => DeviceCodeState::AdminConsentRequired,
        _ => DeviceCodeState::Approved { user_id },
    };
    Ok(decision)
}

#[derive(Debug, Deserialize)]
struct ApproveRequest {
    user_code: String,
    upn: String,
    #[serde(default)]
    decline: bool,
}

/// Test hook: approve (or decline) a code for a user, no password asked.
async fn approve_json(
    State(state): State<AppState>,
    Json(request): Json<ApproveRequest>,
) -> Response {
    match decide(&state, &request.user_code, &request.upn, !request.decline) {
        Ok(decision) => Json(serde_json::json!({ "status": decision.status() })).into_response(),
        Err(error) => (
            StatusCode::NOT_FOUND,
            Json(serde_json::json!({ "error": error.to_string() })),
        )
            .into_response(),
    }
}

const FORM: &str = r#"<form method="post" action="/devicelogin">
<p><label>Code <input name="user_code" autocomplete="off" required></label></p>
<p><label>User <input name="upn" type="email" required></label></p>
<p><label>Password <input name="password" type="password" required></label></p>
<p><button name="action" value="approve">Approve</button>
<button name="action" value="decline">Decline</button></p>
</form>"#;

fn page(message: &str) -> Html<String> {
    super::pages::page("Sign in to the sandbox tenant", message, FORM)
}

async fn login_page() -> Html<String> {
    page("Enter the code shown by the application, then sign in.")
}

async fn login_submit(State(state): State<AppState>, body: Bytes) -> Response {
    let form = Form::parse(&body);
    let user_code = form.get("user_code").unwrap_or_default().to_string();
    let decided = match login::submit(&state, &form, &user_code) {
        Ok(Step::SecondFactor(token)) => {
            return login::mfa_page("/devicelogin", &[("user_code", &user_code)], &token)
                .into_response();
        }
        Ok(Step::SignedIn(user_id)) => decide(&state, &user_code, &user_id, true),
        Ok(Step::Declined(user_id)) => decide(&state, &user_code, &user_id, false),
        Err(error) => Err(error.into()),
    };
    match decided {
        Ok(Decision::Approved) => {
            page("Approved. You can close this window and return to the application.")
                .into_response()
        }
        Ok(Decision::ApprovedWithConsent) => page(
            "Approved, and consented on behalf of your organization to the permissions the application asked for. You can close this window.",
        )
        .into_response(),
        Ok(Decision::AdminConsentRequired) => {
            page(&format!("{} The sign-in ends here.", login::NEED_ADMIN_APPROVAL)).into_response()
        }
        Ok(Decision::Declined) => {
            page("Declined. The application will not be signed in.").into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, page(&error.to_string())).into_response(),
    }
}
