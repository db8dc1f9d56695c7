//! Plain types shared by every layer. No I/O here.

mod access;
mod answers;
mod clock;
mod hash;
mod inputs;
mod remedy;

pub use access::{AuditKind, Removal};
pub use answers::{Answers, ConnectionInputs, Method, MethodAnswer, MethodError, SignInAnswer};
pub use clock::{Clock, Sleep, SystemClock};
pub use hash::{CertificateHash, HashParseError};
pub use inputs::{AppId, CertificateDays, EndpointUrl, InputError, Tenant, Upn};
pub use remedy::{Input, NextCommand, Remedy, any_of, capitalised, with_remedies};

use serde::Serialize;
use time::OffsetDateTime;

/// The certificate subject and issuer of every certificate this tool creates.
pub const MANAGED_CERTIFICATE_SUBJECT: &str = "CN=Entra Connect Sync Provisioning";

/// Certificates expiring within this many days raise event 1011 (rotation due).
pub const ROTATION_WARNING_DAYS: i64 = 150;

/// Microsoft Entra AD Synchronization Service (all clouds) and its app role.
pub const SYNC_SERVICE_APP_ID: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";
pub const SYNC_SERVICE_ROLE: &str = "ADSynchronization.ReadWrite.All";

/// Microsoft password reset service (public cloud id) and the roles password
/// writeback needs.
pub const PASSWORD_RESET_APP_ID: &str = "93625bc8-bfe2-437a-97e0-3d0060024faa";
/// Microsoft password reset service in the US Government cloud (Arlington),
/// where its appId differs from the public cloud's.
pub const PASSWORD_RESET_APP_ID_USGOV: &str = "2e5ecfc8-ea79-48bd-8140-c19324acb278";
pub const PASSWORD_WRITEBACK_ROLES: [&str; 3] = [
    "PasswordWriteback.OffboardClient.All",
    "PasswordWriteback.RegisterClientVersion.All",
    "PasswordWriteback.RefreshClient.All",
];

/// Directory role templates.
pub const HYBRID_IDENTITY_ADMINISTRATOR: &str = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2";
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
/// The built-in role of the legacy connector accounts (`Sync_<HOST>_<id>`).
pub const DIRECTORY_SYNCHRONIZATION_ACCOUNTS: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";

/// The display name prefix of every application this tool registers.
pub const APPLICATION_NAME_PREFIX: &str = "ConnectSyncProvisioning";

/// Validity of a newly created certificate, in days.
pub const DEFAULT_CERTIFICATE_DAYS: u32 = 180;
pub const MAX_CERTIFICATE_DAYS: u32 = 730;

/// An enum whose values go by name (in files, in the database, on the command
/// line): every value, and the name of each. `FromStr` takes exactly these
/// names and refuses any other with [`UnknownName`].
pub trait Named: Copy + Send + Sync + 'static {
    /// Every value, in the order they are listed.
    const ALL: &'static [Self];

    fn name(self) -> &'static str;
}

/// A name that is none of a [`Named`] enum's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{given:?} is not a {kind}: expected one of {}", .names.join(", "))]
pub struct UnknownName {
    kind: &'static str,
    given: String,
    names: Vec<&'static str>,
}

impl UnknownName {
    pub(crate) fn new<T: Named>(kind: &'static str, given: &str) -> Self {
        UnknownName {
            kind,
            given: given.to_string(),
            names: T::ALL.iter().map(|value| value.name()).collect(),
        }
    }
}

/// Enums stored and shown by name: one list gives `ALL`, `as_str`, [`Named`],
/// `FromStr` and `Display`. Serde is derived: a type whose serde names differ
/// from its variants' says so with `#[serde(...)]` among its attributes.
macro_rules! named_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        $(#[$meta])*
        pub enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            pub const ALL: [Self; [$(stringify!($variant)),+].len()] = [$(Self::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl $crate::domain::Named for $name {
            const ALL: &'static [Self] = &$name::ALL;

            fn name(self) -> &'static str {
                self.as_str()
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::UnknownName;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err($crate::domain::UnknownName::new::<Self>(stringify!($name), other)),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use named_enum;

named_enum! {
    /// Which kind of account the connector signs in with
    /// (`ConnectorIdentityType` in Get-ADSyncEntraConnectorCredential).
    pub enum ConnectorIdentityType {
        None => "None",
        ServiceAccount => "ServiceAccount",
        Application => "Application",
    }
}

named_enum! {
    /// The Microsoft clouds Entra Connect runs in; each has its own endpoints.
    #[derive(Default)]
    #[serde(rename_all = "lowercase")]
    pub enum Cloud {
        #[default]
        Public => "public",
        Usgov => "usgov",
        China => "china",
    }
}

impl Cloud {
    pub fn label(self) -> &'static str {
        match self {
            Cloud::Public => "Microsoft Entra ID (worldwide)",
            Cloud::Usgov => "US Government",
            Cloud::China => "China (21Vianet)",
        }
    }
}

named_enum! {
    /// Who looks after an application or a certificate: this tool (and so rotates
    /// it automatically), or the administrator (Bring Your Own Certificate / Application).
    pub enum ManagedBy {
        EntraConnect => "EntraConnect",
        Customer => "Customer",
    }
}

impl ManagedBy {
    /// Who renews a certificate so looked after, for a step's summary.
    pub fn renewed_by(self) -> &'static str {
        match self {
            ManagedBy::EntraConnect => "made here; this tool renews it",
            ManagedBy::Customer => "yours; you renew it",
        }
    }
}

named_enum! {
    /// Where a private key lives.
    pub enum StoreKind {
        Tpm => "TPM",
        Software => "Software",
    }
}

/// The connector credential of this server, as the local state records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectorCredential {
    None,
    ServiceAccount(ServiceAccountCredential),
    Application(ApplicationCredential),
}

impl ConnectorCredential {
    pub fn identity_type(&self) -> ConnectorIdentityType {
        match self {
            Self::None => ConnectorIdentityType::None,
            Self::ServiceAccount(_) => ConnectorIdentityType::ServiceAccount,
            Self::Application(_) => ConnectorIdentityType::Application,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceAccountCredential {
    pub user_principal_name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub configured_at: OffsetDateTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApplicationCredential {
    pub tenant_id: String,
    pub application_id: String,
    pub service_principal_id: String,
    pub certificate_sha256: CertificateHash,
    pub key_store: StoreKind,
    pub application_managed_by: ManagedBy,
    pub certificate_managed_by: ManagedBy,
    #[serde(with = "time::serde::rfc3339")]
    pub configured_at: OffsetDateTime,
}

/// The scheduler's interval in minutes: one minute to one week.
pub const INTERVAL_MINUTES_MIN: u32 = 1;
pub const INTERVAL_MINUTES_MAX: u32 = 10080;

/// Scheduler settings, as Get-ADSyncScheduler shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SchedulerSettings {
    pub sync_cycle_enabled: bool,
    pub maintenance_enabled: bool,
    pub scheduler_suspended: bool,
    pub interval_minutes: u32,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_run_at: Option<OffsetDateTime>,
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        Self {
            sync_cycle_enabled: true,
            maintenance_enabled: true,
            scheduler_suspended: false,
            interval_minutes: 30,
            next_run_at: None,
        }
    }
}

/// Well-known event ids written to the local event log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventId(pub u32);

impl EventId {
    pub const ROTATION_DUE: EventId = EventId(1011);
    pub const CERTIFICATE_EXPIRED: EventId = EventId(1012);
    pub const KEY_NOT_IN_TPM: EventId = EventId(1014);
    pub const CERTIFICATE_CREATED: EventId = EventId(1100);
    pub const CERTIFICATE_IMPORTED: EventId = EventId(1101);
    pub const CERTIFICATE_DELETED: EventId = EventId(1102);
    pub const APPLICATION_REGISTERED: EventId = EventId(1110);
    pub const CREDENTIAL_CHANGED: EventId = EventId(1120);
    pub const ROTATION_DONE: EventId = EventId(1130);
    pub const OLD_KEY_NOT_REMOVED: EventId = EventId(1131);
    pub const APPLICATION_KEY_REMOVED: EventId = EventId(1132);
    /// What `app revoke` removed from the application or its service principal.
    pub const ACCESS_REVOKED: EventId = EventId(1133);
    pub const SCHEDULER_CHANGED: EventId = EventId(1200);
    pub const OPERATION_INTERRUPTED: EventId = EventId(1300);
    pub const AUTOMATIC_ROTATION_FAILED: EventId = EventId(1141);
    pub const UNKNOWN_KEY: EventId = EventId(1142);
    pub const CLONE_DETECTED: EventId = EventId(1143);
    pub const KEY_AUDIT_FAILED: EventId = EventId(1144);
    pub const TICK_SKIPPED: EventId = EventId(1145);
    /// A client secret on the application (this tool never adds one).
    pub const UNKNOWN_CLIENT_SECRET: EventId = EventId(1146);
    // Reserved for what only an administrator's read finds (`app audit
    // --upn`); the tick cannot read these with the application's own token.
    pub const UNKNOWN_SERVICE_PRINCIPAL_SECRET: EventId = EventId(1147);
    pub const UNKNOWN_FEDERATED_CREDENTIAL: EventId = EventId(1148);
    pub const UNKNOWN_OWNER: EventId = EventId(1149);
    pub const UNEXPECTED_APP_ROLE: EventId = EventId(1152);
    pub const UNKNOWN_DELEGATED_GRANT: EventId = EventId(1153);
    pub const SERVICE_PRINCIPAL_DISABLED: EventId = EventId(1154);
    pub const SYNC_CHECK_OK: EventId = EventId(1150);
    pub const SYNC_CHECK_FAILED: EventId = EventId(1151);
    pub const SERVICE_ACCOUNT_RECORDED: EventId = EventId(1160);
    pub const ROLLBACK_DONE: EventId = EventId(1161);
    pub const SERVICE_ACCOUNT_CREATED: EventId = EventId(1162);
    pub const SERVICE_ACCOUNT_REMOVED: EventId = EventId(1163);
    pub const CREDENTIAL_REPAIRED: EventId = EventId(1170);
}

named_enum! {
    pub enum EventLevel {
        Information => "Information",
        Warning => "Warning",
        Error => "Error",
    }
}

/// One row of the local event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Event {
    #[serde(with = "time::serde::rfc3339")]
    pub time: OffsetDateTime,
    pub level: EventLevel,
    pub id: u32,
    pub message: String,
}

/// Times as stored and shown: RFC 3339 in UTC, whole seconds.
pub fn format_time(time: OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(0)
        .unwrap_or(utc)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The UTC day of `time`, as `YYYY-MM-DD`.
pub fn format_date(time: OffsetDateTime) -> String {
    time.to_offset(time::UtcOffset::UTC).date().to_string()
}

pub fn parse_time(text: &str) -> Result<OffsetDateTime, String> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .map_err(|e| format!("{text:?} is not an RFC 3339 time ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fmt;

    /// Files and the command line use one set of names: serde's (derived,
    /// renamed per type) must be the names `as_str` and `FromStr` use.
    fn names_agree_with_serde<T>()
    where
        T: Named
            + Serialize
            + serde::de::DeserializeOwned
            + std::str::FromStr
            + PartialEq
            + fmt::Debug,
        T::Err: fmt::Debug,
    {
        for &value in T::ALL {
            let json = serde_json::to_string(&value).unwrap();
            assert_eq!(json, format!("\"{}\"", value.name()));
            assert_eq!(serde_json::from_str::<T>(&json).unwrap(), value);
            assert_eq!(value.name().parse::<T>().unwrap(), value);
        }
    }

    #[test]
    fn cloud_and_sign_in_go_by_the_same_names_everywhere() {
        names_agree_with_serde::<Cloud>();
        names_agree_with_serde::<SignInAnswer>();
        assert_eq!(Cloud::default(), Cloud::Public);
        assert_eq!(SignInAnswer::default(), SignInAnswer::DeviceCode);
    }

    #[test]
    fn an_unknown_name_is_refused_with_the_names_allowed() {
        let error = "Usgov".parse::<Cloud>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"Usgov\" is not a Cloud: expected one of public, usgov, china"
        );
        let error = "tpm".parse::<StoreKind>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "\"tpm\" is not a StoreKind: expected one of TPM, Software"
        );
    }
}
