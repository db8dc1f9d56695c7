//! `/applications/{id}/federatedIdentityCredentials`: list, create, get (by
//! id or by its alternate key `(name='…')`) and delete the trusts an
//! application places in tokens of other issuers. Each is a way to sign in
//! as the application, so writing one is a credential update.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/resources/federatedidentitycredential (name: at most 120
//!   characters, URL friendly, immutable, unique in the application; issuer
//!   and subject: at most 600 characters, unique together in the
//!   application; audiences: exactly one value of at most 600 characters;
//!   description: at most 600 characters)
//! - graph/api/application-post-federatedidentitycredentials (201; at most 20
//!   per application), application-list-federatedidentitycredentials,
//!   federatedidentitycredential-get, federatedidentitycredential-delete (204)

use super::{Target, find, find_for_credentials};
use crate::directory::{Application, FederatedCredential, new_id};
use crate::errors::GraphError;
use crate::graph::{Action, Ctx, created, keyed, method_not_allowed, no_content, ok, schema};
use axum::http::Method;
use axum::response::Response;
use serde::Deserialize;

/// The most federated identity credentials an application may hold.
const MAX_PER_APPLICATION: usize = 20;
const MAX_NAME: usize = 120;
const MAX_TEXT: usize = 600;

const FEDERATED_IDENTITY_CREDENTIAL: schema::ComplexType = schema::ComplexType {
    name: "federatedIdentityCredential",
    properties: &[
        schema::modelled("audiences", schema::Shape::Scalars),
        schema::modelled("description", schema::Shape::Scalar),
        schema::computed("id", schema::Shape::Scalar),
        schema::modelled("issuer", schema::Shape::Scalar),
        schema::modelled("name", schema::Shape::Scalar),
        schema::modelled("subject", schema::Shape::Scalar),
    ],
};

#[derive(Deserialize)]
struct NewCredential {
    name: Option<String>,
    issuer: Option<String>,
    subject: Option<String>,
    audiences: Option<Vec<String>>,
    description: Option<String>,
}

pub(super) fn route(
    ctx: &Ctx<'_>,
    method: &Method,
    target: Target<'_>,
    rest: &[&str],
) -> Result<Response, GraphError> {
    match (method, rest) {
        (&Method::GET, []) => list(ctx, target),
        (&Method::POST, []) => create(ctx, target),
        (&Method::GET, [credential]) => get(ctx, target, credential),
        (&Method::DELETE, [credential]) => delete(ctx, target, credential),
        _ => Err(method_not_allowed()),
    }
}

fn credential_json(credential: &FederatedCredential) -> serde_json::Value {
    serde_json::json!({
        "id": credential.id,
        "name": credential.name,
        "issuer": credential.issuer,
        "subject": credential.subject,
        "description": credential.description,
        "audiences": credential.audiences,
    })
}

/// The position of the credential a path segment names: its id, or
/// `federatedIdentityCredentials(name='…')`.
fn position(app: &Application, segment: &str) -> Result<usize, GraphError> {
    let by_name = keyed(segment, "federatedIdentityCredentials", "name");
    app.federated_credentials
        .iter()
        .position(|c| match by_name {
            Some(name) => c.name.eq_ignore_ascii_case(&name.replace("''", "'")),
            None => c.id.eq_ignore_ascii_case(segment),
        })
        .ok_or_else(|| GraphError::not_found("federatedIdentityCredential", segment))
}

/// Reading them is reading the application: never by the application
/// itself without a permission.
fn readable<'d>(
    ctx: &Ctx<'_>,
    directory: &'d crate::directory::Directory,
    target: Target<'_>,
) -> Result<&'d Application, GraphError> {
    let app = &directory.applications[find(directory, target, ctx.instant)?];
    ctx.authorize_owned(Action::ReadApplications, &app.owners)?;
    Ok(app)
}

fn list(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let filter = ctx.filter("federatedIdentityCredential", &["name", "subject"])?;
    let items = {
        let directory = ctx.state.directory();
        readable(ctx, &directory, target)?
            .federated_credentials
            .iter()
            .filter(|c| match &filter {
                None => true,
                Some(f) if f.property().eq_ignore_ascii_case("name") => f.accepts(&c.name),
                Some(f) => f.accepts(&c.subject),
            })
            .map(|c| (c.seq, credential_json(c)))
            .collect()
    };
    ctx.page(items)
}

fn get(ctx: &Ctx<'_>, target: Target<'_>, segment: &str) -> Result<Response, GraphError> {
    let directory = ctx.state.directory();
    let app = readable(ctx, &directory, target)?;
    Ok(ok(credential_json(
        &app.federated_credentials[position(app, segment)?],
    )))
}

/// A required text property of at most `limit` characters.
fn required(value: Option<String>, property: &str, limit: usize) -> Result<String, GraphError> {
    let value = value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| GraphError::bad_request(format!("Property '{property}' is required.")))?;
    within(&value, property, limit)?;
    Ok(value)
}

fn within(value: &str, property: &str, limit: usize) -> Result<(), GraphError> {
    if value.chars().count() > limit {
        return Err(GraphError::bad_request(format!(
            "Property '{property}' of resource 'federatedIdentityCredential' is longer than {limit} characters."
        )));
    }
    Ok(())
}

/// URL friendly: the characters a URL path carries unescaped (RFC 3986's
/// unreserved characters).
fn url_friendly(name: &str) -> bool {
    name.chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~'))
}

fn create(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let body: NewCredential =
        schema::read_body(ctx.body, &FEDERATED_IDENTITY_CREDENTIAL).and_then(|b| b.typed())?;
    let mut directory = ctx.state.directory();
    let index = find_for_credentials(ctx, &directory, target)?;
    let name = required(body.name, "name", MAX_NAME)?;
    if !url_friendly(&name) {
        return Err(GraphError::bad_request(
            "Property 'name' of resource 'federatedIdentityCredential' must be URL friendly: letters, digits, '-', '_', '.' and '~' only.",
        ));
    }
    let issuer = required(body.issuer, "issuer", MAX_TEXT)?;
    let subject = required(body.subject, "subject", MAX_TEXT)?;
    let audiences = body.audiences.unwrap_or_default();
    let [audience] = audiences.as_slice() else {
        return Err(GraphError::bad_request(
            "Property 'audiences' of resource 'federatedIdentityCredential' must hold exactly one value.",
        ));
    };
    within(audience, "audiences", MAX_TEXT)?;
    if let Some(description) = &body.description {
        within(description, "description", MAX_TEXT)?;
    }
    let existing = &directory.applications[index].federated_credentials;
    if existing.len() >= MAX_PER_APPLICATION {
        return Err(GraphError::bad_request(format!(
            "An application may hold at most {MAX_PER_APPLICATION} federated identity credentials."
        )));
    }
    if existing.iter().any(|c| c.name.eq_ignore_ascii_case(&name)) {
        return Err(GraphError::conflict(format!(
            "A federated identity credential named '{name}' already exists on this application."
        )));
    }
    if existing
        .iter()
        .any(|c| c.issuer == issuer && c.subject == subject)
    {
        return Err(GraphError::conflict(
            "A federated identity credential with this issuer and subject already exists on this application.",
        ));
    }
    let seq = directory.next_seq();
    let credential = FederatedCredential {
        id: new_id(),
        seq,
        name,
        issuer,
        subject,
        audiences,
        description: body.description,
    };
    let json = credential_json(&credential);
    directory.applications[index]
        .federated_credentials
        .push(credential);
    Ok(created(json))
}

fn delete(ctx: &Ctx<'_>, target: Target<'_>, segment: &str) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    let index = find_for_credentials(ctx, &directory, target)?;
    let app = &mut directory.applications[index];
    let position = position(app, segment)?;
    app.federated_credentials.remove(position);
    Ok(no_content())
}
