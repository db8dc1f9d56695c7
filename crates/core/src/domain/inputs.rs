//! Typed, validated inputs: a value that reaches the engine has already been
//! checked. The same types parse command-line arguments (clap value parsers,
//! so a bad value exits with code 2), answers files (serde goes through
//! `FromStr`, so the message is the same) and the wizard's text fields.
//!
//! None of these values is a secret, but an endpoint URL may carry
//! `user:password@`: such a URL is refused and never echoed as given.

use super::{DEFAULT_CERTIFICATE_DAYS, MAX_CERTIFICATE_DAYS};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;
use url::{Host, Url};

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
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// 8-4-4-4-12 hexadecimal digits, any case, no braces.
fn is_guid(text: &str) -> bool {
    text.len() == 36
        && text.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// At least two labels of letters, digits and hyphens (1-63 characters, no
/// hyphen first or last), 253 characters in all, and a last label that is not
/// all digits (so an IPv4 address is not a domain name). No trailing dot.
fn is_domain_name(text: &str) -> bool {
    let labels: Vec<&str> = text.split('.').collect();
    let label_ok = |label: &&str| {
        (1..=63).contains(&label.len())
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    text.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|last| !last.bytes().all(|b| b.is_ascii_digit()))
}

// ---------------------------------------------------------------------------

/// A user principal name, such as `admin@contoso.onmicrosoft.com`, kept as given
/// (trimmed).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Upn(String);

impl Upn {
    pub const MAX_LEN: usize = 256;

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after the `@`.
    pub fn domain(&self) -> &str {
        self.0.split_once('@').map_or("", |(_, domain)| domain)
    }
}

fn is_local_part(local: &str) -> bool {
    const SPECIALS: &[u8] = b"._-'+!#$%&*/=?^`{|}~";
    !local.is_empty()
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
}

impl FromStr for Upn {
    type Err = InputError;

    fn from_str(input: &str) -> Result<Self, InputError> {
        let text = input.trim();
        let valid = text.len() <= Self::MAX_LEN
            && text
                .split_once('@')
                .is_some_and(|(local, domain)| is_local_part(local) && is_domain_name(domain));
        if valid {
            Ok(Self(text.to_string()))
        } else {
            Err(InputError::Upn {
                input: text.to_string(),
            })
        }
    }
}

string_serde!(Upn);

// ---------------------------------------------------------------------------

/// One specific tenant: its id (a GUID) or one of its domain names, lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Tenant(String);

impl Tenant {
    /// Authority aliases that name no single tenant.
    pub const ALIASES: [&'static str; 3] = ["common", "organizations", "consumers"];

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True for a tenant id, false for a domain name.
    pub fn is_guid(&self) -> bool {
        is_guid(&self.0)
    }
}

impl FromStr for Tenant {
    type Err = InputError;

    fn from_str(input: &str) -> Result<Self, InputError> {
        let text = input.trim();
        let lower = text.to_ascii_lowercase();
        if Self::ALIASES.contains(&lower.as_str()) {
            return Err(InputError::TenantAlias {
                input: text.to_string(),
            });
        }
        if is_guid(&lower) || is_domain_name(&lower) {
            Ok(Self(lower))
        } else {
            Err(InputError::Tenant {
                input: text.to_string(),
            })
        }
    }
}

string_serde!(Tenant);

// ---------------------------------------------------------------------------

/// An application (client) id: a GUID, lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AppId(String);

impl AppId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for AppId {
    type Err = InputError;

    fn from_str(input: &str) -> Result<Self, InputError> {
        let text = input.trim();
        if is_guid(text) {
            Ok(Self(text.to_ascii_lowercase()))
        } else {
            Err(InputError::AppId {
                input: text.to_string(),
            })
        }
    }
}

string_serde!(AppId);

// ---------------------------------------------------------------------------

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
fn redact_userinfo(text: &str) -> String {
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

// ---------------------------------------------------------------------------

/// Validity of a new certificate, in days: 1 to `MAX_CERTIFICATE_DAYS`.
///
/// Serialized as a number; deserialized from a number or a string, both
/// through `FromStr`, so a bad value gives the same message either way.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateDays(u32);

impl CertificateDays {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for CertificateDays {
    fn default() -> Self {
        Self(DEFAULT_CERTIFICATE_DAYS)
    }
}

impl TryFrom<u32> for CertificateDays {
    type Error = InputError;

    fn try_from(days: u32) -> Result<Self, InputError> {
        if (1..=MAX_CERTIFICATE_DAYS).contains(&days) {
            Ok(Self(days))
        } else {
            Err(InputError::CertificateDays {
                input: days.to_string(),
            })
        }
    }
}

impl FromStr for CertificateDays {
    type Err = InputError;

    fn from_str(input: &str) -> Result<Self, InputError> {
        let text = input.trim();
        // Digits only: `u32::from_str` would also take a leading `+`.
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(InputError::CertificateDays {
                input: text.to_string(),
            });
        }
        text.parse::<u32>()
            .map_err(|_| InputError::CertificateDays {
                input: text.to_string(),
            })
            .and_then(Self::try_from)
    }
}

impl fmt::Display for CertificateDays {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl Serialize for CertificateDays {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(self.0)
    }
}

impl<'de> Deserialize<'de> for CertificateDays {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Days;

        impl serde::de::Visitor<'_> for Days {
            type Value = CertificateDays;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "a whole number of days from 1 to {MAX_CERTIFICATE_DAYS}")
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<CertificateDays, E> {
                text.parse().map_err(E::custom)
            }

            fn visit_u64<E: serde::de::Error>(self, days: u64) -> Result<CertificateDays, E> {
                self.visit_str(&days.to_string())
            }

            fn visit_i64<E: serde::de::Error>(self, days: i64) -> Result<CertificateDays, E> {
                self.visit_str(&days.to_string())
            }

            fn visit_f64<E: serde::de::Error>(self, days: f64) -> Result<CertificateDays, E> {
                self.visit_str(&days.to_string())
            }
        }

        deserializer.deserialize_any(Days)
    }
}

// ---------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    const GUID: &str = "11111111-2222-3333-4444-555555555555";

    /// The FromStr message, and the messages serde_json and toml give for the
    /// same text as a string value.
    fn messages<T>(text: &str) -> (String, String, String)
    where
        T: FromStr<Err = InputError> + DeserializeOwned + fmt::Debug,
    {
        let direct = text.parse::<T>().unwrap_err().to_string();
        let json = serde_json::from_str::<T>(&serde_json::to_string(text).unwrap())
            .unwrap_err()
            .to_string();
        #[derive(Deserialize, Debug)]
        #[serde(bound = "T: DeserializeOwned")]
        struct Wrapper<T> {
            #[allow(dead_code)]
            value: T,
        }
        let toml_text = format!("value = {}", serde_json::to_string(text).unwrap());
        let toml = toml::from_str::<Wrapper<T>>(&toml_text)
            .unwrap_err()
            .to_string();
        (direct, json, toml)
    }

    fn assert_serde_same_message<T>(text: &str)
    where
        T: FromStr<Err = InputError> + DeserializeOwned + fmt::Debug,
    {
        let (direct, json, toml) = messages::<T>(text);
        assert!(
            json.starts_with(&direct),
            "json: {json}\nexpected: {direct}"
        );
        assert!(toml.contains(&direct), "toml: {toml}\nexpected: {direct}");
    }

    fn round_trip<T>(value: &T)
    where
        T: Serialize + DeserializeOwned + PartialEq + fmt::Debug,
    {
        let json = serde_json::to_string(value).unwrap();
        assert_eq!(&serde_json::from_str::<T>(&json).unwrap(), value);
    }

    // --- Upn ---------------------------------------------------------------

    #[test]
    fn upn_accepts_ordinary_names() {
        for text in [
            "admin@contoso.onmicrosoft.com",
            "first.last@contoso.com",
            "o'brien+sync@sub.contoso.co.uk",
            "a!#$%&*/=?^_`{|}~-b@x-y.example",
            "  padded@contoso.com\t",
        ] {
            let upn: Upn = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(upn.as_str(), text.trim());
            assert_eq!(upn.to_string(), text.trim());
        }
    }

    #[test]
    fn upn_keeps_case_and_gives_domain() {
        let upn: Upn = "Admin@Contoso.OnMicrosoft.com".parse().unwrap();
        assert_eq!(upn.as_str(), "Admin@Contoso.OnMicrosoft.com");
        assert_eq!(upn.domain(), "Contoso.OnMicrosoft.com");
    }

    #[test]
    fn upn_message_names_the_form() {
        let error = "not an upn".parse::<Upn>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"not an upn\" is not a user principal name: expected name@domain, such as admin@contoso.onmicrosoft.com"
        );
        assert_eq!(
            error,
            InputError::Upn {
                input: "not an upn".into()
            }
        );
    }

    #[test]
    fn upn_refuses_malformed() {
        for text in [
            "",
            "   ",
            "not an upn",
            "a@b",
            "admin",
            "@contoso.com",
            "admin@",
            "admin@@contoso.com",
            "a@b@contoso.com",
            "ad min@contoso.com",
            "admin@conto so.com",
            ".admin@contoso.com",
            "admin.@contoso.com",
            "ad..min@contoso.com",
            "ad\"min@contoso.com",
            "ad(min)@contoso.com",
            "adé@contoso.com",
            "admin@-contoso.com",
            "admin@contoso-.com",
            "admin@contoso..com",
            "admin@.contoso.com",
            "admin@contoso.com.",
            "admin@contoso_x.com",
            "admin@10.0.0.1",
            "admin@[10.0.0.1]",
        ] {
            assert!(text.parse::<Upn>().is_err(), "{text:?} was accepted");
        }
    }

    #[test]
    fn upn_length_limit() {
        let domain = "contoso.com";
        let at_limit = format!("{}@{domain}", "a".repeat(Upn::MAX_LEN - 1 - domain.len()));
        assert_eq!(at_limit.len(), 256);
        assert!(at_limit.parse::<Upn>().is_ok());
        let over = format!("a{at_limit}");
        assert!(over.parse::<Upn>().is_err());
        let long_label = format!("admin@{}.com", "a".repeat(64));
        assert!(long_label.parse::<Upn>().is_err());
    }

    #[test]
    fn upn_serde() {
        let upn: Upn = "admin@contoso.onmicrosoft.com".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&upn).unwrap(),
            "\"admin@contoso.onmicrosoft.com\""
        );
        round_trip(&upn);
        assert_serde_same_message::<Upn>("not an upn");
        assert_serde_same_message::<Upn>("a@b");
    }

    // --- Tenant ------------------------------------------------------------

    #[test]
    fn tenant_guid_normalized() {
        let tenant: Tenant = "  AAAAAAAA-BBBB-CCCC-DDDD-EEEEEEEEEEEE ".parse().unwrap();
        assert_eq!(tenant.as_str(), "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee");
        assert!(tenant.is_guid());
        let mixed: Tenant = "aAaAaAaA-bbbb-CCCC-dddd-EeEeEeEeEeEe".parse().unwrap();
        assert_eq!(mixed, tenant);
    }

    #[test]
    fn tenant_domain_normalized() {
        let tenant: Tenant = "Contoso.OnMicrosoft.COM".parse().unwrap();
        assert_eq!(tenant.as_str(), "contoso.onmicrosoft.com");
        assert_eq!(tenant.to_string(), "contoso.onmicrosoft.com");
        assert!(!tenant.is_guid());
        for text in [
            "contoso.com",
            "x-y.example",
            "a.b",
            "123contoso.com",
            "xn--bcher-kva.example",
        ] {
            let tenant: Tenant = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(!tenant.is_guid());
        }
    }

    #[test]
    fn tenant_refuses_malformed() {
        for text in [
            "",
            "bad tenant!",
            "contoso",
            "contoso.",
            ".contoso.com",
            "contoso..com",
            "-contoso.com",
            "contoso-.com",
            "con_toso.com",
            "contoso.com/",
            "https://contoso.com",
            "10.0.0.1",
            "{11111111-2222-3333-4444-555555555555}",
            "11111111-2222-3333-4444-55555555555",
            "11111111-2222-3333-4444-55555555555g",
            "111111112222333344445555555555555555",
        ] {
            assert!(
                matches!(text.parse::<Tenant>(), Err(InputError::Tenant { .. })),
                "{text:?} was not refused as a tenant"
            );
        }
        let error = "bad tenant!".parse::<Tenant>().unwrap_err().to_string();
        assert!(error.starts_with("\"bad tenant!\" is not a tenant: expected the tenant id"));
        assert!(error.contains("contoso.onmicrosoft.com"));
    }

    #[test]
    fn tenant_length_limits() {
        let label = "a".repeat(63);
        assert!(format!("{label}.com").parse::<Tenant>().is_ok());
        assert!(format!("a{label}.com").parse::<Tenant>().is_err());
        // 4 labels of 63 and a dot each: 255 characters.
        let long = [label.as_str(); 4].join(".");
        assert!(long.len() > 253);
        assert!(long.parse::<Tenant>().is_err());
        let fits = format!("{}.{}.{}.{}", label, label, label, "a".repeat(61));
        assert_eq!(fits.len(), 253);
        assert!(fits.parse::<Tenant>().is_ok());
    }

    #[test]
    fn tenant_refuses_aliases() {
        for text in [
            "common",
            "organizations",
            "consumers",
            " Common ",
            "ORGANIZATIONS",
        ] {
            let error = text.parse::<Tenant>().unwrap_err();
            assert_eq!(
                error,
                InputError::TenantAlias {
                    input: text.trim().to_string()
                }
            );
            let message = error.to_string();
            assert!(message.contains("one tenant"), "{message}");
            assert!(message.contains("tenant id"), "{message}");
        }
    }

    #[test]
    fn tenant_serde() {
        let tenant: Tenant = GUID.parse().unwrap();
        assert_eq!(
            serde_json::to_string(&tenant).unwrap(),
            format!("\"{GUID}\"")
        );
        round_trip(&tenant);
        let upper: Tenant = serde_json::from_str("\"CONTOSO.COM\"").unwrap();
        assert_eq!(upper.as_str(), "contoso.com");
        assert_serde_same_message::<Tenant>("bad tenant!");
        assert_serde_same_message::<Tenant>("common");
    }

    // --- AppId -------------------------------------------------------------

    #[test]
    fn app_id_accepts_guid_lowercased() {
        let id: AppId = GUID.parse().unwrap();
        assert_eq!(id.as_str(), GUID);
        let upper: AppId = " 6BF85CFA-AC8A-4BE5-B5DE-425A0D0DC016 ".parse().unwrap();
        assert_eq!(upper.as_str(), "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016");
        assert_eq!(upper.to_string(), "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016");
    }

    #[test]
    fn app_id_refuses_non_guids() {
        for text in [
            "",
            "contoso.com",
            "{11111111-2222-3333-4444-555555555555}",
            "11111111222233334444555555555555",
            "11111111-2222-3333-4444-5555555555555",
            "1111111-12222-3333-4444-555555555555",
            "11111111-2222-3333-4444-55555555555z",
            "11111111_2222_3333_4444_555555555555",
        ] {
            assert!(text.parse::<AppId>().is_err(), "{text:?} was accepted");
        }
        assert_eq!(
            "nope".parse::<AppId>().unwrap_err().to_string(),
            "\"nope\" is not an application id: expected the application (client) id, a GUID such as 11111111-2222-3333-4444-555555555555"
        );
    }

    #[test]
    fn app_id_serde() {
        let id: AppId = GUID.parse().unwrap();
        round_trip(&id);
        assert_eq!(serde_json::to_string(&id).unwrap(), format!("\"{GUID}\""));
        assert_serde_same_message::<AppId>("nope");
    }

    // --- EndpointUrl -------------------------------------------------------

    #[test]
    fn endpoint_accepts_https_and_loopback_http() {
        for (text, normal) in [
            (
                "https://login.microsoftonline.com",
                "https://login.microsoftonline.com/",
            ),
            (
                "https://graph.microsoft.com/v1.0",
                "https://graph.microsoft.com/v1.0",
            ),
            (
                "HTTPS://Login.Example.COM:8443/",
                "https://login.example.com:8443/",
            ),
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
            ("http://127.9.8.7/", "http://127.9.8.7/"),
            ("http://[::1]:3000", "http://[::1]:3000/"),
            ("http://localhost:8080/token", "http://localhost:8080/token"),
            ("http://LOCALHOST", "http://localhost/"),
            ("https://10.0.0.1", "https://10.0.0.1/"),
            (
                "  https://login.microsoftonline.com  ",
                "https://login.microsoftonline.com/",
            ),
        ] {
            let url: EndpointUrl = text.parse().unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!(url.as_str(), normal);
            assert_eq!(url.to_string(), normal);
            assert_eq!(url.as_url().as_str(), normal);
        }
    }

    #[test]
    fn endpoint_refuses_plain_http_elsewhere() {
        for text in [
            "http://10.0.0.1",
            "http://login.microsoftonline.com",
            "http://[::2]",
            "http://localhost.contoso.com",
        ] {
            let error = text.parse::<EndpointUrl>().unwrap_err();
            assert!(
                matches!(error, InputError::UrlInsecure { .. }),
                "{text}: {error:?}"
            );
            assert!(error.to_string().contains("https is required"), "{error}");
        }
        assert_eq!(
            "http://10.0.0.1"
                .parse::<EndpointUrl>()
                .unwrap_err()
                .to_string(),
            "\"http://10.0.0.1\" uses plain http to 10.0.0.1: https is required (plain http is allowed only to a loopback host: 127.0.0.1, ::1 or localhost)"
        );
    }

    #[test]
    fn endpoint_refuses_other_schemes() {
        for text in [
            "ftp://x",
            "file:///etc/passwd",
            "mailto:a@contoso.com",
            "wss://x.example",
        ] {
            let error = text.parse::<EndpointUrl>().unwrap_err();
            assert!(
                matches!(error, InputError::UrlScheme { .. }),
                "{text}: {error:?}"
            );
        }
        assert_eq!(
            "ftp://x".parse::<EndpointUrl>().unwrap_err().to_string(),
            "\"ftp://x\" has the scheme \"ftp\": expected an https URL such as https://login.microsoftonline.com (plain http only to a loopback host, such as http://127.0.0.1:8080)"
        );
    }

    #[test]
    fn endpoint_refuses_malformed() {
        for text in [
            "",
            "login.microsoftonline.com",
            "/relative/path",
            "https://",
            "https://bad host.example",
            "https://[::1",
        ] {
            let error = text.parse::<EndpointUrl>().unwrap_err();
            assert!(
                matches!(error, InputError::UrlSyntax { .. }),
                "{text}: {error:?}"
            );
            assert!(
                error.to_string().contains("expected an https URL"),
                "{error}"
            );
        }
    }

    #[test]
    fn endpoint_refuses_query_and_fragment() {
        let query = "https://login.example.com/?x=1".parse::<EndpointUrl>();
        assert!(matches!(
            query,
            Err(InputError::UrlQueryOrFragment { part: "query", .. })
        ));
        let empty_query = "https://login.example.com/?".parse::<EndpointUrl>();
        assert!(matches!(
            empty_query,
            Err(InputError::UrlQueryOrFragment { part: "query", .. })
        ));
        let fragment = "https://login.example.com/#top".parse::<EndpointUrl>();
        assert!(matches!(
            fragment,
            Err(InputError::UrlQueryOrFragment {
                part: "fragment",
                ..
            })
        ));
        assert!(fragment.unwrap_err().to_string().contains("has a fragment"));
    }

    #[test]
    fn endpoint_refuses_credentials_without_echoing_them() {
        for text in [
            "https://user:hunter2@login.example.com",
            "https://user@login.example.com",
            "https://:hunter2@login.example.com",
            "ftp://user:hunter2@x",
            "http://user:hunter2@10.0.0.1",
        ] {
            let error = text.parse::<EndpointUrl>().unwrap_err();
            assert!(
                matches!(error, InputError::UrlCredentials { .. }),
                "{text}: {error:?}"
            );
            let message = error.to_string();
            assert!(!message.contains("hunter2"), "{message}");
            assert!(!message.contains("user@"), "{message}");
            assert!(
                message.starts_with("\"") && message[1..].contains("://***@"),
                "{message}"
            );
            assert!(
                message.contains("remove the user:password@ part"),
                "{message}"
            );
        }
        // Even when the URL is malformed for another reason.
        let message = "https://user:hunter2@bad host"
            .parse::<EndpointUrl>()
            .unwrap_err()
            .to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }

    #[test]
    fn redaction() {
        assert_eq!(redact_userinfo("https://a:b@h/p@q"), "https://***@h/p@q");
        assert_eq!(redact_userinfo("https://h/p@q"), "https://h/p@q");
        assert_eq!(redact_userinfo("a:b@h"), "***@h");
        assert_eq!(redact_userinfo("https://a@b:c@h"), "https://***@h");
        assert_eq!(redact_userinfo("https://admin:p#ss@h"), "https://***@h");
        assert_eq!(
            redact_userinfo("https://admin:p/s?s@h/x"),
            "https://***@h/x"
        );
    }

    #[test]
    fn endpoint_serde() {
        let url: EndpointUrl = "https://login.microsoftonline.com".parse().unwrap();
        assert_eq!(
            serde_json::to_string(&url).unwrap(),
            "\"https://login.microsoftonline.com/\""
        );
        round_trip(&url);
        assert_serde_same_message::<EndpointUrl>("http://10.0.0.1");
        assert_serde_same_message::<EndpointUrl>("ftp://x");
        assert_serde_same_message::<EndpointUrl>("not a url");
    }

    // --- CertificateDays ---------------------------------------------------

    #[test]
    fn days_range() {
        assert_eq!("1".parse::<CertificateDays>().unwrap().get(), 1);
        assert_eq!(" 730 ".parse::<CertificateDays>().unwrap().get(), 730);
        assert_eq!("180".parse::<CertificateDays>().unwrap().to_string(), "180");
        assert_eq!(CertificateDays::default().get(), DEFAULT_CERTIFICATE_DAYS);
        assert_eq!(CertificateDays::default().get(), 180);
        assert_eq!(CertificateDays::try_from(730).unwrap().get(), 730);
        assert!(CertificateDays::try_from(0).is_err());
        assert!(CertificateDays::try_from(MAX_CERTIFICATE_DAYS + 1).is_err());
    }

    #[test]
    fn days_refuses_out_of_range_and_non_numbers() {
        for text in [
            "0",
            "731",
            "-1",
            "+5",
            "",
            "ten",
            "1.5",
            "1e2",
            "99999999999999999999",
        ] {
            let error = text.parse::<CertificateDays>().unwrap_err();
            assert_eq!(
                error,
                InputError::CertificateDays {
                    input: text.to_string()
                }
            );
        }
        assert_eq!(
            "731".parse::<CertificateDays>().unwrap_err().to_string(),
            "\"731\" is not a certificate validity: expected a whole number of days from 1 to 730 (the default is 180)"
        );
        assert_eq!(
            CertificateDays::try_from(0).unwrap_err(),
            "0".parse::<CertificateDays>().unwrap_err()
        );
    }

    #[test]
    fn days_serde() {
        let days: CertificateDays = "365".parse().unwrap();
        assert_eq!(serde_json::to_string(&days).unwrap(), "365");
        round_trip(&days);
        assert_eq!(
            serde_json::from_str::<CertificateDays>("\"90\"")
                .unwrap()
                .get(),
            90
        );
        assert_serde_same_message::<CertificateDays>("0");
        assert_serde_same_message::<CertificateDays>("731");
        assert_serde_same_message::<CertificateDays>("ten");

        // Numbers give the same message as the text of the number.
        let direct = "731".parse::<CertificateDays>().unwrap_err().to_string();
        for json in ["731", "\"731\""] {
            let message = serde_json::from_str::<CertificateDays>(json)
                .unwrap_err()
                .to_string();
            assert!(message.starts_with(&direct), "{message}");
        }
        let negative = serde_json::from_str::<CertificateDays>("-1")
            .unwrap_err()
            .to_string();
        assert!(negative.starts_with(&"-1".parse::<CertificateDays>().unwrap_err().to_string()));

        #[derive(Deserialize, Serialize, Debug, PartialEq)]
        struct File {
            days: CertificateDays,
        }
        let file: File = toml::from_str("days = 365").unwrap();
        assert_eq!(file.days.get(), 365);
        assert_eq!(toml::to_string(&file).unwrap().trim(), "days = 365");
        let message = toml::from_str::<File>("days = 0").unwrap_err().to_string();
        assert!(message.contains(&"0".parse::<CertificateDays>().unwrap_err().to_string()));
        let message = toml::from_str::<File>("days = 1.5")
            .unwrap_err()
            .to_string();
        assert!(message.contains(&"1.5".parse::<CertificateDays>().unwrap_err().to_string()));
    }

    // --- Shared ------------------------------------------------------------

    #[test]
    fn types_work_as_clap_value_parsers() {
        fn parse<T: FromStr<Err = InputError>>(text: &str) -> Result<T, String> {
            text.parse::<T>().map_err(|e| e.to_string())
        }
        // clap's value_parser! picks FromStr when Err: Error + Send + Sync + 'static.
        fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
        is_error::<InputError>();
        assert!(parse::<Upn>("admin@contoso.onmicrosoft.com").is_ok());
        assert!(parse::<Tenant>(GUID).is_ok());
        assert!(parse::<AppId>(GUID).is_ok());
        assert!(parse::<EndpointUrl>("https://login.microsoftonline.com").is_ok());
        assert!(parse::<CertificateDays>("180").is_ok());
    }

    #[test]
    fn clap_refuses_with_the_message() {
        use clap::Parser;
        #[derive(Parser, Debug)]
        struct Args {
            #[arg(long)]
            upn: Upn,
            #[arg(long)]
            tenant: Tenant,
            #[arg(long)]
            app_id: Option<AppId>,
            #[arg(long)]
            authority: Option<EndpointUrl>,
            #[arg(long, default_value_t)]
            days: CertificateDays,
        }
        let args = Args::try_parse_from([
            "x",
            "--upn",
            "admin@contoso.onmicrosoft.com",
            "--tenant",
            "Contoso.com",
            "--authority",
            "http://127.0.0.1:8080",
        ])
        .unwrap();
        assert_eq!(args.tenant.as_str(), "contoso.com");
        assert_eq!(args.days.get(), 180);
        assert!(args.app_id.is_none());
        assert_eq!(args.authority.unwrap().as_str(), "http://127.0.0.1:8080/");

        let error = Args::try_parse_from(["x", "--upn", "a@b", "--tenant", "common"]).unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(
            error.to_string().contains("is not a user principal name"),
            "{error}"
        );
        let error = Args::try_parse_from([
            "x",
            "--upn",
            "admin@contoso.com",
            "--tenant",
            "contoso.com",
            "--days",
            "731",
        ])
        .unwrap_err();
        assert_eq!(error.exit_code(), 2);
        assert!(error.to_string().contains("from 1 to 730"), "{error}");
    }
}
