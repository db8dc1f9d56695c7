//! The Graph subset: who may write, addKey/removeKey proofs, users and
//! directory roles, and paging.

use crate::harness::tenant::*;
use entra_connect::sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::collections::HashSet;

#[tokio::test]
async fn requests_without_a_valid_graph_token_are_refused() {
    let sb = start().await;
    let (status, body) = graph(&sb, "", Method::GET, "/me", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    let (status, _) = graph(&sb, "not.a.token", Method::GET, "/organization", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A token for another resource is not a Graph token.
    let user = sb.user("hybrid.admin").unwrap().clone();
    let (_, body) = password_grant(&sb, &user.upn, &user.password, SYNC_SCOPE).await;
    let (status, body) = graph(
        &sb,
        body["access_token"].as_str().unwrap(),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");

    // Graph by appId works like Graph by URI.
    let (_, body) = password_grant(
        &sb,
        &user.upn,
        &user.password,
        "00000003-0000-0000-c000-000000000000/.default",
    )
    .await;
    let (status, body) = graph(
        &sb,
        body["access_token"].as_str().unwrap(),
        Method::GET,
        "/me",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["userPrincipalName"], user.upn.as_str());
}

#[tokio::test]
async fn role_check_and_organization() {
    let sb = start().await;
    let token = admin_token(&sb).await;
    let (status, body) = graph(
        &sb,
        &token,
        Method::GET,
        "/me/transitiveMemberOf/microsoft.graph.directoryRole",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["value"][0]["roleTemplateId"],
        "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2"
    );
    let (status, body) = graph(&sb, &token, Method::GET, "/organization", None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"][0]["id"], sb.tenant_id.as_str());

    let plain = user_token(&sb, "plain.user").await;
    let (status, body) = graph(
        &sb,
        &plain,
        Method::GET,
        "/me/transitiveMemberOf/microsoft.graph.directoryRole",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["value"], json!([]));
}

#[tokio::test]
async fn writes_by_a_user_without_an_admin_role_are_refused() {
    // With users allowed to register applications (Entra's default), a user
    // without a role may create one: see graph_permissions.
    let sb = start_with(without_app_registration_by_users()).await;
    let plain = user_token(&sb, "plain.user").await;
    let (status, body) = graph(
        &sb,
        &plain,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "x" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    let (status, body) = graph(
        &sb,
        &plain,
        Method::POST,
        "/users",
        Some(new_user_with_password("someone", "Str0ng!Passw0rd")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    // The same write by a Global Administrator succeeds.
    let global = user_token(&sb, "global.admin").await;
    let (status, body) = graph(
        &sb,
        &global,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "x" })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn app_only_tokens_cannot_write_except_their_own_keys() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        GRAPH_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let app_token = body["access_token"].as_str().unwrap().to_string();

    let (status, body) = graph(
        &sb,
        &app_token,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "x" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["error"]["code"], "Authorization_RequestDenied");
    let (status, _) = graph(
        &sb,
        &app_token,
        Method::PATCH,
        &format!("/applications/{}", app.object_id),
        Some(json!({ "displayName": "renamed" })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = graph(&sb, &app_token, Method::GET, "/me", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // It may read itself and add a key to itself with a proof.
    let (status, body) = graph(
        &sb,
        &app_token,
        Method::GET,
        &format!("/applications(appId='{}')", app.app_id),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let next = TestCert::new();
    let (status, body) = graph(
        &sb,
        &app_token,
        Method::POST,
        &format!("/applications/{}/addKey", app.object_id),
        Some(json!({ "keyCredential": next.key_credential(), "passwordCredential": null, "proof": cert.proof(&app.object_id) })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // But not to another application.
    let admin = admin_token(&sb).await;
    let (other_id, _) = create_app(&sb, &admin, "other", vec![next.key_credential()]).await;
    let (status, body) = graph(
        &sb,
        &app_token,
        Method::POST,
        &format!("/applications/{other_id}/addKey"),
        Some(json!({ "keyCredential": TestCert::new().key_credential(), "proof": next.proof(&other_id) })),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
}

#[tokio::test]
async fn add_key_needs_a_valid_proof_and_remove_key_revokes() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    // A user adding keys updates credentials: not a Hybrid Identity Administrator's.
    let admin = user_token(&sb, "app.admin").await;
    let next = TestCert::new();
    let add = |proof: String| {
        let key = next.key_credential();
        let path = format!("/applications/{}/addKey", app.object_id);
        let sb = &sb;
        let admin = admin.clone();
        async move {
            graph(
                sb,
                &admin,
                Method::POST,
                &path,
                Some(json!({ "keyCredential": key, "passwordCredential": null, "proof": proof })),
            )
            .await
        }
    };
    let now = now();
    // Signed by a key that is not on the application.
    let (status, body) = add(TestCert::new().proof(&app.object_id)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "Authentication_MissingOrMalformed");
    // Wrong audience.
    let bad_aud = cert.sign(&json!({ "aud": "https://graph.microsoft.com", "iss": app.object_id, "nbf": now, "exp": now + 300 }));
    let (status, body) = add(bad_aud).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "Authentication_MissingOrMalformed");
    // Issued by the appId instead of the object id.
    let (status, body) = add(cert.proof(&app.app_id)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "Authentication_MissingOrMalformed");
    // Lifetime over ten minutes.
    let long = cert.sign(&json!({ "aud": "00000002-0000-0000-c000-000000000000", "iss": app.object_id, "nbf": now, "exp": now + 3600 }));
    let (status, body) = add(long).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "Authentication_MissingOrMalformed");
    // Expired.
    let old = cert.sign(&json!({ "aud": "00000002-0000-0000-c000-000000000000", "iss": app.object_id, "nbf": now - 900, "exp": now - 400 }));
    let (status, body) = add(old).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["code"], "Authentication_MissingOrMalformed");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("proof"),
        "{body}"
    );

    // A good proof adds the key, and the new key signs assertions.
    let (status, body) = add(cert.proof(&app.object_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let new_key_id = body["keyId"].as_str().unwrap().to_string();
    assert_eq!(body["type"], "AsymmetricX509Cert");
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &next.assertion(&sb, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The application shows both keys in Graph's shape (`key` only on a
    // single GET that selects keyCredentials).
    let (_, application) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{}?$select=keyCredentials", app.object_id),
        None,
    )
    .await;
    let keys = application["keyCredentials"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    let old_key = keys
        .iter()
        .find(|k| k["keyId"] != new_key_id.as_str())
        .unwrap();
    assert_eq!(old_key["key"], cert.key_base64());
    assert_eq!(old_key["usage"], "Verify");
    // base64 of a 20-byte SHA-1 thumbprint.
    assert_eq!(old_key["customKeyIdentifier"].as_str().unwrap().len(), 28);
    let old_key_id = old_key["keyId"].as_str().unwrap().to_string();

    // removeKey with a proof by the new key revokes the old one.
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!("/applications/{}/removeKey", app.object_id),
        Some(json!({ "keyId": old_key_id, "proof": next.proof(&app.object_id) })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(aadsts(&body), 700027);
}

#[tokio::test]
async fn users_and_directory_role_members() {
    let sb = start().await;
    // Users and role members: not a Hybrid Identity Administrator's business.
    let admin = user_token(&sb, "global.admin").await;
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/users",
        Some(new_user_with_password("Sync_HOST2_abcdef012345", "weak")),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let mut elsewhere = new_user_with_password("x", "Str0ng!Passw0rd");
    elsewhere["userPrincipalName"] = json!("x@fabrikam.com");
    let (status, _) = graph(&sb, &admin, Method::POST, "/users", Some(elsewhere)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let password = "Str0ng!Passw0rd-42";
    let (status, user) = graph(
        &sb,
        &admin,
        Method::POST,
        "/users",
        Some(new_user_with_password("Sync_HOST2_abcdef012345", password)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{user}");
    let upn = user["userPrincipalName"].as_str().unwrap().to_string();
    let (status, _) = graph(
        &sb,
        &admin,
        Method::POST,
        "/users",
        Some(new_user_with_password("Sync_HOST2_abcdef012345", password)),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "duplicate UPN");

    let (status, by_upn) = graph(&sb, &admin, Method::GET, &format!("/users/{upn}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(by_upn["id"], user["id"]);
    let (status, filtered) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/users?$filter=userPrincipalName eq '{upn}'"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{filtered}");
    assert_eq!(filtered["value"].as_array().unwrap().len(), 1);

    let role = "/directoryRoles(roleTemplateId='d29b2b05-8046-44ba-8758-1e26182fcf32')";
    let reference = json!({ "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{}", user["id"].as_str().unwrap()) });
    let plain = user_token(&sb, "plain.user").await;
    let (status, _) = graph(
        &sb,
        &plain,
        Method::POST,
        &format!("{role}/members/$ref"),
        Some(reference.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!("{role}/members/$ref"),
        Some(reference.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, members) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("{role}/members?$top=999"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let upns: Vec<&str> = members["value"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["userPrincipalName"].as_str())
        .collect();
    assert!(upns.contains(&upn.as_str()), "{members}");

    // The new account signs in with the password grant.
    let (status, body) = password_grant(&sb, &upn, password, SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, _) = graph(
        &sb,
        &admin,
        Method::DELETE,
        &format!("/users/{}", user["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = graph(&sb, &admin, Method::GET, &format!("/users/{upn}"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["error"]["code"], "Request_ResourceNotFound");
}

#[tokio::test]
async fn paging_returns_every_item_exactly_once() {
    let sb = start_with(SandboxConfig {
        page_size: 3,
        ..SandboxConfig::default()
    })
    .await;
    let admin = admin_token(&sb).await;
    let mut created = HashSet::new();
    for i in 0..8 {
        let (_, app_id) = create_app(&sb, &admin, &format!("Paging_{i}"), vec![]).await;
        created.insert(app_id);
    }
    create_app(&sb, &admin, "Unrelated", vec![]).await;
    let mut seen = Vec::new();
    let mut pages = 0;
    let mut next = Some(format!(
        "{}/applications?$filter=startswith(displayName,'Paging_')",
        sb.graph_url
    ));
    while let Some(url) = next {
        pages += 1;
        assert!(pages <= 10, "paging does not end");
        let (status, body) = graph(&sb, &admin, Method::GET, &url, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let items = body["value"].as_array().unwrap();
        assert!(items.len() <= 3);
        seen.extend(
            items
                .iter()
                .map(|a| a["appId"].as_str().unwrap().to_string()),
        );
        next = body["@odata.nextLink"].as_str().map(str::to_string);
    }
    assert_eq!(pages, 3);
    assert_eq!(seen.len(), 8, "{seen:?}");
    assert_eq!(seen.iter().cloned().collect::<HashSet<_>>(), created);

    // $filter by appId finds exactly one.
    let one = seen[0].clone();
    let (_, body) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications?$filter=appId eq '{one}'"),
        None,
    )
    .await;
    assert_eq!(body["value"].as_array().unwrap().len(), 1);
    let (status, body) = graph(
        &sb,
        &admin,
        Method::GET,
        "/applications?$filter=notes eq 'x'",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

#[tokio::test]
async fn applications_patch_and_delete() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let (object_id, app_id) = create_app(&sb, &admin, "Patchable", vec![]).await;
    let access = json!([{ "resourceAppId": SYNC_APP_ID, "resourceAccess": [{ "id": SYNC_ROLE_ID, "type": "Role" }] }]);
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/applications(appId='{app_id}')"),
        Some(json!({ "displayName": "Patched", "requiredResourceAccess": access })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, app) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(app["displayName"], "Patched");
    assert_eq!(app["requiredResourceAccess"], access);
    // Credentials of an existing application: an Application Administrator's.
    let app_admin = user_token(&sb, "app.admin").await;
    let (status, _) = graph(&sb, &app_admin, Method::PATCH, &format!("/applications/{object_id}"), Some(json!({ "keyCredentials": [{ "type": "AsymmetricX509Cert", "usage": "Verify", "key": "bm90IGEgY2VydA==" }] }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let (status, _) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/applications/{object_id}"),
        Some(json!({ "notAProperty": 1 })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);

    let sp_id = create_sp(&sb, &admin, &app_id).await;
    let (status, _) = graph(
        &sb,
        &admin,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "appId": app_id })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, sp) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals(appId='{app_id}')"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(sp["id"], sp_id.as_str());

    let (status, _) = graph(
        &sb,
        &admin,
        Method::DELETE,
        &format!("/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals/{sp_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn app_role_assignments_list_and_delete() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let admin = admin_token(&sb).await;
    let path = format!("/servicePrincipals/{}/appRoleAssignments", app.sp_id);
    let (status, list) = graph(&sb, &admin, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK);
    let assignments = list["value"].as_array().unwrap();
    assert_eq!(assignments.len(), 1);
    assert_eq!(assignments[0]["appRoleId"], SYNC_ROLE_ID);
    let (status, body) = graph(&sb, &admin, Method::POST, &path, Some(json!({ "principalId": app.sp_id, "resourceId": assignments[0]["resourceId"], "appRoleId": uuid::Uuid::new_v4().to_string() }))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let id = assignments[0]["id"].as_str().unwrap();
    let (status, _) = graph(&sb, &admin, Method::DELETE, &format!("{path}/{id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = client_credentials(
        &sb,
        &app.app_id,
        &cert.assertion(&sb, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(
        claims(body["access_token"].as_str().unwrap())
            .get("roles")
            .is_none()
    );
}
