//! The owners of an application or a service principal: `…/owners` (list),
//! `…/owners/$ref` (add a user or a service principal by reference) and
//! `…/owners/{id}/$ref` (remove one). An owner may add any credential to
//! what it owns, so who may change owners is checked as strictly as
//! credentials are.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/application-list-owners, application-post-owners,
//!   application-delete-owners (owners are users, the application's own
//!   service principal or another service principal; 204 on a change)
//! - graph/api/serviceprincipal-list-owners, serviceprincipal-post-owners,
//!   serviceprincipal-delete-owners

use super::{Action, Ctx, method_not_allowed, no_content, referenced_id};
use crate::directory::Directory;
use crate::errors::GraphError;
use axum::http::Method;
use axum::response::Response;

/// The object whose owners a request addresses, by its index in the directory.
#[derive(Debug, Clone, Copy)]
pub(super) enum Owned {
    Application(usize),
    ServicePrincipal(usize),
}

impl Owned {
    pub(super) fn owners(self, directory: &Directory) -> &[String] {
        match self {
            Owned::Application(i) => &directory.applications[i].owners,
            Owned::ServicePrincipal(i) => &directory.service_principals[i].owners,
        }
    }

    fn owners_mut(self, directory: &mut Directory) -> &mut Vec<String> {
        match self {
            Owned::Application(i) => &mut directory.applications[i].owners,
            Owned::ServicePrincipal(i) => &mut directory.service_principals[i].owners,
        }
    }

    /// What reading its owners needs: reading the object (owners of an
    /// application may read it; an application reads its own object only,
    /// never its owners without a permission).
    fn read_action(self) -> Action {
        match self {
            Owned::Application(_) => Action::ReadApplications,
            Owned::ServicePrincipal(_) => Action::ReadServicePrincipals,
        }
    }
}

/// `rest`: what follows `owners` in the path.
pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    rest: &[&str],
    find: impl Fn(&Directory) -> Result<Owned, GraphError>,
) -> Result<Response, GraphError> {
    match (method, rest) {
        (&Method::GET, []) => list(ctx, find),
        (&Method::POST, ["$ref"]) => add(ctx, find),
        (&Method::DELETE, [owner, "$ref"]) => remove(ctx, find, owner),
        _ => Err(method_not_allowed()),
    }
}

fn list(
    ctx: &Ctx<'_>,
    find: impl Fn(&Directory) -> Result<Owned, GraphError>,
) -> Result<Response, GraphError> {
    let items = {
        let directory = ctx.state.directory();
        let owned = find(&directory)?;
        let owners = owned.owners(&directory);
        ctx.authorize_owned(owned.read_action(), owners)?;
        owners
            .iter()
            .filter_map(|owner| {
                if let Some(user) = directory.users.iter().find(|u| &u.id == owner) {
                    return Some((user.seq, super::objects::user_json(user)));
                }
                let sp = directory
                    .service_principals
                    .iter()
                    .find(|s| &s.id == owner)?;
                Some((sp.seq, super::objects::sp_json(&directory, sp)))
            })
            .collect()
    };
    ctx.page(items)
}

fn add(
    ctx: &Ctx<'_>,
    find: impl Fn(&Directory) -> Result<Owned, GraphError>,
) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    let owned = find(&directory)?;
    ctx.authorize_owned(Action::AddOwner, owned.owners(&directory))?;
    let wanted = referenced_id(ctx)?;
    // A user or a service principal, as the pages say owners are.
    let owner = directory
        .user(&wanted, ctx.instant)
        .map(|u| u.id.clone())
        .or_else(|| {
            directory
                .service_principals
                .iter()
                .find(|s| ctx.instant >= s.visible_from && s.id.eq_ignore_ascii_case(&wanted))
                .map(|s| s.id.clone())
        })
        .ok_or_else(|| GraphError::not_found("directoryObject", &wanted))?;
    let owners = owned.owners_mut(&mut directory);
    if owners.contains(&owner) {
        return Err(GraphError::bad_request(
            "One or more added object references already exist for the following modified properties: 'owners'.",
        ));
    }
    owners.push(owner);
    Ok(no_content())
}

fn remove(
    ctx: &Ctx<'_>,
    find: impl Fn(&Directory) -> Result<Owned, GraphError>,
    owner: &str,
) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    let owned = find(&directory)?;
    ctx.authorize_owned(Action::RemoveOwner, owned.owners(&directory))?;
    let owners = owned.owners_mut(&mut directory);
    let before = owners.len();
    owners.retain(|o| !o.eq_ignore_ascii_case(owner));
    if owners.len() == before {
        return Err(GraphError::not_found("directoryObject", owner));
    }
    Ok(no_content())
}
