//! The authorization code flow with PKCE: `GET /{tenant}/oauth2/v2.0/authorize`
//! (the sign-in page, or an approval at once with `--auto-approve`), the
//! page's form at `POST /{tenant}/login`, and the `authorization_code` grant
//! at the token endpoint. The sign-in itself (password, second factor,
//! consent) is the device login page's, in `login.rs`.
//!
//! A request is checked as Entra checks it: until its client and redirect URI
//! are known, a refusal is an error page and never a redirect; after, it goes
//! back to the redirect URI as `error` and `error_description`. Public clients
//! must send a PKCE challenge, and only S256 is taken: stricter than Entra,
//! which documents PKCE as recommended and takes `plain` too, so a client that
//! passes here passes there. A code
//! lives `authorization_code_lifetime` (Entra: about 10 minutes) and is
//! redeemed once, by the client it was issued to, with the redirect URI of
//! its request and the verifier of its challenge.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - entra/identity-platform/v2-oauth2-auth-code-flow
//! - entra/identity-platform/reply-url (a localhost redirect URI matches on any port)
//! - entra/identity-platform/reference-error-codes

use super::AppState;
use super::directory::Application;
use super::errors::OAuthError;
use super::grants::{
    Form, check_scopes_exist, find_resource, known_client, parse_scope, public_client,
    resolve_tenant, user_claims,
};
use super::login::{self, Decision, Step};
use super::pages;
use super::sign_ins::{AuthorizationCode, AuthorizationRequest, random_token};
use super::tokens::AccessClaims;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant};

/// How long the sign-in page of one request may take.
const SIGN_IN_LIFETIME: Duration = Duration::from_secs(900);
/// How long a spent or expired code is still known as one (after that it is
/// just not valid).
const CODE_MEMORY: Duration = Duration::from_secs(3600);

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
        .route("/{tenant}/login", post(login_submit))
}

/// Where a refusal of an authorization request goes.
enum Refusal {
    /// Onto a page: the client or its redirect URI is not known to be good.
    Page(OAuthError),
    /// To the client, at its redirect URI.
    Client {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
    },
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self {
            Refusal::Page(error) => error.into_page(),
            Refusal::Client {
                redirect_uri,
                state,
                error,
            } => redirect(&redirect_uri, error.redirect_parameters(), state.as_deref()),
        }
    }
}

async fn authorize(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let form = Form::parse(query.unwrap_or_default().as_bytes());
    let request = match authorization_request(&state, &tenant, &form) {
        Ok(request) => request,
        Err(refusal) => return refusal.into_response(),
    };
    let instant = Instant::now();
    let approver = {
        let directory = state.directory();
        login::auto_approver(&state, &directory, request.login_hint.as_deref(), instant)
    };
    if let Some(upn) = approver {
        return complete(&state, request, &upn);
    }
    let client_name = {
        let directory = state.directory();
        known_client(&directory, &request.client_id, instant)
            .map(|client| client.display_name.clone())
            .unwrap_or_default()
    };
    let flow = random_token();
    let hint = request.login_hint.clone().unwrap_or_default();
    {
        let requests = &mut state.directory().sign_ins.requests;
        requests.retain(|_, r| instant < r.expires_at);
        requests.insert(flow.clone(), request);
    }
    sign_in_page(
        &tenant,
        &flow,
        &hint,
        &format!("Sign in to continue to {client_name}."),
    )
    .into_response()
}

/// The request in `form`, or where its refusal goes.
fn authorization_request(
    state: &AppState,
    tenant: &str,
    form: &Form,
) -> Result<AuthorizationRequest, Refusal> {
    // Under `organizations` and `common`, not a single-tenant client (AADSTS50194).
    resolve_tenant(state, tenant)
        .and_then(|authority| authority.admit(state, form))
        .map_err(Refusal::Page)?;
    let instant = Instant::now();
    let directory = state.directory();
    let client_id = form.require("client_id").map_err(Refusal::Page)?;
    let client = known_client(&directory, client_id, instant).map_err(Refusal::Page)?;
    let redirect_uri = form.get("redirect_uri").ok_or_else(|| {
        Refusal::Page(OAuthError::bad_request(
            "invalid_request",
            900971,
            "No reply address provided.",
        ))
    })?;
    if !registered_redirect_uris(client)
        .any(|registered| redirect_matches(registered, redirect_uri))
    {
        return Err(Refusal::Page(unregistered_redirect(client, redirect_uri)));
    }
    let to_client = |error| Refusal::Client {
        redirect_uri: redirect_uri.to_string(),
        state: form.get("state").map(str::to_string),
        error,
    };
    match form.get("response_type") {
        Some("code") => {}
        None => return Err(to_client(OAuthError::missing_parameter("response_type"))),
        Some(other) => {
            return Err(to_client(OAuthError::bad_request(
                "unsupported_response_type",
                70005,
                format!(
                    "The response type '{other}' is not offered by the sandbox; ask for 'code'."
                ),
            )));
        }
    }
    if let Some(mode) = form.get("response_mode").filter(|mode| *mode != "query") {
        return Err(to_client(OAuthError::bad_request(
            "invalid_request",
            70007,
            format!("The response mode '{mode}' is not offered by the sandbox; use 'query'."),
        )));
    }
    let scope = form.require("scope").map_err(to_client)?;
    let parsed = parse_scope(scope).map_err(to_client)?;
    let resource =
        find_resource(state, &directory, &parsed.resource, instant).map_err(to_client)?;
    check_scopes_exist(resource, &parsed).map_err(to_client)?;
    let code_challenge = code_challenge(client, form).map_err(to_client)?;
    Ok(AuthorizationRequest {
        client_id: client.app_id.clone(),
        redirect_uri: redirect_uri.to_string(),
        scope: scope.to_string(),
        state: form.get("state").map(str::to_string),
        nonce: form.get("nonce").map(str::to_string),
        code_challenge,
        login_hint: form.get("login_hint").map(str::to_string),
        expires_at: instant + SIGN_IN_LIFETIME,
    })
}

/// The PKCE challenge of the request: required of a public client, S256 only.
fn code_challenge(client: &Application, form: &Form) -> Result<Option<String>, OAuthError> {
    let Some(challenge) = form.get("code_challenge") else {
        return match client.public_client {
            true => Err(OAuthError::bad_request(
                "invalid_request",
                9002325,
                "Proof Key for Code Exchange is required of this public client: send code_challenge with code_challenge_method S256.",
            )),
            false => Ok(None),
        };
    };
    // Without a method the challenge is the verifier itself (RFC 7636
    // "plain"), which would put the verifier in the browser's history.
    if form.get("code_challenge_method") != Some("S256") {
        return Err(OAuthError::bad_request(
            "invalid_request",
            50149,
            "The code_challenge_method parameter is not valid: the sandbox takes S256 only.",
        ));
    }
    // A SHA-256 digest in base64url without padding is 43 characters.
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(OAuthError::bad_request(
            "invalid_request",
            501491,
            "The size of the code_challenge parameter is not valid for S256.",
        ));
    }
    Ok(Some(challenge.to_string()))
}

/// The redirect URIs registered for `client`: its mobile and desktop
/// (`publicClient`) and web platforms.
fn registered_redirect_uris(client: &Application) -> impl Iterator<Item = &str> {
    ["publicClient", "web"]
        .into_iter()
        .filter_map(|platform| client.extra.get(platform)?.get("redirectUris")?.as_array())
        .flatten()
        .filter_map(serde_json::Value::as_str)
}

/// Whether `requested` is the registered redirect URI `registered`: the same
/// URI, except that for a loopback one the port does not count (RFC 8252
/// 7.3; reply-url "Localhost exceptions"). Paths are case-sensitive.
fn redirect_matches(registered: &str, requested: &str) -> bool {
    let (Ok(registered), Ok(requested)) = (url::Url::parse(registered), url::Url::parse(requested))
    else {
        return false;
    };
    let loopback = matches!(registered.host_str(), Some("localhost" | "127.0.0.1"));
    match loopback {
        true => {
            registered.scheme() == requested.scheme()
                && registered.host_str() == requested.host_str()
                && registered.path() == requested.path()
                && registered.query() == requested.query()
                && requested.username().is_empty()
                && requested.password().is_none()
                && requested.fragment().is_none()
        }
        false => registered == requested,
    }
}

fn unregistered_redirect(client: &Application, redirect_uri: &str) -> OAuthError {
    OAuthError::bad_request(
        "invalid_request",
        50011,
        format!(
            "The redirect URI '{redirect_uri}' specified in the request does not match the redirect URIs configured for the application '{}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.",
            client.app_id
        ),
    )
}

/// `redirect_uri` with `parameters` and `state` added to its query
/// (response_mode=query). A URI without a path gets `/`, as Entra's.
fn redirect_url(
    redirect_uri: &str,
    parameters: &[(&str, String)],
    state: Option<&str>,
) -> Option<url::Url> {
    let mut url = url::Url::parse(redirect_uri).ok()?;
    url.query_pairs_mut()
        .extend_pairs(parameters)
        .extend_pairs(state.map(|state| ("state", state)));
    Some(url)
}

/// A 302 to [`redirect_url`].
fn redirect(redirect_uri: &str, parameters: Vec<(&str, String)>, state: Option<&str>) -> Response {
    match redirect_url(redirect_uri, &parameters, state) {
        Some(url) => (StatusCode::FOUND, [(header::LOCATION, url.to_string())]).into_response(),
        None => OAuthError::bad_request(
            "invalid_request",
            90102,
            "The value of redirect_uri must be a valid absolute URI.",
        )
        .into_page(),
    }
}

fn sign_in_page(tenant: &str, flow: &str, login_hint: &str, message: &str) -> Response {
    let form = format!(
        "<form method=\"post\" action=\"/{}/login\">\n{}\
         <p><label>User <input name=\"upn\" type=\"email\" value=\"{}\" required></label></p>\n\
         <p><label>Password <input name=\"password\" type=\"password\" required></label></p>\n\
         <p><button name=\"action\" value=\"approve\">Sign in</button></p>\n</form>",
        pages::escape(tenant),
        pages::hidden(&[("flow", flow)]),
        pages::escape(login_hint),
    );
    pages::page("Sign in to the sandbox tenant", message, &form).into_response()
}

/// The sign-in page's form: the password, then the second factor where
/// needed, then the consent prompt and the redirect with the code.
async fn login_submit(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    body: Bytes,
) -> Response {
    let form = Form::parse(&body);
    let flow = form.get("flow").unwrap_or_default().to_string();
    let (hint, live) = {
        let directory = state.directory();
        match directory.sign_ins.requests.get(&flow) {
            Some(request) => (
                request.login_hint.clone().unwrap_or_default(),
                Instant::now() < request.expires_at,
            ),
            None => (String::new(), false),
        }
    };
    if !live {
        return OAuthError::bad_request(
            "invalid_request",
            50089,
            "The sign-in has expired or is not known: start again from the application.",
        )
        .into_page();
    }
    let step = login::submit(&state, &form, &flow);
    let user_id = match step {
        Ok(Step::SecondFactor(token)) => {
            let action = format!("/{tenant}/login");
            return login::mfa_page(&action, &[("flow", &flow)], &token).into_response();
        }
        Ok(Step::SignedIn(user_id)) => Some(user_id),
        Ok(Step::Declined(_)) => None,
        Err(error) => {
            let page = sign_in_page(&tenant, &flow, &hint, &error.to_string());
            return (StatusCode::BAD_REQUEST, page).into_response();
        }
    };
    let Some(request) = state.directory().sign_ins.requests.remove(&flow) else {
        return OAuthError::bad_request("invalid_request", 50089, "The sign-in has ended.")
            .into_page();
    };
    match user_id {
        Some(user_id) => complete(&state, request, &user_id),
        None => {
            let denied = OAuthError::bad_request(
                "access_denied",
                500121,
                "Authentication failed during strong authentication request: the sign-in was denied.",
            );
            redirect(
                &request.redirect_uri,
                denied.redirect_parameters(),
                request.state.as_deref(),
            )
        }
    }
}

/// `user` (an id or UPN) has signed in for `request`: the consent prompt,
/// then a code for the client, or the refusal.
fn complete(state: &AppState, request: AuthorizationRequest, user: &str) -> Response {
    let instant = Instant::now();
    let mut directory = state.directory();
    let Some(user_id) = directory.user(user, instant).map(|u| u.id.clone()) else {
        let unknown = OAuthError::bad_request(
            "invalid_request",
            50034,
            "The user account does not exist in the directory.",
        );
        return redirect(
            &request.redirect_uri,
            unknown.redirect_parameters(),
            request.state.as_deref(),
        );
    };
    let decision = login::consent_prompt(
        state,
        &mut directory,
        &user_id,
        &request.client_id,
        &request.scope,
        instant,
    );
    match decision {
        Ok(Decision::AdminConsentRequired) => {
            // The person may go back to the application, which hears why.
            let refusal = OAuthError::bad_request(
                "access_denied",
                90094,
                "Admin consent is required for the permissions requested by this application.",
            );
            let back = refusal.redirect_parameters();
            let link = redirect_url(&request.redirect_uri, &back, request.state.as_deref())
                .map(|url| url.to_string())
                .unwrap_or_default();
            let form = format!(
                "<p><a id=\"back\" href=\"{}\">Back to the application</a></p>",
                pages::escape(&link)
            );
            pages::page("Need admin approval", login::NEED_ADMIN_APPROVAL, &form).into_response()
        }
        Ok(_) => {
            let code = random_token();
            let lifetime = state.config.authorization_code_lifetime;
            let codes = &mut directory.sign_ins.codes;
            codes.retain(|_, c| instant < c.expires_at + CODE_MEMORY);
            codes.insert(
                code.clone(),
                AuthorizationCode {
                    client_id: request.client_id,
                    user_id,
                    redirect_uri: request.redirect_uri.clone(),
                    scope: request.scope,
                    nonce: request.nonce,
                    code_challenge: request.code_challenge,
                    expires_at: instant + lifetime,
                    redeemed: false,
                },
            );
            tracing::debug!("authorization code issued");
            redirect(
                &request.redirect_uri,
                vec![("code", code)],
                request.state.as_deref(),
            )
        }
        Err(error) => redirect(
            &request.redirect_uri,
            error.redirect_parameters(),
            request.state.as_deref(),
        ),
    }
}

/// The user's token from a redeemed code: its claims, the scope asked
/// for (OpenID scopes included), and the nonce its ID token carries.
pub(crate) struct Redeemed {
    pub claims: AccessClaims,
    pub asked: String,
    pub nonce: Option<String>,
}

/// The `authorization_code` grant at the token endpoint.
pub(crate) fn redeem(state: &AppState, form: &Form, issuer: &str) -> Result<Redeemed, OAuthError> {
    let instant = Instant::now();
    let mut directory = state.directory();
    let client_id = public_client(&directory, form, instant)?.app_id.clone();
    let invalid = || {
        OAuthError::bad_request(
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid.",
        )
    };
    let code = directory
        .sign_ins
        .codes
        .get_mut(form.require("code")?)
        .ok_or_else(invalid)?;
    if code.redeemed {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            54005,
            "OAuth2 authorization code was already redeemed: ask for a new code, or use the refresh token it came with.",
        ));
    }
    if instant >= code.expires_at {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            70008,
            "The provided authorization code has expired. Send a new interactive authorization request for this user and resource.",
        ));
    }
    if !code.client_id.eq_ignore_ascii_case(&client_id) {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            70000,
            "The provided value for the 'code' parameter is not valid: the code was issued to another client.",
        ));
    }
    let redirect_uri = form.require("redirect_uri")?;
    if redirect_uri != code.redirect_uri {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            50011,
            format!(
                "The redirect URI '{redirect_uri}' does not match the redirect URI '{}' of the request the authorization code was issued for.",
                code.redirect_uri
            ),
        ));
    }
    if let Some(challenge) = &code.code_challenge {
        let verifier = form.require("code_verifier")?;
        if URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) != *challenge {
            return Err(OAuthError::bad_request(
                "invalid_grant",
                501481,
                "The code_verifier does not match the code_challenge of the authorization request.",
            ));
        }
    }
    code.redeemed = true;
    let (user_id, nonce) = (code.user_id.clone(), code.nonce.clone());
    // The token endpoint may name the scope again (Microsoft's extension);
    // without it the token is for what the request asked.
    let asked = form.get("scope").unwrap_or(&code.scope).to_string();
    let scope = parse_scope(&asked)?;
    let client = public_client(&directory, form, instant)?;
    let resource = find_resource(state, &directory, &scope.resource, instant)?;
    check_scopes_exist(resource, &scope)?;
    let user = directory
        .user(&user_id, instant)
        .filter(|user| user.account_enabled)
        .ok_or_else(invalid)?;
    let claims = user_claims(&directory, user, client, resource, &scope, issuer)?;
    Ok(Redeemed {
        claims,
        asked,
        nonce,
    })
}

#[cfg(test)]
mod tests {
    use super::redirect_matches;

    #[test]
    fn a_localhost_redirect_uri_matches_on_any_port_and_nothing_else() {
        let registered = "http://localhost";
        for requested in [
            "http://localhost",
            "http://localhost/",
            "http://localhost:5000",
            "http://localhost:41234/",
        ] {
            assert!(redirect_matches(registered, requested), "{requested}");
        }
        for requested in [
            "https://localhost:5000",
            "http://127.0.0.1:5000",
            "http://localhost:5000/callback",
            "http://localhost.example.com:5000",
            "http://user@localhost:5000",
            "not a uri",
        ] {
            assert!(!redirect_matches(registered, requested), "{requested}");
        }
        assert!(redirect_matches(
            "http://localhost/MyApp",
            "http://localhost:8080/MyApp"
        ));
        assert!(!redirect_matches(
            "http://localhost/MyApp",
            "http://localhost:8080/myapp"
        ));
        let web = "https://app.contoso.com/callback";
        assert!(redirect_matches(web, web));
        assert!(!redirect_matches(
            web,
            "https://app.contoso.com:8443/callback"
        ));
    }
}
