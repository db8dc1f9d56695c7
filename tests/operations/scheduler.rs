//! The scheduler's work against the in-process sandbox: the maintenance tick
//! at chosen moments of the certificate's life (an injected clock), the clone
//! check, the sync-cycle check, and `scheduler run` as a process that ticks
//! and stops on SIGTERM.

use crate::harness::process;
use crate::harness::tenant;
use entra_connect::domain::{
    CertificateHash, ConnectionInputs, ConnectorCredential, EventId, NextCommand, Remedy,
    SchedulerSettings,
};
use entra_connect::engine::audit::{AuditKind, AuditVerdict};
use entra_connect::engine::connection::settings;
use entra_connect::engine::doctor::{Finding, Verdict, doctor};
use entra_connect::engine::maintenance::{Clock, run_once};
use entra_connect::engine::{
    ApplicationAudit, LocalServer, SchedulerChange, change_scheduler, with_application_audit,
};
use entra_connect::entra::client::ConnectionSettings;
use entra_connect::entra::client::DEFAULT_ADMIN_CLIENT_ID;
use entra_connect::sandbox::SandboxHandle;
use sha1::Digest;
use std::path::Path;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

struct At(OffsetDateTime);

impl Clock for At {
    fn now(&self) -> OffsetDateTime {
        self.0
    }
}

/// A server onboarded (Managed) against `sb`.
pub(crate) async fn onboarded(sb: &SandboxHandle, state: &Path) {
    onboarded_with(sb, state, &[]).await
}

/// A server onboarded (Managed) against `sb`, `app register` given `register_options`.
pub(crate) async fn onboarded_with(sb: &SandboxHandle, state: &Path, register_options: &[&str]) {
    let user = sb.user("hybrid.admin").unwrap().clone();
    for command in ["register", "link"] {
        let options = match command {
            "register" => register_options,
            _ => &[],
        };
        let args: Vec<String> = [
            "app",
            command,
            "--upn",
            &user.upn,
            "--sign-in",
            "password",
            "--password-stdin",
            "--tenant",
            &sb.tenant_id,
            "--authority-host",
            &sb.authority_host,
            "--graph-url",
            &sb.graph_url,
        ]
        .iter()
        .chain(options)
        .map(|s| s.to_string())
        .collect();
        let output = process::run_async(state, args, format!("{}\n", user.password), vec![]).await;
        assert!(
            output.status.success(),
            "{command}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// The ids of the events written since `before` events existed.
fn new_events(server: &LocalServer, before: usize) -> Vec<u32> {
    let all = server.events(None, None).unwrap();
    all[before..].iter().map(|e| e.id).collect()
}

pub(crate) fn connection(sb: &SandboxHandle) -> ConnectionSettings {
    let inputs = ConnectionInputs {
        tenant: Some(sb.tenant_id.parse().unwrap()),
        authority_host: Some(sb.authority_host.parse().unwrap()),
        graph_url: Some(sb.graph_url.parse().unwrap()),
        ..ConnectionInputs::default()
    };
    settings(
        &inputs,
        DEFAULT_ADMIN_CLIENT_ID,
        Duration::from_secs(10),
        Default::default(),
    )
    .unwrap()
}

pub(crate) async fn tick(
    server: &mut LocalServer,
    sb: &SandboxHandle,
    now: OffsetDateTime,
) -> Vec<u32> {
    let before = server.events(None, None).unwrap().len();
    server.set_clock(std::sync::Arc::new(At(now)));
    run_once(server, Ok(connection(sb))).await.unwrap();
    new_events(server, before)
}

pub(crate) fn current_certificate(server: &LocalServer) -> (CertificateHash, OffsetDateTime) {
    match server.credential().unwrap() {
        ConnectorCredential::Application(app) => {
            let not_after = server
                .certificate(&app.certificate_sha256)
                .unwrap()
                .info
                .not_after;
            (app.certificate_sha256, not_after)
        }
        other => panic!("{other:?}"),
    }
}

/// `doctor`'s application audit finding (doctor without an administrator).
pub(crate) async fn key_audit_finding(server: &LocalServer, sb: &SandboxHandle) -> Finding {
    let (progress, _events) = tokio::sync::mpsc::unbounded_channel();
    let findings = doctor(server, Ok(connection(sb)), None, progress).await;
    findings
        .into_iter()
        .find(|f| f.check == "application audit")
        .expect("an application audit finding")
}

pub(crate) fn set(server: &mut LocalServer, maintenance: bool, suspended: bool) {
    let change = SchedulerChange {
        maintenance_enabled: Some(maintenance),
        scheduler_suspended: Some(suspended),
        ..SchedulerChange::default()
    };
    change_scheduler(server, &change).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_maintenance_tick_follows_the_certificates_life() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    onboarded(&sb, state.path()).await;
    let mut server = process::local_server(state.path());
    let (hash, not_after) = current_certificate(&server);
    let due = EventId::ROTATION_DUE.0;
    let expired = EventId::CERTIFICATE_EXPIRED.0;
    let sync_ok = EventId::SYNC_CHECK_OK.0;
    let rotated = 1130;

    // 151 days left: nothing to say (every key on the application is ours).
    let events = tick(&mut server, &sb, not_after - time::Duration::days(151)).await;
    assert_eq!(events, [sync_ok]);

    // Maintenance off: the warnings still come, but nothing is rotated.
    set(&mut server, false, false);
    let events = tick(&mut server, &sb, not_after - time::Duration::days(150)).await;
    assert_eq!(events, [due, sync_ok]);
    // Expired by the server's clock, the certificate signs nothing: the
    // sync-cycle check fails with it.
    let events = tick(&mut server, &sb, not_after + time::Duration::days(1)).await;
    assert_eq!(events, [expired, EventId::SYNC_CHECK_FAILED.0]);
    assert_eq!(current_certificate(&server).0, hash, "not rotated");
    let scheduler: SchedulerSettings = server.scheduler().unwrap();
    assert_eq!(
        scheduler.next_run_at,
        Some(not_after + time::Duration::days(1) + time::Duration::minutes(30)),
        "the next run is one interval on"
    );
    // Suspended: nothing at all.
    set(&mut server, true, true);
    let events = tick(&mut server, &sb, not_after + time::Duration::days(1)).await;
    assert!(events.is_empty(), "{events:?}");

    // Maintenance on and expired by the injected clock: the application can
    // no longer prove it holds its key, so nothing is rotated unattended and
    // the error says who can.
    set(&mut server, true, false);
    let events = tick(&mut server, &sb, not_after + time::Duration::days(1)).await;
    let failed = EventId::AUTOMATIC_ROTATION_FAILED.0;
    for id in [expired, failed] {
        assert!(events.contains(&id), "{id} in {events:?}");
    }
    assert!(!events.contains(&rotated), "{events:?}");
    assert_eq!(current_certificate(&server).0, hash, "not rotated");
    let failure = server.events(None, Some(failed)).unwrap();
    assert!(
        failure[0].message.contains("Application Administrator"),
        "{}",
        failure[0].message
    );

    // Maintenance on and due: a Managed certificate is rotated automatically.
    set(&mut server, true, false);
    let events = tick(&mut server, &sb, not_after - time::Duration::days(150)).await;
    for id in [due, rotated, sync_ok] {
        assert!(events.contains(&id), "{id} in {events:?}");
    }
    assert!(
        !events.contains(&EventId::AUTOMATIC_ROTATION_FAILED.0),
        "{events:?}"
    );
    let (new_hash, new_not_after) = current_certificate(&server);
    assert_ne!(new_hash, hash, "rotated");

    // A key added behind the server's back (a Global Administrator's PATCH) is reported.
    let app_id = match server.credential().unwrap() {
        ConnectorCredential::Application(app) => app.application_id,
        other => panic!("{other:?}"),
    };
    let admin = tenant::user_token(&sb, "global.admin").await;
    let path = format!("/applications(appId='{app_id}')?$select=id,keyCredentials");
    let (_, application) = tenant::graph(&sb, &admin, reqwest::Method::GET, &path, None).await;
    let mut keys = application["keyCredentials"].as_array().unwrap().clone();
    let theirs = tenant::TestCert::new();
    keys.push(theirs.key_credential());
    let object = application["id"].as_str().unwrap();
    let (status, body) = tenant::graph(
        &sb,
        &admin,
        reqwest::Method::PATCH,
        &format!("/applications/{object}"),
        Some(serde_json::json!({ "keyCredentials": keys })),
    )
    .await;
    assert!(status.is_success(), "{body}");
    let events = tick(&mut server, &sb, new_not_after - time::Duration::days(151)).await;
    assert_eq!(events, [EventId::UNKNOWN_KEY.0, sync_ok]);
    // The warning names the key (its id and thumbprint) and how to revoke it.
    let (_, after) = tenant::graph(&sb, &admin, reqwest::Method::GET, &path, None).await;
    let before: Vec<&serde_json::Value> = application["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| &key["keyId"])
        .collect();
    let added = after["keyCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["keyId"].as_str().unwrap())
        .find(|id| !before.contains(&&serde_json::Value::from(*id)))
        .expect("the added key's id");
    let thumbprint = hex::encode_upper(sha1::Sha1::digest(&theirs.der));
    let warning = &server.events(None, Some(EventId::UNKNOWN_KEY.0)).unwrap()[0].message;
    for named in [
        added,
        thumbprint.as_str(),
        "app remove-key --certificate-id",
    ] {
        assert!(warning.contains(named), "{named} in {warning}");
    }
    // doctor says the same.
    let audit = key_audit_finding(&server, &sb).await;
    assert_eq!(audit.verdict, Verdict::Warn, "{audit:?}");
    assert!(
        audit.fix.iter().any(|remedy| matches!(
            remedy,
            Remedy::Run {
                command: NextCommand::RemoveKey { key_id: Some(_) }
            }
        )),
        "{audit:?}"
    );
    // And config export lists every key with the audit's verdict.
    let (progress, _events) = tokio::sync::mpsc::unbounded_channel();
    let report = with_application_audit(&server, Ok(connection(&sb)), progress)
        .await
        .unwrap();
    let Some(ApplicationAudit::Read { audit }) = report.application_audit else {
        panic!("keys not read: {:?}", report.application_audit);
    };
    let verdicts: Vec<(AuditKind, AuditVerdict)> = audit
        .items
        .iter()
        .map(|item| (item.kind, item.verdict))
        .collect();
    assert_eq!(
        verdicts.len(),
        2,
        "the two keys and no client secret: {audit:?}"
    );
    for verdict in [AuditVerdict::InUse, AuditVerdict::Unknown] {
        assert!(
            verdicts.contains(&(AuditKind::CertificateKey, verdict)),
            "{audit:?}"
        );
    }
    let unknown = server.events(None, Some(EventId::UNKNOWN_KEY.0)).unwrap();
    assert!(
        unknown[0]
            .message
            .contains("entra-connect app remove-key --certificate-id"),
        "{}",
        unknown[0].message
    );

    // A state copied from another machine: the clone is named, and never rotated.
    drop(server);
    let db = rusqlite::Connection::open(state.path().join("entra-connect.db")).unwrap();
    let recorded: String = db
        .query_row(
            "SELECT value FROM settings WHERE key = 'setup_machine_id'",
            [],
            |r| r.get(0),
        )
        .expect("the machine id was recorded at setup");
    assert_eq!(
        Some(recorded),
        std::fs::read_to_string("/etc/machine-id")
            .ok()
            .map(|s| s.trim().to_string())
    );
    db.execute(
        "UPDATE settings SET value = 'another-machine' WHERE key = 'setup_machine_id'",
        [],
    )
    .unwrap();
    drop(db);
    let mut server = process::local_server(state.path());
    let events = tick(&mut server, &sb, new_not_after - time::Duration::days(150)).await;
    assert!(events.contains(&EventId::CLONE_DETECTED.0), "{events:?}");
    assert!(events.contains(&due), "{events:?}");
    assert!(
        !events.contains(&rotated),
        "a clone is not rotated: {events:?}"
    );
    assert_eq!(current_certificate(&server).0, new_hash);
    let clone = server
        .events(None, Some(EventId::CLONE_DETECTED.0))
        .unwrap();
    assert!(
        clone[0].message.contains("another-machine") && clone[0].message.contains("AADSTS700027"),
        "{}",
        clone[0].message
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_run_ticks_and_stops_on_sigterm() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    onboarded(&sb, state.path()).await;
    let mut child = process::binary()
        .env("ENTRA_CONNECT_STATE_DIR", state.path())
        .args(["scheduler", "run", "--interval-seconds", "1"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Two runs: wait (bounded) until the sync-cycle check is recorded twice.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let checks = process::run_json(state.path(), &["events", "--id", "1150"]);
        if checks.as_array().unwrap().len() >= 2 {
            break;
        }
        assert!(Instant::now() < deadline, "no two runs within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // It ends by itself (exit 0, not the signal's death), after at most the
    // run under way: a bound for a busy machine, not a measure of speed.
    let deadline = Instant::now() + Duration::from_secs(10);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            Instant::now() < deadline,
            "still running 10 s after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(exit.code(), Some(0));
    let shown = process::run_json(state.path(), &["scheduler", "show"]);
    assert_eq!(shown["last_run"]["sync_cycle_check"]["ok"], true, "{shown}");
    assert!(shown["next_run_at"].is_string(), "{shown}");
}

/// Ctrl-C in the middle of a run lets the run finish (its events recorded)
/// and then ends the scheduler with exit 0, instead of killing it half way.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_run_ends_the_scheduler_after_that_run() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    onboarded(&sb, state.path()).await;
    let before = sb.requests_served();
    let mut child = process::binary()
        .env("ENTRA_CONNECT_STATE_DIR", state.path())
        .args(["scheduler", "run", "--interval-seconds", "60"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The first request of the first run reached the sandbox: the run is under way.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sb.requests_served() == before {
        assert!(
            Instant::now() < deadline,
            "the scheduler sent nothing within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "still running 30 s after Ctrl-C");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(exit.code(), Some(0), "{exit:?}");
    let checks = process::run_json(state.path(), &["events", "--id", "1150"]);
    assert_eq!(checks.as_array().unwrap().len(), 1, "{checks}");
}
