//! Graph's request rules as the sandbox applies them to what Microsoft's SDKs
//! send: `@odata.*` annotations ignored at every level of a body, every
//! documented property accepted, stored and returned (and `$select`able), an
//! undeclared one refused as Graph refuses it, the `graph.` alias in type
//! casts; and the lists real clients read (`transitiveMemberOf`,
//! `appRoleAssignedTo`, an application's `owners`), paged.

use crate::harness::tenant::*;
use entra_connect::sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeSet;

const UNDECLARED: &str =
    "Property 'foo' does not exist as a declared property or extension property.";

fn assert_undeclared(status: StatusCode, body: &Value, what: &str) {
    assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {body}");
    assert_eq!(body["error"]["code"], "Request_BadRequest", "{what}");
    assert_eq!(body["error"]["message"], UNDECLARED, "{what}");
}

/// Every page of a list, following `@odata.nextLink`; and how many pages.
async fn all_pages(
    sb: &entra_connect::sandbox::SandboxHandle,
    token: &str,
    path: &str,
) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut next = path.to_string();
    loop {
        let (status, page) = graph(sb, token, Method::GET, &next, None).await;
        assert_eq!(status, StatusCode::OK, "{next}: {page}");
        pages += 1;
        items.extend(page["value"].as_array().expect("a page").iter().cloned());
        match page["@odata.nextLink"].as_str() {
            Some(link) => next = link.to_string(),
            None => return (items, pages),
        }
    }
}

async fn get_ok(sb: &entra_connect::sandbox::SandboxHandle, token: &str, path: &str) -> Value {
    let (status, body) = graph(sb, token, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{path}: {body}");
    body
}

#[tokio::test]
async fn odata_annotations_are_ignored_at_every_level_of_a_body() {
    let sb = start().await;
    let admin = user_token(&sb, "global.admin").await;
    let cert = TestCert::new();
    let mut key = cert.key_credential();
    key["@odata.type"] = "#microsoft.graph.keyCredential".into();
    // What msgraph-sdk for Python writes: a type on every object.
    let (status, app) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({
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
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
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
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/applications/{id}"),
        Some(json!({ "@odata.type": "#microsoft.graph.application", "notes": "n" })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, sp) = graph(
        &sb,
        &admin,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "@odata.type": "#microsoft.graph.servicePrincipal", "appId": app["appId"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let sync = get_ok(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
    )
    .await;
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!(
            "/servicePrincipals/{}/appRoleAssignments",
            sp["id"].as_str().unwrap()
        ),
        Some(json!({
            "@odata.type": "#microsoft.graph.appRoleAssignment",
            "principalId": sp["id"], "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID,
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/users",
        Some(json!({
            "@odata.type": "#microsoft.graph.user",
            "accountEnabled": true,
            "displayName": "Annotated",
            "mailNickname": "annotated",
            "userPrincipalName": "annotated@contoso-sandbox.onmicrosoft.com",
            "passwordProfile": { "@odata.type": "#microsoft.graph.passwordProfile", "password": "Str0ng!Passw0rd-42" },
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/roleManagement/directory/roleAssignments",
        Some(json!({
            "@odata.type": "#microsoft.graph.unifiedRoleAssignment",
            "principalId": body["id"], "roleDefinitionId": "fe930be7-5e62-47db-91af-98c3a49a38b1", "directoryScopeId": "/",
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
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
    let (status, app) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(written.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
    let id = app["id"].as_str().unwrap();
    let read = get_ok(&sb, &admin, &format!("/applications/{id}")).await;
    for (name, value) in written.as_object().unwrap() {
        assert_eq!(&read[name], value, "{name} as written: {read}");
    }
    // Properties never written are there too, empty.
    assert_eq!(read["serviceManagementReference"], Value::Null);
    assert_eq!(read["addIns"], json!([]));
    // A PATCH changes what it names and keeps the rest.
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/applications/{id}"),
        Some(json!({ "notes": "changed", "web": { "redirectUris": [] } })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let read = get_ok(&sb, &admin, &format!("/applications/{id}")).await;
    assert_eq!(read["notes"], "changed");
    assert_eq!(read["web"], json!({ "redirectUris": [] }));
    assert_eq!(read["tags"], written["tags"]);

    // A service principal keeps what a PATCH writes, and publishes the
    // application's app roles.
    let sp_id = create_sp(&sb, &admin, app["appId"].as_str().unwrap()).await;
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/servicePrincipals/{sp_id}"),
        Some(json!({ "tags": ["WindowsAzureActiveDirectoryIntegratedApp"], "notes": "sp notes", "appRoleAssignmentRequired": true })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let sp = get_ok(&sb, &admin, &format!("/servicePrincipals/{sp_id}")).await;
    assert_eq!(
        sp["tags"],
        json!(["WindowsAzureActiveDirectoryIntegratedApp"])
    );
    assert_eq!(sp["notes"], "sp notes");
    assert_eq!(sp["appRoleAssignmentRequired"], true);
    assert_eq!(sp["appRoles"][0]["value"], "Things.Read", "{sp}");

    // A user keeps its documented properties; the password is never returned.
    let (status, user) = graph(
        &sb,
        &admin,
        Method::POST,
        "/users",
        Some(json!({
            "accountEnabled": true,
            "displayName": "Documented User",
            "mailNickname": "documented",
            "userPrincipalName": "documented@contoso-sandbox.onmicrosoft.com",
            "passwordProfile": { "password": "Str0ng!Passw0rd-42", "forceChangePasswordNextSignIn": false },
            "givenName": "Docu",
            "surname": "Mented",
            "jobTitle": "Tester",
            "usageLocation": "NL",
            "otherMails": ["d@example.com"],
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let read = get_ok(
        &sb,
        &admin,
        &format!("/users/{}", user["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(read["jobTitle"], "Tester");
    assert_eq!(read["otherMails"], json!(["d@example.com"]));
    assert_eq!(read["usageLocation"], "NL");
    assert_eq!(read["passwordProfile"], Value::Null, "{read}");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/users/{}", user["id"].as_str().unwrap()),
        Some(
            json!({ "@odata.type": "#microsoft.graph.user", "jobTitle": "Lead", "city": "Delft" }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let read = get_ok(
        &sb,
        &admin,
        &format!("/users/{}", user["id"].as_str().unwrap()),
    )
    .await;
    assert_eq!(read["jobTitle"], "Lead");
    assert_eq!(read["city"], "Delft");
    assert_eq!(read["otherMails"], json!(["d@example.com"]));
}

#[tokio::test]
async fn select_works_over_every_documented_property_and_refuses_others() {
    let sb = start().await;
    let admin = user_token(&sb, "global.admin").await;
    let (status, app) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "selected", "notes": "n", "tags": ["t"] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{app}");
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
        let (status, body) = graph(&sb, &admin, Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {body}");
        assert_eq!(body["error"]["code"], "Request_UnsupportedQuery", "{path}");
        assert_eq!(body["error"]["message"], UNDECLARED, "{path}");
    }
}

#[tokio::test]
async fn undeclared_properties_are_refused_as_graph_refuses_them() {
    let sb = start().await;
    let admin = user_token(&sb, "global.admin").await;
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "x", "foo": 1 })),
    )
    .await;
    assert_undeclared(status, &body, "POST /applications");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "x", "web": { "redirectUris": [], "foo": 1 } })),
    )
    .await;
    assert_undeclared(status, &body, "web.foo");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "x", "requiredResourceAccess": [{ "resourceAppId": SYNC_APP_ID, "resourceAccess": [{ "id": SYNC_ROLE_ID, "type": "Role", "foo": 1 }] }] })),
    )
    .await;
    assert_undeclared(status, &body, "resourceAccess.foo");
    // Nothing was created by the refusals.
    let (apps, _) = all_pages(&sb, &admin, "/applications?$filter=displayName eq 'x'").await;
    assert!(apps.is_empty(), "{apps:?}");
    let sync = get_ok(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
    )
    .await;
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/servicePrincipals/{}", sync["id"].as_str().unwrap()),
        Some(json!({ "tags": [], "foo": 1 })),
    )
    .await;
    assert_undeclared(status, &body, "PATCH /servicePrincipals");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/users",
        Some(json!({
            "accountEnabled": true, "displayName": "F", "mailNickname": "f",
            "userPrincipalName": "f@contoso-sandbox.onmicrosoft.com",
            "passwordProfile": { "password": "Str0ng!Passw0rd-42", "foo": 1 },
        })),
    )
    .await;
    assert_undeclared(status, &body, "passwordProfile.foo");
}

#[tokio::test]
async fn transitive_member_of_lists_every_type_paged_with_either_cast() {
    let sb = start_with(SandboxConfig {
        page_size: 1,
        ..SandboxConfig::default()
    })
    .await;
    let global = user_token(&sb, "global.admin").await;
    let plain = user_token(&sb, "plain.user").await;
    let plain_id = get_ok(&sb, &plain, "/me").await["id"]
        .as_str()
        .unwrap()
        .to_string();
    // Two roles for the plain user: two pages of one.
    for role in [
        "fe930be7-5e62-47db-91af-98c3a49a38b1",
        "e8611ab8-c189-46e8-94e1-60213ab1f814",
    ] {
        let (status, body) = graph(
            &sb,
            &global,
            Method::POST,
            "/roleManagement/directory/roleAssignments",
            Some(json!({ "principalId": plain_id, "roleDefinitionId": role, "directoryScopeId": "/" })),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
    }
    let plain = user_token(&sb, "plain.user").await;
    let (all, pages) = all_pages(&sb, &plain, "/me/transitiveMemberOf").await;
    assert_eq!(pages, 2);
    let names: BTreeSet<&str> = all
        .iter()
        .map(|r| r["displayName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
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
    let (status, body) = graph(
        &sb,
        &global,
        Method::GET,
        "/users/nobody@contoso-sandbox.onmicrosoft.com/transitiveMemberOf",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = graph(
        &sb,
        &plain,
        Method::GET,
        "/me/transitiveMemberOf/graph.nothing",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn app_role_assigned_to_lists_grants_and_takes_new_ones() {
    let sb = start_with(SandboxConfig {
        page_size: 1,
        ..SandboxConfig::default()
    })
    .await;
    let admin = admin_token(&sb).await;
    let first = register_app(&sb, &TestCert::new()).await;
    let second = register_app(&sb, &TestCert::new()).await;
    let sync = get_ok(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
    )
    .await;
    let sync_id = sync["id"].as_str().unwrap();
    let path = format!("/servicePrincipals/{sync_id}/appRoleAssignedTo");
    let (granted, pages) = all_pages(&sb, &admin, &path).await;
    assert_eq!(pages, 2, "one grant a page");
    let principals: BTreeSet<&str> = granted
        .iter()
        .map(|a| a["principalId"].as_str().unwrap())
        .collect();
    assert_eq!(
        principals,
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
    let reset = get_ok(
        &sb,
        &admin,
        "/servicePrincipals(appId='93625bc8-bfe2-437a-97e0-3d0060024faa')",
    )
    .await;
    let reset_id = reset["id"].as_str().unwrap();
    let role = reset["appRoles"][0]["id"].as_str().unwrap();
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!("/servicePrincipals/{reset_id}/appRoleAssignedTo"),
        Some(json!({ "principalId": first.sp_id, "resourceId": sync_id, "appRoleId": role })),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the resource must be the one posted to: {body}"
    );
    let (status, assignment) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!("/servicePrincipals/{reset_id}/appRoleAssignedTo"),
        Some(json!({ "principalId": first.sp_id, "resourceId": reset_id, "appRoleId": role })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{assignment}");
    let (held, _) = all_pages(
        &sb,
        &admin,
        &format!("/servicePrincipals/{}/appRoleAssignments", first.sp_id),
    )
    .await;
    assert!(held.iter().any(|a| a["id"] == assignment["id"]), "{held:?}");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::DELETE,
        &format!(
            "/servicePrincipals/{reset_id}/appRoleAssignedTo/{}",
            assignment["id"].as_str().unwrap()
        ),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (on_reset, _) = all_pages(
        &sb,
        &admin,
        &format!("/servicePrincipals/{reset_id}/appRoleAssignedTo"),
    )
    .await;
    assert!(on_reset.is_empty(), "{on_reset:?}");

    // Reading it needs a read of applications, as every list of service principals.
    let global = sb.user("global.admin").unwrap().clone();
    let (status, body) = password_grant(
        &sb,
        &global.upn,
        &global.password,
        "https://graph.microsoft.com/User.Read",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let user_read_only = body["access_token"].as_str().unwrap();
    let (status, body) = graph(&sb, user_read_only, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}
