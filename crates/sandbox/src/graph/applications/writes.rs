//! Creating, changing (PATCH, with its upsert) and deleting applications.

use super::body::{ApplicationBody, build_keys, resource_access_json, validate_audience};
use super::{
    Target, application_json, find, find_any, prefers_create_if_missing, unique_name_owner,
};
use crate::directory::{AppHome, Application, Directory, new_id};
use crate::errors::GraphError;
use crate::graph::{Action, Ctx, created, no_content, schema};
use axum::response::Response;
use std::collections::BTreeMap;
use time::OffsetDateTime;

fn unique_name_taken() -> GraphError {
    GraphError::bad_request(
        "Another object with the same value for property uniqueName already exists.",
    )
}

fn unique_name_immutable() -> GraphError {
    GraphError::bad_request(
        "Property 'uniqueName' is immutable: it can be set only when the application is created.",
    )
}

pub(super) fn create(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    let body = ApplicationBody::read(ctx.body)?;
    let mut directory = ctx.state.directory();
    ctx.authorize(Action::CreateApplication)?;
    let unique_name = body.unique_name.clone();
    insert(ctx, &mut directory, body, unique_name).map(created)
}

/// Creates a tenant application from `body` (validated first; nothing changes
/// on a refusal) and returns its Graph form. A creator allowed only as
/// owners are (a user under the tenant's default permissions, an
/// Application Developer, an application holding OwnedBy) owns it.
fn insert(
    ctx: &Ctx<'_>,
    directory: &mut Directory,
    body: ApplicationBody,
    unique_name: Option<String>,
) -> Result<serde_json::Value, GraphError> {
    let display_name = body
        .display_name
        .filter(|d| !d.trim().is_empty())
        .ok_or_else(|| GraphError::bad_request("Property 'displayName' is required."))?;
    if let Some(name) = &unique_name {
        if name.trim().is_empty() {
            return Err(GraphError::bad_request(
                "Invalid value specified for property 'uniqueName' of resource 'Application'.",
            ));
        }
        // Unique across replication: the write sees every object.
        if unique_name_owner(directory, name).is_some() {
            return Err(unique_name_taken());
        }
    }
    let sign_in_audience = body
        .sign_in_audience
        .unwrap_or_else(|| "AzureADMyOrg".into());
    validate_audience(&sign_in_audience)?;
    let visible_from = directory.visible_from_now();
    let key_credentials = build_keys(body.key_credentials.unwrap_or_default(), &[], visible_from)?;
    let required_resource_access =
        resource_access_json(body.required_resource_access.unwrap_or_default())?;
    let seq = directory.next_seq();
    let app = Application {
        id: new_id(),
        seq,
        app_id: new_id(),
        display_name,
        sign_in_audience,
        home: AppHome::Tenant,
        public_client: false,
        key_credentials,
        required_resource_access,
        delegated_permissions: BTreeMap::new(),
        owners: ctx.caller.owner_of_creation().into_iter().collect(),
        extra: body.kept,
        created: OffsetDateTime::now_utc(),
        visible_from,
    };
    if let Some(name) = unique_name {
        directory.unique_names.insert(app.id.clone(), name);
    }
    let json = application_json(directory, &app, false);
    directory.applications.push(app);
    Ok(json)
}

/// PATCH: an update (204), or with `Prefer: create-if-missing` on
/// `(uniqueName='…')` the creation of a missing application (201).
pub(super) fn patch(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let body = ApplicationBody::read(ctx.body)?;
    let mut directory = ctx.state.directory();
    // authorization: as POST /applications when it creates, as PATCH when it updates.
    match target {
        Target::UniqueName(_)
            if prefers_create_if_missing(ctx.headers) && find_any(&directory, target).is_none() =>
        {
            ctx.authorize(Action::CreateApplication)?;
        }
        _ => {
            let owners = find_any(&directory, target)
                .map(|i| directory.applications[i].owners.as_slice())
                .unwrap_or_default();
            ctx.authorize_owned(
                Action::update_application(body.key_credentials.is_some()),
                owners,
            )?;
        }
    }
    let index = match target {
        Target::UniqueName(_) if prefers_create_if_missing(ctx.headers) => {
            match find_any(&directory, target) {
                Some(index) => index,
                None => {
                    let name = target.text();
                    if body
                        .unique_name
                        .as_deref()
                        .is_some_and(|sent| !sent.eq_ignore_ascii_case(&name))
                    {
                        return Err(unique_name_immutable());
                    }
                    return insert(ctx, &mut directory, body, Some(name)).map(created);
                }
            }
        }
        _ => find(&directory, target, ctx.instant)?,
    };
    update(&mut directory, index, body)?;
    Ok(no_content())
}

/// Applies `body` to the application at `index`, all or nothing.
fn update(
    directory: &mut Directory,
    index: usize,
    body: ApplicationBody,
) -> Result<(), GraphError> {
    let visible_from = directory.visible_from_now();
    // Validate everything before changing anything.
    if let Some(sent) = &body.unique_name {
        let current = directory
            .unique_names
            .get(&directory.applications[index].id);
        if !current.is_some_and(|name| name.eq_ignore_ascii_case(sent)) {
            return Err(unique_name_immutable());
        }
    }
    let keys = match body.key_credentials {
        Some(inputs) => Some(build_keys(
            inputs,
            &directory.applications[index].key_credentials,
            visible_from,
        )?),
        None => None,
    };
    let access = body
        .required_resource_access
        .map(resource_access_json)
        .transpose()?;
    if let Some(audience) = &body.sign_in_audience {
        validate_audience(audience)?;
    }
    if body
        .display_name
        .as_deref()
        .is_some_and(|d| d.trim().is_empty())
    {
        return Err(GraphError::bad_request(
            "Property 'displayName' cannot be empty.",
        ));
    }
    let app = &mut directory.applications[index];
    if let Some(keys) = keys {
        app.key_credentials = keys;
    }
    if let Some(access) = access {
        app.required_resource_access = access;
    }
    if let Some(audience) = body.sign_in_audience {
        app.sign_in_audience = audience;
    }
    if let Some(name) = body.display_name {
        app.display_name = name;
    }
    schema::merge(&mut app.extra, body.kept);
    // Its service principal publishes the app roles it defines.
    let (app_id, app_roles) = (app.app_id.clone(), app.defined_app_roles());
    for sp in directory
        .service_principals
        .iter_mut()
        .filter(|s| s.app_id == app_id)
    {
        sp.app_roles = app_roles.clone();
    }
    Ok(())
}

pub(super) fn delete(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    let owners = find_any(&directory, target)
        .map(|i| directory.applications[i].owners.clone())
        .unwrap_or_default();
    ctx.authorize_owned(Action::DeleteApplication, &owners)?;
    let index = find(&directory, target, ctx.instant)?;
    let app = directory.applications.remove(index);
    directory.unique_names.remove(&app.id);
    // Deleting an application deletes its service principal in the home tenant.
    let principals: Vec<String> = directory
        .service_principals
        .iter()
        .filter(|s| s.app_id == app.app_id)
        .map(|s| s.id.clone())
        .collect();
    directory
        .service_principals
        .retain(|s| s.app_id != app.app_id);
    directory
        .assignments
        .retain(|a| !principals.contains(&a.principal_id) && !principals.contains(&a.resource_id));
    for other in directory.applications.iter_mut() {
        other.owners.retain(|owner| !principals.contains(owner));
    }
    Ok(no_content())
}
