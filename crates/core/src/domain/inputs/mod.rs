//! Typed, validated inputs: a value that reaches the engine has already been
//! checked. The same types parse command-line arguments (through `FromStr`,
//! whose error is a `std::error::Error`, so a bad value exits with code 2),
//! answers files (serde goes through `FromStr`, so the message is the same)
//! and the wizard's text fields.
//!
//! None of these values is a secret, but an endpoint URL may carry
//! `user:password@`: such a URL is refused and never echoed as given.

mod days;
mod endpoint;
mod identifiers;
#[cfg(test)]
mod tests;

pub use days::CertificateDays;
pub use endpoint::EndpointUrl;
pub use identifiers::{AppId, Tenant, Upn};

use super::{DEFAULT_CERTIFICATE_DAYS, MAX_CERTIFICATE_DAYS};

/// Why an input was refused. Every message names what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error(
        "{input:?} is not a user principal name: expected name@domain, such as admin@contoso.onmicrosoft.com"
    )]
    Upn { input: String },

    #[error(
        "{input:?} is not a tenant: expected the tenant id (a GUID such as 11111111-2222-3333-4444-555555555555) or a domain name such as contoso.onmicrosoft.com"
    )]
    Tenant { input: String },

    #[error(
        "{input:?} names no specific tenant: client credentials and role checks need one tenant, so give its tenant id (a GUID such as 11111111-2222-3333-4444-555555555555) or a domain name such as contoso.onmicrosoft.com"
    )]
    TenantAlias { input: String },

    #[error(
        "{input:?} is not an application id: expected the application (client) id, a GUID such as 11111111-2222-3333-4444-555555555555"
    )]
    AppId { input: String },

    /// `input` has any `user:password@` part replaced by `***@`.
    #[error(
        "{input:?} is not an absolute URL ({reason}): expected an https URL such as https://login.microsoftonline.com"
    )]
    UrlSyntax { input: String, reason: String },

    /// `input` has any `user:password@` part replaced by `***@`.
    #[error(
        "{input:?} has the scheme {scheme:?}: expected an https URL such as https://login.microsoftonline.com (plain http only to a loopback host, such as http://127.0.0.1:8080)"
    )]
    UrlScheme { input: String, scheme: String },

    #[error(
        "{input:?} uses plain http to {host}: https is required (plain http is allowed only to a loopback host: 127.0.0.1, ::1 or localhost)"
    )]
    UrlInsecure { input: String, host: String },

    /// `part` is "query" or "fragment".
    #[error(
        "{input:?} has a {part}: expected a URL without a query (?...) or fragment (#...), such as https://login.microsoftonline.com"
    )]
    UrlQueryOrFragment { input: String, part: &'static str },

    /// `input` has the `user:password@` part replaced by `***@`.
    #[error(
        "{input:?} has a user name or password in it: remove the user:password@ part (credentials are never given in a URL)"
    )]
    UrlCredentials { input: String },

    #[error(
        "{input:?} is not a certificate validity: expected a whole number of days from 1 to {max} (the default is {default})",
        max = MAX_CERTIFICATE_DAYS,
        default = DEFAULT_CERTIFICATE_DAYS
    )]
    CertificateDays { input: String },
}

/// `Serialize` as the string and `Deserialize` through `FromStr`.
macro_rules! string_serde {
    ($name:ident) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <String as serde::Deserialize>::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
use string_serde;
