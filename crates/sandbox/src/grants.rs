//! What the token endpoint's grants share, in `identity.rs` and `device.rs`:
//! the request form, the tenant, client and resource lookups, scope parsing,
//! consent (a delegated token carries only permissions consented for its
//! client in the tenant: all of them for `/.default`, those asked for
//! otherwise, and AADSTS65001 when any asked for is not) and the claims of a
//! user's token.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - entra/identity-platform/scopes-oidc (explicit scopes and .default)
//! - entra/identity-platform/permissions-consent-overview

use super::AppState;
use super::directory::{
    AppHome, Application, Directory, GRAPH_APP_ID, ServicePrincipal, User, new_id,
};
use super::errors::OAuthError;
use super::tokens::{ACCESS_TOKEN_SECONDS, AccessClaims};
use std::collections::HashMap;
use std::time::Instant;
use time::OffsetDateTime;

/// Scopes that ask for OpenID Connect tokens, not for a resource.
pub(crate) const OIDC_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// What a path's `{tenant}` segment names: this tenant, by id or domain, or
/// one of the authorities a user's sign-in may go through without naming a
/// tenant (`organizations`, `common`), which Entra resolves to the tenant of
/// the user who signs in: here always this one.
pub(crate) struct Authority {
    pub tenant_id: String,
    /// `organizations` or `common`.
    pub multi_tenant: bool,
}

pub(crate) fn resolve_tenant(state: &AppState, segment: &str) -> Result<Authority, OAuthError> {
    let directory = state.directory();
    let multi_tenant = ["organizations", "common"]
        .iter()
        .any(|name| segment.eq_ignore_ascii_case(name));
    if multi_tenant || directory.is_tenant(segment) {
        Ok(Authority {
            tenant_id: directory.tenant_id.clone(),
            multi_tenant,
        })
    } else {
        Err(OAuthError::tenant_not_found(segment))
    }
}

impl Authority {
    /// Refuses a client this authority does not serve: no client
    /// credentials without a tenant (AADSTS50059), and no application of
    /// this tenant's own with a single-tenant audience (AADSTS50194).
    pub(crate) fn admit(&self, state: &AppState, form: &Form) -> Result<(), OAuthError> {
        if !self.multi_tenant {
            return Ok(());
        }
        if form.get("grant_type") == Some("client_credentials") {
            return Err(OAuthError::bad_request(
                "invalid_request",
                50059,
                "No tenant-identifying information found in either the request or implied by any provided credentials.",
            ));
        }
        let directory = state.directory();
        let single_tenant = form
            .get("client_id")
            .and_then(|id| directory.application_by_app_id(id, Instant::now()))
            .filter(|app| app.home == AppHome::Tenant && app.sign_in_audience == "AzureADMyOrg");
        match single_tenant {
            Some(app) => Err(OAuthError::bad_request(
                "invalid_request",
                50194,
                format!(
                    "Application '{}'({}) is not configured as a multi-tenant application. Usage of the /common endpoint is not supported for such applications created after '10/15/2018'. Use a tenant-specific endpoint or configure the application to be multi-tenant.",
                    app.app_id, app.display_name
                ),
            )),
            None => Ok(()),
        }
    }
}

/// The token endpoint's form, read once.
pub(crate) struct Form(pub HashMap<String, String>);

impl Form {
    pub(crate) fn parse(body: &[u8]) -> Self {
        Form(url::form_urlencoded::parse(body).into_owned().collect())
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    pub(crate) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::missing_parameter(name))
    }
}

/// A requested scope: the resource it names and the permissions asked for
/// (empty for `/.default`).
pub(crate) struct ScopeRequest {
    pub resource: String,
    pub permissions: Vec<String>,
    pub default: bool,
}

pub(crate) fn parse_scope(scope: &str) -> Result<ScopeRequest, OAuthError> {
    let invalid = |why: &str| {
        OAuthError::bad_request(
            "invalid_scope",
            70011,
            format!("The provided value for the input parameter 'scope' is not valid. {why}"),
        )
    };
    let mut resource: Option<String> = None;
    let mut permissions = Vec::new();
    let mut default = false;
    for item in scope.split_whitespace() {
        if OIDC_SCOPES.contains(&item.to_ascii_lowercase().as_str()) {
            continue;
        }
        let (res, permission) = match item.rfind('/') {
            Some(at) => (
                item[..at].trim_end_matches('/').to_string(),
                &item[at + 1..],
            ),
            // A bare permission name is a Graph permission, as on the platform.
            None => (GRAPH_APP_ID.to_string(), item),
        };
        if res.is_empty() || permission.is_empty() {
            return Err(invalid(&format!("The scope '{item}' is malformed.")));
        }
        match &resource {
            Some(existing) if !existing.eq_ignore_ascii_case(&res) => {
                return Err(invalid(
                    "Scopes for more than one resource cannot be requested at once.",
                ));
            }
            _ => resource = Some(res),
        }
        if permission == ".default" {
            default = true;
        } else {
            permissions.push(permission.to_string());
        }
    }
    let resource = resource.ok_or_else(|| invalid("No resource scope was requested."))?;
    if default && !permissions.is_empty() {
        return Err(invalid(
            "'.default' cannot be combined with other scopes for the same resource.",
        ));
    }
    Ok(ScopeRequest {
        resource,
        permissions,
        default,
    })
}

/// The client application, or AADSTS700016.
pub(crate) fn known_client<'d>(
    directory: &'d Directory,
    client_id: &str,
    instant: Instant,
) -> Result<&'d Application, OAuthError> {
    directory
        .application_by_app_id(client_id, instant)
        .ok_or_else(|| {
            OAuthError::bad_request(
                "unauthorized_client",
                700016,
                format!(
                    "Application with identifier '{client_id}' was not found in the directory '{}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                    directory.tenant_domain
                ),
            )
        })
}

/// The resource `identifier` names (by appId or service principal name;
/// the sandbox's host names its Graph), or AADSTS500011.
pub(crate) fn find_resource<'d>(
    state: &AppState,
    directory: &'d Directory,
    identifier: &str,
    instant: Instant,
) -> Result<&'d ServicePrincipal, OAuthError> {
    let lookup = match state.is_graph_host(identifier) {
        true => GRAPH_APP_ID,
        false => identifier,
    };
    directory.resource(lookup, instant).ok_or_else(|| {
        OAuthError::bad_request(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {identifier} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant.",
                directory.tenant_domain
            ),
        )
    })
}

/// Checks that every permission an explicit request names exists on
/// `resource` (AADSTS70011 otherwise), whatever has been consented.
pub(crate) fn check_scopes_exist(
    resource: &ServicePrincipal,
    scope: &ScopeRequest,
) -> Result<(), OAuthError> {
    for permission in &scope.permissions {
        if !resource
            .delegated_scopes
            .iter()
            .any(|s| s.eq_ignore_ascii_case(permission))
        {
            return Err(OAuthError::bad_request(
                "invalid_scope",
                70011,
                format!(
                    "The provided value for the input parameter 'scope' is not valid. The scope {permission} does not exist on {}.",
                    resource.display_name
                ),
            ));
        }
    }
    Ok(())
}

/// What the tenant's consent for a client says of one token request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Consent {
    /// Every permission asked for is consented: the token's `scp`. A
    /// `/.default` request gets every permission consented for the resource.
    Granted(Vec<String>),
    /// These are asked for but not consented (none for a `/.default` request
    /// for a resource the client holds nothing on): an interactive consent
    /// would have to add them.
    Missing(Vec<String>),
}

/// The request `scope` against the consent recorded for `client` on `resource`.
pub(crate) fn consent(
    client: &Application,
    resource: &ServicePrincipal,
    scope: &ScopeRequest,
) -> Consent {
    let granted = client
        .delegated_permissions
        .get(&resource.app_id)
        .map(Vec::as_slice)
        .unwrap_or_default();
    if scope.default {
        return if granted.is_empty() {
            Consent::Missing(Vec::new())
        } else {
            Consent::Granted(granted.to_vec())
        };
    }
    // The permission's own spelling, as the resource publishes it.
    let canonical = |permission: &String| {
        resource
            .delegated_scopes
            .iter()
            .find(|s| s.eq_ignore_ascii_case(permission))
            .cloned()
            .unwrap_or_else(|| permission.clone())
    };
    let mut wanted: Vec<String> = Vec::new();
    for permission in scope.permissions.iter().map(canonical) {
        if !wanted.contains(&permission) {
            wanted.push(permission);
        }
    }
    let missing: Vec<String> = wanted
        .iter()
        .filter(|p| !granted.iter().any(|g| g.eq_ignore_ascii_case(p)))
        .cloned()
        .collect();
    if missing.is_empty() {
        Consent::Granted(wanted)
    } else {
        Consent::Missing(missing)
    }
}

/// Records tenant-wide consent of `scopes` for the client `client_app_id` on
/// `resource_app_id`, as an administrator's "consent on behalf of your
/// organization" does.
pub(crate) fn grant_consent(
    directory: &mut Directory,
    client_app_id: &str,
    resource_app_id: &str,
    scopes: &[String],
) {
    let Some(client) = directory
        .applications
        .iter_mut()
        .find(|a| a.app_id.eq_ignore_ascii_case(client_app_id))
    else {
        return;
    };
    let granted = client
        .delegated_permissions
        .entry(resource_app_id.to_string())
        .or_default();
    for scope in scopes {
        if !granted.iter().any(|g| g.eq_ignore_ascii_case(scope)) {
            granted.push(scope.clone());
        }
    }
}

/// AADSTS65001: the client lacks consent for what was asked, and this grant
/// cannot ask the user.
pub(crate) fn consent_required(client: &Application) -> OAuthError {
    OAuthError::bad_request(
        "invalid_grant",
        65001,
        format!(
            "The user or administrator has not consented to use the application with ID '{}' named '{}'. Send an interactive authorization request for this user and resource.",
            client.app_id, client.display_name
        ),
    )
    .with_suberror("consent_required")
}

/// AADSTS90094: the user who signed in may not grant the consent the request needs.
pub(crate) fn admin_consent_required() -> OAuthError {
    OAuthError::bad_request(
        "invalid_grant",
        90094,
        "Admin consent is required for the permissions requested by this application.",
    )
}

/// Claims for `user`'s delegated token for `client` on `resource`, which
/// the client must hold consent for: the grants that issue it (password,
/// device code, refresh) cannot ask the user (AADSTS65001).
pub(crate) fn user_claims(
    directory: &Directory,
    user: &User,
    client: &Application,
    resource: &ServicePrincipal,
    scope: &ScopeRequest,
    issuer: &str,
) -> Result<AccessClaims, OAuthError> {
    let Consent::Granted(permissions) = consent(client, resource, scope) else {
        return Err(consent_required(client));
    };
    let now = OffsetDateTime::now_utc().unix_timestamp();
    Ok(AccessClaims {
        aud: scope.resource.clone(),
        iss: issuer.to_string(),
        iat: now,
        nbf: now,
        exp: now + ACCESS_TOKEN_SECONDS,
        tid: directory.tenant_id.clone(),
        oid: user.id.clone(),
        sub: user.id.clone(),
        azp: client.app_id.clone(),
        appid: client.app_id.clone(),
        idtyp: "user".into(),
        roles: Vec::new(),
        scp: Some(permissions.join(" ")),
        upn: Some(user.upn.clone()),
        name: Some(user.display_name.clone()),
        wids: directory
            .user_roles(&user.id)
            .map(|r| r.template_id.clone())
            .collect(),
        uti: new_id(),
        ver: "2.0".into(),
    })
}

/// A public client, as the password and device code grants need.
pub(crate) fn public_client<'d>(
    directory: &'d Directory,
    form: &Form,
    instant: Instant,
) -> Result<&'d Application, OAuthError> {
    let client_id = form.require("client_id")?;
    let client = known_client(directory, client_id, instant)?;
    if !client.public_client {
        return Err(OAuthError::unauthorized(
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ));
    }
    if form.get("client_assertion").is_some() || form.get("client_secret").is_some() {
        return Err(OAuthError::bad_request(
            "invalid_request",
            700025,
            "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
        ));
    }
    Ok(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(crate::proptest_config(256))]

        #[test]
        fn arbitrary_forms_and_scopes_parse_or_are_refused(
            body in proptest::collection::vec(any::<u8>(), 0..300),
            scope in prop_oneof![".{0,120}", "([a-z0-9./:-]{0,30} ){0,4}"],
        ) {
            let form = Form::parse(&body);
            let _ = form.get("client_id");
            match parse_scope(&scope) {
                // What is accepted names a resource.
                Ok(request) => prop_assert!(!request.resource.is_empty()),
                Err(error) => {
                    prop_assert_eq!(error.status, StatusCode::BAD_REQUEST);
                    prop_assert!(!error.message.is_empty());
                }
            }
        }
    }
}
