//! The way back, as processes against the in-process sandbox tenant over
//! loopback: recording the server's legacy account, onboarding, rolling back
//! to the retained account (no directory change) or to a new one an
//! administrator creates, removing legacy accounts, and repairing a blank
//! credential record.

use crate::harness::process;
use crate::harness::process::{field, json_of, stderr};
use crate::harness::server::{Server, refused};
use crate::harness::tenant;
use crate::harness::tenant::{graph, user_token};
use entra_connect::sandbox::SandboxConfig;
use reqwest::Method;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::process::Output;
use std::time::Duration;

/// The seeded legacy connector account's name.
const LEGACY: &str = "Sync_CONNECT01_1a2b3c4d5e6f";

impl Server {
    fn legacy(&self) -> (String, String) {
        let user = self.sb.user(LEGACY).expect("the seeded legacy account");
        (user.upn.clone(), user.password.clone())
    }

    /// `service-account use` with the seeded legacy account.
    async fn use_legacy(&self) -> Output {
        let (upn, password) = self.legacy();
        let mut args: Vec<String> = ["--json", "service-account", "use", "--upn", &upn]
            .map(String::from)
            .to_vec();
        args.push("--password-stdin".into());
        args.extend(self.connection());
        self.run(args, format!("{password}\n"), vec![]).await
    }

    /// Managed onboarding by hybrid.admin (`app register`, `app link`).
    async fn onboard(&self) -> String {
        json_of(
            &self
                .as_user(&["app", "register"], "hybrid.admin", &[], vec![])
                .await,
        );
        let linked = json_of(
            &self
                .as_user(&["app", "link"], "hybrid.admin", &[], vec![])
                .await,
        );
        linked["app_id"].as_str().expect("app_id").to_string()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_seeds_path_from_the_legacy_account_to_an_application_and_back() {
    let server = Server::with(SandboxConfig::default()).await.verbose();
    let (legacy, _) = server.legacy();

    // The server's existing connector account: it reads ServiceAccount.
    let recorded = json_of(&server.use_legacy().await);
    assert_eq!(recorded["user_principal_name"], legacy.as_str());
    let shown = server.credential().await;
    assert_eq!(shown["connector_identity_type"], "ServiceAccount");
    assert_eq!(
        shown["service_account"]["user_principal_name"],
        legacy.as_str()
    );
    let test = server.local(&["credential", "test"]).await;
    assert_eq!(test["user_principal_name"], legacy.as_str(), "{test}");
    assert_eq!(server.events(1160).await.len(), 1);
    // Recorded again, for people: the account has the name `credential
    // show` gives it.
    let (_, password) = server.legacy();
    let mut args: Vec<String> = [
        "service-account",
        "use",
        "--upn",
        &legacy,
        "--password-stdin",
    ]
    .map(String::from)
    .to_vec();
    args.extend(server.connection());
    let recorded = server.run(args, format!("{password}\n"), vec![]).await;
    assert!(recorded.status.success(), "{}", stderr(&recorded));
    let recorded = String::from_utf8_lossy(&recorded.stdout);
    let shown = process::run_ok(server.state.path(), &["credential", "show"]);
    for human in [recorded.as_ref(), shown.as_str()] {
        assert_eq!(
            field(human, "ServiceAccount"),
            Some(legacy.as_str()),
            "{human}"
        );
    }

    // Onboarding keeps the legacy account as the way back.
    let app_id = server.onboard().await;
    let shown = server.credential().await;
    assert_eq!(shown["connector_identity_type"], "Application");
    assert_eq!(shown["way_back"], legacy.as_str(), "{shown}");
    let export = server.local(&["config", "export", "--offline"]).await;
    assert_eq!(
        export["rollback_service_account"],
        legacy.as_str(),
        "{export}"
    );
    let accounts = server.sync_accounts().await;

    // A Hybrid Identity Administrator rolls back: the retained account still
    // signs in, so nothing changes in the directory.
    let rolled_back = json_of(
        &server
            .as_user(&["service-account", "add"], "hybrid.admin", &[], vec![])
            .await,
    );
    assert_eq!(rolled_back["user_principal_name"], legacy.as_str());
    assert_eq!(rolled_back["created"], false);
    assert_eq!(server.sync_accounts().await, accounts, "no account created");
    let shown = server.credential().await;
    assert_eq!(shown["connector_identity_type"], "ServiceAccount");
    assert_eq!(
        shown["service_account"]["user_principal_name"],
        legacy.as_str()
    );
    let test = server.local(&["credential", "test"]).await;
    assert_eq!(test["user_principal_name"], legacy.as_str(), "{test}");
    assert_eq!(server.events(1161).await.len(), 1);
    let scheduler = server.local(&["scheduler", "show"]).await;
    assert_eq!(scheduler["sync_cycle_enabled"], true, "{scheduler}");

    // Moving forward again reuses the application (and its certificate).
    assert_eq!(server.onboard().await, app_id);
    let token = user_token(&server.sb, "global.admin").await;
    let path = "/applications?$filter=startswith(displayName,'ConnectSyncProvisioning_')";
    let (_, apps) = graph(&server.sb, &token, Method::GET, path, None).await;
    assert_eq!(apps["value"].as_array().unwrap().len(), 1, "{apps}");
    let test = server.local(&["credential", "test"]).await;
    assert_eq!(test["client_id"], app_id.as_str(), "{test}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_without_the_legacy_account_needs_an_administrator_who_may_create_one() {
    let server = Server::with(SandboxConfig {
        replication_lag: Duration::from_secs(3),
        // The new account's first sign-in fails as Entra's may for up to 15 minutes.
        new_user_sign_in_refusals: 1,
        ..SandboxConfig::default()
    })
    .await
    .verbose();
    let (legacy, _) = server.legacy();
    json_of(&server.use_legacy().await);
    let app_id = server.onboard().await;
    server.delete_user(&legacy).await;
    let before = server.sync_accounts().await;

    // A Hybrid Identity Administrator may neither create users nor assign roles.
    let output = server
        .as_user(&["service-account", "add"], "hybrid.admin", &[], vec![])
        .await;
    refused(
        &output,
        &[
            "Global Administrator",
            "User Administrator and Privileged Role Administrator",
        ],
    );
    assert_eq!(server.sync_accounts().await, before, "nothing created");
    assert_eq!(
        server.credential().await["application"]["application_id"],
        app_id.as_str()
    );

    // A Global Administrator's run is killed right after the account is made;
    // the rerun finds it (one account) and waits for it to sign in.
    let abort = vec![(
        "ENTRA_CONNECT_TEST_ABORT_AFTER".to_string(),
        "create-account".to_string(),
    )];
    let output = server
        .as_user(&["service-account", "add"], "global.admin", &[], abort)
        .await;
    assert!(!output.status.success(), "the run was killed");
    let output = server
        .as_user(&["service-account", "add"], "global.admin", &[], vec![])
        .await;
    assert!(
        process::reported(&stderr(&output), None, "retrying", "new-account"),
        "the rerun waited for the new account, saying why: {}",
        stderr(&output)
    );
    let rolled_back = json_of(&output);
    assert_eq!(rolled_back["created"], true);
    assert_eq!(rolled_back["verified"], true);
    let upn = rolled_back["user_principal_name"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(upn.starts_with("Sync_"), "{upn}");
    let after = server.sync_accounts().await;
    assert_eq!(after, vec![upn.clone()], "exactly one new account");
    assert_eq!(server.events(1162).await.len(), 1);
    let shown = server.credential().await;
    assert_eq!(
        shown["service_account"]["user_principal_name"],
        upn.as_str()
    );
    let scheduler = server.local(&["scheduler", "show"]).await;
    assert_eq!(scheduler["sync_cycle_enabled"], true, "{scheduler}");
    let test = server.local(&["credential", "test"]).await;
    assert_eq!(test["user_principal_name"], upn.as_str(), "{test}");

    // The password lives in an owner-only file and nowhere else.
    let file = server
        .state
        .path()
        .join(format!("service-accounts/{upn}.password"));
    let password = std::fs::read_to_string(&file).unwrap();
    assert!(password.len() >= 64, "a long random password");
    let mode =
        |path: &std::path::Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    let events = server.local(&["events"]).await.to_string();
    let printed = server.printed();
    assert!(!printed.is_empty());
    for (place, text) in [
        ("output", printed.as_str()),
        ("events", events.as_str()),
        ("database", server.database_text().as_str()),
    ] {
        assert!(!text.contains(&password), "the password is in the {place}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_legacy_accounts_spares_the_one_in_use_and_the_way_back() {
    let server = Server::with(SandboxConfig::default()).await.verbose();
    let (legacy, _) = server.legacy();
    let remove_as = async |admin: &str, name: &str, extra: &[&str]| {
        let mut args = vec!["--name", name];
        args.extend(extra);
        server
            .as_user(&["service-account", "remove"], admin, &args, vec![])
            .await
    };
    let remove = async |name: &str, extra: &[&str]| remove_as("global.admin", name, extra).await;

    // On the legacy account: that one is in use.
    json_of(&server.use_legacy().await);
    refused(
        &remove(LEGACY, &[]).await,
        &["the account the connector signs in with"],
    );

    // On an application: the legacy account is the way back.
    server.onboard().await;
    refused(
        &remove(LEGACY, &[]).await,
        &["way back", "--force-forget-rollback"],
    );
    // Not a directory synchronization account.
    refused(
        &remove("plain.user", &[]).await,
        &["not in the Directory Synchronization Accounts role"],
    );
    // An unknown name lists the accounts there are.
    refused(&remove("Sync_NOWHERE_000000000000", &[]).await, &[LEGACY]);
    assert!(server.sync_accounts().await.contains(&legacy));

    // Another server's leftover account goes, but not by a User
    // Administrator: its role is privileged.
    let other = server
        .create_sync_account("Sync_OTHER01_abcdef123456")
        .await;
    refused(
        &remove_as("user.admin", "Sync_OTHER01_abcdef123456", &[]).await,
        &[
            "Privileged Authentication Administrator",
            "Global Administrator",
        ],
    );
    assert!(server.sync_accounts().await.contains(&other));
    let removed = json_of(&remove("Sync_OTHER01_abcdef123456", &[]).await);
    assert_eq!(removed["user_principal_name"], other.as_str());
    assert_eq!(removed["way_back_forgotten"], false, "{removed}");
    assert_eq!(server.sync_accounts().await, vec![legacy.clone()]);

    // The way back goes only when asked and confirmed (here, with no
    // terminal to ask on, by --yes), and is then forgotten.
    refused(
        &remove(LEGACY, &["--force-forget-rollback"]).await,
        &["a later rollback then needs a new account", "--yes"],
    );
    assert!(server.sync_accounts().await.contains(&legacy));
    let removed = json_of(&remove(LEGACY, &["--force-forget-rollback", "--yes"]).await);
    assert_eq!(removed["way_back_forgotten"], true, "{removed}");
    assert!(server.sync_accounts().await.is_empty());
    assert_eq!(server.credential().await["way_back"], Value::Null);
    assert_eq!(server.events(1163).await.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blank_credential_record_is_rebuilt_from_the_tenant() {
    let server = Server::with(SandboxConfig::default()).await.verbose();
    let app_id = server.onboard().await;
    let before = server.credential().await["application"].clone();

    let blank = || {
        let db = rusqlite::Connection::open(server.state.path().join("entra-connect.db")).unwrap();
        db.execute(
            "UPDATE connector_credential SET application_id = '', service_principal_id = '',
             certificate_sha256 = '' WHERE id = 1",
            [],
        )
        .unwrap();
    };
    blank();
    let output = server
        .run(
            vec!["credential".into(), "show".into()],
            String::new(),
            vec![],
        )
        .await;
    refused(&output, &["credential repair"]);

    // Another tenant holds no application for this server.
    let foreign = tenant::start().await;
    let admin = foreign.user("hybrid.admin").unwrap().clone();
    let mut args: Vec<String> = ["--json", "credential", "repair", "--upn", &admin.upn]
        .map(String::from)
        .to_vec();
    args.extend(["--sign-in", "password", "--password-stdin"].map(String::from));
    args.extend([
        "--tenant".into(),
        foreign.tenant_id.clone(),
        "--authority-host".into(),
        foreign.authority_host.clone(),
        "--graph-url".into(),
        foreign.graph_url.clone(),
    ]);
    let output = server
        .run(args, format!("{}\n", admin.password), vec![])
        .await;
    refused(
        &output,
        &["holds no application", "ConnectSyncProvisioning_"],
    );

    // The tenant that holds it: the record comes back as it was.
    let repaired = json_of(
        &server
            .as_user(&["credential", "repair"], "hybrid.admin", &[], vec![])
            .await,
    );
    assert_eq!(repaired["app_id"], app_id.as_str());
    let after = server.credential().await["application"].clone();
    for field in [
        "tenant_id",
        "application_id",
        "service_principal_id",
        "certificate_sha256",
        "application_managed_by",
        "certificate_managed_by",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
    assert_eq!(server.events(1170).await.len(), 1);
    let test = server.local(&["credential", "test"]).await;
    assert_eq!(test["client_id"], app_id.as_str(), "{test}");

    // A complete record is left alone.
    let output = server
        .as_user(&["credential", "repair"], "hybrid.admin", &[], vec![])
        .await;
    refused(&output, &["nothing to repair"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rollback_not_waited_for_warns_and_doctor_reports_an_account_that_fails() {
    let server = Server::with(SandboxConfig::default()).await.verbose();
    let (legacy, _) = server.legacy();
    json_of(&server.use_legacy().await);
    server.onboard().await;
    server.delete_user(&legacy).await;

    let output = server
        .as_user(
            &["service-account", "add"],
            "global.admin",
            &["--no-wait"],
            vec![],
        )
        .await;
    assert!(
        stderr(&output).contains("WARNING") && stderr(&output).contains("15 minutes"),
        "{}",
        stderr(&output)
    );
    let rolled_back = json_of(&output);
    assert_eq!(rolled_back["created"], true);
    assert_eq!(rolled_back["verified"], false);
    let upn = rolled_back["user_principal_name"]
        .as_str()
        .unwrap()
        .to_string();

    let token_finding = async || {
        let output = server
            .run(
                vec!["--json".into(), "doctor".into()],
                String::new(),
                vec![],
            )
            .await;
        let findings: Value = serde_json::from_slice(&output.stdout).unwrap();
        let finding = findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == "token");
        (
            output.status.success(),
            finding.cloned().expect("a token finding"),
        )
    };
    let (_, finding) = token_finding().await;
    assert_eq!(finding["verdict"], "OK", "{finding}");
    assert!(
        finding["detail"].as_str().unwrap().contains(&upn),
        "{finding}"
    );
    // The scheduler's sync-cycle check signs in with the account too.
    let sync_check = async || {
        let output = server
            .run(
                vec!["scheduler".into(), "run".into(), "--once".into()],
                String::new(),
                vec![],
            )
            .await;
        assert!(output.status.success(), "{}", stderr(&output));
        let shown = server.local(&["scheduler", "show"]).await;
        shown["last_run"]["sync_cycle_check"].clone()
    };
    let check = sync_check().await;
    assert_eq!(check["ok"], true, "{check}");
    assert!(check["summary"].as_str().unwrap().contains(&upn), "{check}");

    // An account that does not sign in (here: gone) fails the check, and the
    // fix names the wait a new account may need.
    server.delete_user(&upn).await;
    let (healthy, finding) = token_finding().await;
    assert!(!healthy);
    assert_eq!(finding["verdict"], "FAIL", "{finding}");
    assert!(
        finding["fix"].as_str().unwrap().contains("15 minutes"),
        "{finding}"
    );
    let check = sync_check().await;
    assert_eq!(check["ok"], false, "{check}");
    assert!(check["summary"].as_str().unwrap().contains(&upn), "{check}");
    assert_eq!(server.events(1151).await.len(), 1);
}
