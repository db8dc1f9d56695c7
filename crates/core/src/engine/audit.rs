//! The audit of everything that can sign in as this server's connector: one
//! list of items (certificate keys, client secrets, and with an
//! administrator's read the rest), each with its verdict and what revokes it.
//! Unattended, the application reads only its own object (its keys and
//! secrets: Graph serves that without a permission); the scheduler tick,
//! `doctor` and `app audit` all use this one list.

use super::operation::{Check, Run};
use super::progress::ProgressSender;
use super::remove_key::{ApplicationKey, KeyOrigin, read_own_application};
use super::{EngineError, LocalServer};
use crate::domain::{EventId, NextCommand};
use crate::entra::client::{ConnectionSettings, EntraClient};
use crate::entra::graph::{Application, PasswordCredential};
use serde::{Serialize, Serializer};

const READ_OWN: Check = Check::new(
    "read-own-application",
    "Read the application's keys and secrets",
);

/// What kind of way in an audit item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKind {
    /// A certificate in the application's `keyCredentials`.
    CertificateKey,
    /// A password credential (client secret) on the application.
    ClientSecret,
}

impl AuditKind {
    /// What it is, in a sentence ("a certificate key").
    pub fn describe(self) -> &'static str {
        match self {
            AuditKind::CertificateKey => "certificate key",
            AuditKind::ClientSecret => "client secret",
        }
    }

    /// The warning event the scheduler writes for an unknown item of this kind.
    pub fn unknown_event(self) -> EventId {
        match self {
            AuditKind::CertificateKey => EventId::UNKNOWN_KEY,
            AuditKind::ClientSecret => EventId::UNKNOWN_CLIENT_SECRET,
        }
    }

    /// Who can act as the connector through an item of this kind.
    fn who_can_use_it(self) -> &'static str {
        match self {
            AuditKind::CertificateKey => "whoever holds its private key",
            AuditKind::ClientSecret => "whoever knows the secret",
        }
    }
}

/// The audit's verdict on one item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditVerdict {
    /// The certificate the connector signs in with.
    InUse,
    /// Put there by this server (its earlier or next certificates).
    ThisServer,
    /// What the connector needs (its synchronization role).
    Expected,
    /// Put there by someone else: it may let them act as the connector.
    Unknown,
}

impl AuditVerdict {
    pub fn describe(self) -> &'static str {
        match self {
            AuditVerdict::InUse => "in use",
            AuditVerdict::ThisServer => "added by this server",
            AuditVerdict::Expected => "expected",
            AuditVerdict::Unknown => "UNKNOWN: not added by this server",
        }
    }
}

impl From<KeyOrigin> for AuditVerdict {
    fn from(origin: KeyOrigin) -> Self {
        match origin {
            KeyOrigin::InUse => AuditVerdict::InUse,
            KeyOrigin::ThisServer => AuditVerdict::ThisServer,
            KeyOrigin::Unknown => AuditVerdict::Unknown,
        }
    }
}

/// What removes an item. This tool's own command where it has one; until
/// `app revoke` exists, the Microsoft Graph PowerShell cmdlet that does it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revocation {
    Run(NextCommand),
    GraphPowerShell(String),
}

impl Revocation {
    pub fn command_line(&self) -> String {
        match self {
            Revocation::Run(command) => command.command_line(),
            Revocation::GraphPowerShell(cmdlet) => cmdlet.clone(),
        }
    }
}

/// Shown and exported as the command line, the words an administrator types.
impl Serialize for Revocation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.command_line())
    }
}

/// One thing that can act as the connector, with the audit's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditItem {
    pub kind: AuditKind,
    /// Graph's id for it (a keyId for keys and secrets).
    pub id: String,
    pub display_name: Option<String>,
    /// What tells it apart: a certificate's thumbprint, a secret's hint
    /// (never the secret: Graph shows only its first characters).
    pub detail: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub verdict: AuditVerdict,
    /// What removes it (none for the key in use).
    pub revoke: Option<Revocation>,
}

impl AuditItem {
    /// The warning for an unknown item: what it is, who can use it, and how
    /// to revoke it, as the event log and `doctor` say it.
    pub fn warning(&self, app_id: &str) -> String {
        let detail = self
            .detail
            .as_deref()
            .map(|detail| format!(" ({detail})"))
            .unwrap_or_default();
        let revoke = self
            .revoke
            .as_ref()
            .map(|revoke| format!("; if it is not yours, revoke it: {}", revoke.command_line()))
            .unwrap_or_default();
        format!(
            "Application {app_id} has a {} this server did not add: id {}{detail}; {} can sign in as this server's connector{revoke}.",
            self.kind.describe(),
            self.id,
            self.kind.who_can_use_it(),
        )
    }
}

/// The audit's result: every item found, and the kinds it could not read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Audit {
    pub app_id: String,
    pub items: Vec<AuditItem>,
    /// Kinds that need an administrator's read (`--upn`), not audited here.
    pub needs_administrator: Vec<&'static str>,
}

impl Audit {
    pub fn unknown(&self) -> impl Iterator<Item = &AuditItem> {
        self.items
            .iter()
            .filter(|item| item.verdict == AuditVerdict::Unknown)
    }

    /// Whether nothing unknown was found.
    pub fn clean(&self) -> bool {
        self.unknown().next().is_none()
    }
}

/// What the application's own token cannot read (Graph serves an application
/// its own object, nothing else about it).
pub const ADMINISTRATOR_CHECKS: [&str; 6] = [
    "client secrets on the service principal",
    "federated identity credentials",
    "owners of the application and of its service principal",
    "app role assignments of the service principal",
    "delegated permission grants to it",
    "whether the service principal is enabled",
];

fn key_item(key: ApplicationKey) -> AuditItem {
    let verdict = AuditVerdict::from(key.origin);
    let revoke = (verdict != AuditVerdict::InUse).then(|| {
        Revocation::Run(NextCommand::RemoveKey {
            key_id: Some(key.key_id.clone()),
        })
    });
    AuditItem {
        kind: AuditKind::CertificateKey,
        id: key.key_id,
        display_name: None,
        detail: key
            .thumbprint
            .map(|thumbprint| format!("thumbprint {thumbprint}")),
        start: key.start,
        end: key.end,
        verdict,
        revoke,
    }
}

/// A client secret on the application: always unknown, this tool never adds one.
fn secret_item(app: &Application, secret: &PasswordCredential) -> AuditItem {
    let id = secret.key_id.clone().unwrap_or_default();
    AuditItem {
        kind: AuditKind::ClientSecret,
        revoke: Some(Revocation::GraphPowerShell(format!(
            "Remove-MgApplicationPassword -ApplicationId {} -KeyId {id}",
            app.id
        ))),
        id,
        display_name: secret.display_name.clone(),
        detail: secret.hint.as_ref().map(|hint| format!("hint {hint}")),
        start: secret.start_date_time.clone(),
        end: secret.end_date_time.clone(),
        verdict: AuditVerdict::Unknown,
    }
}

/// The unattended audit: what the application reads of itself with the
/// certificate in use (its keys and client secrets).
pub async fn own_audit(
    server: &LocalServer,
    connection: ConnectionSettings,
    progress: ProgressSender,
) -> Result<Audit, EngineError> {
    let mut run = Run::untracked("audit", &[READ_OWN.id], progress);
    let client = EntraClient::new(connection, run.retry_observer())?;
    run.check(READ_OWN, async || {
        let audit = read_own(server, &client).await?;
        let summary = format!("{} item(s)", audit.items.len());
        Ok((audit, summary))
    })
    .await
}

async fn read_own(server: &LocalServer, client: &EntraClient) -> Result<Audit, EngineError> {
    let (app, keys) = read_own_application(server, client).await?;
    let mut items: Vec<AuditItem> = keys.into_iter().map(key_item).collect();
    items.extend(
        app.password_credentials
            .iter()
            .map(|secret| secret_item(&app, secret)),
    );
    Ok(Audit {
        app_id: app.app_id,
        items,
        needs_administrator: ADMINISTRATOR_CHECKS.to_vec(),
    })
}
