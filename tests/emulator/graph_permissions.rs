//! Graph's permission rules as Microsoft documents them, beyond the roles of
//! `permissions`: app-only callers hold exactly the Graph application
//! permissions in their token's `roles`; app role assignment by every role
//! the Graph page supports, but Microsoft Graph's own app roles only by a
//! Privileged Role Administrator or a Global Administrator; and the tenant's
//! "users can register applications" setting, with the owners it makes.

use crate::harness::tenant::*;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
const USER_ADMINISTRATOR: &str = "fe930be7-5e62-47db-91af-98c3a49a38b1";

fn assert_denied(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::FORBIDDEN, "{what}: {body}");
    assert_eq!(
        body["error"]["code"], "Authorization_RequestDenied",
        "{what}"
    );
}

async fn get_ok(sb: &SandboxHandle, token: &str, path: &str) -> Value {
    let (status, body) = graph(sb, token, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

/// Microsoft Graph's service principal.
async fn graph_sp(sb: &SandboxHandle, token: &str) -> Value {
    get_ok(
        sb,
        token,
        &format!("/servicePrincipals(appId='{GRAPH_APP_ID}')"),
    )
    .await
}

/// The id of Microsoft Graph's app role `value`, looked up by value.
fn graph_role_id(graph_sp: &Value, value: &str) -> String {
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
async fn grant_graph_role(
    sb: &SandboxHandle,
    token: &str,
    principal: &str,
    value: &str,
) -> (StatusCode, Value) {
    let admin = user_token(sb, "global.admin").await;
    let graph_sp = graph_sp(sb, &admin).await;
    graph(
        sb,
        token,
        Method::POST,
        &format!(
            "/servicePrincipals/{}/appRoleAssignedTo",
            graph_sp["id"].as_str().unwrap()
        ),
        Some(json!({
            "principalId": principal,
            "resourceId": graph_sp["id"],
            "appRoleId": graph_role_id(&graph_sp, value),
        })),
    )
    .await
}

/// A registered application granted Microsoft Graph's application
/// permissions `roles` (by a Global Administrator), and its app-only token,
/// whose `roles` are checked to carry exactly those.
async fn app_with_graph_roles(sb: &SandboxHandle, roles: &[&str]) -> (App, String) {
    let cert = TestCert::new();
    let app = register_app(sb, &cert).await;
    let global = user_token(sb, "global.admin").await;
    for role in roles {
        let (status, body) = grant_graph_role(sb, &global, &app.sp_id, role).await;
        assert_eq!(status, StatusCode::CREATED, "{role}: {body}");
    }
    let (status, body) = client_credentials(
        sb,
        &app.app_id,
        &cert.assertion(sb, &app.app_id),
        GRAPH_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let token = body["access_token"].as_str().unwrap().to_string();
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

fn new_user(name: &str) -> Value {
    json!({
        "accountEnabled": true,
        "displayName": name,
        "mailNickname": name,
        "userPrincipalName": format!("{name}@contoso-sandbox.onmicrosoft.com"),
        "passwordProfile": { "password": "Str0ng!Passw0rd-42", "forceChangePasswordNextSignIn": false },
    })
}

async fn post(sb: &SandboxHandle, token: &str, path: &str, body: Value) -> (StatusCode, Value) {
    graph(sb, token, Method::POST, path, Some(body)).await
}

// ------------------------------------------------------------ app-only

#[tokio::test]
async fn graph_publishes_its_application_permissions_with_their_real_ids() {
    let sb = start().await;
    let token = admin_token(&sb).await;
    let graph_sp = graph_sp(&sb, &token).await;
    for (value, id) in [
        (
            "Application.Read.All",
            "9a5d68dd-52b0-4cc2-bd40-abcf44ac3a30",
        ),
        (
            "Application.ReadWrite.All",
            "1bfefb4e-e0b5-418b-a88f-73c46d2cc8e9",
        ),
        (
            "Application.ReadWrite.OwnedBy",
            "18a4783c-866b-4cc7-a460-3d5e5662c884",
        ),
        (
            "AppRoleAssignment.ReadWrite.All",
            "06b708a9-e830-4db3-a914-8e69da51d44f",
        ),
        ("Directory.Read.All", "7ab1d382-f21e-4acd-a863-ba3e13f7da61"),
        (
            "Directory.ReadWrite.All",
            "19dbc75e-c2e2-444c-a770-ec69d8559fc7",
        ),
        ("User.Read.All", "df021288-bdef-4463-88db-98f22de89214"),
        ("User.ReadWrite.All", "741f803b-c850-494e-b5df-cde7c675a1ca"),
        (
            "RoleManagement.ReadWrite.Directory",
            "9e3f62cf-ca93-4989-b6ce-bf83c28f9fe8",
        ),
    ] {
        assert_eq!(graph_role_id(&graph_sp, value), id, "{value}");
    }
}

#[tokio::test]
async fn an_application_without_graph_permissions_reads_and_writes_nothing_else() {
    let sb = start().await;
    let (app, token) = app_with_graph_roles(&sb, &[]).await;
    for path in [
        "/applications",
        "/servicePrincipals",
        "/users",
        "/directoryRoles",
        "/organization",
    ] {
        let (status, body) = graph(&sb, &token, Method::GET, path, None).await;
        assert_denied(status, &body, path);
    }
    let (status, body) = post(&sb, &token, "/applications", json!({ "displayName": "x" })).await;
    assert_denied(status, &body, "POST /applications");
    // Its own objects it reads without any.
    get_ok(&sb, &token, &format!("/applications/{}", app.object_id)).await;
    get_ok(&sb, &token, &format!("/servicePrincipals/{}", app.sp_id)).await;
}

#[tokio::test]
async fn application_permissions_for_applications_are_the_tables() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let (other, _) = create_app(&sb, &admin, "other", vec![]).await;

    // Application.Read.All and Directory.Read.All read, and write nothing.
    for read in ["Application.Read.All", "Directory.Read.All"] {
        let (_, token) = app_with_graph_roles(&sb, &[read]).await;
        get_ok(&sb, &token, "/applications").await;
        get_ok(&sb, &token, &format!("/applications/{other}")).await;
        get_ok(&sb, &token, "/servicePrincipals").await;
        let (status, body) =
            post(&sb, &token, "/applications", json!({ "displayName": "x" })).await;
        assert_denied(status, &body, read);
        let (status, body) = graph(
            &sb,
            &token,
            Method::PATCH,
            &format!("/applications/{other}"),
            Some(json!({ "notes": "x" })),
        )
        .await;
        assert_denied(status, &body, read);
    }

    // Application.ReadWrite.All creates, changes and deletes any application.
    let (_, token) = app_with_graph_roles(&sb, &["Application.ReadWrite.All"]).await;
    let (status, created) = post(
        &sb,
        &token,
        "/applications",
        json!({ "displayName": "by an app" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let owners = get_ok(
        &sb,
        &token,
        &format!("/applications/{}/owners", created["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(
        owners["value"],
        json!([]),
        "Application.ReadWrite.All creates without owning"
    );
    let (status, body) = graph(
        &sb,
        &token,
        Method::PATCH,
        &format!("/applications/{other}"),
        Some(json!({ "notes": "changed by an app" })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = graph(
        &sb,
        &token,
        Method::DELETE,
        &format!("/applications/{other}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // ...but no users.
    let (status, body) = post(&sb, &token, "/users", new_user("not.by.an.app")).await;
    assert_denied(status, &body, "Application.ReadWrite.All POST /users");
}

#[tokio::test]
async fn application_readwrite_ownedby_manages_only_what_the_application_owns() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let (other, _) = create_app(&sb, &admin, "not owned", vec![]).await;
    let (app, token) = app_with_graph_roles(&sb, &["Application.ReadWrite.OwnedBy"]).await;
    let (status, created) = post(
        &sb,
        &token,
        "/applications",
        json!({ "displayName": "owned" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().unwrap();
    let owners = get_ok(&sb, &token, &format!("/applications/{id}/owners")).await;
    assert_eq!(owners["value"][0]["id"], app.sp_id.as_str(), "{owners}");
    assert_eq!(
        owners["value"][0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    let (status, body) = graph(
        &sb,
        &token,
        Method::PATCH,
        &format!("/applications/{id}"),
        Some(json!({ "notes": "mine" })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, sp) = post(
        &sb,
        &token,
        "/servicePrincipals",
        json!({ "appId": created["appId"] }),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "its own application's service principal: {sp}"
    );
    // What it does not own stays out of reach, and there is no list of all.
    let (status, body) = graph(
        &sb,
        &token,
        Method::PATCH,
        &format!("/applications/{other}"),
        Some(json!({ "notes": "not mine" })),
    )
    .await;
    assert_denied(status, &body, "OwnedBy PATCH another application");
    let (status, body) = graph(
        &sb,
        &token,
        Method::DELETE,
        &format!("/applications/{other}"),
        None,
    )
    .await;
    assert_denied(status, &body, "OwnedBy DELETE another application");
    let (status, body) = graph(&sb, &token, Method::GET, "/applications", None).await;
    assert_denied(status, &body, "OwnedBy GET /applications");
    let (status, body) = graph(
        &sb,
        &token,
        Method::DELETE,
        &format!("/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

#[tokio::test]
async fn application_permissions_for_users_and_roles_are_the_tables() {
    let sb = start().await;
    let (_, read) = app_with_graph_roles(&sb, &["User.Read.All"]).await;
    get_ok(&sb, &read, "/users").await;
    let upn = sb.user("plain.user").unwrap().upn.clone();
    get_ok(&sb, &read, &format!("/users/{upn}")).await;
    get_ok(&sb, &read, &format!("/users/{upn}/transitiveMemberOf")).await;
    let (status, body) = post(&sb, &read, "/users", new_user("by.reader")).await;
    assert_denied(status, &body, "User.Read.All POST /users");

    let (_, write) = app_with_graph_roles(&sb, &["User.ReadWrite.All"]).await;
    let (status, user) = post(&sb, &write, "/users", new_user("by.writer")).await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let (status, body) = graph(
        &sb,
        &write,
        Method::GET,
        "/roleManagement/directory/roleAssignments",
        None,
    )
    .await;
    assert_denied(status, &body, "User.ReadWrite.All GET roleAssignments");
    // A holder of a privileged role is out of an application's reach.
    let hia = sb.user("hybrid.admin").unwrap().upn.clone();
    let (status, body) = graph(&sb, &write, Method::DELETE, &format!("/users/{hia}"), None).await;
    assert_denied(status, &body, "User.ReadWrite.All DELETE an administrator");
    let (status, body) = graph(
        &sb,
        &write,
        Method::DELETE,
        &format!("/users/{}", user["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    let (_, roles) = app_with_graph_roles(&sb, &["RoleManagement.ReadWrite.Directory"]).await;
    let plain = get_ok(&sb, &roles, "/directoryRoles").await;
    assert!(!plain["value"].as_array().unwrap().is_empty());
    let admin = admin_token(&sb).await;
    let plain_id = get_ok(&sb, &admin, &format!("/users/{upn}")).await["id"].clone();
    let (status, body) = post(
        &sb,
        &roles,
        "/roleManagement/directory/roleAssignments",
        json!({ "principalId": plain_id, "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn application_permission_to_assign_app_roles_needs_a_read_of_applications_too() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let target = register_app(&sb, &TestCert::new()).await;
    let reset = get_ok(
        &sb,
        &admin,
        "/servicePrincipals(appId='93625bc8-bfe2-437a-97e0-3d0060024faa')",
    )
    .await;
    let grant = json!({
        "principalId": target.sp_id,
        "resourceId": reset["id"],
        "appRoleId": reset["appRoles"][0]["id"],
    });
    let path = format!("/servicePrincipals/{}/appRoleAssignments", target.sp_id);
    let (_, alone) = app_with_graph_roles(&sb, &["AppRoleAssignment.ReadWrite.All"]).await;
    let (status, body) = post(&sb, &alone, &path, grant.clone()).await;
    assert_denied(status, &body, "AppRoleAssignment.ReadWrite.All alone");
    let (_, both) = app_with_graph_roles(
        &sb,
        &["AppRoleAssignment.ReadWrite.All", "Application.Read.All"],
    )
    .await;
    let (status, body) = post(&sb, &both, &path, grant).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // With it an application may grant Microsoft Graph's own roles too.
    let (status, body) = grant_graph_role(&sb, &both, &target.sp_id, "User.Read.All").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// ------------------------------------------------------------ app role assignment by users

#[tokio::test]
async fn every_supported_role_grants_app_roles_but_graph_roles_need_a_privileged_role_administrator()
 {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let reset = get_ok(
        &sb,
        &admin,
        "/servicePrincipals(appId='93625bc8-bfe2-437a-97e0-3d0060024faa')",
    )
    .await;
    let reset_id = reset["id"].as_str().unwrap().to_string();
    let reset_role = reset["appRoles"][0]["id"].clone();
    for (name, graph_roles_too) in [
        ("hybrid.admin", false),
        ("app.admin", false),
        ("cloudapp.admin", false),
        ("user.admin", false),
        ("Sync_CONNECT01_1a2b3c4d5e6f", false),
        ("role.admin", true),
        ("global.admin", true),
    ] {
        let target = register_app(&sb, &TestCert::new()).await;
        let token = user_token(&sb, name).await;
        let (status, body) = post(
            &sb,
            &token,
            &format!("/servicePrincipals/{reset_id}/appRoleAssignedTo"),
            json!({ "principalId": target.sp_id, "resourceId": reset_id, "appRoleId": reset_role }),
        )
        .await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{name} grants an app role: {body}"
        );
        let (status, body) =
            grant_graph_role(&sb, &token, &target.sp_id, "Application.ReadWrite.All").await;
        if graph_roles_too {
            assert_eq!(
                status,
                StatusCode::CREATED,
                "{name} grants a Graph app role: {body}"
            );
        } else {
            assert_denied(status, &body, &format!("{name} grants a Graph app role"));
        }
    }
    let target = register_app(&sb, &TestCert::new()).await;
    let plain = user_token(&sb, "plain.user").await;
    let (status, body) = post(
        &sb,
        &plain,
        &format!("/servicePrincipals/{}/appRoleAssignments", target.sp_id),
        json!({ "principalId": target.sp_id, "resourceId": reset_id, "appRoleId": reset_role }),
    )
    .await;
    assert_denied(status, &body, "a user without a role grants an app role");
}

#[tokio::test]
async fn granting_app_roles_needs_both_scopes_whatever_the_role() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let target = register_app(&sb, &TestCert::new()).await;
    let reset = get_ok(
        &sb,
        &admin,
        "/servicePrincipals(appId='93625bc8-bfe2-437a-97e0-3d0060024faa')",
    )
    .await;
    let global = sb.user("global.admin").unwrap().clone();
    for scope in [
        "https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All",
        "https://graph.microsoft.com/Application.ReadWrite.All",
    ] {
        let (status, body) = password_grant(&sb, &global.upn, &global.password, scope).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["access_token"].as_str().unwrap();
        let (status, body) = post(
            &sb,
            token,
            &format!("/servicePrincipals/{}/appRoleAssignments", target.sp_id),
            json!({ "principalId": target.sp_id, "resourceId": reset["id"], "appRoleId": reset["appRoles"][0]["id"] }),
        )
        .await;
        assert_denied(status, &body, scope);
    }
}

#[tokio::test]
async fn a_member_who_owns_the_resource_application_grants_its_roles_without_a_role() {
    let sb = start().await;
    let plain = user_token(&sb, "plain.user").await;
    let (status, api) = post(
        &sb,
        &plain,
        "/applications",
        json!({
            "displayName": "an api of its own",
            "appRoles": [{
                "id": "2c7a5a4e-58f2-4c4b-9d6e-0f3d2a1b4c5e", "value": "Things.Read.All", "displayName": "Read things",
                "description": "Read things", "allowedMemberTypes": ["Application"], "isEnabled": true,
            }],
        }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{api}");
    let admin = admin_token(&sb).await;
    let resource = create_sp(&sb, &admin, api["appId"].as_str().unwrap()).await;
    let client = register_app(&sb, &TestCert::new()).await;
    let grant = json!({ "principalId": client.sp_id, "resourceId": resource, "appRoleId": "2c7a5a4e-58f2-4c4b-9d6e-0f3d2a1b4c5e" });
    let path = format!("/servicePrincipals/{resource}/appRoleAssignedTo");
    // A User Administrator (who may grant app roles) is not needed...
    let (status, body) = post(&sb, &plain, &path, grant.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "the owner grants: {body}");
    // ...but a member who does not own it may not.
    let user_admin = user_token(&sb, "user.admin").await;
    let (status, stranger) = post(&sb, &user_admin, "/users", new_user("stranger")).await;
    assert_eq!(status, StatusCode::CREATED, "{stranger}");
    let (status, body) = password_grant(
        &sb,
        "stranger@contoso-sandbox.onmicrosoft.com",
        "Str0ng!Passw0rd-42",
        GRAPH_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let stranger = body["access_token"].as_str().unwrap();
    let other = register_app(&sb, &TestCert::new()).await;
    let (status, body) = post(
        &sb,
        stranger,
        &path,
        json!({ "principalId": other.sp_id, "resourceId": resource, "appRoleId": "2c7a5a4e-58f2-4c4b-9d6e-0f3d2a1b4c5e" }),
    )
    .await;
    assert_denied(status, &body, "a member who does not own the resource");
}

// ------------------------------------------------------------ users can register applications

#[tokio::test]
async fn a_member_registers_applications_by_default_and_owns_them() {
    let sb = start().await;
    let plain = user_token(&sb, "plain.user").await;
    let me = get_ok(&sb, &plain, "/me").await;
    let (status, app) = post(
        &sb,
        &plain,
        "/applications",
        json!({ "displayName": "mine" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let id = app["id"].as_str().unwrap();
    let owners = get_ok(&sb, &plain, &format!("/applications/{id}/owners")).await;
    assert_eq!(owners["value"][0]["id"], me["id"], "{owners}");
    // The owner manages it, certificates included...
    let (status, body) = graph(
        &sb,
        &plain,
        Method::PATCH,
        &format!("/applications/{id}"),
        Some(json!({ "notes": "mine", "keyCredentials": [TestCert::new().key_credential()] })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    // ...but creates no service principal without the Application Developer role,
    let (status, body) = post(
        &sb,
        &plain,
        "/servicePrincipals",
        json!({ "appId": app["appId"] }),
    )
    .await;
    assert_denied(
        status,
        &body,
        "an owner without a role creates the service principal",
    );
    // and changes no application it does not own.
    let admin = admin_token(&sb).await;
    let (other, _) = create_app(&sb, &admin, "an administrator's", vec![]).await;
    let (status, body) = graph(
        &sb,
        &plain,
        Method::PATCH,
        &format!("/applications/{other}"),
        Some(json!({ "notes": "not mine" })),
    )
    .await;
    assert_denied(
        status,
        &body,
        "a member changes an application they do not own",
    );
    // An administrator who creates one does not become its owner.
    let owners = get_ok(&sb, &admin, &format!("/applications/{other}/owners")).await;
    assert_eq!(owners["value"], json!([]));
    let (status, body) = graph(
        &sb,
        &plain,
        Method::DELETE,
        &format!("/applications/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

/// The default seed, with users not allowed to register applications and
/// an Application Developer.
fn restricted_with_a_developer() -> SandboxConfig {
    let mut seed = default_seed();
    seed["authorization_policy"]["allowed_to_create_apps"] = false.into();
    seed["roles"].as_array_mut().unwrap().push(json!({
        "template_id": "cf1c38e5-3621-4004-a7cb-879624dced7c",
        "display_name": "Application Developer",
    }));
    seed["users"].as_array_mut().unwrap().push(json!({
        "name": "app.developer",
        "display_name": "Application Developer",
        "roles": ["Application Developer"],
    }));
    SandboxConfig {
        seed: Some(seed.to_string()),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn with_registration_restricted_only_the_roles_that_may_create_applications() {
    let sb = start_with(restricted_with_a_developer()).await;
    for (name, may) in [
        ("plain.user", false),
        ("role.admin", false),
        ("user.admin", false),
        ("app.developer", true),
        ("hybrid.admin", true),
        ("app.admin", true),
        ("cloudapp.admin", true),
        ("global.admin", true),
    ] {
        let token = user_token(&sb, name).await;
        let (status, body) =
            post(&sb, &token, "/applications", json!({ "displayName": name })).await;
        if may {
            assert_eq!(status, StatusCode::CREATED, "{name}: {body}");
        } else {
            assert_denied(status, &body, name);
        }
    }
    // The developer owns what it registers, and creates its service principal.
    let developer = user_token(&sb, "app.developer").await;
    let (status, app) = post(
        &sb,
        &developer,
        "/applications",
        json!({ "displayName": "developed" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let owners = get_ok(
        &sb,
        &developer,
        &format!("/applications/{}/owners", app["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(owners["value"].as_array().unwrap().len(), 1, "{owners}");
    let (status, body) = post(
        &sb,
        &developer,
        "/servicePrincipals",
        json!({ "appId": app["appId"] }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // ...but not one for an application it does not own.
    let admin = admin_token(&sb).await;
    let (_, other) = create_app(&sb, &admin, "not the developer's", vec![]).await;
    let (status, body) = post(
        &sb,
        &developer,
        "/servicePrincipals",
        json!({ "appId": other }),
    )
    .await;
    assert_denied(
        status,
        &body,
        "a developer creates another's service principal",
    );
}

// ------------------------------------------------------------ users change users

#[tokio::test]
async fn users_change_themselves_and_user_administrators_change_others_but_not_administrators() {
    let sb = start().await;
    let plain = user_token(&sb, "plain.user").await;
    let plain_upn = sb.user("plain.user").unwrap().upn.clone();
    let hia_upn = sb.user("hybrid.admin").unwrap().upn.clone();
    let patch = |token: String, who: String, body: Value| {
        let sb = &sb;
        async move {
            graph(
                sb,
                &token,
                Method::PATCH,
                &format!("/users/{who}"),
                Some(body),
            )
            .await
        }
    };
    let (status, body) = graph(
        &sb,
        &plain,
        Method::PATCH,
        "/me",
        Some(json!({ "jobTitle": "Tester" })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "oneself: {body}");
    let (status, body) = patch(plain.clone(), hia_upn.clone(), json!({ "jobTitle": "x" })).await;
    assert_denied(status, &body, "a user without a role changes someone else");

    let user_admin = user_token(&sb, "user.admin").await;
    let (status, body) = patch(
        user_admin.clone(),
        plain_upn.clone(),
        json!({ "department": "Sync" }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "User Administrator: {body}");
    let (status, body) = patch(
        user_admin.clone(),
        hia_upn.clone(),
        json!({ "department": "x" }),
    )
    .await;
    assert_denied(status, &body, "User Administrator changes an administrator");
    let global = user_token(&sb, "global.admin").await;
    let (status, body) = patch(global, hia_upn.clone(), json!({ "department": "Identity" })).await;
    assert_eq!(
        status,
        StatusCode::NO_CONTENT,
        "Global Administrator: {body}"
    );

    // A password needs Directory.AccessAsUser.All as well.
    let new_password = json!({ "passwordProfile": { "password": "An0ther!Passw0rd-7", "forceChangePasswordNextSignIn": false } });
    let admin = sb.user("user.admin").unwrap().clone();
    let (status, body) = password_grant(
        &sb,
        &admin.upn,
        &admin.password,
        "https://graph.microsoft.com/User.ReadWrite.All",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let without = body["access_token"].as_str().unwrap().to_string();
    let (status, body) = patch(without, plain_upn.clone(), new_password.clone()).await;
    assert_denied(
        status,
        &body,
        "a password without Directory.AccessAsUser.All",
    );
    let (status, body) = patch(user_admin, plain_upn.clone(), new_password).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = password_grant(&sb, &plain_upn, "An0ther!Passw0rd-7", GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "the new password signs in: {body}");
}

// ------------------------------------------------------------ the authorization policy

/// The default seed, with Graph Command Line Tools consented for the policy scopes too.
fn with_policy_consent() -> SandboxConfig {
    let mut seed = default_seed();
    let consent = seed["consents"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|c| c["resource"] == GRAPH_APP_ID)
        .expect("Graph's consent");
    let scopes = consent["scopes"].as_array_mut().unwrap();
    scopes.push("Policy.Read.All".into());
    scopes.push("Policy.ReadWrite.Authorization".into());
    SandboxConfig {
        seed: Some(seed.to_string()),
        ..SandboxConfig::default()
    }
}

#[tokio::test]
async fn members_read_the_authorization_policy_and_a_privileged_role_administrator_changes_it() {
    let sb = start_with(with_policy_consent()).await;
    let plain = user_token(&sb, "plain.user").await;
    let policy = get_ok(&sb, &plain, "/policies/authorizationPolicy").await;
    assert_eq!(policy["id"], "authorizationPolicy");
    assert_eq!(
        policy["defaultUserRolePermissions"]["allowedToCreateApps"],
        true
    );
    let off = json!({
        "@odata.type": "#microsoft.graph.authorizationPolicy",
        "defaultUserRolePermissions": { "allowedToCreateApps": false },
    });
    for name in ["plain.user", "app.admin", "hybrid.admin", "user.admin"] {
        let token = user_token(&sb, name).await;
        let (status, body) = graph(
            &sb,
            &token,
            Method::PATCH,
            "/policies/authorizationPolicy",
            Some(off.clone()),
        )
        .await;
        assert_denied(status, &body, name);
    }
    let role_admin = user_token(&sb, "role.admin").await;
    let (status, body) = graph(
        &sb,
        &role_admin,
        Method::PATCH,
        "/policies/authorizationPolicy",
        Some(off),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let policy = get_ok(&sb, &plain, "/policies/authorizationPolicy").await;
    assert_eq!(
        policy["defaultUserRolePermissions"]["allowedToCreateApps"],
        false
    );
    assert_eq!(
        policy["defaultUserRolePermissions"]["allowedToReadOtherUsers"],
        true
    );
    // It takes effect at once.
    let (status, body) = post(
        &sb,
        &plain,
        "/applications",
        json!({ "displayName": "refused" }),
    )
    .await;
    assert_denied(
        status,
        &body,
        "a member once users may not register applications",
    );
    let global = user_token(&sb, "global.admin").await;
    let (status, body) = graph(
        &sb,
        &global,
        Method::PATCH,
        "/policies/authorizationPolicy",
        Some(json!({ "defaultUserRolePermissions": { "allowedToCreateApps": true } })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = post(
        &sb,
        &plain,
        "/applications",
        json!({ "displayName": "allowed" }),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // Without the scope, no reading it.
    let (status, body) = graph(
        &sb,
        &admin_token_without_policy(&sb).await,
        Method::GET,
        "/policies/authorizationPolicy",
        None,
    )
    .await;
    assert_denied(status, &body, "without Policy.Read.All");
}

async fn admin_token_without_policy(sb: &SandboxHandle) -> String {
    let global = sb.user("global.admin").unwrap().clone();
    let (status, body) = password_grant(
        sb,
        &global.upn,
        &global.password,
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["access_token"].as_str().unwrap().to_string()
}
