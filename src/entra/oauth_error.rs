//! The `error` value of an OAuth 2.0 error response (RFC 6749 §5.2, RFC 8628
//! §3.5, plus the Microsoft identity platform's additions), parsed once into a
//! type so nothing downstream compares strings.

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

#[cfg(test)]
mod tests {
    use super::OAuthErrorCode;

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
}
