//! `/applications`: create, read (by id, `(appId='…')` or
//! `(uniqueName='…')`), list with `$filter` and `$select`, PATCH (an upsert on
//! `(uniqueName='…')` with `Prefer: create-if-missing`), delete, and `addKey` /
//! `removeKey` with their proof-of-possession JWT.
//!
//! As Graph: `keyCredentials[].key` is returned only by a single-object GET
//! whose `$select` names `keyCredentials` (null everywhere else);
//! `customKeyIdentifier` is what the caller sent, or the certificate's SHA-1
//! thumbprint when it sent none; `uniqueName` is set at creation only, unique
//! in the tenant and immutable.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/api/application-upsert (Prefer: create-if-missing, 201/204)
//! - graph/api/application-addkey and application-removekey (proof of possession)
//! - graph/api/resources/keycredential (key returned only with $select)

use super::{
    Action, Caller, Ctx, Filter, created, graph_time, keyed, method_not_allowed, no_content, ok,
    unknown_segment,
};
use crate::assertion::{self, Expected};
use crate::certificate::Certificate;
use crate::directory::{AppHome, Application, Directory, KeyCredential, new_id};
use crate::errors::GraphError;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Instant;
use time::OffsetDateTime;

/// The audience of an addKey/removeKey proof: the Azure AD Graph appId, as documented.
const PROOF_AUDIENCE: &str = "00000002-0000-0000-c000-000000000000";
/// The longest proof lifetime accepted.
const PROOF_MAX_LIFETIME_SECONDS: i64 = 600;

pub fn route(ctx: &Ctx<'_>, method: &Method, segments: &[&str]) -> Result<Response, GraphError> {
    if segments == ["applications"] {
        return match *method {
            Method::GET => list(ctx),
            Method::POST => create(ctx),
            _ => Err(method_not_allowed()),
        };
    }
    let (target, rest) = match segments {
        ["applications", id, rest @ ..] => (Target::Id(id), rest),
        [first, rest @ ..] => {
            if let Some(app_id) = keyed(first, "applications", "appId") {
                (Target::AppId(app_id), rest)
            } else if let Some(name) = keyed(first, "applications", "uniqueName") {
                (Target::UniqueName(name), rest)
            } else {
                return Err(unknown_segment(first));
            }
        }
        [] => return Err(unknown_segment("")),
    };
    match (method, rest) {
        (&Method::GET, []) => get(ctx, target),
        (&Method::PATCH, []) => patch(ctx, target),
        (&Method::DELETE, []) => delete(ctx, target),
        (&Method::POST, ["addKey"]) => add_key(ctx, target),
        (&Method::POST, ["removeKey"]) => remove_key(ctx, target),
        (_, [] | ["addKey"] | ["removeKey"]) => Err(method_not_allowed()),
        (_, [.., last]) => Err(unknown_segment(last)),
    }
}

#[derive(Clone, Copy)]
enum Target<'a> {
    Id(&'a str),
    AppId(&'a str),
    /// As written in the URL (an OData literal, `''` for a quote).
    UniqueName(&'a str),
}

impl Target<'_> {
    fn text(self) -> String {
        match self {
            Target::Id(value) | Target::AppId(value) => value.to_string(),
            Target::UniqueName(value) => value.replace("''", "'"),
        }
    }
}

/// The index of the tenant application `target` names, if visible.
fn find(directory: &Directory, target: Target<'_>, instant: Instant) -> Result<usize, GraphError> {
    find_any(directory, target)
        .filter(|&i| instant >= directory.applications[i].visible_from)
        .ok_or_else(|| GraphError::not_found("application", &target.text()))
}

/// The index of the tenant application `target` names, replicated or not (a
/// write reaches it even when reads do not see it yet).
fn find_any(directory: &Directory, target: Target<'_>) -> Option<usize> {
    let wanted = target.text();
    let by_unique_name = match target {
        Target::UniqueName(_) => unique_name_owner(directory, &wanted),
        _ => None,
    };
    directory.applications.iter().position(|a| {
        a.home == AppHome::Tenant
            && match target {
                Target::Id(_) => a.id.eq_ignore_ascii_case(&wanted),
                Target::AppId(_) => a.app_id.eq_ignore_ascii_case(&wanted),
                Target::UniqueName(_) => by_unique_name == Some(a.id.as_str()),
            }
    })
}

/// The object id of the application holding `unique_name` (case-insensitive).
fn unique_name_owner<'d>(directory: &'d Directory, unique_name: &str) -> Option<&'d str> {
    directory
        .unique_names
        .iter()
        .find(|(_, name)| name.eq_ignore_ascii_case(unique_name))
        .map(|(id, _)| id.as_str())
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

/// A keyCredential in Graph's shape; `key` only when `with_key` (a
/// single-object GET with `$select=keyCredentials`).
fn key_json(key: &KeyCredential, with_key: bool) -> serde_json::Value {
    serde_json::json!({
        "keyId": key.key_id,
        "type": "AsymmetricX509Cert",
        "usage": "Verify",
        "displayName": key.display_name.clone().unwrap_or_else(|| key.certificate.subject.clone()),
        // Edm.Binary, as Graph returns it: base64.
        "customKeyIdentifier": STANDARD.encode(&key.custom_key_identifier),
        "key": with_key.then(|| STANDARD.encode(&key.certificate.der)),
        "startDateTime": graph_time(key.start),
        "endDateTime": graph_time(key.end),
    })
}

fn application_json(
    directory: &Directory,
    app: &Application,
    with_keys: bool,
) -> serde_json::Value {
    serde_json::json!({
        "id": app.id,
        "appId": app.app_id,
        "uniqueName": directory.unique_names.get(&app.id),
        "displayName": app.display_name,
        "signInAudience": app.sign_in_audience,
        "publisherDomain": directory.tenant_domain,
        "createdDateTime": graph_time(app.created),
        "isFallbackPublicClient": app.public_client,
        "keyCredentials": app.key_credentials.iter().map(|k| key_json(k, with_keys)).collect::<Vec<_>>(),
        "passwordCredentials": [],
        "requiredResourceAccess": app.required_resource_access,
        "appRoles": [],
    })
}

/// Applications may read only themselves; delegated callers may read any.
fn may_read(ctx: &Ctx<'_>, app: &Application) -> Result<(), GraphError> {
    match &ctx.caller {
        Caller::User { .. } => ctx.authorize(Action::ReadApplications),
        Caller::App { app_id } if app_id.eq_ignore_ascii_case(&app.app_id) => Ok(()),
        Caller::App { .. } => Err(GraphError::denied()),
    }
}

/// addKey/removeKey: an administrator, or the application itself.
fn may_manage_keys(
    ctx: &Ctx<'_>,
    _directory: &Directory,
    app: &Application,
) -> Result<(), GraphError> {
    match &ctx.caller {
        Caller::App { app_id } if app_id.eq_ignore_ascii_case(&app.app_id) => Ok(()),
        _ => ctx.authorize(Action::UpdateApplicationCredentials),
    }
}

fn list(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    ctx.authorize(Action::ReadApplications)?;
    let filter = ctx.filter("application", &["appId", "displayName", "uniqueName"])?;
    let selected = selected(ctx);
    let items = {
        let directory = ctx.state.directory();
        directory
            .applications
            .iter()
            .filter(|a| a.home == AppHome::Tenant && ctx.instant >= a.visible_from)
            .filter(|a| match &filter {
                None => true,
                Some(f @ Filter::Eq(p, _)) if p.eq_ignore_ascii_case("appId") => {
                    f.accepts(&a.app_id)
                }
                Some(Filter::StartsWith(p, _)) if p.eq_ignore_ascii_case("appId") => false,
                Some(f) if f.property().eq_ignore_ascii_case("uniqueName") => directory
                    .unique_names
                    .get(&a.id)
                    .is_some_and(|name| f.accepts(name)),
                Some(f) => f.accepts(&a.display_name),
            })
            .map(|a| {
                let json = application_json(&directory, a, false);
                (a.seq, project(json, selected.as_deref()))
            })
            .collect()
    };
    ctx.page(items)
}

fn get(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let directory = ctx.state.directory();
    let index = find(&directory, target, ctx.instant)?;
    let app = &directory.applications[index];
    may_read(ctx, app)?;
    let selected = selected(ctx);
    let with_keys = selected
        .iter()
        .flatten()
        .any(|p| p.eq_ignore_ascii_case("keyCredentials"));
    let json = application_json(&directory, app, with_keys);
    Ok(ok(project(json, selected.as_deref())))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ApplicationBody {
    unique_name: Option<String>,
    display_name: Option<String>,
    sign_in_audience: Option<String>,
    key_credentials: Option<Vec<KeyCredentialInput>>,
    required_resource_access: Option<Vec<RequiredResourceAccess>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyCredentialInput {
    key_id: Option<String>,
    key: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    usage: Option<String>,
    display_name: Option<String>,
    start_date_time: Option<String>,
    end_date_time: Option<String>,
    custom_key_identifier: Option<String>,
}

#[derive(Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RequiredResourceAccess {
    resource_app_id: String,
    resource_access: Vec<ResourceAccess>,
}

#[derive(Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct ResourceAccess {
    id: String,
    #[serde(rename = "type")]
    kind: String,
}

const SIGN_IN_AUDIENCES: &[&str] = &[
    "AzureADMyOrg",
    "AzureADMultipleOrgs",
    "AzureADandPersonalMicrosoftAccount",
    "PersonalMicrosoftAccount",
];

fn validate_audience(audience: &str) -> Result<(), GraphError> {
    if SIGN_IN_AUDIENCES.contains(&audience) {
        Ok(())
    } else {
        Err(GraphError::bad_request(format!(
            "Invalid value specified for property 'signInAudience' of resource 'Application': {audience}"
        )))
    }
}

fn resource_access_json(
    entries: Vec<RequiredResourceAccess>,
) -> Result<Vec<serde_json::Value>, GraphError> {
    for entry in &entries {
        if uuid::Uuid::parse_str(&entry.resource_app_id).is_err() {
            return Err(GraphError::bad_request(format!(
                "Invalid value specified for property 'resourceAppId': {}",
                entry.resource_app_id
            )));
        }
        for access in &entry.resource_access {
            if uuid::Uuid::parse_str(&access.id).is_err()
                || !matches!(access.kind.as_str(), "Role" | "Scope")
            {
                return Err(GraphError::bad_request(
                    "Invalid value specified for property 'resourceAccess' of resource 'RequiredResourceAccess'.",
                ));
            }
        }
    }
    entries
        .into_iter()
        .map(|e| serde_json::to_value(e).map_err(|e| GraphError::bad_request(e.to_string())))
        .collect()
}

fn parse_date(text: Option<&str>, property: &str) -> Result<Option<OffsetDateTime>, GraphError> {
    text.map(|t| {
        OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).map_err(|_| {
            GraphError::bad_request(format!(
                "Invalid value specified for property '{property}' of resource 'KeyCredential'."
            ))
        })
    })
    .transpose()
}

/// A keyCredential from its Graph form. An entry without `key` keeps the
/// existing key with that keyId (as Graph's GET may omit it).
fn build_key(
    input: KeyCredentialInput,
    existing: &[KeyCredential],
    visible_from: Instant,
) -> Result<KeyCredential, GraphError> {
    let Some(key) = input.key.filter(|k| !k.is_empty()) else {
        let key_id = input.key_id.unwrap_or_default();
        return existing
            .iter()
            .find(|k| k.key_id.eq_ignore_ascii_case(&key_id))
            .cloned()
            .ok_or_else(|| {
                GraphError::bad_request("Property 'key' is required for a new key credential.")
            });
    };
    if input.kind.as_deref() != Some("AsymmetricX509Cert") {
        return Err(GraphError::bad_request(
            "Invalid value specified for property 'type' of resource 'KeyCredential'; only AsymmetricX509Cert is supported.",
        ));
    }
    if input.usage.as_deref() != Some("Verify") {
        return Err(GraphError::bad_request(
            "Invalid value specified for property 'usage' of resource 'KeyCredential'; a certificate credential has usage Verify.",
        ));
    }
    let der = STANDARD.decode(key.trim()).map_err(|_| {
        GraphError::bad_request("Property 'key' of resource 'KeyCredential' is not valid base64.")
    })?;
    let certificate = Certificate::from_der(&der).map_err(|e| {
        GraphError::bad_request(format!(
            "Key credential 'key' is not a valid X.509 certificate: {e}"
        ))
    })?;
    if certificate.key_algorithm != "RSA" {
        return Err(GraphError::bad_request(
            "Key credential 'key' must hold an RSA public key.",
        ));
    }
    let start = parse_date(input.start_date_time.as_deref(), "startDateTime")?
        .unwrap_or(certificate.not_before);
    let end =
        parse_date(input.end_date_time.as_deref(), "endDateTime")?.unwrap_or(certificate.not_after);
    let slack = time::Duration::seconds(1);
    if end <= start {
        return Err(GraphError::bad_request(
            "Key credential end date must be after its start date.",
        ));
    }
    if end > certificate.not_after + slack || start + slack < certificate.not_before {
        return Err(GraphError::bad_request(
            "Key credential start and end dates must lie within the certificate's validity period.",
        ));
    }
    let custom_key_identifier = match input.custom_key_identifier.as_deref() {
        Some(sent) => decode_binary(sent).ok_or_else(|| {
            GraphError::bad_request(
                "Invalid value specified for property 'customKeyIdentifier' of resource 'KeyCredential'.",
            )
        })?,
        // Graph's default: the certificate's SHA-1 thumbprint.
        None => hex::decode(&certificate.thumbprint).unwrap_or_default(),
    };
    let key_id = match input.key_id {
        Some(id) => uuid::Uuid::parse_str(&id)
            .map_err(|_| GraphError::bad_request("Invalid value specified for property 'keyId'."))?
            .to_string(),
        None => new_id(),
    };
    // A resubmitted existing key keeps its replication time.
    let visible_from = existing
        .iter()
        .find(|k| k.key_id == key_id && k.certificate.der == certificate.der)
        .map_or(visible_from, |k| k.visible_from);
    Ok(KeyCredential {
        key_id,
        display_name: input.display_name,
        custom_key_identifier,
        certificate,
        start,
        end,
        visible_from,
    })
}

fn build_keys(
    inputs: Vec<KeyCredentialInput>,
    existing: &[KeyCredential],
    visible_from: Instant,
) -> Result<Vec<KeyCredential>, GraphError> {
    let keys = inputs
        .into_iter()
        .map(|input| build_key(input, existing, visible_from))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, key) in keys.iter().enumerate() {
        for other in &keys[i + 1..] {
            if key.key_id == other.key_id || key.certificate.der == other.certificate.der {
                return Err(GraphError::bad_request(
                    "Key credentials must be unique: two entries have the same keyId or the same certificate.",
                ));
            }
        }
    }
    Ok(keys)
}

/// An Edm.Binary value as JSON carries it: base64 (base64url accepted too).
fn decode_binary(text: &str) -> Option<Vec<u8>> {
    let text = text.trim();
    STANDARD
        .decode(text)
        .or_else(|_| URL_SAFE.decode(text))
        .or_else(|_| URL_SAFE_NO_PAD.decode(text))
        .ok()
}

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

fn create(ctx: &Ctx<'_>) -> Result<Response, GraphError> {
    let body: ApplicationBody = ctx.json()?;
    let mut directory = ctx.state.directory();
    ctx.authorize(Action::CreateApplication)?;
    let unique_name = body.unique_name.clone();
    insert(&mut directory, body, unique_name).map(created)
}

/// Creates a tenant application from `body` (validated first; nothing changes
/// on a refusal) and returns its Graph form.
fn insert(
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
fn patch(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let body: ApplicationBody = ctx.json()?;
    let mut directory = ctx.state.directory();
    // authorization: as POST /applications when it creates, as PATCH when it updates.
    ctx.authorize(match target {
        Target::UniqueName(_)
            if prefers_create_if_missing(ctx.headers) && find_any(&directory, target).is_none() =>
        {
            Action::CreateApplication
        }
        _ => Action::update_application(body.key_credentials.is_some()),
    })?;
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
                    return insert(&mut directory, body, Some(name)).map(created);
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
    Ok(())
}

fn delete(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
    let mut directory = ctx.state.directory();
    ctx.authorize(Action::DeleteApplication)?;
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
    Ok(no_content())
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

fn add_key(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
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

fn remove_key(ctx: &Ctx<'_>, target: Target<'_>) -> Result<Response, GraphError> {
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
