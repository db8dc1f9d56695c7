//! The two error shapes the sandbox answers with, each rendered in one place:
//! the identity platform's (`error`, `error_description` with an AADSTS code,
//! `error_codes`, ...) and Microsoft Graph's (`{"error":{"code","message"}}`).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// A refusal from the token or device-code endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OAuthError {
    pub status: StatusCode,
    /// The OAuth 2.0 error (`invalid_client`, `invalid_grant`, ...).
    pub error: &'static str,
    /// The AADSTS number; 0 for the device flow's states, which carry none of note.
    pub code: u32,
    pub message: String,
    pub suberror: Option<&'static str>,
}

impl OAuthError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        message: impl Into<String>,
    ) -> Self {
        OAuthError {
            status,
            error,
            code,
            message: message.into(),
            suberror: None,
        }
    }

    pub(crate) fn bad_request(error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, code, message)
    }

    pub(crate) fn unauthorized(error: &'static str, code: u32, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, error, code, message)
    }

    pub(crate) fn tenant_not_found(tenant: &str) -> Self {
        Self::bad_request(
            "invalid_request",
            90002,
            format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        )
    }

    pub(crate) fn missing_parameter(name: &str) -> Self {
        Self::bad_request(
            "invalid_request",
            900144,
            format!("The request body must contain the following parameter: '{name}'."),
        )
    }

    pub(crate) fn with_suberror(mut self, suberror: &'static str) -> Self {
        self.suberror = Some(suberror);
        self
    }
}

/// The sandbox failing itself (signing a token): a server error, as Entra
/// answers one.
impl From<crate::SandboxError> for OAuthError {
    fn from(error: crate::SandboxError) -> Self {
        OAuthError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            50000,
            error.to_string(),
        )
    }
}

#[derive(Serialize)]
struct OAuthErrorBody<'a> {
    error: &'a str,
    error_description: String,
    error_codes: Vec<u32>,
    timestamp: String,
    trace_id: String,
    correlation_id: String,
    error_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    suberror: Option<&'a str>,
}

/// What ties one refusal to the sign-in logs: each refusal gets its own.
struct Diagnostics {
    timestamp: String,
    trace_id: String,
    correlation_id: String,
}

impl Diagnostics {
    fn new() -> Self {
        Diagnostics {
            timestamp: time::OffsetDateTime::now_utc()
                .format(time::macros::format_description!(
                    "[year]-[month]-[day] [hour]:[minute]:[second]Z"
                ))
                .unwrap_or_default(),
            trace_id: uuid::Uuid::new_v4().to_string(),
            correlation_id: uuid::Uuid::new_v4().to_string(),
        }
    }
}

impl OAuthError {
    /// `error_description` as Entra writes it: the code, the message, then
    /// the ids an administrator looks the sign-in up by.
    fn describe(&self, diagnostics: &Diagnostics) -> String {
        format!(
            "AADSTS{}: {} Trace ID: {} Correlation ID: {} Timestamp: {}",
            self.code,
            self.message,
            diagnostics.trace_id,
            diagnostics.correlation_id,
            diagnostics.timestamp
        )
    }

    fn error_uri(&self) -> String {
        format!("https://login.microsoftonline.com/error?code={}", self.code)
    }

    /// The refusal as the query parameters of a redirect to the client
    /// (an authorization request refused after its redirect URI was trusted).
    pub(crate) fn redirect_parameters(&self) -> Vec<(&'static str, String)> {
        let diagnostics = Diagnostics::new();
        let mut parameters = vec![
            ("error", self.error.to_string()),
            ("error_description", self.describe(&diagnostics)),
            ("error_uri", self.error_uri()),
        ];
        if let Some(suberror) = self.suberror {
            parameters.push(("error_subcode", suberror.to_string()));
        }
        parameters
    }

    /// The refusal as the sign-in page shows it, where there is no client
    /// to send it to (an unknown client or redirect URI): never a redirect.
    pub(crate) fn into_page(self) -> Response {
        let description = crate::pages::escape(&self.describe(&Diagnostics::new()));
        let html = format!(
            "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Sign in</title></head>\n\
             <body style=\"font-family: sans-serif; max-width: 40em; margin: 3em auto\">\n\
             <h1>We couldn't sign you in</h1>\n<p id=\"error\">{description}</p>\n</body></html>"
        );
        (self.status, axum::response::Html(html)).into_response()
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let diagnostics = Diagnostics::new();
        let body = OAuthErrorBody {
            error: self.error,
            error_description: self.describe(&diagnostics),
            error_codes: vec![self.code],
            error_uri: self.error_uri(),
            timestamp: diagnostics.timestamp,
            trace_id: diagnostics.trace_id,
            correlation_id: diagnostics.correlation_id,
            suberror: self.suberror,
        };
        (self.status, Json(body)).into_response()
    }
}

/// A refusal from the Graph subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GraphError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl GraphError {
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        GraphError {
            status,
            code,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "Request_BadRequest", message)
    }

    pub(crate) fn not_found(what: &str, id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            format!(
                "Resource '{id}' does not exist or one of its queried reference-property objects are not present. ({what})"
            ),
        )
    }

    pub(crate) fn denied() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        )
    }

    pub(crate) fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "Request_MultipleObjectsWithSameKeyValue",
            message,
        )
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let date = graph_time(time::OffsetDateTime::now_utc());
        let body = serde_json::json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": {
                    "date": date,
                    "request-id": uuid::Uuid::new_v4().to_string(),
                    "client-request-id": uuid::Uuid::new_v4().to_string(),
                }
            }
        });
        let mut response = (self.status, Json(body)).into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"\", error=\"invalid_token\""),
            );
        }
        response
    }
}

/// Graph's date-time format: RFC 3339 in UTC, whole seconds.
pub(crate) fn graph_time(time: time::OffsetDateTime) -> String {
    let utc = time.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(0)
        .unwrap_or(utc)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}
