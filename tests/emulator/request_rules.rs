//! Graph's request rules as the sandbox applies them to what Microsoft's SDKs
//! send: `@odata.*` annotations ignored at every level of a body, every
//! documented property accepted, stored and returned (and `$select`able), an
//! undeclared one refused as Graph refuses it, the `graph.` alias in type
//! casts; and the lists real clients read (`transitiveMemberOf`,
//! `appRoleAssignedTo`, an application's `owners`), paged.

use crate::harness::tenant::*;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const UNDECLARED: &str =
    "Property 'foo' does not exist as a declared property or extension property.";
const PRIVILEGED_ROLE_ADMINISTRATOR: &str = "e8611ab8-c189-46e8-94e1-60213ab1f814";

fn assert_undeclared(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest", "{what}");
    assert_eq!(body["error"]["message"], UNDECLARED, "{what}");
}

/// Every page of a list, following `@odata.nextLink`; and how many pages.
async fn all_pages(sb: &SandboxHandle, token: &str, path: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = path.to_string();
    loop {
        let page = get_ok(sb, token, &next).await;
        pages += 1;
        items.extend(page["value"].as_array().expect("a page").iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(link) => next = link.to_string(),
            None => return (items, pages),
        }
    }
}

/// The string `key` of every item: what a list holds, whatever its order.
fn set_of<'a>(items: &'a [Value], key: &str) -> BTreeSet<&'a str> {
    items
        .iter()
        .map(|item| item[key].as_str().unwrap())
        .collect()
}

/// A sandbox that answers lists one item a page, so that two items make two pages.
async fn one_item_a_page() -> SandboxHandle {
    start_with(SandboxConfig {
        page_size: 1,
        ..SandboxConfig::default()
    })
    .await
}

#[tokio::test]
async fn odata_annotations_are_ignored_at_every_level_of_a_body() {
    let sb = start().await;
    let admin = user_token(&sb, "global.admin").await;
    let cert = TestCert::new();
    let mut key = cert.key_credential();
    key["@odata.type"] = "#microsoft.graph.keyCredential".into();
    // What msgraph-sdk for Python writes: a type on every object.
    let app = post_created(
        &sb,
        &admin,
        "/applications",
        json!({
            "@odata.type": "#microsoft.graph.application",
            "displayName": "annotated",
            "keyCredentials@odata.type": "#Collection(microsoft.graph.keyCredential)",
            "keyCredentials": [key],
            "requiredResourceAccess": [{
                "@odata.type": "#microsoft.graph.requiredResourceAccess",
                "resourceAppId": SYNC_APP_ID,
                "resourceAccess": [{ "@odata.type": "#microsoft.graph.resourceAccess", "id": SYNC_ROLE_ID, "type": "Role" }],
            }],
            "web": { "@odata.type": "#microsoft.graph.webApplication", "redirectUris": ["https://localhost/a"] },
        }),
    )
    .await;
    assert_eq!(app["keyCredentials"].as_array().unwrap().len(), 1);
    assert_eq!(
        app["requiredResourceAccess"],
        json!([{ "resourceAppId": SYNC_APP_ID, "resourceAccess": [{ "id": SYNC_ROLE_ID, "type": "Role" }] }])
    );
    assert_eq!(
        app["web"],
        json!({ "redirectUris": ["https://localhost/a"] })
    );
    let id = app["id"].as_str().unwrap();
    patch_ok(
        &sb,
        &admin,
        &format!("/applications/{id}"),
        json!({ "@odata.type": "#microsoft.graph.application", "notes": "n" }),
    )
    .await;
    let sp = post_created(
        &sb,
        &admin,
        "/servicePrincipals",
        json!({ "@odata.type": "#microsoft.graph.servicePrincipal", "appId": app["appId"] }),
    )
    .await;
    let sync = service_principal_of(&sb, &admin, SYNC_APP_ID).await;
    let sp_id = sp["id"].as_str().unwrap();
    post_created(
        &sb,
        &admin,
        &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
        json!({
            "@odata.type": "#microsoft.graph.appRoleAssignment",
            "principalId": sp_id, "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID,
        }),
    )
    .await;
    let user = post_created(
        &sb,
        &admin,
        "/users",
        json!({
            "@odata.type": "#microsoft.graph.user",
            "accountEnabled": true,
            "displayName": "Annotated",
            "mailNickname": "annotated",
            "userPrincipalName": "annotated@contoso-sandbox.onmicrosoft.com",
            "passwordProfile": { "@odata.type": "#microsoft.graph.passwordProfile", "password": NEW_USER_PASSWORD },
        }),
    )
    .await;
    post_created(
        &sb,
        &admin,
        "/roleManagement/directory/roleAssignments",
        json!({
            "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
            "principalId": user["id"], "roleDefinitionId": USER_ADMINISTRATOR, "directoryScopeId": "/",
        }),
    )
    .await;
}

#[tokio::test]
async fn every_documented_property_is_stored_and_returned() {
    let sb = start().await;
    let admin = user_token(&sb, "global.admin").await;
    let written = json!({
        "displayName": "documented",
        "description": "what it is",
        "notes": "kept for the record",
        "tags": ["HideApp", "sandbox"],
        "identifierUris": ["api://documented"],
        "isFallbackPublicClient": true,
        "groupMembershipClaims": "SecurityGroup",
        "web": {
            "redirectUris": ["https://localhost/callback"],
            "homePageUrl": "https://localhost/",
            "implicitGrantSettings": { "enableIdTokenIssuance": true, "enableAccessTokenIssuance": false },
        },
        "spa": { "redirectUris": ["https://localhost/spa"] },
        "publicClient": { "redirectUris": ["http://localhost"] },
        "api": { "requestedAccessTokenVersion": 2, "oauth2PermissionScopes": [] },
        "info": { "marketingUrl": "https://contoso.example/" },
        "optionalClaims": { "idToken": [{ "name": "upn", "essential": false, "additionalProperties": [] }] },
        "appRoles": [{
            "id": "7d0f3c07-1f60-4b5e-8d32-6c1c1a2b3c4d", "value": "Things.Read", "displayName": "Read things",
            "description": "Read things", "allowedMemberTypes": ["Application"], "isEnabled": true,
        }],
        "parentalControlSettings": { "countriesBlockedForMinors": [], "legalAgeGroupRule": "Allow" },
    });
    let app = post_created(&sb, &admin, "/applications", written.clone()).await;
    let path = format!("/applications/{}", app["id"].as_str().unwrap());
    let read = get_ok(&sb, &admin, &path).await;
    for (name, value) in written.as_object().unwrap() {
        assert_eq!(&read[name], value, "{name} as written: {read}");
    }
    // Properties never written are there too, empty.
    assert_eq!(read["serviceManagementReference"], Value::Null);
    assert_eq!(read["addIns"], json!([]));
    // A PATCH changes what it names and keeps the rest.
    let change = json!({ "notes": "changed", "web": { "redirectUris": [] } });
    patch_ok(&sb, &admin, &path, change).await;
    let read = get_ok(&sb, &admin, &path).await;
    assert_eq!(read["notes"], "changed");
    assert_eq!(read["web"], json!({ "redirectUris": [] }));
    assert_eq!(read["tags"], written["tags"]);

    // A service principal keeps what a PATCH writes, and publishes the
    // application's app roles.
    let sp_id = create_sp(&sb, &admin, app["appId"].as_str().unwrap()).await;
    let sp_path = format!("/servicePrincipals/{sp_id}");
    patch_ok(
        &sb,
        &admin,
        &sp_path,
        json!({ "tags": ["WindowsAzureActiveDirectoryIntegratedApp"], "notes": "sp notes", "appRoleAssignmentRequired": true }),
    )
    .await;
    let sp = get_ok(&sb, &admin, &sp_path).await;
    assert_eq!(
        sp["tags"],
        json!(["WindowsAzureActiveDirectoryIntegratedApp"])
    );
    assert_eq!(sp["notes"], "sp notes");
    assert_eq!(sp["appRoleAssignmentRequired"], true);
    assert_eq!(sp["appRoles"][0]["value"], "Things.Read", "{sp}");

    // A user keeps its documented properties; the password is never returned.
    let mut documented = new_user("documented");
    for (name, value) in [
        ("displayName", json!("Documented User")),
        ("givenName", json!("Docu")),
        ("surname", json!("Mented")),
        ("jobTitle", json!("Tester")),
        ("usageLocation", json!("NL")),
        ("otherMails", json!(["d@example.com"])),
    ] {
        documented[name] = value;
    }
    let user = post_created(&sb, &admin, "/users", documented).await;
    let user_path = format!("/users/{}", user["id"].as_str().unwrap());
    let read = get_ok(&sb, &admin, &user_path).await;
    assert_eq!(read["jobTitle"], "Tester");
    assert_eq!(read["otherMails"], json!(["d@example.com"]));
    assert_eq!(read["usageLocation"], "NL");
    assert_eq!(read["passwordProfile"], Value::Null, "{read}");
    let change =
        json!({ "@odata.type": "#microsoft.graph.user", "jobTitle": "Lead", "city": "Delft" });
    patch_ok(&sb, &admin, &user_path, change).await;
    let read = get_ok(&sb, &admin, &user_path).await;
    assert_eq!(read["jobTitle"], "Lead");
    assert_eq!(read["city"], "Delft");
    assert_eq!(read["otherMails"], json!(["d@example.com"]));
}

#[tokio::test]
async fn select_works_over_every_documented_property_and_refuses_others() {
    let sb = start().await;
    let admin = user_token(&sb, "global.admin").await;
    let selected = json!({ "displayName": "selected", "notes": "n", "tags": ["t"] });
    let app = post_created(&sb, &admin, "/applications", selected).await;
    let id = app["id"].as_str().unwrap();
    let read = get_ok(
        &sb,
        &admin,
        &format!("/applications/{id}?$select=notes,tags,web"),
    )
    .await;
    let names: BTreeSet<&str> = read
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(names, BTreeSet::from(["notes", "tags", "web"]), "{read}");
    assert_eq!(read["notes"], "n");
    let list = get_ok(&sb, &admin, "/applications?$select=id,tags").await;
    assert!(
        list["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["id"] == id && a["tags"] == json!(["t"])),
        "{list}"
    );
    let sp = get_ok(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')?$select=appRoles,tags"),
    )
    .await;
    assert_eq!(sp["tags"], json!([]));
    let users = get_ok(&sb, &admin, "/users?$select=userPrincipalName,jobTitle").await;
    let first = users["value"][0].as_object().unwrap();
    let names: BTreeSet<&str> = first.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        BTreeSet::from(["jobTitle", "userPrincipalName"]),
        "{users}"
    );
    for path in [
        format!("/applications/{id}?$select=foo"),
        "/servicePrincipals?$select=id,foo".to_string(),
        format!("/users/{}?$select=foo", sb.admin_upn),
    ] {
        let (status, body) = graph_get(&sb, &admin, &path).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "Request_UnsupportedQuery", "{path}");
        assert_eq!(body["error"]["message"], UNDECLARED, "{path}");
    }
}

#[tokio::test]
async fn undeclared_properties_are_refused_as_graph_refuses_them() {
    let sb = start().await;
    let admin = user_token(&sb, "global.admin").await;
    for (what, app) in [
        (
            "POST /applications",
            json!({ "displayName": "x", "foo": 1 }),
        ),
        (
            "web.foo",
            json!({ "displayName": "x", "web": { "redirectUris": [], "foo": 1 } }),
        ),
        (
            "resourceAccess.foo",
            json!({ "displayName": "x", "requiredResourceAccess": [{ "resourceAppId": SYNC_APP_ID, "resourceAccess": [{ "id": SYNC_ROLE_ID, "type": "Role", "foo": 1 }] }] }),
        ),
    ] {
        let (status, body) = graph_post(&sb, &admin, "/applications", app).await;
        assert_undeclared(status, &body, what);
    }
    // Nothing was created by the refusals.
    let (apps, _) = all_pages(&sb, &admin, "/applications?$filter=displayName eq 'x'").await;
    assert!(apps.is_empty(), "{apps:?}");
    let sync = service_principal_of(&sb, &admin, SYNC_APP_ID).await;
    let sync = format!("/servicePrincipals/{}", sync["id"].as_str().unwrap());
    let (status, body) = graph_patch(&sb, &admin, &sync, json!({ "tags": [], "foo": 1 })).await;
    assert_undeclared(status, &body, "PATCH /servicePrincipals");
    let mut user = new_user("f");
    user["passwordProfile"]["foo"] = 1.into();
    let (status, body) = graph_post(&sb, &admin, "/users", user).await;
    assert_undeclared(status, &body, "passwordProfile.foo");
}

#[tokio::test]
async fn transitive_member_of_lists_every_type_paged_with_either_cast() {
    let sb = one_item_a_page().await;
    let global = user_token(&sb, "global.admin").await;
    let plain = user_token(&sb, "plain.user").await;
    let plain_id = get_ok(&sb, &plain, "/me").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Two roles for the plain user: two pages of one.
    for role in [USER_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR] {
        let (status, body) = assign_role(&sb, &global, &plain_id, role).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let plain = user_token(&sb, "plain.user").await;
    let (all, pages) = all_pages(&sb, &plain, "/me/transitiveMemberOf").await;
    assert_eq!(pages, 2);
    assert_eq!(
        set_of(&all, "displayName"),
        BTreeSet::from(["User Administrator", "Privileged Role Administrator"])
    );
    assert!(
        all.iter()
            .all(|r| r["@odata.type"] == "#microsoft.graph.directoryRole"),
        "{all:?}"
    );
    for cast in ["microsoft.graph.directoryRole", "graph.directoryRole"] {
        let (cast_all, _) = all_pages(&sb, &plain, &format!("/me/transitiveMemberOf/{cast}")).await;
        assert_eq!(cast_all, all, "{cast}");
    }
    let (groups, _) = all_pages(&sb, &plain, "/me/transitiveMemberOf/graph.group").await;
    assert!(groups.is_empty(), "{groups:?}");
    // Another user's memberships, by id or UPN.
    let upn = sb.user("plain.user").unwrap().upn.clone();
    for who in [plain_id.as_str(), upn.as_str()] {
        let (theirs, _) =
            all_pages(&sb, &global, &format!("/users/{who}/transitiveMemberOf")).await;
        assert_eq!(theirs, all, "{who}");
    }
    let nobody = "/users/nobody@contoso-sandbox.onmicrosoft.com/transitiveMemberOf";
    let (status, body) = graph_get(&sb, &global, nobody).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = graph_get(&sb, &plain, "/me/transitiveMemberOf/graph.nothing").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn app_role_assigned_to_lists_grants_and_takes_new_ones() {
    let sb = one_item_a_page().await;
    let admin = admin_token(&sb).await;
    let first = register_app(&sb, &TestCert::new()).await;
    let second = register_app(&sb, &TestCert::new()).await;
    let sync = service_principal_of(&sb, &admin, SYNC_APP_ID).await;
    let sync_id = sync["id"].as_str().unwrap();
    let path = format!("/servicePrincipals/{sync_id}/appRoleAssignedTo");
    let (granted, pages) = all_pages(&sb, &admin, &path).await;
    assert_eq!(pages, 2, "one grant a page");
    assert_eq!(
        set_of(&granted, "principalId"),
        BTreeSet::from([first.sp_id.as_str(), second.sp_id.as_str()])
    );
    assert!(
        granted
            .iter()
            .all(|a| a["resourceId"] == sync_id && a["appRoleId"] == SYNC_ROLE_ID)
    );
    // By appId too.
    let (by_app_id, _) = all_pages(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')/appRoleAssignedTo"),
    )
    .await;
    assert_eq!(by_app_id, granted);

    // A grant through the resource side, and its revocation.
    let reset = service_principal_of(&sb, &admin, PASSWORD_RESET_APP_ID).await;
    let reset_id = reset["id"].as_str().unwrap();
    let role = reset["appRoles"][0]["id"].as_str().unwrap();
    let assigned_to = format!("/servicePrincipals/{reset_id}/appRoleAssignedTo");
    let elsewhere = app_role_assignment(&first.sp_id, sync_id, role);
    let (status, body) = graph_post(&sb, &admin, &assigned_to, elsewhere).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the resource must be the one posted to: {body}"
    );
    let grant = app_role_assignment(&first.sp_id, reset_id, role);
    let assignment = post_created(&sb, &admin, &assigned_to, grant).await;
    let (held, _) = all_pages(
        &sb,
        &admin,
        &format!("/servicePrincipals/{}/appRoleAssignments", first.sp_id),
    )
    .await;
    assert!(held.iter().any(|a| a["id"] == assignment["id"]), "{held:?}");
    let assignment = assignment["id"].as_str().unwrap();
    delete_ok(&sb, &admin, &format!("{assigned_to}/{assignment}")).await;
    let (on_reset, _) = all_pages(&sb, &admin, &assigned_to).await;
    assert!(on_reset.is_empty(), "{on_reset:?}");

    // Reading it needs a read of applications, as every list of service principals.
    let user_read_only =
        user_token_with_scope(&sb, "global.admin", "https://graph.microsoft.com/User.Read").await;
    let (status, body) = graph_get(&sb, &user_read_only, &path).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
