//! The audit of everything that can sign in as this server's connector: one
//! list of items (certificate keys, client secrets, and with an
//! administrator's read the rest), each with its verdict and what revokes it.
//! Unattended, the application reads only its own object (its keys and
//! secrets: Graph serves that without a permission); the scheduler tick,
//! `doctor` and `app audit` all use this one list.

use super::admin::sign_in_checked_as;
use super::operation::{Check, Run};
use super::permissions;
use super::progress::ProgressSender;
use super::remove_key::{ApplicationKey, KeyOrigin, read_own_application};
use super::{EngineError, EntraRequest, LocalServer};
use crate::domain::{
    ConnectorCredential, EventId, NextCommand, PASSWORD_RESET_APP_ID, PASSWORD_RESET_APP_ID_USGOV,
    PASSWORD_WRITEBACK_ROLES, SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE,
};
use crate::entra::EntraError;
use crate::entra::client::{ConnectionSettings, EntraClient};
use crate::entra::graph::{Application, DirectoryObject, GraphClient, PasswordCredential};
use serde::{Serialize, Serializer};

const READ_OWN: Check = Check::new(
    "read-own-application",
    "Read the application's keys and secrets",
);
const SIGN_IN_AUDITOR: Check = Check::new(
    "sign-in",
    "Sign in as an administrator who may read the application",
);
const READ_ADMIN: Check = Check::new(
    "read-as-administrator",
    "Read the service principal, federated credentials, owners and grants",
);

/// What kind of way in an audit item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
    fn who_can_use_it(self) -> &'static str {
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
    /// What was not audited: without an administrator (`--upn`) all of
    /// [`ADMINISTRATOR_CHECKS`]; with one, what their roles may not read.
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

    /// The administrator's read added: its items, and only what it could not
    /// read left to need an administrator.
    fn add(&mut self, read: AdministratorsRead) {
        self.items.extend(read.items);
        self.needs_administrator = read.not_read;
    }
}

/// What an administrator's read found, and what their roles may not read.
struct AdministratorsRead {
    items: Vec<AuditItem>,
    not_read: Vec<&'static str>,
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
        revoke: graph_powershell(format!(
            "Remove-MgApplicationPassword -ApplicationId {} -KeyId {id}",
            app.id
        )),
        id,
        display_name: secret.display_name.clone(),
        detail: secret.hint.as_ref().map(|hint| format!("hint {hint}")),
        start: secret.start_date_time.clone(),
        end: secret.end_date_time.clone(),
        verdict: AuditVerdict::Unknown,
    }
}

fn graph_powershell(cmdlet: String) -> Option<Revocation> {
    Some(Revocation::GraphPowerShell(cmdlet))
}

/// Something only an administrator's read finds; never added by this tool.
fn unknown(kind: AuditKind, id: &str, revoke: String) -> AuditItem {
    AuditItem {
        kind,
        id: id.to_string(),
        display_name: None,
        detail: None,
        start: None,
        end: None,
        verdict: AuditVerdict::Unknown,
        revoke: graph_powershell(revoke),
    }
}

/// The audit: the application's own read of its keys and secrets, and with
/// an administrator (`entra.admin`) the rest of [`ADMINISTRATOR_CHECKS`].
pub async fn audit(
    server: &LocalServer,
    entra: &EntraRequest,
    progress: ProgressSender,
) -> Result<Audit, EngineError> {
    let mut checks = vec![READ_OWN.id];
    if entra.admin.is_some() {
        checks.extend([SIGN_IN_AUDITOR.id, READ_ADMIN.id]);
    }
    let mut run = Run::untracked("audit", &checks, progress);
    let client = entra.client(&run)?;
    let (app, mut audit) = run
        .check(READ_OWN, async || {
            let read = read_own(server, &client).await?;
            let summary = format!("{} item(s)", read.1.items.len());
            Ok((read, summary))
        })
        .await?;
    if entra.admin.is_none() {
        return Ok(audit);
    }
    let graph = sign_in_checked_as(
        SIGN_IN_AUDITOR,
        &mut run,
        &client,
        entra,
        &permissions::AUDIT,
    )
    .await?;
    let more = run
        .check(READ_ADMIN, async || {
            let read = read_with_administrator(server, &graph, &app).await?;
            let summary = format!("{} item(s)", read.items.len());
            Ok((read, summary))
        })
        .await?;
    audit.add(more);
    Ok(audit)
}

/// The unattended audit: the application's own read of its keys and client
/// secrets (nobody signs in), as the scheduler's tick, `doctor` without an
/// administrator and `config export` run it.
pub async fn unattended(
    server: &LocalServer,
    connection: &ConnectionSettings,
    progress: ProgressSender,
) -> Result<Audit, EngineError> {
    let entra = EntraRequest {
        connection: connection.clone(),
        admin: None,
    };
    audit(server, &entra, progress).await
}

/// [`audit`] by an administrator already signed in (`graph`, whose token
/// [`permissions::AUDIT`] allows): `doctor --upn`, which signs in once for
/// all its checks, audits what `app audit --upn` does.
pub async fn audit_by_signed_in_administrator(
    server: &LocalServer,
    client: &EntraClient,
    graph: &GraphClient,
) -> Result<Audit, EngineError> {
    let (app, mut audit) = read_own(server, client).await?;
    audit.add(read_with_administrator(server, graph, &app).await?);
    Ok(audit)
}

async fn read_own(
    server: &LocalServer,
    client: &EntraClient,
) -> Result<(Application, Audit), EngineError> {
    let (app, keys) = read_own_application(server, client).await?;
    let mut items: Vec<AuditItem> = keys.into_iter().map(key_item).collect();
    items.extend(
        app.password_credentials
            .iter()
            .map(|secret| secret_item(&app, secret)),
    );
    let audit = Audit {
        app_id: app.app_id.clone(),
        items,
        needs_administrator: ADMINISTRATOR_CHECKS.to_vec(),
    };
    Ok((app, audit))
}

/// What the administrator reads: the service principal (secrets, enabled),
/// federated credentials, owners of both, app roles and delegated grants;
/// and what it was not allowed to read.
async fn read_with_administrator(
    server: &LocalServer,
    graph: &GraphClient,
    app: &Application,
) -> Result<AdministratorsRead, EngineError> {
    let service_principal_id = &match server.credential()? {
        ConnectorCredential::Application(credential) => credential.service_principal_id,
        _ => return Err(EngineError::AdministratorNeeded),
    };
    let mut not_read = Vec::new();
    let app_object = format!("/applications/{}", app.id);
    let sp_object = format!("/servicePrincipals/{service_principal_id}");
    let (principal, federated, app_owners, sp_owners, roles, grants, registered) = tokio::join!(
        graph.service_principal(service_principal_id),
        graph.federated_identity_credentials(&app.id),
        graph.owners(&app_object),
        graph.owners(&sp_object),
        graph.app_role_assignments(service_principal_id),
        graph.permission_grants_of(service_principal_id),
        graph.application_by_app_id(&app.app_id),
    );
    let principal = principal?;
    let mut items = Vec::new();
    items.extend(principal.password_credentials.iter().map(|secret| {
        let id = secret.key_id.clone().unwrap_or_default();
        AuditItem {
            display_name: secret.display_name.clone(),
            detail: secret.hint.as_ref().map(|hint| format!("hint {hint}")),
            start: secret.start_date_time.clone(),
            end: secret.end_date_time.clone(),
            ..unknown(
                AuditKind::ServicePrincipalSecret,
                &id,
                format!(
                    "Remove-MgServicePrincipalPassword -ServicePrincipalId {service_principal_id} -KeyId {id}"
                ),
            )
        }
    }));
    items.extend(federated?.into_iter().map(|credential| AuditItem {
        display_name: Some(credential.name.clone()),
        detail: Some(format!(
            "issuer {}, subject {}",
            credential.issuer.as_deref().unwrap_or("-"),
            credential.subject.as_deref().unwrap_or("-")
        )),
        ..unknown(
            AuditKind::FederatedCredential,
            &credential.id,
            format!(
                "Remove-MgApplicationFederatedIdentityCredential -ApplicationId {} -FederatedIdentityCredentialId {}",
                app.id, credential.id
            ),
        )
    }));
    let owner = |kind: AuditKind, owner: DirectoryObject, revoke: String| AuditItem {
        display_name: owner.display_name.clone(),
        detail: owner.user_principal_name.clone(),
        ..unknown(kind, &owner.id, revoke)
    };
    items.extend(app_owners?.into_iter().map(|o| {
        let revoke = format!(
            "Remove-MgApplicationOwnerByRef -ApplicationId {} -DirectoryObjectId {}",
            app.id, o.id
        );
        owner(AuditKind::ApplicationOwner, o, revoke)
    }));
    items.extend(sp_owners?.into_iter().map(|o| {
        let revoke = format!(
            "Remove-MgServicePrincipalOwnerByRef -ServicePrincipalId {service_principal_id} -DirectoryObjectId {}",
            o.id
        );
        owner(AuditKind::ServicePrincipalOwner, o, revoke)
    }));
    // The writeback roles are expected while the application asks for them
    // (registered with password writeback); this server records no more.
    let registered = registered?.unwrap_or_else(|| app.clone());
    let writeback = registered.required_resource_access.iter().any(|access| {
        [PASSWORD_RESET_APP_ID, PASSWORD_RESET_APP_ID_USGOV]
            .iter()
            .any(|id| access.resource_app_id.eq_ignore_ascii_case(id))
    });
    for assignment in roles? {
        let resource = graph.service_principal(&assignment.resource_id).await?;
        let role = resource
            .app_roles
            .iter()
            .find(|role| role.id.eq_ignore_ascii_case(&assignment.app_role_id))
            .and_then(|role| role.value.clone())
            .unwrap_or_else(|| assignment.app_role_id.clone());
        let expected = is_expected_role(&resource.app_id, &role, writeback);
        items.push(AuditItem {
            display_name: Some(role.clone()),
            detail: Some(format!(
                "on {}",
                resource.display_name.as_deref().unwrap_or(&resource.app_id)
            )),
            verdict: match expected {
                true => AuditVerdict::Expected,
                false => AuditVerdict::Unknown,
            },
            ..unknown(
                AuditKind::AppRole,
                &assignment.id,
                format!(
                    "Remove-MgServicePrincipalAppRoleAssignment -ServicePrincipalId {service_principal_id} -AppRoleAssignmentId {}",
                    assignment.id
                ),
            )
        });
    }
    // A Hybrid Identity Administrator may read the rest but not the grants
    // (Graph's oauth2permissiongrant-list): said, not failed.
    let grants = match grants {
        Err(EntraError::Graph { status: 403, .. }) => {
            not_read.push(GRANTS_NEED);
            Vec::new()
        }
        other => other?,
    };
    items.extend(grants.into_iter().map(|grant| AuditItem {
        display_name: grant.scope.clone(),
        detail: Some(format!(
            "{} on {}",
            grant.consent_type.as_deref().unwrap_or("-"),
            grant.resource_id
        )),
        ..unknown(
            AuditKind::DelegatedGrant,
            &grant.id,
            format!(
                "Remove-MgOauth2PermissionGrant -OAuth2PermissionGrantId {}",
                grant.id
            ),
        )
    }));
    if principal.account_enabled == Some(false) {
        items.push(AuditItem {
            display_name: principal.display_name.clone(),
            detail: Some("accountEnabled false: the connector cannot sign in".into()),
            ..unknown(
                AuditKind::DisabledServicePrincipal,
                service_principal_id,
                format!(
                    "Update-MgServicePrincipal -ServicePrincipalId {service_principal_id} -AccountEnabled:$true"
                ),
            )
        });
    }
    Ok(AdministratorsRead { items, not_read })
}

/// What a delegated grant read refused says is needed.
const GRANTS_NEED: &str = "delegated permission grants to it (an Application Administrator, Cloud Application Administrator, Privileged Role Administrator or Global Administrator may read them)";

/// The roles the connector needs: the synchronization role, and the password
/// writeback roles while writeback is on.
fn is_expected_role(resource_app_id: &str, role: &str, writeback: bool) -> bool {
    let sync =
        resource_app_id.eq_ignore_ascii_case(SYNC_SERVICE_APP_ID) && role == SYNC_SERVICE_ROLE;
    let password_reset = [PASSWORD_RESET_APP_ID, PASSWORD_RESET_APP_ID_USGOV]
        .iter()
        .any(|id| resource_app_id.eq_ignore_ascii_case(id));
    sync || (writeback && password_reset && PASSWORD_WRITEBACK_ROLES.contains(&role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sync_role_and_while_writeback_is_on_its_roles_are_expected() {
        assert!(is_expected_role(
            SYNC_SERVICE_APP_ID,
            SYNC_SERVICE_ROLE,
            false
        ));
        assert!(!is_expected_role(SYNC_SERVICE_APP_ID, "Other.All", true));
        let writeback = PASSWORD_WRITEBACK_ROLES[0];
        assert!(is_expected_role(PASSWORD_RESET_APP_ID, writeback, true));
        assert!(!is_expected_role(PASSWORD_RESET_APP_ID, writeback, false));
        assert!(!is_expected_role(
            "00000003-0000-0000-c000-000000000000",
            SYNC_SERVICE_ROLE,
            true
        ));
    }
}
