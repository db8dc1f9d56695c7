//! The Microsoft Graph v1.0 subset at `/v1.0/...`. Every request carries a
//! sandbox access token for Graph. A delegated call is allowed when both the
//! token's `scp` (what was consented for the client) and the signed-in user's
//! directory roles allow it; an app-only call (client credentials) when the
//! token's `roles` hold the Graph application permissions the call's table
//! lists. [`Action`] is the one table of what each endpoint needs, checked
//! with [`Ctx::authorize`]. Besides, an application may read its own
//! application and service principal and roll its own keys (addKey/removeKey
//! with a proof), and owners may manage what they own.
//!
//! Graph addresses objects with OData segments such as
//! `applications(appId='…')`, which a path router cannot split, so this module
//! dispatches on the decoded segments itself; a type cast may use Graph's
//! alias (`graph.directoryRole` for `microsoft.graph.directoryRole`).
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/`<each call>` (the "Permissions" table: least-privileged and higher
//!   permissions, delegated and application; named at each [`Action`])
//! - entra/identity/role-based-access-control/permissions-reference (what each built-in role may do)
//! - graph/errors (error body, Authorization_RequestDenied)

mod app_role_assignments;
mod applications;
mod directory_roles;
mod policies;
mod role_management;
mod schema;
mod service_principals;
mod users;

use super::AppState;
use super::directory::{GRAPH_APP_ID, GRAPH_URI, RolePermission};
use super::errors::GraphError;
use super::tokens::AccessClaims;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::de::DeserializeOwned;
use std::collections::{BTreeSet, HashMap};
use std::time::Instant;

pub(crate) fn routes() -> Router<AppState> {
    Router::new().route("/v1.0/{*path}", any(dispatch))
}

/// Who is calling, from the access token.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    /// A delegated token: the signed-in user, the permissions in the token's
    /// `scp`, and what the user's directory roles allow (as of this request).
    User {
        user_id: String,
        scopes: Vec<String>,
        permissions: BTreeSet<RolePermission>,
    },
    /// An app-only token: the client's appId, its service principal's object
    /// id, and the application permissions (app roles) in the token's `roles`.
    App {
        app_id: String,
        service_principal_id: String,
        roles: Vec<String>,
    },
}

/// What a Graph request does, as far as authorization goes. [`Action::rule`]
/// is the one table of what each needs; handlers call
/// [`Ctx::authorize`]`(Action::…)` (or [`Ctx::authorize_owned`] for an
/// object with owners) before they change or return anything.
///
/// | endpoint | action |
/// |---|---|
/// | `GET /me`, `GET /me/transitiveMemberOf…` | `ReadSelf` |
/// | `GET /users/{id}/transitiveMemberOf…` (someone else) | `ReadUsers` |
/// | `GET /organization` | `ReadOrganization` |
/// | `GET /applications`, `/applications/{id}`, `/applications(appId='…')`, `(uniqueName='…')`, `…/owners` | `ReadApplications` |
/// | `POST /applications` (keyCredentials in the body included) | `CreateApplication` |
/// | `PATCH /applications/{id}` | `UpdateApplication`; `UpdateApplicationCredentials` when the body carries `keyCredentials` (see [`Action::update_application`]) |
/// | `PATCH /applications(uniqueName='…')` + `Prefer: create-if-missing` | `CreateApplication` when it creates; as the PATCH above when it updates |
/// | `POST /applications/{id}/addKey`, `/removeKey` by someone else than the application | `UpdateApplicationCredentials` |
/// | `DELETE /applications/{id}` | `DeleteApplication` |
/// | `GET /servicePrincipals…`, `…/appRoleAssignments`, `…/appRoleAssignedTo` | `ReadServicePrincipals` |
/// | `POST /servicePrincipals` | `CreateServicePrincipal` |
/// | `PATCH /servicePrincipals/{id}` | `UpdateServicePrincipal` |
/// | `PATCH /servicePrincipals(appId='…')` + `Prefer: create-if-missing` | `CreateServicePrincipal` when it creates, `UpdateServicePrincipal` when it updates |
/// | `POST /servicePrincipals/{id}/appRoleAssignments`, `…/appRoleAssignedTo` | `GrantAppRoleAssignment`; `GrantGraphAppRole` for an app role of Microsoft Graph |
/// | `DELETE /servicePrincipals/{id}/appRoleAssignments/{id}`, `…/appRoleAssignedTo/{id}` | `RevokeAppRoleAssignment`; `RevokeGraphAppRole` for Microsoft Graph's |
/// | `GET /users`, `GET /users/{id or UPN}` (someone else) | `ReadUsers` |
/// | `POST /users` | `CreateUser` |
/// | `PATCH /users/{id}` | `UpdateSelf` for oneself; else `UpdateUser`, `UpdatePrivilegedUser` for a holder of a privileged role, `ResetPassword` with a `passwordProfile` |
/// | `DELETE /users/{id}` | `DeleteUser`, and `DeletePrivilegedUser` when the user holds a privileged role |
/// | `GET /directoryRoles…`, `…/members` | `ReadDirectoryRoles` |
/// | `POST /directoryRoles…/members/$ref`, `DELETE …/members/{id}/$ref` | `ManageDirectoryRoleMembers` |
/// | `GET /roleManagement/directory/roleAssignments…` | `ReadRoleAssignments` |
/// | `POST /roleManagement/directory/roleAssignments`, `DELETE …/{id}` | `ManageRoleAssignments` |
/// | `GET /policies/authorizationPolicy` | `ReadAuthorizationPolicy` |
/// | `PATCH /policies/authorizationPolicy` | `UpdateAuthorizationPolicy` |
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    ReadSelf,
    ReadOrganization,
    ReadApplications,
    CreateApplication,
    UpdateApplication,
    UpdateApplicationCredentials,
    DeleteApplication,
    ReadServicePrincipals,
    CreateServicePrincipal,
    UpdateServicePrincipal,
    GrantAppRoleAssignment,
    GrantGraphAppRole,
    RevokeAppRoleAssignment,
    RevokeGraphAppRole,
    ReadUsers,
    CreateUser,
    UpdateSelf,
    UpdateUser,
    UpdatePrivilegedUser,
    ResetPassword,
    RevokeOwnSessions,
    RevokeSessions,
    DeleteUser,
    DeletePrivilegedUser,
    ReadDirectoryRoles,
    ManageDirectoryRoleMembers,
    ReadRoleAssignments,
    ManageRoleAssignments,
    ReadAuthorizationPolicy,
    UpdateAuthorizationPolicy,
}

/// Who besides the roles in a [`Rule`] may act on an object with owners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnersMay {
    /// Owning it changes nothing.
    No,
    /// A signed-in owner (a member user; the token's scopes still apply).
    Users,
    /// A signed-in owner, or an owning application holding
    /// Application.ReadWrite.OwnedBy.
    UsersAndApplications,
    /// A signed-in owner who is an Application Developer, or an owning
    /// application holding Application.ReadWrite.OwnedBy.
    DevelopersAndApplications,
}

/// What an [`Action`] needs. A delegated caller: the token's `scp` must hold
/// one scope of EVERY group in `scopes` (each group lists the least
/// privileged scope first, then the higher ones that also allow it), and the
/// user's roles must grant `role`. An app-only caller: the token's `roles`
/// must hold one of every group in `app_roles` (an empty group: never).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub scopes: &'static [&'static [&'static str]],
    pub role: RolePermission,
    pub app_roles: &'static [&'static [&'static str]],
    pub owners: OwnersMay,
}

/// The application permission that lets an application manage the
/// applications it owns (and create applications, which it then owns).
const OWNED_BY: &str = "Application.ReadWrite.OwnedBy";

const READ_SELF: &[&str] = &[
    "User.Read",
    "User.ReadWrite",
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const READ_ORGANIZATION: &[&str] = &[
    "User.Read",
    "Organization.Read.All",
    "Directory.Read.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
];
/// graph/api/organization-list, application permissions.
const APP_READ_ORGANIZATION: &[&str] = &[
    "Organization.Read.All",
    "Directory.Read.All",
    "Organization.ReadWrite.All",
    "Directory.ReadWrite.All",
];
const READ_APPLICATIONS: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Graph offers no higher scope for writing applications.
const WRITE_APPLICATIONS: &[&str] = &["Application.ReadWrite.All"];
/// graph/api/application-post-applications, application permissions: an
/// application holding OwnedBy creates applications it then owns.
const APP_CREATE_APPLICATIONS: &[&str] = &[OWNED_BY, "Application.ReadWrite.All"];
const WRITE_SERVICE_PRINCIPALS: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const WRITE_APP_ROLE_ASSIGNMENTS: &[&str] = &["AppRoleAssignment.ReadWrite.All"];
const READ_USERS: &[&str] = &[
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// graph/api/user-list and user-list-transitivememberof, application permissions.
const APP_READ_USERS: &[&str] = &[
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const CREATE_USERS: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
const UPDATE_SELF: &[&str] = &[
    "User.ReadWrite",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];
const UPDATE_USERS: &[&str] = &[
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
    "Directory.AccessAsUser.All",
];
/// graph/api/user-revokesigninsessions, delegated and application.
const REVOKE_SESSIONS: &[&str] = &[
    "User.RevokeSessions.All",
    "User.ReadWrite.All",
    "Directory.ReadWrite.All",
];
/// Graph offers no higher scope for deleting users.
const DELETE_USERS: &[&str] = &["User.ReadWrite.All"];
/// Deleting a user who holds a privileged role also needs this one.
const ACCESS_AS_USER: &[&str] = &["Directory.AccessAsUser.All"];
const READ_ROLES: &[&str] = &[
    "RoleManagement.Read.Directory",
    "RoleManagement.Read.All",
    "RoleManagement.ReadWrite.Directory",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const WRITE_ROLES: &[&str] = &["RoleManagement.ReadWrite.Directory"];
const READ_POLICY: &[&str] = &["Policy.Read.All", "Policy.ReadWrite.Authorization"];
const WRITE_POLICY: &[&str] = &["Policy.ReadWrite.Authorization"];
/// No application permission allows it.
const NEVER: &[&[&str]] = &[&[]];

impl Action {
    /// The one table: the scopes, the role permission and the application
    /// permissions each action needs.
    pub(crate) const fn rule(self) -> Rule {
        use OwnersMay as O;
        use RolePermission as P;
        type Groups = &'static [&'static [&'static str]];
        let (scopes, role, app_roles, owners): (Groups, RolePermission, Groups, OwnersMay) =
            match self {
                // graph/api/user-get: /me is for a signed-in user only.
                Action::ReadSelf => (&[READ_SELF], P::ReadDirectory, NEVER, O::No),
                // graph/api/organization-list
                Action::ReadOrganization => (
                    &[READ_ORGANIZATION],
                    P::ReadDirectory,
                    &[APP_READ_ORGANIZATION],
                    O::No,
                ),
                // graph/api/application-list, application-get
                Action::ReadApplications => (
                    &[READ_APPLICATIONS],
                    P::ReadDirectory,
                    &[READ_APPLICATIONS],
                    O::UsersAndApplications,
                ),
                // graph/api/application-post-applications
                Action::CreateApplication => (
                    &[WRITE_APPLICATIONS],
                    P::CreateApplications,
                    &[APP_CREATE_APPLICATIONS],
                    O::No,
                ),
                // graph/api/application-update
                Action::UpdateApplication => (
                    &[WRITE_APPLICATIONS],
                    P::UpdateApplications,
                    &[WRITE_APPLICATIONS],
                    O::UsersAndApplications,
                ),
                Action::UpdateApplicationCredentials => (
                    &[WRITE_APPLICATIONS],
                    P::UpdateApplicationCredentials,
                    &[WRITE_APPLICATIONS],
                    O::UsersAndApplications,
                ),
                // graph/api/application-delete
                Action::DeleteApplication => (
                    &[WRITE_APPLICATIONS],
                    P::DeleteApplications,
                    &[WRITE_APPLICATIONS],
                    O::UsersAndApplications,
                ),
                // graph/api/serviceprincipal-get, -list, -list-approleassignments,
                // -list-approleassignedto
                Action::ReadServicePrincipals => (
                    &[READ_APPLICATIONS],
                    P::ReadDirectory,
                    &[READ_APPLICATIONS],
                    O::No,
                ),
                // graph/api/serviceprincipal-post-serviceprincipals: a non-admin
                // owner of the application needs the Application Developer role.
                Action::CreateServicePrincipal => (
                    &[WRITE_SERVICE_PRINCIPALS],
                    P::CreateServicePrincipals,
                    &[WRITE_SERVICE_PRINCIPALS],
                    O::DevelopersAndApplications,
                ),
                // graph/api/serviceprincipal-update
                Action::UpdateServicePrincipal => (
                    &[WRITE_SERVICE_PRINCIPALS],
                    P::UpdateServicePrincipals,
                    &[WRITE_SERVICE_PRINCIPALS],
                    O::DevelopersAndApplications,
                ),
                // graph/api/serviceprincipal-post-approleassignments and
                // -post-approleassignedto: AppRoleAssignment.ReadWrite.All AND a
                // read of applications (Application.Read.All or higher); a
                // member who owns the resource application needs no role.
                Action::GrantAppRoleAssignment => (
                    &[WRITE_APP_ROLE_ASSIGNMENTS, READ_APPLICATIONS],
                    P::ManageAppRoleAssignments,
                    &[WRITE_APP_ROLE_ASSIGNMENTS, READ_APPLICATIONS],
                    O::Users,
                ),
                Action::GrantGraphAppRole => (
                    &[WRITE_APP_ROLE_ASSIGNMENTS, READ_APPLICATIONS],
                    P::GrantGraphAppRoles,
                    &[WRITE_APP_ROLE_ASSIGNMENTS, READ_APPLICATIONS],
                    O::No,
                ),
                // graph/api/serviceprincipal-delete-approleassignments, -approleassignedto
                Action::RevokeAppRoleAssignment => (
                    &[WRITE_APP_ROLE_ASSIGNMENTS],
                    P::ManageAppRoleAssignments,
                    &[WRITE_APP_ROLE_ASSIGNMENTS],
                    O::Users,
                ),
                Action::RevokeGraphAppRole => (
                    &[WRITE_APP_ROLE_ASSIGNMENTS],
                    P::GrantGraphAppRoles,
                    &[WRITE_APP_ROLE_ASSIGNMENTS],
                    O::No,
                ),
                // graph/api/user-list, user-get, user-list-transitivememberof
                Action::ReadUsers => (&[READ_USERS], P::ReadDirectory, &[APP_READ_USERS], O::No),
                // graph/api/user-post-users
                Action::CreateUser => (&[CREATE_USERS], P::CreateUsers, &[CREATE_USERS], O::No),
                // graph/api/user-update
                Action::UpdateSelf => (&[UPDATE_SELF], P::ReadDirectory, NEVER, O::No),
                Action::UpdateUser => (&[UPDATE_USERS], P::UpdateUsers, &[CREATE_USERS], O::No),
                Action::UpdatePrivilegedUser => {
                    (&[UPDATE_USERS], P::ManagePrivilegedUsers, NEVER, O::No)
                }
                Action::ResetPassword => (&[ACCESS_AS_USER], P::UpdateUsers, NEVER, O::No),
                // graph/api/user-revokesigninsessions
                Action::RevokeOwnSessions => (&[REVOKE_SESSIONS], P::ReadDirectory, NEVER, O::No),
                Action::RevokeSessions => (
                    &[REVOKE_SESSIONS],
                    P::UpdateUsers,
                    &[&["User.RevokeSessions.All"]],
                    O::No,
                ),
                // graph/api/user-delete
                Action::DeleteUser => (&[DELETE_USERS], P::DeleteUsers, &[DELETE_USERS], O::No),
                Action::DeletePrivilegedUser => (
                    &[DELETE_USERS, ACCESS_AS_USER],
                    P::ManagePrivilegedUsers,
                    NEVER,
                    O::No,
                ),
                // graph/api/directoryrole-list, directoryrole-list-members
                Action::ReadDirectoryRoles => {
                    (&[READ_ROLES], P::ReadDirectory, &[READ_ROLES], O::No)
                }
                // graph/api/directoryrole-post-members, directoryrole-delete-member
                Action::ManageDirectoryRoleMembers => (
                    &[WRITE_ROLES],
                    P::ManageRoleAssignments,
                    &[WRITE_ROLES],
                    O::No,
                ),
                // graph/api/rbacapplication-list-roleassignments
                Action::ReadRoleAssignments => {
                    (&[READ_ROLES], P::ReadRoleAssignments, &[READ_ROLES], O::No)
                }
                // graph/api/rbacapplication-post-roleassignments
                Action::ManageRoleAssignments => (
                    &[WRITE_ROLES],
                    P::ManageRoleAssignments,
                    &[WRITE_ROLES],
                    O::No,
                ),
                // graph/api/authorizationpolicy-get: members may read it.
                Action::ReadAuthorizationPolicy => {
                    (&[READ_POLICY], P::ReadDirectory, &[READ_POLICY], O::No)
                }
                // graph/api/authorizationpolicy-update
                Action::UpdateAuthorizationPolicy => (
                    &[WRITE_POLICY],
                    P::UpdateAuthorizationPolicy,
                    &[WRITE_POLICY],
                    O::No,
                ),
            };
        Rule {
            scopes,
            role,
            app_roles,
            owners,
        }
    }

    /// The action of a PATCH of an existing application: changing its
    /// `keyCredentials` is a credential update (roles that may update
    /// credentials may also update everything else).
    pub(crate) const fn update_application(carries_key_credentials: bool) -> Action {
        if carries_key_credentials {
            Action::UpdateApplicationCredentials
        } else {
            Action::UpdateApplication
        }
    }
}

/// Whether `held` (a token's `scp` or `roles`) holds one permission of every group.
fn holds_every(groups: &[&[&str]], held: &[String]) -> bool {
    groups.iter().all(|group| {
        group
            .iter()
            .any(|wanted| held.iter().any(|h| h.eq_ignore_ascii_case(wanted)))
    })
}

impl Caller {
    /// Whether this caller may do `action` to an object owned by `owners`
    /// (empty when the object has none, or for a creation).
    pub(crate) fn may(&self, action: Action, owners: &[String]) -> bool {
        let rule = action.rule();
        match self {
            Caller::User {
                user_id,
                scopes,
                permissions,
            } => {
                let as_owner = owners.contains(user_id)
                    && match rule.owners {
                        OwnersMay::No => false,
                        OwnersMay::Users | OwnersMay::UsersAndApplications => true,
                        OwnersMay::DevelopersAndApplications => {
                            permissions.contains(&RolePermission::CreateOwnedServicePrincipals)
                        }
                    };
                holds_every(rule.scopes, scopes) && (permissions.contains(&rule.role) || as_owner)
            }
            Caller::App {
                service_principal_id,
                roles,
                ..
            } => {
                let as_owner = owners.contains(service_principal_id)
                    && roles.iter().any(|r| r.eq_ignore_ascii_case(OWNED_BY))
                    && matches!(
                        rule.owners,
                        OwnersMay::UsersAndApplications | OwnersMay::DevelopersAndApplications
                    );
                holds_every(rule.app_roles, roles) || as_owner
            }
        }
    }

    /// The object id that becomes the owner of what this caller creates, when
    /// it is allowed only by what owners may do: a user registering
    /// applications under the tenant's default permissions or as an
    /// Application Developer, or an application holding OwnedBy.
    pub(crate) fn owner_of_creation(&self) -> Option<String> {
        match self {
            Caller::User {
                user_id,
                permissions,
                ..
            } if !permissions.contains(&RolePermission::UpdateApplications) => {
                Some(user_id.clone())
            }
            Caller::App {
                service_principal_id,
                roles,
                ..
            } if !holds_every(&[WRITE_APPLICATIONS], roles) => Some(service_principal_id.clone()),
            _ => None,
        }
    }
}

/// One Graph request, decoded.
pub(crate) struct Ctx<'a> {
    pub state: &'a AppState,
    pub caller: Caller,
    pub graph_url: String,
    pub path: &'a str,
    pub query: &'a HashMap<String, String>,
    pub body: &'a [u8],
    /// The request's headers (`Prefer: create-if-missing` for upserts).
    pub headers: &'a HeaderMap,
    pub instant: Instant,
}

impl Ctx<'_> {
    /// Refuses (403 `Authorization_RequestDenied`) unless the caller may do
    /// `action` (see [`Action::rule`]). Handlers allow an application its own
    /// objects before asking this.
    pub(crate) fn authorize(&self, action: Action) -> Result<(), GraphError> {
        self.authorize_owned(action, &[])
    }

    /// [`Ctx::authorize`] for an object owned by `owners`, whom the rule
    /// may allow more (see [`OwnersMay`]).
    pub(crate) fn authorize_owned(
        &self,
        action: Action,
        owners: &[String],
    ) -> Result<(), GraphError> {
        if self.caller.may(action, owners) {
            Ok(())
        } else {
            Err(GraphError::denied())
        }
    }

    /// The signed-in user's object id, for delegated calls.
    pub(crate) fn user_id(&self) -> Option<&str> {
        match &self.caller {
            Caller::User { user_id, .. } => Some(user_id),
            Caller::App { .. } => None,
        }
    }

    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, GraphError> {
        serde_json::from_slice(self.body).map_err(|e| {
            GraphError::bad_request(format!(
                "The request body is not valid JSON for this operation: {e}"
            ))
        })
    }

    /// One page of `items` (already filtered, each with its creation sequence
    /// number), and a nextLink when more follow.
    pub(crate) fn page(
        &self,
        items: Vec<(u64, serde_json::Value)>,
    ) -> Result<Response, GraphError> {
        let page_size = match self.query.get("$top") {
            Some(top) => top
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=999).contains(n))
                .ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
                    ))
                })?,
            None => self.state.config.page_size.max(1),
        };
        let after = match self.query.get("$skiptoken") {
            Some(token) => token
                .parse::<u64>()
                .map_err(|_| GraphError::bad_request("The $skiptoken is not valid."))?,
            None => 0,
        };
        let mut remaining: Vec<(u64, serde_json::Value)> =
            items.into_iter().filter(|(seq, _)| *seq > after).collect();
        remaining.sort_by_key(|(seq, _)| *seq);
        let more = remaining.len() > page_size;
        remaining.truncate(page_size);
        let mut body = serde_json::json!({
            "@odata.context": format!("{}/$metadata#{}", self.graph_url, self.path),
        });
        if more && let Some((last, _)) = remaining.last() {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in self.query {
                if name != "$skiptoken" {
                    query.append_pair(name, value);
                }
            }
            query.append_pair("$skiptoken", &last.to_string());
            body["@odata.nextLink"] =
                format!("{}/{}?{}", self.graph_url, self.path, query.finish()).into();
        }
        body["value"] = remaining.into_iter().map(|(_, v)| v).collect();
        Ok(ok(body))
    }

    pub(crate) fn filter(
        &self,
        resource: &str,
        supported: &[&str],
    ) -> Result<Option<Filter>, GraphError> {
        let Some(text) = self.query.get("$filter") else {
            return Ok(None);
        };
        let filter = Filter::parse(text)
            .ok_or_else(|| GraphError::bad_request(format!("Invalid filter clause: {text}")))?;
        if !supported
            .iter()
            .any(|p| p.eq_ignore_ascii_case(filter.property()))
        {
            return Err(GraphError::bad_request(format!(
                "Unsupported or invalid query filter clause specified for property '{}' of resource '{resource}'.",
                filter.property()
            )));
        }
        Ok(Some(filter))
    }
}

/// The two filter forms the tool uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Filter {
    Eq(String, String),
    StartsWith(String, String),
}

impl Filter {
    fn parse(text: &str) -> Option<Filter> {
        let text = text.trim();
        let literal = |s: &str| -> Option<String> {
            let s = s.trim();
            let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
            Some(inner.replace("''", "'"))
        };
        if let Some(rest) = text.strip_prefix("startswith(") {
            let inner = rest.strip_suffix(')')?;
            let (property, value) = inner.split_once(',')?;
            return Some(Filter::StartsWith(
                property.trim().to_string(),
                literal(value)?,
            ));
        }
        let (property, value) = text.split_once(" eq ")?;
        Some(Filter::Eq(property.trim().to_string(), literal(value)?))
    }

    pub(crate) fn property(&self) -> &str {
        match self {
            Filter::Eq(p, _) | Filter::StartsWith(p, _) => p,
        }
    }

    /// Whether `value` of the filtered property passes (case-insensitive, as Graph).
    pub(crate) fn accepts(&self, value: &str) -> bool {
        match self {
            Filter::Eq(_, wanted) => value.eq_ignore_ascii_case(wanted),
            Filter::StartsWith(_, prefix) => value
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()),
        }
    }
}

pub(crate) fn ok(body: serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub(crate) fn created(body: serde_json::Value) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `name(key='value')` -> value.
pub(crate) fn keyed<'s>(segment: &'s str, name: &str, key: &str) -> Option<&'s str> {
    segment
        .strip_prefix(name)?
        .strip_prefix('(')?
        .strip_prefix(key)?
        .strip_prefix("='")?
        .strip_suffix("')")
}

fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    instant: Instant,
) -> Result<Caller, GraphError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GraphError::unauthenticated("Access token is empty."))?;
    // Graph by any of its names: its URI, its appId, or this sandbox's host
    // when the token was asked for with it.
    let audience_ok = |aud: &str| {
        [GRAPH_URI, "https://graph.microsoft.com/", GRAPH_APP_ID].contains(&aud)
            || state.is_graph_host(aud)
    };
    let claims: AccessClaims = state
        .signer
        .validate(token, &audience_ok)
        .map_err(GraphError::unauthenticated)?;
    let directory = state.directory();
    if claims.tid != directory.tenant_id {
        return Err(GraphError::unauthenticated(
            "The token was issued for another tenant.",
        ));
    }
    match claims.idtyp.as_str() {
        "user" => {
            let user = directory.user(&claims.oid, instant).ok_or_else(|| {
                GraphError::unauthenticated("The user in the token no longer exists.")
            })?;
            let scopes = claims
                .scp
                .as_deref()
                .unwrap_or_default()
                .split_whitespace()
                .map(str::to_string)
                .collect();
            Ok(Caller::User {
                permissions: directory.user_permissions(&user.id),
                user_id: user.id.clone(),
                scopes,
            })
        }
        _ => Ok(Caller::App {
            app_id: claims.appid,
            // The token's subject is the client's service principal.
            service_principal_id: claims.oid,
            roles: claims.roles,
        }),
    }
}

async fn dispatch(
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let instant = Instant::now();
    let caller = match authenticate(&state, &headers, instant) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let path = path.trim_end_matches('/');
    let ctx = Ctx {
        graph_url: format!("{}/v1.0", state.base_url(&headers)),
        state: &state,
        caller,
        path,
        query: &query,
        body: &body,
        headers: &headers,
        instant,
    };
    let segments: Vec<String> = path.split('/').map(full_type_name).collect();
    let segments: Vec<&str> = segments.iter().map(String::as_str).collect();
    route(&ctx, &method, &segments).unwrap_or_else(IntoResponse::into_response)
}

/// A type cast segment with Graph's namespace alias (`graph.directoryRole`,
/// as its $metadata declares `Alias="graph"`) in its full form
/// (`microsoft.graph.directoryRole`); any other segment as it is.
fn full_type_name(segment: &str) -> String {
    match segment.strip_prefix("graph.") {
        Some(name) => format!("microsoft.graph.{name}"),
        None => segment.to_string(),
    }
}

fn route(ctx: &Ctx<'_>, method: &Method, segments: &[&str]) -> Result<Response, GraphError> {
    let first = segments.first().copied().unwrap_or_default();
    let name = first.split('(').next().unwrap_or_default();
    match name {
        "organization" | "me" | "users" => users::route(ctx, method, segments),
        "directoryRoles" | "directoryObjects" => directory_roles::route(ctx, method, segments),
        "applications" => applications::route(ctx, method, segments),
        "servicePrincipals" => service_principals::route(ctx, method, segments),
        "roleManagement" => role_management::route(ctx, method, segments),
        "policies" => policies::route(ctx, method, segments),
        _ => Err(unknown_segment(first)),
    }
}

pub(crate) fn unknown_segment(segment: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{segment}'."),
    )
}

pub(crate) fn method_not_allowed() -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "The HTTP method is not allowed on this resource.",
    )
}

pub(crate) use super::errors::graph_time;
