//! The OAuth 2.0 grants the tool uses, as the specs and the Microsoft identity
//! platform define them: device authorization (RFC 8628), client credentials
//! with a JWT assertion (RFC 7523), and resource owner password. This layer
//! knows nothing of caches or key stores.

use super::http::{HttpClient, Reply};
use super::{EntraError, OAuthErrorCode, Secret};
use serde::Deserialize;
use std::time::{Duration, Instant};
use url::Url;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const DEVICE_CODE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// An access token and when to stop using it.
#[derive(Debug, Clone)]
pub struct AccessToken {
    pub secret: Secret,
    pub expires_at: Instant,
    /// Seconds of lifetime the server granted.
    pub lifetime: Duration,
}

/// What an access token says about itself, read (not verified: it came
/// straight from the token endpoint) for display.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct TokenClaims {
    #[serde(default)]
    pub tid: Option<String>,
    #[serde(default)]
    pub roles: Vec<String>,
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
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Secret,
    expires_in: u64,
}

#[derive(Debug, Default, Deserialize)]
struct ErrorResponse {
    #[serde(default)]
    error: String,
    #[serde(default)]
    error_description: String,
    #[serde(default)]
    error_codes: Vec<u32>,
}

/// A token-endpoint (or discovery) error answer as a typed error.
pub fn token_error(reply: &Reply) -> EntraError {
    let parsed: ErrorResponse = serde_json::from_slice(&reply.body).unwrap_or_default();
    if parsed.error.is_empty() {
        return EntraError::Parse {
            url: reply.url.clone(),
            why: format!("HTTP {} without an OAuth error", reply.status.as_u16()),
        };
    }
    let aadsts = parsed
        .error_codes
        .first()
        .copied()
        .or_else(|| aadsts_in(&parsed.error_description));
    EntraError::Token {
        status: reply.status.as_u16(),
        code: OAuthErrorCode::from(parsed.error),
        aadsts,
        description: parsed.error_description,
    }
}

/// "AADSTS700016: ..." -> 700016
fn aadsts_in(description: &str) -> Option<u32> {
    let rest = &description[description.find("AADSTS")? + 6..];
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// Posts the form `form` makes (anew for each attempt) to the token endpoint.
async fn request_token(
    http: &HttpClient,
    token_endpoint: &Url,
    form: impl Fn() -> Result<Vec<(&'static str, String)>, EntraError>,
    not_replicated: impl Fn(&Reply) -> Option<String>,
) -> Result<AccessToken, EntraError> {
    let reply = http
        .send(
            |client| Ok(client.post(token_endpoint.clone()).form(&form()?)),
            not_replicated,
        )
        .await?;
    if !reply.status.is_success() {
        return Err(token_error(&reply));
    }
    let token: TokenResponse = reply.json()?;
    let lifetime = Duration::from_secs(token.expires_in);
    Ok(AccessToken {
        secret: token.access_token,
        expires_at: Instant::now() + lifetime,
        lifetime,
    })
}

/// Client credentials with a client assertion that `assertion` signs for each
/// attempt (a jti is never sent twice). A new application or key is refused
/// until Entra has replicated it (AADSTS700016, 700027): those answers are
/// retried within the replication budget.
pub async fn client_credentials(
    http: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    scope: &str,
    assertion: impl Fn() -> Result<Secret, EntraError>,
) -> Result<AccessToken, EntraError> {
    let form = || {
        Ok(vec![
            ("grant_type", "client_credentials".to_string()),
            ("client_id", client_id.to_string()),
            ("scope", scope.to_string()),
            ("client_assertion_type", JWT_BEARER.to_string()),
            ("client_assertion", assertion()?.expose().to_string()),
        ])
    };
    request_token(http, token_endpoint, form, |reply| {
        match token_error(reply).aadsts() {
            Some(700016) => {
                Some("the application is not visible to sign-in yet (replication)".into())
            }
            Some(700027) => {
                Some("the certificate is not visible to sign-in yet (replication)".into())
            }
            _ => None,
        }
    })
    .await
}

/// Resource owner password credentials: for accounts without MFA only.
pub async fn password(
    http: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    scope: &str,
    username: &str,
    password: &Secret,
) -> Result<AccessToken, EntraError> {
    let form = || {
        Ok(vec![
            ("grant_type", "password".to_string()),
            ("client_id", client_id.to_string()),
            ("scope", scope.to_string()),
            ("username", username.to_string()),
            ("password", password.expose().to_string()),
        ])
    };
    request_token(http, token_endpoint, form, |_| None).await
}

/// What the administrator needs to complete a device-code sign-in.
#[derive(Debug, Clone, Deserialize)]
pub struct DeviceCode {
    pub user_code: String,
    pub device_code: Secret,
    pub verification_uri: String,
    pub expires_in: u64,
    #[serde(default = "default_interval")]
    pub interval: u64,
    #[serde(default)]
    pub message: String,
}

fn default_interval() -> u64 {
    5
}

/// Step one of the device flow: ask for a code to show the administrator.
pub async fn start_device_code(
    http: &HttpClient,
    device_code_endpoint: &Url,
    client_id: &str,
    scope: &str,
    login_hint: Option<&str>,
) -> Result<DeviceCode, EntraError> {
    let mut form = vec![("client_id", client_id), ("scope", scope)];
    if let Some(hint) = login_hint {
        form.push(("login_hint", hint));
    }
    let reply = http
        .send(
            |client| Ok(client.post(device_code_endpoint.clone()).form(&form)),
            |_| None,
        )
        .await?;
    if !reply.status.is_success() {
        return Err(token_error(&reply));
    }
    reply.json()
}

/// Step two: poll until the administrator approves, declines, or the code
/// expires. `authorization_pending` and `slow_down` are states, whatever HTTP
/// status they come with; `slow_down` adds 5 seconds to the interval. The
/// caller cancels by dropping the future.
pub async fn poll_device_code(
    http: &HttpClient,
    token_endpoint: &Url,
    client_id: &str,
    code: &DeviceCode,
) -> Result<AccessToken, EntraError> {
    let deadline = Instant::now() + Duration::from_secs(code.expires_in);
    let mut interval = Duration::from_secs(code.interval.max(1));
    let form = || {
        Ok(vec![
            ("grant_type", DEVICE_CODE_GRANT.to_string()),
            ("client_id", client_id.to_string()),
            ("device_code", code.device_code.expose().to_string()),
        ])
    };
    loop {
        if Instant::now() + interval > deadline {
            return Err(EntraError::DeviceCodeExpired);
        }
        tokio::time::sleep(interval).await;
        match request_token(http, token_endpoint, form, |_| None).await {
            Ok(token) => return Ok(token),
            Err(EntraError::Token {
                code: OAuthErrorCode::AuthorizationPending,
                ..
            }) => {}
            Err(EntraError::Token {
                code: OAuthErrorCode::SlowDown,
                ..
            }) => interval += Duration::from_secs(5),
            Err(EntraError::Token {
                code: OAuthErrorCode::ExpiredToken,
                ..
            }) => return Err(EntraError::DeviceCodeExpired),
            Err(EntraError::Token {
                code: OAuthErrorCode::AuthorizationDeclined | OAuthErrorCode::AccessDenied,
                ..
            }) => return Err(EntraError::DeviceCodeDeclined),
            Err(other) => return Err(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{aadsts_in, token_error};
    use crate::entra::http::Reply;
    use crate::entra::{EntraError, OAuthErrorCode};
    use reqwest::StatusCode;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            url: "https://login.example/token".into(),
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn aadsts_code_is_read_from_the_description() {
        assert_eq!(
            aadsts_in("AADSTS700016: Application not found"),
            Some(700016)
        );
        assert_eq!(aadsts_in("no code here"), None);
    }

    #[test]
    fn token_error_body_parses_to_the_typed_code() {
        let error = token_error(&reply(
            400,
            r#"{"error":"slow_down","error_description":"AADSTS70000: Poll less often.","error_codes":[70000]}"#,
        ));
        match error {
            EntraError::Token {
                status,
                code,
                aadsts,
                description,
            } => {
                assert_eq!(status, 400);
                assert_eq!(code, OAuthErrorCode::SlowDown);
                assert_eq!(aadsts, Some(70000));
                assert_eq!(description, "AADSTS70000: Poll less often.");
            }
            other => panic!("expected a token error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_token_error_code_is_kept_and_displayed_as_sent() {
        let error = token_error(&reply(
            400,
            r#"{"error":"invalid_resource","error_description":"AADSTS500011: Resource not found."}"#,
        ));
        assert!(matches!(
            &error,
            EntraError::Token { code: OAuthErrorCode::Other(code), aadsts: Some(500011), .. }
                if code == "invalid_resource"
        ));
        assert_eq!(
            error.to_string(),
            "sign-in refused (invalid_resource): AADSTS500011: Resource not found."
        );
    }

    #[test]
    fn token_error_message_reads_as_before() {
        let error = token_error(&reply(
            400,
            r#"{"error":"invalid_grant","error_description":"AADSTS50126: Error validating credentials.\r\nTrace ID: x","error_codes":[50126]}"#,
        ));
        assert_eq!(
            error.to_string(),
            "sign-in refused (invalid_grant): AADSTS50126: Error validating credentials. Check the user name and password."
        );
    }

    #[test]
    fn body_without_an_oauth_error_is_a_parse_error() {
        assert!(matches!(
            token_error(&reply(500, "<html>oops</html>")),
            EntraError::Parse { .. }
        ));
    }
}
