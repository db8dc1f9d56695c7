//! The tool against a sandbox that behaves like a real tenant on consent,
//! roles, replication and lost answers to writes, as processes over loopback:
//! an onboarding either completes with no duplicate or refuses before
//! changing anything, saying exactly what an administrator must do.

use crate::harness::process::{self, stderr};
use crate::harness::server::Server;
use crate::harness::tenant::{admin_token, graph};
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use reqwest::Method;
use serde_json::Value;
use std::time::Duration;

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// A seeded user's UPN (the seed's domain is fixed).
fn upn(name: &str) -> String {
    format!("{name}@contoso-sandbox.onmicrosoft.com")
}

/// Every object of `kind` in the tenant whose display name starts with this
/// tool's prefix (applications), or that belongs to them.
async fn count(sb: &SandboxHandle, path: &str) -> usize {
    let token = admin_token(sb).await;
    let (status, page) = graph(sb, &token, Method::GET, path, None).await;
    assert!(status.is_success(), "{path}: {page}");
    page["value"].as_array().unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_register_refuses_before_any_change_and_says_who_can_grant_it() {
    let server = Server::with(SandboxConfig {
        without_consent: true,
        ..SandboxConfig::default()
    })
    .await;
    let output = server.app("register", "hybrid.admin", &[]).await;
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    for expected in [
        "has no admin consent in this tenant for User.Read, Application.ReadWrite.All, AppRoleAssignment.ReadWrite.All",
        "nothing was changed",
        "Global Administrator or Privileged Role Administrator or Cloud Application Administrator or Application Administrator",
        &format!(
            "{}/{}/v2.0/adminconsent?client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e&scope=",
            server.sb.authority_host.trim_end_matches('/'),
            server.sb.tenant_id
        ),
        "--admin-client-id",
    ] {
        assert!(log.contains(expected), "{expected:?} not in {log}");
    }
    assert_eq!(
        server.sb.writes_done(),
        0,
        "nothing was written to the tenant"
    );
    assert_eq!(
        process::run_json(server.state.path(), &["cert", "list"]),
        serde_json::json!([])
    );

    // doctor --upn says the same, per operation, and fails.
    let output = server
        .as_user(&["doctor"], "hybrid.admin", &[], vec![])
        .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let findings: Value = serde_json::from_slice(&output.stdout).unwrap();
    let administrator = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "administrator")
        .expect("an administrator finding");
    assert_eq!(administrator["verdict"], "FAIL", "{findings:#}");
    assert!(
        administrator["detail"]
            .as_str()
            .unwrap()
            .contains("AADSTS65001"),
        "{findings:#}"
    );
    // Each operation names the scopes it lacks and where to consent.
    let register = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "app register / wizard (Managed, BYOC)")
        .expect("a finding for registration");
    assert_eq!(register["verdict"], "FAIL");
    let fix = register["fix"].as_str().unwrap();
    assert!(
        fix.contains("no admin consent in this tenant for User.Read, Application.ReadWrite.All, AppRoleAssignment.ReadWrite.All"),
        "{fix}"
    );
    assert!(fix.contains("/v2.0/adminconsent?client_id="), "{fix}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_approved_by_a_global_administrator_consents_and_continues() {
    let server = Server::with(SandboxConfig {
        without_consent: true,
        auto_approve: Some(upn("global.admin")),
        auto_approve_delay: Duration::from_millis(200),
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let output = server.app_device_code("register", "global.admin").await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(server.provisioning_apps().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_approved_by_a_hybrid_identity_administrator_ends_with_admin_approval_required()
{
    let server = Server::with(SandboxConfig {
        without_consent: true,
        auto_approve: Some(upn("hybrid.admin")),
        auto_approve_delay: Duration::from_millis(200),
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let output = server.app_device_code("register", "hybrid.admin").await;
    let log = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(log.contains("has no admin consent in this tenant"), "{log}");
    assert!(log.contains("/v2.0/adminconsent?client_id="), "{log}");
    assert_eq!(
        server.sb.writes_done(),
        0,
        "nothing was written to the tenant"
    );
}

/// Lost answers to writes: every onboarding ends with one application, one
/// service principal, one role assignment and one key. The seeds are ones
/// where the sandbox does lose answers (at least one each); the tool looks a
/// write up again after a lost answer, so each run finishes by itself, with
/// no rerun (even at a rate of 0.8 none is needed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn post_write_faults_never_make_a_second_object() {
    // Each seed is a server and a tenant of its own: all at once.
    futures::future::join_all((3..=12u64).map(|seed| async move {
        let server = Server::with(SandboxConfig {
            post_write_fault_rate: 0.35,
            fault_seed: seed,
            ..SandboxConfig::default()
        })
        .await;
        for command in ["register", "link"] {
            let output = server.app(command, "hybrid.admin", &[]).await;
            assert!(
                output.status.success(),
                "seed {seed}: {command} gave up after {} lost answers: {}",
                server.sb.post_write_faults_injected(),
                stderr(&output)
            );
        }
        assert!(
            server.sb.post_write_faults_injected() > 0,
            "seed {seed}: no answer was lost, so this seed tests nothing"
        );
        let apps = server.provisioning_apps().await;
        assert_eq!(apps.len(), 1, "seed {seed}: {apps:#?}");
        let app_id = apps[0]["appId"].as_str().unwrap();
        let token = admin_token(&server.sb).await;
        let (_, app) = graph(
            &server.sb,
            &token,
            Method::GET,
            &format!("/applications(appId='{app_id}')?$select=keyCredentials"),
            None,
        )
        .await;
        assert_eq!(
            app["keyCredentials"].as_array().unwrap().len(),
            1,
            "seed {seed}: {app}"
        );
        let principals = count(
            &server.sb,
            &format!("/servicePrincipals?$filter=appId eq '{app_id}'"),
        )
        .await;
        assert_eq!(principals, 1, "seed {seed}");
        let (_, sp) = graph(
            &server.sb,
            &token,
            Method::GET,
            &format!("/servicePrincipals(appId='{app_id}')"),
            None,
        )
        .await;
        let sp_id = sp["id"].as_str().unwrap();
        let grants = count(
            &server.sb,
            &format!("/servicePrincipals/{sp_id}/appRoleAssignments"),
        )
        .await;
        assert_eq!(grants, 1, "seed {seed}");
        let credential = process::run_json(server.state.path(), &["credential", "show"]);
        assert_eq!(credential["connector_identity_type"], "Application");
    }))
    .await;
}

/// Right after the grant, tokens come without the role: link waits for it,
/// and with no time left refuses and leaves the credential as it was.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn link_waits_for_the_role_and_refuses_when_it_never_comes() {
    let server = Server::with(SandboxConfig {
        replication_lag: Duration::from_secs(3),
        ..SandboxConfig::default()
    })
    .await;
    // Stop after the service principal, and let it replicate, so that the
    // grant made by the rerun is the one thing still replicating.
    let crash = vec![(
        "ENTRA_CONNECT_TEST_ABORT_AFTER".to_string(),
        "service-principal".to_string(),
    )];
    let stopped = server
        .as_user(&["app", "register"], "hybrid.admin", &[], crash)
        .await;
    assert!(!stopped.status.success(), "{}", stderr(&stopped));
    tokio::time::sleep(Duration::from_millis(3200)).await;
    let registered = server.app("register", "hybrid.admin", &[]).await;
    assert!(registered.status.success(), "{}", stderr(&registered));

    // No patience: the token has no role yet, so nothing switches.
    let hasty = server
        .app("link", "hybrid.admin", &["--replication-timeout", "0"])
        .await;
    let log = stderr(&hasty);
    assert_eq!(hasty.status.code(), Some(1), "{log}");
    assert!(
        log.contains("still does not carry ADSynchronization.ReadWrite.All"),
        "{log}"
    );
    let credential = process::run_json(server.state.path(), &["credential", "show"]);
    assert_eq!(credential["connector_identity_type"], "None");

    // With the replication budget, it waits (and says so), then switches.
    let linked = server.app("link", "hybrid.admin", &[]).await;
    let log = stderr(&linked);
    assert!(linked.status.success(), "{log}");
    let credential = process::run_json(server.state.path(), &["credential", "show"]);
    assert_eq!(credential["connector_identity_type"], "Application");
    assert!(
        process::reported(
            &log,
            Some("Sign in as the application for the synchronization service"),
            "done",
            "token acquired with ADSynchronization.ReadWrite.All"
        ),
        "{log}"
    );
}

/// `doctor` on an onboarded server: every check passes (the software key
/// store warns), with an administrator each operation is allowed, and an
/// unknown tenant fails the run.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn doctor_checks_everything_and_exits_by_the_worst_finding() {
    let server = Server::new().await;
    let registered = server.app("register", "hybrid.admin", &[]).await;
    assert!(registered.status.success(), "{}", stderr(&registered));
    let linked = server.app("link", "hybrid.admin", &[]).await;
    assert!(linked.status.success(), "{}", stderr(&linked));

    let user = server.sb.user("hybrid.admin").unwrap().clone();
    let mut args = strings(&["--json", "doctor", "--upn", &user.upn]);
    args.extend(strings(&["--sign-in", "password", "--password-stdin"]));
    let output = process::run_async(
        server.state.path(),
        args,
        format!("{}\n", user.password),
        vec![],
    )
    .await;
    assert!(output.status.success(), "{}", stderr(&output));
    let findings: Value = serde_json::from_slice(&output.stdout).unwrap();
    let verdict = |check: &str| {
        findings
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["check"] == check)
            .unwrap_or_else(|| panic!("no {check} finding in {findings:#}"))["verdict"]
            .clone()
    };
    for check in [
        "scheduler",
        "credential",
        "certificate",
        "endpoints",
        "clock",
        "token",
        "administrator",
        "app register / wizard (Managed, BYOC)",
        "app link (BYOA)",
    ] {
        assert_eq!(verdict(check), "OK", "{check}: {findings:#}");
    }
    assert_eq!(verdict("key store"), "WARN");
    // The full application audit needs Directory.Read.All, not consented here: the
    // application's own read is clean, the administrator's was refused.
    assert_eq!(verdict("application audit"), "WARN");
    // What a Hybrid Identity Administrator may not do is a warning, with the
    // roles that may.
    for check in [
        "app rotate with an administrator (current key expired or missing)",
        "service-account add (when a new account is needed)",
        "service-account remove",
    ] {
        assert_eq!(verdict(check), "WARN", "{check}: {findings:#}");
    }
    let rollback = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "service-account add (when a new account is needed)")
        .unwrap();
    let fix = rollback["fix"].as_str().unwrap();
    assert!(
        fix.contains(
            "Global Administrator, or User Administrator and Privileged Role Administrator together"
        ),
        "{fix}"
    );

    // The human table says the same; an unknown tenant fails the run.
    let output = process::run_async(
        server.state.path(),
        strings(&["doctor", "--tenant", "nonexistent.onmicrosoft.com"]),
        String::new(),
        vec![],
    )
    .await;
    let table = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{table}");
    assert!(
        table.contains("endpoints") && table.contains("FAIL"),
        "{table}"
    );
    assert!(
        stderr(&output).contains("check(s) failed"),
        "{}",
        stderr(&output)
    );
}

/// A refused sign-in says what was wrong, and keeps the ids Microsoft
/// support asks for (trace id, correlation id, time) on a line of their
/// own, labelled, instead of in the middle of the sentence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_sign_in_gives_the_ids_for_support_a_line_of_their_own() {
    let server = Server::new().await;
    let output = server.app("register", "mfa.admin", &[]).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let said = stderr(&output);
    let error = said
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line: {said}"));
    assert!(
        error.contains("AADSTS50076") && !error.contains("Trace ID"),
        "{said}"
    );
    let support = said
        .lines()
        .find(|line| {
            line.trim_start()
                .starts_with("For Microsoft support: Trace ID: ")
        })
        .unwrap_or_else(|| panic!("no line for support: {said}"));
    assert!(
        support.contains("Correlation ID: ") && support.contains("Timestamp: "),
        "{support}"
    );
}
