//! What several Graph endpoints share about directory objects: how Graph
//! shows them (users, directory roles, service principals, password
//! credentials; `$select`), and how a path finds a service principal. Kept
//! apart from the endpoints so that they depend on it, not on each other.

use super::{Ctx, graph_time, schema};
use crate::directory::{
    AppHome, Directory, DirectoryRole, PasswordCredential, ServicePrincipal, User,
};
use crate::errors::GraphError;
use axum::http::{HeaderMap, header};
use std::time::Instant;

/// Microsoft's own tenant, which owns the first-party applications.
const MICROSOFT_TENANT_ID: &str = "f8cdef31-a31e-4b4a-93e4-5f571e91255a";

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
pub(super) fn find_any(directory: &Directory, (value, by_app_id): (&str, bool)) -> Option<usize> {
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
        "passwordCredentials": sp.password_credentials.iter().map(|p| password_json(p, false)).collect::<Vec<_>>(),
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

/// A user in Graph's shape: every documented property (the password never),
/// those the sandbox models from the model, the rest as last written.
pub(super) fn user_json(user: &User) -> serde_json::Value {
    let modelled = serde_json::json!({
        "@odata.type": "#microsoft.graph.user",
        "id": user.id,
        "userPrincipalName": user.upn,
        "displayName": user.display_name,
        "mailNickname": user.mail_nickname,
        "accountEnabled": user.account_enabled,
        "createdDateTime": graph_time(user.created),
        "signInSessionsValidFromDateTime": graph_time(user.sessions_valid_from),
    });
    schema::render(&schema::USER, modelled, &user.extra)
}

pub(super) fn role_json(role: &DirectoryRole) -> serde_json::Value {
    serde_json::json!({
        "@odata.type": "#microsoft.graph.directoryRole",
        "id": role.id,
        "displayName": role.display_name,
        "roleTemplateId": role.template_id,
        "description": format!("Members of this role are {}s.", role.display_name),
    })
}

/// A password credential in Graph's shape; `secretText` only in the
/// addPassword answer (`with_secret`).
pub(super) fn password_json(password: &PasswordCredential, with_secret: bool) -> serde_json::Value {
    serde_json::json!({
        "customKeyIdentifier": null,
        "displayName": password.display_name,
        "endDateTime": graph_time(password.end),
        "hint": password.hint(),
        "keyId": password.key_id,
        "secretText": with_secret.then(|| password.secret.clone()),
        "startDateTime": graph_time(password.start),
    })
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
