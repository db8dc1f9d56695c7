//! Graph's permission rules as Microsoft documents them, beyond the roles of
//! `permissions`: app-only callers hold exactly the Graph application
//! permissions in their token's `roles`; app role assignment by every role
//! the Graph page supports, but Microsoft Graph's own app roles only by a
//! Privileged Role Administrator or a Global Administrator; and the tenant's
//! "users can register applications" setting, with the owners it makes.

use crate::harness::tenant::*;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Creates an application named `name` (and nothing more) as `token`'s
/// caller, which must be allowed to: the application created. Who then owns
/// it depends on the caller, which is what these tests check.
async fn create_application(sb: &SandboxHandle, token: &str, name: &str) -> Value {
    post_created(sb, token, "/applications", json!({ "displayName": name })).await
}

/// The path of an application created as `token`'s caller (by [`create_application`]).
fn path_of(application: &Value) -> String {
    format!("/applications/{}", application["id"].as_str().unwrap())
}

/// The owners of the application at `path`, as `token`'s caller reads them.
async fn owners_of(sb: &SandboxHandle, token: &str, path: &str) -> Value {
    get_ok(sb, token, &format!("{path}/owners")).await["value"].clone()
}

/// Creates the service principal of the application `app_id` as `token`'s
/// caller: (status, body). Who may is part of what these tests check.
async fn create_service_principal(sb: &SandboxHandle, token: &str, app_id: &Value) -> GraphReply {
    graph_post(sb, token, "/servicePrincipals", json!({ "appId": app_id })).await
}

/// The path of an application an administrator registered: one the callers
/// these tests try do not own.
async fn not_owned_application(sb: &SandboxHandle, name: &str) -> String {
    let admin = admin_token(sb).await;
    let (object_id, _) = create_app(sb, &admin, name, vec![]).await;
    format!("/applications/{object_id}")
}

/// The password reset service's service principal id and its first app role:
/// an app role any role that grants app roles may grant, unlike Graph's own.
async fn password_reset_role(sb: &SandboxHandle) -> (String, Value) {
    let admin = admin_token(sb).await;
    let reset = service_principal_of(sb, &admin, PASSWORD_RESET_APP_ID).await;
    (
        reset["id"].as_str().unwrap().to_string(),
        reset["appRoles"][0]["id"].clone(),
    )
}

/// The answer to a request a caller may or may not make: `success` if it is
/// `allowed`, Graph's refusal if not. `what` names the attempt.
fn assert_allowed_or_denied(
    status: StatusCode,
    body: &Value,
    allowed: bool,
    success: StatusCode,
    what: &str,
) {
    if allowed {
        assert_eq!(status, success, "{what}: {body}");
    } else {
        assert_denied(status, body, what);
    }
}

// ------------------------------------------------------------ app-only

#[tokio::test]
async fn graph_publishes_its_application_permissions_with_their_real_ids() {
    let sb = start().await;
    let token = admin_token(&sb).await;
    let graph_sp = service_principal_of(&sb, &token, GRAPH_APP_ID).await;
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
        let (status, body) = graph_get(&sb, &token, path).await;
        assert_denied(status, &body, path);
    }
    let (status, body) =
        graph_post(&sb, &token, "/applications", json!({ "displayName": "x" })).await;
    assert_denied(status, &body, "POST /applications");
    // Its own application object it reads without any; not its service
    // principal, which Graph documents no such read of (issue 21).
    get_ok(&sb, &token, &format!("/applications/{}", app.object_id)).await;
    let path = format!("/servicePrincipals/{}", app.sp_id);
    let (status, body) = graph_get(&sb, &token, &path).await;
    assert_denied(status, &body, &path);
}

#[tokio::test]
async fn application_permissions_for_applications_are_the_tables() {
    let sb = start().await;
    let other = not_owned_application(&sb, "other").await;

    // Application.Read.All and Directory.Read.All read, and write nothing.
    for read in ["Application.Read.All", "Directory.Read.All"] {
        let (_, token) = app_with_graph_roles(&sb, &[read]).await;
        for path in ["/applications", other.as_str(), "/servicePrincipals"] {
            get_ok(&sb, &token, path).await;
        }
        let (status, body) =
            graph_post(&sb, &token, "/applications", json!({ "displayName": "x" })).await;
        assert_denied(status, &body, read);
        let (status, body) = graph_patch(&sb, &token, &other, json!({ "notes": "x" })).await;
        assert_denied(status, &body, read);
    }

    // Application.ReadWrite.All creates, changes and deletes any application.
    let (_, token) = app_with_graph_roles(&sb, &["Application.ReadWrite.All"]).await;
    let created = create_application(&sb, &token, "by an app").await;
    assert_eq!(
        owners_of(&sb, &token, &path_of(&created)).await,
        json!([]),
        "Application.ReadWrite.All creates without owning"
    );
    patch_ok(&sb, &token, &other, json!({ "notes": "changed by an app" })).await;
    delete_ok(&sb, &token, &other).await;
    // ...but no users.
    let (status, body) = graph_post(&sb, &token, "/users", new_user("not.by.an.app")).await;
    assert_denied(status, &body, "Application.ReadWrite.All POST /users");
}

#[tokio::test]
async fn application_readwrite_ownedby_manages_only_what_the_application_owns() {
    let sb = start().await;
    let other = not_owned_application(&sb, "not owned").await;
    let (app, token) = app_with_graph_roles(&sb, &["Application.ReadWrite.OwnedBy"]).await;
    let created = create_application(&sb, &token, "owned").await;
    let own = path_of(&created);
    let owners = owners_of(&sb, &token, &own).await;
    assert_eq!(owners[0]["id"], app.sp_id.as_str(), "{owners}");
    assert_eq!(
        owners[0]["@odata.type"],
        "#microsoft.graph.servicePrincipal"
    );
    patch_ok(&sb, &token, &own, json!({ "notes": "mine" })).await;
    let (status, sp) = create_service_principal(&sb, &token, &created["appId"]).await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "its own application's service principal: {sp}"
    );
    // What it does not own stays out of reach, and there is no list of all.
    let (status, body) = graph_patch(&sb, &token, &other, json!({ "notes": "not mine" })).await;
    assert_denied(status, &body, "OwnedBy PATCH another application");
    let (status, body) = graph_delete(&sb, &token, &other).await;
    assert_denied(status, &body, "OwnedBy DELETE another application");
    let (status, body) = graph_get(&sb, &token, "/applications").await;
    assert_denied(status, &body, "OwnedBy GET /applications");
    delete_ok(&sb, &token, &own).await;
}

#[tokio::test]
async fn application_permissions_for_users_and_roles_are_the_tables() {
    let sb = start().await;
    let (_, read) = app_with_graph_roles(&sb, &["User.Read.All"]).await;
    let upn = sb.user("plain.user").unwrap().upn.clone();
    for path in [
        "/users".to_string(),
        format!("/users/{upn}"),
        format!("/users/{upn}/transitiveMemberOf"),
    ] {
        get_ok(&sb, &read, &path).await;
    }
    let (status, body) = graph_post(&sb, &read, "/users", new_user("by.reader")).await;
    assert_denied(status, &body, "User.Read.All POST /users");

    let (_, write) = app_with_graph_roles(&sb, &["User.ReadWrite.All"]).await;
    let user = post_created(&sb, &write, "/users", new_user("by.writer")).await;
    let assignments = "/roleManagement/directory/roleAssignments";
    let (status, body) = graph_get(&sb, &write, assignments).await;
    assert_denied(status, &body, "User.ReadWrite.All GET roleAssignments");
    // A holder of a privileged role is out of an application's reach.
    let hia = sb.user("hybrid.admin").unwrap().upn.clone();
    let (status, body) = graph_delete(&sb, &write, &format!("/users/{hia}")).await;
    assert_denied(status, &body, "User.ReadWrite.All DELETE an administrator");
    delete_ok(
        &sb,
        &write,
        &format!("/users/{}", user["id"].as_str().unwrap()),
    )
    .await;

    let (_, roles) = app_with_graph_roles(&sb, &["RoleManagement.ReadWrite.Directory"]).await;
    let directory_roles = get_ok(&sb, &roles, "/directoryRoles").await;
    assert!(
        !directory_roles["value"].as_array().unwrap().is_empty(),
        "{directory_roles}"
    );
    let admin = admin_token(&sb).await;
    let plain_id = seeded_user_id(&sb, &admin, "plain.user").await;
    let (status, body) = assign_role(&sb, &roles, &plain_id, USER_ADMINISTRATOR).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn application_permission_to_assign_app_roles_needs_a_read_of_applications_too() {
    let sb = start().await;
    let target = register_app(&sb, &TestCert::new()).await;
    let (reset_id, reset_role) = password_reset_role(&sb).await;
    let grant = app_role_assignment(&target.sp_id, &reset_id, &reset_role);
    let path = format!("/servicePrincipals/{}/appRoleAssignments", target.sp_id);
    let (_, alone) = app_with_graph_roles(&sb, &["AppRoleAssignment.ReadWrite.All"]).await;
    let (status, body) = graph_post(&sb, &alone, &path, grant.clone()).await;
    assert_denied(status, &body, "AppRoleAssignment.ReadWrite.All alone");
    let (_, both) = app_with_graph_roles(
        &sb,
        &["AppRoleAssignment.ReadWrite.All", "Application.Read.All"],
    )
    .await;
    post_created(&sb, &both, &path, grant).await;
    // With it an application may grant Microsoft Graph's own roles too.
    let (status, body) = grant_graph_role(&sb, &both, &target.sp_id, "User.Read.All").await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

// ------------------------------------------------------------ app role assignment by users

#[tokio::test]
async fn every_supported_role_grants_app_roles_but_graph_roles_need_a_privileged_role_administrator()
 {
    let sb = start().await;
    let (reset_id, reset_role) = password_reset_role(&sb).await;
    let assigned_to = format!("/servicePrincipals/{reset_id}/appRoleAssignedTo");
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
        let grant = app_role_assignment(&target.sp_id, &reset_id, &reset_role);
        let (status, body) = graph_post(&sb, &token, &assigned_to, grant).await;
        assert_eq!(
            status,
            StatusCode::CREATED,
            "{name} grants an app role: {body}"
        );
        let (status, body) =
            grant_graph_role(&sb, &token, &target.sp_id, "Application.ReadWrite.All").await;
        let what = format!("{name} grants a Graph app role");
        assert_allowed_or_denied(status, &body, graph_roles_too, StatusCode::CREATED, &what);
    }
    let target = register_app(&sb, &TestCert::new()).await;
    let assignments = format!("/servicePrincipals/{}/appRoleAssignments", target.sp_id);
    let grant = app_role_assignment(&target.sp_id, &reset_id, &reset_role);
    let plain = user_token(&sb, "plain.user").await;
    let (status, body) = graph_post(&sb, &plain, &assignments, grant).await;
    assert_denied(status, &body, "a user without a role grants an app role");
}

#[tokio::test]
async fn granting_app_roles_needs_both_scopes_whatever_the_role() {
    let sb = start().await;
    let target = register_app(&sb, &TestCert::new()).await;
    let (reset_id, reset_role) = password_reset_role(&sb).await;
    let path = format!("/servicePrincipals/{}/appRoleAssignments", target.sp_id);
    for scope in [
        "https://graph.microsoft.com/AppRoleAssignment.ReadWrite.All",
        "https://graph.microsoft.com/Application.ReadWrite.All",
    ] {
        let token = user_token_with_scope(&sb, "global.admin", scope).await;
        let grant = app_role_assignment(&target.sp_id, &reset_id, &reset_role);
        let (status, body) = graph_post(&sb, &token, &path, grant).await;
        assert_denied(status, &body, scope);
    }
}

#[tokio::test]
async fn a_member_who_owns_the_resource_application_grants_its_roles_without_a_role() {
    const THINGS_READ_ALL: &str = "2c7a5a4e-58f2-4c4b-9d6e-0f3d2a1b4c5e";
    let sb = start().await;
    let plain = user_token(&sb, "plain.user").await;
    let api = post_created(
        &sb,
        &plain,
        "/applications",
        json!({
            "displayName": "an api of its own",
            "appRoles": [{
                "id": THINGS_READ_ALL, "value": "Things.Read.All", "displayName": "Read things",
                "description": "Read things", "allowedMemberTypes": ["Application"], "isEnabled": true,
            }],
        }),
    )
    .await;
    let admin = admin_token(&sb).await;
    let resource = create_sp(&sb, &admin, api["appId"].as_str().unwrap()).await;
    let client = register_app(&sb, &TestCert::new()).await;
    let grant = app_role_assignment(&client.sp_id, &resource, THINGS_READ_ALL);
    let path = format!("/servicePrincipals/{resource}/appRoleAssignedTo");
    // A User Administrator (who may grant app roles) is not needed...
    let (status, body) = graph_post(&sb, &plain, &path, grant).await;
    assert_eq!(status, StatusCode::CREATED, "the owner grants: {body}");
    // ...but a member who does not own it may not.
    let user_admin = user_token(&sb, "user.admin").await;
    let stranger = post_created(&sb, &user_admin, "/users", new_user("stranger")).await;
    let upn = stranger["userPrincipalName"].as_str().unwrap();
    let stranger = password_token(&sb, upn, NEW_USER_PASSWORD, GRAPH_SCOPE).await;
    let other = register_app(&sb, &TestCert::new()).await;
    let grant = app_role_assignment(&other.sp_id, &resource, THINGS_READ_ALL);
    let (status, body) = graph_post(&sb, &stranger, &path, grant).await;
    assert_denied(status, &body, "a member who does not own the resource");
}

// ------------------------------------------------------------ users can register applications

#[tokio::test]
async fn a_member_registers_applications_by_default_and_owns_them() {
    let sb = start().await;
    let plain = user_token(&sb, "plain.user").await;
    let me = get_ok(&sb, &plain, "/me").await;
    let app = create_application(&sb, &plain, "mine").await;
    let own = path_of(&app);
    let owners = owners_of(&sb, &plain, &own).await;
    assert_eq!(owners[0]["id"], me["id"], "{owners}");
    // The owner manages it, certificates included...
    let keys = json!({ "notes": "mine", "keyCredentials": [TestCert::new().key_credential()] });
    patch_ok(&sb, &plain, &own, keys).await;
    // ...but creates no service principal without the Application Developer role,
    let (status, body) = create_service_principal(&sb, &plain, &app["appId"]).await;
    assert_denied(
        status,
        &body,
        "an owner without a role creates the service principal",
    );
    // and changes no application it does not own.
    let other = not_owned_application(&sb, "an administrator's").await;
    let (status, body) = graph_patch(&sb, &plain, &other, json!({ "notes": "not mine" })).await;
    assert_denied(
        status,
        &body,
        "a member changes an application they do not own",
    );
    // An administrator who creates one does not become its owner.
    let admin = admin_token(&sb).await;
    assert_eq!(owners_of(&sb, &admin, &other).await, json!([]));
    delete_ok(&sb, &plain, &own).await;
}

/// The default seed, with users not allowed to register applications and
/// an Application Developer.
fn restricted_with_a_developer() -> SandboxConfig {
    let mut seed = seed_without_app_registration_by_users();
    seed["roles"].as_array_mut().unwrap().push(json!({
        "template_id": "cf1c38e5-3621-4004-a7cb-879624dced7c",
        "display_name": "Application Developer",
    }));
    seed["users"].as_array_mut().unwrap().push(json!({
        "name": "app.developer",
        "display_name": "Application Developer",
        "roles": ["Application Developer"],
    }));
    with_seed(&seed)
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
        let app = json!({ "displayName": name });
        let (status, body) = graph_post(&sb, &token, "/applications", app).await;
        assert_allowed_or_denied(status, &body, may, StatusCode::CREATED, name);
    }
    // The developer owns what it registers, and creates its service principal.
    let developer = user_token(&sb, "app.developer").await;
    let app = create_application(&sb, &developer, "developed").await;
    let owners = owners_of(&sb, &developer, &path_of(&app)).await;
    assert_eq!(owners.as_array().unwrap().len(), 1, "{owners}");
    let (status, body) = create_service_principal(&sb, &developer, &app["appId"]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    // ...but not one for an application it does not own.
    let admin = admin_token(&sb).await;
    let (_, other) = create_app(&sb, &admin, "not the developer's", vec![]).await;
    let (status, body) = create_service_principal(&sb, &developer, &json!(other)).await;
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
    let (status, body) = graph_patch(&sb, &plain, "/me", json!({ "jobTitle": "Tester" })).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "oneself: {body}");
    // Someone else: a User Administrator's, but an administrator only a Global Administrator's.
    for (caller, target, allowed) in [
        ("plain.user", "hybrid.admin", false),
        ("user.admin", "plain.user", true),
        ("user.admin", "hybrid.admin", false),
        ("global.admin", "hybrid.admin", true),
    ] {
        let token = user_token(&sb, caller).await;
        let target_user = format!("/users/{}", sb.user(target).unwrap().upn);
        let change = json!({ "department": format!("changed by {caller}") });
        let (status, body) = graph_patch(&sb, &token, &target_user, change).await;
        let what = format!("{caller} changes {target}");
        assert_allowed_or_denied(status, &body, allowed, StatusCode::NO_CONTENT, &what);
    }

    // A password needs Directory.AccessAsUser.All as well.
    let new_password = json!({ "passwordProfile": { "password": "An0ther!Passw0rd-7", "forceChangePasswordNextSignIn": false } });
    let without = user_token_with_scope(
        &sb,
        "user.admin",
        "https://graph.microsoft.com/User.ReadWrite.All",
    )
    .await;
    let plain_user = format!("/users/{}", sb.user("plain.user").unwrap().upn);
    let (status, body) = graph_patch(&sb, &without, &plain_user, new_password.clone()).await;
    assert_denied(
        status,
        &body,
        "a password without Directory.AccessAsUser.All",
    );
    let user_admin = user_token(&sb, "user.admin").await;
    patch_ok(&sb, &user_admin, &plain_user, new_password).await;
    let plain_upn = &sb.user("plain.user").unwrap().upn;
    let (status, body) = password_grant(&sb, plain_upn, "An0ther!Passw0rd-7", GRAPH_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "the new password signs in: {body}");
}

// ------------------------------------------------------------ the authorization policy

const AUTHORIZATION_POLICY: &str = "/policies/authorizationPolicy";

/// The default seed, with Graph Command Line Tools consented for the policy scopes too.
fn with_policy_consent() -> SandboxConfig {
    with_graph_consent(&["Policy.Read.All", "Policy.ReadWrite.Authorization"])
}

#[tokio::test]
async fn members_read_the_authorization_policy_and_a_privileged_role_administrator_changes_it() {
    let sb = start_with(with_policy_consent()).await;
    let plain = user_token(&sb, "plain.user").await;
    let policy = get_ok(&sb, &plain, AUTHORIZATION_POLICY).await;
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
        let (status, body) = graph_patch(&sb, &token, AUTHORIZATION_POLICY, off.clone()).await;
        assert_denied(status, &body, name);
    }
    let role_admin = user_token(&sb, "role.admin").await;
    patch_ok(&sb, &role_admin, AUTHORIZATION_POLICY, off).await;
    let policy = get_ok(&sb, &plain, AUTHORIZATION_POLICY).await;
    assert_eq!(
        policy["defaultUserRolePermissions"]["allowedToCreateApps"],
        false
    );
    assert_eq!(
        policy["defaultUserRolePermissions"]["allowedToReadOtherUsers"],
        true
    );
    // It takes effect at once.
    let refused = json!({ "displayName": "refused" });
    let (status, body) = graph_post(&sb, &plain, "/applications", refused).await;
    assert_denied(
        status,
        &body,
        "a member once users may not register applications",
    );
    let global = user_token(&sb, "global.admin").await;
    let on = json!({ "defaultUserRolePermissions": { "allowedToCreateApps": true } });
    patch_ok(&sb, &global, AUTHORIZATION_POLICY, on).await;
    create_application(&sb, &plain, "allowed").await;
    // Without the scope, no reading it.
    let user_read =
        user_token_with_scope(&sb, "global.admin", "https://graph.microsoft.com/User.Read").await;
    let (status, body) = graph_get(&sb, &user_read, AUTHORIZATION_POLICY).await;
    assert_denied(status, &body, "without Policy.Read.All");
}
