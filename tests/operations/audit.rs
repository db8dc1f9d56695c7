//! The audit of everything that can sign in as the connector (issue 21),
//! against the in-process sandbox: what an administrator plants on the
//! onboarded application through Graph is found by the scheduler's tick
//! (one event per item, its kind's id), by `doctor`, and by `app audit`.

use super::scheduler::{current_certificate, key_audit_finding, onboarded, set, tick};
use crate::harness::{process, tenant};
use entra_connect::domain::{ConnectorCredential, EventId};
use entra_connect::engine::LocalServer;
use entra_connect::engine::doctor::Verdict;
use entra_connect::sandbox::SandboxHandle;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

fn app_id(server: &LocalServer) -> String {
    match server.credential().unwrap() {
        ConnectorCredential::Application(app) => app.application_id,
        other => panic!("{other:?}"),
    }
}

/// A client secret an Application Administrator adds to the connector's
/// application (addPassword): the answer, with `secretText`, once.
async fn plant_secret(sb: &SandboxHandle, app_id: &str) -> Value {
    let admin = tenant::user_token(sb, "app.admin").await;
    let application = tenant::get_ok(sb, &admin, &format!("/applications(appId='{app_id}')")).await;
    let object = application["id"].as_str().unwrap();
    let (status, added) = tenant::graph(
        sb,
        &admin,
        Method::POST,
        &format!("/applications/{object}/addPassword"),
        Some(json!({ "passwordCredential": { "displayName": "planted" } })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{added}");
    added
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_secret_planted_on_the_application_is_reported_by_the_tick_and_doctor() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    onboarded(&sb, state.path()).await;
    let mut server = process::local_server(state.path());
    set(&mut server, true, false);
    let (_, not_after) = current_certificate(&server);
    let quiet = not_after - time::Duration::days(151);
    let events = tick(&mut server, &sb, quiet).await;
    assert_eq!(events, [EventId::SYNC_CHECK_OK.0], "nothing unknown yet");

    let app_id = app_id(&server);
    let added = plant_secret(&sb, &app_id).await;
    let key_id = added["keyId"].as_str().unwrap();
    let secret = added["secretText"].as_str().unwrap();

    // Why it matters: the secret signs in as the connector, with its role.
    let (status, body) = tenant::token_request(
        &sb,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", &app_id),
            ("client_secret", secret),
            ("scope", tenant::SYNC_SCOPE),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let claims = tenant::claims(body["access_token"].as_str().unwrap());
    assert_eq!(claims["appid"], app_id.as_str());
    assert_eq!(claims["roles"], json!(["ADSynchronization.ReadWrite.All"]));

    // The tick writes one event for it, under the client secrets' id,
    // naming its keyId and what removes it, and never the secret.
    let events = tick(&mut server, &sb, quiet).await;
    assert_eq!(
        events,
        [EventId::UNKNOWN_CLIENT_SECRET.0, EventId::SYNC_CHECK_OK.0]
    );
    let warning = &server
        .events(None, Some(EventId::UNKNOWN_CLIENT_SECRET.0))
        .unwrap()[0];
    assert_eq!(warning.level.as_str(), "Warning");
    for named in [
        key_id,
        app_id.as_str(),
        "client secret",
        "Remove-MgApplicationPassword",
    ] {
        assert!(
            warning.message.contains(named),
            "{named} in {}",
            warning.message
        );
    }
    assert!(!warning.message.contains(secret), "{}", warning.message);

    // doctor's key audit says the same.
    let audit = key_audit_finding(&server, &sb).await;
    assert_eq!(audit.verdict, Verdict::Warn, "{audit:?}");
    assert!(audit.detail.contains(key_id), "{audit:?}");
    let everything = serde_json::to_string(&audit).unwrap();
    assert!(!everything.contains(secret), "{everything}");
}
