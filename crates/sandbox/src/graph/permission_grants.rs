//! `/oauth2PermissionGrants` (list, get, create, update, delete) and
//! `/servicePrincipals/{id}/oauth2PermissionGrants`: Graph's view of the
//! tenant-wide consent the token endpoint already enforces
//! (`Application::delegated_permissions`, `grants::consent`), so one model
//! serves both: a grant Graph lists is what tokens carry, and a grant
//! deleted here is gone from the next token. The sandbox records consent
//! for all users only (consentType `AllPrincipals`, principalId null).
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/resources/oauth2permissiongrant (clientId and resourceId
//!   are service principal ids; scope is space-separated; clientId,
//!   consentType and resourceId support `$filter` eq)
//! - graph/api/oauth2permissiongrant-list, -get, -post (201), -update (204),
//!   -delete (204; existing tokens stay valid, new ones lack the grant)
//! - graph/api/serviceprincipal-list-oauth2permissiongrants (the grants the
//!   service principal holds as a client)

use super::objects::{Target, find};
use super::{Action, Ctx, created, method_not_allowed, no_content, ok, schema, unknown_segment};
use crate::directory::{Directory, ServicePrincipal};
use crate::errors::GraphError;
use crate::grants::grant_consent;
use axum::http::Method;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;

const ALL_PRINCIPALS: &str = "AllPrincipals";

const OAUTH2_PERMISSION_GRANT: schema::ComplexType = schema::ComplexType {
    name: "oAuth2PermissionGrant",
    properties: &[
        schema::modelled("clientId", schema::Shape::Scalar),
        schema::modelled("consentType", schema::Shape::Scalar),
        schema::computed("id", schema::Shape::Scalar),
        schema::modelled("principalId", schema::Shape::Scalar),
        schema::modelled("resourceId", schema::Shape::Scalar),
        schema::modelled("scope", schema::Shape::Scalar),
    ],
};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GrantBody {
    client_id: Option<String>,
    consent_type: Option<String>,
    principal_id: Option<String>,
    resource_id: Option<String>,
    scope: Option<String>,
}

/// One tenant-wide grant: the client's and the resource's service
/// principals and the permissions consented.
struct Grant<'d> {
    client: &'d ServicePrincipal,
    resource: &'d ServicePrincipal,
    scopes: &'d [String],
}

impl Grant<'_> {
    /// Its id: the two service principals' ids, so the one consent map
    /// needs no key of its own.
    fn id(&self) -> String {
        let bytes: Vec<u8> = [&self.client.id, &self.resource.id]
            .iter()
            .filter_map(|id| uuid::Uuid::parse_str(id).ok())
            .flat_map(|id| id.into_bytes())
            .collect();
        URL_SAFE_NO_PAD.encode(bytes)
    }

    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "id": self.id(),
            "clientId": self.client.id,
            "consentType": ALL_PRINCIPALS,
            "principalId": null,
            "resourceId": self.resource.id,
            "scope": self.scopes.join(" "),
        })
    }
}

/// Every grant the directory's consent records, as readers see it.
fn grants<'d>(ctx: &Ctx<'_>, directory: &'d Directory) -> Vec<Grant<'d>> {
    directory
        .applications
        .iter()
        .filter_map(|app| {
            let client = directory.service_principal_by_app_id(&app.app_id, ctx.instant)?;
            Some((app, client))
        })
        .flat_map(|(app, client)| {
            app.delegated_permissions
                .iter()
                .filter(|(_, scopes)| !scopes.is_empty())
                .filter_map(move |(resource_app_id, scopes)| {
                    let resource =
                        directory.service_principal_by_app_id(resource_app_id, ctx.instant)?;
                    Some(Grant {
                        client,
                        resource,
                        scopes,
                    })
                })
        })
        .collect()
}

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Result<Response, GraphError> {
    match (method, segments) {
        (&Method::GET, [_]) => list(ctx, None),
        (&Method::POST, [_]) => create(ctx),
        (&Method::GET, [_, id]) => get(ctx, id),
        (&Method::PATCH, [_, id]) => update(ctx, id),
        (&Method::DELETE, [_, id]) => delete(ctx, id),
        (_, [_] | [_, _]) => Err(method_not_allowed()),
        (_, [.., last]) => Err(unknown_segment(last)),
        (_, []) => Err(unknown_segment("")),
    }
}

/// `GET /servicePrincipals/{id}/oauth2PermissionGrants`.
pub(super) fn list_of_client(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let client_id = {
        let directory = ctx.state.directory();
        directory.service_principals[find(&directory, target, ctx.instant)?]
            .id
            .clone()
    };
    list(ctx, Some(&client_id))
}

fn list(ctx: &Ctx<'_>, client_id: Option<&str>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadPermissionGrants)?;
    let filter = ctx.filter(
        "oAuth2PermissionGrant",
        &["clientId", "consentType", "resourceId"],
    )?;
    let items = {
        let directory = ctx.state.directory();
        grants(ctx, &directory)
            .iter()
            .filter(|g| client_id.is_none_or(|id| g.client.id == id))
            .filter(|g| match &filter {
                None => true,
                Some(f) if f.property().eq_ignore_ascii_case("clientId") => f.accepts(&g.client.id),
                Some(f) if f.property().eq_ignore_ascii_case("resourceId") => {
                    f.accepts(&g.resource.id)
                }
                Some(f) => f.accepts(ALL_PRINCIPALS),
            })
            .enumerate()
            .map(|(i, g)| (i as u64 + 1, g.json()))
            .collect()
    };
    ctx.page(items)
}

/// The grant `id` names, as (client appId, resource appId, its JSON).
fn find_grant(
    ctx: &Ctx<'_>,
    directory: &Directory,
    id: &str,
) -> Result<(String, String, serde_json::Value), GraphError> {
    grants(ctx, directory)
        .iter()
        .find(|g| g.id() == id)
        .map(|g| (g.client.app_id.clone(), g.resource.app_id.clone(), g.json()))
        .ok_or_else(|| GraphError::not_found("oAuth2PermissionGrant", id))
}

fn get(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadPermissionGrants)?;
    let directory = ctx.state.directory();
    Ok(ok(find_grant(ctx, &directory, id)?.2))
}

/// The permissions `scope` names, each one `resource` publishes.
fn checked_scopes(scope: &str, resource: &ServicePrincipal) -> Result<Vec<String>, GraphError> {
    scope
        .split_whitespace()
        .map(|wanted| {
            resource
                .delegated_scopes
                .iter()
                .find(|s| s.eq_ignore_ascii_case(wanted))
                .cloned()
                .ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "Invalid value specified for property 'scope': {} publishes no delegated permission '{wanted}'.",
                        resource.display_name
                    ))
                })
        })
        .collect()
}

/// A visible service principal by object id, as a grant names it.
fn service_principal<'d>(
    ctx: &Ctx<'_>,
    directory: &'d Directory,
    id: Option<&str>,
    property: &str,
) -> Result<&'d ServicePrincipal, GraphError> {
    let id =
        id.ok_or_else(|| GraphError::bad_request(format!("Property '{property}' is required.")))?;
    directory
        .service_principals
        .iter()
        .find(|s| ctx.instant >= s.visible_from && s.id.eq_ignore_ascii_case(id))
        .ok_or_else(|| GraphError::not_found("servicePrincipal", id))
}

fn create(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ManagePermissionGrants)?;
    let body: GrantBody =
        schema::read_body(ctx.body, &OAUTH2_PERMISSION_GRANT).and_then(|b| b.typed())?;
    match body.consent_type.as_deref() {
        Some(ALL_PRINCIPALS) if body.principal_id.is_none() => {}
        Some(ALL_PRINCIPALS) => {
            return Err(GraphError::bad_request(
                "Property 'principalId' must be null when consentType is AllPrincipals.",
            ));
        }
        Some("Principal") => {
            return Err(GraphError::bad_request(
                "The sandbox records consent for all users only (consentType AllPrincipals).",
            ));
        }
        _ => {
            return Err(GraphError::bad_request(
                "Invalid value specified for property 'consentType' of resource 'oAuth2PermissionGrant'.",
            ));
        }
    }
    let mut directory = ctx.state.directory();
    let client = service_principal(ctx, &directory, body.client_id.as_deref(), "clientId")?;
    let resource = service_principal(ctx, &directory, body.resource_id.as_deref(), "resourceId")?;
    let scopes = checked_scopes(body.scope.as_deref().unwrap_or_default(), resource)?;
    let Some(app) = directory
        .applications
        .iter()
        .find(|a| a.app_id.eq_ignore_ascii_case(&client.app_id))
    else {
        return Err(GraphError::bad_request(
            "The client service principal has no application in this sandbox to record consent for.",
        ));
    };
    if app
        .delegated_permissions
        .get(&resource.app_id)
        .is_some_and(|granted| !granted.is_empty())
    {
        return Err(GraphError::conflict(
            "A tenant-wide delegated permission grant for this client and resource already exists; update it instead.",
        ));
    }
    let (client_app_id, resource_app_id) = (client.app_id.clone(), resource.app_id.clone());
    grant_consent(&mut directory, &client_app_id, &resource_app_id, &scopes);
    let json = grants(ctx, &directory)
        .iter()
        .find(|g| g.client.app_id == client_app_id && g.resource.app_id == resource_app_id)
        .map(Grant::json)
        .ok_or_else(|| GraphError::bad_request("The grant could not be recorded."))?;
    Ok(created(json))
}

/// PATCH: a new `scope` replaces the granted permissions.
fn update(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ManagePermissionGrants)?;
    let body: GrantBody =
        schema::read_body(ctx.body, &OAUTH2_PERMISSION_GRANT).and_then(|b| b.typed())?;
    let mut directory = ctx.state.directory();
    let (client_app_id, resource_app_id, _) = find_grant(ctx, &directory, id)?;
    let Some(scope) = body.scope else {
        return Ok(no_content());
    };
    let resource = directory
        .service_principal_by_app_id(&resource_app_id, ctx.instant)
        .ok_or_else(|| GraphError::not_found("oAuth2PermissionGrant", id))?;
    let scopes = checked_scopes(&scope, resource)?;
    set_scopes(&mut directory, &client_app_id, &resource_app_id, scopes);
    Ok(no_content())
}

fn delete(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ManagePermissionGrants)?;
    let mut directory = ctx.state.directory();
    let (client_app_id, resource_app_id, _) = find_grant(ctx, &directory, id)?;
    set_scopes(&mut directory, &client_app_id, &resource_app_id, Vec::new());
    Ok(no_content())
}

/// Replaces what `client_app_id` holds on `resource_app_id` (nothing: the grant is gone).
fn set_scopes(
    directory: &mut Directory,
    client_app_id: &str,
    resource_app_id: &str,
    scopes: Vec<String>,
) {
    if let Some(app) = directory
        .applications
        .iter_mut()
        .find(|a| a.app_id.eq_ignore_ascii_case(client_app_id))
    {
        if scopes.is_empty() {
            app.delegated_permissions.remove(resource_app_id);
        } else {
            app.delegated_permissions
                .insert(resource_app_id.to_string(), scopes);
        }
    }
}
