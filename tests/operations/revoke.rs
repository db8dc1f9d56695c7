//! `app revoke` (issue 21) against the in-process sandbox: every way in an
//! administrator planted is listed by a dry run (which changes nothing),
//! removed by one reviewed plan, and after it the planted secret no longer
//! signs in while the connector's certificate does; a run killed part way
//! resumes and removes each item once; an administrator whose roles do not
//! allow a removal is refused before any change, with the roles named.

use super::audit::{
    Planted, app_audit, as_user, onboarded_where_an_administrator_may_audit, plant_every_kind,
    unknown_items,
};
use crate::harness::{process, tenant};
use entra_connect::domain::EventId;
use entra_connect::sandbox::SandboxHandle;
use reqwest::StatusCode;
use serde_json::Value;
use std::path::Path;

/// `entra-connect --json app revoke ARGS` as the seeded `user` (with `env`):
/// exit code, stdout, stderr.
async fn revoke(
    sb: &SandboxHandle,
    state: &Path,
    user: &str,
    args: &[&str],
    env: Vec<(String, String)>,
) -> (i32, String, String) {
    let mut command = vec!["app", "revoke"];
    command.extend(args);
    let output = as_user(sb, state, Some(user), &command, env).await;
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The connector's own credential still gets its token.
async fn connector_signs_in(sb: &SandboxHandle, state: &Path) {
    let mut args = vec!["--json".to_string(), "credential".into(), "test".into()];
    args.extend(tenant::connection(sb));
    let output = process::run_async(state, args, String::new(), vec![]).await;
    assert!(
        output.status.success(),
        "credential test: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Every (kind, id) of the planted items, as the audit lists them.
fn planted_items(planted: &Planted) -> Vec<(String, String)> {
    let id = |value: &Value, field: &str| value[field].as_str().unwrap().to_string();
    let mut items = vec![
        ("client-secret".to_string(), id(&planted.secret, "keyId")),
        (
            "service-principal-secret".into(),
            id(&planted.sp_secret, "keyId"),
        ),
        ("federated-credential".into(), id(&planted.federated, "id")),
        ("application-owner".into(), planted.owner.clone()),
        ("service-principal-owner".into(), planted.owner.clone()),
        ("app-role".into(), id(&planted.role, "id")),
        ("delegated-grant".into(), id(&planted.grant, "id")),
    ];
    items.sort();
    items
}

fn sorted(mut items: Vec<(String, String)>) -> Vec<(String, String)> {
    items.sort();
    items
}

/// Removals (from a plan or an outcome) as sorted (kind, id).
fn kinds_and_ids(removals: &[Value]) -> Vec<(String, String)> {
    sorted(
        removals
            .iter()
            .map(|r| {
                (
                    r["kind"].as_str().unwrap().into(),
                    r["id"].as_str().unwrap().into(),
                )
            })
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_reviewed_plan_removes_every_way_in_and_the_planted_secret_stops_signing_in() {
    let (sb, state, app_id) = onboarded_where_an_administrator_may_audit().await;
    let planted = plant_every_kind(&sb, &app_id).await;
    let secret = planted.secret["secretText"].as_str().unwrap().to_string();
    let sp_secret = planted.sp_secret["secretText"]
        .as_str()
        .unwrap()
        .to_string();
    let expected = planted_items(&planted);

    // The planted secret signs in as the connector.
    let (status, body) = tenant::token_with_secret(&sb, &app_id, &secret).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // The dry run lists every removal, and changes nothing.
    let (code, stdout, stderr) = revoke(
        &sb,
        state.path(),
        "global.admin",
        &["--all-unknown", "--dry-run"],
        vec![],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let plan: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}"));
    let listed: Vec<Value> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["change"]["kind"] == "revoke")
        .flat_map(|step| step["change"]["removals"].as_array().unwrap().clone())
        .collect();
    assert_eq!(kinds_and_ids(&listed), expected, "{stdout}");
    let (_, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(
        sorted(unknown_items(&audit)),
        expected,
        "the dry run changed nothing"
    );
    let needs = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|step| step["change"]["kind"] == "may-revoke")
        .map(|step| step["change"]["each"].to_string())
        .unwrap_or_else(|| panic!("a role check in {stdout}"));
    assert!(needs.contains("Privileged Role Administrator"), "{needs}");

    // The run, logging all it may (-vv): each item removed, event 1133,
    // and no secret anywhere.
    let (code, stdout, stderr) = revoke(
        &sb,
        state.path(),
        "global.admin",
        &["--all-unknown", "-vv"],
        vec![],
    )
    .await;
    assert_eq!(code, 0, "{stdout} {stderr}");
    let revoked: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{stdout}"));
    assert_eq!(
        kinds_and_ids(revoked["removed"].as_array().unwrap()),
        expected
    );
    let server = process::local_server(state.path());
    let events = server
        .events(None, Some(EventId::ACCESS_REVOKED.0))
        .unwrap();
    assert!(!events.is_empty(), "event 1133");
    let logged = format!("{stdout}{stderr}{events:?}");
    for never in [&secret, &sp_secret] {
        assert!(!logged.contains(never.as_str()), "a secret in the output");
    }

    // Nothing unknown is left; the secret is refused; the connector signs in.
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 0, "{audit}");
    let (status, body) = tenant::token_with_secret(&sb, &app_id, &secret).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(tenant::aadsts(&body), 7000215, "{body}");
    connector_signs_in(&sb, state.path()).await;

    // Nothing left to revoke is said, and is no failure.
    let (code, stdout, stderr) = revoke(
        &sb,
        state.path(),
        "global.admin",
        &["--all-unknown"],
        vec![],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        serde_json::from_str::<Value>(&stdout).unwrap()["removed"],
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_killed_part_way_resumes_and_removes_each_item_once() {
    let (sb, state, app_id) = onboarded_where_an_administrator_may_audit().await;
    let planted = plant_every_kind(&sb, &app_id).await;
    let secret_id = planted.secret["keyId"].as_str().unwrap().to_string();

    // Killed right after the client secrets went.
    let abort = vec![(
        "ENTRA_CONNECT_TEST_ABORT_AFTER".to_string(),
        "revoke-client-secrets".to_string(),
    )];
    let (code, stdout, stderr) =
        revoke(&sb, state.path(), "global.admin", &["--all-unknown"], abort).await;
    assert_ne!(code, 0, "{stdout} {stderr}");
    let (_, audit) = app_audit(&sb, state.path(), true).await;
    let left = unknown_items(&audit);
    assert!(!left.iter().any(|(_, id)| *id == secret_id), "{left:?}");
    assert_eq!(left.len(), 6, "only the secret went: {left:?}");

    // The rerun removes the rest, and not the secret again.
    let (code, stdout, stderr) = revoke(
        &sb,
        state.path(),
        "global.admin",
        &["--all-unknown"],
        vec![],
    )
    .await;
    assert_eq!(code, 0, "{stderr}");
    let revoked: Value = serde_json::from_str(&stdout).unwrap();
    let removed: Vec<&str> = revoked["removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(removed.len(), 6, "{removed:?}");
    assert!(!removed.contains(&secret_id.as_str()), "{removed:?}");
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 0, "{audit}");
    connector_signs_in(&sb, state.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revoke_is_refused_before_any_change_when_a_role_or_an_id_is_wrong() {
    let (sb, state, app_id) = onboarded_where_an_administrator_may_audit().await;
    let added = tenant::plant_secret(&sb, &app_id).await;
    let secret_id = added["keyId"].as_str().unwrap();

    // A Hybrid Identity Administrator may not remove a credential.
    let (code, stdout, stderr) = revoke(
        &sb,
        state.path(),
        "hybrid.admin",
        &["--id", secret_id],
        vec![],
    )
    .await;
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains("revoke-not-allowed"), "{stderr}");
    assert!(
        stderr.contains(
            "Application Administrator, Cloud Application Administrator, Global Administrator"
        ),
        "{stderr}"
    );
    // An id nothing has, and the key in use: refused, naming what there is.
    let (code, _, stderr) = revoke(
        &sb,
        state.path(),
        "app.admin",
        &["--id", "00000000-0000-0000-0000-000000000000"],
        vec![],
    )
    .await;
    assert_ne!(code, 0);
    assert!(stderr.contains("nothing with the id"), "{stderr}");
    assert!(stderr.contains(secret_id), "what there is: {stderr}");
    let (_, audit) = app_audit(&sb, state.path(), true).await;
    let in_use = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|item| item["verdict"] == "in-use")
        .map(|item| item["id"].as_str().unwrap().to_string())
        .unwrap();
    let (code, _, stderr) =
        revoke(&sb, state.path(), "app.admin", &["--id", &in_use], vec![]).await;
    assert_ne!(code, 0);
    assert!(
        stderr.contains("the one the connector signs in with"),
        "{stderr}"
    );
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 3, "the secret is still there: {audit}");

    // An Application Administrator removes it by its id.
    let (code, stdout, stderr) =
        revoke(&sb, state.path(), "app.admin", &["--id", secret_id], vec![]).await;
    assert_eq!(code, 0, "{stdout} {stderr}");
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 0, "{audit}");
    connector_signs_in(&sb, state.path()).await;
}
