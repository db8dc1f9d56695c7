//! `/roleManagement/directory/roleAssignments`: directory role assignments
//! (the unified RBAC view of directory role membership) at tenant scope: list
//! with `$filter` on `roleDefinitionId` or `principalId`, get, create, delete.
//! A built-in role's definition id is its template id.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/rbacapplication-post-roleassignments
//! - graph/api/rbacapplication-list-roleassignments

use super::{Action, Ctx, created, method_not_allowed, no_content, ok, schema, unknown_segment};
use crate::directory::{Directory, DirectoryRole};
use crate::errors::GraphError;
use axum::http::Method;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

/// The only directory scope the sandbox offers: the whole tenant.
const TENANT_SCOPE: &str = "/";

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Result<Response, GraphError> {
    match (method, segments) {
        (&Method::GET, ["roleManagement", "directory", "roleAssignments"]) => list(ctx),
        (&Method::POST, ["roleManagement", "directory", "roleAssignments"]) => create(ctx),
        (&Method::GET, ["roleManagement", "directory", "roleAssignments", id]) => get(ctx, id),
        (&Method::DELETE, ["roleManagement", "directory", "roleAssignments", id]) => {
            delete(ctx, id)
        }
        (_, ["roleManagement", "directory", "roleAssignments", ..]) if segments.len() <= 4 => {
            Err(method_not_allowed())
        }
        _ => Err(unknown_segment(
            segments.last().copied().unwrap_or_default(),
        )),
    }
}

/// An assignment's id, as Graph forms it for tenant-wide assignments: the
/// role definition's and the principal's GUID bytes, base64url, then `-1`.
fn assignment_id(role_definition_id: &str, principal_id: &str) -> String {
    let bytes = |id: &str| {
        uuid::Uuid::parse_str(id)
            .map(|u| u.to_bytes_le().to_vec())
            .unwrap_or_else(|_| id.as_bytes().to_vec())
    };
    let mut raw = bytes(role_definition_id);
    raw.extend(bytes(principal_id));
    format!("{}-1", URL_SAFE_NO_PAD.encode(raw))
}

fn assignment_json(role: &DirectoryRole, principal_id: &str) -> serde_json::Value {
    serde_json::json!({
        "id": assignment_id(&role.template_id, principal_id),
        "principalId": principal_id,
        "roleDefinitionId": role.template_id,
        "directoryScopeId": TENANT_SCOPE,
        "resourceScope": TENANT_SCOPE,
    })
}

/// Every assignment, as (role index, principal id), in a stable order.
fn assignments(directory: &Directory) -> impl Iterator<Item = (usize, &str)> {
    directory
        .roles
        .iter()
        .enumerate()
        .flat_map(|(index, role)| role.members.iter().map(move |m| (index, m.as_str())))
}

/// The assignment `id` names, as (role index, principal id).
fn find(directory: &Directory, id: &str) -> Result<(usize, String), GraphError> {
    assignments(directory)
        .find(|(index, principal)| {
            assignment_id(&directory.roles[*index].template_id, principal) == id
        })
        .map(|(index, principal)| (index, principal.to_string()))
        .ok_or_else(|| GraphError::not_found("unifiedRoleAssignment", id))
}

fn list(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadRoleAssignments)?;
    let filter = ctx.filter(
        "unifiedRoleAssignment",
        &["roleDefinitionId", "principalId"],
    )?;
    let items = {
        let directory = ctx.state.directory();
        assignments(&directory)
            .filter(|(index, principal)| match &filter {
                None => true,
                Some(f) if f.property().eq_ignore_ascii_case("principalId") => f.accepts(principal),
                Some(f) => f.accepts(&directory.roles[*index].template_id),
            })
            .enumerate()
            .map(|(seq, (index, principal))| {
                (
                    seq as u64 + 1,
                    assignment_json(&directory.roles[index], principal),
                )
            })
            .collect()
    };
    ctx.page(items)
}

fn entity(ctx: &Ctx<'_>, mut body: serde_json::Value) -> serde_json::Value {
    body["@odata.context"] = format!(
        "{}/$metadata#roleManagement/directory/roleAssignments/$entity",
        ctx.graph_url
    )
    .into();
    body
}

fn get(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadRoleAssignments)?;
    let directory = ctx.state.directory();
    let (index, principal) = find(&directory, id)?;
    Ok(ok(entity(
        ctx,
        assignment_json(&directory.roles[index], &principal),
    )))
}

/// graph/api/resources/unifiedroleassignment: the properties a client writes.
const UNIFIED_ROLE_ASSIGNMENT: schema::ComplexType = schema::ComplexType {
    name: "unifiedRoleAssignment",
    properties: &[
        schema::modelled("appScopeId", schema::Shape::Scalar),
        schema::modelled("directoryScopeId", schema::Shape::Scalar),
        schema::computed("id", schema::Shape::Scalar),
        schema::modelled("principalId", schema::Shape::Scalar),
        schema::modelled("roleDefinitionId", schema::Shape::Scalar),
    ],
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct NewAssignment {
    principal_id: Option<String>,
    role_definition_id: Option<String>,
    directory_scope_id: Option<String>,
    app_scope_id: Option<String>,
}

fn create(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ManageRoleAssignments)?;
    let body: NewAssignment =
        schema::read_body(ctx.body, &UNIFIED_ROLE_ASSIGNMENT).and_then(|b| b.typed())?;
    let required = |value: Option<String>, property: &str| {
        value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
            GraphError::bad_request(format!(
                "Invalid value specified for property '{property}' of resource 'UnifiedRoleAssignment'."
            ))
        })
    };
    let principal_id = required(body.principal_id, "principalId")?;
    let role_definition_id = required(body.role_definition_id, "roleDefinitionId")?;
    if body.app_scope_id.is_some() {
        return Err(GraphError::bad_request(
            "The sandbox offers directory role assignments at tenant scope only: give directoryScopeId '/' and no appScopeId.",
        ));
    }
    let scope = required(body.directory_scope_id, "directoryScopeId")?;
    if scope != TENANT_SCOPE {
        return Err(GraphError::bad_request(format!(
            "The sandbox offers directory role assignments at tenant scope only ('/'), not '{scope}'."
        )));
    }
    let mut directory = ctx.state.directory();
    let index = directory
        .roles
        .iter()
        .position(|r| r.template_id.eq_ignore_ascii_case(&role_definition_id))
        .ok_or_else(|| GraphError::not_found("unifiedRoleDefinition", &role_definition_id))?;
    // Not replicated yet: 404, as for any object Graph cannot see.
    let principal = directory
        .user(&principal_id, ctx.instant)
        .map(|u| u.id.clone())
        .ok_or_else(|| GraphError::not_found("directoryObject", &principal_id))?;
    let role = &mut directory.roles[index];
    if role.members.contains(&principal) {
        return Err(GraphError::bad_request(
            "A conflicting object with one or more of the specified property values is present in the directory.",
        ));
    }
    role.members.push(principal.clone());
    Ok(created(entity(ctx, assignment_json(role, &principal))))
}

fn delete(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ManageRoleAssignments)?;
    let mut directory = ctx.state.directory();
    let (index, principal) = find(&directory, id)?;
    directory.roles[index].members.retain(|m| m != &principal);
    Ok(no_content())
}
