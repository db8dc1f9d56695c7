//! What can act as the connector's application (the audit's kinds of way
//! in) and what removing one of them takes: plain data the audit, the
//! revocation's plan and the event log share.

use super::EventId;
use serde::{Deserialize, Serialize};

/// What kind of way in an audit item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum AuditKind {
    /// A certificate in the application's `keyCredentials`.
    CertificateKey,
    /// A password credential (client secret) on the application.
    ClientSecret,
    /// A client secret on the service principal: it signs in as the application too.
    ServicePrincipalSecret,
    /// A federated identity credential: another issuer's token is exchanged
    /// for the connector's.
    FederatedCredential,
    /// An owner of the application: may add any credential at any time.
    ApplicationOwner,
    /// An owner of the service principal: may add secrets to it.
    ServicePrincipalOwner,
    /// An app role (application permission) granted to the service principal.
    AppRole,
    /// A delegated permission granted to the application.
    DelegatedGrant,
    /// The service principal is disabled: the connector cannot sign in.
    DisabledServicePrincipal,
}

impl AuditKind {
    /// What it is, in a sentence ("a certificate key").
    pub fn describe(self) -> &'static str {
        match self {
            AuditKind::CertificateKey => "certificate key",
            AuditKind::ClientSecret => "client secret",
            AuditKind::ServicePrincipalSecret => "client secret on the service principal",
            AuditKind::FederatedCredential => "federated identity credential",
            AuditKind::ApplicationOwner => "owner of the application",
            AuditKind::ServicePrincipalOwner => "owner of the service principal",
            AuditKind::AppRole => "app role assignment",
            AuditKind::DelegatedGrant => "delegated permission grant",
            AuditKind::DisabledServicePrincipal => "disabled service principal",
        }
    }

    /// The warning event the scheduler writes for an unknown item of this kind.
    pub fn unknown_event(self) -> EventId {
        match self {
            AuditKind::CertificateKey => EventId::UNKNOWN_KEY,
            AuditKind::ClientSecret => EventId::UNKNOWN_CLIENT_SECRET,
            AuditKind::ServicePrincipalSecret => EventId::UNKNOWN_SERVICE_PRINCIPAL_SECRET,
            AuditKind::FederatedCredential => EventId::UNKNOWN_FEDERATED_CREDENTIAL,
            AuditKind::ApplicationOwner | AuditKind::ServicePrincipalOwner => {
                EventId::UNKNOWN_OWNER
            }
            AuditKind::AppRole => EventId::UNEXPECTED_APP_ROLE,
            AuditKind::DelegatedGrant => EventId::UNKNOWN_DELEGATED_GRANT,
            AuditKind::DisabledServicePrincipal => EventId::SERVICE_PRINCIPAL_DISABLED,
        }
    }

    /// Who can act as the connector through an item of this kind.
    pub fn who_can_use_it(self) -> &'static str {
        match self {
            AuditKind::CertificateKey => "whoever holds its private key",
            AuditKind::ClientSecret | AuditKind::ServicePrincipalSecret => {
                "whoever knows the secret"
            }
            AuditKind::FederatedCredential => {
                "whoever gets a token from its issuer for its subject"
            }
            AuditKind::ApplicationOwner | AuditKind::ServicePrincipalOwner => {
                "this owner (by adding a credential)"
            }
            AuditKind::AppRole | AuditKind::DelegatedGrant => {
                "whoever signs in as the connector, with more than it needs,"
            }
            AuditKind::DisabledServicePrincipal => "nobody",
        }
    }
}

/// One removal `app revoke` makes: the item, where it is, and how the plan
/// names it. Journaled as the operation's input, so a rerun with the same
/// removals resumes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Removal {
    pub kind: AuditKind,
    /// Graph's id for it: a keyId, a federated credential's or an
    /// assignment's id, the owner's object id.
    pub id: String,
    /// The object it is on: the application's or the service principal's
    /// object id (the service principal's for a delegated grant).
    pub on: String,
    /// How a plan names it (a secret's display name and hint, a
    /// thumbprint, an owner's UPN, a role's value); never a secret.
    pub label: String,
    /// An app role of Microsoft Graph: only a Privileged Role Administrator
    /// or a Global Administrator may remove it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub graph_app_role: bool,
}

impl Removal {
    /// `client secret 1a2b… (planted, hint Ab1)`, as events and plans say it.
    pub fn describe(&self) -> String {
        format!("{} {} ({})", self.kind.describe(), self.id, self.label)
    }
}
