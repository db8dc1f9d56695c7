//! Eventual consistency and injected faults: replication lag, latency, 429/503.

use crate::harness::tenant::*;
use entra_connect::sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use std::time::{Duration, Instant};

#[tokio::test]
async fn replication_lag_is_observed_then_resolved() {
    // Long enough that the reads right after each write always come within
    // it; each wait for replication is timed from the write's answer.
    let lag = Duration::from_secs(3);
    let sb = start_with(SandboxConfig {
        replication_lag: lag,
        ..SandboxConfig::default()
    })
    .await;
    let admin = admin_token(&sb).await;
    let cert = TestCert::new();
    let (object_id, app_id) = create_app(&sb, &admin, "Lagging", vec![cert.key_credential()]).await;
    let created_at = Instant::now();

    // Not yet visible: reads by id 404, the token endpoint does not know the app.
    let (status, body) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert_eq!(aadsts(&body), 700016);

    tokio::time::sleep(lag.saturating_sub(created_at.elapsed()) + Duration::from_millis(100)).await;
    let (status, body) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/applications/{object_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The service principal lags the same way.
    let sp_id = create_sp(&sb, &admin, &app_id).await;
    let sp_created = Instant::now();
    let (status, _) = graph(
        &sb,
        &admin,
        Method::GET,
        &format!("/servicePrincipals/{sp_id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(aadsts(&body), 7000229, "{status} {body}");
    tokio::time::sleep(lag.saturating_sub(sp_created.elapsed()) + Duration::from_millis(100)).await;
    let (status, body) =
        client_credentials(&sb, &app_id, &cert.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // A new key is not found until it replicates. (A user adding one updates
    // credentials: an Application Administrator's, not a Hybrid Identity Administrator's.)
    let next = TestCert::new();
    let app_admin = user_token(&sb, "app.admin").await;
    let (status, body) = graph(
        &sb,
        &app_admin,
        Method::POST,
        &format!("/applications/{object_id}/addKey"),
        Some(serde_json::json!({ "keyCredential": next.key_credential(), "proof": cert.proof(&object_id) })),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let key_added = Instant::now();
    let (status, body) =
        client_credentials(&sb, &app_id, &next.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(aadsts(&body), 700027);
    tokio::time::sleep(lag.saturating_sub(key_added.elapsed()) + Duration::from_millis(100)).await;
    let (status, body) =
        client_credentials(&sb, &app_id, &next.assertion(&sb, &app_id), SYNC_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn faults_answer_429_with_retry_after_or_503_reproducibly() {
    let config = SandboxConfig {
        fault_rate: 0.5,
        fault_seed: 7,
        ..SandboxConfig::default()
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let sb = start_with(config.clone()).await;
        let url = format!("{}/v2.0/.well-known/openid-configuration", sb.authority());
        let mut statuses = Vec::new();
        for _ in 0..30 {
            let response = http().get(&url).send().await.unwrap();
            let status = response.status();
            if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
            {
                let retry_after = response
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u32>().ok());
                assert!(
                    retry_after.is_some_and(|s| s >= 1),
                    "{status} without Retry-After"
                );
                let body: serde_json::Value = response.json().await.unwrap();
                assert_eq!(body["error"], "temporarily_unavailable");
            } else {
                assert_eq!(status, StatusCode::OK);
            }
            statuses.push(status.as_u16());
        }
        assert!(statuses.contains(&429), "{statuses:?}");
        assert!(statuses.contains(&503), "{statuses:?}");
        assert!(statuses.contains(&200), "{statuses:?}");
        runs.push(statuses);
    }
    assert_eq!(runs[0], runs[1], "the same seed gives the same faults");
}

#[tokio::test]
async fn graph_faults_use_graph_error_shape() {
    let sb = start_with(SandboxConfig {
        fault_rate: 1.0,
        ..SandboxConfig::default()
    })
    .await;
    let response = http()
        .get(format!("{}/organization", sb.graph_url))
        .send()
        .await
        .unwrap();
    assert!(matches!(response.status().as_u16(), 429 | 503));
    assert!(response.headers().contains_key("retry-after"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert!(body["error"]["code"].is_string(), "{body}");
}

#[tokio::test]
async fn latency_delays_every_response() {
    let sb = start_with(SandboxConfig {
        latency: Duration::from_millis(300),
        ..SandboxConfig::default()
    })
    .await;
    let started = Instant::now();
    let response = http()
        .get(format!("{}/discovery/v2.0/keys", sb.authority()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
}
