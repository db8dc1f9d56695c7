//! What a planned step does, as data. The engine says what will change; the
//! front ends word it (the binary's `plan_words`), and `--dry-run --json`
//! prints it as it is. A confirmed plan is held to these values, so a rerun
//! that would do anything else is refused before it starts.

use crate::domain::{CertificateHash, ConnectorIdentityType, Removal};
use crate::keys::Placement;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use time::OffsetDateTime;

/// One planned step's change (or, for a check, what it looks at).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Change {
    /// An administrator signs in and the account's roles and consent are
    /// checked before any change. `account` is empty until one is given.
    SignIn {
        account: Option<String>,
        tenant: String,
        needs: Needs,
    },
    /// Sync cycles stay off while the credential changes, and return to how
    /// they were (`sync_cycle_enabled`) afterwards.
    SchedulerOff {
        sync_cycle_enabled: bool,
    },
    /// The scheduler guard's last step: sync cycles back to how they were
    /// (`sync_cycle_enabled`), whatever the change's outcome.
    SchedulerBack {
        sync_cycle_enabled: bool,
    },
    /// A new RSA key and self-signed Managed certificate.
    NewCertificate {
        days: u32,
        placement: Placement,
    },
    /// The certificate made by an earlier, interrupted run.
    PreparedCertificate {
        sha256: CertificateHash,
    },
    /// The certificate this server's application kept when the connector
    /// rolled back to a service account.
    ReuseCertificate {
        sha256: CertificateHash,
        application: String,
    },
    /// The administrator's own certificate from the key store.
    UseCertificate {
        certificate: CertificateSummary,
    },
    ImportCertificate {
        certificate: CertificateSummary,
    },
    DeleteCertificate {
        sha256: CertificateHash,
        subject: String,
        store: String,
    },
    /// This server's application, created unless it exists with the certificate.
    RegisterApplication {
        name: String,
        tenant: String,
    },
    CreateServicePrincipal,
    /// The synchronization role, and the password writeback roles when
    /// `password_writeback`.
    GrantAppRoles {
        password_writeback: bool,
    },
    SaveRegistration,
    /// Bring Your Own Application during onboarding: nothing is created.
    UseExistingApplication {
        app_id: String,
        certificate: CertificateSummary,
        password_writeback: bool,
    },
    /// `app link` after `app register` on this server.
    UseRegisteredApplication {
        name: String,
        app_id: String,
    },
    /// `app link` of an application given by its id.
    CheckApplication {
        app_id: String,
        sha256: CertificateHash,
    },
    /// A test token for the synchronization service, waiting for what
    /// Entra still replicates.
    AcquireSyncToken {
        waiting_for: Replicating,
    },
    SwitchToApplication {
        from: ConnectorIdentityType,
    },
    /// Rotation: the new certificate becomes the application's key.
    AddKey {
        by: KeyWriter,
        why: PathReason,
    },
    SwitchCertificate {
        from: CertificateHash,
    },
    RemoveOldKey {
        sha256: CertificateHash,
        /// Bring Your Own Certificate: the certificate stays in the store.
        yours: bool,
    },
    DeleteOldCertificate {
        sha256: CertificateHash,
    },
    FindKey {
        app_id: String,
        key_id: String,
    },
    RemoveKey {
        key_id: String,
        signed_with: CertificateHash,
    },
    /// `credential repair`: the application found from what the damaged
    /// record still holds.
    FindApplication {
        by: ApplicationLookup,
        /// The record's blank fields; all of them when it holds no application.
        blank: Vec<String>,
        all_blank: bool,
        tenant: String,
    },
    WriteRepairedCredential,
    /// Removal of a directory synchronization account, by the start of its name.
    FindSyncAccount {
        name: String,
    },
    DeleteSyncAccount {
        name: String,
        /// The way back this server forgets with it.
        forgets_way_back: Option<String>,
    },
    /// `service-account use`: the account's password is tried and it is recorded.
    CheckAccount {
        upn: String,
    },
    RecordAccount {
        upn: String,
        password_folder: PathBuf,
    },
    /// Rollback: the account kept as the way back is tried first.
    TryRetainedAccount {
        upn: String,
    },
    CreateSyncAccount {
        name: String,
    },
    AssignSyncRole,
    /// The account's first sign-in; `waits_minutes` is how long a new
    /// account is waited for (none with `--no-wait`).
    VerifyAccount {
        waits_minutes: Option<u64>,
    },
    SwitchToServiceAccount,
    /// `app revoke`: the administrator's roles allow each group of removals.
    MayRevoke {
        each: Vec<RemovalNeeds>,
    },
    /// `app revoke`: removals of one kind.
    Revoke {
        removals: Vec<Removal>,
    },
    /// Local scheduler settings, each `name before -> after`.
    SetScheduler {
        changed: Vec<String>,
    },
}

/// What a sign-in is checked for: any one of `roles` (or all of
/// `roles_together`; no role at all when both are empty) and consent for
/// `consent`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needs {
    pub roles: Vec<String>,
    pub roles_together: Vec<String>,
    pub consent: Vec<String>,
}

/// Removals (as they are described) and the roles one of which removing them needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemovalNeeds {
    pub removals: Vec<String>,
    pub needs: Needs,
}

/// A certificate as a plan names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificateSummary {
    pub sha256: CertificateHash,
    pub subject: String,
    #[serde(with = "time::serde::rfc3339")]
    pub not_after: OffsetDateTime,
}

/// What a test token waits for Entra to replicate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Replicating {
    /// A new application and its app role grant (linking).
    ApplicationAndGrant,
    /// A rotation's new key.
    NewKey,
    /// Nothing new (a rebuilt record): the token must work before it is saved.
    Nothing,
}

/// Who writes a rotation's new key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "as", rename_all = "kebab-case")]
pub enum KeyWriter {
    /// The application itself, proving it holds `current`'s key (addKey).
    Application {
        app_id: String,
        current: CertificateHash,
    },
    /// An administrator (PATCH keyCredentials); none named when resuming
    /// the run of an earlier one.
    Administrator { upn: Option<String> },
}

/// Why a rotation's key is written by the application or by an administrator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum PathReason {
    CurrentValid,
    AdministratorGiven,
    NotInStore {
        sha256: CertificateHash,
    },
    NoPrivateKey {
        sha256: CertificateHash,
    },
    CannotSign {
        sha256: CertificateHash,
        problem: String,
    },
}

/// How `credential repair` finds the application.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "kebab-case")]
pub enum ApplicationLookup {
    /// By this server's unique name (the record holds no application id).
    Name { name: String },
    /// By the application id the record still holds.
    AppId { app_id: String },
}

impl CertificateSummary {
    pub fn of(info: &crate::keys::CertificateInfo) -> CertificateSummary {
        CertificateSummary {
            sha256: info.sha256.clone(),
            subject: info.subject.clone(),
            not_after: info.not_after,
        }
    }
}

impl Needs {
    /// `A, B, or C and D together`: the roles, as refusals and plans name them.
    pub fn role_names(&self) -> String {
        match self.roles_together.as_slice() {
            [] => self.roles.join(", "),
            together => format!(
                "{}, or {} together",
                self.roles.join(", "),
                together.join(" and ")
            ),
        }
    }
}

/// `one of the roles … and consent for …`, as doctor and plans say it.
impl std::fmt::Display for Needs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let consent = self.consent.join(", ");
        if self.roles.is_empty() && self.roles_together.is_empty() {
            write!(
                f,
                "consent for {consent} (any member of the tenant; no directory role)"
            )
        } else {
            write!(
                f,
                "one of the roles {} and consent for {consent}",
                self.role_names()
            )
        }
    }
}

impl std::fmt::Display for PathReason {
    // Worded here, once, because events and progress name it as well as plans.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathReason::CurrentValid => f.write_str(
                "the current certificate is valid, so the application proves it holds it; no administrator is needed",
            ),
            PathReason::AdministratorGiven => {
                f.write_str("an administrator was named to sign in")
            }
            PathReason::NotInStore { sha256 } => write!(
                f,
                "the current certificate {sha256} is not in this server's key store, so the application cannot prove it holds its key"
            ),
            PathReason::NoPrivateKey { sha256 } => write!(
                f,
                "the private key of the current certificate {sha256} is missing from the key store"
            ),
            PathReason::CannotSign { sha256, problem } => write!(
                f,
                "the current certificate {sha256} cannot sign: {problem}"
            ),
        }
    }
}
