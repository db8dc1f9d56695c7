//! The sandbox's write semantics: upserts by alternate key, uniqueName,
//! post-write faults (the write is committed, the answer is lost), replication
//! of grants and principals, and the smaller details where the sandbox must
//! answer as Entra does (keyCredentials.key, customKeyIdentifier, duplicate
//! assignments, addKey/removeKey proofs, reused assertions).

use crate::harness::tenant::*;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha1::Digest as _;
use std::time::{Duration, Instant};

/// What a client saw of a request: a status, or a connection dropped without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Status(u16),
    Dropped,
}

/// A Graph request that may not get an answer: (outcome, JSON body or Null).
async fn send(
    client: &reqwest::Client,
    sb: &SandboxHandle,
    token: &str,
    method: Method,
    path: &str,
    body: Option<Value>,
    prefer: Option<&str>,
) -> (Outcome, Value) {
    let mut request = client
        .request(method, format!("{}{path}", sb.graph_url))
        .bearer_auth(token);
    if let Some(prefer) = prefer {
        request = request.header("Prefer", prefer);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(error) => {
            assert!(!error.is_timeout(), "a timeout is not a dropped connection");
            return (Outcome::Dropped, Value::Null);
        }
    };
    let status = response.status().as_u16();
    match response.text().await {
        Ok(text) if text.is_empty() => (Outcome::Status(status), Value::Null),
        Ok(text) => (
            Outcome::Status(status),
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ),
        Err(_) => (Outcome::Dropped, Value::Null),
    }
}

async fn upsert(
    sb: &SandboxHandle,
    token: &str,
    path: &str,
    body: Value,
    prefer: bool,
) -> (StatusCode, Value) {
    let (outcome, body) = send(
        &http(),
        sb,
        token,
        Method::PATCH,
        path,
        Some(body),
        prefer.then_some("create-if-missing"),
    )
    .await;
    match outcome {
        Outcome::Status(status) => (StatusCode::from_u16(status).unwrap(), body),
        Outcome::Dropped => panic!("no answer to PATCH {path}"),
    }
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or_default()
}

fn error_message(body: &Value) -> &str {
    body["error"]["message"].as_str().unwrap_or_default()
}

/// The applications whose displayName is `name` (reads are never faulted).
async fn applications_named(sb: &SandboxHandle, token: &str, name: &str) -> Vec<Value> {
    let (status, body) = graph(
        sb,
        token,
        Method::GET,
        &format!("/applications?$filter=displayName eq '{name}'"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["value"].as_array().unwrap().clone()
}

// ---- upsert ---------------------------------------------------------------

#[tokio::test]
async fn application_upsert_creates_then_updates_and_needs_the_header() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let cert = TestCert::new();
    let path = "/applications(uniqueName='ConnectSyncProvisioning_HOST1_0123456789ab')";

    // Missing, without the header: an update of nothing.
    let (status, body) = upsert(&sb, &admin, path, json!({ "displayName": "A" }), false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "Request_ResourceNotFound");
    let (status, body) = graph(&sb, &admin, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "Request_ResourceNotFound");

    // Missing, with the header but no displayName: refused, nothing created.
    let (status, body) = upsert(&sb, &admin, path, json!({}), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (status, _) = graph(&sb, &admin, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Missing, with the header: created, 201 with the object.
    let (status, created) = upsert(
        &sb,
        &admin,
        path,
        json!({ "displayName": "ConnectSyncProvisioning_HOST1_0123456789ab",
                "keyCredentials": [cert.key_credential()] }),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(
        created["uniqueName"],
        "ConnectSyncProvisioning_HOST1_0123456789ab"
    );
    let object_id = created["id"].as_str().unwrap().to_string();
    assert!(created["appId"].is_string());
    assert_eq!(created["keyCredentials"].as_array().unwrap().len(), 1);

    // Existing, with the header: updated, 204, the same object.
    let (status, body) = upsert(&sb, &admin, path, json!({ "displayName": "Renamed" }), true).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    assert_eq!(body, Value::Null);
    let (status, app) = graph(&sb, &admin, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "{app}");
    assert_eq!(app["id"], object_id.as_str());
    assert_eq!(app["displayName"], "Renamed");
    assert_eq!(app["keyCredentials"].as_array().unwrap().len(), 1);

    // Existing, without the header: a plain update.
    let (status, body) = upsert(&sb, &admin, path, json!({ "displayName": "Again" }), false).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, app) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(app["displayName"], "Again");
    assert_eq!(
        app["uniqueName"],
        "ConnectSyncProvisioning_HOST1_0123456789ab"
    );
    // One application, however often it was upserted.
    assert_eq!(applications_named(&sb, &admin, "Again").await.len(), 1);
}

#[tokio::test]
async fn unique_name_is_unique_in_the_tenant_and_immutable() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let post = |body: Value| {
        let (sb, admin) = (&sb, admin.clone());
        async move { graph(sb, &admin, Method::POST, "/applications", Some(body)).await }
    };
    let (status, first) = post(json!({ "displayName": "First", "uniqueName": "unique-1" })).await;
    assert_eq!(status, StatusCode::CREATED, "{first}");
    assert_eq!(first["uniqueName"], "unique-1");
    let first_id = first["id"].as_str().unwrap().to_string();

    for taken in ["unique-1", "UNIQUE-1"] {
        let (status, body) = post(json!({ "displayName": "Second", "uniqueName": taken })).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(error_code(&body), "Request_BadRequest");
        assert_eq!(
            error_message(&body),
            "Another object with the same value for property uniqueName already exists."
        );
    }
    assert!(applications_named(&sb, &admin, "Second").await.is_empty());

    // Found by its alternate key and by $filter.
    let (status, app) = graph(
        &sb,
        &admin,
        Method::GET,
        "/applications(uniqueName='unique-1')",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    assert_eq!(app["id"], first_id.as_str());
    let (status, list) = graph(
        &sb,
        &admin,
        Method::GET,
        "/applications?$filter=uniqueName eq 'unique-1'",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{list}");
    assert_eq!(list["value"].as_array().unwrap().len(), 1);

    // Immutable: a PATCH that changes it is refused; one that repeats it is not.
    let by_id = format!("/applications/{first_id}");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &by_id,
        Some(json!({ "uniqueName": "unique-2" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "Request_BadRequest");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &by_id,
        Some(json!({ "uniqueName": "unique-1", "displayName": "First again" })),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, body) = upsert(
        &sb,
        &admin,
        "/applications(uniqueName='unique-1')",
        json!({ "uniqueName": "unique-3" }),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let (_, app) = graph(&sb, &admin, Method::GET, &by_id, None).await;
    assert_eq!(app["uniqueName"], "unique-1");
    assert_eq!(app["displayName"], "First again");

    // Settable only at creation: not added to an application made without one.
    let (status, plain) = post(json!({ "displayName": "Plain" })).await;
    assert_eq!(status, StatusCode::CREATED, "{plain}");
    assert_eq!(plain["uniqueName"], Value::Null);
    let (status, body) = graph(
        &sb,
        &admin,
        Method::PATCH,
        &format!("/applications/{}", plain["id"].as_str().unwrap()),
        Some(json!({ "uniqueName": "late" })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // An upsert body naming another uniqueName than the URL creates nothing.
    let (status, body) = upsert(
        &sb,
        &admin,
        "/applications(uniqueName='unique-4')",
        json!({ "displayName": "Mismatch", "uniqueName": "unique-5" }),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(applications_named(&sb, &admin, "Mismatch").await.is_empty());

    // The upsert of a name a POST took updates that application.
    let (status, body) = upsert(
        &sb,
        &admin,
        "/applications(uniqueName='UNIQUE-1')",
        json!({ "displayName": "Upserted" }),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, app) = graph(&sb, &admin, Method::GET, &by_id, None).await;
    assert_eq!(app["displayName"], "Upserted");
}

#[tokio::test]
async fn service_principal_upsert_creates_then_updates_and_needs_the_header() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let (_, app_id) = create_app(&sb, &admin, "Principal upsert", vec![]).await;
    let path = format!("/servicePrincipals(appId='{app_id}')");

    let (status, body) = upsert(&sb, &admin, &path, json!({}), false).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    assert_eq!(error_code(&body), "Request_ResourceNotFound");

    let (status, created) = upsert(&sb, &admin, &path, json!({}), true).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["appId"], app_id.as_str());
    assert_eq!(created["displayName"], "Principal upsert");
    let sp_id = created["id"].as_str().unwrap().to_string();

    let (status, body) = upsert(
        &sb,
        &admin,
        &path,
        json!({ "displayName": "Principal renamed" }),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (status, sp) = graph(&sb, &admin, Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{sp}");
    assert_eq!(sp["id"], sp_id.as_str());
    assert_eq!(sp["displayName"], "Principal renamed");

    // Still one: a POST for the same appId conflicts.
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "appId": app_id })),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");

    // An appId that names no application.
    let unknown = uuid::Uuid::new_v4().to_string();
    let (status, body) = upsert(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{unknown}')"),
        json!({}),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(
        error_message(&body),
        format!(
            "The appId '{unknown}' of the service principal does not reference a valid application object."
        )
    );
}

// ---- post-write faults ----------------------------------------------------

const FAULT_SEED: u64 = 11;

/// Eight application creations at post-write fault rate 1.0: what the client saw.
async fn faulted_creations(seed: u64) -> Vec<Outcome> {
    let sb = start_with(SandboxConfig {
        post_write_fault_rate: 1.0,
        fault_seed: seed,
        ..SandboxConfig::default()
    })
    .await;
    let admin = admin_token(&sb).await;
    let client = http();
    let mut outcomes = Vec::new();
    for i in 0..8 {
        let name = format!("Faulted {i}");
        let (outcome, body) = send(
            &client,
            &sb,
            &admin,
            Method::POST,
            "/applications",
            Some(json!({ "displayName": name })),
            None,
        )
        .await;
        match outcome {
            Outcome::Status(status) => {
                assert!(matches!(status, 500 | 503 | 504), "{status} {body}");
                assert!(error_code(&body).len() > 1, "Graph error shape: {body}");
            }
            Outcome::Dropped => {}
        }
        // Committed all the same.
        assert_eq!(
            applications_named(&sb, &admin, &name).await.len(),
            1,
            "{name} was committed"
        );
        outcomes.push(outcome);
    }
    outcomes
}

#[tokio::test]
async fn post_write_faults_commit_the_write_and_lose_the_answer_reproducibly() {
    let first = faulted_creations(FAULT_SEED).await;
    assert!(first.contains(&Outcome::Dropped), "{first:?}");
    assert!(
        first.iter().any(|o| matches!(o, Outcome::Status(_))),
        "{first:?}"
    );
    let second = faulted_creations(FAULT_SEED).await;
    assert_eq!(first, second, "the same seed gives the same faults");
}

#[tokio::test]
async fn post_write_faults_cover_every_write_and_spare_reads_and_failed_writes() {
    let sb = start_with(SandboxConfig {
        post_write_fault_rate: 1.0,
        fault_seed: FAULT_SEED,
        ..SandboxConfig::default()
    })
    .await;
    // Creates, adds keys and grants: an Application Administrator may do all.
    let admin = user_token(&sb, "app.admin").await;
    let client = http();
    let cert = TestCert::new();
    let is_fault = |o: Outcome| matches!(o, Outcome::Dropped | Outcome::Status(500 | 503 | 504));

    // A write refused by validation is answered as it is (nothing was committed).
    let (outcome, body) = send(
        &client,
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({ "signInAudience": "AzureADMyOrg" })),
        None,
    )
    .await;
    assert_eq!(outcome, Outcome::Status(400), "{body}");

    // The upsert is committed.
    let path = "/applications(uniqueName='faulted-upsert')";
    let (outcome, _) = send(
        &client,
        &sb,
        &admin,
        Method::PATCH,
        path,
        Some(json!({ "displayName": "Faulted upsert", "keyCredentials": [cert.key_credential()] })),
        Some("create-if-missing"),
    )
    .await;
    assert!(is_fault(outcome), "{outcome:?}");
    let (status, app) = graph(&sb, &admin, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::OK, "reads are not faulted: {app}");
    let object_id = app["id"].as_str().unwrap().to_string();
    let app_id = app["appId"].as_str().unwrap().to_string();

    // addKey is committed.
    let next = TestCert::new();
    let (outcome, _) = send(
        &client,
        &sb,
        &admin,
        Method::POST,
        &format!("/applications/{object_id}/addKey"),
        Some(json!({ "keyCredential": next.key_credential(), "proof": cert.proof(&object_id) })),
        None,
    )
    .await;
    assert!(is_fault(outcome), "{outcome:?}");
    let (_, app) = graph(&sb, &admin, Method::GET, path, None).await;
    assert_eq!(app["keyCredentials"].as_array().unwrap().len(), 2);

    // The service principal and the app role assignment are committed.
    let (outcome, _) = send(
        &client,
        &sb,
        &admin,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "appId": app_id })),
        None,
    )
    .await;
    assert!(is_fault(outcome), "{outcome:?}");
    let (status, sp) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals(appId='{app_id}')"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{sp}");
    let (_, sync) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
        None,
    )
    .await;
    let assignments = format!(
        "/servicePrincipals/{}/appRoleAssignments",
        sp["id"].as_str().unwrap()
    );
    let (outcome, _) = send(
        &client,
        &sb,
        &admin,
        Method::POST,
        &assignments,
        Some(
            json!({ "principalId": sp["id"], "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID }),
        ),
        None,
    )
    .await;
    assert!(is_fault(outcome), "{outcome:?}");
    let (status, list) = graph(&sb, &admin, Method::GET, &assignments, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    // ... so the token carries the role.
    let (status, token) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );

    // DELETE is committed.
    let (outcome, _) = send(
        &client,
        &sb,
        &admin,
        Method::DELETE,
        &format!("/applications/{object_id}"),
        None,
        None,
    )
    .await;
    assert!(is_fault(outcome), "{outcome:?}");
    let (status, _) = graph(&sb, &admin, Method::GET, path, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn post_write_faults_drop_connections_over_https_too() {
    let workdir = tempfile::tempdir().unwrap();
    let sb = start_with(SandboxConfig {
        tls: true,
        ca_cert_path: Some(workdir.path().join("ca.pem")),
        post_write_fault_rate: 1.0,
        fault_seed: FAULT_SEED,
        ..SandboxConfig::default()
    })
    .await;
    let pem = std::fs::read(sb.ca_cert.clone().unwrap()).unwrap();
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(15))
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let user = sb.user("hybrid.admin").unwrap().clone();
    let token: Value = client
        .post(sb.token_endpoint())
        .form(&[
            ("grant_type", "password"),
            ("client_id", GRAPH_CLI),
            ("username", user.upn.as_str()),
            ("password", user.password.as_str()),
            ("scope", GRAPH_SCOPE),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let admin = token["access_token"].as_str().unwrap().to_string();
    let mut outcomes = Vec::new();
    for i in 0..8 {
        let (outcome, _) = send(
            &client,
            &sb,
            &admin,
            Method::POST,
            "/applications",
            Some(json!({ "displayName": format!("Over TLS {i}") })),
            None,
        )
        .await;
        outcomes.push(outcome);
        // Committed, and the server goes on answering after a dropped connection.
        let list: Value = client
            .get(format!(
                "{}/applications?$filter=displayName eq 'Over TLS {i}'",
                sb.graph_url
            ))
            .bearer_auth(&admin)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
    }
    assert!(outcomes.contains(&Outcome::Dropped), "{outcomes:?}");
    assert_eq!(outcomes, faulted_creations(FAULT_SEED).await);
}

// ---- replication ----------------------------------------------------------

/// Long enough that the few requests a test makes right after a write always
/// come within it, however busy the machine: those checks never skip.
const LAG: Duration = Duration::from_secs(3);

async fn lagging() -> SandboxHandle {
    start_with(SandboxConfig {
        replication_lag: LAG,
        ..SandboxConfig::default()
    })
    .await
}

/// Waits until what was written before `since` (taken once the write was
/// answered) has replicated.
async fn sleep_past(since: Instant) {
    tokio::time::sleep(LAG.saturating_sub(since.elapsed()) + Duration::from_millis(100)).await;
}

#[tokio::test]
async fn a_new_grant_is_missing_from_tokens_until_it_replicates() {
    let sb = lagging().await;
    let admin = admin_token(&sb).await;
    let cert = TestCert::new();
    let (_, app_id) = create_app(&sb, &admin, "Lagging grant", vec![cert.key_credential()]).await;
    sleep_past(Instant::now()).await;
    let sp_id = create_sp(&sb, &admin, &app_id).await;
    sleep_past(Instant::now()).await;
    let (_, sync) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
        None,
    )
    .await;
    let assignments = format!("/servicePrincipals/{sp_id}/appRoleAssignments");
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &assignments,
        Some(json!({ "principalId": sp_id, "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let granted = Instant::now();

    // Within the lag: the grant is not listed yet; a token, but without the role.
    let (_, list) = graph(&sb, &admin, Method::GET, &assignments, None).await;
    assert!(list["value"].as_array().unwrap().is_empty(), "{list}");
    let (status, token) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert!(
        claims(token["access_token"].as_str().unwrap())
            .get("roles")
            .is_none(),
        "{token}"
    );
    // A second grant of the same role is a duplicate even before it replicates.
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &assignments,
        Some(json!({ "principalId": sp_id, "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");

    // After it: the role is in the token.
    sleep_past(granted).await;
    let (status, token) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{token}");
    assert_eq!(
        claims(token["access_token"].as_str().unwrap())["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );
    let (_, list) = graph(&sb, &admin, Method::GET, &assignments, None).await;
    assert_eq!(list["value"].as_array().unwrap().len(), 1, "{list}");
}

#[tokio::test]
async fn a_new_service_principal_gets_aadsts7000229_until_it_replicates() {
    let sb = lagging().await;
    let admin = admin_token(&sb).await;
    let cert = TestCert::new();
    let (_, app_id) = create_app(
        &sb,
        &admin,
        "Lagging principal",
        vec![cert.key_credential()],
    )
    .await;
    let created = Instant::now();

    // The application itself is not visible yet: 700016.
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 700016);
    sleep_past(created).await;

    let (status, sp) = upsert(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{app_id}')"),
        json!({}),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{sp}");
    let sp_created = Instant::now();
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"], "invalid_client");
    assert_eq!(aadsts(&body), 7000229);
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.contains(&format!(
            "The client application {app_id} is missing service principal in the tenant {}",
            sb.tenant_id
        )),
        "{description}"
    );
    // Upserting it again within the lag finds it (no second principal).
    let (status, body) = upsert(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{app_id}')"),
        json!({}),
        true,
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");

    sleep_past(sp_created).await;
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

const NOT_VALID_APP: &str = "does not reference a valid application object.";
const NOT_LOCAL: &str = "When using this permission, the backing application of the service principal being created must in the local tenant";

/// How a principal for an application created a moment ago is refused, for
/// one fault seed: (POST's answer, the upsert's answer).
async fn unreplicated_principal(seed: u64) -> [(u16, String); 2] {
    let sb = start_with(SandboxConfig {
        replication_lag: Duration::from_secs(120),
        fault_seed: seed,
        ..SandboxConfig::default()
    })
    .await;
    let admin = admin_token(&sb).await;
    let (_, app_id) = create_app(&sb, &admin, "Too new", vec![]).await;
    let (status, post) = graph(
        &sb,
        &admin,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "appId": app_id })),
    )
    .await;
    let (upsert_status, patch) = upsert(
        &sb,
        &admin,
        &format!("/servicePrincipals(appId='{app_id}')"),
        json!({}),
        true,
    )
    .await;
    let form = |status: StatusCode, body: &Value| {
        let code = error_code(body);
        let message = error_message(body);
        match status.as_u16() {
            400 => {
                assert_eq!(code, "Request_BadRequest", "{body}");
                assert_eq!(
                    message,
                    format!("The appId '{app_id}' of the service principal {NOT_VALID_APP}")
                );
            }
            403 => {
                assert_eq!(code, "Authorization_RequestDenied", "{body}");
                assert_eq!(message, NOT_LOCAL);
            }
            other => panic!("unexpected {other}: {body}"),
        }
        (status.as_u16(), code.to_string())
    };
    let answers = [form(status, &post), form(upsert_status, &patch)];
    // Nothing was created either way (it is found once the application replicates).
    let (_, list) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals?$filter=appId eq '{app_id}'"),
        None,
    )
    .await;
    assert_eq!(list["value"], json!([]), "{list}");
    answers
}

#[tokio::test]
async fn a_principal_for_an_unreplicated_application_gets_either_real_refusal() {
    let mut seen = std::collections::BTreeSet::new();
    for seed in 0..16 {
        for (status, _) in unreplicated_principal(seed).await {
            seen.insert(status);
        }
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![400, 403]);
    // Reproducible for a seed.
    assert_eq!(
        unreplicated_principal(3).await,
        unreplicated_principal(3).await
    );
}

// ---- smaller details ------------------------------------------------------

#[tokio::test]
async fn key_is_returned_only_on_a_single_get_selecting_key_credentials() {
    let sb = start().await;
    let admin = admin_token(&sb).await;
    let (cert, other) = (TestCert::new(), TestCert::new());
    let mut custom = cert.key_credential();
    custom["customKeyIdentifier"] = json!("c2FuZGJveC1rZXktMQ==");
    let (status, created) = graph(
        &sb,
        &admin,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": "Keys", "keyCredentials": [custom, other.key_credential()] })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let object_id = created["id"].as_str().unwrap().to_string();
    let keys = |app: &Value| app["keyCredentials"].as_array().unwrap().clone();
    assert!(
        keys(&created).iter().all(|k| k["key"].is_null()),
        "{created}"
    );

    // customKeyIdentifier: as sent; the SHA-1 thumbprint when none was sent.
    let thumbprint = STANDARD.encode(sha1::Sha1::digest(&other.der));
    let identifiers: Vec<Value> = keys(&created)
        .iter()
        .map(|k| k["customKeyIdentifier"].clone())
        .collect();
    assert!(
        identifiers.contains(&json!("c2FuZGJveC1rZXktMQ==")),
        "{identifiers:?}"
    );
    assert!(identifiers.contains(&json!(thumbprint)), "{identifiers:?}");

    // Plain single GET and lists: null.
    let by_id = format!("/applications/{object_id}");
    let (_, app) = graph(&sb, &admin, Method::GET, &by_id, None).await;
    assert!(keys(&app).iter().all(|k| k["key"].is_null()), "{app}");
    for query in ["", "&$select=keyCredentials"] {
        let (status, list) = graph(
            &sb,
            &admin,
            Method::GET,
            &format!("/applications?$filter=displayName eq 'Keys'{query}"),
            None,
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{list}");
        let app = &list["value"][0];
        assert_eq!(keys(app).len(), 2, "{list}");
        assert!(keys(app).iter().all(|k| k["key"].is_null()), "{list}");
    }

    // Single GET with $select=keyCredentials: the key, and only what was selected.
    let (status, app) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("{by_id}?$select=keyCredentials"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{app}");
    assert!(app.get("id").is_none(), "{app}");
    let with_keys: Vec<Value> = keys(&app).iter().map(|k| k["key"].clone()).collect();
    assert!(with_keys.contains(&json!(cert.key_base64())), "{app}");
    assert!(with_keys.contains(&json!(other.key_base64())), "{app}");
    let (_, app) = graph(
        &sb,
        &admin,
        Method::GET,
        "/applications(uniqueName='none')?$select=keyCredentials",
        None,
    )
    .await;
    assert_eq!(error_code(&app), "Request_ResourceNotFound");
    let (_, app) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("{by_id}?$select=id,keyCredentials"),
        None,
    )
    .await;
    assert_eq!(app["id"], object_id.as_str());
    assert!(keys(&app).iter().all(|k| k["key"].is_string()), "{app}");

    // addKey: the identifier sent is kept, and the answer carries no key.
    let next = TestCert::new();
    let mut key = next.key_credential();
    key["customKeyIdentifier"] = json!("bmV4dA==");
    let app_admin = user_token(&sb, "app.admin").await;
    let (status, added) = graph(
        &sb,
        &app_admin,
        Method::POST,
        &format!("{by_id}/addKey"),
        Some(json!({ "keyCredential": key, "proof": cert.proof(&object_id) })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    assert_eq!(added["customKeyIdentifier"], "bmV4dA==");
    assert!(added["key"].is_null(), "{added}");
}

#[tokio::test]
async fn a_duplicate_app_role_assignment_is_a_bad_request() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let admin = admin_token(&sb).await;
    let (_, sync) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals(appId='{SYNC_APP_ID}')"),
        None,
    )
    .await;
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!("/servicePrincipals/{}/appRoleAssignments", app.sp_id),
        Some(json!({ "principalId": app.sp_id, "resourceId": sync["id"], "appRoleId": SYNC_ROLE_ID })),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(error_code(&body), "Request_BadRequest");
    assert_eq!(
        error_message(&body),
        "Permission being assigned already exists on the object"
    );
}

#[tokio::test]
async fn a_bad_add_key_or_remove_key_proof_is_unauthorized() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    // Credentials of an application: an Application Administrator's.
    let admin = user_token(&sb, "app.admin").await;
    let stranger = TestCert::new();
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!("/applications/{}/addKey", app.object_id),
        Some(json!({ "keyCredential": TestCert::new().key_credential(), "proof": stranger.proof(&app.object_id) })),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(&body), "Authentication_MissingOrMalformed");

    let (_, application) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{}", app.object_id),
        None,
    )
    .await;
    let key_id = application["keyCredentials"][0]["keyId"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, body) = graph(
        &sb,
        &admin,
        Method::POST,
        &format!("/applications/{}/removeKey", app.object_id),
        Some(json!({ "keyId": key_id, "proof": stranger.proof(&app.object_id) })),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(error_code(&body), "Authentication_MissingOrMalformed");
    let (_, application) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{}", app.object_id),
        None,
    )
    .await;
    assert_eq!(application["keyCredentials"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_reused_client_assertion_is_accepted_within_its_lifetime() {
    let sb = start().await;
    let cert = TestCert::new();
    let app = register_app(&sb, &cert).await;
    let assertion = cert.assertion(&sb, &app.app_id);
    for _ in 0..3 {
        let (status, body) = client_credentials(&sb, &app.app_id, &assertion, SYNC_SCOPE).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }
}
