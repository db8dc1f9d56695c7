//! The tenant's directory, in memory. Every object carries a `visible_from`
//! instant: with replication lag, a new object exists (its creator got it back)
//! but other reads and the token endpoint do not see it until then.
//!
//! With a data directory the whole directory is saved (`store`) through these
//! serde derives. Instants are not saved (an object read back is visible at
//! once), nor are device codes. A field added later needs `#[serde(default)]`
//! (or `skip`), so that a tenant saved before it still loads.

use crate::certificate::Certificate;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub(crate) const HYBRID_IDENTITY_ADMINISTRATOR: &str = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2";
pub(crate) const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub(crate) const APPLICATION_ADMINISTRATOR: &str = "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3";
pub(crate) const CLOUD_APPLICATION_ADMINISTRATOR: &str = "158c047a-c907-4556-b7ef-446551a6b5f7";
pub(crate) const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";
pub(crate) const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
pub(crate) const PRIVILEGED_AUTHENTICATION_ADMINISTRATOR: &str =
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13";
pub(crate) const DIRECTORY_SYNCHRONIZATION_ACCOUNTS: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";
pub(crate) const APPLICATION_DEVELOPER: &str = "cf1c38e5-3621-4004-a7cb-879624dced7c";
pub(crate) const DIRECTORY_WRITERS: &str = "9360feb5-f418-4baa-8175-e2a00bac4301";
pub(crate) const IDENTITY_GOVERNANCE_ADMINISTRATOR: &str = "45d8d3c5-c802-45c6-b32a-1d70b5e1e86e";
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub(crate) const GRAPH_URI: &str = "https://graph.microsoft.com";

#[derive(Serialize, Deserialize)]
pub(crate) struct Directory {
    pub tenant_id: String,
    pub tenant_domain: String,
    pub display_name: String,
    pub created: OffsetDateTime,
    next_seq: u64,
    /// The sandbox's setting, not the tenant's: set again at every start.
    #[serde(skip)]
    lag: Duration,
    pub users: Vec<User>,
    pub roles: Vec<DirectoryRole>,
    pub applications: Vec<Application>,
    pub service_principals: Vec<ServicePrincipal>,
    pub assignments: Vec<AppRoleAssignment>,
    /// Sign-ins in progress end with the sandbox that started them.
    #[serde(skip)]
    pub device_codes: HashMap<String, DeviceCode>,
    #[serde(skip)]
    pub sign_ins: crate::sign_ins::SignIns,
    /// Applications' `uniqueName` (the alternate key of
    /// `/applications(uniqueName='…')`), by application object id.
    pub unique_names: HashMap<String, String>,
    /// Refresh tokens issued, by value.
    pub refresh_tokens: HashMap<String, RefreshGrant>,
    /// The tenant's authorizationPolicy: what users may do without a role.
    pub authorization_policy: AuthorizationPolicy,
}

/// The tenant's authorizationPolicy: what the sandbox enforces of it, and
/// the rest as last written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct AuthorizationPolicy {
    /// `defaultUserRolePermissions.allowedToCreateApps`: member users may
    /// register applications (Entra's default), and own what they register.
    pub allowed_to_create_apps: bool,
    /// The other properties of the policy, as last written.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// The other properties of `defaultUserRolePermissions`, as last written.
    pub user_role_extra: serde_json::Map<String, serde_json::Value>,
}

impl Default for AuthorizationPolicy {
    fn default() -> Self {
        AuthorizationPolicy {
            allowed_to_create_apps: true,
            extra: serde_json::Map::new(),
            user_role_extra: serde_json::Map::new(),
        }
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct User {
    pub id: String,
    pub seq: u64,
    pub upn: String,
    pub display_name: String,
    pub mail_nickname: String,
    pub password: String,
    pub mfa_required: bool,
    pub force_change_password: bool,
    pub account_enabled: bool,
    pub created: OffsetDateTime,
    /// `signInSessionsValidFromDateTime`: refresh tokens issued before it are
    /// revoked. A new password or `revokeSignInSessions` moves it to now.
    pub sessions_valid_from: OffsetDateTime,
    #[serde(skip, default = "Instant::now")]
    pub visible_from: Instant,
    /// The documented properties the sandbox does not model, as last written.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Password sign-ins still to refuse as if the user did not exist yet
    /// (a new account that has not reached the sign-in service).
    pub sign_in_refusals: u32,
}

impl User {
    /// Whether this is the user `id_or_upn` as a reader sees it at `now`.
    fn is(&self, id_or_upn: &str, now: Instant) -> bool {
        now >= self.visible_from
            && (self.id.eq_ignore_ascii_case(id_or_upn) || self.upn.eq_ignore_ascii_case(id_or_upn))
    }
}

#[derive(Serialize, Deserialize)]
pub(crate) struct DirectoryRole {
    pub id: String,
    pub template_id: String,
    pub display_name: String,
    pub members: Vec<String>,
}

/// Where an application object lives: first-party clients (Graph Command Line
/// Tools) belong to Microsoft's tenant and are not listed under /applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum AppHome {
    Microsoft,
    Tenant,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct Application {
    pub id: String,
    pub seq: u64,
    pub app_id: String,
    pub display_name: String,
    pub sign_in_audience: String,
    pub home: AppHome,
    pub public_client: bool,
    pub key_credentials: Vec<KeyCredential>,
    /// Client secrets added with addPassword.
    pub password_credentials: Vec<PasswordCredential>,
    /// Trusts in tokens of other issuers (workload identity federation).
    pub federated_credentials: Vec<FederatedCredential>,
    pub required_resource_access: Vec<serde_json::Value>,
    /// The delegated permissions consented for this client in this tenant, for
    /// every user (what tenant-wide `oauth2PermissionGrants` record), by
    /// resource appId. Tokens carry only these; see `grants::consent`.
    pub delegated_permissions: BTreeMap<String, Vec<String>>,
    /// Object ids of the users and service principals that own it.
    pub owners: Vec<String>,
    /// The documented properties the sandbox does not model, as last written.
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub created: OffsetDateTime,
    #[serde(skip, default = "Instant::now")]
    pub visible_from: Instant,
}

impl Application {
    /// The app roles the application defines (its `appRoles`, as last
    /// written), which its service principal publishes.
    pub(crate) fn defined_app_roles(&self) -> Vec<AppRole> {
        let text = |role: &serde_json::Value, name: &str| {
            role.get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::to_string)
        };
        self.extra
            .get("appRoles")
            .and_then(serde_json::Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|role| {
                Some(AppRole {
                    id: text(role, "id")?.to_ascii_lowercase(),
                    value: text(role, "value")?,
                    display_name: text(role, "displayName").unwrap_or_default(),
                })
            })
            .collect()
    }
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct KeyCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    /// As the caller sent it; the certificate's SHA-1 thumbprint when it sent none.
    pub custom_key_identifier: Vec<u8>,
    pub certificate: Certificate,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    #[serde(skip, default = "Instant::now")]
    pub visible_from: Instant,
}

impl KeyCredential {
    /// Usable to sign at `now`: replicated, and within its start and end dates.
    pub(crate) fn is_current(&self, now: OffsetDateTime, instant: Instant) -> bool {
        instant >= self.visible_from && self.start <= now && now <= self.end
    }
}

/// A client secret (graph/api/resources/passwordcredential): the secret
/// itself is kept to check it at the token endpoint, and Graph returns it
/// only once, in the addPassword answer.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct PasswordCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub secret: String,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    #[serde(skip, default = "Instant::now")]
    pub visible_from: Instant,
}

impl PasswordCredential {
    /// Its first three characters, which Graph returns as `hint`.
    pub(crate) fn hint(&self) -> String {
        self.secret.chars().take(3).collect()
    }

    /// Replicated and within its start and end dates.
    pub(crate) fn is_current(&self, now: OffsetDateTime, instant: Instant) -> bool {
        instant >= self.visible_from && self.start <= now && now <= self.end
    }
}

/// A federatedIdentityCredential of an application
/// (graph/api/resources/federatedidentitycredential).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct FederatedCredential {
    pub id: String,
    pub seq: u64,
    pub name: String,
    pub issuer: String,
    pub subject: String,
    pub audiences: Vec<String>,
    pub description: Option<String>,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct ServicePrincipal {
    pub id: String,
    pub seq: u64,
    pub app_id: String,
    pub display_name: String,
    pub service_principal_names: Vec<String>,
    pub app_roles: Vec<AppRole>,
    pub delegated_scopes: Vec<String>,
    /// Client secrets added with addPassword: they authenticate its
    /// application as well as those on the application object do.
    pub password_credentials: Vec<PasswordCredential>,
    /// Object ids of the users and service principals that own it.
    pub owners: Vec<String>,
    /// The documented properties the sandbox does not model, as last written.
    pub extra: serde_json::Map<String, serde_json::Value>,
    pub created: OffsetDateTime,
    #[serde(skip, default = "Instant::now")]
    pub visible_from: Instant,
}

#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct AppRole {
    pub id: String,
    pub value: String,
    pub display_name: String,
}

#[derive(Serialize, Deserialize)]
pub(crate) struct AppRoleAssignment {
    pub id: String,
    pub seq: u64,
    pub principal_id: String,
    pub resource_id: String,
    pub app_role_id: String,
    pub created: OffsetDateTime,
    /// Tokens carry the role only from then on (replication).
    #[serde(skip, default = "Instant::now")]
    pub visible_from: Instant,
}

/// A refresh token the tenant issued: whose session it continues, for which
/// client (`sessions.rs` issues and redeems them).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefreshGrant {
    pub user_id: String,
    pub client_id: String,
    pub issued: OffsetDateTime,
}

pub(crate) enum DeviceCodeState {
    Pending,
    Approved {
        user_id: String,
    },
    Declined,
    /// Signed in by a user who may not consent for the organization to
    /// permissions the client lacks: the flow ends with AADSTS90094.
    AdminConsentRequired,
    Redeemed,
}

pub(crate) struct DeviceCode {
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: Instant,
    pub interval: Duration,
    pub last_poll: Option<Instant>,
    pub state: DeviceCodeState,
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Directory {
    pub(crate) fn new(
        tenant_id: String,
        tenant_domain: String,
        display_name: String,
        lag: Duration,
    ) -> Self {
        Directory {
            tenant_id,
            tenant_domain,
            display_name,
            created: OffsetDateTime::now_utc(),
            next_seq: 0,
            lag,
            users: Vec::new(),
            roles: Vec::new(),
            applications: Vec::new(),
            service_principals: Vec::new(),
            assignments: Vec::new(),
            device_codes: HashMap::new(),
            sign_ins: crate::sign_ins::SignIns::default(),
            unique_names: HashMap::new(),
            refresh_tokens: HashMap::new(),
            authorization_policy: AuthorizationPolicy::default(),
        }
    }

    /// The next creation sequence number: lists are ordered by it and paged on it.
    pub(crate) fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// How long new objects stay invisible (a directory read back from its
    /// data directory takes the starting sandbox's setting).
    pub(crate) fn set_replication_lag(&mut self, lag: Duration) {
        self.lag = lag;
    }

    /// When an object created now becomes visible to everyone else.
    pub(crate) fn visible_from_now(&self) -> Instant {
        Instant::now() + self.lag
    }

    pub(crate) fn is_tenant(&self, segment: &str) -> bool {
        segment.eq_ignore_ascii_case(&self.tenant_id)
            || segment.eq_ignore_ascii_case(&self.tenant_domain)
    }

    pub(crate) fn user(&self, id_or_upn: &str, now: Instant) -> Option<&User> {
        self.users.iter().find(|u| u.is(id_or_upn, now))
    }

    pub(crate) fn user_mut(&mut self, id_or_upn: &str, now: Instant) -> Option<&mut User> {
        self.users.iter_mut().find(|u| u.is(id_or_upn, now))
    }

    pub(crate) fn user_roles(&self, user_id: &str) -> impl Iterator<Item = &DirectoryRole> {
        self.roles
            .iter()
            .filter(move |r| r.members.iter().any(|m| m == user_id))
    }

    /// What `user_id` may do: the default member permissions (with the
    /// tenant's authorizationPolicy) and those of every role the user holds.
    pub(crate) fn user_permissions(&self, user_id: &str) -> BTreeSet<RolePermission> {
        let mut permissions = BTreeSet::from([RolePermission::ReadDirectory]);
        if self.authorization_policy.allowed_to_create_apps {
            permissions.insert(RolePermission::CreateApplications);
        }
        for role in self.user_roles(user_id) {
            if let Some(definition) = role_definition(&role.template_id) {
                permissions.extend(definition.permissions.iter().copied());
            }
        }
        permissions
    }

    /// Whether `user_id` holds a role marked privileged.
    pub(crate) fn holds_privileged_role(&self, user_id: &str) -> bool {
        self.user_roles(user_id)
            .any(|r| role_definition(&r.template_id).is_some_and(|d| d.privileged))
    }

    pub(crate) fn application_by_app_id(&self, app_id: &str, now: Instant) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| now >= a.visible_from && a.app_id.eq_ignore_ascii_case(app_id))
    }

    pub(crate) fn service_principal_by_app_id(
        &self,
        app_id: &str,
        now: Instant,
    ) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|s| now >= s.visible_from && s.app_id.eq_ignore_ascii_case(app_id))
    }

    /// The resource a scope names, by appId or by one of its servicePrincipalNames.
    pub(crate) fn resource(&self, identifier: &str, now: Instant) -> Option<&ServicePrincipal> {
        let identifier = identifier.trim_end_matches('/');
        self.service_principals.iter().find(|s| {
            now >= s.visible_from
                && (s.app_id.eq_ignore_ascii_case(identifier)
                    || s.service_principal_names
                        .iter()
                        .any(|n| n.trim_end_matches('/').eq_ignore_ascii_case(identifier)))
        })
    }

    /// The values of the app roles `principal_id` holds on `resource`, as
    /// replicated at `now`.
    pub(crate) fn assigned_roles(
        &self,
        principal_id: &str,
        resource: &ServicePrincipal,
        now: Instant,
    ) -> Vec<String> {
        self.assignments
            .iter()
            .filter(|a| now >= a.visible_from)
            .filter(|a| a.principal_id == principal_id && a.resource_id == resource.id)
            .filter_map(|a| resource.app_roles.iter().find(|r| r.id == a.app_role_id))
            .map(|r| r.value.clone())
            .collect()
    }

    /// Removes the deleted objects `ids` from the owners of every
    /// application and service principal.
    pub(crate) fn forget_owners(&mut self, ids: &[String]) {
        let owners = self
            .applications
            .iter_mut()
            .map(|a| &mut a.owners)
            .chain(self.service_principals.iter_mut().map(|s| &mut s.owners));
        for owners in owners {
            owners.retain(|owner| !ids.contains(owner));
        }
    }

    pub(crate) fn device_code_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceCode> {
        let wanted = user_code.trim().to_ascii_uppercase();
        self.device_codes
            .values_mut()
            .find(|d| d.user_code == wanted)
    }
}

/// What a directory role lets its members do: the `microsoft.directory/…` role
/// permissions the sandbox's endpoints check, one variant per kind of change.
/// Roles are modelled by these permissions (see [`role_definition`]), never by
/// their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum RolePermission {
    /// The default member-user permissions every user holds without a role:
    /// read users, applications, service principals (with their app role
    /// assignments), directory roles and their members, the organization.
    ReadDirectory,
    /// `applications/create`.
    CreateApplications,
    /// `applications/basic/update`, `…/audience/update`, `…/permissions/update`
    /// (requiredResourceAccess): everything but the credentials.
    UpdateApplications,
    /// `applications/credentials/update` and `servicePrincipals/credentials/update`:
    /// keyCredentials of an existing application (PATCH, and addKey/removeKey
    /// by a user), passwords of applications and service principals, and
    /// federated identity credentials.
    UpdateApplicationCredentials,
    /// `applications/owners/update` and `servicePrincipals/owners/update`:
    /// add and remove owners (graph/api/application-post-owners and
    /// serviceprincipal-post-owners support Hybrid Identity, Cloud
    /// Application and Application Administrators).
    UpdateOwners,
    /// `applications/delete`.
    DeleteApplications,
    /// `servicePrincipals/create`.
    CreateServicePrincipals,
    /// Create and update the service principals of applications one owns
    /// (Application Developer).
    CreateOwnedServicePrincipals,
    /// `servicePrincipals/basic/update` and the like.
    UpdateServicePrincipals,
    /// `servicePrincipals/appRoleAssignedTo/update`: grant and revoke app
    /// roles, except those of Microsoft Graph (see `GrantGraphAppRoles`).
    ManageAppRoleAssignments,
    /// Grant and revoke app roles of Microsoft Graph's own service principal
    /// (its application permissions): Privileged Role Administrator is the
    /// least privileged role that may (graph/api/serviceprincipal-post-
    /// approleassignments); Application and Cloud Application Administrators'
    /// role descriptions exclude Microsoft Graph's application permissions.
    GrantGraphAppRoles,
    /// `users/create`.
    CreateUsers,
    /// `users/delete` of users who hold no privileged role.
    DeleteUsers,
    /// Change or delete users who hold a privileged administrator role.
    ManagePrivilegedUsers,
    /// `users/basic/update` and the like: change users who hold no
    /// privileged role.
    UpdateUsers,
    /// `roleAssignments/standard/read`.
    ReadRoleAssignments,
    /// `roleAssignments/allProperties/allTasks`: assign and remove directory roles.
    ManageRoleAssignments,
    /// `authorizationPolicy/…/update`: change the tenant's authorizationPolicy.
    UpdateAuthorizationPolicy,
    /// `oAuth2PermissionGrants/allProperties/allTasks`: consent to delegated
    /// permissions on behalf of the organization.
    GrantTenantWideConsent,
    /// Read delegated permission grants through Graph: the roles
    /// graph/api/oauth2permissiongrant-list supports (not every member).
    ReadPermissionGrants,
    /// Create and delete delegated permission grants through Graph: the
    /// roles graph/api/oauth2permissiongrant-post supports.
    ManagePermissionGrants,
}

/// A built-in role as the sandbox enforces it.
pub(crate) struct RoleDefinition {
    pub template_id: &'static str,
    /// Marked privileged in the built-in roles reference: a User
    /// Administrator may not delete its holders.
    pub privileged: bool,
    pub permissions: &'static [RolePermission],
}

/// The application permissions of Hybrid Identity Administrator, which the
/// application roles extend with credentials and consent.
const HYBRID_IDENTITY_PERMISSIONS: &[RolePermission] = &[
    RolePermission::CreateApplications,
    RolePermission::UpdateApplications,
    RolePermission::UpdateOwners,
    RolePermission::DeleteApplications,
    RolePermission::CreateServicePrincipals,
    RolePermission::UpdateServicePrincipals,
    RolePermission::ManageAppRoleAssignments,
];

const APPLICATION_ADMIN_PERMISSIONS: &[RolePermission] = &[
    RolePermission::CreateApplications,
    RolePermission::UpdateApplications,
    RolePermission::UpdateApplicationCredentials,
    RolePermission::UpdateOwners,
    RolePermission::ReadPermissionGrants,
    RolePermission::ManagePermissionGrants,
    RolePermission::DeleteApplications,
    RolePermission::CreateServicePrincipals,
    RolePermission::UpdateServicePrincipals,
    RolePermission::ManageAppRoleAssignments,
    RolePermission::GrantTenantWideConsent,
];

const EVERYTHING: &[RolePermission] = &[
    RolePermission::ReadDirectory,
    RolePermission::CreateApplications,
    RolePermission::UpdateApplications,
    RolePermission::UpdateApplicationCredentials,
    RolePermission::UpdateOwners,
    RolePermission::ReadPermissionGrants,
    RolePermission::ManagePermissionGrants,
    RolePermission::DeleteApplications,
    RolePermission::CreateServicePrincipals,
    RolePermission::UpdateServicePrincipals,
    RolePermission::ManageAppRoleAssignments,
    RolePermission::GrantGraphAppRoles,
    RolePermission::CreateUsers,
    RolePermission::UpdateUsers,
    RolePermission::DeleteUsers,
    RolePermission::ManagePrivilegedUsers,
    RolePermission::ReadRoleAssignments,
    RolePermission::ManageRoleAssignments,
    RolePermission::UpdateAuthorizationPolicy,
    RolePermission::GrantTenantWideConsent,
];

/// The built-in roles the sandbox knows, by template id (the role definition
/// id of a built-in role). A seeded role not listed here grants nothing.
pub(crate) const ROLE_DEFINITIONS: &[RoleDefinition] = &[
    RoleDefinition {
        template_id: GLOBAL_ADMINISTRATOR,
        privileged: true,
        permissions: EVERYTHING,
    },
    RoleDefinition {
        template_id: HYBRID_IDENTITY_ADMINISTRATOR,
        privileged: true,
        permissions: HYBRID_IDENTITY_PERMISSIONS,
    },
    RoleDefinition {
        template_id: APPLICATION_ADMINISTRATOR,
        privileged: true,
        permissions: APPLICATION_ADMIN_PERMISSIONS,
    },
    RoleDefinition {
        template_id: CLOUD_APPLICATION_ADMINISTRATOR,
        privileged: true,
        permissions: APPLICATION_ADMIN_PERMISSIONS,
    },
    RoleDefinition {
        template_id: PRIVILEGED_ROLE_ADMINISTRATOR,
        privileged: true,
        permissions: &[
            RolePermission::ManageAppRoleAssignments,
            RolePermission::GrantGraphAppRoles,
            RolePermission::ReadRoleAssignments,
            RolePermission::ManageRoleAssignments,
            RolePermission::UpdateAuthorizationPolicy,
            RolePermission::GrantTenantWideConsent,
            RolePermission::ReadPermissionGrants,
            RolePermission::ManagePermissionGrants,
        ],
    },
    RoleDefinition {
        template_id: USER_ADMINISTRATOR,
        privileged: true,
        permissions: &[
            RolePermission::CreateUsers,
            RolePermission::UpdateUsers,
            RolePermission::DeleteUsers,
            RolePermission::ManageAppRoleAssignments,
            RolePermission::ReadPermissionGrants,
            RolePermission::ManagePermissionGrants,
        ],
    },
    // May register applications even when users may not, and owns what it
    // registers (graph/api/application-post-applications).
    RoleDefinition {
        template_id: APPLICATION_DEVELOPER,
        privileged: true,
        permissions: &[
            RolePermission::CreateApplications,
            RolePermission::CreateOwnedServicePrincipals,
            RolePermission::ReadPermissionGrants,
            RolePermission::ManagePermissionGrants,
        ],
    },
    RoleDefinition {
        template_id: DIRECTORY_WRITERS,
        privileged: true,
        permissions: &[
            RolePermission::ManageAppRoleAssignments,
            RolePermission::ReadPermissionGrants,
            RolePermission::ManagePermissionGrants,
        ],
    },
    RoleDefinition {
        template_id: IDENTITY_GOVERNANCE_ADMINISTRATOR,
        privileged: false,
        permissions: &[RolePermission::ManageAppRoleAssignments],
    },
    RoleDefinition {
        template_id: PRIVILEGED_AUTHENTICATION_ADMINISTRATOR,
        privileged: true,
        permissions: &[
            RolePermission::UpdateUsers,
            RolePermission::DeleteUsers,
            RolePermission::ManagePrivilegedUsers,
        ],
    },
    // Microsoft labels it privileged ("Restricted permissions on Directory
    // Synchronization Accounts (DSA) role", Entra what's new). Graph's
    // user-delete page (https://learn.microsoft.com/graph/api/user-delete)
    // lets User Administrator delete users, but a holder of a privileged
    // administrator role only by a more privileged role with
    // Directory.AccessAsUser.All: here a Privileged Authentication
    // Administrator or a Global Administrator.
    // It may grant app roles, for Entra Connect and Cloud Sync
    // (graph/api/serviceprincipal-post-approleassignments).
    RoleDefinition {
        template_id: DIRECTORY_SYNCHRONIZATION_ACCOUNTS,
        privileged: true,
        permissions: &[RolePermission::ManageAppRoleAssignments],
    },
];

pub(crate) fn role_definition(template_id: &str) -> Option<&'static RoleDefinition> {
    ROLE_DEFINITIONS
        .iter()
        .find(|d| d.template_id.eq_ignore_ascii_case(template_id))
}
