//! `/applications`: create, read (by id, `(appId='…')` or
//! `(uniqueName='…')`), list with `$filter` and `$select`, PATCH (an upsert on
//! `(uniqueName='…')` with `Prefer: create-if-missing`), delete, `addKey` /
//! `removeKey` with their proof-of-possession JWT, and its `owners`.
//!
//! As Graph: `keyCredentials[].key` is returned only by a single-object GET
//! whose `$select` names `keyCredentials` (null everywhere else);
//! `customKeyIdentifier` is what the caller sent, or the certificate's SHA-1
//! thumbprint when it sent none; `uniqueName` is set at creation only, unique
//! in the tenant and immutable.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/application-upsert (Prefer: create-if-missing, 201/204)
//! - graph/api/application-addkey and application-removekey (proof of possession)
//! - graph/api/resources/keycredential (key returned only with $select)

mod body;
mod keys;
mod writes;

use super::{
    Action, Caller, Ctx, Filter, graph_time, keyed, method_not_allowed, ok, schema, unknown_segment,
};
use crate::directory::{AppHome, Application, Directory, KeyCredential};
use crate::errors::GraphError;
use axum::http::{HeaderMap, Method, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use keys::{add_key, remove_key};
use std::time::Instant;
use writes::{create, delete, patch};

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Result<Response, GraphError> {
    if segments == ["applications"] {
        return match *method {
            Method::GET => list(ctx),
            Method::POST => create(ctx),
            _ => Err(method_not_allowed()),
        };
    }
    let (target, rest) = match segments {
        ["applications", id, rest @ ..] => (Target::Id(id), rest),
        [first, rest @ ..] => {
            if let Some(app_id) = keyed(first, "applications", "appId") {
                (Target::AppId(app_id), rest)
            } else if let Some(name) = keyed(first, "applications", "uniqueName") {
                (Target::UniqueName(name), rest)
            } else {
                return Err(unknown_segment(first));
            }
        }
        [] => return Err(unknown_segment("")),
    };
    match (method, rest) {
        (&Method::GET, []) => get(ctx, target),
        (&Method::PATCH, []) => patch(ctx, target),
        (&Method::DELETE, []) => delete(ctx, target),
        (&Method::POST, ["addKey"]) => add_key(ctx, target),
        (&Method::POST, ["removeKey"]) => remove_key(ctx, target),
        (&Method::GET, ["owners"]) => owners(ctx, target),
        (_, [] | ["addKey"] | ["removeKey"] | ["owners"]) => Err(method_not_allowed()),
        (_, [.., last]) => Err(unknown_segment(last)),
    }
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Id(&'a str),
    AppId(&'a str),
    /// As written in the URL (an OData literal, `''` for a quote).
    UniqueName(&'a str),
}

impl Target<'_> {
    fn text(self) -> String {
        match self {
            Target::Id(value) | Target::AppId(value) => value.to_string(),
            Target::UniqueName(value) => value.replace("''", "'"),
        }
    }
}

/// The index of the tenant application `target` names, if visible.
fn find(directory: &Directory, target: Target<'_>, instant: Instant) -> Result<usize, GraphError> {
    find_any(directory, target)
        .filter(|&i| instant >= directory.applications[i].visible_from)
        .ok_or_else(|| GraphError::not_found("application", &target.text()))
}

/// The index of the tenant application `target` names, replicated or not (a
/// write reaches it even when reads do not see it yet).
fn find_any(directory: &Directory, target: Target<'_>) -> Option<usize> {
    let wanted = target.text();
    let by_unique_name = match target {
        Target::UniqueName(_) => unique_name_owner(directory, &wanted),
        _ => None,
    };
    directory.applications.iter().position(|a| {
        a.home == AppHome::Tenant
            && match target {
                Target::Id(_) => a.id.eq_ignore_ascii_case(&wanted),
                Target::AppId(_) => a.app_id.eq_ignore_ascii_case(&wanted),
                Target::UniqueName(_) => by_unique_name == Some(a.id.as_str()),
            }
    })
}

/// The object id of the application holding `unique_name` (case-insensitive).
fn unique_name_owner<'d>(directory: &'d Directory, unique_name: &str) -> Option<&'d str> {
    directory
        .unique_names
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(unique_name))
        .map(|(id, _)| id.as_str())
}

/// Whether the request carries `Prefer: create-if-missing` (among other
/// preferences, in any case).
pub(super) fn prefers_create_if_missing(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::HeaderName::from_static("prefer"))
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|preference| preference.split(';').next().unwrap_or_default().trim())
        .any(|preference| preference.eq_ignore_ascii_case("create-if-missing"))
}

/// The properties `$select` names, if it is given.
pub(super) fn selected(ctx: &Ctx<'_>) -> Option<Vec<String>> {
    ctx.query.get("$select").map(|list| {
        list.split(',')
            .map(|p| p.trim().to_string())
            .filter(|p| !p.is_empty())
            .collect()
    })
}

/// `object` reduced to the `$select`ed properties, as Graph answers.
pub(super) fn project(object: serde_json::Value, selected: Option<&[String]>) -> serde_json::Value {
    match (object, selected) {
        (serde_json::Value::Object(map), Some(selected)) => map
            .into_iter()
            .filter(|(name, _)| selected.iter().any(|s| s.eq_ignore_ascii_case(name)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        (object, _) => object,
    }
}

/// A keyCredential in Graph's shape; `key` only when `with_key` (a
/// single-object GET with `$select=keyCredentials`).
fn key_json(key: &KeyCredential, with_key: bool) -> serde_json::Value {
    serde_json::json!({
        "keyId": key.key_id,
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "displayName": key.display_name.clone().unwrap_or_else(|| key.certificate.subject.clone()),
        // Edm.Binary, as Graph returns it: base64.
        "customKeyIdentifier": STANDARD.encode(&key.custom_key_identifier),
        "key": with_key.then(|| STANDARD.encode(&key.certificate.der)),
        "startDateTime": graph_time(key.start),
        "endDateTime": graph_time(key.end),
    })
}

/// An application in Graph's shape: every documented property, those the
/// sandbox models from the model, the rest as last written.
fn application_json(
    directory: &Directory,
    app: &Application,
    with_keys: bool,
) -> serde_json::Value {
    let modelled = serde_json::json!({
        "id": app.id,
        "appId": app.app_id,
        "uniqueName": directory.unique_names.get(&app.id),
        "displayName": app.display_name,
        "signInAudience": app.sign_in_audience,
        "publisherDomain": directory.tenant_domain,
        "createdDateTime": graph_time(app.created),
        "isFallbackPublicClient": app.public_client,
        "keyCredentials": app.key_credentials.iter().map(|k| key_json(k, with_keys)).collect::<Vec<_>>(),
        "passwordCredentials": [],
        "requiredResourceAccess": app.required_resource_access,
    });
    schema::render(&schema::APPLICATION, modelled, &app.extra)
}

/// An application may always read itself (its own credentials included);
/// anyone else as [`Action::ReadApplications`] allows.
fn may_read(ctx: &Ctx<'_>, app: &Application) -> Result<(), GraphError> {
    match &ctx.caller {
        Caller::App { app_id, .. } if app_id.eq_ignore_ascii_case(&app.app_id) => Ok(()),
        _ => ctx.authorize_owned(Action::ReadApplications, &app.owners),
    }
}

fn list(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadApplications)?;
    let filter = ctx.filter("application", &["appId", "displayName", "uniqueName"])?;
    let selected = selected(ctx);
    schema::check_select(&schema::APPLICATION, selected.as_deref())?;
    let items = {
        let directory = ctx.state.directory();
        directory
            .applications
            .iter()
            .filter(|a| a.home == AppHome::Tenant && ctx.instant >= a.visible_from)
            .filter(|a| match &filter {
                None => true,
                Some(f @ Filter::Eq(p, _)) if p.eq_ignore_ascii_case("appId") => {
                    f.accepts(&a.app_id)
                }
                Some(Filter::StartsWith(p, _)) if p.eq_ignore_ascii_case("appId") => false,
                Some(f) if f.property().eq_ignore_ascii_case("uniqueName") => directory
                    .unique_names
                    .get(&a.id)
                    .is_some_and(|name| f.accepts(name)),
                Some(f) => f.accepts(&a.display_name),
            })
            .map(|a| {
                let json = application_json(&directory, a, false);
                (a.seq, project(json, selected.as_deref()))
            })
            .collect()
    };
    ctx.page(items)
}

/// `GET /applications/{id}/owners` (graph/api/application-list-owners): the
/// users and service principals that own it.
fn owners(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let items = {
        let directory = ctx.state.directory();
        let index = find(&directory, target, ctx.instant)?;
        let app = &directory.applications[index];
        may_read(ctx, app)?;
        app.owners
            .iter()
            .filter_map(|owner| {
                if let Some(user) = directory.users.iter().find(|u| &u.id == owner) {
                    return Some((user.seq, super::users::user_json(user)));
                }
                let sp = directory
                    .service_principals
                    .iter()
                    .find(|s| &s.id == owner)?;
                Some((sp.seq, super::service_principals::sp_json(&directory, sp)))
            })
            .collect()
    };
    ctx.page(items)
}

fn get(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    let app = &directory.applications[index];
    may_read(ctx, app)?;
    let selected = selected(ctx);
    schema::check_select(&schema::APPLICATION, selected.as_deref())?;
    let with_keys = selected
        .iter()
        .flatten()
        .any(|p| p.eq_ignore_ascii_case("keyCredentials"));
    let json = application_json(&directory, app, with_keys);
    Ok(ok(project(json, selected.as_deref())))
}
