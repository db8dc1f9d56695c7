//! Microsoft Graph's error answers (`{"error":{"code","message","details"}}`),
//! parsed once into a [`GraphCode`] so nothing downstream compares code
//! strings or guesses from a status number.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…): graph/errors (the error
//! resource type: `code`, `message`, `details`).

use super::super::EntraError;
use super::super::http::Reply;
use serde::Deserialize;
use std::fmt;

/// What Graph's `error.code` says. Parsing is exact (Graph's codes are
/// case-sensitive identifiers); anything else is kept as
/// [`GraphCode::Other`]. "The object exists already" is one value
/// whichever way Graph says it (see [`GraphCode::parse`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum GraphCode {
    /// `Request_ResourceNotFound`: no such object (or not visible yet).
    ResourceNotFound,
    /// `Request_BadRequest`, when it is not about an object that exists.
    BadRequest,
    /// The object, or one with the same key, exists already, with the code
    /// as Graph sent it (`ObjectConflict`,
    /// `Request_MultipleObjectsWithSameKeyValue`, or `Request_BadRequest`
    /// saying so).
    AlreadyExists(String),
    /// `Authorization_RequestDenied`: the caller may not do this.
    AuthorizationRequestDenied,
    /// `Authentication_MissingOrMalformed`: e.g. a bad addKey/removeKey proof.
    AuthenticationMissingOrMalformed,
    /// `InvalidAuthenticationToken`: the access token was refused.
    InvalidAuthenticationToken,
    /// Any other code, verbatim (for an answer without a Graph error body,
    /// the status's reason phrase).
    Other(String),
}

/// The codes that always mean "exists already".
const CONFLICT_CODES: [&str; 2] = ["ObjectConflict", "Request_MultipleObjectsWithSameKeyValue"];

/// How Graph words a `Request_BadRequest` that refuses a second object
/// (a user's `userPrincipalName`, an application's `uniqueName`, an app role
/// or directory role assigned twice, a key added twice), matched
/// case-insensitively. Graph sends most of these with no more specific code,
/// so this is the one place their words are read.
const EXISTS_PHRASES: [&str; 4] = [
    "already exist",
    "already in use",
    "is already a ",
    "conflicting object",
];

impl GraphCode {
    /// The code as Graph sends it.
    pub fn as_str(&self) -> &str {
        match self {
            GraphCode::ResourceNotFound => "Request_ResourceNotFound",
            GraphCode::BadRequest => "Request_BadRequest",
            GraphCode::AlreadyExists(code) | GraphCode::Other(code) => code,
            GraphCode::AuthorizationRequestDenied => "Authorization_RequestDenied",
            GraphCode::AuthenticationMissingOrMalformed => "Authentication_MissingOrMalformed",
            GraphCode::InvalidAuthenticationToken => "InvalidAuthenticationToken",
        }
    }

    /// The code of an error answer: `code` itself, except that a conflict
    /// (an `ObjectConflict` among `details`, or a `Request_BadRequest` whose
    /// `message` says the object exists) is [`GraphCode::AlreadyExists`].
    pub fn parse<'a>(
        code: &str,
        message: &str,
        details: impl IntoIterator<Item = &'a str>,
    ) -> GraphCode {
        let parsed = GraphCode::from(code);
        if parsed != GraphCode::BadRequest {
            return parsed;
        }
        let message = message.to_ascii_lowercase();
        let conflict = details.into_iter().any(|d| CONFLICT_CODES.contains(&d))
            || EXISTS_PHRASES.iter().any(|p| message.contains(p));
        match conflict {
            true => GraphCode::AlreadyExists(code.to_string()),
            false => parsed,
        }
    }

    /// Whether Graph refused a second object: the one asked for exists.
    pub fn already_exists(&self) -> bool {
        matches!(self, GraphCode::AlreadyExists(_))
    }
}

/// The code alone (without the message and details [`GraphCode::parse`]
/// also reads).
impl From<&str> for GraphCode {
    fn from(code: &str) -> Self {
        match code {
            "Request_ResourceNotFound" => GraphCode::ResourceNotFound,
            "Request_BadRequest" => GraphCode::BadRequest,
            "Authorization_RequestDenied" => GraphCode::AuthorizationRequestDenied,
            "Authentication_MissingOrMalformed" => GraphCode::AuthenticationMissingOrMalformed,
            "InvalidAuthenticationToken" => GraphCode::InvalidAuthenticationToken,
            _ if CONFLICT_CODES.contains(&code) => GraphCode::AlreadyExists(code.to_string()),
            _ => GraphCode::Other(code.to_string()),
        }
    }
}

impl fmt::Display for GraphCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphErrorDetail,
}

#[derive(Deserialize)]
struct GraphErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    details: Vec<GraphErrorDetailItem>,
}

#[derive(Deserialize)]
struct GraphErrorDetailItem {
    #[serde(default)]
    code: String,
}

/// An answer that is not a success, as our error.
pub(super) fn graph_error(reply: &Reply) -> EntraError {
    let status = reply.status.as_u16();
    match serde_json::from_slice::<GraphErrorBody>(&reply.body) {
        Ok(GraphErrorBody { error }) => EntraError::Graph {
            status,
            code: GraphCode::parse(
                &error.code,
                &error.message,
                error.details.iter().map(|d| d.code.as_str()),
            ),
            message: error.message,
        },
        Err(_) => EntraError::Graph {
            status,
            code: GraphCode::Other(
                reply
                    .status
                    .canonical_reason()
                    .unwrap_or("error")
                    .to_string(),
            ),
            message: format!("{} answered without a Graph error body", reply.url),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::StatusCode;

    fn reply(status: u16, body: &str) -> Reply {
        Reply {
            url: "https://graph.example/v1.0/users".into(),
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: None,
            date: None,
            body: body.as_bytes().to_vec(),
        }
    }

    fn code_of(status: u16, body: &str) -> GraphCode {
        match graph_error(&reply(status, body)) {
            EntraError::Graph { code, .. } => code,
            other => panic!("not a Graph error: {other:?}"),
        }
    }

    fn body(code: &str, message: &str) -> String {
        serde_json::json!({ "error": { "code": code, "message": message } }).to_string()
    }

    #[test]
    fn the_directory_codes_parse_to_their_values_and_print_as_sent() {
        for (code, parsed) in [
            ("Request_ResourceNotFound", GraphCode::ResourceNotFound),
            ("Request_BadRequest", GraphCode::BadRequest),
            (
                "Authorization_RequestDenied",
                GraphCode::AuthorizationRequestDenied,
            ),
            (
                "Authentication_MissingOrMalformed",
                GraphCode::AuthenticationMissingOrMalformed,
            ),
            (
                "InvalidAuthenticationToken",
                GraphCode::InvalidAuthenticationToken,
            ),
        ] {
            let got = code_of(400, &body(code, "Something is wrong."));
            assert_eq!(got, parsed, "{code}");
            assert_eq!(got.to_string(), code);
            assert!(!got.already_exists(), "{code}");
        }
    }

    #[test]
    fn every_way_graph_says_a_second_object_is_refused_is_already_exists() {
        for (status, code, message) in [
            (
                400,
                "Request_BadRequest",
                "Permission being assigned already exists on the object",
            ),
            (
                400,
                "Request_BadRequest",
                "Another object with the same value for property userPrincipalName already exists.",
            ),
            (
                400,
                "Request_BadRequest",
                "One or more added object references already exist for the following modified properties: 'members'.",
            ),
            (
                400,
                "Request_BadRequest",
                "A conflicting object with one or more of the specified property values is present in the directory.",
            ),
            (
                400,
                "Request_BadRequest",
                "This certificate is already a key credential of the application.",
            ),
            (
                409,
                "Request_MultipleObjectsWithSameKeyValue",
                "The service principal name 1234 is already in use.",
            ),
            (409, "ObjectConflict", "Conflict."),
        ] {
            let got = code_of(status, &body(code, message));
            assert_eq!(got, GraphCode::AlreadyExists(code.into()), "{message}");
            assert!(got.already_exists());
            assert_eq!(got.to_string(), code, "printed as sent");
        }
    }

    #[test]
    fn an_object_conflict_among_the_details_is_already_exists() {
        let body = serde_json::json!({ "error": {
            "code": "Request_BadRequest",
            "message": "Invalid value.",
            "details": [{ "code": "ObjectConflict", "target": "userPrincipalName" }],
        }});
        assert!(code_of(400, &body.to_string()).already_exists());
    }

    #[test]
    fn other_bad_requests_are_not_already_exists() {
        for message in [
            "The appId 'x' of the service principal does not reference a valid application object.",
            "Permission being assigned was not found on application",
            "Property 'displayName' is required.",
        ] {
            assert_eq!(
                code_of(400, &body("Request_BadRequest", message)),
                GraphCode::BadRequest,
                "{message}"
            );
        }
        // The words count only where Graph uses them for a conflict.
        assert_eq!(
            code_of(403, &body("Authorization_RequestDenied", "already exists")),
            GraphCode::AuthorizationRequestDenied
        );
    }

    #[test]
    fn unknown_codes_and_answers_without_a_graph_body_are_kept_as_other() {
        assert_eq!(
            code_of(503, &body("serviceNotAvailable", "Retry later.")),
            GraphCode::Other("serviceNotAvailable".into())
        );
        assert_eq!(
            code_of(404, "<html>not here</html>"),
            GraphCode::Other("Not Found".into())
        );
        match graph_error(&reply(502, "")) {
            EntraError::Graph {
                status, message, ..
            } => {
                assert_eq!(status, 502);
                assert!(message.contains("without a Graph error body"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_code_alone_parses_without_words() {
        assert_eq!(GraphCode::from("Request_BadRequest"), GraphCode::BadRequest);
        assert!(GraphCode::from("ObjectConflict").already_exists());
        assert_eq!(
            GraphCode::from("request_badrequest"),
            GraphCode::Other("request_badrequest".into()),
            "exact, as Graph sends them"
        );
    }
}
