//! `/servicePrincipals`: create for an appId, read by id or `(appId='…')`,
//! list with `$filter`, PATCH (an upsert on `(appId='…')` with
//! `Prefer: create-if-missing`), and `appRoleAssignments` (list, grant, revoke).
//!
//! Replication, as Entra shows it: a service principal cannot be created for an
//! application that has not replicated yet (one of Entra's two answers, picked
//! reproducibly from the fault RNG), and a new app role assignment is invisible
//! to reads and to tokens until it replicates.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/serviceprincipal-upsert
//! - graph/api/serviceprincipal-post-serviceprincipals
//! - graph/api/serviceprincipal-post-approleassignments (a duplicate grant is 400)

use super::applications::{prefers_create_if_missing, project, selected};
use super::{
    Action, Caller, Ctx, created, graph_time, keyed, method_not_allowed, no_content, ok,
    unknown_segment,
};
use crate::directory::{AppHome, AppRoleAssignment, Directory, ServicePrincipal, new_id};
use crate::errors::GraphError;
use crate::faults;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::time::Instant;
use time::OffsetDateTime;

/// Microsoft's own tenant, which owns the first-party applications.
const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Result<Response, GraphError> {
    if segments == ["servicePrincipals"] {
        return match *method {
            Method::GET => list(ctx),
            Method::POST => create(ctx),
            _ => Err(method_not_allowed()),
        };
    }
    let (target, rest) = match segments {
        ["servicePrincipals", id, rest @ ..] => ((*id, false), rest),
        [first, rest @ ..] => match keyed(first, "servicePrincipals", "appId") {
            Some(app_id) => ((app_id, true), rest),
            None => return Err(unknown_segment(first)),
        },
        [] => return Err(unknown_segment("")),
    };
    match (method, rest) {
        (&Method::GET, []) => get(ctx, target),
        (&Method::PATCH, []) => patch(ctx, target),
        (&Method::GET, ["appRoleAssignments"]) => list_assignments(ctx, target),
        (&Method::POST, ["appRoleAssignments"]) => assign(ctx, target),
        (&Method::DELETE, ["appRoleAssignments", id]) => unassign(ctx, target, id),
        (_, [] | ["appRoleAssignments", ..]) => Err(method_not_allowed()),
        (_, [.., last]) => Err(unknown_segment(last)),
    }
}

/// The index of the service principal `(value, by_app_id)` names, if visible.
fn find(
    directory: &Directory,
    target: (&str, bool),
    instant: Instant,
) -> Result<usize, GraphError> {
    find_any(directory, target)
        .filter(|&i| instant >= directory.service_principals[i].visible_from)
        .ok_or_else(|| GraphError::not_found("servicePrincipal", target.0))
}

/// The index of the service principal named, replicated or not (a write
/// reaches it even when reads do not see it yet).
fn find_any(directory: &Directory, (value, by_app_id): (&str, bool)) -> Option<usize> {
    directory.service_principals.iter().position(|s| {
        if by_app_id {
            s.app_id.eq_ignore_ascii_case(value)
        } else {
            s.id.eq_ignore_ascii_case(value)
        }
    })
}

fn sp_json(directory: &Directory, sp: &ServicePrincipal) -> serde_json::Value {
    let owned_here = directory
        .applications
        .iter()
        .any(|a| a.home == AppHome::Tenant && a.app_id == sp.app_id);
    serde_json::json!({
        "id": sp.id,
        "appId": sp.app_id,
        "displayName": sp.display_name,
        "appDisplayName": sp.display_name,
        "servicePrincipalType": "Application",
        "accountEnabled": true,
        "appOwnerOrganizationId": if owned_here { directory.tenant_id.as_str() } else { MICROSOFT_TENANT_ID },
        "servicePrincipalNames": sp.service_principal_names,
        "createdDateTime": graph_time(sp.created),
        "appRoles": sp.app_roles.iter().map(|r| serde_json::json!({
            "id": r.id,
            "value": r.value,
            "displayName": r.display_name,
            "description": r.display_name,
            "allowedMemberTypes": ["Application"],
            "isEnabled": true,
        })).collect::<Vec<_>>(),
        "oauth2PermissionScopes": sp.delegated_scopes.iter().map(|s| serde_json::json!({
            "value": s,
            "type": "Admin",
            "isEnabled": true,
        })).collect::<Vec<_>>(),
    })
}

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
    })
}

/// Applications may read their own service principal; delegated callers any.
fn may_read(ctx: &Ctx<'_>, sp: &ServicePrincipal) -> Result<(), GraphError> {
    match &ctx.caller {
        Caller::User { .. } => ctx.authorize(Action::ReadServicePrincipals),
        Caller::App { app_id } if app_id.eq_ignore_ascii_case(&sp.app_id) => Ok(()),
        Caller::App { .. } => Err(GraphError::denied()),
    }
}

fn list(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadServicePrincipals)?;
    let filter = ctx.filter("servicePrincipal", &["appId", "displayName"])?;
    let selected = selected(ctx);
    let items = {
        let directory = ctx.state.directory();
        directory
            .service_principals
            .iter()
            .filter(|s| ctx.instant >= s.visible_from)
            .filter(|s| match &filter {
                None => true,
                Some(f) if f.property().eq_ignore_ascii_case("appId") => f.accepts(&s.app_id),
                Some(f) => f.accepts(&s.display_name),
            })
            .map(|s| (s.seq, project(sp_json(&directory, s), selected.as_deref())))
            .collect()
    };
    ctx.page(items)
}

fn get(ctx: &Ctx<'_>, target: (&str, bool)) -> Result<Response, GraphError> {
    let directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    let sp = &directory.service_principals[index];
    may_read(ctx, sp)?;
    Ok(ok(project(
        sp_json(&directory, sp),
        selected(ctx).as_deref(),
    )))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewServicePrincipal {
    app_id: String,
}

/// The properties of a servicePrincipal the sandbox models for PATCH.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServicePrincipalBody {
    app_id: Option<String>,
    display_name: Option<String>,
}

/// Why a service principal cannot be created for `app_id`. An application that
/// exists but has not replicated yet gets either of the two answers Entra
/// gives in that window, chosen reproducibly (`--fault-seed`).
fn no_application(ctx: &Ctx<'_>, directory: &Directory, app_id: &str) -> GraphError {
    let unreplicated = directory
        .applications
        .iter()
        .any(|a| a.app_id.eq_ignore_ascii_case(app_id));
    if unreplicated && faults::pick(ctx.state, 2) == 1 {
        GraphError::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "When using this permission, the backing application of the service principal being created must in the local tenant",
        )
    } else {
        GraphError::bad_request(format!(
            "The appId '{app_id}' of the service principal does not reference a valid application object."
        ))
    }
}

fn create(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    let body: NewServicePrincipal = ctx.json()?;
    let mut directory = ctx.state.directory();
    ctx.authorize(Action::CreateServicePrincipal)?;
    // Uniqueness holds across replication.
    if find_any(&directory, (&body.app_id, true)).is_some() {
        return Err(GraphError::conflict(format!(
            "The service principal cannot be created, updated, or restored because the service principal name {} is already in use.",
            body.app_id
        )));
    }
    insert(ctx, &mut directory, &body.app_id, None).map(created)
}

/// Creates the service principal of the visible application `app_id`.
fn insert(
    ctx: &Ctx<'_>,
    directory: &mut Directory,
    app_id: &str,
    display_name: Option<String>,
) -> Result<serde_json::Value, GraphError> {
    let Some(app) = directory.application_by_app_id(app_id, ctx.instant) else {
        return Err(no_application(ctx, directory, app_id));
    };
    let app_id = app.app_id.clone();
    let display_name = display_name.unwrap_or_else(|| app.display_name.clone());
    let seq = directory.next_seq();
    let sp = ServicePrincipal {
        id: new_id(),
        seq,
        service_principal_names: vec![app_id.clone()],
        app_id,
        display_name,
        app_roles: Vec::new(),
        delegated_scopes: Vec::new(),
        created: OffsetDateTime::now_utc(),
        visible_from: directory.visible_from_now(),
    };
    let json = sp_json(directory, &sp);
    directory.service_principals.push(sp);
    Ok(json)
}

/// PATCH: an update (204), or with `Prefer: create-if-missing` on
/// `(appId='…')` the creation of a missing service principal (201).
fn patch(ctx: &Ctx<'_>, target: (&str, bool)) -> Result<Response, GraphError> {
    let body: ServicePrincipalBody = ctx.json()?;
    let mut directory = ctx.state.directory();
    // authorization: as POST /servicePrincipals when it creates, else an update.
    ctx.authorize(
        if target.1
            && prefers_create_if_missing(ctx.headers)
            && find_any(&directory, target).is_none()
        {
            Action::CreateServicePrincipal
        } else {
            Action::UpdateServicePrincipal
        },
    )?;
    let (value, by_app_id) = target;
    if let Some(sent) = &body.app_id {
        let current = find_any(&directory, target)
            .map(|i| directory.service_principals[i].app_id.as_str())
            .or(by_app_id.then_some(value));
        if !current.is_some_and(|app_id| app_id.eq_ignore_ascii_case(sent)) {
            return Err(GraphError::bad_request(
                "Property 'appId' of a service principal cannot be changed.",
            ));
        }
    }
    let display_name = match body.display_name {
        Some(name) if name.trim().is_empty() => {
            return Err(GraphError::bad_request(
                "Property 'displayName' cannot be empty.",
            ));
        }
        other => other,
    };
    let index = if by_app_id && prefers_create_if_missing(ctx.headers) {
        match find_any(&directory, target) {
            Some(index) => index,
            None => return insert(ctx, &mut directory, value, display_name).map(created),
        }
    } else {
        find(&directory, target, ctx.instant)?
    };
    if let Some(name) = display_name {
        directory.service_principals[index].display_name = name;
    }
    Ok(no_content())
}

fn list_assignments(ctx: &Ctx<'_>, target: (&str, bool)) -> Result<Response, GraphError> {
    let items = {
        let directory = ctx.state.directory();
        let index = find(&directory, target, ctx.instant)?;
        let sp = &directory.service_principals[index];
        may_read(ctx, sp)?;
        directory
            .assignments
            .iter()
            .filter(|a| a.principal_id == sp.id && ctx.instant >= a.visible_from)
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

fn assign(ctx: &Ctx<'_>, target: (&str, bool)) -> Result<Response, GraphError> {
    let body: NewAssignment = ctx.json()?;
    let mut directory = ctx.state.directory();
    ctx.authorize(Action::GrantAppRoleAssignment)?;
    let index = find(&directory, target, ctx.instant)?;
    let principal_id = directory.service_principals[index].id.clone();
    if !body.principal_id.eq_ignore_ascii_case(&principal_id) {
        return Err(GraphError::bad_request(
            "The principalId must be the service principal the assignment is posted to.",
        ));
    }
    let resource = directory
        .service_principals
        .iter()
        .find(|s| ctx.instant >= s.visible_from && s.id.eq_ignore_ascii_case(&body.resource_id))
        .ok_or_else(|| GraphError::not_found("servicePrincipal", &body.resource_id))?;
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

fn unassign(ctx: &Ctx<'_>, target: (&str, bool), id: &str) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    ctx.authorize(Action::RevokeAppRoleAssignment)?;
    let index = find(&directory, target, ctx.instant)?;
    let principal_id = directory.service_principals[index].id.clone();
    let before = directory.assignments.len();
    directory
        .assignments
        .retain(|a| !(a.principal_id == principal_id && a.id.eq_ignore_ascii_case(id)));
    if directory.assignments.len() == before {
        return Err(GraphError::not_found("appRoleAssignment", id));
    }
    Ok(no_content())
}
