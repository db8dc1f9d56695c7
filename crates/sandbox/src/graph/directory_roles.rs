//! `/directoryRoles`, addressed by id or by `(roleTemplateId='…')`, with
//! `members` and `members/$ref`.

use super::objects::{role_json, user_json};
use super::{Action, Ctx, keyed, method_not_allowed, no_content, referenced_id, unknown_segment};
use crate::directory::Directory;
use crate::errors::GraphError;
use axum::http::Method;
use axum::response::Response;

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    segments: &[&str],
) -> Result<Response, GraphError> {
    match (method, segments) {
        (&Method::GET, ["directoryRoles"]) => list(ctx),
        (&Method::GET, [role]) => get(ctx, role),
        (&Method::GET, [role, "members"]) => members(ctx, role),
        (&Method::POST, [role, "members", "$ref"]) => add_member(ctx, role),
        (&Method::DELETE, [role, "members", member, "$ref"]) => remove_member(ctx, role, member),
        (_, [_] | [_, "members"] | [_, "members", ..]) => Err(method_not_allowed()),
        _ => Err(unknown_segment(
            segments.last().copied().unwrap_or_default(),
        )),
    }
}

/// The index of the role a segment names: `directoryRoles(roleTemplateId='…')` or `directoryRoles/{id}`.
fn find_role(directory: &Directory, segment: &str) -> Result<usize, GraphError> {
    let found = if let Some(template) = keyed(segment, "directoryRoles", "roleTemplateId") {
        directory
            .roles
            .iter()
            .position(|r| r.template_id.eq_ignore_ascii_case(template))
    } else {
        return Err(unknown_segment(segment));
    };
    found.ok_or_else(|| GraphError::not_found("directoryRole", segment))
}

fn list(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadDirectoryRoles)?;
    let items = {
        let directory = ctx.state.directory();
        directory
            .roles
            .iter()
            .enumerate()
            .map(|(i, r)| (i as u64 + 1, role_json(r)))
            .collect()
    };
    ctx.page(items)
}

fn get(ctx: &Ctx<'_>, segment: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadDirectoryRoles)?;
    let directory = ctx.state.directory();
    let index = find_role(&directory, segment)?;
    Ok(super::ok(role_json(&directory.roles[index])))
}

fn members(ctx: &Ctx<'_>, segment: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadDirectoryRoles)?;
    let items = {
        let directory = ctx.state.directory();
        let index = find_role(&directory, segment)?;
        directory.roles[index]
            .members
            .iter()
            .filter_map(|m| directory.user(m, ctx.instant))
            .map(|u| (u.seq, user_json(u)))
            .collect()
    };
    ctx.page(items)
}

fn add_member(ctx: &Ctx<'_>, segment: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ManageDirectoryRoleMembers)?;
    let member_id = referenced_id(ctx)?;
    let mut directory = ctx.state.directory();
    let index = find_role(&directory, segment)?;
    let user_id = directory
        .user(&member_id, ctx.instant)
        .map(|u| u.id.clone())
        .ok_or_else(|| GraphError::not_found("directoryObject", &member_id))?;
    let role = &mut directory.roles[index];
    if role.members.contains(&user_id) {
        return Err(GraphError::bad_request(
            "One or more added object references already exist for the following modified properties: 'members'.",
        ));
    }
    role.members.push(user_id);
    Ok(no_content())
}

fn remove_member(ctx: &Ctx<'_>, segment: &str, member: &str) -> Result<Response, GraphError> {
    ctx.authorize(Action::ManageDirectoryRoleMembers)?;
    let mut directory = ctx.state.directory();
    let index = find_role(&directory, segment)?;
    let role = &mut directory.roles[index];
    let before = role.members.len();
    role.members.retain(|m| !m.eq_ignore_ascii_case(member));
    if role.members.len() == before {
        return Err(GraphError::not_found("directoryObject", member));
    }
    Ok(no_content())
}
