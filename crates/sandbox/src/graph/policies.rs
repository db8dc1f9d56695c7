//! `/policies/authorizationPolicy`: read and change the tenant's
//! authorization policy. The sandbox enforces
//! `defaultUserRolePermissions.allowedToCreateApps` (may members register
//! applications); every other documented property is kept and returned.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/authorizationpolicy-get (Policy.Read.All; members may read it)
//! - graph/api/authorizationpolicy-update (Policy.ReadWrite.Authorization;
//!   Privileged Role Administrator is the least privileged role)
//! - graph/api/resources/authorizationpolicy, defaultuserrolepermissions

use super::schema::{self, ComplexType, Shape, computed, kept, modelled};
use super::{Action, Ctx, method_not_allowed, no_content, ok, unknown_segment};
use crate::errors::GraphError;
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};

const DEFAULT_USER_ROLE_PERMISSIONS: ComplexType = ComplexType {
    name: "defaultUserRolePermissions",
    properties: &[
        kept("allowedToCreateApps", Shape::Scalar),
        kept("allowedToCreateSecurityGroups", Shape::Scalar),
        kept("allowedToCreateTenants", Shape::Scalar),
        kept("allowedToReadBitlockerKeysForOwnedDevice", Shape::Scalar),
        kept("allowedToReadOtherUsers", Shape::Scalar),
        kept("permissionGrantPoliciesAssigned", Shape::Scalars),
    ],
};

const AUTHORIZATION_POLICY: ComplexType = ComplexType {
    name: "authorizationPolicy",
    properties: &[
        kept("allowedToSignUpEmailBasedSubscriptions", Shape::Scalar),
        kept("allowedToUseSSPR", Shape::Scalar),
        kept("allowEmailVerifiedUsersToJoinOrganization", Shape::Scalar),
        kept("allowInvitesFrom", Shape::Scalar),
        kept("allowUserConsentForRiskyApps", Shape::Scalar),
        kept("blockMsolPowerShell", Shape::Scalar),
        modelled(
            "defaultUserRolePermissions",
            Shape::Object(&DEFAULT_USER_ROLE_PERMISSIONS),
        ),
        computed("deletedDateTime", Shape::Scalar),
        kept("description", Shape::Scalar),
        kept("displayName", Shape::Scalar),
        kept("guestUserRoleId", Shape::Scalar),
        computed("id", Shape::Scalar),
    ],
};

/// A new tenant's policy, as Entra sets it.
fn entra_defaults() -> Value {
    json!({
        "id": "authorizationPolicy",
        "displayName": "Authorization Policy",
        "description": "Used to manage authorization related settings across the company.",
        "allowInvitesFrom": "everyone",
        "allowedToSignUpEmailBasedSubscriptions": true,
        "allowedToUseSSPR": true,
        "allowEmailVerifiedUsersToJoinOrganization": false,
        "allowUserConsentForRiskyApps": false,
        "blockMsolPowerShell": false,
        "guestUserRoleId": "10dae51f-b6af-4016-8d66-8c2a99b929b3",
        "defaultUserRolePermissions": {
            "allowedToCreateApps": true,
            "allowedToCreateSecurityGroups": true,
            "allowedToCreateTenants": true,
            "allowedToReadBitlockerKeysForOwnedDevice": true,
            "allowedToReadOtherUsers": true,
            "permissionGrantPoliciesAssigned": ["ManagePermissionGrantsForSelf.microsoft-user-default-legacy"],
        },
    })
}

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Result<Response, GraphError> {
    match (method, segments) {
        (&Method::GET, ["policies", "authorizationPolicy"]) => get(ctx),
        (&Method::PATCH, ["policies", "authorizationPolicy"]) => update(ctx),
        (_, ["policies", "authorizationPolicy"]) => Err(method_not_allowed()),
        _ => Err(unknown_segment(
            segments.last().copied().unwrap_or_default(),
        )),
    }
}

fn get(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadAuthorizationPolicy)?;
    let directory = ctx.state.directory();
    let policy = &directory.authorization_policy;
    let mut json = entra_defaults();
    if let Value::Object(object) = &mut json {
        object.extend(policy.extra.clone());
    }
    let permissions = &mut json["defaultUserRolePermissions"];
    if let Value::Object(object) = permissions {
        object.extend(policy.user_role_extra.clone());
    }
    permissions["allowedToCreateApps"] = policy.allowed_to_create_apps.into();
    Ok(ok(json))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PolicyBody {
    default_user_role_permissions: Option<Map<String, Value>>,
}

fn update(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    let body = schema::read_body(ctx.body, &AUTHORIZATION_POLICY)?;
    let request: PolicyBody = body.typed()?;
    ctx.authorize(Action::UpdateAuthorizationPolicy)?;
    let mut user_role = request.default_user_role_permissions.unwrap_or_default();
    let allowed_to_create_apps = match user_role.remove("allowedToCreateApps") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(allowed)) => Some(allowed),
        Some(_) => {
            return Err(GraphError::bad_request(
                "Invalid value specified for property 'allowedToCreateApps' of resource 'defaultUserRolePermissions'.",
            ));
        }
    };
    let mut directory = ctx.state.directory();
    let policy = &mut directory.authorization_policy;
    if let Some(allowed) = allowed_to_create_apps {
        policy.allowed_to_create_apps = allowed;
    }
    schema::merge(&mut policy.user_role_extra, user_role);
    schema::merge(&mut policy.extra, body.kept);
    Ok(no_content())
}
