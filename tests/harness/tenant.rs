//! Helpers shared by the sandbox tests: a sandbox per test on loopback, sign-in,
//! application registration through Graph, and client assertions built here
//! with jsonwebtoken (independent of the tool's own client).

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use entra_connect::sandbox::{Sandbox, SandboxConfig, SandboxHandle, StartupInfo};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::time::Duration;

pub const GRAPH_CLI: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";
pub const SYNC_APP_ID: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016";
pub const SYNC_ROLE_ID: &str = "2f6f2d6a-4f5c-4bd2-9d44-e1f2a8f3c601";
pub const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";
pub const SYNC_SCOPE: &str = "6bf85cfa-ac8a-4be5-b5de-425a0d0dc016/.default";
/// Microsoft Graph's appId, as its service principal in the seed has it.
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// The seeded password reset service: a resource with app roles of its own,
/// for grants that are neither the sync service's nor Graph's.
pub const PASSWORD_RESET_APP_ID: &str = "93625bc8-bfe2-437a-97e0-3d0060024faa";
/// The User Administrator role's template id (its roleDefinitionId).
pub const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";
/// The password of every user a test creates with [`new_user`].
pub const NEW_USER_PASSWORD: &str = "Str0ng!Passw0rd-42";

/// The default seed tenant, as JSON a test may change before starting a sandbox.
pub fn default_seed() -> Value {
    serde_json::from_str(include_str!(
        "../../crates/sandbox/assets/sandbox-tenant.json"
    ))
    .expect("the default seed is JSON")
}

/// A sandbox whose tenant has turned off "users can register applications"
/// (authorizationPolicy allowedToCreateApps), so only roles may.
pub fn without_app_registration_by_users() -> SandboxConfig {
    with_seed(&seed_without_app_registration_by_users())
}

/// The default seed with "users can register applications" turned off, for
/// tests that change more of the tenant than that.
pub fn seed_without_app_registration_by_users() -> Value {
    let mut seed = default_seed();
    seed["authorization_policy"]["allowed_to_create_apps"] = false.into();
    seed
}

/// A sandbox of the tenant `seed` (a changed [`default_seed`]), otherwise the default.
pub fn with_seed(seed: &Value) -> SandboxConfig {
    SandboxConfig {
        seed: Some(seed.to_string()),
        ..SandboxConfig::default()
    }
}

/// A sandbox whose seed consents `scopes` (Microsoft Graph's) for Graph
/// Command Line Tools besides the default ones.
pub fn with_graph_consent(scopes: &[&str]) -> SandboxConfig {
    let mut seed = default_seed();
    if let Some(consent) = seed["consents"]
        .as_array_mut()
        .expect("consents")
        .iter_mut()
        .find(|c| c["client_app_id"] == GRAPH_CLI && c["resource"] == GRAPH_APP_ID)
    {
        let granted = consent["scopes"].as_array_mut().expect("scopes");
        granted.extend(scopes.iter().map(|s| Value::from(*s)));
    }
    with_seed(&seed)
}

pub async fn start() -> SandboxHandle {
    start_with(SandboxConfig::default()).await
}

pub async fn start_with(config: SandboxConfig) -> SandboxHandle {
    Sandbox::start(config).await.expect("sandbox starts")
}

pub fn http() -> reqwest::Client {
    client_builder().build().expect("http client")
}

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
}

/// A client for `sb` (in-process, or a `sandbox serve`'s startup line): over
/// HTTPS it trusts the sandbox's CA (and only it).
pub fn http_for(sb: &StartupInfo) -> reqwest::Client {
    let Some(ca) = &sb.ca_cert else {
        return http();
    };
    let pem = std::fs::read(ca).expect("the sandbox's CA file");
    client_builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).expect("a PEM certificate")])
        .build()
        .expect("https client")
}

pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// POSTs a form to the token endpoint: (status, JSON body).
pub async fn token_request(sb: &StartupInfo, form: &[(&str, &str)]) -> (StatusCode, Value) {
    post_form_with(&http_for(sb), &sb.token_endpoint(), form).await
}

pub async fn post_form(url: &str, form: &[(&str, &str)]) -> (StatusCode, Value) {
    post_form_with(&http(), url, form).await
}

async fn post_form_with(
    client: &reqwest::Client,
    url: &str,
    form: &[(&str, &str)],
) -> (StatusCode, Value) {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    let response = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .expect("token request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// The AADSTS number of a token endpoint error body.
pub fn aadsts(body: &Value) -> u64 {
    let code = body["error_codes"][0].as_u64().unwrap_or(0);
    let description = body["error_description"].as_str().unwrap_or_default();
    assert!(
        description.starts_with(&format!("AADSTS{code}:")),
        "error_description should start with the code: {body}"
    );
    code
}

/// The device code grant's `grant_type`.
pub const DEVICE_GRANT: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// A device code for Graph Command Line Tools asking for `scope`: the
/// devicecode endpoint's answer.
pub async fn device_code(sb: &StartupInfo, scope: &str) -> Value {
    let (status, body) = post_form_with(
        &http_for(sb),
        &format!("{}/oauth2/v2.0/devicecode", sb.authority()),
        &[("client_id", GRAPH_CLI), ("scope", scope)],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// One poll of the token endpoint for the device code `code` (the
/// devicecode endpoint's answer).
pub async fn poll_device_code(sb: &StartupInfo, code: &Value) -> (StatusCode, Value) {
    token_request(
        sb,
        &[
            ("grant_type", DEVICE_GRANT),
            ("client_id", GRAPH_CLI),
            (
                "device_code",
                code["device_code"].as_str().expect("a device code"),
            ),
        ],
    )
    .await
}

pub async fn password_grant(
    sb: &StartupInfo,
    upn: &str,
    password: &str,
    scope: &str,
) -> (StatusCode, Value) {
    token_request(
        sb,
        &[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", upn),
            ("password", password),
            ("scope", scope),
        ],
    )
    .await
}

/// A Graph token for a seeded user (by the part before the @).
pub async fn user_token(sb: &SandboxHandle, name: &str) -> String {
    let user = sb.user(name).expect("seeded user");
    let (status, body) = password_grant(sb, &user.upn, &user.password, GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_string()
}

pub async fn admin_token(sb: &SandboxHandle) -> String {
    user_token(sb, "hybrid.admin").await
}

/// A Graph token for `upn` signed in with `password`, asking for `scope`:
/// for tokens narrower than [`user_token`]'s `.default`, or for users a test created.
pub async fn password_token(sb: &SandboxHandle, upn: &str, password: &str, scope: &str) -> String {
    let (status, body) = password_grant(sb, upn, password, scope).await;
    assert_eq!(status, StatusCode::OK, "{upn}: {body}");
    body["access_token"].as_str().expect("token").to_string()
}

/// A token for a seeded user (by the part before the @) with the scope string
/// `scope`: what a test needs to see a permission missing from the token.
pub async fn user_token_with_scope(sb: &SandboxHandle, name: &str, scope: &str) -> String {
    let user = sb.user(name).expect("seeded user");
    password_token(sb, &user.upn, &user.password, scope).await
}

/// A Graph call: (status, JSON body or Null).
pub async fn graph(
    sb: &SandboxHandle,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let url = if path.starts_with("http") {
        path.to_string()
    } else {
        format!("{}{path}", sb.graph_url)
    };
    let mut request = http_for(sb).request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("graph request");
    let status = response.status();
    let text = response.text().await.expect("body");
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, value)
}

// One function per HTTP method: most Graph calls in the tests are one of
// these, and naming the method keeps a call on one line where `graph` takes five.

/// What Graph answered: (status, JSON body or Null).
pub type GraphReply = (StatusCode, Value);

/// [`graph`] with GET.
pub async fn graph_get(sb: &SandboxHandle, token: &str, path: &str) -> GraphReply {
    graph(sb, token, Method::GET, path, None).await
}

/// [`graph`] with POST and the JSON `body`.
pub async fn graph_post(sb: &SandboxHandle, token: &str, path: &str, body: Value) -> GraphReply {
    graph(sb, token, Method::POST, path, Some(body)).await
}

/// [`graph`] with PATCH and the JSON `body`.
pub async fn graph_patch(sb: &SandboxHandle, token: &str, path: &str, body: Value) -> GraphReply {
    graph(sb, token, Method::PATCH, path, Some(body)).await
}

/// [`graph`] with DELETE.
pub async fn graph_delete(sb: &SandboxHandle, token: &str, path: &str) -> GraphReply {
    graph(sb, token, Method::DELETE, path, None).await
}

// What a test expects of a call that must succeed, checked where it is made:
// the failure names the path and prints Graph's answer.

/// A GET that must answer 200: the body.
pub async fn get_ok(sb: &SandboxHandle, token: &str, path: &str) -> Value {
    let (status, body) = graph_get(sb, token, path).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// A POST that must create (201): the object created.
pub async fn post_created(sb: &SandboxHandle, token: &str, path: &str, body: Value) -> Value {
    let (status, body) = graph_post(sb, token, path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{path}: {body}");
    body
}

/// A PATCH that must succeed (204).
pub async fn patch_ok(sb: &SandboxHandle, token: &str, path: &str, body: Value) {
    let (status, body) = graph_patch(sb, token, path, body).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{path}: {body}");
}

/// A DELETE that must succeed (204).
pub async fn delete_ok(sb: &SandboxHandle, token: &str, path: &str) {
    let (status, body) = graph_delete(sb, token, path).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{path}: {body}");
}

/// Graph's refusal of a caller without the permission or role: 403
/// `Authorization_RequestDenied`, with its message. `what` names the attempt.
pub fn assert_denied(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(
        body["error"]["code"], "Authorization_RequestDenied",
        "{what}: {body}"
    );
    assert_eq!(
        body["error"]["message"], "Insufficient privileges to complete the operation.",
        "{what}: {body}"
    );
}

/// An RSA 2048 key and its self-signed certificate, made by the test.
pub struct TestCert {
    pub der: Vec<u8>,
    pub encoding: EncodingKey,
    /// The private key, PKCS#8 PEM, for clients that sign with it themselves.
    pub key_pem: String,
}

impl TestCert {
    pub fn new() -> TestCert {
        let key =
            rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
                .expect("RSA key");
        let der = entra_connect::keys::self_signed(&key, 30).expect("certificate");
        let key_pem = key.serialize_pem();
        let encoding = EncodingKey::from_rsa_pem(key_pem.as_bytes()).expect("PKCS#8");
        TestCert {
            der,
            encoding,
            key_pem,
        }
    }

    pub fn x5t_s256(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }

    pub fn x5t(&self) -> String {
        use sha1::Digest as _;
        URL_SAFE_NO_PAD.encode(sha1::Sha1::digest(&self.der))
    }

    pub fn key_base64(&self) -> String {
        STANDARD.encode(&self.der)
    }

    pub fn key_credential(&self) -> Value {
        json!({ "type": "AsymmetricX509Cert", "usage": "Verify", "key": self.key_base64() })
    }

    /// Signs `claims` with PS256, naming the certificate by x5t#S256.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(Algorithm::PS256, claims)
    }

    pub fn sign_with(&self, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.typ = Some("JWT".into());
        header.x5t_s256 = Some(self.x5t_s256());
        jsonwebtoken::encode(&header, claims, &self.encoding).expect("signing")
    }

    /// Client assertion claims as the platform documents them.
    pub fn assertion_claims(&self, sb: &SandboxHandle, client_id: &str) -> Value {
        let now = now();
        json!({
            "aud": sb.token_endpoint(),
            "iss": client_id,
            "sub": client_id,
            "jti": uuid::Uuid::new_v4().to_string(),
            "nbf": now,
            "iat": now,
            "exp": now + 600,
        })
    }

    pub fn assertion(&self, sb: &SandboxHandle, client_id: &str) -> String {
        self.sign(&self.assertion_claims(sb, client_id))
    }

    /// A proof of possession for addKey/removeKey on the application `object_id`.
    pub fn proof(&self, object_id: &str) -> String {
        let now = now();
        self.sign_with(
            Algorithm::RS256,
            &json!({
                "aud": "00000002-0000-0000-c000-000000000000",
                "iss": object_id,
                "nbf": now,
                "exp": now + 600,
            }),
        )
    }
}

impl Default for TestCert {
    fn default() -> Self {
        Self::new()
    }
}

/// An application registered through Graph, with its service principal.
pub struct App {
    pub object_id: String,
    pub app_id: String,
    pub sp_id: String,
}

pub async fn create_app(
    sb: &SandboxHandle,
    token: &str,
    name: &str,
    keys: Vec<Value>,
) -> (String, String) {
    let (status, body) = graph(
        sb,
        token,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": name, "signInAudience": "AzureADMyOrg", "keyCredentials": keys })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    (
        body["id"].as_str().expect("id").to_string(),
        body["appId"].as_str().expect("appId").to_string(),
    )
}

pub async fn create_sp(sb: &SandboxHandle, token: &str, app_id: &str) -> String {
    let (status, body) = graph(
        sb,
        token,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "appId": app_id })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    body["id"].as_str().expect("id").to_string()
}

/// The service principal of the application `app_id`, read by its alternate key.
pub async fn service_principal_of(sb: &SandboxHandle, token: &str, app_id: &str) -> Value {
    get_ok(sb, token, &format!("/servicePrincipals(appId='{app_id}')")).await
}

/// An app role assignment's body: `principal` granted the app role `role` of
/// the service principal `resource` (ids as strings or JSON values).
pub fn app_role_assignment(
    principal: impl serde::Serialize,
    resource: impl serde::Serialize,
    role: impl serde::Serialize,
) -> Value {
    json!({ "principalId": principal, "resourceId": resource, "appRoleId": role })
}

/// A user's body for POST /users: `name` in the seeded domain, enabled, with
/// [`NEW_USER_PASSWORD`] and no change required at the next sign-in.
pub fn new_user(name: &str) -> Value {
    new_user_with_password(name, NEW_USER_PASSWORD)
}

/// [`new_user`] with the password `password`, for tests of the password rules.
pub fn new_user_with_password(name: &str, password: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": name,
        "mailNickname": name,
        "userPrincipalName": seeded_upn(name),
        "passwordProfile": { "password": password, "forceChangePasswordNextSignIn": false },
    })
}

/// The object id of a seeded user (by the part before the @), as `token`'s caller reads it.
pub async fn seeded_user_id(sb: &SandboxHandle, token: &str, name: &str) -> String {
    let upn = &sb.user(name).expect("seeded user").upn;
    let body = get_ok(sb, token, &format!("/users/{upn}")).await;
    body["id"].as_str().expect("id").to_string()
}

/// Assigns the directory role `role` (its template id) to `principal`,
/// tenant-wide, through roleManagement: (status, body).
pub async fn assign_role(
    sb: &SandboxHandle,
    token: &str,
    principal: &str,
    role: &str,
) -> GraphReply {
    graph_post(
        sb,
        token,
        "/roleManagement/directory/roleAssignments",
        json!({ "principalId": principal, "roleDefinitionId": role, "directoryScopeId": "/" }),
    )
    .await
}

/// Registers an application with `cert`, its service principal, and the
/// synchronization service's app role.
pub async fn register_app(sb: &SandboxHandle, cert: &TestCert) -> App {
    register_app_with_key(sb, cert.key_credential()).await
}

/// [`register_app`] with the key credential `key` (a certificate's DER, in
/// Graph's keyCredential form).
pub async fn register_app_with_key(sb: &SandboxHandle, key: Value) -> App {
    let token = admin_token(sb).await;
    let (object_id, app_id) = create_app(
        sb,
        &token,
        "ConnectSyncProvisioning_TEST_0123456789ab",
        vec![key],
    )
    .await;
    let sp_id = create_sp(sb, &token, &app_id).await;
    let (status, sync) = graph(
        sb,
        &token,
        Method::GET,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sync}");
    let (status, body) = graph(
        sb,
        &token,
        Method::POST,
        &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
        Some(json!({
            "principalId": sp_id,
            "resourceId": sync["id"],
            "appRoleId": SYNC_ROLE_ID,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    App {
        object_id,
        app_id,
        sp_id,
    }
}

pub async fn client_credentials(
    sb: &SandboxHandle,
    client_id: &str,
    assertion: &str,
    scope: &str,
) -> (StatusCode, Value) {
    token_request(
        sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
            ("scope", scope),
        ],
    )
    .await
}

/// An app-only token for `app`, with an assertion signed by `cert`: for tests
/// of what the application may do, not of how it gets the token.
pub async fn app_token(sb: &SandboxHandle, app: &App, cert: &TestCert, scope: &str) -> String {
    let assertion = cert.assertion(sb, &app.app_id);
    let (status, body) = client_credentials(sb, &app.app_id, &assertion, scope).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().expect("token").to_string()
}

/// A client secret an Application Administrator adds to the connector's
/// application `app_id` (addPassword): the answer, with `secretText`, once.
pub async fn plant_secret(sb: &SandboxHandle, app_id: &str) -> Value {
    let admin = user_token(sb, "app.admin").await;
    let application = get_ok(sb, &admin, &format!("/applications(appId='{app_id}')")).await;
    let object = application["id"].as_str().unwrap();
    add_password(sb, &admin, &format!("/applications/{object}"), "planted").await
}

/// A client secret named `name` added with `token` to `object`
/// (`/applications/{id}` or `/servicePrincipals/{id}`): Graph's answer, with
/// `secretText`, once.
pub async fn add_password(sb: &SandboxHandle, token: &str, object: &str, name: &str) -> Value {
    let (status, added) = graph(
        sb,
        token,
        Method::POST,
        &format!("{object}/addPassword"),
        Some(json!({ "passwordCredential": { "displayName": name } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    added
}

/// The application `app_id`'s token with a client secret, as whoever holds
/// the secret would ask: the status and the body.
pub async fn token_with_secret(
    sb: &SandboxHandle,
    app_id: &str,
    secret: &str,
) -> (StatusCode, Value) {
    token_request(
        sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", app_id),
            ("client_secret", secret),
            ("scope", SYNC_SCOPE),
        ],
    )
    .await
}

/// The claims of a JWT, unverified (the tests check what the sandbox put there).
pub fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).expect("JWT payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64url")).expect("JSON")
}

/// The flags that point a command at the sandbox `sb`.
pub fn connection(sb: &SandboxHandle) -> Vec<String> {
    vec![
        "--tenant".into(),
        sb.tenant_id.clone(),
        "--authority-host".into(),
        sb.authority_host.clone(),
        "--graph-url".into(),
        sb.graph_url.clone(),
    ]
}

/// How long a change waits for the tenant's replication, unless a test says
/// otherwise: long enough for a slow machine, short enough to fail in time.
pub const REPLICATION_TIMEOUT: &str = "30";

/// [`connection`] and the replication budget.
pub fn connection_waiting(sb: &SandboxHandle) -> Vec<String> {
    let mut args = connection(sb);
    args.extend(["--replication-timeout".into(), REPLICATION_TIMEOUT.into()]);
    args
}

/// Every application of this tool in the tenant (all pages), as an administrator reads them.
pub async fn provisioning_apps(sb: &SandboxHandle) -> Vec<Value> {
    let token = admin_token(sb).await;
    let mut apps = Vec::new();
    let mut next =
        "/applications?$filter=startswith(displayName,'ConnectSyncProvisioning_')".to_string();
    loop {
        let (status, page) = graph(sb, &token, Method::GET, &next, None).await;
        assert!(status.is_success(), "{page}");
        apps.extend(page["value"].as_array().expect("a page").iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(link) => next = link.to_string(),
            None => return apps,
        }
    }
}

/// GETs `url` (an identity endpoint of `sb`: discovery, keys, realm) and
/// returns its JSON body.
pub async fn get_json(sb: &SandboxHandle, url: &str) -> Value {
    let response = http_for(sb).get(url).send().await.expect("GET request");
    response.json().await.expect("JSON body")
}

/// The id of Microsoft Graph's app role `value`, looked up by value.
pub fn graph_role_id(graph_sp: &Value, value: &str) -> String {
    graph_sp["appRoles"]
        .as_array()
        .expect("appRoles")
        .iter()
        .find(|r| r["value"] == value)
        .and_then(|r| r["id"].as_str())
        .unwrap_or_else(|| panic!("Graph publishes {value}"))
        .to_string()
}

/// Grants `principal` Microsoft Graph's app role `value` as `token`'s user,
/// through Graph's `appRoleAssignedTo`: (status, body).
pub async fn grant_graph_role(
    sb: &SandboxHandle,
    token: &str,
    principal: &str,
    value: &str,
) -> GraphReply {
    let admin = user_token(sb, "global.admin").await;
    let graph_sp = service_principal_of(sb, &admin, GRAPH_APP_ID).await;
    let graph_sp_id = graph_sp["id"].as_str().unwrap();
    graph_post(
        sb,
        token,
        &format!("/servicePrincipals/{graph_sp_id}/appRoleAssignedTo"),
        app_role_assignment(principal, graph_sp_id, graph_role_id(&graph_sp, value)),
    )
    .await
}

/// A registered application granted Microsoft Graph's application
/// permissions `roles` (by a Global Administrator), and its app-only token,
/// whose `roles` are checked to carry exactly those.
pub async fn app_with_graph_roles(sb: &SandboxHandle, roles: &[&str]) -> (App, String) {
    let cert = TestCert::new();
    let app = register_app(sb, &cert).await;
    let global = user_token(sb, "global.admin").await;
    for role in roles {
        let (status, body) = grant_graph_role(sb, &global, &app.sp_id, role).await;
        assert_eq!(status, StatusCode::CREATED, "{role}: {body}");
    }
    let token = app_token(sb, &app, &cert, GRAPH_SCOPE).await;
    let mut held: Vec<String> = claims(&token)["roles"]
        .as_array()
        .map(|r| r.iter().map(|v| v.as_str().unwrap().to_string()).collect())
        .unwrap_or_default();
    held.sort();
    let mut wanted: Vec<String> = roles.iter().map(|r| r.to_string()).collect();
    wanted.sort();
    assert_eq!(held, wanted, "the token carries the roles granted");
    (app, token)
}

/// The seed tenant's domain, which its users' UPNs end with.
pub const SEED_DOMAIN: &str = "contoso-sandbox.onmicrosoft.com";

/// The UPN of the seeded (or a new) user `name`.
pub fn seeded_upn(name: &str) -> String {
    format!("{name}@{SEED_DOMAIN}")
}
