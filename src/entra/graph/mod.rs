//! Microsoft Graph v1.0: the typed requests and responses the tool uses. JSON
//! is handled here and nowhere else.

use super::http::{HttpClient, Reply};
use super::{EntraError, Secret};
use reqwest::{Method, StatusCode};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::time::Instant;
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
                .then(|| "a new directory object is not visible yet (replication)".to_string())
        };
        let reply = match request.method == Method::POST {
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

    /// Graph's upsert: PATCH with `Prefer: create-if-missing` creates the
    /// object at `path` (201, with it) or updates it (204, then read back).
    /// Safe to repeat: the key in `path` makes a second object impossible.
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

    async fn create_application(
        &self,
        application: &NewApplication,
    ) -> Result<Application, EntraError> {
        self.post("/applications", application, Consistency::Settled)
            .await
    }

    /// Creates (or, when it exists already, updates) the application whose
    /// `uniqueName` is `unique_name`.
    async fn upsert_application(
        &self,
        unique_name: &str,
        application: &NewApplication,
    ) -> Result<(Application, bool), EntraError> {
        self.upsert(
            &application_by_unique_name(unique_name),
            application,
            Consistency::Settled,
        )
        .await
    }

    /// This server's application, made exactly once whatever answers get lost:
    /// Graph's upsert on `unique_name` where the cloud offers it (a repeat
    /// cannot make a second one), a POST elsewhere. After an answer that
    /// leaves open whether it was made, it is looked up before anything is
    /// sent again.
    pub async fn ensure_application(
        &self,
        application: &NewApplication,
        upsert: bool,
    ) -> Result<Application, EntraError> {
        let name = &application.display_name;
        let started = Instant::now();
        let mut ambiguous = None;
        for attempt in 1..=AMBIGUOUS_ATTEMPTS {
            let result = match upsert {
                true => self
                    .upsert_application(name, application)
                    .await
                    .map(|(app, _)| app),
                false => self.create_application(application).await,
            };
            match result {
                Ok(app) => return Ok(app),
                Err(error @ EntraError::Ambiguous { .. }) => ambiguous = Some(error),
                // The repeat found the one the lost answer made, and updating
                // its keys is not this administrator's to do: it exists.
                Err(EntraError::Graph { status: 403, .. }) if ambiguous.is_some() && upsert => {
                    return self.application_written(name).await;
                }
                Err(other) => return Err(other),
            }
            // Look before sending again; a POST cannot be told apart from a
            // second one, so without upsert wait for replication to show it.
            loop {
                if let Some(app) = self.application_named(name).await? {
                    return Ok(app);
                }
                let reason = "the last write got no clear answer; looking for what it made";
                if upsert || !self.http.replication_pause(started, attempt, reason).await {
                    break;
                }
            }
        }
        Err(ambiguous.unwrap_or(EntraError::Config("no answer from Graph".into())))
    }

    /// The application whose display name is exactly `name`.
    async fn application_named(&self, name: &str) -> Result<Option<Application>, EntraError> {
        Ok(self
            .applications_named(name)
            .await?
            .into_iter()
            .find(|app| app.display_name == name))
    }

    /// The application with this `uniqueName`, polled through replication lag
    /// (it was written moments ago).
    pub async fn application_written(&self, unique_name: &str) -> Result<Application, EntraError> {
        self.get(
            &application_by_unique_name(unique_name),
            Consistency::JustCreated,
        )
        .await
    }

    /// Creates the service principal of an application created moments ago.
    async fn create_service_principal(&self, app_id: &str) -> Result<ServicePrincipal, EntraError> {
        let body = serde_json::json!({ "appId": app_id });
        self.post(
            "/servicePrincipals",
            &body,
            Consistency::NewApplicationsPrincipal,
        )
        .await
    }

    /// The application's service principal, made exactly once: Graph's upsert
    /// on the application id where the cloud offers it; elsewhere found, or
    /// created with a POST that is looked up again (through replication)
    /// before it is ever sent twice.
    /// Also says whether this call created it (a new one has no grants yet).
    pub async fn ensure_service_principal(
        &self,
        app_id: &str,
        upsert: bool,
    ) -> Result<(ServicePrincipal, bool), EntraError> {
        if upsert {
            return self.upsert_service_principal(app_id).await;
        }
        let started = Instant::now();
        let mut ambiguous = None;
        for attempt in 1..=AMBIGUOUS_ATTEMPTS {
            if let Some(sp) = self.service_principal_by_app_id(app_id).await? {
                return Ok((sp, false));
            }
            if ambiguous.is_some() {
                let reason = "the last write got no clear answer; looking for what it made";
                if self.http.replication_pause(started, attempt, reason).await {
                    continue;
                }
            }
            match self.create_service_principal(app_id).await {
                Ok(sp) => return Ok((sp, true)),
                Err(error @ EntraError::Ambiguous { .. }) => ambiguous = Some(error),
                Err(other) => return Err(other),
            }
        }
        Err(ambiguous.unwrap_or(EntraError::Config("no answer from Graph".into())))
    }

    /// Creates the service principal of an application created moments ago,
    /// or finds the one it has: Graph's upsert on the application id.
    async fn upsert_service_principal(
        &self,
        app_id: &str,
    ) -> Result<(ServicePrincipal, bool), EntraError> {
        let path = format!("/servicePrincipals(appId='{}')", odata_literal(app_id));
        self.upsert(
            &path,
            &serde_json::json!({}),
            Consistency::NewApplicationsPrincipal,
        )
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

    /// Grants an app role to a service principal, exactly once: after an
    /// answer that leaves open whether it was granted, and after Graph's 400
    /// for a grant that exists, the grants are looked up (polled through
    /// replication) before anything is sent again.
    pub async fn ensure_app_role(
        &self,
        assignment: &NewAppRoleAssignment,
    ) -> Result<AppRoleAssignment, EntraError> {
        let started = Instant::now();
        let mut last = None;
        for attempt in 1..=AMBIGUOUS_ATTEMPTS {
            match self.assign_app_role(assignment).await {
                Ok(made) => return Ok(made),
                Err(
                    error @ (EntraError::Ambiguous { .. } | EntraError::Graph { status: 400, .. }),
                ) => {
                    // A 400 means it exists (or cannot be made): wait until it shows.
                    let exists = matches!(error, EntraError::Graph { .. });
                    last = Some(error);
                    loop {
                        let granted = self.app_role_assignments(&assignment.principal_id).await?;
                        if let Some(found) = granted.into_iter().find(|a| assignment.is(a)) {
                            return Ok(found);
                        }
                        let reason = "looking for a grant whose answer got lost";
                        if !exists || !self.http.replication_pause(started, attempt, reason).await {
                            break;
                        }
                    }
                    if exists {
                        break;
                    }
                }
                Err(other) => return Err(other),
            }
        }
        Err(last.unwrap_or(EntraError::Config("no answer from Graph".into())))
    }

    /// Grants an app role to a service principal created moments ago.
    async fn assign_app_role(
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

/// Rolling an application's certificates: its keys read with `key` (a
/// single-object GET selecting `keyCredentials`), `addKey`/`removeKey` by the
/// application itself with a proof of possession, and an administrator's
/// PATCH of the whole collection.
impl GraphClient {
    /// The application with application id `app_id` and its keys, each with
    /// `key` (Graph returns it only on a single GET whose `$select` names
    /// `keyCredentials`).
    pub async fn application_keys(&self, app_id: &str) -> Result<Option<Application>, EntraError> {
        self.find(&format!(
            "/applications(appId='{}')?$select=id,appId,displayName,keyCredentials",
            odata_literal(app_id)
        ))
        .await
    }

    /// `POST /applications/{id}/addKey`: the application adds a certificate
    /// to its own keys, proving it holds a current one. Never repeated here
    /// after an answer that got lost: the caller looks at the keys first.
    pub async fn add_key(
        &self,
        object_id: &str,
        key: &KeyCredential,
        proof: &Secret,
    ) -> Result<KeyCredential, EntraError> {
        let body = serde_json::json!({
            "keyCredential": key,
            "passwordCredential": null,
            "proof": proof.expose(),
        });
        self.post(
            &format!("/applications/{object_id}/addKey"),
            &body,
            Consistency::Settled,
        )
        .await
    }

    /// `POST /applications/{id}/removeKey`: the application removes one of its
    /// keys, proving it holds a current one.
    pub async fn remove_key(
        &self,
        object_id: &str,
        key_id: &str,
        proof: &Secret,
    ) -> Result<(), EntraError> {
        let body = serde_json::json!({ "keyId": key_id, "proof": proof.expose() });
        let url = self.url(&format!("/applications/{object_id}/removeKey"));
        let request = Request {
            body: Some(&body),
            ..Request::new(Method::POST, &url)
        };
        self.call(request, Consistency::Settled).await.map(|_| ())
    }

    /// `PATCH /applications/{id}` with `keyCredentials`: replaces the whole
    /// collection with `keys` (an administrator's credential update). Safe to
    /// repeat: the same collection again changes nothing.
    pub async fn replace_key_credentials(
        &self,
        object_id: &str,
        keys: &[KeyCredential],
    ) -> Result<(), EntraError> {
        let body = serde_json::json!({ "keyCredentials": keys });
        let url = self.url(&format!("/applications/{object_id}"));
        let request = Request {
            body: Some(&body),
            ..Request::new(Method::PATCH, &url)
        };
        self.call(request, Consistency::Settled).await.map(|_| ())
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

/// Sends of one write, counting those after an answer that got lost.
const AMBIGUOUS_ATTEMPTS: u32 = 4;

impl NewAppRoleAssignment {
    fn is(&self, existing: &AppRoleAssignment) -> bool {
        existing.principal_id == self.principal_id
            && existing.resource_id == self.resource_id
            && existing.app_role_id == self.app_role_id
    }
}

fn application_by_unique_name(unique_name: &str) -> String {
    format!("/applications(uniqueName='{}')", odata_literal(unique_name))
}

/// A directory role assignment at tenant scope (`unifiedRoleAssignment`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub role_definition_id: String,
}

/// A cloud user to create: a directory synchronization account, whose
/// password never expires and is not changed at first sign-in.
pub struct NewUser<'a> {
    pub user_principal_name: &'a str,
    pub display_name: &'a str,
    pub mail_nickname: &'a str,
    pub password: &'a Secret,
}

/// Users and directory roles: the legacy connector account (a directory
/// synchronization account) is a user holding a built-in role.
impl GraphClient {
    pub async fn user(&self, id_or_upn: &str) -> Result<Option<User>, EntraError> {
        let key = url::form_urlencoded::byte_serialize(id_or_upn.as_bytes()).collect::<String>();
        self.find(&format!("/users/{key}")).await
    }

    /// The tenant's initial domain (`<name>.onmicrosoft.com`).
    pub async fn initial_domain(&self) -> Result<String, EntraError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Organization {
            verified_domains: Vec<Domain>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Domain {
            name: String,
            #[serde(default)]
            is_initial: bool,
        }
        let organizations: Vec<Organization> = self
            .list(self.url("/organization"), Consistency::Settled)
            .await?;
        organizations
            .into_iter()
            .flat_map(|o| o.verified_domains)
            .find(|d| d.is_initial)
            .map(|d| d.name)
            .ok_or_else(|| EntraError::Config("the tenant reports no initial domain".into()))
    }

    /// Creates `user`. A POST: after an ambiguous answer, look it up by its
    /// UPN before ever sending it again.
    pub async fn create_user(&self, user: &NewUser<'_>) -> Result<User, EntraError> {
        let body = serde_json::json!({
            "accountEnabled": true,
            "displayName": user.display_name,
            "mailNickname": user.mail_nickname,
            "userPrincipalName": user.user_principal_name,
            "passwordPolicies": "DisablePasswordExpiration",
            "passwordProfile": {
                "password": user.password.expose(),
                "forceChangePasswordNextSignIn": false,
            },
        });
        self.post("/users", &body, Consistency::Settled).await
    }

    pub async fn delete_user(&self, id: &str) -> Result<(), EntraError> {
        let url = self.url(&format!("/users/{id}"));
        self.call(Request::new(Method::DELETE, &url), Consistency::Settled)
            .await
            .map(|_| ())
    }

    /// The tenant-wide assignments of directory roles to `principal_id`
    /// (a user created moments ago, perhaps).
    pub async fn role_assignments_of(
        &self,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, EntraError> {
        let filter = format!("principalId eq '{}'", odata_literal(principal_id));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("$filter", &filter)
            .finish();
        let url = self.url(&format!(
            "/roleManagement/directory/roleAssignments?{query}"
        ));
        self.list(url, Consistency::JustCreated).await
    }

    /// Assigns the built-in role `role_template_id` to `principal_id` at
    /// tenant scope (replication of a new user is waited for).
    pub async fn assign_directory_role(
        &self,
        principal_id: &str,
        role_template_id: &str,
    ) -> Result<RoleAssignment, EntraError> {
        let body = serde_json::json!({
            "principalId": principal_id,
            "roleDefinitionId": role_template_id,
            "directoryScopeId": "/",
        });
        self.post(
            "/roleManagement/directory/roleAssignments",
            &body,
            Consistency::JustCreated,
        )
        .await
    }

    /// The users holding the built-in role `role_template_id`.
    pub async fn role_members(&self, role_template_id: &str) -> Result<Vec<User>, EntraError> {
        let path = format!(
            "/directoryRoles(roleTemplateId='{}')/members",
            odata_literal(role_template_id)
        );
        self.list(self.url(&path), Consistency::Settled).await
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
        let code = || match graph_error(reply) {
            EntraError::Graph { code, .. } => code,
            _ => String::new(),
        };
        match (self, reply.status) {
            (Consistency::Settled, _) => false,
            (_, StatusCode::NOT_FOUND) => true,
            (Consistency::NewApplicationsPrincipal, StatusCode::BAD_REQUEST) => {
                code() == "Request_BadRequest"
            }
            (Consistency::NewApplicationsPrincipal, StatusCode::FORBIDDEN) => {
                code() == "Authorization_RequestDenied"
            }
            _ => false,
        }
    }
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
