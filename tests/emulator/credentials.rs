//! Everything that can sign in as an application (issue 21): client secrets
//! on the application and on its service principal (addPassword,
//! removePassword, and the token endpoint's client_secret), federated
//! identity credentials, owners, and the delegated grants Graph lists as
//! oauth2PermissionGrants, each with Graph's permission rules; and what an
//! application may read of itself without a permission.

use crate::harness::tenant::*;
use entra_connect::sandbox::SandboxHandle;
use reqwest::StatusCode;
use serde_json::{Value, json};

const AZURE_CLI: &str = "04b07795-8ddb-461a-bbee-02f9e1bf7b46";

/// addPassword on `object` (`/applications/{id}` or `/servicePrincipals/{id}`).
async fn add_password(sb: &SandboxHandle, token: &str, object: &str) -> (StatusCode, Value) {
    graph_post(
        sb,
        token,
        &format!("{object}/addPassword"),
        json!({ "passwordCredential": { "displayName": "planted" } }),
    )
    .await
}

/// A client credentials request with a client secret in the form.
async fn secret_grant(sb: &SandboxHandle, client_id: &str, secret: &str) -> (StatusCode, Value) {
    token_request(
        sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            ("client_secret", secret),
            ("scope", SYNC_SCOPE),
        ],
    )
    .await
}

/// The same with HTTP Basic authentication (client_secret_basic).
async fn basic_secret_grant(
    sb: &SandboxHandle,
    client_id: &str,
    secret: &str,
) -> (StatusCode, Value) {
    let response = http_for(sb)
        .post(sb.token_endpoint())
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "client_credentials"), ("scope", SYNC_SCOPE)])
        .send()
        .await
        .expect("token request");
    let status = response.status();
    (status, response.json().await.expect("JSON body"))
}

/// The claims of a granted token, checked to be the application's own.
fn signed_in_as(status: StatusCode, body: &Value, app: &App) -> Value {
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = claims(body["access_token"].as_str().expect("token"));
    assert_eq!(claims["appid"], app.app_id.as_str());
    assert_eq!(claims["oid"], app.sp_id.as_str());
    assert_eq!(claims["roles"], json!(["ADSynchronization.ReadWrite.All"]));
    claims
}

fn refused_secret(status: StatusCode, body: &Value, code: u64) {
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(aadsts(body), code);
}

// ------------------------------------------------------------ passwords

#[tokio::test]
async fn who_may_add_a_password_to_an_application_is_who_may_change_its_credentials() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let object = format!("/applications/{}", app.object_id);
    for name in ["app.admin", "cloudapp.admin", "global.admin"] {
        let token = user_token(&sb, name).await;
        let (status, body) = add_password(&sb, &token, &object).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
    }
    for name in ["hybrid.admin", "role.admin", "user.admin", "plain.user"] {
        let token = user_token(&sb, name).await;
        let (status, body) = add_password(&sb, &token, &object).await;
        assert_denied(status, &body, name);
    }
    // A member who registered an application owns it, and may.
    let plain = user_token(&sb, "plain.user").await;
    let (own, _) = create_app(&sb, &plain, "mine", vec![]).await;
    let (status, body) = add_password(&sb, &plain, &format!("/applications/{own}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn an_application_adds_no_password_to_itself_without_a_permission() {
    let sb = start().await;
    let (app, token) = app_with_graph_roles(&sb, &[]).await;
    for object in [
        format!("/applications/{}", app.object_id),
        format!("/servicePrincipals/{}", app.sp_id),
    ] {
        let (status, body) = add_password(&sb, &token, &object).await;
        assert_denied(status, &body, &object);
    }
    // OwnedBy reaches only what it owns: not itself, but what it created.
    let (app, token) = app_with_graph_roles(&sb, &["Application.ReadWrite.OwnedBy"]).await;
    let (status, body) =
        add_password(&sb, &token, &format!("/applications/{}", app.object_id)).await;
    assert_denied(status, &body, "OwnedBy on itself");
    let (owned, _) = create_app(&sb, &token, "owned", vec![]).await;
    let (status, body) = add_password(&sb, &token, &format!("/applications/{owned}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    // Application.ReadWrite.All reaches every application, itself included.
    let (app, token) = app_with_graph_roles(&sb, &["Application.ReadWrite.All"]).await;
    let (status, body) =
        add_password(&sb, &token, &format!("/applications/{}", app.object_id)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn the_secret_is_returned_once_and_then_only_its_hint() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let admin = user_token(&sb, "app.admin").await;
    let (status, added) =
        add_password(&sb, &admin, &format!("/applications/{}", app.object_id)).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let secret = added["secretText"].as_str().expect("secretText");
    assert_eq!(secret.chars().count(), 40, "{added}");
    assert_eq!(added["hint"], &secret[..3]);
    assert_eq!(added["displayName"], "planted");
    assert_eq!(added["customKeyIdentifier"], Value::Null);
    let start = time::OffsetDateTime::parse(
        added["startDateTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let end = time::OffsetDateTime::parse(
        added["endDateTime"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(end.year() - start.year(), 2, "two years by default");

    let read = get_ok(&sb, &admin, &format!("/applications/{}", app.object_id)).await;
    let listed = &read["passwordCredentials"];
    assert_eq!(listed.as_array().map(Vec::len), Some(1), "{read}");
    assert_eq!(listed[0]["keyId"], added["keyId"]);
    assert_eq!(listed[0]["hint"], added["hint"]);
    assert_eq!(listed[0]["secretText"], Value::Null);
    let all = get_ok(&sb, &admin, "/applications").await.to_string();
    assert!(!all.contains(secret), "no list shows the secret");
    assert!(
        !read.to_string().contains(secret),
        "no read shows the secret"
    );
}

#[tokio::test]
async fn a_secret_on_the_application_signs_in_as_it_until_it_is_removed() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let admin = user_token(&sb, "app.admin").await;
    let object = format!("/applications/{}", app.object_id);
    let (_, added) = add_password(&sb, &admin, &object).await;
    let secret = added["secretText"].as_str().unwrap();

    let (status, body) = secret_grant(&sb, &app.app_id, secret).await;
    signed_in_as(status, &body, &app);
    let (status, body) = basic_secret_grant(&sb, &app.app_id, secret).await;
    signed_in_as(status, &body, &app);
    let (status, body) = secret_grant(&sb, &app.app_id, &format!("{secret}x")).await;
    refused_secret(status, &body, 7000215);

    let (status, body) = graph_post(
        &sb,
        &admin,
        &format!("{object}/removePassword"),
        json!({ "keyId": added["keyId"] }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = secret_grant(&sb, &app.app_id, secret).await;
    refused_secret(status, &body, 7000215);
    let (status, body) = graph_post(
        &sb,
        &admin,
        &format!("{object}/removePassword"),
        json!({ "keyId": added["keyId"] }),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "removed once: {body}");
}

#[tokio::test]
async fn a_secret_on_the_service_principal_signs_in_as_the_application_too() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let object = format!("/servicePrincipals/{}", app.sp_id);
    let hybrid = user_token(&sb, "hybrid.admin").await;
    let (status, body) = add_password(&sb, &hybrid, &object).await;
    assert_denied(status, &body, "Hybrid Identity Administrator");
    let admin = user_token(&sb, "cloudapp.admin").await;
    let (status, added) = add_password(&sb, &admin, &object).await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let secret = added["secretText"].as_str().unwrap();
    let read = get_ok(&sb, &admin, &object).await;
    assert_eq!(read["passwordCredentials"][0]["hint"], &secret[..3]);
    assert_eq!(read["passwordCredentials"][0]["secretText"], Value::Null);

    let (status, body) = secret_grant(&sb, &app.app_id, secret).await;
    signed_in_as(status, &body, &app);
    let (status, body) = graph_post(
        &sb,
        &admin,
        &format!("{object}/removePassword"),
        json!({ "keyId": added["keyId"] }),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = secret_grant(&sb, &app.app_id, secret).await;
    refused_secret(status, &body, 7000215);
}

#[tokio::test]
async fn an_expired_secret_is_refused_as_expired() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let admin = user_token(&sb, "app.admin").await;
    let (status, added) = graph_post(
        &sb,
        &admin,
        &format!("/applications/{}/addPassword", app.object_id),
        json!({ "passwordCredential": {
            "startDateTime": "2020-01-01T00:00:00Z", "endDateTime": "2021-01-01T00:00:00Z" } }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    let (status, body) =
        secret_grant(&sb, &app.app_id, added["secretText"].as_str().unwrap()).await;
    refused_secret(status, &body, 7000222);
}

// ------------------------------------------------------------ owners

/// Owner changes need Directory.Read.All besides Application.ReadWrite.All.
const OWNER_SCOPES: &[&str] = &["Directory.Read.All"];

/// `POST {object}/owners/$ref`: makes the directory object `owner_id` an
/// owner of `object` (`/applications/{id}` or `/servicePrincipals/{id}`).
async fn add_owner(sb: &SandboxHandle, token: &str, object: &str, owner_id: &str) -> GraphReply {
    let reference = json!({
        "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{owner_id}")
    });
    graph_post(sb, token, &format!("{object}/owners/$ref"), reference).await
}

/// `DELETE {object}/owners/{id}/$ref`.
async fn remove_owner(sb: &SandboxHandle, token: &str, object: &str, owner_id: &str) -> GraphReply {
    graph_delete(sb, token, &format!("{object}/owners/{owner_id}/$ref")).await
}

#[tokio::test]
async fn owners_of_an_application_are_added_listed_and_removed() {
    let sb = start_with(with_graph_consent(OWNER_SCOPES)).await;
    let app = register_app(&sb, &TestCert::new()).await;
    let object = format!("/applications/{}", app.object_id);
    let hybrid = user_token(&sb, "hybrid.admin").await;
    let plain = user_token(&sb, "plain.user").await;
    let plain_id = seeded_user_id(&sb, &hybrid, "plain.user").await;

    for name in ["user.admin", "role.admin", "plain.user"] {
        let token = user_token(&sb, name).await;
        let (status, body) = add_owner(&sb, &token, &object, &plain_id).await;
        assert_denied(status, &body, name);
    }
    let (status, body) = add_owner(&sb, &hybrid, &object, &plain_id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = add_owner(&sb, &hybrid, &object, &plain_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "added twice: {body}");
    let owners = get_ok(&sb, &hybrid, &format!("{object}/owners")).await;
    assert_eq!(owners["value"][0]["id"], plain_id.as_str(), "{owners}");

    // The new owner may plant a secret.
    let (status, body) = add_password(&sb, &plain, &object).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    let (status, body) = remove_owner(&sb, &hybrid, &object, &plain_id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let owners = get_ok(&sb, &hybrid, &format!("{object}/owners")).await;
    assert_eq!(owners["value"], json!([]));
    let (status, _) = remove_owner(&sb, &hybrid, &object, &plain_id).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) = add_password(&sb, &plain, &object).await;
    assert_denied(status, &body, "a former owner");
}

#[tokio::test]
async fn adding_an_owner_needs_directory_read_all_consented() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let admin = user_token(&sb, "global.admin").await;
    let plain_id = seeded_user_id(&sb, &admin, "plain.user").await;
    let (status, body) = add_owner(
        &sb,
        &admin,
        &format!("/applications/{}", app.object_id),
        &plain_id,
    )
    .await;
    assert_denied(status, &body, "Application.ReadWrite.All alone");
}

#[tokio::test]
async fn owners_of_a_service_principal_may_add_passwords_to_it() {
    let sb = start_with(with_graph_consent(OWNER_SCOPES)).await;
    let app = register_app(&sb, &TestCert::new()).await;
    let object = format!("/servicePrincipals/{}", app.sp_id);
    let admin = user_token(&sb, "app.admin").await;
    let plain = user_token(&sb, "plain.user").await;
    let plain_id = seeded_user_id(&sb, &admin, "plain.user").await;
    let (status, body) = add_password(&sb, &plain, &object).await;
    assert_denied(status, &body, "not an owner yet");
    let (status, body) = add_owner(&sb, &admin, &object, &plain_id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let owners = get_ok(&sb, &admin, &format!("{object}/owners")).await;
    assert_eq!(owners["value"][0]["id"], plain_id.as_str(), "{owners}");
    let (status, body) = add_password(&sb, &plain, &object).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) = remove_owner(&sb, &admin, &object, &plain_id).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
}

// ------------------------------------------------------------ what an application reads of itself

#[tokio::test]
async fn an_application_reads_its_own_object_and_nothing_more_about_itself() {
    let sb = start().await;
    let (app, token) = app_with_graph_roles(&sb, &[]).await;
    let own = get_ok(&sb, &token, &format!("/applications/{}", app.object_id)).await;
    assert!(own["passwordCredentials"].is_array(), "{own}");
    for path in [
        format!("/applications/{}/owners", app.object_id),
        format!(
            "/applications/{}/federatedIdentityCredentials",
            app.object_id
        ),
        format!("/servicePrincipals/{}", app.sp_id),
        format!("/servicePrincipals/{}/owners", app.sp_id),
        format!("/servicePrincipals/{}/appRoleAssignments", app.sp_id),
        format!("/servicePrincipals/{}/oauth2PermissionGrants", app.sp_id),
    ] {
        let (status, body) = graph_get(&sb, &token, &path).await;
        assert_denied(status, &body, &path);
    }
    // Application.Read.All reads the rest.
    let (app, token) = app_with_graph_roles(&sb, &["Application.Read.All"]).await;
    for path in [
        format!("/applications/{}/owners", app.object_id),
        format!(
            "/applications/{}/federatedIdentityCredentials",
            app.object_id
        ),
        format!("/servicePrincipals/{}", app.sp_id),
        format!("/servicePrincipals/{}/owners", app.sp_id),
        format!("/servicePrincipals/{}/appRoleAssignments", app.sp_id),
    ] {
        get_ok(&sb, &token, &path).await;
    }
}

// ------------------------------------------------------------ federated identity credentials

fn federated(name: &str, subject: &str) -> Value {
    json!({
        "name": name,
        "issuer": "https://token.actions.githubusercontent.com",
        "subject": subject,
        "audiences": ["api://AzureADTokenExchange"],
    })
}

#[tokio::test]
async fn federated_identity_credentials_are_created_listed_read_and_deleted() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let path = format!(
        "/applications/{}/federatedIdentityCredentials",
        app.object_id
    );
    let hybrid = user_token(&sb, "hybrid.admin").await;
    let (status, body) = graph_post(&sb, &hybrid, &path, federated("ci", "repo:x:ref:main")).await;
    assert_denied(status, &body, "Hybrid Identity Administrator");

    let admin = user_token(&sb, "app.admin").await;
    let (status, made) = graph_post(&sb, &admin, &path, federated("ci", "repo:x:ref:main")).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["name"], "ci");
    assert_eq!(made["audiences"], json!(["api://AzureADTokenExchange"]));
    assert_eq!(made["description"], Value::Null);
    let id = made["id"].as_str().unwrap();

    let listed = get_ok(&sb, &admin, &path).await;
    assert_eq!(listed["value"], json!([made.clone()]));
    assert_eq!(get_ok(&sb, &admin, &format!("{path}/{id}")).await, made);
    assert_eq!(
        get_ok(
            &sb,
            &admin,
            &format!("{path}/federatedIdentityCredentials(name='ci')")
        )
        .await,
        made
    );

    let (status, body) = graph_post(&sb, &admin, &path, federated("ci", "other")).await;
    assert_eq!(status, StatusCode::CONFLICT, "the name is unique: {body}");
    let (status, body) = graph_post(&sb, &admin, &path, federated("ci2", "repo:x:ref:main")).await;
    assert_eq!(
        status,
        StatusCode::CONFLICT,
        "issuer and subject are unique: {body}"
    );
    let mut two = federated("two", "s2");
    two["audiences"] = json!(["api://AzureADTokenExchange", "api://other"]);
    let mut none = federated("none", "s3");
    none["audiences"] = json!([]);
    let mut no_issuer = federated("noissuer", "s4");
    no_issuer["issuer"] = Value::Null;
    for (what, body) in [
        ("two audiences", two),
        ("no audience", none),
        ("no issuer", no_issuer),
        ("a name that is not URL friendly", federated("a b", "s5")),
        (
            "a name over 120 characters",
            federated(&"n".repeat(121), "s6"),
        ),
        (
            "a subject over 600 characters",
            federated("long", &"s".repeat(601)),
        ),
    ] {
        let (status, answer) = graph_post(&sb, &admin, &path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{what}: {answer}");
    }

    let (status, body) = graph_delete(&sb, &admin, &format!("{path}/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, _) = graph_get(&sb, &admin, &format!("{path}/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_application_holds_at_most_twenty_federated_identity_credentials() {
    let sb = start().await;
    let app = register_app(&sb, &TestCert::new()).await;
    let path = format!(
        "/applications/{}/federatedIdentityCredentials",
        app.object_id
    );
    let admin = user_token(&sb, "app.admin").await;
    for n in 0..20 {
        let (status, body) = graph_post(
            &sb,
            &admin,
            &path,
            federated(&format!("c{n}"), &format!("s{n}")),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED, "{n}: {body}");
    }
    let (status, body) = graph_post(&sb, &admin, &path, federated("c20", "s20")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

// ------------------------------------------------------------ delegated permission grants

/// Reading and writing grants needs these besides the default consent.
const GRANT_SCOPES: &[&str] = &[
    "Directory.Read.All",
    "DelegatedPermissionGrant.ReadWrite.All",
];

async fn azure_cli_sign_in(sb: &SandboxHandle) -> (StatusCode, Value) {
    let user = sb.user("plain.user").unwrap();
    token_request(
        sb,
        &[
            ("grant_type", "password"),
            ("client_id", AZURE_CLI),
            ("username", &user.upn),
            ("password", &user.password),
            ("scope", GRAPH_SCOPE),
        ],
    )
    .await
}

#[tokio::test]
async fn permission_grants_list_the_consent_tokens_carry_and_deleting_one_revokes_it() {
    let sb = start_with(with_graph_consent(GRANT_SCOPES)).await;
    let admin = user_token(&sb, "global.admin").await;
    let cli = get_ok(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{AZURE_CLI}')"),
    )
    .await;
    let graph_sp = get_ok(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{GRAPH_APP_ID}')"),
    )
    .await;

    let listed = get_ok(
        &sb,
        &admin,
        &format!(
            "/servicePrincipals/{}/oauth2PermissionGrants",
            cli["id"].as_str().unwrap()
        ),
    )
    .await;
    let grants = listed["value"].as_array().unwrap();
    assert_eq!(grants.len(), 1, "{listed}");
    let grant = &grants[0];
    assert_eq!(grant["clientId"], cli["id"]);
    assert_eq!(grant["resourceId"], graph_sp["id"]);
    assert_eq!(grant["consentType"], "AllPrincipals");
    assert_eq!(grant["principalId"], Value::Null);
    let (status, token) = azure_cli_sign_in(&sb).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    let scp = claims(token["access_token"].as_str().unwrap())["scp"].clone();
    assert_eq!(grant["scope"], scp, "Graph lists what tokens carry");

    let all = get_ok(&sb, &admin, "/oauth2PermissionGrants").await;
    assert!(all["value"].as_array().unwrap().contains(grant), "{all}");
    let id = grant["id"].as_str().unwrap();
    assert_eq!(
        &get_ok(&sb, &admin, &format!("/oauth2PermissionGrants/{id}")).await,
        grant
    );
    for name in ["hybrid.admin", "plain.user"] {
        let token = user_token(&sb, name).await;
        let (status, body) = graph_get(&sb, &token, "/oauth2PermissionGrants").await;
        assert_denied(status, &body, name);
        let (status, body) =
            graph_delete(&sb, &token, &format!("/oauth2PermissionGrants/{id}")).await;
        assert_denied(status, &body, name);
    }

    let (status, body) = graph_delete(&sb, &admin, &format!("/oauth2PermissionGrants/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = azure_cli_sign_in(&sb).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 65001, "the consent is gone from tokens");
    let (status, _) = graph_get(&sb, &admin, &format!("/oauth2PermissionGrants/{id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Granted again through Graph, the client signs users in with exactly that.
    let new_grant = json!({
        "clientId": cli["id"], "consentType": "AllPrincipals", "principalId": null,
        "resourceId": graph_sp["id"], "scope": "User.Read",
    });
    let (status, made) =
        graph_post(&sb, &admin, "/oauth2PermissionGrants", new_grant.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{made}");
    assert_eq!(made["scope"], "User.Read");
    let (status, token) = azure_cli_sign_in(&sb).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["scp"],
        "User.Read"
    );
    let (status, body) =
        graph_post(&sb, &admin, "/oauth2PermissionGrants", new_grant.clone()).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    let mut unknown = new_grant.clone();
    unknown["scope"] = "No.Such.Permission".into();
    let mut per_user = new_grant;
    per_user["consentType"] = "Principal".into();
    for body in [unknown, per_user] {
        let (status, answer) = graph_post(&sb, &admin, "/oauth2PermissionGrants", body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{answer}");
    }
}
