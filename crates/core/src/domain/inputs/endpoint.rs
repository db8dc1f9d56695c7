//! The authority and Graph endpoints: https, or plain http to a loopback host.

use super::{InputError, string_serde};
use std::str::FromStr;
use url::{Host, Url};

/// An absolute https URL (plain http only to a loopback host) without query,
/// fragment or credentials. Kept in the `url` crate's normal form, so
/// `https://login.microsoftonline.com` reads back with a trailing `/`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub fn as_url(&self) -> &Url {
        &self.0
    }
}

/// The input with any `user:password@` in its authority replaced by `***@`,
/// so an error message never shows a password.
pub(super) fn redact_userinfo(text: &str) -> String {
    let (prefix, rest) = match text.find("://") {
        Some(at) => text.split_at(at + 3),
        None => ("", text),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let userinfo_end = rest[..authority_end]
        .rfind('@')
        // A password may hold '/', '?' or '#' ("user:p#ss@host").
        .or_else(|| rest.rfind('@').filter(|&at| rest[..at].contains(':')));
    match userinfo_end {
        Some(at) => format!("{prefix}***{}", &rest[at..]),
        None => text.to_string(),
    }
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(address) => address.is_loopback(),
        Host::Ipv6(address) => address.is_loopback(),
    }
}

impl FromStr for EndpointUrl {
    type Err = InputError;

    fn from_str(input: &str) -> Result<Self, InputError> {
        let text = input.trim();
        let shown = redact_userinfo(text);
        let url = Url::parse(text).map_err(|e| InputError::UrlSyntax {
            input: shown.clone(),
            reason: e.to_string(),
        })?;
        if !url.username().is_empty() || url.password().is_some() {
            return Err(InputError::UrlCredentials { input: shown });
        }
        let host = url.host();
        match (url.scheme(), &host) {
            ("https", Some(_)) => {}
            ("http", Some(host)) if is_loopback(host) => {}
            ("http", Some(host)) => {
                return Err(InputError::UrlInsecure {
                    input: shown,
                    host: host.to_string(),
                });
            }
            ("http" | "https", None) => {
                return Err(InputError::UrlSyntax {
                    input: shown,
                    reason: "no host".to_string(),
                });
            }
            (scheme, _) => {
                return Err(InputError::UrlScheme {
                    input: shown,
                    scheme: scheme.to_string(),
                });
            }
        }
        if url.query().is_some() {
            return Err(InputError::UrlQueryOrFragment {
                input: shown,
                part: "query",
            });
        }
        if url.fragment().is_some() {
            return Err(InputError::UrlQueryOrFragment {
                input: shown,
                part: "fragment",
            });
        }
        Ok(Self(url))
    }
}

string_serde!(EndpointUrl);
