//! What a user's sign-in returns beside the access token, and the grant that
//! renews it: an ID token when `openid` is asked, `client_info` when the
//! client sends `client_info=1` (as MSAL does), a refresh token when
//! `offline_access` is asked, and the `refresh_token` grant.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - entra/identity-platform/id-token-claims-reference (the v2.0 ID token's claims)
//! - entra/identity-platform/refresh-tokens (bound to a user and a client, not
//!   to a resource; 90 days; revoked when the user's sessions are)
//! - entra/identity-platform/v2-oauth2-auth-code-flow (refreshing an access token)
//! - entra/identity-platform/reference-error-codes

use super::AppState;
use super::directory::{Directory, RefreshGrant, User, new_id};
use super::errors::OAuthError;
use super::grants::{
    Form, check_scopes_exist, find_resource, parse_scope, public_client, user_claims,
};
use super::tokens::{ACCESS_TOKEN_SECONDS, AccessClaims};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::time::Instant;
use time::OffsetDateTime;

/// The default lifetime of a refresh token (refresh-tokens: 90 days).
const REFRESH_TOKEN_LIFETIME: time::Duration = time::Duration::days(90);

/// What a user's token response carries beside the access token.
#[derive(Debug, Default, Serialize)]
pub(crate) struct SessionTokens {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_info: Option<String>,
}

/// The claims of a v2.0 ID token, as id-token-claims-reference lists them.
#[derive(Serialize)]
struct IdClaims<'a> {
    aud: &'a str,
    iss: &'a str,
    iat: i64,
    nbf: i64,
    exp: i64,
    tid: &'a str,
    oid: &'a str,
    /// Pairwise: the same user has a different `sub` in every application.
    sub: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    /// The authorization request's, for the client to check (replay).
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    uti: String,
    ver: &'static str,
}

/// Whether the scope a grant asked for names the OpenID scope `wanted`.
fn asks(scope: &str, wanted: &str) -> bool {
    scope
        .split_whitespace()
        .any(|s| s.eq_ignore_ascii_case(wanted))
}

/// The ID token, `client_info` and refresh token the user's grant earns:
/// `asked` is the scope it asked for (OpenID scopes included); a refresh
/// token always comes with a refresh (Entra rotates them); the ID token
/// carries `nonce` where the grant had one.
pub(crate) fn session_tokens(
    state: &AppState,
    form: &Form,
    asked: &str,
    claims: &AccessClaims,
    refreshing: bool,
    nonce: Option<String>,
) -> Result<SessionTokens, OAuthError> {
    let mut tokens = SessionTokens::default();
    if asks(asked, "openid") {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        // `name` and `preferred_username` are the `profile` scope's claims.
        let profile = asks(asked, "profile");
        let id_claims = IdClaims {
            aud: &claims.azp,
            iss: &claims.iss,
            iat: now,
            nbf: now,
            exp: now + ACCESS_TOKEN_SECONDS,
            tid: &claims.tid,
            oid: &claims.oid,
            sub: URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{}:{}", claims.oid, claims.azp))),
            preferred_username: claims.upn.as_deref().filter(|_| profile),
            name: claims.name.as_deref().filter(|_| profile),
            nonce,
            uti: new_id(),
            ver: "2.0",
        };
        tokens.id_token = Some(state.signer.issue(&id_claims)?);
    }
    if form.get("client_info") == Some("1") {
        let info = serde_json::json!({ "uid": claims.oid, "utid": claims.tid });
        tokens.client_info = Some(URL_SAFE_NO_PAD.encode(info.to_string()));
    }
    if refreshing || asks(asked, "offline_access") {
        let value = format!("1.{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 48]>()));
        let grant = RefreshGrant {
            user_id: claims.oid.clone(),
            client_id: claims.azp.clone(),
            issued: OffsetDateTime::now_utc(),
        };
        state
            .directory()
            .refresh_tokens
            .insert(value.clone(), grant);
        tokens.refresh_token = Some(value);
    }
    Ok(tokens)
}

/// The `refresh_token` grant: a new access token for the user and client
/// the refresh token was issued to, for any resource the client holds
/// consent for (refresh tokens are not bound to a resource).
pub(crate) fn refresh(
    state: &AppState,
    form: &Form,
    issuer: &str,
) -> Result<AccessClaims, OAuthError> {
    let instant = Instant::now();
    let directory = state.directory();
    let client = public_client(&directory, form, instant)?;
    let grant = directory
        .refresh_tokens
        .get(form.require("refresh_token")?)
        .ok_or_else(malformed)?;
    if !grant.client_id.eq_ignore_ascii_case(&client.app_id) {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            70000,
            "Provided grant is invalid or malformed. The refresh token was issued to a different client.",
        ));
    }
    if OffsetDateTime::now_utc() > grant.issued + REFRESH_TOKEN_LIFETIME {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            700082,
            "The refresh token has expired due to inactivity.",
        ));
    }
    let user = session_user(&directory, grant, instant)?;
    let scope = parse_scope(form.require("scope")?)?;
    let resource = find_resource(state, &directory, &scope.resource, instant)?;
    check_scopes_exist(resource, &scope)?;
    user_claims(&directory, user, client, resource, &scope, issuer)
}

/// The user whose session `grant` continues, while that session stands: a
/// deleted or disabled account ends it, and so do a new password and
/// `revokeSignInSessions` (the user's `signInSessionsValidFromDateTime`).
fn session_user<'d>(
    directory: &'d Directory,
    grant: &RefreshGrant,
    instant: Instant,
) -> Result<&'d User, OAuthError> {
    let revoked = || {
        OAuthError::bad_request(
            "invalid_grant",
            50173,
            "The provided grant has expired due to it being revoked, a fresh auth token is needed. The user might have changed or reset their password, or the account was removed.",
        )
    };
    let user = directory
        .user(&grant.user_id, instant)
        .filter(|user| grant.issued >= user.sessions_valid_from)
        .ok_or_else(revoked)?;
    if !user.account_enabled {
        return Err(OAuthError::bad_request(
            "invalid_grant",
            50057,
            "The user account is disabled.",
        ));
    }
    Ok(user)
}

fn malformed() -> OAuthError {
    OAuthError::bad_request(
        "invalid_grant",
        9002313,
        "Invalid request. Request is malformed or invalid. The refresh token is not one this tenant issued.",
    )
}
