//! The OAuth 2.0 grants the tool uses, as the specs and the Microsoft identity
//! platform define them: device authorization (RFC 8628), client credentials
//! with a JWT assertion (RFC 7523), resource owner password, and the refresh
//! token grant that renews a user's sign-in for other scopes. The `oauth2`
//! crate speaks the protocol; every request goes through our [`HttpClient`]
//! ([`OAuthHttp`]), and its errors come back as [`EntraError`]s. This layer
//! knows nothing of caches or key stores.

use super::http::{HttpClient, NewObject, RetryReason};
use super::oauth_error::MicrosoftTokenError;
use super::oauth_http::OAuthHttp;
use super::{EntraError, OAuthErrorCode, Secret};
use crate::domain::Clock;
use chrono::{DateTime, Utc};
use oauth2::basic::{
    BasicRevocationErrorResponse, BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthType, ClientId, DeviceAuthorizationResponse, DeviceAuthorizationUrl, EndpointNotSet,
    EndpointSet, ExtraDeviceAuthorizationFields, RefreshToken, ResourceOwnerPassword,
    ResourceOwnerUsername, Scope, StandardRevocableToken, StandardTokenResponse,
    TokenResponse as _, TokenUrl,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::time::{Duration, Instant};
use time::OffsetDateTime;
use url::Url;

pub(crate) mod browser;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// An access token and when to stop using it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub secret: Secret,
    pub expires_at: Instant,
    /// Seconds of lifetime the server granted.
    pub lifetime: Duration,
    /// A user's refresh token (asked with `offline_access`), if one came.
    pub refresh: Option<Secret>,
}

/// What an access token says about itself, read (not verified: it came
/// straight from the token endpoint) for display.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenClaims {
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
    /// Delegated permissions, space-separated as the token carries them
    /// (short names: `Application.ReadWrite.All`, without the resource).
    #[serde(default)]
    pub scp: Option<String>,
}

impl TokenClaims {
    /// The delegated permissions the token carries (empty for app tokens).
    pub fn scopes(&self) -> BTreeSet<String> {
        self.scp
            .as_deref()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }
}

impl AccessToken {
    pub fn claims(&self) -> TokenClaims {
        use base64::Engine;
        self.secret
            .expose()
            .split('.')
            .nth(1)
            .and_then(|payload| {
                base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(payload)
                    .ok()
            })
            .and_then(|json| serde_json::from_slice(&json).ok())
            .unwrap_or_default()
    }

    /// The delegated permissions in its `scp` claim.
    pub fn scopes(&self) -> BTreeSet<String> {
        self.claims().scopes()
    }
}

type TokenResponse = StandardTokenResponse<MicrosoftTokenFields, BasicTokenType>;

/// What the Microsoft identity platform adds to a token answer that the
/// tool reads: the ID token of a sign-in that asked for `openid`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MicrosoftTokenFields {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}

impl oauth2::ExtraTokenFields for MicrosoftTokenFields {}

/// The `oauth2` client for one application at one authority, with Microsoft's
/// error answers as its error type.
type OAuthClient<HasDeviceUrl = EndpointNotSet, HasTokenUrl = EndpointSet> = oauth2::Client<
    MicrosoftTokenError,
    TokenResponse,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    EndpointNotSet,
    HasDeviceUrl,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
>;

/// The client id goes in the form (public clients, and assertions, carry no
/// HTTP Basic credentials).
fn oauth_client(client_id: &str) -> OAuthClient<EndpointNotSet, EndpointNotSet> {
    oauth2::Client::new(ClientId::new(client_id.to_string())).set_auth_type(AuthType::RequestBody)
}

fn token_client(client_id: &str, token_endpoint: &Url) -> OAuthClient {
    oauth_client(client_id).set_token_uri(TokenUrl::from_url(token_endpoint.clone()))
}

fn scopes(scopes: &[String]) -> impl Iterator<Item = Scope> + '_ {
    scopes.iter().map(|scope| Scope::new(scope.clone()))
}

/// The longest an answer's `expires_in` (a token's, a device code's) or a
/// device code's polling interval is taken to be: a number from the wire
/// must not overflow the clock.
const LONGEST_LIFETIME: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A token answer as an [`AccessToken`]; its lifetime counts from now.
fn access_token(answer: &TokenResponse, token_endpoint: &Url) -> Result<AccessToken, EntraError> {
    let lifetime = answer.expires_in().ok_or_else(|| EntraError::Parse {
        url: token_endpoint.to_string(),
        why: "the token answer says nothing of expires_in".into(),
    })?;
    // Entra's tokens live about an hour; a larger answer is held to a day.
    let lifetime = lifetime.min(LONGEST_LIFETIME);
    Ok(AccessToken {
        secret: Secret::new(answer.access_token().secret().as_str()),
        expires_at: Instant::now() + lifetime,
        lifetime,
        refresh: answer
            .refresh_token()
            .map(|refresh| Secret::new(refresh.secret().as_str())),
    })
}

/// A new application or key is refused until Entra has replicated it
/// (AADSTS700016, 700027, 7000229): our client retries those within its budget.
fn app_not_replicated(error: &MicrosoftTokenError) -> Option<RetryReason> {
    let what = match error.aadsts() {
        Some(700016) => NewObject::Application,
        Some(700027) => NewObject::Certificate,
        Some(7000229) => NewObject::ServicePrincipal,
        _ => return None,
    };
    Some(RetryReason::NotVisibleYet { what })
}

/// Client credentials with a client assertion that `assertion` signs for each
/// attempt (a jti is never sent twice), sent as `client_assertion_type` and
/// `client_assertion`. Answers meaning "not replicated yet" are retried
/// within the replication budget.
pub(crate) async fn client_credentials(
    http: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    scope: &str,
    assertion: impl Fn() -> Result<Secret, EntraError>,
) -> Result<AccessToken, EntraError> {
    let client = token_client(client_id, token_endpoint);
    let first = assertion()?;
    let http = OAuthHttp::new(http)
        .not_replicated(app_not_replicated)
        .fresh("client_assertion", assertion);
    let answer = client
        .exchange_client_credentials()
        .add_scope(Scope::new(scope.to_string()))
        .add_extra_param("client_assertion_type", JWT_BEARER)
        .add_extra_param("client_assertion", first.expose())
        .request_async(&http)
        .await
        .map_err(|error| http.entra_error(error))?;
    access_token(&answer, token_endpoint)
}

/// Resource owner password credentials: for accounts without MFA only.
pub(crate) async fn password(
    http: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    scope: &[String],
    username: &str,
    password: &Secret,
) -> Result<AccessToken, EntraError> {
    let client = token_client(client_id, token_endpoint);
    let username = ResourceOwnerUsername::new(username.to_string());
    let password = ResourceOwnerPassword::new(password.expose().to_string());
    let http = OAuthHttp::new(http);
    let answer = client
        .exchange_password(&username, &password)
        .add_scopes(scopes(scope))
        .request_async(&http)
        .await
        .map_err(|error| http.entra_error(error))?;
    access_token(&answer, token_endpoint)
}

/// The refresh token grant: a user's earlier sign-in renewed for `scope`
/// (any the client holds consent for: Entra's refresh tokens are not bound to
/// one resource), with no prompt. Entra answers with a new refresh token.
pub(crate) async fn refresh(
    http: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    scope: &[String],
    refresh_token: &Secret,
) -> Result<AccessToken, EntraError> {
    let client = token_client(client_id, token_endpoint);
    let refresh_token = RefreshToken::new(refresh_token.expose().to_string());
    let http = OAuthHttp::new(http);
    let answer = client
        .exchange_refresh_token(&refresh_token)
        .add_scopes(scopes(scope))
        .request_async(&http)
        .await
        .map_err(|error| http.entra_error(error))?;
    access_token(&answer, token_endpoint)
}

/// What the Microsoft identity platform adds to RFC 8628's answer.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub(crate) struct MicrosoftDeviceFields {
    /// The instructions to show, in the user's language.
    #[serde(default)]
    pub message: Option<String>,
}

impl ExtraDeviceAuthorizationFields for MicrosoftDeviceFields {}

/// The device authorization answer (`verification_uri`, or `verification_url`
/// as the platform's v1 endpoint spelled it; `interval` 5 when absent).
pub(crate) type DeviceAuthorization = DeviceAuthorizationResponse<MicrosoftDeviceFields>;

/// What the administrator needs to complete a device-code sign-in, and what
/// the poll needs. The device code itself stays inside (redacted in `Debug`).
#[derive(Debug, Clone)]
pub struct DeviceCode {
    pub user_code: String,
    pub verification_uri: String,
    /// Seconds the code is valid for, from when it was issued.
    pub expires_in: u64,
    /// Seconds to wait between polls (before any `slow_down`).
    pub interval: u64,
    pub message: String,
    /// When the code stops working, on the clock that started the flow.
    pub expires_at: OffsetDateTime,
    authorization: DeviceAuthorization,
}

impl DeviceCode {
    fn new(authorization: DeviceAuthorization, issued: OffsetDateTime) -> Self {
        DeviceCode {
            user_code: authorization.user_code().secret().clone(),
            verification_uri: authorization.verification_uri().to_string(),
            expires_in: authorization.expires_in().as_secs(),
            interval: authorization.interval().as_secs(),
            message: authorization
                .extra_fields()
                .message
                .clone()
                .unwrap_or_default(),
            expires_at: issued + authorization.expires_in(),
            authorization,
        }
    }
}

/// Step one of the device flow: ask for a code to show the administrator.
pub(crate) async fn start_device_code(
    http: &HttpClient,
    device_code_endpoint: &Url,
    client_id: &str,
    scope: &[String],
    login_hint: Option<&str>,
    clock: &dyn Clock,
) -> Result<DeviceCode, EntraError> {
    let client = oauth_client(client_id).set_device_authorization_url(
        DeviceAuthorizationUrl::from_url(device_code_endpoint.clone()),
    );
    let issued = clock.now();
    let mut request = client.exchange_device_code().add_scopes(scopes(scope));
    if let Some(hint) = login_hint {
        request = request.add_extra_param("login_hint", hint);
    }
    let http = OAuthHttp::new(http);
    let authorization = request
        .request_async(&http)
        .await
        .map_err(|error| http.entra_error(error))?;
    // Entra's codes last 15 minutes and are polled every few seconds; larger
    // numbers would overflow the clock while polling.
    if authorization.expires_in() > LONGEST_LIFETIME || authorization.interval() > LONGEST_LIFETIME
    {
        return Err(EntraError::Parse {
            url: device_code_endpoint.to_string(),
            why: format!(
                "the device code answer's expires_in ({} s) or interval ({} s) is beyond a day",
                authorization.expires_in().as_secs(),
                authorization.interval().as_secs()
            ),
        });
    }
    Ok(DeviceCode::new(authorization, issued))
}

/// Step two: poll until the administrator approves, declines, or the code
/// expires (`expires_in` after it was issued, on `clock`). `oauth2` runs the
/// loop with `clock`'s time and sleep: `authorization_pending` and `slow_down`
/// are states, whatever HTTP status they come with, and `slow_down` adds 5
/// seconds to the interval. The caller cancels by dropping the future: no
/// request is made after that.
pub(crate) async fn poll_device_code(
    http: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    code: &DeviceCode,
    clock: &dyn Clock,
) -> Result<AccessToken, EntraError> {
    let client = token_client(client_id, token_endpoint);
    let left = Duration::try_from(code.expires_at - clock.now()).unwrap_or(Duration::ZERO);
    // oauth2 reads the time as a chrono date: the clock's.
    let time = || {
        let now = clock.now();
        DateTime::<Utc>::from_timestamp(now.unix_timestamp(), now.nanosecond())
            .unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    let http = OAuthHttp::new(http).stop_on_failure();
    let poll = client
        .exchange_device_access_token(&code.authorization)
        .set_time_fn(time)
        .request_async(&http, |interval| clock.sleep(interval), Some(left));
    let result = tokio::select! {
        biased;
        answer = poll => answer.map_err(|error| http.entra_error(error)),
        failure = http.failure() => Err(failure),
    };
    match result {
        Ok(answer) => access_token(&answer, token_endpoint),
        Err(EntraError::Token {
            code: OAuthErrorCode::ExpiredToken,
            ..
        }) => Err(EntraError::DeviceCodeExpired),
        Err(EntraError::Token {
            code: OAuthErrorCode::AuthorizationDeclined | OAuthErrorCode::AccessDenied,
            ..
        }) => Err(EntraError::DeviceCodeDeclined),
        Err(other) => Err(other),
    }
}

#[cfg(test)]
mod tests;
