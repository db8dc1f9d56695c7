//! The Microsoft Graph v1.0 subset at `/v1.0/...`. Every request carries a
//! sandbox access token for Graph; delegated writes need Hybrid Identity
//! Administrator or Global Administrator, and app-only tokens may only read
//! their own application and add or remove its keys.
//!
//! Graph addresses objects with OData segments such as
//! `applications(appId='…')`, which a path router cannot split, so this module
//! dispatches on the decoded segments itself.

mod applications;
mod directory_roles;
mod service_principals;
mod users;

use super::AppState;
use super::directory::{Directory, GRAPH_APP_ID, GRAPH_URI};
use super::errors::GraphError;
use super::tokens::AccessClaims;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use serde::de::DeserializeOwned;
use std::collections::HashMap;
use std::time::Instant;

pub fn routes() -> Router<AppState> {
    Router::new().route("/v1.0/{*path}", any(dispatch))
}

/// Who is calling, from the access token.
#[derive(Debug, Clone)]
pub enum Caller {
    User { user_id: String },
    App { app_id: String },
}

/// One Graph request, decoded.
pub struct Ctx<'a> {
    pub state: &'a AppState,
    pub caller: Caller,
    pub graph_url: String,
    pub path: &'a str,
    pub query: &'a HashMap<String, String>,
    pub body: &'a [u8],
    pub instant: Instant,
}

impl Ctx<'_> {
    /// Delegated callers holding an administrator role may write.
    pub fn require_admin(&self, directory: &Directory) -> Result<(), GraphError> {
        match &self.caller {
            Caller::User { user_id } if directory.user_is_admin(user_id) => Ok(()),
            _ => Err(GraphError::denied()),
        }
    }

    /// Delegated callers may read the directory; applications may not (they
    /// hold no Graph permissions in the sandbox).
    pub fn require_delegated(&self) -> Result<&str, GraphError> {
        match &self.caller {
            Caller::User { user_id } => Ok(user_id),
            Caller::App { .. } => Err(GraphError::denied()),
        }
    }

    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GraphError> {
        serde_json::from_slice(self.body).map_err(|e| {
            GraphError::bad_request(format!(
                "The request body is not valid JSON for this operation: {e}"
            ))
        })
    }

    /// One page of `items` (already filtered, each with its creation sequence
    /// number), and a nextLink when more follow.
    pub fn page(&self, items: Vec<(u64, serde_json::Value)>) -> Result<Response, GraphError> {
        let page_size = match self.query.get("$top") {
            Some(top) => top
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=999).contains(n))
                .ok_or_else(|| {
                    GraphError::bad_request(format!(
                        "Invalid page size specified: '{top}'. Must be between 1 and 999 inclusive."
                    ))
                })?,
            None => self.state.config.page_size.max(1),
        };
        let after = match self.query.get("$skiptoken") {
            Some(token) => token
                .parse::<u64>()
                .map_err(|_| GraphError::bad_request("The $skiptoken is not valid."))?,
            None => 0,
        };
        let mut remaining: Vec<(u64, serde_json::Value)> =
            items.into_iter().filter(|(seq, _)| *seq > after).collect();
        remaining.sort_by_key(|(seq, _)| *seq);
        let more = remaining.len() > page_size;
        remaining.truncate(page_size);
        let mut body = serde_json::json!({
            "@odata.context": format!("{}/$metadata#{}", self.graph_url, self.path),
        });
        if more && let Some((last, _)) = remaining.last() {
            let mut query = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in self.query {
                if name != "$skiptoken" {
                    query.append_pair(name, value);
                }
            }
            query.append_pair("$skiptoken", &last.to_string());
            body["@odata.nextLink"] =
                format!("{}/{}?{}", self.graph_url, self.path, query.finish()).into();
        }
        body["value"] = remaining.into_iter().map(|(_, v)| v).collect();
        Ok(ok(body))
    }

    pub fn filter(&self, resource: &str, supported: &[&str]) -> Result<Option<Filter>, GraphError> {
        let Some(text) = self.query.get("$filter") else {
            return Ok(None);
        };
        let filter = Filter::parse(text)
            .ok_or_else(|| GraphError::bad_request(format!("Invalid filter clause: {text}")))?;
        if !supported
            .iter()
            .any(|p| p.eq_ignore_ascii_case(filter.property()))
        {
            return Err(GraphError::bad_request(format!(
                "Unsupported or invalid query filter clause specified for property '{}' of resource '{resource}'.",
                filter.property()
            )));
        }
        Ok(Some(filter))
    }
}

/// The two filter forms the tool uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Filter {
    Eq(String, String),
    StartsWith(String, String),
}

impl Filter {
    fn parse(text: &str) -> Option<Filter> {
        let text = text.trim();
        let literal = |s: &str| -> Option<String> {
            let s = s.trim();
            let inner = s.strip_prefix('\'')?.strip_suffix('\'')?;
            Some(inner.replace("''", "'"))
        };
        if let Some(rest) = text.strip_prefix("startswith(") {
            let inner = rest.strip_suffix(')')?;
            let (property, value) = inner.split_once(',')?;
            return Some(Filter::StartsWith(
                property.trim().to_string(),
                literal(value)?,
            ));
        }
        let (property, value) = text.split_once(" eq ")?;
        Some(Filter::Eq(property.trim().to_string(), literal(value)?))
    }

    pub fn property(&self) -> &str {
        match self {
            Filter::Eq(p, _) | Filter::StartsWith(p, _) => p,
        }
    }

    /// Whether `value` of the filtered property passes (case-insensitive, as Graph).
    pub fn accepts(&self, value: &str) -> bool {
        match self {
            Filter::Eq(_, wanted) => value.eq_ignore_ascii_case(wanted),
            Filter::StartsWith(_, prefix) => value
                .to_ascii_lowercase()
                .starts_with(&prefix.to_ascii_lowercase()),
        }
    }
}

pub fn ok(body: serde_json::Value) -> Response {
    (StatusCode::OK, axum::Json(body)).into_response()
}

pub fn created(body: serde_json::Value) -> Response {
    (StatusCode::CREATED, axum::Json(body)).into_response()
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `name(key='value')` -> value.
pub fn keyed<'s>(segment: &'s str, name: &str, key: &str) -> Option<&'s str> {
    segment
        .strip_prefix(name)?
        .strip_prefix('(')?
        .strip_prefix(key)?
        .strip_prefix("='")?
        .strip_suffix("')")
}

fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    instant: Instant,
) -> Result<Caller, GraphError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| GraphError::unauthenticated("Access token is empty."))?;
    let claims: AccessClaims = state
        .signer
        .validate(
            token,
            &[GRAPH_URI, "https://graph.microsoft.com/", GRAPH_APP_ID],
        )
        .map_err(GraphError::unauthenticated)?;
    let directory = state.directory();
    if claims.tid != directory.tenant_id {
        return Err(GraphError::unauthenticated(
            "The token was issued for another tenant.",
        ));
    }
    match claims.idtyp.as_str() {
        "user" => {
            let user = directory.user(&claims.oid, instant).ok_or_else(|| {
                GraphError::unauthenticated("The user in the token no longer exists.")
            })?;
            Ok(Caller::User {
                user_id: user.id.clone(),
            })
        }
        _ => Ok(Caller::App {
            app_id: claims.appid,
        }),
    }
}

async fn dispatch(
    State(state): State<AppState>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let instant = Instant::now();
    let caller = match authenticate(&state, &headers, instant) {
        Ok(caller) => caller,
        Err(error) => return error.into_response(),
    };
    let path = path.trim_end_matches('/');
    let ctx = Ctx {
        graph_url: format!("{}/v1.0", state.base_url(&headers)),
        state: &state,
        caller,
        path,
        query: &query,
        body: &body,
        instant,
    };
    let segments: Vec<&str> = path.split('/').collect();
    route(&ctx, &method, &segments).unwrap_or_else(IntoResponse::into_response)
}

fn route(ctx: &Ctx<'_>, method: &Method, segments: &[&str]) -> Result<Response, GraphError> {
    let first = segments.first().copied().unwrap_or_default();
    let name = first.split('(').next().unwrap_or_default();
    match name {
        "organization" | "me" | "users" => users::route(ctx, method, segments),
        "directoryRoles" | "directoryObjects" => directory_roles::route(ctx, method, segments),
        "applications" => applications::route(ctx, method, segments),
        "servicePrincipals" => service_principals::route(ctx, method, segments),
        _ => Err(unknown_segment(first)),
    }
}

pub fn unknown_segment(segment: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{segment}'."),
    )
}

pub fn method_not_allowed() -> GraphError {
    GraphError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "Request_BadRequest",
        "The HTTP method is not allowed on this resource.",
    )
}

/// Graph's date-time format.
pub fn graph_time(time: time::OffsetDateTime) -> String {
    crate::domain::format_time(time)
}
