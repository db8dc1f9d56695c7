//! Microsoft Graph v1.0: the typed requests and responses the tool uses. JSON
//! is handled here and nowhere else.

use super::http::{HttpClient, Reply};
use super::{EntraError, Secret};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use url::Url;

/// Microsoft Graph's application id, the same in every cloud.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";

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
    #[serde(default)]
    pub required_resource_access: Vec<RequiredResourceAccess>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NewApplication {
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

#[derive(Deserialize)]
struct GraphErrorBody {
    error: GraphErrorDetail,
}

#[derive(Deserialize)]
struct GraphErrorDetail {
    code: String,
    #[serde(default)]
    message: String,
}

/// When to treat an answer as "the object exists but is not visible yet".
#[derive(Clone, Copy, PartialEq, Eq)]
enum Consistency {
    /// Everything the call refers to is old: answers are final.
    Settled,
    /// The call refers to something just created: 404s (and Graph's "does not
    /// reference a valid application") are replication lag, retried.
    JustCreated,
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

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base.as_str().trim_end_matches('/'))
    }

    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&serde_json::Value>,
        consistency: Consistency,
    ) -> Result<Reply, EntraError> {
        let reply = self
            .http
            .send(
                |client| {
                    let request = client
                        .request(method.clone(), url)
                        .bearer_auth(self.token.expose());
                    Ok(match body {
                        Some(json) => request.json(json),
                        None => request,
                    })
                },
                |reply| {
                    (consistency == Consistency::JustCreated && looks_unreplicated(reply)).then(
                        || "a new directory object is not visible yet (replication)".to_string(),
                    )
                },
            )
            .await?;
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
        self.call(Method::GET, &self.url(path), None, consistency)
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
                .call(Method::GET, &url, None, consistency)
                .await?
                .json()?;
            items.extend(page.value);
            next = page.next_link;
        }
        Ok(items)
    }

    async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: &impl Serialize,
        consistency: Consistency,
    ) -> Result<T, EntraError> {
        let body = to_json(body)?;
        self.call(Method::POST, &self.url(path), Some(&body), consistency)
            .await?
            .json()
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

    pub async fn service_principal_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, EntraError> {
        self.find(&format!(
            "/servicePrincipals(appId='{}')",
            odata_literal(app_id)
        ))
        .await
    }

    pub async fn application_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<Application>, EntraError> {
        self.find(&format!("/applications(appId='{}')", odata_literal(app_id)))
            .await
    }

    /// Applications whose display name starts with `prefix`.
    pub async fn applications_named(&self, prefix: &str) -> Result<Vec<Application>, EntraError> {
        let filter = format!("startswith(displayName,'{}')", odata_literal(prefix));
        let mut url = Url::parse(&self.url("/applications"))
            .map_err(|e| EntraError::Config(format!("Graph URL: {e}")))?;
        url.query_pairs_mut().append_pair("$filter", &filter);
        self.list(url.into(), Consistency::Settled).await
    }

    pub async fn create_application(
        &self,
        application: &NewApplication,
    ) -> Result<Application, EntraError> {
        self.post("/applications", application, Consistency::Settled)
            .await
    }

    /// Creates the service principal of an application created moments ago.
    pub async fn create_service_principal(
        &self,
        app_id: &str,
    ) -> Result<ServicePrincipal, EntraError> {
        let body = serde_json::json!({ "appId": app_id });
        self.post("/servicePrincipals", &body, Consistency::JustCreated)
            .await
    }

    pub async fn app_role_assignments(
        &self,
        service_principal_id: &str,
    ) -> Result<Vec<AppRoleAssignment>, EntraError> {
        // Called with service principals found or created moments before.
        let url = self.url(&format!(
            "/servicePrincipals/{service_principal_id}/appRoleAssignments"
        ));
        self.list(url, Consistency::JustCreated).await
    }

    /// Grants an app role to a service principal created moments ago.
    pub async fn assign_app_role(
        &self,
        assignment: &NewAppRoleAssignment,
    ) -> Result<AppRoleAssignment, EntraError> {
        let path = format!(
            "/servicePrincipals/{}/appRoleAssignments",
            assignment.principal_id
        );
        self.post(&path, assignment, Consistency::JustCreated).await
    }
}

fn to_json(body: &impl Serialize) -> Result<serde_json::Value, EntraError> {
    serde_json::to_value(body).map_err(|e| EntraError::Config(format!("Graph request: {e}")))
}

/// Quotes are doubled inside OData string literals.
fn odata_literal(value: &str) -> String {
    value.replace('\'', "''")
}

fn looks_unreplicated(reply: &Reply) -> bool {
    if reply.status == StatusCode::NOT_FOUND {
        return true;
    }
    reply.status == StatusCode::BAD_REQUEST
        && matches!(graph_error(reply), EntraError::Graph { ref message, .. }
            if message.contains("does not reference a valid application") || message.contains("does not exist"))
}

fn graph_error(reply: &Reply) -> EntraError {
    match serde_json::from_slice::<GraphErrorBody>(&reply.body) {
        Ok(body) => EntraError::Graph {
            status: reply.status.as_u16(),
            code: body.error.code,
            message: body.error.message,
        },
        Err(_) => EntraError::Graph {
            status: reply.status.as_u16(),
            code: reply
                .status
                .canonical_reason()
                .unwrap_or("error")
                .to_string(),
            message: format!("{} answered without a Graph error body", reply.url),
        },
    }
}
