//! `/servicePrincipals`: create for an appId, read by id or `(appId='…')`,
//! list with `$filter`, PATCH (an upsert on `(appId='…')` with
//! `Prefer: create-if-missing`), and their app role assignments from either
//! side (`appRoleAssignments`, `appRoleAssignedTo`: see `app_role_assignments`).
//!
//! Replication, as Entra shows it: a service principal cannot be created for an
//! application that has not replicated yet (one of Entra's two answers, picked
//! reproducibly from the fault RNG), and a new app role assignment is invisible
//! to reads and to tokens until it replicates.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/serviceprincipal-upsert
//! - graph/api/serviceprincipal-post-serviceprincipals
//! - graph/api/resources/serviceprincipal (the documented properties: `schema`)

use super::app_role_assignments::{self as assignments, Side};
use super::applications::{prefers_create_if_missing, project, selected};
use super::{
    Action, Caller, Ctx, created, graph_time, keyed, method_not_allowed, no_content, ok, schema,
    unknown_segment,
};
use crate::directory::{AppHome, Directory, ServicePrincipal, new_id};
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
    let side = |name: &str| match name {
        "appRoleAssignments" => Some(Side::Principal),
        "appRoleAssignedTo" => Some(Side::Resource),
        _ => None,
    };
    match (method, rest) {
        (&Method::GET, []) => get(ctx, target),
        (&Method::PATCH, []) => patch(ctx, target),
        (_, [name, rest @ ..]) if side(name).is_some() => {
            let side = side(name).unwrap_or(Side::Principal);
            match (method, rest) {
                (&Method::GET, []) => assignments::list(ctx, target, side),
                (&Method::POST, []) => assignments::grant(ctx, target, side),
                (&Method::DELETE, [id]) => assignments::revoke(ctx, target, side, id),
                _ => Err(method_not_allowed()),
            }
        }
        (_, []) => Err(method_not_allowed()),
        (_, [.., last]) => Err(unknown_segment(last)),
    }
}

/// A service principal as a path names it: `(object id, false)` or `(appId, true)`.
pub(super) type Target<'a> = (&'a str, bool);

/// The index of the service principal `(value, by_app_id)` names, if visible.
pub(super) fn find(
    directory: &Directory,
    target: Target<'_>,
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

/// A service principal in Graph's shape: every documented property, those
/// the sandbox models from the model, the rest as last written.
pub(super) fn sp_json(directory: &Directory, sp: &ServicePrincipal) -> serde_json::Value {
    let owned_here = directory
        .applications
        .iter()
        .any(|a| a.home == AppHome::Tenant && a.app_id == sp.app_id);
    let modelled = serde_json::json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
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
    });
    schema::render(&schema::SERVICE_PRINCIPAL, modelled, &sp.extra)
}

/// An application may always read its own service principal; anyone else
/// as [`Action::ReadServicePrincipals`] allows.
pub(super) fn may_read(ctx: &Ctx<'_>, sp: &ServicePrincipal) -> Result<(), GraphError> {
    match &ctx.caller {
        Caller::App { app_id, .. } if app_id.eq_ignore_ascii_case(&sp.app_id) => Ok(()),
        _ => ctx.authorize(Action::ReadServicePrincipals),
    }
}

/// The owners of the tenant application `app_id` (who may create and
/// update its service principal as owners).
fn application_owners(directory: &Directory, app_id: &str) -> Vec<String> {
    directory
        .applications
        .iter()
        .find(|a| a.home == AppHome::Tenant && a.app_id.eq_ignore_ascii_case(app_id))
        .map(|a| a.owners.clone())
        .unwrap_or_default()
}

fn list(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadServicePrincipals)?;
    let filter = ctx.filter("servicePrincipal", &["appId", "displayName"])?;
    let selected = selected(ctx);
    schema::check_select(&schema::SERVICE_PRINCIPAL, selected.as_deref())?;
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

fn get(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    let sp = &directory.service_principals[index];
    may_read(ctx, sp)?;
    let selected = selected(ctx);
    schema::check_select(&schema::SERVICE_PRINCIPAL, selected.as_deref())?;
    Ok(ok(project(sp_json(&directory, sp), selected.as_deref())))
}

/// The properties of a servicePrincipal the sandbox models (see
/// `schema::SERVICE_PRINCIPAL`), and the other documented ones as sent.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ServicePrincipalBody {
    app_id: Option<String>,
    display_name: Option<String>,
    #[serde(skip)]
    kept: serde_json::Map<String, serde_json::Value>,
}

impl ServicePrincipalBody {
    fn read(bytes: &[u8]) -> Result<ServicePrincipalBody, GraphError> {
        let read = schema::read_body(bytes, &schema::SERVICE_PRINCIPAL)?;
        let mut body: ServicePrincipalBody = read.typed()?;
        body.kept = read.kept;
        Ok(body)
    }
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
    let body = ServicePrincipalBody::read(ctx.body)?;
    let app_id = body
        .app_id
        .clone()
        .ok_or_else(|| GraphError::bad_request("Property 'appId' is required."))?;
    let mut directory = ctx.state.directory();
    ctx.authorize_owned(
        Action::CreateServicePrincipal,
        &application_owners(&directory, &app_id),
    )?;
    // Uniqueness holds across replication.
    if find_any(&directory, (&app_id, true)).is_some() {
        return Err(GraphError::conflict(format!(
            "The service principal cannot be created, updated, or restored because the service principal name {app_id} is already in use."
        )));
    }
    insert(ctx, &mut directory, &app_id, body).map(created)
}

/// Creates the service principal of the visible application `app_id`.
fn insert(
    ctx: &Ctx<'_>,
    directory: &mut Directory,
    app_id: &str,
    body: ServicePrincipalBody,
) -> Result<serde_json::Value, GraphError> {
    let Some(app) = directory.application_by_app_id(app_id, ctx.instant) else {
        return Err(no_application(ctx, directory, app_id));
    };
    let app_id = app.app_id.clone();
    let app_roles = app.defined_app_roles();
    let display_name = body
        .display_name
        .filter(|name| !name.trim().is_empty())
        .unwrap_or_else(|| app.display_name.clone());
    let seq = directory.next_seq();
    let sp = ServicePrincipal {
        id: new_id(),
        seq,
        service_principal_names: vec![app_id.clone()],
        app_id,
        display_name,
        app_roles,
        delegated_scopes: Vec::new(),
        extra: body.kept,
        created: OffsetDateTime::now_utc(),
        visible_from: directory.visible_from_now(),
    };
    let json = sp_json(directory, &sp);
    directory.service_principals.push(sp);
    Ok(json)
}

/// PATCH: an update (204), or with `Prefer: create-if-missing` on
/// `(appId='…')` the creation of a missing service principal (201).
fn patch(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let body = ServicePrincipalBody::read(ctx.body)?;
    let mut directory = ctx.state.directory();
    let (value, by_app_id) = target;
    let existing = find_any(&directory, target);
    let app_id = existing.map_or(value, |i| directory.service_principals[i].app_id.as_str());
    // authorization: as POST /servicePrincipals when it creates, else an update.
    ctx.authorize_owned(
        if by_app_id && prefers_create_if_missing(ctx.headers) && existing.is_none() {
            Action::CreateServicePrincipal
        } else {
            Action::UpdateServicePrincipal
        },
        &application_owners(&directory, app_id),
    )?;
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
    if body
        .display_name
        .as_deref()
        .is_some_and(|name| name.trim().is_empty())
    {
        return Err(GraphError::bad_request(
            "Property 'displayName' cannot be empty.",
        ));
    }
    let index = if by_app_id && prefers_create_if_missing(ctx.headers) {
        match existing {
            Some(index) => index,
            None => return insert(ctx, &mut directory, value, body).map(created),
        }
    } else {
        find(&directory, target, ctx.instant)?
    };
    let sp = &mut directory.service_principals[index];
    if let Some(name) = body.display_name {
        sp.display_name = name;
    }
    schema::merge(&mut sp.extra, body.kept);
    Ok(no_content())
}
