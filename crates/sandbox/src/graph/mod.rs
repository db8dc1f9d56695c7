//! The Microsoft Graph v1.0 subset at `/v1.0/...`. Every request carries a
//! sandbox access token for Graph. A delegated call is allowed when both the
//! token's `scp` (what was consented for the client) and the signed-in user's
//! directory roles allow it: [`Action`] is the one table of what each endpoint
//! needs, checked with [`Ctx::authorize`]. App-only tokens hold no Graph
//! permissions in the sandbox: they may only read their own application and
//! service principal and add or remove the application's keys (with a proof).
//!
//! Graph addresses objects with OData segments such as
//! `applications(appId='…')`, which a path router cannot split, so this module
//! dispatches on the decoded segments itself.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/`<each call>` (the "Permissions" table: least-privileged and higher scopes)
//! - entra/identity/role-based-access-control/permissions-reference (what each built-in role may do)
//! - graph/errors (error body, Authorization_RequestDenied)

mod applications;
mod directory_roles;
mod role_management;
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
    App {
        app_id: String,
    },
}

/// What a Graph request does, as far as authorization goes. [`Action::rule`]
/// is the one table of what each needs; handlers call
/// [`Ctx::authorize`]`(Action::…)` before they change or return anything.
///
/// | endpoint | action |
/// |---|---|
/// | `GET /me`, `GET /me/transitiveMemberOf/…` | `ReadSelf` |
/// | `GET /organization` | `ReadOrganization` |
/// | `GET /applications`, `/applications/{id}`, `/applications(appId='…')`, `(uniqueName='…')` | `ReadApplications` |
/// | `POST /applications` (keyCredentials in the body included) | `CreateApplication` |
/// | `PATCH /applications/{id}` | `UpdateApplication`; `UpdateApplicationCredentials` when the body carries `keyCredentials` (see [`Action::update_application`]) |
/// | `PATCH /applications(uniqueName='…')` + `Prefer: create-if-missing` | `CreateApplication` when it creates; as the PATCH above when it updates |
/// | `POST /applications/{id}/addKey`, `/removeKey` by a user | `UpdateApplicationCredentials` (an application rolling its own keys needs none) |
/// | `DELETE /applications/{id}` | `DeleteApplication` |
/// | `GET /servicePrincipals…` | `ReadServicePrincipals` |
/// | `POST /servicePrincipals` | `CreateServicePrincipal` |
/// | `PATCH /servicePrincipals/{id}` | `UpdateServicePrincipal` |
/// | `PATCH /servicePrincipals(appId='…')` + `Prefer: create-if-missing` | `CreateServicePrincipal` when it creates, `UpdateServicePrincipal` when it updates |
/// | `GET /servicePrincipals/{id}/appRoleAssignments` | `ReadServicePrincipals` |
/// | `POST /servicePrincipals/{id}/appRoleAssignments` | `GrantAppRoleAssignment` |
/// | `DELETE /servicePrincipals/{id}/appRoleAssignments/{id}` | `RevokeAppRoleAssignment` |
/// | `GET /users`, `GET /users/{id or UPN}` (someone else) | `ReadUsers` |
/// | `POST /users` | `CreateUser` |
/// | `DELETE /users/{id}` | `DeleteUser`, and `DeletePrivilegedUser` when the user holds a privileged role |
/// | `GET /directoryRoles…`, `…/members` | `ReadDirectoryRoles` |
/// | `POST /directoryRoles…/members/$ref`, `DELETE …/members/{id}/$ref` | `ManageDirectoryRoleMembers` |
/// | `GET /roleManagement/directory/roleAssignments…` | `ReadRoleAssignments` |
/// | `POST /roleManagement/directory/roleAssignments`, `DELETE …/{id}` | `ManageRoleAssignments` |
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
    RevokeAppRoleAssignment,
    ReadUsers,
    CreateUser,
    DeleteUser,
    DeletePrivilegedUser,
    ReadDirectoryRoles,
    ManageDirectoryRoleMembers,
    ReadRoleAssignments,
    ManageRoleAssignments,
}

/// What an [`Action`] needs of a delegated caller: the token's `scp` must hold
/// one scope of EVERY group in `scopes` (each group lists the least
/// privileged scope first, then the higher ones that also allow it), and the
/// user's roles must grant `role`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rule {
    pub scopes: &'static [&'static [&'static str]],
    pub role: RolePermission,
}

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
const READ_APPLICATIONS: &[&str] = &[
    "Application.Read.All",
    "Application.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
/// Graph offers no higher scope for writing applications.
const WRITE_APPLICATIONS: &[&str] = &["Application.ReadWrite.All"];
const WRITE_SERVICE_PRINCIPALS: &[&str] = &["Application.ReadWrite.All", "Directory.ReadWrite.All"];
const WRITE_APP_ROLE_ASSIGNMENTS: &[&str] = &["AppRoleAssignment.ReadWrite.All"];
const READ_USERS: &[&str] = &[
    "User.ReadBasic.All",
    "User.Read.All",
    "User.ReadWrite.All",
    "Directory.Read.All",
    "Directory.ReadWrite.All",
];
const CREATE_USERS: &[&str] = &["User.ReadWrite.All", "Directory.ReadWrite.All"];
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

impl Action {
    /// The one table: the scopes and the role permission each action needs.
    pub(crate) const fn rule(self) -> Rule {
        use RolePermission as P;
        let (scopes, role): (&'static [&'static [&'static str]], RolePermission) = match self {
            Action::ReadSelf => (&[READ_SELF], P::ReadDirectory),
            Action::ReadOrganization => (&[READ_ORGANIZATION], P::ReadDirectory),
            Action::ReadApplications => (&[READ_APPLICATIONS], P::ReadDirectory),
            Action::CreateApplication => (&[WRITE_APPLICATIONS], P::CreateApplications),
            Action::UpdateApplication => (&[WRITE_APPLICATIONS], P::UpdateApplications),
            Action::UpdateApplicationCredentials => {
                (&[WRITE_APPLICATIONS], P::UpdateApplicationCredentials)
            }
            Action::DeleteApplication => (&[WRITE_APPLICATIONS], P::DeleteApplications),
            Action::ReadServicePrincipals => (&[READ_APPLICATIONS], P::ReadDirectory),
            Action::CreateServicePrincipal => {
                (&[WRITE_SERVICE_PRINCIPALS], P::CreateServicePrincipals)
            }
            Action::UpdateServicePrincipal => {
                (&[WRITE_SERVICE_PRINCIPALS], P::UpdateServicePrincipals)
            }
            // Graph documents it as AppRoleAssignment.ReadWrite.All AND a read
            // of applications (Application.Read.All or higher).
            Action::GrantAppRoleAssignment => (
                &[WRITE_APP_ROLE_ASSIGNMENTS, READ_APPLICATIONS],
                P::ManageAppRoleAssignments,
            ),
            Action::RevokeAppRoleAssignment => {
                (&[WRITE_APP_ROLE_ASSIGNMENTS], P::ManageAppRoleAssignments)
            }
            Action::ReadUsers => (&[READ_USERS], P::ReadDirectory),
            Action::CreateUser => (&[CREATE_USERS], P::CreateUsers),
            Action::DeleteUser => (&[DELETE_USERS], P::DeleteUsers),
            Action::DeletePrivilegedUser => {
                (&[DELETE_USERS, ACCESS_AS_USER], P::DeletePrivilegedUsers)
            }
            Action::ReadDirectoryRoles => (&[READ_ROLES], P::ReadDirectory),
            Action::ManageDirectoryRoleMembers => (&[WRITE_ROLES], P::ManageRoleAssignments),
            Action::ReadRoleAssignments => (&[READ_ROLES], P::ReadRoleAssignments),
            Action::ManageRoleAssignments => (&[WRITE_ROLES], P::ManageRoleAssignments),
        };
        Rule { scopes, role }
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

    /// Whether a delegated caller with these scopes and role permissions may do this.
    pub(crate) fn allows(self, scopes: &[String], permissions: &BTreeSet<RolePermission>) -> bool {
        let rule = self.rule();
        let scoped = rule.scopes.iter().all(|group| {
            group
                .iter()
                .any(|wanted| scopes.iter().any(|s| s.eq_ignore_ascii_case(wanted)))
        });
        scoped && permissions.contains(&rule.role)
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
    /// `action`: a delegated token whose `scp` and whose user's roles both
    /// allow it (see [`Action::rule`]). App-only tokens are refused: handlers
    /// allow an application its own objects before asking this.
    pub(crate) fn authorize(&self, action: Action) -> Result<(), GraphError> {
        match &self.caller {
            Caller::User {
                scopes,
                permissions,
                ..
            } if action.allows(scopes, permissions) => Ok(()),
            _ => Err(GraphError::denied()),
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
    let segments: Vec<&str> = path.split('/').collect();
    route(&ctx, &method, &segments).unwrap_or_else(IntoResponse::into_response)
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
