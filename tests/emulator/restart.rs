//! A tenant that lasts: with a data directory the sandbox finds again, after
//! a restart, everything it had (applications, keys, role assignments,
//! passwords, sessions, its signing key), and refuses a data file it cannot read.

use crate::harness::tenant::{
    GRAPH_CLI, GRAPH_SCOPE, SYNC_SCOPE, TestCert, admin_token, client_credentials, get_ok, http,
    password_grant, register_app, start_with, token_request,
};
use entra_connect::sandbox::{Sandbox, SandboxConfig, SandboxError, SandboxHandle, TENANT_FILE};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn kept_in(dir: &Path) -> SandboxConfig {
    SandboxConfig {
        data_dir: Some(dir.to_path_buf()),
        ..SandboxConfig::default()
    }
}

async fn jwks(sb: &SandboxHandle) -> Value {
    let url = format!("{}/discovery/v2.0/keys", sb.authority());
    let response = http().get(url).send().await.expect("JWKS");
    response.json().await.expect("JWKS JSON")
}

/// Every seeded user's UPN and password, as the startup line reports them.
fn passwords(sb: &SandboxHandle) -> Vec<(String, String)> {
    sb.users
        .iter()
        .map(|u| (u.upn.clone(), u.password.clone()))
        .collect()
}

const SESSION_SCOPE: &str = "https://graph.microsoft.com/User.Read offline_access";

/// A refresh token of the seeded administrator, as a public client holds one.
async fn refresh_token(sb: &SandboxHandle) -> String {
    let (status, body) = password_grant(sb, &sb.admin_upn, &sb.admin_password, SESSION_SCOPE).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["refresh_token"]
        .as_str()
        .expect("a refresh token")
        .to_string()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

#[tokio::test]
async fn a_restarted_tenant_has_the_application_its_key_and_its_signing_key() {
    let work = tempfile::tempdir().expect("temporary directory");
    let dir = work.path().join("tenant");
    let cert = TestCert::new();

    let first = start_with(kept_in(&dir)).await;
    let app = register_app(&first, &cert).await;
    let admin = admin_token(&first).await;
    let (status, before) = client_credentials(
        &first,
        &app.app_id,
        &cert.assertion(&first, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{before}");
    let (status, own_graph) = client_credentials(
        &first,
        &app.app_id,
        &cert.assertion(&first, &app.app_id),
        GRAPH_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{own_graph}");
    let session = refresh_token(&first).await;
    let (seeded, signing) = (passwords(&first), jwks(&first).await);
    // One sandbox per directory: a second would lose the first's changes.
    match Sandbox::start(kept_in(&dir)).await {
        Err(SandboxError::DataDirInUse { path }) => assert_eq!(path, dir),
        Err(other) => panic!("refused for another reason: {other}"),
        Ok(_) => panic!("a second sandbox served the same directory"),
    }
    drop(first);

    // Private keys and passwords: owner-only.
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&dir.join(TENANT_FILE)), 0o600);

    let second = start_with(kept_in(&dir)).await;
    assert_eq!(passwords(&second), seeded, "the seeded passwords changed");
    assert_eq!(jwks(&second).await, signing, "the signing key changed");
    // A token issued before the restart still works at Graph, and the
    // application is there with its key.
    let found = get_ok(
        &second,
        &admin,
        &format!(
            "/applications/{}?$select=id,appId,keyCredentials",
            app.object_id
        ),
    )
    .await;
    assert_eq!(found["appId"], app.app_id.as_str(), "{found}");
    assert_eq!(
        found["keyCredentials"][0]["key"],
        cert.key_base64(),
        "{found}"
    );
    // Its certificate still signs it in, with its app role.
    let (status, after) = client_credentials(
        &second,
        &app.app_id,
        &cert.assertion(&second, &app.app_id),
        SYNC_SCOPE,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{after}");
    let token = after["access_token"].as_str().expect("a token");
    assert_eq!(
        crate::harness::tenant::claims(token)["roles"],
        json!(["ADSynchronization.ReadWrite.All"])
    );
    // The application's Graph token from before the restart still works too
    // (an application reads its own object).
    let old = own_graph["access_token"].as_str().expect("a token");
    get_ok(&second, old, &format!("/applications/{}", app.object_id)).await;
    // So does the administrator's session.
    let (status, renewed) = token_request(
        &second,
        &[
            ("grant_type", "refresh_token"),
            ("client_id", GRAPH_CLI),
            ("refresh_token", &session),
            ("scope", SESSION_SCOPE),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{renewed}");
}

#[tokio::test]
async fn a_damaged_tenant_file_is_refused_and_left_as_it_is() {
    let work = tempfile::tempdir().expect("temporary directory");
    let dir = work.path().join("tenant");
    drop(start_with(kept_in(&dir)).await);
    let file = dir.join(TENANT_FILE);
    let text = std::fs::read(&file).expect("the tenant file");
    let damaged = &text[..text.len() / 2];
    std::fs::write(&file, damaged).expect("damage it");

    let refused = match Sandbox::start(kept_in(&dir)).await {
        Err(error) => error,
        Ok(_) => panic!("a damaged tenant file was replaced with a new tenant"),
    };
    assert!(
        matches!(&refused, SandboxError::TenantFile { path, .. } if *path == file),
        "{refused}"
    );
    assert!(
        refused.to_string().contains(&file.display().to_string()),
        "{refused}"
    );
    assert_eq!(std::fs::read(&file).expect("the tenant file"), damaged);
}
