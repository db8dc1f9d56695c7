//! The identity platform v2.0 endpoints under `/{tenant}/`: discovery, JWKS and
//! the token endpoint (client credentials with a certificate assertion, password,
//! and the device code grant, whose other half lives in `device.rs`).

use super::assertion::{self, AssertionError, Expected};
use super::directory::{Application, Directory, GRAPH_APP_ID, ServicePrincipal, User, new_id};
use super::errors::OAuthError;
use super::tokens::{ACCESS_TOKEN_SECONDS, AccessClaims};
use super::{AppState, device};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Serialize;
use std::collections::HashMap;
use std::time::Instant;
use time::OffsetDateTime;

pub const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
pub const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// Scopes that ask for OpenID Connect tokens, not for a resource.
const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

pub fn routes() -> Router<AppState> {
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
        .route("/{tenant}/oauth2/v2.0/authorize", get(authorize))
}

/// The tenant id when `segment` names this tenant (by id or domain).
pub fn resolve_tenant(state: &AppState, segment: &str) -> Result<String, OAuthError> {
    let directory = state.directory();
    if directory.is_tenant(segment) {
        Ok(directory.tenant_id.clone())
    } else {
        Err(OAuthError::tenant_not_found(segment))
    }
}

async fn discovery(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
) -> Result<Json<serde_json::Value>, OAuthError> {
    let tid = resolve_tenant(&state, &tenant)?;
    let base = state.base_url(&headers);
    let authority = format!("{base}/{tid}");
    Ok(Json(serde_json::json!({
        "issuer": format!("{authority}/v2.0"),
        "authorization_endpoint": format!("{authority}/oauth2/v2.0/authorize"),
        "token_endpoint": format!("{authority}/oauth2/v2.0/token"),
        "device_authorization_endpoint": format!("{authority}/oauth2/v2.0/devicecode"),
        "jwks_uri": format!("{authority}/discovery/v2.0/keys"),
        "end_session_endpoint": format!("{authority}/oauth2/v2.0/logout"),
        "token_endpoint_auth_methods_supported": ["private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ["PS256", "RS256"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "grant_types_supported": ["client_credentials", "password", DEVICE_CODE_GRANT],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": OIDC_SCOPES,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "tid", "oid", "upn", "name"],
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

/// Interactive sign-in is out of scope; the device code flow serves consoles.
async fn authorize(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
) -> Result<(), OAuthError> {
    resolve_tenant(&state, &tenant)?;
    Err(OAuthError::bad_request(
        "unsupported_response_type",
        70000,
        "The sandbox does not offer the authorization code flow; use the device code flow.",
    ))
}

#[derive(Debug, Serialize)]
pub struct TokenResponse {
    pub token_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    pub expires_in: i64,
    pub ext_expires_in: i64,
    pub access_token: String,
}

/// The token endpoint's form, read once.
pub struct Form(pub HashMap<String, String>);

impl Form {
    fn parse(body: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::missing_parameter(name))
    }
}

async fn token(
    State(state): State<AppState>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<TokenResponse>, OAuthError> {
    let tid = resolve_tenant(&state, &tenant)?;
    let form = Form::parse(&body);
    let base = state.base_url(&headers);
    let issuer = format!("{base}/{tid}/v2.0");
    let claims = match form.require("grant_type")? {
        "client_credentials" => client_credentials(&state, &form, &base, &tenant)?,
        "password" => password(&state, &form, &issuer)?,
        DEVICE_CODE_GRANT => device::redeem(&state, &form, &issuer)?,
        other => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                70003,
                format!("The app requested an unsupported grant type '{other}'."),
            ));
        }
    };
    let scope = claims.scp.as_ref().map(|scp| {
        scp.split(' ')
            .map(|s| format!("{}/{s}", claims.aud))
            .collect::<Vec<_>>()
            .join(" ")
    });
    let access_token = state.signer.issue(&claims).map_err(|e| {
        OAuthError::new(
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            e.to_string(),
        )
    })?;
    Ok(Json(TokenResponse {
        token_type: "Bearer",
        scope,
        expires_in: ACCESS_TOKEN_SECONDS,
        ext_expires_in: ACCESS_TOKEN_SECONDS,
        access_token,
    }))
}

/// A requested scope: the resource it names and the permissions asked for
/// (empty for `/.default`).
pub struct ScopeRequest {
    pub resource: String,
    pub permissions: Vec<String>,
    pub default: bool,
}

pub fn parse_scope(scope: &str) -> Result<ScopeRequest, OAuthError> {
    let invalid = |why: &str| {
        OAuthError::bad_request(
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' is not valid. {why}"),
        )
    };
    let mut resource: Option<String> = None;
    let mut permissions = Vec::new();
    let mut default = false;
    for item in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&item.to_ascii_lowercase().as_str()) {
            continue;
        }
        let (res, permission) = match item.rfind('/') {
            Some(at) => (
                item[..at].trim_end_matches('/').to_string(),
                &item[at + 1..],
            ),
            // A bare permission name is a Graph permission, as on the platform.
            None => (GRAPH_APP_ID.to_string(), item),
        };
        if res.is_empty() || permission.is_empty() {
            return Err(invalid(&format!("The scope '{item}' is malformed.")));
        }
        match &resource {
            Some(existing) if !existing.eq_ignore_ascii_case(&res) => {
                return Err(invalid(
                    "Scopes for more than one resource cannot be requested at once.",
                ));
            }
            _ => resource = Some(res),
        }
        if permission == ".default" {
            default = true;
        } else {
            permissions.push(permission.to_string());
        }
    }
    let resource = resource.ok_or_else(|| invalid("No resource scope was requested."))?;
    if default && !permissions.is_empty() {
        return Err(invalid(
            "'.default' cannot be combined with other scopes for the same resource.",
        ));
    }
    Ok(ScopeRequest {
        resource,
        permissions,
        default,
    })
}

fn client_credentials(
    state: &AppState,
    form: &Form,
    base: &str,
    tenant_segment: &str,
) -> Result<AccessClaims, OAuthError> {
    let client_id = form.require("client_id")?;
    if form.get("client_secret").is_some() {
        return Err(OAuthError::unauthorized(
            "invalid_client",
            7000215,
            "Invalid client secret provided. The sandbox accepts certificate credentials only.",
        ));
    }
    let assertion_jwt = match (
        form.get("client_assertion_type"),
        form.get("client_assertion"),
    ) {
        (Some(CLIENT_ASSERTION_TYPE), Some(jwt)) => jwt,
        (Some(other), Some(_)) => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                50027,
                format!(
                    "The client_assertion_type '{other}' is not supported; use {CLIENT_ASSERTION_TYPE}."
                ),
            ));
        }
        _ => {
            return Err(OAuthError::unauthorized(
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
            ));
        }
    };
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
    let mut directory = state.directory();
    let application = known_client(&directory, client_id, instant)?;
    if application.public_client {
        return Err(OAuthError::bad_request(
            "invalid_client",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    let service_principal = directory
        .service_principal_by_app_id(client_id, instant)
        .ok_or_else(|| {
            OAuthError::bad_request(
                "invalid_client",
                7000229,
                format!(
                    "The client application {client_id} is missing service principal in the tenant {}.",
                    directory.tenant_id
                ),
            )
        })?;
    let resource = find_resource(&directory, &scope.resource, instant)?;

    // The assertion must be addressed to this token endpoint, under either name of the tenant.
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
    let verified = assertion::verify(
        assertion_jwt,
        &application.key_credentials,
        &expected,
        now,
        instant,
    )
    .map_err(assertion_error)?;
    let roles = directory.assigned_roles(&service_principal.id, resource);
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
    // Checked last, so an assertion refused for another reason can be fixed and resent.
    let jti = verified.jti.unwrap_or_default();
    if !directory.claim_jti(&jti, verified.exp, now.unix_timestamp()) {
        return Err(OAuthError::bad_request(
            "invalid_client",
            50013,
            "Assertion failed validation: its jti has been presented before (replay).",
        ));
    }
    Ok(claims)
}

/// The client application, or AADSTS700016.
pub fn known_client<'d>(
    directory: &'d Directory,
    client_id: &str,
    instant: Instant,
) -> Result<&'d Application, OAuthError> {
    directory
        .application_by_app_id(client_id, instant)
        .ok_or_else(|| {
            OAuthError::bad_request(
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                    directory.tenant_domain
                ),
            )
        })
}

pub fn find_resource<'d>(
    directory: &'d Directory,
    identifier: &str,
    instant: Instant,
) -> Result<&'d ServicePrincipal, OAuthError> {
    directory.resource(identifier, instant).ok_or_else(|| {
        OAuthError::bad_request(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {identifier} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant.",
                directory.tenant_domain
            ),
        )
    })
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

/// The delegated permissions `client` may ask of `resource` for this request.
pub fn delegated_permissions(
    client: &Application,
    resource: &ServicePrincipal,
    scope: &ScopeRequest,
) -> Result<Vec<String>, OAuthError> {
    let granted = client
        .delegated_permissions
        .get(&resource.app_id)
        .cloned()
        .unwrap_or_default();
    let consent = |what: &str| {
        OAuthError::bad_request(
            "invalid_grant",
            65001,
            format!(
                "The user or administrator has not consented to use the application with ID '{}' named '{}' for {what}.",
                client.app_id, client.display_name
            ),
        )
    };
    if scope.default {
        if granted.is_empty() {
            return Err(consent(&resource.display_name));
        }
        return Ok(granted);
    }
    for permission in &scope.permissions {
        let known = resource
            .delegated_scopes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(permission));
        if !known {
            return Err(OAuthError::bad_request(
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {permission} does not exist on {}.",
                    resource.display_name
                ),
            ));
        }
        if !granted.iter().any(|g| g.eq_ignore_ascii_case(permission)) {
            return Err(consent(permission));
        }
    }
    Ok(scope.permissions.clone())
}

/// Claims for a user's delegated token.
pub fn user_claims(
    directory: &Directory,
    user: &User,
    client: &Application,
    resource_identifier: &str,
    permissions: &[String],
    issuer: &str,
) -> AccessClaims {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    AccessClaims {
        aud: resource_identifier.to_string(),
        iss: issuer.to_string(),
        iat: now,
        nbf: now,
        exp: now + ACCESS_TOKEN_SECONDS,
        tid: directory.tenant_id.clone(),
        oid: user.id.clone(),
        sub: user.id.clone(),
        azp: client.app_id.clone(),
        appid: client.app_id.clone(),
        idtyp: "user".into(),
        roles: Vec::new(),
        scp: Some(permissions.join(" ")),
        upn: Some(user.upn.clone()),
        name: Some(user.display_name.clone()),
        wids: directory
            .user_roles(&user.id)
            .map(|r| r.template_id.clone())
            .collect(),
        uti: new_id(),
        ver: "2.0".into(),
    }
}

/// A public client, as the password and device code grants need.
pub fn public_client<'d>(
    directory: &'d Directory,
    form: &Form,
    instant: Instant,
) -> Result<&'d Application, OAuthError> {
    let client_id = form.require("client_id")?;
    let client = known_client(directory, client_id, instant)?;
    if !client.public_client {
        return Err(OAuthError::unauthorized(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    if form.get("client_assertion").is_some() || form.get("client_secret").is_some() {
        return Err(OAuthError::bad_request(
            "invalid_request",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    Ok(client)
}

fn password(state: &AppState, form: &Form, issuer: &str) -> Result<AccessClaims, OAuthError> {
    let instant = Instant::now();
    let directory = state.directory();
    let client = public_client(&directory, form, instant)?;
    let username = form.require("username")?;
    let password = form.require("password")?;
    let scope = parse_scope(form.require("scope")?)?;
    let resource = find_resource(&directory, &scope.resource, instant)?;
    let permissions = delegated_permissions(client, resource, &scope)?;
    let user = directory.user(username, instant).ok_or_else(|| {
        OAuthError::bad_request(
            "invalid_grant",
            50034,
            format!(
                "The user account {{EUII Hidden}} does not exist in the {} directory. To sign into this application, the account must be added to the directory.",
                directory.tenant_id
            ),
        )
    })?;
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
    if user.mfa_required {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            50076,
            format!(
                "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '{}'.",
                resource.app_id
            ),
        )
        .with_suberror("basic_action"));
    }
    Ok(user_claims(
        &directory,
        user,
        client,
        &scope.resource,
        &permissions,
        issuer,
    ))
}
