//! `addKey` and `removeKey`: a key added or removed with a proof of
//! possession signed by one of the application's current keys.

use super::body::{KeyCredentialInput, build_key};
use super::{Target, find, key_json};
use crate::assertion::{self, Expected};
use crate::directory::{Application, Directory};
use crate::errors::GraphError;
use crate::graph::{Action, Caller, Ctx, no_content, ok};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use std::time::Instant;
use time::OffsetDateTime;

/// The audience of an addKey/removeKey proof: the Azure AD Graph appId, as documented.
const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// The longest proof lifetime accepted.
const PROOF_MAX_LIFETIME_SECONDS: i64 = 600;

/// addKey/removeKey: an administrator, or the application itself.
fn may_manage_keys(
    ctx: &Ctx<'_>,
    _directory: &Directory,
    app: &Application,
) -> Result<(), GraphError> {
    match &ctx.caller {
        Caller::App { app_id, .. } if app_id.eq_ignore_ascii_case(&app.app_id) => Ok(()),
        _ => ctx.authorize_owned(Action::UpdateApplicationCredentials, &app.owners),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddKeyBody {
    key_credential: KeyCredentialInput,
    #[serde(default)]
    password_credential: Option<serde_json::Value>,
    proof: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RemoveKeyBody {
    key_id: String,
    proof: String,
}

/// Checks the proof of possession: signed by one of the app's current keys,
/// addressed to Azure AD Graph, issued by the application object, short-lived.
/// Graph refuses a bad proof as an authentication failure (401).
fn verify_proof(app: &Application, proof: &str, instant: Instant) -> Result<(), GraphError> {
    let audiences = [PROOF_AUDIENCE.to_string()];
    let expected = Expected {
        audiences: &audiences,
        issuer: &app.id,
        subject: None,
        max_lifetime: Some(PROOF_MAX_LIFETIME_SECONDS),
        require_jti: false,
    };
    assertion::verify(
        proof,
        &app.key_credentials,
        &expected,
        OffsetDateTime::now_utc(),
        instant,
    )
    .map(|_| ())
    .map_err(|e| {
        GraphError::new(
            StatusCode::UNAUTHORIZED,
            "Authentication_MissingOrMalformed",
            format!("The proof of possession is missing or malformed: {e}."),
        )
    })
}

pub(super) fn add_key(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let body: AddKeyBody = ctx.json()?;
    let mut directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    may_manage_keys(ctx, &directory, &directory.applications[index])?;
    if body.password_credential.is_some_and(|p| !p.is_null()) {
        return Err(GraphError::bad_request(
            "The sandbox supports certificate credentials only.",
        ));
    }
    verify_proof(&directory.applications[index], &body.proof, ctx.instant)?;
    let visible_from = directory.visible_from_now();
    let app = &directory.applications[index];
    let mut input = body.key_credential;
    if input.key_id.as_deref().is_some_and(|id| {
        app.key_credentials
            .iter()
            .any(|k| k.key_id.eq_ignore_ascii_case(id))
    }) {
        return Err(GraphError::bad_request(
            "A key credential with this keyId already exists.",
        ));
    }
    if input.key.as_deref().is_none_or(str::is_empty) {
        input.key_id = None;
    }
    let key = build_key(input, &[], visible_from)?;
    if app
        .key_credentials
        .iter()
        .any(|k| k.certificate.der == key.certificate.der)
    {
        return Err(GraphError::bad_request(
            "This certificate is already a key credential of the application.",
        ));
    }
    let json = key_json(&key, false);
    directory.applications[index].key_credentials.push(key);
    Ok(ok(json))
}

pub(super) fn remove_key(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let body: RemoveKeyBody = ctx.json()?;
    if ctx
        .state
        .config
        .refuse_remove_key
        .load(std::sync::atomic::Ordering::SeqCst)
    {
        return Err(GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "The sandbox refuses removeKey (refuse_remove_key is set).",
        ));
    }
    let mut directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    may_manage_keys(ctx, &directory, &directory.applications[index])?;
    verify_proof(&directory.applications[index], &body.proof, ctx.instant)?;
    let app = &mut directory.applications[index];
    let before = app.key_credentials.len();
    app.key_credentials
        .retain(|k| !k.key_id.eq_ignore_ascii_case(&body.key_id));
    if app.key_credentials.len() == before {
        return Err(GraphError::not_found("keyCredential", &body.key_id));
    }
    Ok(no_content())
}
