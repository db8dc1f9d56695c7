//! The identity platform v2.0 endpoints under `/{tenant}/`: discovery, JWKS and
//! the token endpoint (client credentials with a certificate assertion or a
//! client secret of the application or of its service principal, password,
//! and the device code grant, whose other half lives in `device.rs`).
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - entra/identity-platform/v2-oauth2-client-creds-grant-flow
//! - entra/identity-platform/certificate-credentials (client assertions)
//! - graph/api/serviceprincipal-addpassword (a secret on the service
//!   principal authenticates the application too)
//! - entra/identity-platform/v2-oauth-ropc
//! - entra/identity-platform/reference-error-codes (AADSTS codes)

use super::assertion::{self, AssertionError, Expected};
use super::directory::{Application, PasswordCredential, ServicePrincipal, new_id};
use super::errors::OAuthError;
use super::grants::{
    Form, OIDC_SCOPES, check_scopes_exist, find_resource, known_client, parse_scope, public_client,
    resolve_tenant, user_claims,
};
use super::sessions::{self, SessionTokens};
use super::tokens::{ACCESS_TOKEN_SECONDS, AccessClaims};
use super::{AppState, authorize, conditional_access, device};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::Serialize;
use std::time::Instant;
use time::OffsetDateTime;

pub(crate) const CLIENT_ASSERTION_TYPE: &str =
    "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub(crate) const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            get(discovery),
        )
        .route("/{tenant}/discovery/v2.0/keys", get(jwks))
        .route("/{tenant}/oauth2/v2.0/token", post(token))
        .route(
            "/{tenant}/oauth2/v2.0/devicecode",
            post(device::device_code),
        )
        .route("/common/userrealm/{username}", get(user_realm))
}

/// Home realm discovery, which MSAL asks before a password grant: the
/// tenant's own domain is managed (its passwords are checked here), any
/// other is unknown to this cloud.
async fn user_realm(
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Json<serde_json::Value> {
    let directory = state.directory();
    let domain = username
        .rsplit_once('@')
        .map(|(_, d)| d)
        .unwrap_or_default();
    let managed = domain.eq_ignore_ascii_case(&directory.tenant_domain);
    Json(serde_json::json!({
        "ver": "1.0",
        "account_type": if managed { "Managed" } else { "Unknown" },
        "domain_name": domain,
        "cloud_instance_name": "sandbox",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    }))
}

async fn discovery(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, OAuthError> {
    let resolved = resolve_tenant(&state, &tenant)?;
    let base = state.base_url(&headers);
    // Under `organizations` and `common` the endpoints keep the segment,
    // and the issuer is a template for whichever tenant signs the user in.
    let (authority, issuer) = if resolved.multi_tenant {
        let authority = format!("{base}/{tenant}");
        (authority, format!("{base}/{{tenantid}}/v2.0"))
    } else {
        let authority = format!("{base}/{}", resolved.tenant_id);
        let issuer = format!("{authority}/v2.0");
        (authority, issuer)
    };
    Ok(Json(serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{authority}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{authority}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{authority}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{authority}/discovery/v2.0/keys"),
        "end_session_endpoint": format!("{authority}/oauth2/v2.0/logout"),
        // The methods Entra lists, all of which the token endpoint takes.
        "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": OIDC_SCOPES,
        "claims_supported": [
            "sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
            "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
            "name", "tid", "ver", "at_hash", "c_hash", "email",
        ],
        "request_uri_parameter_supported": false,
        "tenant_region_scope": "NA",
        "cloud_instance_name": "sandbox",
        "msgraph_host": base.split("://").nth(1).unwrap_or_default(),
    })))
}

async fn jwks(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<Json<serde_json::Value>, OAuthError> {
    resolve_tenant(&state, &tenant)?;
    Ok(Json(state.signer.jwks()))
}

#[derive(Debug, Serialize)]
pub(crate) struct TokenResponse {
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: i64,
    pub ext_expires_in: i64,
    pub access_token: String,
    #[serde(flatten)]
    pub session: SessionTokens,
}

async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TokenResponse>, OAuthError> {
    let authority = resolve_tenant(&state, &tenant)?;
    let form = Form::parse(&body);
    authority.admit(&state, &form)?;
    let tid = authority.tenant_id;
    let base = state.base_url(&headers);
    let issuer = format!("{base}/{tid}/v2.0");
    // A user's grant also answers the OpenID scopes it asked for, and an
    // authorization code the nonce of its request.
    let grant_type = form.require("grant_type")?;
    let (claims, asked, nonce) = match grant_type {
        "client_credentials" => (
            client_credentials(&state, &form, &headers, &base, &tenant)?,
            None,
            None,
        ),
        "password" => (
            password(&state, &form, &issuer)?,
            Some(form.require("scope")?.to_string()),
            None,
        ),
        DEVICE_CODE_GRANT => {
            let (claims, asked) = device::redeem(&state, &form, &issuer)?;
            (claims, Some(asked), None)
        }
        "authorization_code" => {
            let redeemed = authorize::redeem(&state, &form, &issuer)?;
            (redeemed.claims, Some(redeemed.asked), redeemed.nonce)
        }
        "refresh_token" => (
            sessions::refresh(&state, &form, &issuer)?,
            Some(form.require("scope")?.to_string()),
            None,
        ),
        other => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    };
    let scope = claims
        .scp
        .as_ref()
        .map(|scp| granted_scope(&claims.aud, scp, asked.as_deref().unwrap_or_default()));
    let access_token = state.signer.issue(&claims)?;
    let session = match asked {
        Some(asked) => {
            let refreshing = grant_type == "refresh_token";
            sessions::session_tokens(&state, &form, &asked, &claims, refreshing, nonce)?
        }
        None => SessionTokens::default(),
    };
    Ok(Json(TokenResponse {
        token_type: "Bearer",
        scope,
        expires_in: ACCESS_TOKEN_SECONDS,
        ext_expires_in: ACCESS_TOKEN_SECONDS,
        access_token,
        session,
    }))
}

/// The response's `scope`: the permissions granted, under their resource;
/// `.default` itself when it was asked, and the OpenID scopes asked that
/// are scopes of the token (offline_access is not), as Entra lists them.
/// MSAL caches the token under these and looks it up by what it asked.
fn granted_scope(resource: &str, granted: &str, asked: &str) -> String {
    let asked: Vec<&str> = asked.split_whitespace().collect();
    let default = format!("{}/.default", resource.trim_end_matches('/'));
    granted
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|s| format!("{resource}/{s}"))
        .chain(
            asked
                .iter()
                .find(|a| a.eq_ignore_ascii_case(&default))
                .map(|_| default.clone()),
        )
        .chain(
            ["openid", "profile", "email"]
                .into_iter()
                .filter(|oidc| asked.iter().any(|a| a.eq_ignore_ascii_case(oidc)))
                .map(str::to_string),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// How a confidential client proves who it is.
enum ClientProof<'r> {
    /// A client secret: in the form (client_secret_post) or in HTTP Basic
    /// authentication (client_secret_basic).
    Secret(String),
    /// A client assertion signed with one of its certificates.
    Assertion(&'r str),
}

/// The client id and secret of HTTP Basic authentication: RFC 6749
/// section 2.3.1 form-urlencodes each, then joins them with a colon.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let encoded = value
        .strip_prefix("Basic ")
        .or_else(|| value.strip_prefix("basic "))?;
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |text: &str| {
        url::form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, value)| value.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// The client id and its proof, from the form or the Authorization header.
fn client_proof<'r>(
    form: &'r Form,
    headers: &HeaderMap,
) -> Result<(String, ClientProof<'r>), OAuthError> {
    if let Some((client_id, secret)) = basic_credentials(headers) {
        return Ok((client_id, ClientProof::Secret(secret)));
    }
    let client_id = form.require("client_id")?.to_string();
    if let Some(secret) = form.get("client_secret") {
        return Ok((client_id, ClientProof::Secret(secret.to_string())));
    }
    match (
        form.get("client_assertion_type"),
        form.get("client_assertion"),
    ) {
        (Some(CLIENT_ASSERTION_TYPE), Some(jwt)) => Ok((client_id, ClientProof::Assertion(jwt))),
        (Some(other), Some(_)) => Err(OAuthError::bad_request(
            "invalid_request",
            50027,
            format!(
                "The client_assertion_type '{other}' is not supported; use {CLIENT_ASSERTION_TYPE}."
            ),
        )),
        _ => Err(OAuthError::unauthorized(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        )),
    }
}

/// Checks `secret` against the current password credentials of the
/// application and of its service principal (either authenticates it):
/// AADSTS7000222 for one that has expired, AADSTS7000215 for any other
/// (unknown, removed, not valid yet, or not replicated), as
/// azure/developer/java/sdk/troubleshooting-authentication-service-principal
/// lists them.
fn verify_secret(
    application: &Application,
    service_principal: &ServicePrincipal,
    secret: &str,
    now: OffsetDateTime,
    instant: Instant,
) -> Result<(), OAuthError> {
    let matching: Vec<&PasswordCredential> = application
        .password_credentials
        .iter()
        .chain(&service_principal.password_credentials)
        .filter(|p| instant >= p.visible_from && p.secret == secret)
        .collect();
    if matching.iter().any(|p| p.is_current(now, instant)) {
        return Ok(());
    }
    if matching.iter().any(|p| p.end < now) {
        return Err(OAuthError::unauthorized(
            "invalid_client",
            7000222,
            format!(
                "The provided client secret keys for app '{}' are expired. Create new keys for the app, or use certificate credentials.",
                application.app_id
            ),
        ));
    }
    Err(OAuthError::unauthorized(
        "invalid_client",
        7000215,
        format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.",
            application.app_id
        ),
    ))
}

fn client_credentials(
    state: &AppState,
    form: &Form,
    headers: &HeaderMap,
    base: &str,
    tenant_segment: &str,
) -> Result<AccessClaims, OAuthError> {
    let (client_id, proof) = client_proof(form, headers)?;
    let client_id = client_id.as_str();
    let scope = parse_scope(form.require("scope")?)?;
    if !scope.default {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        ));
    }

    let now = OffsetDateTime::now_utc();
    let instant = Instant::now();
    let directory = state.directory();
    // Not replicated yet (or never created): AADSTS700016.
    let application = known_client(&directory, client_id, instant)?;
    if application.public_client {
        return Err(OAuthError::bad_request(
            "invalid_client",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    // The application is visible but its service principal is not (never
    // created, or not replicated yet): AADSTS7000229, 401 as Entra answers it.
    let service_principal = directory
        .service_principal_by_app_id(client_id, instant)
        .ok_or_else(|| {
            OAuthError::unauthorized(
                "invalid_client",
                7000229,
                format!(
                    "The client application {client_id} is missing service principal in the tenant {}. See instructions here: https://go.microsoft.com/fwlink/?linkid=2225119",
                    directory.tenant_id
                ),
            )
        })?;
    let resource = find_resource(state, &directory, &scope.resource, instant)?;

    match proof {
        ClientProof::Secret(secret) => {
            verify_secret(application, service_principal, &secret, now, instant)?
        }
        ClientProof::Assertion(jwt) => {
            // Addressed to this token endpoint, under either name of the tenant.
            let audiences: Vec<String> = [
                directory.tenant_id.as_str(),
                directory.tenant_domain.as_str(),
                tenant_segment,
            ]
            .iter()
            .map(|t| format!("{base}/{t}/oauth2/v2.0/token"))
            .collect();
            let expected = Expected {
                audiences: &audiences,
                issuer: client_id,
                subject: Some(client_id),
                max_lifetime: None,
                require_jti: true,
            };
            // A jti presented before is not refused: Entra does not, and MSAL
            // reuses an assertion for as long as it is valid.
            assertion::verify(jwt, &application.key_credentials, &expected, now, instant)
                .map_err(assertion_error)?;
        }
    }
    // A role granted moments ago is missing until the grant replicates.
    let roles = directory.assigned_roles(&service_principal.id, resource, instant);
    let claims = AccessClaims {
        aud: scope.resource.clone(),
        iss: format!("{base}/{}/v2.0", directory.tenant_id),
        iat: now.unix_timestamp(),
        nbf: now.unix_timestamp(),
        exp: now.unix_timestamp() + ACCESS_TOKEN_SECONDS,
        tid: directory.tenant_id.clone(),
        oid: service_principal.id.clone(),
        sub: service_principal.id.clone(),
        azp: client_id.to_ascii_lowercase(),
        appid: client_id.to_ascii_lowercase(),
        idtyp: "app".into(),
        roles,
        scp: None,
        upn: None,
        name: None,
        wids: Vec::new(),
        uti: new_id(),
        ver: "2.0".into(),
    };
    Ok(claims)
}

fn assertion_error(error: AssertionError) -> OAuthError {
    let detail = error.to_string();
    match error {
        AssertionError::Malformed(_)
        | AssertionError::Algorithm(_)
        | AssertionError::MissingClaim(_) => OAuthError::bad_request(
            "invalid_request",
            50027,
            format!("JWT token is invalid or malformed. [Reason - {detail}]"),
        ),
        AssertionError::NoThumbprint | AssertionError::KeyNotFound(_) => OAuthError::unauthorized(
            "invalid_client",
            700027,
            format!(
                "Client assertion failed signature validation. [Reason - The key was not found., {detail}]"
            ),
        ),
        AssertionError::KeyNotCurrent(_) => OAuthError::unauthorized(
            "invalid_client",
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The key used is expired or not yet valid., {detail}]"
            ),
        ),
        AssertionError::Signature => OAuthError::unauthorized(
            "invalid_client",
            700027,
            "Client assertion contains an invalid signature. [Reason - The signature does not verify with the registered key.]",
        ),
        AssertionError::Audience(_) => OAuthError::bad_request(
            "invalid_client",
            700023,
            format!(
                "Client assertion audience claim does not match Realm issuer. [Reason - {detail}]"
            ),
        ),
        AssertionError::Issuer(_) | AssertionError::Subject(_) => OAuthError::bad_request(
            "invalid_client",
            700021,
            format!(
                "Client assertion application identifier doesn't match 'client_id' parameter. [Reason - {detail}]"
            ),
        ),
        AssertionError::Expired(_)
        | AssertionError::NotYetValid(_)
        | AssertionError::Lifetime(_) => OAuthError::bad_request(
            "invalid_client",
            700024,
            format!("Client assertion is not within its valid time range. [Reason - {detail}]"),
        ),
    }
}

fn password(state: &AppState, form: &Form, issuer: &str) -> Result<AccessClaims, OAuthError> {
    let instant = Instant::now();
    let mut directory = state.directory();
    let username = form.require("username")?;
    // A new account that has not reached the sign-in service yet.
    let not_signing_in_yet =
        directory
            .user_mut(username, instant)
            .is_some_and(|user| match user.sign_in_refusals {
                0 => false,
                _ => {
                    user.sign_in_refusals -= 1;
                    true
                }
            });
    let client = public_client(&directory, form, instant)?;
    let password = form.require("password")?;
    let scope = parse_scope(form.require("scope")?)?;
    let resource = find_resource(state, &directory, &scope.resource, instant)?;
    check_scopes_exist(resource, &scope)?;
    let not_found = OAuthError::bad_request(
        "invalid_grant",
        50034,
        format!(
            "The user account {{EUII Hidden}} does not exist in the {} directory. To sign into this application, the account must be added to the directory.",
            directory.tenant_id
        ),
    );
    let user = directory
        .user(username, instant)
        .filter(|_| !not_signing_in_yet)
        .ok_or(not_found)?;
    if user.password != password {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            50126,
            "Error validating credentials due to invalid username or password.",
        ));
    }
    if !user.account_enabled {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            50057,
            "The user account is disabled.",
        ));
    }
    if user.force_change_password {
        return Err(
            OAuthError::bad_request("invalid_grant", 50055, "The password is expired.")
                .with_suberror("user_password_expired"),
        );
    }
    if state.config.needs_mfa(&directory, user) {
        return Err(conditional_access::mfa_required(&resource.app_id));
    }
    // The user is signed in; the client must hold consent for what it asks.
    user_claims(&directory, user, client, resource, &scope, issuer)
}
