//! The Microsoft identity platform and Microsoft Graph, in layers like MSAL's:
//! where Entra is (`cloud`, `discovery`), how a request travels (`http`,
//! one retry policy; [`proxy`], the environment's proxies), the OAuth grants (`oauth`, [`assertion`]), where tokens
//! are kept ([`cache`]), and Graph (`graph`); [`client`] is what the engine
//! holds of them all.

pub mod assertion;
pub mod cache;
pub mod client;
pub(crate) mod cloud;
pub(crate) mod discovery;
pub(crate) mod graph;
pub(crate) mod http;
pub(crate) mod oauth;
pub(crate) mod oauth_error;
pub(crate) mod oauth_http;
pub mod proxy;
mod tls;

use crate::domain::{Input, Remedy, SignInAnswer};
use std::fmt;

pub use cloud::Endpoints;
pub use http::{HttpClient, NewObject, RetryBudget, RetryNotice, RetryPolicy, RetryReason};
pub use oauth_error::OAuthErrorCode;
pub use tls::{CaCertError, extra_roots};

/// A value that must never be printed: tokens, device codes, passwords.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.0);
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Secret)
    }
}

/// What an access token says about itself, read (not verified: it came
/// straight from the token endpoint, over TLS) from its payload.
pub(crate) fn token_claims<T: serde::de::DeserializeOwned>(token: &str) -> Option<T> {
    use base64::Engine;
    let payload = token.split('.').nth(1)?;
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

#[derive(Debug, thiserror::Error)]
pub enum EntraError {
    /// The token endpoint refused (OAuth error response).
    #[error("{}", describe_token_error(.code, *.aadsts, .description))]
    Token {
        status: u16,
        code: OAuthErrorCode,
        aadsts: Option<u32>,
        description: String,
    },
    /// Microsoft Graph refused.
    #[error("Microsoft Graph answered {status} {code}: {message}")]
    Graph {
        status: u16,
        code: graph::GraphCode,
        message: String,
    },
    #[error("cannot reach {url}: {why}")]
    Transport { url: String, why: String },
    /// The proxy answered, and would not open the tunnel: waiting will not
    /// change that.
    #[error(
        "the proxy {proxy} refused the connection to {url} ({why}): check the user name and password in https_proxy (or all_proxy) and that the proxy allows this host, or name the host in no_proxy to reach it directly"
    )]
    ProxyRefused {
        proxy: String,
        url: String,
        why: String,
    },
    /// A write whose answer was lost (a 5xx, a timeout, a dropped connection):
    /// it may or may not have been carried out. Look before repeating it.
    #[error("no clear answer from {url} ({why}); the change may or may not have been made")]
    Ambiguous { url: String, why: String },
    #[error("unexpected answer from {url}: {why}")]
    Parse { url: String, why: String },
    #[error(
        "{0} is not allowed: Entra endpoints must use https (plain http only for loopback addresses)"
    )]
    InsecureEndpoint(String),
    #[error("{0}")]
    Config(String),
    #[error("cannot trust {path} as a root certificate: the file {why}")]
    RootCertificate {
        path: std::path::PathBuf,
        why: String,
    },
    #[error("this authority offers no device code sign-in")]
    NoDeviceCode,
    #[error(
        "the application's token still does not carry {role} after waiting for Entra to replicate its grant; the connector was not switched. Check the application is granted {role} on the Microsoft Entra AD Synchronization Service (API permissions, admin consent), then run again"
    )]
    RoleMissingFromToken { role: String },
    #[error("the sign-in code expired before it was used; start the sign-in again")]
    DeviceCodeExpired,
    #[error("no browser sign-in arrived within {minutes} minutes; start the sign-in again")]
    BrowserSignInTimedOut { minutes: u64 },
    #[error(
        "the address given back does not belong to this sign-in (its state differs); nothing was redeemed. Paste the address the browser ended on for the sign-in shown last"
    )]
    BrowserStateMismatch,
    #[error(
        "the identity platform offers no browser sign-in (authorization endpoint) for this tenant"
    )]
    NoAuthorizationEndpoint,
    #[error("the sign-in was declined at the verification page")]
    DeviceCodeDeclined,
    #[error(transparent)]
    Key(#[from] crate::keys::KeyError),
}

/// The Microsoft identity platform's description split into what went
/// wrong and the ids its support asks for ("Trace ID: … Correlation ID: …
/// Timestamp: …"), which it appends to the sentence.
fn split_support_ids(description: &str) -> (&str, Option<&str>) {
    match description.find("Trace ID:") {
        Some(at) => (description[..at].trim_end(), Some(description[at..].trim())),
        None => (description, None),
    }
}

impl EntraError {
    /// The ids Microsoft support asks for about a refused sign-in (trace id,
    /// correlation id, time), kept apart from the message so that front ends
    /// give them a line of their own.
    pub fn support_ids(&self) -> Option<&str> {
        match self {
            EntraError::Token { description, .. } => {
                split_support_ids(description.lines().next()?).1
            }
            _ => None,
        }
    }

    /// The AADSTS code of a token error, if any.
    pub fn aadsts(&self) -> Option<u32> {
        match self {
            EntraError::Token { aadsts, .. } => *aadsts,
            _ => None,
        }
    }

    /// What puts it right; any one of them will do.
    pub fn remedies(&self) -> Vec<Remedy> {
        match self {
            EntraError::Token {
                aadsts: Some(90002),
                ..
            } => vec![Remedy::correct(Input::Tenant)],
            EntraError::Token {
                aadsts: Some(50074 | 50076 | 50079 | 50158),
                ..
            } => vec![
                Remedy::SignInWith {
                    method: SignInAnswer::DeviceCode,
                },
                Remedy::SignInWith {
                    method: SignInAnswer::Browser,
                },
            ],
            EntraError::Token {
                aadsts: Some(53003),
                ..
            } => vec![Remedy::SignInWith {
                method: SignInAnswer::Browser,
            }],
            EntraError::RootCertificate { .. } => vec![Remedy::correct(Input::CaCert)],
            EntraError::NoDeviceCode => vec![Remedy::SignInWith {
                method: SignInAnswer::Password,
            }],
            EntraError::Key(error) => error.remedies(),
            _ => Vec::new(),
        }
    }

    /// What Graph's error code says, for an error Graph answered.
    pub fn graph_code(&self) -> Option<&graph::GraphCode> {
        match self {
            EntraError::Graph { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// The server's description (its first line: the rest is trace and correlation
/// ids), with what to do for the errors an administrator meets.
fn describe_token_error(code: &OAuthErrorCode, aadsts: Option<u32>, description: &str) -> String {
    let code = code.as_str();
    let first_line = description.lines().next().unwrap_or(code);
    let (first_line, _) = split_support_ids(first_line);
    let hint = match aadsts {
        Some(90002) => {
            " The tenant is not known by that name: use the tenant id or a verified domain such as contoso.onmicrosoft.com."
        }
        Some(50126) => " Check the user name and password.",
        // The sign-in interruptions Microsoft lists (reference-error-codes):
        // what happened, and what to do, before anything changed.
        Some(50074) | Some(50076) => {
            " This account must use multi-factor authentication, which a password sign-in cannot: sign in with the device code or in a browser."
        }
        Some(50079) => {
            " This account must register for multi-factor authentication first (https://aka.ms/mfasetup), then sign in with the device code or in a browser."
        }
        Some(50158) => {
            " An external security challenge (a third-party MFA provider or a Conditional Access custom control) must be completed: sign in with the device code or in a browser."
        }
        Some(53003) => {
            " A Conditional Access policy of this tenant blocked this sign-in. If it blocks the device code flow (as Microsoft recommends), sign in in a browser; otherwise whoever manages Conditional Access finds the policy in the tenant's sign-in logs by the correlation id."
        }
        Some(53000) | Some(53001) | Some(50097) => {
            " A Conditional Access policy requires a compliant, registered or hybrid-joined device: approve the sign-in (device code or browser) on a device the policy accepts, or ask whoever manages Conditional Access, with the correlation id."
        }
        Some(53002) => {
            " A Conditional Access policy requires an approved client application: sign in with a client it allows, or ask whoever manages Conditional Access, with the correlation id."
        }
        Some(53004) => {
            " The account must complete its multi-factor registration in a browser before it may sign in here (a risk policy requires it)."
        }
        Some(700016) => {
            " The application does not exist in this tenant (yet): check the application id, or wait a minute for replication."
        }
        Some(700027) => {
            " The certificate is not registered on the application, or the assertion signature is invalid."
        }
        _ => "",
    };
    format!("sign-in refused ({code}): {first_line}{hint}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(aadsts: u32) -> EntraError {
        EntraError::Token {
            status: 400,
            code: OAuthErrorCode::from("interaction_required"),
            aadsts: Some(aadsts),
            description: format!(
                "AADSTS{aadsts}: refused.\r\nTrace ID: 0a1b\r\nCorrelation ID: 2c3d\r\nTimestamp: 2026-12-07 21:00:00Z"
            ),
        }
    }

    /// Each sign-in interruption says what happened and what to do; the
    /// ones another sign-in method gets past name it as a remedy.
    #[test]
    fn conditional_access_and_mfa_refusals_say_what_to_do() {
        let blocked = refused(53003);
        assert!(
            blocked.to_string().contains("Conditional Access policy"),
            "{blocked}"
        );
        assert!(blocked.to_string().contains("correlation id"), "{blocked}");
        assert_eq!(
            blocked.remedies(),
            [Remedy::SignInWith {
                method: SignInAnswer::Browser
            }]
        );
        let mfa = refused(50076);
        assert!(mfa.to_string().contains("multi-factor"), "{mfa}");
        assert_eq!(
            mfa.remedies(),
            [
                Remedy::SignInWith {
                    method: SignInAnswer::DeviceCode
                },
                Remedy::SignInWith {
                    method: SignInAnswer::Browser
                }
            ]
        );
        assert!(refused(50079).to_string().contains("register"));
        assert!(refused(53000).to_string().contains("device"));
        assert!(
            refused(50158)
                .to_string()
                .contains("external security challenge")
        );
        // The support ids are kept apart from the sentence, for the sign-in logs.
        assert!(!blocked.to_string().contains("Trace ID"), "{blocked}");
        assert_eq!(refused(90002).remedies(), [Remedy::correct(Input::Tenant)]);
    }
}
