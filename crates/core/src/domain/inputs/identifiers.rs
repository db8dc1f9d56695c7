//! Who and what a request is about: a user principal name, a tenant and an
//! application (client) id.

use super::{InputError, string_serde};
use std::str::FromStr;

/// The characters of a GUID written 8-4-4-4-12.
const GUID_LEN: usize = 36;

/// The most characters a domain name has (RFC 1035, without the trailing dot).
const DOMAIN_MAX_LEN: usize = 253;

/// 8-4-4-4-12 hexadecimal digits, any case, no braces.
fn is_guid(text: &str) -> bool {
    text.len() == GUID_LEN
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
    text.len() <= DOMAIN_MAX_LEN
        && labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|last| !last.bytes().all(|b| b.is_ascii_digit()))
}

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

    /// Whether this account's domain is neither `tenant`'s domain nor under
    /// it, so that it signs in there only as another verified domain of the
    /// tenant or as a guest: worth a check, not a refusal. Never for a
    /// tenant given by its id, whose domains are not known here.
    pub fn outside(&self, tenant: &Tenant) -> bool {
        if tenant.is_guid() {
            return false;
        }
        let domain = self.domain().to_ascii_lowercase();
        let tenant = tenant.as_str();
        domain != tenant && !domain.ends_with(&format!(".{tenant}"))
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

    /// The longest tenant: a domain name (a tenant id is a 36-character GUID).
    pub const MAX_LEN: usize = DOMAIN_MAX_LEN;

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
    /// A GUID's characters.
    pub const LEN: usize = GUID_LEN;

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
