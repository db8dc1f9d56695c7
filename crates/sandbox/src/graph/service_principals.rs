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
use super::objects::{
    Target, find, find_any, prefers_create_if_missing, project, selected, sp_json,
};
use super::owners::{self, Owned};
use super::passwords;
use super::{
    Action, Ctx, created, keyed, method_not_allowed, no_content, ok, schema, unknown_segment,
};
use crate::directory::{AppHome, Directory, ServicePrincipal, new_id};
use crate::errors::GraphError;
use crate::faults;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

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
        (&Method::POST, [action @ ("addPassword" | "removePassword")]) => {
            passwords::change(ctx, action, |directory| {
                find(directory, target, ctx.instant).map(Owned::ServicePrincipal)
            })
        }
        (_, ["owners", rest @ ..]) => owners::route(ctx, method, rest, |directory| {
            find(directory, target, ctx.instant).map(Owned::ServicePrincipal)
        }),
        (&Method::GET, ["oauth2PermissionGrants"]) => {
            super::permission_grants::list_of_client(ctx, target)
        }
        (_, [name, rest @ ..]) if side(name).is_some() => {
            let side = side(name).unwrap_or(Side::Principal);
            match (method, rest) {
                (&Method::GET, []) => assignments::list(ctx, target, side),
                (&Method::POST, []) => assignments::grant(ctx, target, side),
                (&Method::DELETE, [id]) => assignments::revoke(ctx, target, side, id),
                _ => Err(method_not_allowed()),
            }
        }
        (_, [] | ["addPassword"] | ["removePassword"] | ["oauth2PermissionGrants"]) => {
            Err(method_not_allowed())
        }
        (_, [.., last]) => Err(unknown_segment(last)),
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
    // Not even its own, for an application without a permission: Graph
    // documents no such read (issue 21).
    ctx.authorize(Action::ReadServicePrincipals)?;
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
        password_credentials: Vec::new(),
        owners: Vec::new(),
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
