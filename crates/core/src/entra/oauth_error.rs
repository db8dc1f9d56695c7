//! OAuth 2.0 error responses (RFC 6749 §5.2, RFC 8628 §3.5, plus the
//! Microsoft identity platform's additions), parsed once into types so nothing
//! downstream compares strings: the `error` code ([`OAuthErrorCode`]) and the
//! whole answer with its AADSTS numbers ([`MicrosoftTokenError`], the error
//! type the `oauth2` client deserializes token errors into).

use super::EntraError;
use super::http::Reply;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::convert::Infallible;
use std::fmt;
use std::str::FromStr;

/// An OAuth `error` code. Parsing is exact and case-sensitive (the specs
/// define snake_case ASCII values); anything unknown is kept as
/// [`OAuthErrorCode::Other`]. Build values by parsing (`"slow_down".parse()`,
/// `"slow_down".into()`) so a known code never ends up in `Other`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum OAuthErrorCode {
    /// `invalid_request` (RFC 6749).
    InvalidRequest,
    /// `invalid_client` (RFC 6749).
    InvalidClient,
    /// `invalid_grant` (RFC 6749): e.g. wrong password, revoked grant.
    InvalidGrant,
    /// `unauthorized_client` (RFC 6749).
    UnauthorizedClient,
    /// `unsupported_grant_type` (RFC 6749).
    UnsupportedGrantType,
    /// `invalid_scope` (RFC 6749).
    InvalidScope,
    /// `authorization_pending` (RFC 8628): the user has not finished yet.
    AuthorizationPending,
    /// `slow_down` (RFC 8628): poll 5 seconds less often.
    SlowDown,
    /// `access_denied` (RFC 6749, RFC 8628): the user declined.
    AccessDenied,
    /// `expired_token` (RFC 8628): the device code expired.
    ExpiredToken,
    /// `authorization_declined`: Microsoft's device-flow form of
    /// `access_denied`.
    AuthorizationDeclined,
    /// `interaction_required` (OpenID Connect, Microsoft).
    InteractionRequired,
    /// `consent_required` (OpenID Connect, Microsoft).
    ConsentRequired,
    /// `temporarily_unavailable` (RFC 6749).
    TemporarilyUnavailable,
    /// `server_error` (RFC 6749).
    ServerError,
    /// Any other value, verbatim.
    Other(String),
}

impl OAuthErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            OAuthErrorCode::InvalidRequest => "invalid_request",
            OAuthErrorCode::InvalidClient => "invalid_client",
            OAuthErrorCode::InvalidGrant => "invalid_grant",
            OAuthErrorCode::UnauthorizedClient => "unauthorized_client",
            OAuthErrorCode::UnsupportedGrantType => "unsupported_grant_type",
            OAuthErrorCode::InvalidScope => "invalid_scope",
            OAuthErrorCode::AuthorizationPending => "authorization_pending",
            OAuthErrorCode::SlowDown => "slow_down",
            OAuthErrorCode::AccessDenied => "access_denied",
            OAuthErrorCode::ExpiredToken => "expired_token",
            OAuthErrorCode::AuthorizationDeclined => "authorization_declined",
            OAuthErrorCode::InteractionRequired => "interaction_required",
            OAuthErrorCode::ConsentRequired => "consent_required",
            OAuthErrorCode::TemporarilyUnavailable => "temporarily_unavailable",
            OAuthErrorCode::ServerError => "server_error",
            OAuthErrorCode::Other(other) => other,
        }
    }

    /// The known code `value` names, if it names one.
    fn known(value: &str) -> Option<Self> {
        Some(match value {
            "invalid_request" => OAuthErrorCode::InvalidRequest,
            "invalid_client" => OAuthErrorCode::InvalidClient,
            "invalid_grant" => OAuthErrorCode::InvalidGrant,
            "unauthorized_client" => OAuthErrorCode::UnauthorizedClient,
            "unsupported_grant_type" => OAuthErrorCode::UnsupportedGrantType,
            "invalid_scope" => OAuthErrorCode::InvalidScope,
            "authorization_pending" => OAuthErrorCode::AuthorizationPending,
            "slow_down" => OAuthErrorCode::SlowDown,
            "access_denied" => OAuthErrorCode::AccessDenied,
            "expired_token" => OAuthErrorCode::ExpiredToken,
            "authorization_declined" => OAuthErrorCode::AuthorizationDeclined,
            "interaction_required" => OAuthErrorCode::InteractionRequired,
            "consent_required" => OAuthErrorCode::ConsentRequired,
            "temporarily_unavailable" => OAuthErrorCode::TemporarilyUnavailable,
            "server_error" => OAuthErrorCode::ServerError,
            _ => return None,
        })
    }
}

impl From<&str> for OAuthErrorCode {
    fn from(value: &str) -> Self {
        OAuthErrorCode::known(value).unwrap_or_else(|| OAuthErrorCode::Other(value.to_string()))
    }
}

impl From<String> for OAuthErrorCode {
    fn from(value: String) -> Self {
        OAuthErrorCode::known(&value).unwrap_or(OAuthErrorCode::Other(value))
    }
}

impl FromStr for OAuthErrorCode {
    type Err = Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(value.into())
    }
}

impl fmt::Display for OAuthErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for OAuthErrorCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for OAuthErrorCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(OAuthErrorCode::from)
    }
}

/// A token (or device authorization) endpoint's error answer as the Microsoft
/// identity platform sends it: RFC 6749's `error` and `error_description`, and
/// `error_codes`, the AADSTS numbers. It is the `oauth2` client's error
/// response type, so the numbers survive the trip through that crate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MicrosoftTokenError {
    pub error: OAuthErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_codes: Option<Vec<u32>>,
}

impl oauth2::ErrorResponse for MicrosoftTokenError {}

impl fmt::Display for MicrosoftTokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.error_description {
            Some(description) => write!(f, "{}: {description}", self.error),
            None => write!(f, "{}", self.error),
        }
    }
}

impl MicrosoftTokenError {
    /// The error in an answer's body, if the body is an OAuth error at all.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(body)
            .ok()
            .filter(|error| !error.error.as_str().is_empty())
    }

    /// The AADSTS number: the first of `error_codes` (never read out of the
    /// description, which is text for people).
    pub(crate) fn aadsts(&self) -> Option<u32> {
        self.error_codes
            .as_ref()
            .and_then(|codes| codes.first().copied())
    }

    /// As our error, with the HTTP status it came with.
    pub(crate) fn into_entra(self, status: u16) -> EntraError {
        let aadsts = self.aadsts();
        EntraError::Token {
            status,
            code: self.error,
            aadsts,
            description: self.error_description.unwrap_or_default(),
        }
    }
}

/// An error answer read outside the `oauth2` client (discovery) as our error.
pub(crate) fn token_error(reply: &Reply) -> EntraError {
    match MicrosoftTokenError::parse(&reply.body) {
        Some(error) => error.into_entra(reply.status.as_u16()),
        None => EntraError::Parse {
            url: reply.url.clone(),
            why: format!("HTTP {} without an OAuth error", reply.status.as_u16()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::{MicrosoftTokenError, OAuthErrorCode, token_error};
    use crate::entra::EntraError;
    use crate::entra::http::Reply;
    use reqwest::StatusCode;

    const KNOWN: [(&str, OAuthErrorCode); 15] = [
        ("invalid_request", OAuthErrorCode::InvalidRequest),
        ("invalid_client", OAuthErrorCode::InvalidClient),
        ("invalid_grant", OAuthErrorCode::InvalidGrant),
        ("unauthorized_client", OAuthErrorCode::UnauthorizedClient),
        (
            "unsupported_grant_type",
            OAuthErrorCode::UnsupportedGrantType,
        ),
        ("invalid_scope", OAuthErrorCode::InvalidScope),
        (
            "authorization_pending",
            OAuthErrorCode::AuthorizationPending,
        ),
        ("slow_down", OAuthErrorCode::SlowDown),
        ("access_denied", OAuthErrorCode::AccessDenied),
        ("expired_token", OAuthErrorCode::ExpiredToken),
        (
            "authorization_declined",
            OAuthErrorCode::AuthorizationDeclined,
        ),
        ("interaction_required", OAuthErrorCode::InteractionRequired),
        ("consent_required", OAuthErrorCode::ConsentRequired),
        (
            "temporarily_unavailable",
            OAuthErrorCode::TemporarilyUnavailable,
        ),
        ("server_error", OAuthErrorCode::ServerError),
    ];

    #[test]
    fn every_known_code_parses_and_round_trips() {
        for (wire, code) in KNOWN {
            let parsed: OAuthErrorCode = wire.parse().unwrap();
            assert_eq!(parsed, code, "{wire}");
            assert_eq!(OAuthErrorCode::from(wire), code, "{wire}");
            assert_eq!(OAuthErrorCode::from(wire.to_string()), code, "{wire}");
            assert_eq!(parsed.as_str(), wire);
            assert_eq!(parsed.to_string(), wire);
        }
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        for wire in [
            "invalid_resource",
            "",
            "Slow_Down",
            "SLOW_DOWN",
            " slow_down",
        ] {
            let parsed: OAuthErrorCode = wire.parse().unwrap();
            assert_eq!(parsed, OAuthErrorCode::Other(wire.to_string()), "{wire:?}");
            assert_eq!(parsed.as_str(), wire);
            assert_eq!(parsed.to_string(), wire);
        }
    }

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            url: "https://login.example/token".into(),
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            date: None,
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn error_codes_win_over_the_description_and_survive_a_round_trip() {
        let body = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.","error_codes":[700027,7000215],"timestamp":"x"}"#;
        let error = MicrosoftTokenError::parse(body.as_bytes()).unwrap();
        assert_eq!(error.error, OAuthErrorCode::InvalidClient);
        assert_eq!(error.aadsts(), Some(700027));
        let again: MicrosoftTokenError =
            serde_json::from_value(serde_json::to_value(&error).unwrap()).unwrap();
        assert_eq!(again, error);
        assert_eq!(
            error.to_string(),
            "invalid_client: AADSTS7000215: Invalid client secret."
        );
        // Without error_codes there is no number: the description is not read.
        let bare = MicrosoftTokenError::parse(
            br#"{"error":"invalid_grant","error_description":"AADSTS65001: consent","error_codes":null}"#,
        )
        .unwrap();
        assert_eq!(bare.aadsts(), None);
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
            r#"{"error":"invalid_resource","error_description":"AADSTS500011: Resource not found.","error_codes":[500011]}"#,
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
        for body in ["<html>oops</html>", "{}", r#"{"error":""}"#] {
            assert!(
                matches!(token_error(&reply(500, body)), EntraError::Parse { .. }),
                "{body}"
            );
        }
    }
}
