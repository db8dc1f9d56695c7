//! Microsoft Graph v1.0: the typed requests and responses the tool uses. JSON
//! is handled here and nowhere else. The client's calls are here; what they
//! read and write is by subject (`applications` with their service principals
//! and app roles, `keys`, `users`); Graph's error codes are parsed once
//! ([`GraphCode`]), and every create is made exactly once by one combinator
//! ([`WriteOnce`]).

mod applications;
mod credentials;
mod errors;
mod keys;
mod users;
mod write_once;

pub(crate) use errors::GraphCode;
pub(crate) use users::NewUser;
pub(crate) use write_once::{Repeat, WriteOnce, Written};

use super::http::{HttpClient, NewObject, Reply, RetryReason};
use super::{EntraError, Secret};
use errors::graph_error;
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

/// Microsoft Graph's application id, the same in every cloud.
pub(crate) const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub user_principal_name: String,
    #[serde(default)]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryRole {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    pub role_template_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRole {
    pub id: String,
    pub value: Option<String>,
    #[serde(default)]
    pub allowed_member_types: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServicePrincipal {
    pub id: String,
    pub app_id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub app_roles: Vec<AppRole>,
    /// False: nobody signs in as the application (the connector stops).
    #[serde(default)]
    pub account_enabled: Option<bool>,
    /// Client secrets on the service principal; they sign in as the application too.
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
}

/// A user, group or service principal as a list of owners shows it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
}

/// A token from another issuer that the application accepts as itself.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FederatedIdentityCredential {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub issuer: Option<String>,
    #[serde(default)]
    pub subject: Option<String>,
}

/// A delegated permission grant (`oauth2PermissionGrant`): the client may
/// call the resource as signed-in users with `scope`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionGrant {
    pub id: String,
    pub resource_id: String,
    #[serde(default)]
    pub consent_type: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct KeyCredential {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub usage: String,
    /// Base64 of the certificate DER; Graph returns it only when asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Graph's SHA-1 thumbprint of the certificate (base64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_key_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_date_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_date_time: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ResourceAccess {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RequiredResourceAccess {
    pub resource_app_id: String,
    pub resource_access: Vec<ResourceAccess>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Application {
    pub id: String,
    pub app_id: String,
    pub display_name: String,
    #[serde(default)]
    pub key_credentials: Vec<KeyCredential>,
    /// Client secrets, as Graph shows them after they were added: a `hint`,
    /// never the secret.
    #[serde(default)]
    pub password_credentials: Vec<PasswordCredential>,
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

/// A client secret on an application or a service principal. Graph returns
/// `secretText` once, when it is added; this tool never adds one and reads
/// none, so the type has no field for it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordCredential {
    #[serde(default)]
    pub key_id: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    /// The secret's first characters.
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(default)]
    pub start_date_time: Option<String>,
    #[serde(default)]
    pub end_date_time: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApplication {
    /// The key Graph's upsert finds the application by (where the cloud has it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unique_name: Option<String>,
    pub display_name: String,
    pub sign_in_audience: String,
    pub key_credentials: Vec<KeyCredential>,
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AppRoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub resource_id: String,
    pub app_role_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewAppRoleAssignment {
    pub principal_id: String,
    pub resource_id: String,
    pub app_role_id: String,
}

#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// When to treat an answer as "the object exists but is not visible yet".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Consistency {
    /// Everything the call refers to is old: answers are final.
    Settled,
    /// The call refers to something just created: a 404 is replication lag,
    /// retried.
    JustCreated,
    /// Creating the service principal of an application created moments ago:
    /// Graph answers 404, 400 `Request_BadRequest` ("does not reference a
    /// valid application object") or 403 `Authorization_RequestDenied`
    /// ("the backing application … must in the local tenant") until the
    /// application has replicated. The permission check before any change
    /// rules out a real 403 here.
    NewApplicationsPrincipal,
}

pub struct GraphClient {
    http: HttpClient,
    base: Url,
    token: Secret,
}

impl GraphClient {
    pub fn new(http: HttpClient, base: Url, token: Secret) -> Self {
        GraphClient { http, base, token }
    }

    /// The delegated permissions the token carries (its `scp`).
    pub fn token_scopes(&self) -> std::collections::HashSet<String> {
        #[derive(Deserialize, Default)]
        struct Scopes {
            #[serde(default)]
            scp: String,
        }
        super::token_claims::<Scopes>(self.token.expose())
            .unwrap_or_default()
            .scp
            .split_whitespace()
            .map(str::to_string)
            .collect()
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    async fn call(
        &self,
        request: Request<'_>,
        consistency: Consistency,
    ) -> Result<Reply, EntraError> {
        let make = |client: &reqwest::Client| {
            let mut builder = client
                .request(request.method.clone(), request.url)
                .bearer_auth(self.token.expose());
            if request.create_if_missing {
                builder = builder.header("Prefer", "create-if-missing");
            }
            Ok(match request.body {
                Some(json) => builder.json(json),
                None => builder,
            })
        };
        let not_replicated = |reply: &Reply| {
            consistency
                .unreplicated(reply)
                .then_some(RetryReason::NotVisibleYet {
                    what: NewObject::DirectoryObject,
                })
        };
        // A create, by POST or by upsert: after a lost answer, the caller
        // looks before anything is sent again (see [`WriteOnce`]).
        let create = request.method == Method::POST || request.create_if_missing;
        let reply = match create {
            true => self.http.send_write(make, not_replicated).await?,
            false => self.http.send(make, not_replicated).await?,
        };
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(graph_error(&reply))
        }
    }

    async fn get<T: DeserializeOwned>(
        &self,
        path: &str,
        consistency: Consistency,
    ) -> Result<T, EntraError> {
        self.call(Request::new(Method::GET, &self.url(path)), consistency)
            .await?
            .json()
    }

    /// Like `get`, but "not found" is an answer, not an error.
    async fn find<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, EntraError> {
        match self.get(path, Consistency::Settled).await {
            Ok(value) => Ok(Some(value)),
            Err(EntraError::Graph { status: 404, .. }) => Ok(None),
            Err(other) => Err(other),
        }
    }

    /// Every item of the list at `url`, following `@odata.nextLink`.
    async fn list<T: DeserializeOwned>(
        &self,
        url: String,
        consistency: Consistency,
    ) -> Result<Vec<T>, EntraError> {
        let mut items = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next {
            let page: Page<T> = self
                .call(Request::new(Method::GET, &url), consistency)
                .await?
                .json()?;
            items.extend(page.value);
            next = page.next_link;
        }
        Ok(items)
    }

    /// A POST that creates something: never repeated after an ambiguous
    /// answer (see [`HttpClient::send_write`]).
    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        consistency: Consistency,
    ) -> Result<T, EntraError> {
        let body = to_json(body)?;
        let url = self.url(path);
        let request = Request {
            body: Some(&body),
            ..Request::new(Method::POST, &url)
        };
        self.call(request, consistency).await?.json()
    }

    /// A POST of an action that answers nothing (204), such as
    /// `removeKey` and `removePassword`.
    async fn action(&self, path: &str, body: &serde_json::Value) -> Result<(), EntraError> {
        let url = self.url(path);
        let request = Request {
            body: Some(body),
            ..Request::new(Method::POST, &url)
        };
        self.call(request, Consistency::Settled).await.map(|_| ())
    }

    /// Graph's upsert: PATCH with `Prefer: create-if-missing` creates the
    /// object at `path` (201, with it) or updates it (204, then read back).
    /// The key in `path` makes a second object impossible, but a repeat
    /// after a lost answer is an update ([`Repeat::Upsert`]).
    /// Returns the object and whether this call created it.
    async fn upsert<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        consistency: Consistency,
    ) -> Result<(T, bool), EntraError> {
        let body = to_json(body)?;
        let url = self.url(path);
        let request = Request {
            body: Some(&body),
            create_if_missing: true,
            ..Request::new(Method::PATCH, &url)
        };
        let reply = self.call(request, consistency).await?;
        match reply.status {
            StatusCode::NO_CONTENT => Ok((self.get(path, Consistency::JustCreated).await?, false)),
            _ => Ok((reply.json()?, true)),
        }
    }

    /// A write made exactly once, waiting within this client's replication
    /// budget (see [`WriteOnce::run`]).
    pub fn write_once(&self, repeat: Repeat) -> WriteOnce<'_, HttpClient> {
        WriteOnce::new(&self.http, repeat)
    }

    pub async fn me(&self) -> Result<User, EntraError> {
        self.get("/me", Consistency::Settled).await
    }

    /// The directory roles the signed-in user holds, directly or through groups.
    pub async fn my_directory_roles(&self) -> Result<Vec<DirectoryRole>, EntraError> {
        self.list(
            self.url("/me/transitiveMemberOf/microsoft.graph.directoryRole"),
            Consistency::Settled,
        )
        .await
    }
}

/// One Graph call: method, URL, body, and whether it is an upsert.
struct Request<'a> {
    method: Method,
    url: &'a str,
    body: Option<&'a serde_json::Value>,
    create_if_missing: bool,
}

impl<'a> Request<'a> {
    fn new(method: Method, url: &'a str) -> Self {
        Request {
            method,
            url,
            body: None,
            create_if_missing: false,
        }
    }
}

fn to_json(body: &impl Serialize) -> Result<serde_json::Value, EntraError> {
    serde_json::to_value(body).map_err(|e| EntraError::Config(format!("Graph request: {e}")))
}

/// Quotes are doubled inside OData string literals.
fn odata_literal(value: &str) -> String {
    value.replace('\'', "''")
}

impl Consistency {
    /// Whether `reply` means "not visible yet" for a call of this kind (by
    /// status and Graph error code, never by message text).
    fn unreplicated(self, reply: &Reply) -> bool {
        let code = || graph_error(reply).graph_code().cloned();
        match (self, reply.status) {
            (Consistency::Settled, _) => false,
            (_, StatusCode::NOT_FOUND) => true,
            (Consistency::NewApplicationsPrincipal, StatusCode::BAD_REQUEST) => {
                code() == Some(GraphCode::BadRequest)
            }
            (Consistency::NewApplicationsPrincipal, StatusCode::FORBIDDEN) => {
                code() == Some(GraphCode::AuthorizationRequestDenied)
            }
            _ => false,
        }
    }
}
