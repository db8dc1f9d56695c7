//! App role assignments of a service principal, from either side:
//! `/servicePrincipals/{id}/appRoleAssignments` (the roles granted to it, the
//! client) and `/servicePrincipals/{id}/appRoleAssignedTo` (the roles granted
//! on it, the resource): list, grant, revoke. Principals are service
//! principals (the sandbox grants app roles to applications only).
//!
//! Who may grant: [`Action::GrantAppRoleAssignment`], or for an app role of
//! Microsoft Graph itself (an application permission of Graph)
//! [`Action::GrantGraphAppRole`]; a member user who owns the resource
//! application needs no role.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/serviceprincipal-list-approleassignments, -post-approleassignments,
//!   -delete-approleassignments (a duplicate grant is 400)
//! - graph/api/serviceprincipal-list-approleassignedto, -post-approleassignedto,
//!   -delete-approleassignedto
//! - the roles these pages support: Privileged Role Administrator is the least
//!   privileged one for Microsoft Graph's app roles; the roles listed are not
//!   needed by a member who owns the resource application

use super::service_principals::{Target, find};
use super::{Action, Ctx, created, graph_time, no_content, schema};
use crate::directory::{
    AppHome, AppRoleAssignment, Directory, GRAPH_APP_ID, ServicePrincipal, new_id,
};
use crate::errors::GraphError;
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

/// Which side of its assignments a service principal is addressed from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Side {
    /// `appRoleAssignments`: the service principal holds the roles.
    Principal,
    /// `appRoleAssignedTo`: the service principal defines the roles.
    Resource,
}

impl Side {
    fn of(self, assignment: &AppRoleAssignment) -> &str {
        match self {
            Side::Principal => &assignment.principal_id,
            Side::Resource => &assignment.resource_id,
        }
    }
}

const APP_ROLE_ASSIGNMENT: schema::ComplexType = schema::ComplexType {
    name: "appRoleAssignment",
    properties: &[
        schema::modelled("appRoleId", schema::Shape::Scalar),
        schema::computed("createdDateTime", schema::Shape::Scalar),
        schema::computed("deletedDateTime", schema::Shape::Scalar),
        schema::computed("id", schema::Shape::Scalar),
        schema::computed("principalDisplayName", schema::Shape::Scalar),
        schema::modelled("principalId", schema::Shape::Scalar),
        schema::computed("principalType", schema::Shape::Scalar),
        schema::computed("resourceDisplayName", schema::Shape::Scalar),
        schema::modelled("resourceId", schema::Shape::Scalar),
    ],
};

fn assignment_json(directory: &Directory, a: &AppRoleAssignment) -> serde_json::Value {
    let name = |id: &str| {
        directory
            .service_principals
            .iter()
            .find(|s| s.id == id)
            .map(|s| s.display_name.clone())
    };
    serde_json::json!({
        "id": a.id,
        "principalId": a.principal_id,
        "principalType": "ServicePrincipal",
        "principalDisplayName": name(&a.principal_id),
        "resourceId": a.resource_id,
        "resourceDisplayName": name(&a.resource_id),
        "appRoleId": a.app_role_id,
        "createdDateTime": graph_time(a.created),
        "deletedDateTime": null,
    })
}

/// The owners of the tenant application a resource service principal stands
/// for (none for Microsoft's own resources).
fn resource_owners(directory: &Directory, resource: &ServicePrincipal) -> Vec<String> {
    directory
        .applications
        .iter()
        .find(|a| a.home == AppHome::Tenant && a.app_id.eq_ignore_ascii_case(&resource.app_id))
        .map(|a| a.owners.clone())
        .unwrap_or_default()
}

/// What granting (or revoking) an app role of `resource` needs.
fn grant_action(resource: &ServicePrincipal, revoke: bool) -> Action {
    let graph = resource.app_id.eq_ignore_ascii_case(GRAPH_APP_ID);
    match (graph, revoke) {
        (true, false) => Action::GrantGraphAppRole,
        (true, true) => Action::RevokeGraphAppRole,
        (false, false) => Action::GrantAppRoleAssignment,
        (false, true) => Action::RevokeAppRoleAssignment,
    }
}

pub(super) fn list(ctx: &Ctx<'_>, target: Target<'_>, side: Side) -> Result<Response, GraphError> {
    let items = {
        let directory = ctx.state.directory();
        let index = find(&directory, target, ctx.instant)?;
        let sp = &directory.service_principals[index];
        super::service_principals::may_read(ctx, sp)?;
        directory
            .assignments
            .iter()
            .filter(|a| side.of(a) == sp.id && ctx.instant >= a.visible_from)
            .map(|a| (a.seq, assignment_json(&directory, a)))
            .collect()
    };
    ctx.page(items)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAssignment {
    principal_id: String,
    resource_id: String,
    app_role_id: String,
}

/// A visible service principal by object id, as an assignment names it.
fn visible_service_principal<'d>(
    ctx: &Ctx<'_>,
    directory: &'d Directory,
    id: &str,
) -> Result<&'d ServicePrincipal, GraphError> {
    directory
        .service_principals
        .iter()
        .find(|s| ctx.instant >= s.visible_from && s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found("servicePrincipal", id))
}

pub(super) fn grant(ctx: &Ctx<'_>, target: Target<'_>, side: Side) -> Result<Response, GraphError> {
    let body: NewAssignment =
        schema::read_body(ctx.body, &APP_ROLE_ASSIGNMENT).and_then(|b| b.typed())?;
    let mut directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    let addressed = directory.service_principals[index].id.clone();
    let (named, property) = match side {
        Side::Principal => (&body.principal_id, "principalId"),
        Side::Resource => (&body.resource_id, "resourceId"),
    };
    if !named.eq_ignore_ascii_case(&addressed) {
        return Err(GraphError::bad_request(format!(
            "The {property} must be the service principal the assignment is posted to."
        )));
    }
    let resource = visible_service_principal(ctx, &directory, &body.resource_id)?;
    ctx.authorize_owned(
        grant_action(resource, false),
        &resource_owners(&directory, resource),
    )?;
    let principal_id = visible_service_principal(ctx, &directory, &body.principal_id)?
        .id
        .clone();
    if !resource
        .app_roles
        .iter()
        .any(|r| r.id.eq_ignore_ascii_case(&body.app_role_id))
    {
        return Err(GraphError::bad_request(
            "Permission being assigned was not found on application",
        ));
    }
    let resource_id = resource.id.clone();
    let app_role_id = body.app_role_id.to_ascii_lowercase();
    if directory.assignments.iter().any(|a| {
        a.principal_id == principal_id
            && a.resource_id == resource_id
            && a.app_role_id.eq_ignore_ascii_case(&app_role_id)
    }) {
        return Err(GraphError::bad_request(
            "Permission being assigned already exists on the object",
        ));
    }
    let seq = directory.next_seq();
    let assignment = AppRoleAssignment {
        id: new_id(),
        seq,
        principal_id,
        resource_id,
        app_role_id,
        created: OffsetDateTime::now_utc(),
        visible_from: directory.visible_from_now(),
    };
    let json = assignment_json(&directory, &assignment);
    directory.assignments.push(assignment);
    Ok(created(json))
}

pub(super) fn revoke(
    ctx: &Ctx<'_>,
    target: Target<'_>,
    side: Side,
    id: &str,
) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    let addressed = directory.service_principals[index].id.clone();
    let position = directory
        .assignments
        .iter()
        .position(|a| side.of(a) == addressed && a.id.eq_ignore_ascii_case(id));
    let resource = position.and_then(|i| {
        let resource_id = &directory.assignments[i].resource_id;
        directory
            .service_principals
            .iter()
            .find(|s| &s.id == resource_id)
    });
    // Without the assignment, the least the caller needs decides 403 or 404.
    let (action, owners) = match resource {
        Some(resource) => (
            grant_action(resource, true),
            resource_owners(&directory, resource),
        ),
        None => (Action::RevokeAppRoleAssignment, Vec::new()),
    };
    ctx.authorize_owned(action, &owners)?;
    let index = position.ok_or_else(|| GraphError::not_found("appRoleAssignment", id))?;
    directory.assignments.remove(index);
    Ok(no_content())
}
