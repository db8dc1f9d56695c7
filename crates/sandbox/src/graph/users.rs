//! `/organization`, `/me`, `/users`, and `transitiveMemberOf` of `/me` or
//! `/users/{id}` (all its directory roles, the sandbox having no groups; with
//! a type cast, only that type), paged like every list.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/user-post-users
//! - graph/api/user-delete
//! - graph/api/user-list-transitivememberof (User.Read for /me; application:
//!   User.Read.All or higher)
//! - graph/api/resources/user (the documented properties: `schema`)

use super::applications::{project, selected};
use super::{
    Action, Caller, Ctx, created, graph_time, method_not_allowed, no_content, ok, schema,
    unknown_segment,
};
use crate::directory::{Directory, DirectoryRole, User, new_id};
use crate::errors::GraphError;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use time::OffsetDateTime;

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Result<Response, GraphError> {
    match (method, segments) {
        (&Method::GET, ["organization"]) => organization(ctx),
        (&Method::GET, ["me"]) => me(ctx),
        (&Method::PATCH, ["me"]) => {
            let user_id = signed_in_user(ctx)?.to_string();
            update(ctx, &user_id)
        }
        (&Method::GET, ["me", "transitiveMemberOf", cast @ ..]) => {
            let user_id = signed_in_user(ctx)?.to_string();
            member_of(ctx, &user_id, cast)
        }
        (&Method::GET, ["users", id, "transitiveMemberOf", cast @ ..]) => {
            let user_id = readable_user(ctx, id)?;
            member_of(ctx, &user_id, cast)
        }
        (&Method::GET, ["users"]) => list(ctx),
        (&Method::POST, ["users"]) => create(ctx),
        (&Method::GET, ["users", id]) => get(ctx, id),
        (&Method::PATCH, ["users", id]) => update(ctx, id),
        (&Method::DELETE, ["users", id]) => delete(ctx, id),
        (&Method::POST, ["me", "revokeSignInSessions"]) => {
            let user_id = signed_in_user(ctx)?.to_string();
            revoke_sessions(ctx, &user_id)
        }
        (&Method::POST, ["users", id, "revokeSignInSessions"]) => revoke_sessions(ctx, id),
        (_, ["organization" | "me" | "users", ..]) if segments.len() <= 2 => {
            Err(method_not_allowed())
        }
        _ => Err(unknown_segment(
            segments.last().copied().unwrap_or_default(),
        )),
    }
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

fn organization(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadOrganization)?;
    let directory = ctx.state.directory();
    let org = serde_json::json!({
        "id": directory.tenant_id,
        "displayName": directory.display_name,
        "createdDateTime": graph_time(directory.created),
        "verifiedDomains": [{
            "name": directory.tenant_domain,
            "isDefault": true,
            "isInitial": true,
            "type": "Managed",
            "capabilities": "Email, OfficeCommunicationsOnline",
        }],
        "onPremisesSyncEnabled": true,
    });
    drop(directory);
    ctx.page(vec![(1, org)])
}

/// `/me` needs a user: 400 for an application, as Graph answers.
fn signed_in_user<'c>(ctx: &'c Ctx<'_>) -> Result<&'c str, GraphError> {
    let Caller::User { user_id, .. } = &ctx.caller else {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "/me request is only valid with delegated authentication flow.",
        ));
    };
    ctx.authorize(Action::ReadSelf)?;
    Ok(user_id)
}

fn me(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    let user_id = signed_in_user(ctx)?;
    let directory = ctx.state.directory();
    let user = directory
        .user(user_id, ctx.instant)
        .ok_or_else(|| GraphError::not_found("user", user_id))?;
    Ok(ok(user_json(user)))
}

/// The object id of the user `id` (object id or UPN), once the caller may
/// read it: the signed-in user themselves by id or UPN (User.Read), anyone
/// else with a read of users (User.ReadBasic.All or more).
fn readable_user(ctx: &Ctx<'_>, id: &str) -> Result<String, GraphError> {
    let directory = ctx.state.directory();
    let user = directory.user(id, ctx.instant);
    if user.is_some_and(|u| ctx.user_id() == Some(u.id.as_str())) {
        ctx.authorize(Action::ReadSelf)?;
    } else {
        ctx.authorize(Action::ReadUsers)?;
    }
    user.map(|u| u.id.clone())
        .ok_or_else(|| GraphError::not_found("user", id))
}

/// What `user_id` is a member of, directly or not: its directory roles (the
/// sandbox has no groups); `cast` keeps one type only.
fn member_of(ctx: &Ctx<'_>, user_id: &str, cast: &[&str]) -> Result<Response, GraphError> {
    let roles = match cast {
        [] | ["microsoft.graph.directoryRole"] => true,
        ["microsoft.graph.group"] => false,
        [.., last] => return Err(unknown_segment(last)),
    };
    let items = {
        let directory = ctx.state.directory();
        directory
            .user_roles(user_id)
            .filter(|_| roles)
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, role_json(r)))
            .collect()
    };
    ctx.page(items)
}

fn list(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadUsers)?;
    let filter = ctx.filter("user", &["userPrincipalName", "displayName"])?;
    let selected = selected(ctx);
    schema::check_select(&schema::USER, selected.as_deref())?;
    let items = {
        let directory = ctx.state.directory();
        directory
            .users
            .iter()
            .filter(|u| ctx.instant >= u.visible_from)
            .filter(|u| match &filter {
                None => true,
                Some(f) if f.property().eq_ignore_ascii_case("userPrincipalName") => {
                    f.accepts(&u.upn)
                }
                Some(f) => f.accepts(&u.display_name),
            })
            .map(|u| (u.seq, project(user_json(u), selected.as_deref())))
            .collect()
    };
    ctx.page(items)
}

fn get(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    let user_id = readable_user(ctx, id)?;
    let selected = selected(ctx);
    schema::check_select(&schema::USER, selected.as_deref())?;
    let directory = ctx.state.directory();
    let user = directory
        .user(&user_id, ctx.instant)
        .ok_or_else(|| GraphError::not_found("user", id))?;
    Ok(ok(project(user_json(user), selected.as_deref())))
}

/// The properties of a user the sandbox models (see `schema::USER`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewUser {
    account_enabled: Option<bool>,
    display_name: Option<String>,
    mail_nickname: Option<String>,
    user_principal_name: Option<String>,
    password_profile: Option<PasswordProfile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PasswordProfile {
    password: Option<String>,
    #[serde(default = "yes")]
    force_change_password_next_sign_in: bool,
}

fn yes() -> bool {
    true
}

/// The tenant's default rule: 8 to 256 characters, three of four character classes.
fn complex_enough(password: &str) -> bool {
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    (8..=256).contains(&password.chars().count()) && classes.iter().filter(|c| **c).count() >= 3
}

fn create(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::CreateUser)?;
    let body = schema::read_body(ctx.body, &schema::USER)?;
    let request: NewUser = body.typed()?;
    let mut directory = ctx.state.directory();
    let missing = |property: &str| {
        GraphError::bad_request(format!(
            "Invalid value specified for property '{property}' of resource 'User'."
        ))
    };
    let upn = request
        .user_principal_name
        .filter(|u| !u.is_empty())
        .ok_or_else(|| missing("userPrincipalName"))?;
    let display_name = request
        .display_name
        .filter(|d| !d.is_empty())
        .ok_or_else(|| missing("displayName"))?;
    let mail_nickname = request
        .mail_nickname
        .filter(|m| !m.is_empty())
        .ok_or_else(|| missing("mailNickname"))?;
    let account_enabled = request
        .account_enabled
        .ok_or_else(|| missing("accountEnabled"))?;
    let profile = request
        .password_profile
        .ok_or_else(|| missing("passwordProfile"))?;
    let password = profile
        .password
        .ok_or_else(|| missing("passwordProfile.password"))?;
    check_upn(&directory, &upn, None)?;
    check_password(&password)?;
    let seq = directory.next_seq();
    let now = OffsetDateTime::now_utc();
    let user = User {
        id: new_id(),
        seq,
        upn,
        display_name,
        mail_nickname,
        password,
        mfa_required: false,
        force_change_password: profile.force_change_password_next_sign_in,
        account_enabled,
        created: now,
        sessions_valid_from: now,
        visible_from: directory.visible_from_now(),
        extra: body.kept,
        sign_in_refusals: ctx.state.config.new_user_sign_in_refusals,
    };
    let body = user_json(&user);
    directory.users.push(user);
    Ok(created(body))
}

/// A userPrincipalName in a verified domain of the tenant, held by no other
/// user than `owner` (replicated or not: uniqueness holds across replication).
fn check_upn(directory: &Directory, upn: &str, owner: Option<&str>) -> Result<(), GraphError> {
    let domain = upn.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    if !domain.eq_ignore_ascii_case(&directory.tenant_domain) {
        return Err(GraphError::bad_request(
            "The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.",
        ));
    }
    if directory
        .users
        .iter()
        .any(|u| u.upn.eq_ignore_ascii_case(upn) && Some(u.id.as_str()) != owner)
    {
        return Err(GraphError::bad_request(
            "Another object with the same value for property userPrincipalName already exists.",
        ));
    }
    Ok(())
}

fn check_password(password: &str) -> Result<(), GraphError> {
    if complex_enough(password) {
        Ok(())
    } else {
        Err(GraphError::bad_request(
            "The specified password does not comply with password complexity requirements. Please provide a different password.",
        ))
    }
}

/// `PATCH /users/{id | userPrincipalName}` (graph/api/user-update): the
/// signed-in user changes themselves (User.ReadWrite); anyone else needs a
/// role that may update users, a higher one for a holder of a privileged
/// role, and Directory.AccessAsUser.All to set a password.
fn update(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    let body = schema::read_body(ctx.body, &schema::USER)?;
    let request: NewUser = body.typed()?;
    let mut directory = ctx.state.directory();
    let user_id = user_to_change(ctx, &directory, id, Action::UpdateSelf, Action::UpdateUser)?;
    if request.password_profile.is_some() && ctx.user_id() != Some(user_id.as_str()) {
        ctx.authorize(Action::ResetPassword)?;
    }
    let invalid = |property: &str| {
        GraphError::bad_request(format!(
            "Invalid value specified for property '{property}' of resource 'User'."
        ))
    };
    // Validate everything before changing anything.
    if let Some(upn) = &request.user_principal_name {
        check_upn(&directory, upn, Some(&user_id))?;
    }
    if request.display_name.as_deref().is_some_and(str::is_empty) {
        return Err(invalid("displayName"));
    }
    if request.mail_nickname.as_deref().is_some_and(str::is_empty) {
        return Err(invalid("mailNickname"));
    }
    if let Some(password) = request
        .password_profile
        .as_ref()
        .and_then(|p| p.password.as_deref())
    {
        check_password(password)?;
    }
    let user = directory
        .user_mut(&user_id, ctx.instant)
        .ok_or_else(|| GraphError::not_found("user", id))?;
    if let Some(upn) = request.user_principal_name {
        user.upn = upn;
    }
    if let Some(name) = request.display_name {
        user.display_name = name;
    }
    if let Some(nickname) = request.mail_nickname {
        user.mail_nickname = nickname;
    }
    if let Some(enabled) = request.account_enabled {
        user.account_enabled = enabled;
    }
    if let Some(profile) = request.password_profile {
        if let Some(password) = profile.password {
            user.password = password;
            // A new password ends the user's sessions (refresh-tokens).
            user.sessions_valid_from = OffsetDateTime::now_utc();
        }
        user.force_change_password = profile.force_change_password_next_sign_in;
    }
    schema::merge(&mut user.extra, body.kept);
    Ok(no_content())
}

/// The id of the user `id` names, once the caller may change them: the
/// signed-in user themselves by `own`, anyone else by `others`, and a holder
/// of a privileged role only by a role that may manage those.
fn user_to_change(
    ctx: &Ctx<'_>,
    directory: &Directory,
    id: &str,
    own: Action,
    others: Action,
) -> Result<String, GraphError> {
    let user_id = directory
        .user(id, ctx.instant)
        .map(|u| u.id.clone())
        .ok_or_else(|| GraphError::not_found("user", id))?;
    if ctx.user_id() == Some(user_id.as_str()) {
        ctx.authorize(own)?;
    } else {
        ctx.authorize(others)?;
        if directory.holds_privileged_role(&user_id) {
            ctx.authorize(Action::UpdatePrivilegedUser)?;
        }
    }
    Ok(user_id)
}

/// `POST /users/{id}/revokeSignInSessions` (graph/api/user-revokesigninsessions):
/// every refresh token issued to the user until now stops working. The
/// signed-in user may revoke their own with the scope; anyone else's needs
/// a role that may update users (a higher one for a holder of a privileged role).
fn revoke_sessions(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    let user_id = user_to_change(
        ctx,
        &directory,
        id,
        Action::RevokeOwnSessions,
        Action::RevokeSessions,
    )?;
    if let Some(user) = directory.user_mut(&user_id, ctx.instant) {
        user.sessions_valid_from = OffsetDateTime::now_utc();
    }
    Ok(ok(serde_json::json!({
        "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Edm.Boolean",
        "value": true,
    })))
}

fn delete(ctx: &Ctx<'_>, id: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::DeleteUser)?;
    let mut directory = ctx.state.directory();
    let user_id = directory
        .user(id, ctx.instant)
        .map(|u| u.id.clone())
        .ok_or_else(|| GraphError::not_found("user", id))?;
    // A User Administrator may not delete holders of a privileged role
    // (administrators, directory synchronization accounts).
    if directory.holds_privileged_role(&user_id) {
        ctx.authorize(Action::DeletePrivilegedUser)?;
    }
    directory.users.retain(|u| u.id != user_id);
    for role in directory.roles.iter_mut() {
        role.members.retain(|m| m != &user_id);
    }
    for app in directory.applications.iter_mut() {
        app.owners.retain(|owner| owner != &user_id);
    }
    Ok(no_content())
}
