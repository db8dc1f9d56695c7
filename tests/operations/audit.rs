//! The audit of everything that can sign in as the connector (issue 21),
//! against the in-process sandbox: what an administrator plants on the
//! onboarded application through Graph is found by the scheduler's tick
//! (one event per item, its kind's id), by `doctor` (all of it with
//! `--upn`), and by `app audit`.

use super::scheduler::{
    current_certificate, key_audit_finding, onboarded, onboarded_with, set, tick,
};
use crate::harness::{process, tenant};
use entra_connect::domain::{ConnectorCredential, EventId};
use entra_connect::engine::LocalServer;
use entra_connect::engine::doctor::Verdict;
use entra_connect::sandbox::SandboxHandle;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

pub(super) fn app_id(server: &LocalServer) -> String {
    match server.credential().unwrap() {
        ConnectorCredential::Application(app) => app.application_id,
        other => panic!("{other:?}"),
    }
}

/// A federated identity credential a Global Administrator adds to the
/// application (object id `object`): GitHub's tokens for a branch sign in as
/// the connector.
async fn plant_federated_credential(sb: &SandboxHandle, global: &str, object: &str) -> Value {
    tenant::post_created(
        sb,
        global,
        &format!("/applications/{object}/federatedIdentityCredentials"),
        json!({
            "name": "ci", "issuer": "https://token.actions.githubusercontent.com",
            "subject": "repo:x:ref:main", "audiences": ["api://AzureADTokenExchange"],
        }),
    )
    .await
}

/// The user `user_id` made an owner of `owned` (`/applications/{id}` or
/// `/servicePrincipals/{id}`) by a Global Administrator.
async fn plant_owner(sb: &SandboxHandle, global: &str, owned: &str, user_id: &str) {
    let reference = json!({
        "@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{user_id}")
    });
    let (status, body) = tenant::graph(
        sb,
        global,
        Method::POST,
        &format!("{owned}/owners/$ref"),
        Some(reference),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{owned}: {body}");
}

/// One of each way in, planted on the connector's application (object
/// `object`) and its service principal (`sp_id`): what the audit must find
/// and `app revoke` remove.
pub(super) struct Planted {
    /// addPassword's answer, as an Application Administrator got it (with `secretText`).
    pub secret: Value,
    pub sp_secret: Value,
    pub federated: Value,
    /// The plain user made owner of both.
    pub owner: String,
    /// An app role of Microsoft Graph (Application.Read.All).
    pub role: Value,
    pub grant: Value,
    pub sp_id: String,
}

/// An Application Administrator adds a client secret; a Global
/// Administrator the rest: a secret on the service principal, a federated
/// credential, the plain user as owner of both, an app role of Microsoft
/// Graph and a delegated grant.
pub(super) async fn plant_every_kind(sb: &SandboxHandle, app_id: &str) -> Planted {
    let secret = tenant::plant_secret(sb, app_id).await;
    let global = tenant::user_token(sb, "global.admin").await;
    let application =
        tenant::get_ok(sb, &global, &format!("/applications(appId='{app_id}')")).await;
    let object = application["id"].as_str().unwrap().to_string();
    let sp = tenant::get_ok(
        sb,
        &global,
        &format!("/servicePrincipals(appId='{app_id}')"),
    )
    .await;
    let sp_id = sp["id"].as_str().unwrap().to_string();
    let sp_secret =
        tenant::add_password(sb, &global, &format!("/servicePrincipals/{sp_id}"), "sp").await;
    let federated = plant_federated_credential(sb, &global, &object).await;
    let owner = tenant::seeded_user_id(sb, &global, "plain.user").await;
    for owned in [
        format!("/applications/{object}"),
        format!("/servicePrincipals/{sp_id}"),
    ] {
        plant_owner(sb, &global, &owned, &owner).await;
    }
    let graph_sp = tenant::get_ok(
        sb,
        &global,
        &format!("/servicePrincipals(appId='{}')", tenant::GRAPH_APP_ID),
    )
    .await;
    let role_id = graph_sp["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["value"] == "Application.Read.All")
        .map(|r| r["id"].clone())
        .expect("Graph publishes the role");
    let role = tenant::post_created(
        sb,
        &global,
        &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
        json!({ "principalId": sp_id, "resourceId": graph_sp["id"], "appRoleId": role_id }),
    )
    .await;
    let grant = tenant::post_created(
        sb,
        &global,
        "/oauth2PermissionGrants",
        json!({
            "clientId": sp_id, "consentType": "AllPrincipals", "principalId": null,
            "resourceId": graph_sp["id"], "scope": "User.Read",
        }),
    )
    .await;
    Planted {
        secret,
        sp_secret,
        federated,
        owner,
        role,
        grant,
        sp_id,
    }
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
    let added = tenant::plant_secret(&sb, &app_id).await;
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
        "app revoke --upn ADMIN_UPN --id",
    ] {
        assert!(
            warning.message.contains(named),
            "{named} in {}",
            warning.message
        );
    }
    assert!(!warning.message.contains(secret), "{}", warning.message);

    // doctor's application audit says the same.
    let audit = key_audit_finding(&server, &sb).await;
    assert_eq!(audit.verdict, Verdict::Warn, "{audit:?}");
    assert!(audit.detail.contains(key_id), "{audit:?}");
    let everything = serde_json::to_string(&audit).unwrap();
    assert!(!everything.contains(secret), "{everything}");
}

/// `entra-connect --json app audit` (as an Application Administrator with `--upn`):
/// the exit code and the items.
pub(super) async fn app_audit(
    sb: &SandboxHandle,
    state: &std::path::Path,
    upn: bool,
) -> (i32, Value) {
    let output = as_app_admin(sb, state, &["app", "audit"], upn).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let audit: Value = serde_json::from_str(&stdout).unwrap_or_else(|_| {
        panic!(
            "JSON from app audit: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().unwrap_or(-1), audit)
}

/// `entra-connect --json COMMAND`, with `--upn` the Application
/// Administrator's (signing in with a password).
pub(super) async fn as_app_admin(
    sb: &SandboxHandle,
    state: &std::path::Path,
    command: &[&str],
    upn: bool,
) -> std::process::Output {
    as_user(sb, state, upn.then_some("app.admin"), command, vec![]).await
}

/// `entra-connect --json COMMAND` with `env`, and with `--upn` the seeded
/// `user`'s (signing in with a password) when one is named.
pub(super) async fn as_user(
    sb: &SandboxHandle,
    state: &std::path::Path,
    user: Option<&str>,
    command: &[&str],
    env: Vec<(String, String)>,
) -> std::process::Output {
    let mut args = vec!["--json".to_string()];
    args.extend(command.iter().map(|word| word.to_string()));
    let mut stdin = String::new();
    if let Some(name) = user {
        let user = sb.user(name).unwrap().clone();
        args.extend(
            [
                "--upn",
                &user.upn,
                "--sign-in",
                "password",
                "--password-stdin",
            ]
            .map(String::from),
        );
        stdin = format!("{}\n", user.password);
    }
    args.extend(tenant::connection(sb));
    process::run_async(state, args, stdin, env).await
}

/// `doctor`'s application audit finding, as `--json doctor [--upn]` prints it.
async fn doctor_key_audit(sb: &SandboxHandle, state: &std::path::Path, upn: bool) -> Value {
    let output = as_app_admin(sb, state, &["doctor"], upn).await;
    let findings: Value = serde_json::from_slice(&output.stdout).unwrap_or_else(|_| {
        panic!(
            "JSON from doctor: {} {}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    findings
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["check"] == "application audit")
        .unwrap_or_else(|| panic!("an application audit finding in {findings:#}"))
        .clone()
}

/// The unknown items of an audit, as (kind, id).
pub(super) fn unknown_items(audit: &Value) -> Vec<(String, String)> {
    audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["verdict"] == "unknown")
        .map(|item| {
            (
                item["kind"].as_str().unwrap().to_string(),
                item["id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// An onboarded server in a tenant whose sign-in client has the consent
/// the administrator's read needs: the sandbox, the state directory and the
/// application id.
pub(super) async fn onboarded_where_an_administrator_may_audit()
-> (SandboxHandle, tempfile::TempDir, String) {
    let sb = tenant::start_with(tenant::with_graph_consent(&[
        "Directory.Read.All",
        "DelegatedPermissionGrant.ReadWrite.All",
    ]))
    .await;
    let (state, app_id) = another_server(&sb, &[]).await;
    (sb, state, app_id)
}

/// A server onboarded in `sb` (`app register` given `register_options`):
/// its state directory and its application id.
async fn another_server(
    sb: &SandboxHandle,
    register_options: &[&str],
) -> (tempfile::TempDir, String) {
    let state = tempfile::tempdir().unwrap();
    onboarded_with(sb, state.path(), register_options).await;
    let server = process::local_server(state.path());
    let app_id = app_id(&server);
    (state, app_id)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn app_audit_finds_every_way_in_an_administrator_planted() {
    let (sb, state, app_id) = onboarded_where_an_administrator_may_audit().await;

    // Freshly onboarded: nothing unknown, with or without an administrator.
    let (code, audit) = app_audit(&sb, state.path(), false).await;
    assert_eq!(code, 0, "{audit}");
    assert!(!audit["needs_administrator"].as_array().unwrap().is_empty());
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 0, "{audit}");
    assert!(audit["needs_administrator"].as_array().unwrap().is_empty());
    let expected: Vec<&Value> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["verdict"] == "expected")
        .collect();
    assert_eq!(expected.len(), 1, "the sync role only: {audit}");
    assert_eq!(
        expected[0]["display_name"],
        "ADSynchronization.ReadWrite.All"
    );

    let planted = plant_every_kind(&sb, &app_id).await;
    let Planted {
        secret: added,
        sp_secret,
        federated,
        owner: plain_id,
        role,
        grant,
        sp_id,
        ..
    } = &planted;
    let secret = added["secretText"].as_str().unwrap().to_string();
    let global = tenant::user_token(&sb, "global.admin").await;

    // Without an administrator: the application's own secret only.
    let (code, audit) = app_audit(&sb, state.path(), false).await;
    assert_eq!(code, 3, "{audit}");
    let key_id = added["keyId"].as_str().unwrap().to_string();
    assert_eq!(
        unknown_items(&audit),
        [("client-secret".to_string(), key_id.clone())]
    );

    // With one: every kind, each by its id, and never a secret.
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 3, "{audit}");
    let found = unknown_items(&audit);
    for (kind, id) in [
        ("client-secret", key_id.as_str()),
        (
            "service-principal-secret",
            sp_secret["keyId"].as_str().unwrap(),
        ),
        ("federated-credential", federated["id"].as_str().unwrap()),
        ("application-owner", plain_id.as_str()),
        ("service-principal-owner", plain_id.as_str()),
        ("app-role", role["id"].as_str().unwrap()),
        ("delegated-grant", grant["id"].as_str().unwrap()),
    ] {
        assert!(
            found.contains(&(kind.to_string(), id.to_string())),
            "{kind} {id} in {found:?}"
        );
    }
    assert_eq!(found.len(), 7, "{found:?}");
    let text = audit.to_string();
    for never in [secret.as_str(), sp_secret["secretText"].as_str().unwrap()] {
        assert!(!text.contains(never), "no secret in {text}");
    }
    assert!(
        text.contains(&format!(
            "app revoke --upn ADMIN_UPN --id {}",
            role["id"].as_str().unwrap()
        )),
        "{text}"
    );

    // A disabled service principal is reported too.
    tenant::patch_ok(
        &sb,
        &global,
        &format!("/servicePrincipals/{sp_id}"),
        json!({ "accountEnabled": false }),
    )
    .await;
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 3, "{audit}");
    assert!(
        unknown_items(&audit).contains(&("disabled-service-principal".to_string(), sp_id.clone())),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_with_an_administrator_finds_what_only_an_administrator_can_read() {
    let (sb, state, app_id) = onboarded_where_an_administrator_may_audit().await;
    let doctor = doctor_key_audit(&sb, state.path(), true).await;
    assert_eq!(doctor["verdict"], "OK", "freshly onboarded: {doctor:#}");

    let global = tenant::user_token(&sb, "global.admin").await;
    let application =
        tenant::get_ok(&sb, &global, &format!("/applications(appId='{app_id}')")).await;
    let object = application["id"].as_str().unwrap().to_string();
    let federated = plant_federated_credential(&sb, &global, &object).await;
    let federated_id = federated["id"].as_str().unwrap();
    let plain_id = tenant::seeded_user_id(&sb, &global, "plain.user").await;
    plant_owner(&sb, &global, &format!("/applications/{object}"), &plain_id).await;

    // Unattended, doctor cannot see them, and says an administrator could.
    let doctor = doctor_key_audit(&sb, state.path(), false).await;
    assert_eq!(doctor["verdict"], "OK", "{doctor:#}");
    let detail = doctor["detail"].as_str().unwrap();
    for said in [
        "need an administrator",
        "federated identity credentials",
        "owners",
    ] {
        assert!(detail.contains(said), "{said} in {detail}");
    }
    for unseen in [federated_id, plain_id.as_str()] {
        assert!(!detail.contains(unseen), "{unseen} in {detail}");
    }

    // With one, doctor names what `app audit --upn` finds unknown, and what
    // revokes each.
    let doctor = doctor_key_audit(&sb, state.path(), true).await;
    assert_eq!(doctor["verdict"], "WARN", "{doctor:#}");
    let (_, audit) = app_audit(&sb, state.path(), true).await;
    let unknown = unknown_items(&audit);
    assert_eq!(unknown.len(), 2, "{audit:#}");
    let detail = doctor["detail"].as_str().unwrap();
    for (kind, id) in &unknown {
        assert!(detail.contains(id.as_str()), "{kind} {id} in {detail}");
    }
    assert!(detail.contains(federated_id), "{detail}");
    assert!(detail.contains(&plain_id), "{detail}");
    assert!(!detail.contains("need an administrator"), "{detail}");
    let fix = doctor["fix"].as_str().unwrap();
    for id in [federated_id, plain_id.as_str()] {
        let revoke = format!("app revoke --upn ADMIN_UPN --id {id}");
        assert!(fix.contains(&revoke), "{revoke} in {fix}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_export_lists_a_planted_client_secret_by_its_hint_never_its_value() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    onboarded(&sb, state.path()).await;
    let server = process::local_server(state.path());
    let app_id = app_id(&server);
    drop(server);
    let added = tenant::plant_secret(&sb, &app_id).await;
    let key_id = added["keyId"].as_str().unwrap();
    let hint = added["hint"].as_str().unwrap();
    let secret = added["secretText"].as_str().unwrap();
    assert!(secret.starts_with(hint), "{added}");

    // As JSON: the audit's items, the secret among them, unknown.
    let output = as_app_admin(&sb, state.path(), &["config", "export"], false).await;
    assert!(output.status.success(), "{output:?}");
    let json = String::from_utf8_lossy(&output.stdout);
    let report: Value = serde_json::from_str(&json).unwrap_or_else(|_| panic!("{json}"));
    let audit = &report["application_audit"]["audit"];
    let items = audit["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{report:#}"));
    let kinds: Vec<&str> = items.iter().map(|i| i["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["certificate-key", "client-secret"], "{report:#}");
    assert_eq!(items[0]["verdict"], "in-use", "{report:#}");
    let planted = &items[1];
    assert_eq!(planted["id"], key_id);
    assert_eq!(planted["detail"], format!("hint {hint}"));
    assert_eq!(planted["verdict"], "unknown");
    assert!(
        planted["revoke"]
            .as_str()
            .unwrap()
            .contains(&format!("app revoke --upn ADMIN_UPN --id {key_id}")),
        "{planted}"
    );

    // As the table: the secret's row by its keyId and hint.
    let mut args: Vec<String> = ["config", "export"].map(String::from).to_vec();
    args.extend(tenant::connection(&sb));
    let output = process::run_async(state.path(), args, String::new(), vec![]).await;
    assert!(output.status.success(), "{output:?}");
    let table = String::from_utf8_lossy(&output.stdout);
    for shown in [
        "Application keys and client secrets (read from the tenant; audit):",
        key_id,
        &format!("hint {hint}"),
        "client secret",
        "UNKNOWN",
    ] {
        assert!(table.contains(shown), "{shown} in:\n{table}");
    }

    // The secret's value is nowhere: not on stdout, stderr nor in a file.
    let file = state.path().join("exported.json");
    let file_arg = file.display().to_string();
    let written = as_app_admin(
        &sb,
        state.path(),
        &["config", "export", "--output", &file_arg],
        false,
    )
    .await;
    assert!(written.status.success(), "{written:?}");
    let document = std::fs::read_to_string(&file).unwrap();
    assert!(document.contains(key_id), "{document}");
    for text in [
        json.to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
        table.to_string(),
        document,
    ] {
        assert!(!text.contains(secret), "the secret in {text}");
    }

    // --offline asks the tenant nothing: no audit.
    let offline = as_app_admin(&sb, state.path(), &["config", "export", "--offline"], false).await;
    let report: Value = serde_json::from_slice(&offline.stdout).unwrap();
    assert!(report.get("application_audit").is_none(), "{report:#}");
}

/// The app roles the audit expects, by value.
fn expected_roles(audit: &Value) -> Vec<&str> {
    let mut roles: Vec<&str> = audit["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|item| item["verdict"] == "expected")
        .map(|item| item["display_name"].as_str().unwrap())
        .collect();
    roles.sort();
    roles
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_writeback_roles_are_expected_only_where_this_server_registered_with_writeback() {
    let (sb, state, app_id) = onboarded_where_an_administrator_may_audit().await;
    // Registered without writeback: the synchronization role, and nothing else.
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 0, "{audit}");
    assert_eq!(expected_roles(&audit), ["ADSynchronization.ReadWrite.All"]);

    // With writeback: its three roles too, each expected.
    let (with_writeback, _) = another_server(&sb, &["--password-writeback"]).await;
    let (code, audit) = app_audit(&sb, with_writeback.path(), true).await;
    assert_eq!(code, 0, "{audit}");
    assert_eq!(
        expected_roles(&audit),
        [
            "ADSynchronization.ReadWrite.All",
            "PasswordWriteback.OffboardClient.All",
            "PasswordWriteback.RefreshClient.All",
            "PasswordWriteback.RegisterClientVersion.All",
        ]
    );

    // A writeback role left on the application this server registered
    // without writeback is unknown, though the application still asks for it.
    let global = tenant::user_token(&sb, "global.admin").await;
    let application =
        tenant::get_ok(&sb, &global, &format!("/applications(appId='{app_id}')")).await;
    let reset = tenant::get_ok(
        &sb,
        &global,
        "/servicePrincipals(appId='93625bc8-bfe2-437a-97e0-3d0060024faa')",
    )
    .await;
    let role = reset["appRoles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|role| role["value"] == "PasswordWriteback.RefreshClient.All")
        .map(|role| role["id"].clone())
        .unwrap();
    let mut asked = application["requiredResourceAccess"]
        .as_array()
        .unwrap()
        .clone();
    asked.push(json!({
        "resourceAppId": reset["appId"],
        "resourceAccess": [{ "id": role, "type": "Role" }],
    }));
    tenant::patch_ok(
        &sb,
        &global,
        &format!("/applications/{}", application["id"].as_str().unwrap()),
        json!({ "requiredResourceAccess": asked }),
    )
    .await;
    let sp = tenant::get_ok(
        &sb,
        &global,
        &format!("/servicePrincipals(appId='{app_id}')"),
    )
    .await;
    let assignment = tenant::post_created(
        &sb,
        &global,
        &format!(
            "/servicePrincipals/{}/appRoleAssignments",
            sp["id"].as_str().unwrap()
        ),
        json!({ "principalId": sp["id"], "resourceId": reset["id"], "appRoleId": role }),
    )
    .await;
    let (code, audit) = app_audit(&sb, state.path(), true).await;
    assert_eq!(code, 3, "{audit}");
    assert_eq!(
        unknown_items(&audit),
        [(
            "app-role".to_string(),
            assignment["id"].as_str().unwrap().to_string()
        )]
    );
}
