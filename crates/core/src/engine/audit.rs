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
use super::register::registered_with_writeback;
use super::remove_key::{ApplicationKey, KeyOrigin, read_own_application};
use super::{EngineError, EntraRequest, LocalServer};
pub use crate::domain::AuditKind;
use crate::domain::{
    ConnectorCredential, NextCommand, PASSWORD_RESET_APP_ID, PASSWORD_RESET_APP_ID_USGOV,
    PASSWORD_WRITEBACK_ROLES, Removal, SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE,
};
use crate::entra::EntraError;
use crate::entra::client::{ConnectionSettings, EntraClient};
use crate::entra::graph::{
    Application, DirectoryObject, GRAPH_APP_ID, GraphClient, PasswordCredential,
};
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

/// What removes an item: this tool's own command; for a disabled service
/// principal, which nothing removes, the Microsoft Graph PowerShell cmdlet
/// that enables it again.
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
    /// What removes it (none for the key in use and what is expected).
    pub revoke: Option<Revocation>,
    /// What `app revoke` removes for it (none when it may not be removed).
    #[serde(skip)]
    pub removal: Option<Removal>,
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

impl AuditItem {
    /// Something this server did not add, on the object `on`: `app revoke`
    /// removes it.
    fn revocable(kind: AuditKind, id: &str, on: &str) -> AuditItem {
        AuditItem {
            kind,
            id: id.to_string(),
            display_name: None,
            detail: None,
            start: None,
            end: None,
            verdict: AuditVerdict::Unknown,
            revoke: Some(Revocation::Run(NextCommand::Revoke { id: id.to_string() })),
            removal: Some(Removal {
                kind,
                id: id.to_string(),
                on: on.to_string(),
                label: String::new(),
                graph_app_role: false,
            }),
        }
    }

    /// Its name and what tells it apart, which the removal's plan line names too.
    fn named(mut self, display_name: Option<String>, detail: Option<String>) -> AuditItem {
        if let Some(removal) = &mut self.removal {
            removal.label = [display_name.as_deref(), detail.as_deref()]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(", ");
        }
        self.display_name = display_name;
        self.detail = detail;
        self
    }

    fn dated(mut self, start: Option<String>, end: Option<String>) -> AuditItem {
        self.start = start;
        self.end = end;
        self
    }

    fn secret(kind: AuditKind, on: &str, secret: &PasswordCredential) -> AuditItem {
        let id = secret.key_id.clone().unwrap_or_default();
        AuditItem::revocable(kind, &id, on)
            .named(
                secret.display_name.clone(),
                secret.hint.as_ref().map(|hint| format!("hint {hint}")),
            )
            .dated(secret.start_date_time.clone(), secret.end_date_time.clone())
    }
}

/// A certificate key on the application (object id `app_object_id`): the one
/// in use stays; the others go the way `app remove-key` removes them.
fn key_item(key: ApplicationKey, app_object_id: &str) -> AuditItem {
    let verdict = AuditVerdict::from(key.origin);
    let thumbprint = key
        .thumbprint
        .map(|thumbprint| format!("thumbprint {thumbprint}"));
    let item = AuditItem::revocable(AuditKind::CertificateKey, &key.key_id, app_object_id)
        .named(None, thumbprint)
        .dated(key.start, key.end);
    match verdict {
        AuditVerdict::InUse => AuditItem {
            verdict,
            revoke: None,
            removal: None,
            ..item
        },
        _ => AuditItem {
            verdict,
            revoke: Some(Revocation::Run(NextCommand::RemoveKey {
                key_id: Some(key.key_id),
            })),
            ..item
        },
    }
}

/// The audit: the application's own read of its keys and secrets, and with
/// an administrator (`entra.admin`) the rest of [`ADMINISTRATOR_CHECKS`].
pub async fn audit(
    server: &LocalServer,
    entra: &EntraRequest,
    progress: ProgressSender,
) -> Result<Audit, EngineError> {
    audit_signing_in_for(server, entra, &permissions::AUDIT, progress).await
}

/// [`audit`], the administrator signing in for `needs` (which include the
/// audit's read): `app revoke` signs in once for its review and its removals.
pub(super) async fn audit_signing_in_for(
    server: &LocalServer,
    entra: &EntraRequest,
    needs: &permissions::Needs,
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
    let graph = sign_in_checked_as(SIGN_IN_AUDITOR, &mut run, &client, entra, needs).await?;
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
    let mut items: Vec<AuditItem> = keys.into_iter().map(|key| key_item(key, &app.id)).collect();
    items.extend(
        app.password_credentials
            .iter()
            .map(|secret| AuditItem::secret(AuditKind::ClientSecret, &app.id, secret)),
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
    // What the application asks for is read only where this server kept no
    // record of registering it with or without writeback.
    let recorded_writeback = registered_with_writeback(server, &app.app_id)?;
    let (principal, federated, app_owners, sp_owners, roles, grants, registered) = tokio::join!(
        graph.service_principal(service_principal_id),
        graph.federated_identity_credentials(&app.id),
        graph.owners(&app_object),
        graph.owners(&sp_object),
        graph.app_role_assignments(service_principal_id),
        graph.permission_grants_of(service_principal_id),
        async {
            match recorded_writeback {
                Some(_) => Ok(None),
                None => graph.application_by_app_id(&app.app_id).await,
            }
        },
    );
    let principal = principal?;
    let mut items = Vec::new();
    items.extend(principal.password_credentials.iter().map(|secret| {
        AuditItem::secret(
            AuditKind::ServicePrincipalSecret,
            service_principal_id,
            secret,
        )
    }));
    items.extend(federated?.into_iter().map(|credential| {
        let detail = format!(
            "issuer {}, subject {}",
            credential.issuer.as_deref().unwrap_or("-"),
            credential.subject.as_deref().unwrap_or("-")
        );
        AuditItem::revocable(AuditKind::FederatedCredential, &credential.id, &app.id)
            .named(Some(credential.name), Some(detail))
    }));
    let owner = |kind: AuditKind, on: &str, owner: DirectoryObject| {
        AuditItem::revocable(kind, &owner.id, on)
            .named(owner.display_name, owner.user_principal_name)
    };
    items.extend(
        app_owners?
            .into_iter()
            .map(|o| owner(AuditKind::ApplicationOwner, &app.id, o)),
    );
    items.extend(
        sp_owners?
            .into_iter()
            .map(|o| owner(AuditKind::ServicePrincipalOwner, service_principal_id, o)),
    );
    // The writeback roles are expected when this server registered the
    // application with password writeback; for an application it did not
    // register, while the application asks for them.
    let registered = registered?;
    let writeback = match recorded_writeback {
        Some(recorded) => recorded,
        None => registered
            .as_ref()
            .unwrap_or(app)
            .required_resource_access
            .iter()
            .any(|access| {
                [PASSWORD_RESET_APP_ID, PASSWORD_RESET_APP_ID_USGOV]
                    .iter()
                    .any(|id| access.resource_app_id.eq_ignore_ascii_case(id))
            }),
    };
    for assignment in roles? {
        let resource = graph.service_principal(&assignment.resource_id).await?;
        let role = resource
            .app_roles
            .iter()
            .find(|role| role.id.eq_ignore_ascii_case(&assignment.app_role_id))
            .and_then(|role| role.value.clone())
            .unwrap_or_else(|| assignment.app_role_id.clone());
        let detail = format!(
            "on {}",
            resource.display_name.as_deref().unwrap_or(&resource.app_id)
        );
        let mut item =
            AuditItem::revocable(AuditKind::AppRole, &assignment.id, service_principal_id)
                .named(Some(role.clone()), Some(detail));
        if is_expected_role(&resource.app_id, &role, writeback) {
            item = AuditItem {
                verdict: AuditVerdict::Expected,
                revoke: None,
                removal: None,
                ..item
            };
        } else if let Some(removal) = &mut item.removal {
            removal.graph_app_role = resource.app_id.eq_ignore_ascii_case(GRAPH_APP_ID);
        }
        items.push(item);
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
    items.extend(grants.into_iter().map(|grant| {
        let detail = format!(
            "{} on {}",
            grant.consent_type.as_deref().unwrap_or("-"),
            grant.resource_id
        );
        AuditItem::revocable(AuditKind::DelegatedGrant, &grant.id, service_principal_id)
            .named(grant.scope, Some(detail))
    }));
    if principal.account_enabled == Some(false) {
        // Nothing to remove: enabling it again is the administrator's call.
        let enable = format!(
            "Update-MgServicePrincipal -ServicePrincipalId {service_principal_id} -AccountEnabled:$true"
        );
        items.push(AuditItem {
            revoke: Some(Revocation::GraphPowerShell(enable)),
            removal: None,
            ..AuditItem::revocable(
                AuditKind::DisabledServicePrincipal,
                service_principal_id,
                service_principal_id,
            )
            .named(
                principal.display_name.clone(),
                Some("accountEnabled false: the connector cannot sign in".into()),
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
