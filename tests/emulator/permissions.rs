//! The sandbox's permission model: consent per client (what delegated tokens
//! may carry in `scp`), admin consent at device code approval, and Graph's
//! check of the token's scopes AND the signed-in user's role permissions.

use crate::harness::process;
use crate::harness::tenant::*;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle, StartupInfo};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

const GRAPH_BY_APP_ID: &str = "00000003-0000-0000-c000-000000000000/.default";
/// What the default seed consents for Microsoft Graph Command Line Tools.
const CONSENTED: [&str; 8] = [
    "User.Read",
    "Application.Read.All",
    "Application.ReadWrite.All",
    "AppRoleAssignment.ReadWrite.All",
    "User.ReadWrite.All",
    "RoleManagement.ReadWrite.Directory",
    "RoleManagement.Read.Directory",
    "Directory.AccessAsUser.All",
];
const SYNC_ACCOUNTS_ROLE: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";

fn without_consent() -> SandboxConfig {
    SandboxConfig {
        without_consent: true,
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

fn scp(token_body: &Value) -> BTreeSet<String> {
    let token = token_body["access_token"].as_str().expect("a token");
    claims(token)["scp"]
        .as_str()
        .expect("scp")
        .split(' ')
        .map(str::to_string)
        .collect()
}

fn set(scopes: &[&str]) -> BTreeSet<String> {
    scopes.iter().map(|s| s.to_string()).collect()
}

fn assert_consent_required(status: StatusCode, body: &Value) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(aadsts(body), 65001);
    assert_eq!(body["suberror"], "consent_required", "{body}");
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(&format!("the application with ID '{GRAPH_CLI}'"))
            && description.contains("named 'Microsoft Graph Command Line Tools'")
            && description.contains("Send an interactive authorization request"),
        "{description}"
    );
}

// ---------------------------------------------------------------- consent

#[tokio::test]
async fn without_consent_the_password_grant_needs_consent() {
    let sb = start_with(without_consent()).await;
    for scope in [
        GRAPH_SCOPE,
        GRAPH_BY_APP_ID,
        "https://graph.microsoft.com/User.Read openid profile offline_access",
        SYNC_SCOPE,
    ] {
        let (status, body) = password_grant(&sb, &sb.admin_upn, &sb.admin_password, scope).await;
        assert_consent_required(status, &body);
    }
    // Credentials are checked first: a wrong password is still AADSTS50126.
    let (_, body) = password_grant(&sb, &sb.admin_upn, "wrong", GRAPH_SCOPE).await;
    assert_eq!(aadsts(&body), 50126);
    // A permission Graph does not offer is still AADSTS70011.
    let (_, body) = password_grant(
        &sb,
        &sb.admin_upn,
        &sb.admin_password,
        "https://graph.microsoft.com/Mail.Send",
    )
    .await;
    assert_eq!(aadsts(&body), 70011);
}

#[tokio::test]
async fn default_scope_yields_every_consented_scope() {
    let sb = start().await;
    let global = sb.user("global.admin").unwrap().clone();
    for scope in [GRAPH_SCOPE, GRAPH_BY_APP_ID] {
        let (status, body) = password_grant(&sb, &global.upn, &global.password, scope).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(scp(&body), set(&CONSENTED), "{scope}");
    }
    // The sync service's consent is its own resource's.
    let (status, body) = password_grant(&sb, &global.upn, &global.password, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(scp(&body), set(&["user_impersonation"]));
}

#[tokio::test]
async fn explicit_scopes_yield_those_requested_when_all_are_consented() {
    let sb = start().await;
    let (status, body) = password_grant(
        &sb,
        &sb.admin_upn,
        &sb.admin_password,
        "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/User.Read offline_access openid profile",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(scp(&body), set(&["Application.ReadWrite.All", "User.Read"]));
    // Bare names are Graph permissions; any case is the same permission.
    let (status, body) = password_grant(
        &sb,
        &sb.admin_upn,
        &sb.admin_password,
        "user.read AppRoleAssignment.ReadWrite.All",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        scp(&body),
        set(&["User.Read", "AppRoleAssignment.ReadWrite.All"])
    );
    // One permission Graph offers but nobody consented to: the whole request needs consent.
    let (status, body) = password_grant(
        &sb,
        &sb.admin_upn,
        &sb.admin_password,
        "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Directory.Read.All",
    )
    .await;
    assert_consent_required(status, &body);
}

/// Approves a device code as `name` through the test hook; the hook's status.
async fn approve(sb: &SandboxHandle, code: &Value, name: &str) -> String {
    let upn = sb.user(name).expect("seeded user").upn.clone();
    let response = http()
        .post(format!("{}/sandbox/device/approve", sb.authority_host))
        .json(&json!({ "user_code": code["user_code"], "upn": upn }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["status"].as_str().unwrap_or_default().to_string()
}

/// Polls until the flow ends (at most 6 polls, one interval apart).
async fn poll_until_done(sb: &SandboxHandle, code: &Value) -> (StatusCode, Value) {
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(1050)).await;
        let (status, body) = poll_device_code(sb, code).await;
        if body["error"] != "authorization_pending" && body["error"] != "slow_down" {
            return (status, body);
        }
    }
    panic!("the device flow did not end within 6 polls");
}

#[tokio::test]
async fn device_code_approved_by_a_global_administrator_consents() {
    let sb = start_with(without_consent()).await;
    let scope = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/User.Read offline_access openid profile";
    // Asking for a code needs no consent yet; the approval is where it is given.
    let code = device_code(&sb, scope).await;
    assert_eq!(approve(&sb, &code, "global.admin").await, "consented");
    let (status, body) = poll_until_done(&sb, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(scp(&body), set(&["Application.ReadWrite.All", "User.Read"]));
    assert_eq!(
        claims(body["access_token"].as_str().unwrap())["upn"],
        sb.user("global.admin").unwrap().upn.as_str()
    );

    // The consent is the organization's: it stays, for every user.
    let (status, body) = password_grant(&sb, &sb.admin_upn, &sb.admin_password, scope).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = password_grant(&sb, &sb.admin_upn, &sb.admin_password, GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(scp(&body), set(&["Application.ReadWrite.All", "User.Read"]));
    // And it is no wider than what was asked for.
    let (status, body) = password_grant(
        &sb,
        &sb.admin_upn,
        &sb.admin_password,
        "https://graph.microsoft.com/User.ReadWrite.All",
    )
    .await;
    assert_consent_required(status, &body);

    // A later sign-in that asks for what is consented needs nobody's consent.
    let code = device_code(&sb, "https://graph.microsoft.com/User.Read").await;
    assert_eq!(approve(&sb, &code, "plain.user").await, "approved");
    let (status, body) = poll_until_done(&sb, &code).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(scp(&body), set(&["User.Read"]));
}

#[tokio::test]
async fn device_code_approved_by_a_hybrid_identity_administrator_needs_admin_consent() {
    let sb = start_with(without_consent()).await;
    let scope = "https://graph.microsoft.com/Application.ReadWrite.All https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All offline_access";
    let code = device_code(&sb, scope).await;
    assert_eq!(
        approve(&sb, &code, "hybrid.admin").await,
        "admin_consent_required"
    );
    let (status, body) = poll_until_done(&sb, &code).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert_eq!(aadsts(&body), 90094);
    assert!(
        body["error_description"].as_str().unwrap().contains(
            "Admin consent is required for the permissions requested by this application."
        ),
        "{body}"
    );
    // The flow is over, and nothing was consented.
    tokio::time::sleep(Duration::from_millis(1050)).await;
    let (_, again) = poll_device_code(&sb, &code).await;
    assert_eq!(aadsts(&again), 90094);
    let (status, body) = password_grant(&sb, &sb.admin_upn, &sb.admin_password, scope).await;
    assert_consent_required(status, &body);

    // Every role that may consent for the organization does, at approval.
    for name in ["app.admin", "cloudapp.admin", "role.admin"] {
        let sb = start_with(without_consent()).await;
        let code = device_code(&sb, scope).await;
        assert_eq!(approve(&sb, &code, name).await, "consented", "{name}");
    }
    // A User Administrator may not.
    let code = device_code(&sb, scope).await;
    assert_eq!(
        approve(&sb, &code, "user.admin").await,
        "admin_consent_required"
    );
}

// ------------------------------------------------------------ Graph roles

async fn create_app_as(
    sb: &SandboxHandle,
    token: &str,
    name: &str,
    keys: Vec<Value>,
) -> (StatusCode, Value) {
    graph(
        sb,
        token,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": name, "signInAudience": "AzureADMyOrg", "keyCredentials": keys })),
    )
    .await
}

async fn patch_keys(
    sb: &SandboxHandle,
    token: &str,
    object_id: &str,
    keys: Vec<Value>,
) -> (StatusCode, Value) {
    graph(
        sb,
        token,
        Method::PATCH,
        &format!("/applications/{object_id}"),
        Some(json!({ "keyCredentials": keys })),
    )
    .await
}

async fn create_user(sb: &SandboxHandle, token: &str, name: &str) -> (StatusCode, Value) {
    graph(sb, token, Method::POST, "/users", Some(new_user(name))).await
}

#[tokio::test]
async fn hybrid_identity_administrator_registers_applications_but_nothing_more() {
    let sb = start().await;
    let hia = admin_token(&sb).await;
    let cert = TestCert::new();
    // Creating an application with its certificate is part of creating it.
    let (status, app) = create_app_as(
        &sb,
        &hia,
        "ConnectSyncProvisioning_HIA_0123456789ab",
        vec![cert.key_credential()],
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let object_id = app["id"].as_str().unwrap().to_string();
    let app_id = app["appId"].as_str().unwrap().to_string();
    let sp_id = create_sp(&sb, &hia, &app_id).await;
    let (_, sync) = graph(
        &sb,
        &hia,
        Method::GET,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
        None,
    )
    .await;
    let (status, body) = graph(
        &sb,
        &hia,
        Method::POST,
        &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
        Some(json!({ "principalId": sp_id, "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Its required permissions and name, yes.
    let access = json!([{ "resourceAppId": SYNC_APP_ID, "resourceAccess": [{ "id": SYNC_ROLE_ID, "type": "Role" }] }]);
    let (status, body) = graph(
        &sb,
        &hia,
        Method::PATCH,
        &format!("/applications/{object_id}"),
        Some(json!({ "displayName": "Renamed", "requiredResourceAccess": access })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    // Credentials of an existing application, users, role assignments: no.
    let (status, body) = patch_keys(
        &sb,
        &hia,
        &object_id,
        vec![TestCert::new().key_credential()],
    )
    .await;
    assert_denied(status, &body, "HIA PATCH keyCredentials");
    let (status, body) = create_user(&sb, &hia, "hia.made").await;
    assert_denied(status, &body, "HIA POST /users");
    let plain = seeded_user_id(&sb, &hia, "plain.user").await;
    let (status, body) = assign_role(&sb, &hia, &plain, USER_ADMINISTRATOR).await;
    assert_denied(status, &body, "HIA POST roleAssignments");
    let (status, body) = graph(&sb, &hia, Method::DELETE, &format!("/users/{plain}"), None).await;
    assert_denied(status, &body, "HIA DELETE /users");
    let (status, body) = graph(
        &sb,
        &hia,
        Method::GET,
        &format!("/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{SYNC_ACCOUNTS_ROLE}'"),
        None,
    )
    .await;
    assert_denied(status, &body, "HIA GET roleAssignments");
    // Nor may it add keys with a proof as itself: that is a credential update too.
    let (status, body) = graph(
        &sb,
        &hia,
        Method::POST,
        &format!("/applications/{object_id}/addKey"),
        Some(json!({ "keyCredential": TestCert::new().key_credential(), "passwordCredential": null, "proof": cert.proof(&object_id) })),
    )
    .await;
    assert_denied(status, &body, "HIA addKey");
}

#[tokio::test]
async fn application_administrators_update_credentials() {
    let sb = start().await;
    let hia = admin_token(&sb).await;
    let (object_id, _) = create_app(
        &sb,
        &hia,
        "CredentialsTarget",
        vec![TestCert::new().key_credential()],
    )
    .await;
    let plain = seeded_user_id(&sb, &hia, "plain.user").await;
    for name in ["app.admin", "cloudapp.admin"] {
        let token = user_token(&sb, name).await;
        let (status, body) = patch_keys(
            &sb,
            &token,
            &object_id,
            vec![TestCert::new().key_credential()],
        )
        .await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{name}: {body}");
        let (status, body) =
            create_user(&sb, &token, &format!("by.{}", name.replace('.', "-"))).await;
        assert_denied(status, &body, name);
        let (status, body) = assign_role(&sb, &token, &plain, USER_ADMINISTRATOR).await;
        assert_denied(status, &body, name);
    }
    let (_, app) = graph(
        &sb,
        &hia,
        Method::GET,
        &format!("/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(app["keyCredentials"].as_array().unwrap().len(), 1, "{app}");
}

#[tokio::test]
async fn user_administrator_creates_and_deletes_users_but_not_administrators() {
    // Long enough that the first sign-in, made right after the creation,
    // always comes before the account has replicated, however slow the machine.
    let lag = Duration::from_secs(3);
    let sb = start_with(SandboxConfig {
        replication_lag: lag,
        ..without_app_registration_by_users()
    })
    .await;
    let token = user_token(&sb, "user.admin").await;
    let created = std::time::Instant::now();
    let (status, user) = create_user(&sb, &token, "Sync_HOST3_0123456789ab").await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    assert_eq!(user["accountEnabled"], true);
    let id = user["id"].as_str().unwrap().to_string();
    let upn = user["userPrincipalName"].as_str().unwrap().to_string();

    // The new account signs in with its password only once it has
    // replicated: until then Entra does not know it (AADSTS50034).
    let (status, body) = password_grant(&sb, &upn, NEW_USER_PASSWORD, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 50034, "{body}");
    let deadline = created + lag + Duration::from_secs(30);
    loop {
        let (status, body) = password_grant(&sb, &upn, NEW_USER_PASSWORD, SYNC_SCOPE).await;
        if status == StatusCode::OK {
            break;
        }
        assert_eq!(aadsts(&body), 50034, "{body}");
        assert!(
            std::time::Instant::now() < deadline,
            "the new user cannot sign in {:?} after its creation",
            created.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(created.elapsed() >= lag, "signed in before it replicated");

    let (status, body) = create_user(&sb, &token, "Sync_HOST3_0123456789ab").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest");
    assert_eq!(
        body["error"]["message"],
        "Another object with the same value for property userPrincipalName already exists."
    );
    let (status, body) = graph(&sb, &token, Method::GET, &format!("/users/{upn}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["id"], id.as_str());

    // Administrators are out of its reach; so are applications and roles.
    let hia = seeded_user_id(&sb, &token, "hybrid.admin").await;
    let (status, body) = graph(&sb, &token, Method::DELETE, &format!("/users/{hia}"), None).await;
    assert_denied(
        status,
        &body,
        "User Administrator deleting an administrator",
    );
    let (status, body) = create_app_as(&sb, &token, "x", vec![]).await;
    assert_denied(status, &body, "User Administrator POST /applications");
    let (status, body) = assign_role(&sb, &token, &id, SYNC_ACCOUNTS_ROLE).await;
    assert_denied(status, &body, "User Administrator POST roleAssignments");

    // Nor is a directory synchronization account: its role is privileged.
    let sync = seeded_user_id(&sb, &token, "Sync_CONNECT01_1a2b3c4d5e6f").await;
    let (status, body) = graph(&sb, &token, Method::DELETE, &format!("/users/{sync}"), None).await;
    assert_denied(
        status,
        &body,
        "User Administrator deleting a directory synchronization account",
    );
    let (status, body) = graph(&sb, &token, Method::DELETE, &format!("/users/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = graph(&sb, &token, Method::GET, &format!("/users/{upn}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn privileged_role_administrator_assigns_roles() {
    let sb = start_with(without_app_registration_by_users()).await;
    let token = user_token(&sb, "role.admin").await;
    let plain = seeded_user_id(&sb, &token, "plain.user").await;
    let (status, body) = assign_role(&sb, &token, &plain, USER_ADMINISTRATOR).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["principalId"], plain.as_str());
    assert_eq!(body["roleDefinitionId"], USER_ADMINISTRATOR);
    assert_eq!(body["directoryScopeId"], "/");
    let assignment = body["id"].as_str().unwrap().to_string();
    let (status, body) = assign_role(&sb, &token, &plain, USER_ADMINISTRATOR).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "duplicate: {body}");

    // Listed by role and by principal.
    let (status, list) = graph(
        &sb,
        &token,
        Method::GET,
        &format!("/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{USER_ADMINISTRATOR}'"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    let principals: BTreeSet<&str> = list["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["principalId"].as_str().unwrap())
        .collect();
    assert!(principals.contains(plain.as_str()), "{list}");
    assert_eq!(
        principals.len(),
        2,
        "the seeded User Administrator and the new one: {list}"
    );
    let (status, list) = graph(
        &sb,
        &token,
        Method::GET,
        &format!("/roleManagement/directory/roleAssignments?$filter=principalId eq '{plain}'"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list["value"][0]["id"], assignment.as_str());

    // The role takes effect: the user now creates users.
    let now_admin = user_token(&sb, "plain.user").await;
    let (status, body) = create_user(&sb, &now_admin, "made.by.plain").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Not users or applications itself.
    let (status, body) = create_user(&sb, &token, "pra.made").await;
    assert_denied(status, &body, "PRA POST /users");
    let (status, body) = create_app_as(&sb, &token, "x", vec![]).await;
    assert_denied(status, &body, "PRA POST /applications");

    // Removing the assignment removes the role.
    let path = format!("/roleManagement/directory/roleAssignments/{assignment}");
    let (status, body) = graph(&sb, &token, Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = graph(&sb, &token, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = create_user(&sb, &now_admin, "made.by.plain.again").await;
    assert_denied(status, &body, "no longer a User Administrator");
}

#[tokio::test]
async fn global_administrator_does_everything() {
    let sb = start().await;
    let token = user_token(&sb, "global.admin").await;
    let cert = TestCert::new();
    let (status, app) = create_app_as(&sb, &token, "ByGlobal", vec![cert.key_credential()]).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let object_id = app["id"].as_str().unwrap();
    let (status, body) = patch_keys(
        &sb,
        &token,
        object_id,
        vec![TestCert::new().key_credential()],
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, user) = create_user(&sb, &token, "Sync_HOST4_0123456789ab").await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let id = user["id"].as_str().unwrap();
    let (status, body) = assign_role(&sb, &token, id, SYNC_ACCOUNTS_ROLE).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = graph(
        &sb,
        &token,
        Method::GET,
        &format!("/roleManagement/directory/roleAssignments?$filter=roleDefinitionId eq '{SYNC_ACCOUNTS_ROLE}'"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"].as_array().unwrap().len(), 2, "{body}");
    // Deleting a holder of a privileged role (an administrator, a directory
    // synchronization account) also needs Directory.AccessAsUser.All.
    let narrow = user_token_with_scope(
        &sb,
        "global.admin",
        "https://graph.microsoft.com/User.ReadWrite.All",
    )
    .await;
    let user_admin = seeded_user_id(&sb, &token, "user.admin").await;
    for target in [id, user_admin.as_str()] {
        let path = format!("/users/{target}");
        let (status, body) = graph(&sb, &narrow, Method::DELETE, &path, None).await;
        assert_denied(
            status,
            &body,
            "deleting a privileged role's member without Directory.AccessAsUser.All",
        );
        let (status, body) = graph(&sb, &token, Method::DELETE, &path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    }
}

#[tokio::test]
async fn a_token_without_the_scope_is_refused_whatever_the_role() {
    let sb = start().await;
    let only_me =
        user_token_with_scope(&sb, "global.admin", "https://graph.microsoft.com/User.Read").await;
    let (status, body) = graph(&sb, &only_me, Method::GET, "/me", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = graph(&sb, &only_me, Method::GET, "/organization", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = graph(&sb, &only_me, Method::GET, "/applications", None).await;
    assert_denied(status, &body, "GET /applications with User.Read");
    let (status, body) = create_app_as(&sb, &only_me, "x", vec![]).await;
    assert_denied(status, &body, "POST /applications with User.Read");
    let (status, body) = create_user(&sb, &only_me, "x").await;
    assert_denied(status, &body, "POST /users with User.Read");
    let (status, body) = graph(&sb, &only_me, Method::GET, "/directoryRoles", None).await;
    assert_denied(status, &body, "GET /directoryRoles with User.Read");
    // Its own user, by UPN, is readable with User.Read; others are not.
    let me = sb.user("global.admin").unwrap().upn.clone();
    let (status, body) = graph(&sb, &only_me, Method::GET, &format!("/users/{me}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let other = sb.user("plain.user").unwrap().upn.clone();
    let (status, body) = graph(&sb, &only_me, Method::GET, &format!("/users/{other}"), None).await;
    assert_denied(status, &body, "GET another user with User.Read");

    // Writing applications without granting app roles.
    let apps_only = user_token_with_scope(&sb, "global.admin", "Application.ReadWrite.All").await;
    let (status, app) = create_app_as(&sb, &apps_only, "ScopeCheck", vec![]).await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let sp_id = create_sp(&sb, &apps_only, app["appId"].as_str().unwrap()).await;
    let (_, sync) = graph(
        &sb,
        &apps_only,
        Method::GET,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
        None,
    )
    .await;
    let grant =
        json!({ "principalId": sp_id, "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID });
    let path = format!("/servicePrincipals/{sp_id}/appRoleAssignments");
    let (status, body) = graph(&sb, &apps_only, Method::POST, &path, Some(grant.clone())).await;
    assert_denied(
        status,
        &body,
        "app role assignment without AppRoleAssignment.ReadWrite.All",
    );
    // Graph wants AppRoleAssignment.ReadWrite.All AND a read of applications.
    let roles_only =
        user_token_with_scope(&sb, "global.admin", "AppRoleAssignment.ReadWrite.All").await;
    let (status, body) = graph(&sb, &roles_only, Method::POST, &path, Some(grant.clone())).await;
    assert_denied(
        status,
        &body,
        "app role assignment without Application.Read.All",
    );
    let both = user_token_with_scope(
        &sb,
        "global.admin",
        "AppRoleAssignment.ReadWrite.All Application.Read.All",
    )
    .await;
    let (status, body) = graph(&sb, &both, Method::POST, &path, Some(grant)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");

    // Role assignments with the consented RoleManagement.ReadWrite.Directory only.
    let roles =
        user_token_with_scope(&sb, "global.admin", "RoleManagement.ReadWrite.Directory").await;
    let (status, body) = graph(
        &sb,
        &roles,
        Method::GET,
        "/roleManagement/directory/roleAssignments",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = create_user(&sb, &roles, "x").await;
    assert_denied(
        status,
        &body,
        "POST /users with RoleManagement.ReadWrite.Directory",
    );
}

#[tokio::test]
async fn a_user_without_a_role_reads_but_changes_nothing() {
    let sb = start_with(without_app_registration_by_users()).await;
    let token = user_token(&sb, "plain.user").await;
    for path in [
        "/me",
        "/organization",
        "/applications",
        "/servicePrincipals",
        "/directoryRoles",
    ] {
        let (status, body) = graph(&sb, &token, Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    let hia = sb.user("hybrid.admin").unwrap().upn.clone();
    let (status, body) = graph(&sb, &token, Method::GET, &format!("/users/{hia}"), None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = create_app_as(&sb, &token, "x", vec![]).await;
    assert_denied(status, &body, "no role POST /applications");
    let (status, body) = graph(
        &sb,
        &token,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "appId": SYNC_APP_ID })),
    )
    .await;
    assert_denied(status, &body, "no role POST /servicePrincipals");
    let (status, body) = graph(
        &sb,
        &token,
        Method::GET,
        "/roleManagement/directory/roleAssignments",
        None,
    )
    .await;
    assert_denied(status, &body, "no role GET roleAssignments");
}

// ------------------------------------------------------------ serve

struct Killed(std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn serve_without_consent_lists_every_user_and_needs_consent() {
    use std::io::{BufRead, BufReader};
    let mut child = process::binary()
        .args(["sandbox", "serve", "--port", "0", "--without-consent"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn entra-connect");
    let stdout = child.stdout.take().expect("stdout");
    let _child = Killed(child);
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive
        .recv_timeout(Duration::from_secs(20))
        .expect("a startup line within 20 s");
    let info: StartupInfo = serde_json::from_str(&line).expect("the first line is JSON");
    let raw: Value = serde_json::from_str(&line).unwrap();
    let listed: Vec<(String, Vec<String>, bool)> = raw["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            assert!(u["password"].as_str().is_some_and(|p| !p.is_empty()), "{u}");
            let name = u["upn"]
                .as_str()
                .unwrap()
                .split('@')
                .next()
                .unwrap()
                .to_string();
            let roles = u["roles"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap().to_string())
                .collect();
            (name, roles, u["mfa_required"].as_bool().unwrap())
        })
        .collect();
    let expected: Vec<(&str, &[&str], bool)> = vec![
        ("hybrid.admin", &["Hybrid Identity Administrator"], false),
        ("global.admin", &["Global Administrator"], false),
        ("app.admin", &["Application Administrator"], false),
        (
            "cloudapp.admin",
            &["Cloud Application Administrator"],
            false,
        ),
        ("role.admin", &["Privileged Role Administrator"], false),
        ("user.admin", &["User Administrator"], false),
        ("plain.user", &[], false),
        ("mfa.admin", &["Hybrid Identity Administrator"], true),
        (
            "Sync_CONNECT01_1a2b3c4d5e6f",
            &["Directory Synchronization Accounts"],
            false,
        ),
    ];
    assert_eq!(listed.len(), expected.len(), "{listed:?}");
    for (name, roles, mfa) in expected {
        let found = listed
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("{name} is listed: {listed:?}"));
        assert_eq!(found.1, roles, "{name}");
        assert_eq!(found.2, mfa, "{name}");
    }

    let admin = info.user("hybrid.admin").unwrap();
    let (status, body) = post_form(
        &info.token_endpoint(),
        &[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", &admin.upn),
            ("password", &admin.password),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await;
    assert_consent_required(status, &body);
}
