//! `app rotate`, `app remove-key` and `app keys` as processes against the
//! in-process sandbox tenant over loopback: the application rolling its own
//! key (Managed, BYOC), the administrator's PATCH path when the current
//! certificate expired, a removal that fails, a kill after every step, and
//! key removal's refusals.

use crate::harness::process::{json_of, stderr};
use crate::harness::server::{Server, refused};
use crate::harness::tenant;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use entra_connect::sandbox::SandboxConfig;
use serde_json::json;
use sha2::Digest;
use std::process::Output;
use std::sync::atomic::Ordering;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_rotation_leaves_exactly_the_new_key() {
    let server = Server::onboarded(SandboxConfig::default(), None).await;
    let (app_id, old) = server.application_and_certificate().await;
    let old_key = std::fs::read(server.state.path().join(format!("keys/{old}.key"))).unwrap();

    // The plan first: the application rolls its own key, no administrator.
    let plan = json_of(&server.app_itself("rotate", &["--dry-run"], vec![]).await);
    let names: Vec<&str> = plan["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "disable-scheduler",
            "new-certificate",
            "add-key",
            "verify-new-certificate",
            "switch-credential",
            "remove-old-key",
            "delete-old-certificate",
            "restore-scheduler"
        ]
    );
    assert_eq!(server.hashes_in_store().await, std::slice::from_ref(&old));
    let old_thumbprint = server.local(&["cert", "list"]).await[0]["thumbprint"].clone();

    let output = server.app_itself("rotate", &["--days", "90"], vec![]).await;
    let rotated = json_of(&output);
    assert_eq!(rotated["path"], "application", "{rotated}");
    assert_eq!(rotated["old_key"]["result"], "removed", "{rotated}");
    assert_eq!(rotated["old_certificate_deleted"], true);
    let new = rotated["new_certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old);
    // Each certificate with the SHA-1 thumbprint the portal lists it by.
    let listed = server.local(&["cert", "list"]).await;
    assert_eq!(listed[0]["sha256"], new.as_str(), "{listed}");
    assert_eq!(
        rotated["new_certificate_thumbprint"], listed[0]["thumbprint"],
        "{rotated}"
    );
    assert_eq!(
        rotated["old_certificate_thumbprint"], old_thumbprint,
        "{rotated}"
    );

    // Exactly one key on the application: the new certificate.
    assert_eq!(server.key_hashes(&app_id).await, std::slice::from_ref(&new));
    let after = server.application().await;
    assert_eq!(after["certificate_sha256"], new.as_str());
    assert_eq!(after["certificate_managed_by"], "EntraConnect");
    // The new certificate signs in; the old one is refused.
    let mut args = vec!["--json".to_string(), "credential".into(), "test".into()];
    args.extend(server.connection());
    let tested = json_of(&server.run(args, String::new(), vec![]).await);
    assert!(
        tested["roles"]
            .as_array()
            .unwrap()
            .contains(&json!("ADSynchronization.ReadWrite.All"))
    );
    let (status, body) = server.token_with(&app_id, &old, &old_key).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(tenant::aadsts(&body), 700027, "{body}");
    // The old certificate and key are gone from the store; the event says so.
    assert_eq!(server.hashes_in_store().await, std::slice::from_ref(&new));
    let done = server.events(1130).await;
    assert_eq!(done.len(), 1, "{done:?}");
    assert!(done[0]["message"].as_str().unwrap().contains(&new));
    assert!(server.sync_cycle_enabled().await);

    // `app keys` lists the one key, in use.
    let keys = json_of(&server.app_itself("keys", &[], vec![]).await);
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    assert_eq!(keys[0]["origin"], "in-use");
    // config export reads them too, through the connection the rotation remembered.
    let export = server
        .run(
            vec!["config".into(), "export".into()],
            String::new(),
            vec![],
        )
        .await;
    let text = String::from_utf8_lossy(&export.stdout);
    assert!(
        text.contains("Application keys and client secrets (read from the tenant; audit):"),
        "{text}"
    );
    // The key's row (or, where the table is too wide, its block of
    // "Field : value" lines) says it is in use.
    let key_id = keys[0]["key_id"].as_str().unwrap();
    let record = text
        .split("\n\n")
        .flat_map(|block| {
            let rows: Vec<&str> = block.lines().collect();
            match rows.iter().any(|row| row.contains(" : ")) {
                true => vec![block.to_string()],
                false => rows.iter().map(|row| row.to_string()).collect(),
            }
        })
        .find(|record| record.contains(key_id))
        .unwrap_or_else(|| panic!("no record for the key in:\n{text}"));
    assert!(
        record.lines().any(|line| line.contains("in use")),
        "{record}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byoc_rotation_removes_the_old_key_and_keeps_the_old_certificate() {
    let server = Server::onboarded(SandboxConfig::default(), Some("byoc")).await;
    let (app_id, old) = server.application_and_certificate().await;
    assert_eq!(
        server.application().await["certificate_managed_by"],
        "Customer"
    );

    // Yours: this server does not make the successor.
    refused(
        &server.app_itself("rotate", &[], vec![]).await,
        &["Give the new one with --certificate-sha256"],
    );
    let new = server.new_certificate().await;
    refused(
        &server
            .app_itself("rotate", &["--certificate-sha256", &old], vec![])
            .await,
        &["is the one in use already"],
    );
    let output = server
        .app_itself("rotate", &["--certificate-sha256", &new], vec![])
        .await;
    let rotated = json_of(&output);
    assert_eq!(rotated["path"], "application");
    assert_eq!(rotated["old_certificate_deleted"], false);
    assert!(
        stderr(&output).contains("stays in the key store"),
        "{}",
        stderr(&output)
    );
    assert_eq!(server.key_hashes(&app_id).await, std::slice::from_ref(&new));
    let mut store = server.hashes_in_store().await;
    store.sort();
    let mut expected = vec![old.clone(), new.clone()];
    expected.sort();
    assert_eq!(store, expected);
    assert_eq!(
        server.application().await["certificate_sha256"],
        new.as_str()
    );
    assert_eq!(
        server.application().await["certificate_managed_by"],
        "Customer"
    );
    server.assert_only_new_signs_in(&app_id, &new, &old).await;
}

/// Writes an expired certificate and its key into the store's layout (as
/// `cert import` would refuse it); returns its hash and its DER.
fn expired_certificate(server: &Server) -> (String, Vec<u8>) {
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.not_before = time::macros::datetime!(2025-01-01 00:00 UTC);
    params.not_after = time::macros::datetime!(2026-01-01 00:00 UTC);
    let certificate = params.self_signed(&key).unwrap();
    let hash = hex::encode_upper(sha2::Sha256::digest(certificate.der()));
    let keys = server.state.path().join("keys");
    std::fs::write(keys.join(format!("{hash}.crt")), certificate.pem()).unwrap();
    let key_file = keys.join(format!("{hash}.key"));
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    (hash, certificate.der().to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byoa_rotation_keeps_the_application_and_the_old_certificate_yours() {
    let server = Server::linked_to_own_application().await;
    assert_eq!(
        server.application().await["application_managed_by"],
        "Customer"
    );
    let (app_id, old) = server.application_and_certificate().await;

    refused(
        &server.app_itself("rotate", &[], vec![]).await,
        &["Give the new one with --certificate-sha256"],
    );
    let new = server.new_certificate().await;
    let rotated = json_of(
        &server
            .app_itself("rotate", &["--certificate-sha256", &new], vec![])
            .await,
    );
    assert_eq!(rotated["path"], "application", "{rotated}");
    assert_eq!(rotated["old_key"]["result"], "removed", "{rotated}");
    assert_eq!(rotated["old_certificate_deleted"], false);

    // The same application, now with exactly the new key; both certificates stay yours.
    assert_eq!(server.key_hashes(&app_id).await, std::slice::from_ref(&new));
    let after = server.application().await;
    assert_eq!(after["application_id"], app_id.as_str());
    assert_eq!(after["application_managed_by"], "Customer");
    assert_eq!(after["certificate_managed_by"], "Customer");
    assert_eq!(after["certificate_sha256"], new.as_str());
    assert!(server.hashes_in_store().await.contains(&old));
    server.assert_only_new_signs_in(&app_id, &new, &old).await;
    assert!(server.sync_cycle_enabled().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_self_rotation_refused_by_entra_changes_nothing_and_an_administrator_finishes_it() {
    let server = Server::onboarded(SandboxConfig::default(), None).await;
    let (app_id, old) = server.application_and_certificate().await;

    // Someone removed the server's key from the application: its certificate is
    // still valid here, so the plan has the application add the key itself, and
    // Entra refuses the application's sign-in when it runs.
    let (object_id, _) = server.keys(&app_id).await;
    server.set_keys_as_global_admin(&object_id, vec![]).await;

    // The refusal is final once the replication budget is spent: a short one.
    let output = server
        .app_itself("rotate", &["--replication-timeout", "3"], vec![])
        .await;
    refused(&output, &["could not add its new key itself"]);
    assert!(
        stderr(&output).contains("Run again with --upn UPN"),
        "{}",
        stderr(&output)
    );
    assert!(server.key_hashes(&app_id).await.is_empty());
    assert_eq!(
        server.application().await["certificate_sha256"],
        old.as_str()
    );
    assert!(server.sync_cycle_enabled().await);
    let prepared: Vec<String> = server.hashes_in_store().await;
    assert_eq!(
        prepared.len(),
        2,
        "the old and the prepared certificate: {prepared:?}"
    );

    // An Application Administrator adds the prepared certificate: no second one.
    let rotated = json_of(&server.app("rotate", "app.admin", &[]).await);
    assert_eq!(rotated["path"], "administrator", "{rotated}");
    assert_eq!(rotated["old_key"]["result"], "already-gone", "{rotated}");
    let new = rotated["new_certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(prepared.contains(&new), "{prepared:?} {new}");
    assert_eq!(server.key_hashes(&app_id).await, std::slice::from_ref(&new));
    assert_eq!(server.hashes_in_store().await, std::slice::from_ref(&new));
    assert!(server.sync_cycle_enabled().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_needs_an_application_administrator() {
    let server = Server::onboarded(SandboxConfig::default(), None).await;
    let (app_id, other) = server.application_and_certificate().await;

    // The connector's certificate expired: a Global Administrator put the
    // expired certificate on the application, and the state points at it.
    let (expired, der) = expired_certificate(&server);
    let key = json!({
        "type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(&der),
    });
    server.add_key_as_global_admin(&app_id, key).await;
    let db = rusqlite::Connection::open(server.state.path().join("entra-connect.db")).unwrap();
    db.execute(
        "UPDATE connector_credential SET certificate_sha256 = ?1",
        [&expired],
    )
    .unwrap();
    drop(db);
    assert_eq!(server.key_hashes(&app_id).await.len(), 2);

    // Without an administrator: refused in the plan, saying who can.
    refused(
        &server.app_itself("rotate", &[], vec![]).await,
        &["Run again with --upn UPN"],
    );
    // A Hybrid Identity Administrator may not update credentials.
    let output = server.app("rotate", "hybrid.admin", &[]).await;
    refused(
        &output,
        &["Application Administrator, Cloud Application Administrator, Global Administrator"],
    );
    assert_eq!(server.key_hashes(&app_id).await.len(), 2);
    assert_eq!(
        server.application().await["certificate_sha256"],
        expired.as_str()
    );
    assert!(server.sync_cycle_enabled().await);

    // An Application Administrator: the PATCH path, the other key kept.
    let output = server.app("rotate", "app.admin", &[]).await;
    let rotated = json_of(&output);
    assert_eq!(rotated["path"], "administrator", "{rotated}");
    assert_eq!(rotated["why"]["reason"], "cannot-sign", "{rotated}");
    assert!(
        rotated["why"]["problem"]
            .as_str()
            .unwrap()
            .contains("expired"),
        "{rotated}"
    );
    assert_eq!(rotated["old_key"]["result"], "removed", "{rotated}");
    let new = rotated["new_certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let mut on_app = server.key_hashes(&app_id).await;
    on_app.sort();
    let mut expected = vec![other.clone(), new.clone()];
    expected.sort();
    assert_eq!(on_app, expected);
    assert_eq!(
        server.application().await["certificate_sha256"],
        new.as_str()
    );
    assert!(!server.hashes_in_store().await.contains(&expired));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_removal_leaves_an_error_event_and_the_command_that_finishes_it() {
    let config = SandboxConfig::default();
    let refuse = config.refuse_remove_key.clone();
    let server = Server::onboarded(config, None).await;
    let (app_id, old) = server.application_and_certificate().await;

    refuse.store(true, Ordering::SeqCst);
    let output = server.app_itself("rotate", &[], vec![]).await;
    let rotated = json_of(&output);
    assert_eq!(rotated["old_key"]["result"], "not-removed", "{rotated}");
    let key_id = rotated["old_key"]["key_id"].as_str().unwrap().to_string();
    let command = format!("entra-connect app remove-key --certificate-id {key_id}");
    assert_eq!(rotated["old_key"]["command"], command.as_str());
    assert!(stderr(&output).contains(&command), "{}", stderr(&output));
    let new = rotated["new_certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(server.key_hashes(&app_id).await.len(), 2);
    assert_eq!(
        server.application().await["certificate_sha256"],
        new.as_str()
    );
    let errors = server.events(1131).await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["level"], "Error");
    let message = errors[0]["message"].as_str().unwrap();
    assert!(
        message.contains(&key_id) && message.contains(&command),
        "{message}"
    );
    assert!(message.contains(&old), "{message}");

    // The old key stays known as this server's though its certificate is
    // deleted: the key audit does not report it as someone else's.
    let keys = json_of(&server.app_itself("keys", &[], vec![]).await);
    let origin_of = |id: &str| {
        keys.as_array()
            .unwrap()
            .iter()
            .find(|key| key["key_id"] == id)
            .map(|key| key["origin"].clone())
    };
    assert_eq!(origin_of(&key_id), Some("this-server".into()), "{keys}");
    let tick = server
        .run(
            vec!["scheduler".into(), "run".into(), "--once".into()],
            String::new(),
            vec![],
        )
        .await;
    assert!(tick.status.success(), "{}", stderr(&tick));
    assert!(server.events(1142).await.is_empty());

    // The command it names removes the key.
    refuse.store(false, Ordering::SeqCst);
    let removed = json_of(
        &server
            .app_itself("remove-key", &["--certificate-id", &key_id], vec![])
            .await,
    );
    assert_eq!(removed["key_id"], key_id.as_str());
    assert_eq!(server.key_hashes(&app_id).await, [new]);
    assert_eq!(server.events(1132).await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_killed_after_any_step_resumes_to_one_new_key() {
    let steps = [
        "disable-scheduler",
        "new-certificate",
        "add-key",
        "verify-new-certificate",
        "switch-credential",
        "remove-old-key",
        "delete-old-certificate",
    ];
    // Each kill point is a server and a tenant of its own: all at once.
    futures::future::join_all(steps.map(|step| async move {
        let server = Server::onboarded(SandboxConfig::default(), None).await;
        let before = server.application().await;
        let app_id = before["application_id"].as_str().unwrap().to_string();
        let env = vec![(
            "ENTRA_CONNECT_TEST_ABORT_AFTER".to_string(),
            step.to_string(),
        )];
        let killed = server.app_itself("rotate", &[], env).await;
        assert!(!killed.status.success(), "{step}: {}", stderr(&killed));
        assert!(stderr(&killed).contains("aborting after step"), "{step}");

        let output = server.app_itself("rotate", &[], vec![]).await;
        let rotated = json_of(&output);
        let new = rotated["new_certificate_sha256"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(
            server.key_hashes(&app_id).await,
            std::slice::from_ref(&new),
            "{step}"
        );
        assert_eq!(
            server.application().await["certificate_sha256"],
            new.as_str(),
            "{step}"
        );
        assert_eq!(
            server.hashes_in_store().await,
            std::slice::from_ref(&new),
            "{step}"
        );
        assert_eq!(server.events(1130).await.len(), 1, "{step}");
        assert!(server.sync_cycle_enabled().await, "{step}");
        assert!(
            server.local(&["scheduler", "show"]).await["interrupted_operations"]
                .as_array()
                .is_none_or(|ops| ops.is_empty()),
            "{step}"
        );
    }))
    .await;
}

/// The administrator's path killed right after its PATCH of keyCredentials:
/// the rerun finds its new key there (no second one), keeps the key that is
/// not this server's, and finishes the switch once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_by_an_administrator_killed_after_its_patch_resumes_to_one_new_key() {
    let server = Server::onboarded(SandboxConfig::default(), None).await;
    let (app_id, _) = server.application_and_certificate().await;
    let foreign = tenant::TestCert::new();
    server
        .add_key_as_global_admin(&app_id, foreign.key_credential())
        .await;
    let abort = vec![(
        "ENTRA_CONNECT_TEST_ABORT_AFTER".to_string(),
        "replace-keys".to_string(),
    )];
    let killed = server.app_with("rotate", "app.admin", &[], abort).await;
    assert!(!killed.status.success(), "{}", stderr(&killed));
    assert!(stderr(&killed).contains("aborting after step"));
    assert_eq!(
        server.key_hashes(&app_id).await.len(),
        3,
        "old, new, foreign"
    );

    let rotated = json_of(&server.app("rotate", "app.admin", &[]).await);
    assert_eq!(rotated["path"], "administrator", "{rotated}");
    let new = rotated["new_certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    let mut on_app = server.key_hashes(&app_id).await;
    on_app.sort();
    let mut expected = vec![
        hex::encode_upper(sha2::Sha256::digest(&foreign.der)),
        new.clone(),
    ];
    expected.sort();
    assert_eq!(on_app, expected);
    assert_eq!(
        server.application().await["certificate_sha256"],
        new.as_str()
    );
    assert_eq!(server.events(1130).await.len(), 1);
    assert!(server.sync_cycle_enabled().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_key_refuses_the_key_in_use_and_lists_keys_for_an_unknown_id() {
    let server = Server::onboarded(SandboxConfig::default(), None).await;
    let app_id = server.application().await["application_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, keys) = server.keys(&app_id).await;
    let in_use = keys[0]["keyId"].as_str().unwrap().to_string();

    refused(
        &server
            .app_itself("remove-key", &["--certificate-id", &in_use], vec![])
            .await,
        &["is the one the connector signs in with; nothing was changed. Rotate first"],
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    let output = server
        .app_itself("remove-key", &["--certificate-id", &unknown], vec![])
        .await;
    refused(
        &output,
        &[format!("the application has no key {unknown}").as_str()],
    );
    assert!(stderr(&output).contains(&in_use), "{}", stderr(&output));
    assert!(stderr(&output).contains("in use"), "{}", stderr(&output));

    // A second key (a rotation whose removal failed would leave one), then
    // --dry-run: the plan, no change.
    let plan = json_of(
        &server
            .app_itself(
                "remove-key",
                &["--certificate-id", &unknown, "--dry-run"],
                vec![],
            )
            .await,
    );
    assert_eq!(plan["steps"][1]["name"], "remove-key");
    assert_eq!(server.keys(&app_id).await.1.len(), 1);
    let before = server.local(&["events"]).await;
    let plan = json_of(&server.app_itself("rotate", &["--dry-run"], vec![]).await);
    assert_eq!(plan["steps"][0]["name"], "disable-scheduler");
    assert_eq!(server.local(&["events"]).await, before);
    assert_eq!(server.hashes_in_store().await.len(), 1);

    // Malformed ids are usage errors.
    let output = server
        .app_itself("remove-key", &["--certificate-id", "not-a-guid"], vec![])
        .await;
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

// One change at a time: two processes on one state, each a real
// `entra-connect`, against a sandbox slow enough (every answer delayed) that
// the second starts while the first runs.

/// A sandbox whose every answer takes 250 ms: a rotation takes seconds, so
/// a second process started with it starts while it runs even on a busy machine.
fn slow() -> SandboxConfig {
    SandboxConfig {
        latency: std::time::Duration::from_millis(250),
        ..SandboxConfig::default()
    }
}

/// Of two changes started together, one made its change and the other
/// waited for it (saying so, naming it), then was refused: the state it had
/// planned from was gone. Returns the one that made the change.
fn one_changed_the_other_waited<'a>(a: &'a Output, b: &'a Output, first: &str) -> &'a Output {
    let (done, refused) = match (a.status.success(), b.status.success()) {
        (true, false) => (a, b),
        (false, true) => (b, a),
        _ => panic!(
            "expected one change and one refusal:\n{}\n---\n{}",
            stderr(a),
            stderr(b)
        ),
    };
    let err = stderr(refused);
    assert_eq!(refused.status.code(), Some(1), "{err}");
    assert!(
        err.contains("\"event\":\"waiting_for_change\"")
            && err.contains(&format!("\"change\":\"{first}\"")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "while this change waited, another one ({first} started "
        )),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    done
}

impl Server {
    /// Waits (bounded) until a change running in another process has turned
    /// sync cycles off: it holds the state lock then.
    async fn until_a_change_runs(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while self.sync_cycle_enabled().await {
            assert!(
                std::time::Instant::now() < deadline,
                "no change started within 20 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_rotations_at_once_make_one_change() {
    let server = Server::onboarded(slow(), None).await;
    let (app_id, _) = server.application_and_certificate().await;
    let (a, b) = tokio::join!(
        server.app_itself("rotate", &[], vec![]),
        server.app_itself("rotate", &[], vec![])
    );
    let done = one_changed_the_other_waited(&a, &b, "rotate");
    let new = json_of(done)["new_certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(server.key_hashes(&app_id).await, std::slice::from_ref(&new));
    assert_eq!(server.hashes_in_store().await, std::slice::from_ref(&new));
    assert_eq!(
        server.application().await["certificate_sha256"],
        new.as_str()
    );
    assert_eq!(server.events(1130).await.len(), 1);
    assert!(server.events(1131).await.is_empty());
    assert!(server.sync_cycle_enabled().await);
}

/// The scheduler's tick wants to rotate a due Managed certificate while the
/// administrator rotates it: one of them does, the tick never waits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_while_the_scheduler_ticks_makes_one_change() {
    let server = Server::onboarded(slow(), None).await;
    // Valid 100 days: due, as the rotation warning comes at 150.
    json_of(
        &server
            .app_itself("rotate", &["--days", "100"], vec![])
            .await,
    );
    let (app_id, _) = server.application_and_certificate().await;
    let tick_args = ["--json", "scheduler", "run", "--once"].map(String::from);
    let (tick, rotation) = tokio::join!(
        server.run(tick_args.to_vec(), String::new(), vec![]),
        server.app_itself("rotate", &[], vec![])
    );
    assert!(tick.status.success(), "{}", stderr(&tick));
    let skipped = server.events(1145).await;
    if rotation.status.success() {
        // The administrator's rotation held the lock: the tick skipped its run.
        assert_eq!(skipped.len(), 1, "{}", stderr(&tick));
        assert!(
            skipped[0]["message"]
                .as_str()
                .unwrap()
                .contains("another change is running on this server (rotate started "),
            "{skipped:?}"
        );
    } else {
        // The tick rotated first; the administrator's rotation waited for it.
        assert!(skipped.is_empty(), "{skipped:?}");
        let err = stderr(&rotation);
        assert!(
            err.contains("\"change\":\"scheduler tick\"")
                && err.contains("another one (scheduler tick started "),
            "{err}"
        );
    }
    let (_, current) = server.application_and_certificate().await;
    assert_eq!(
        server.key_hashes(&app_id).await,
        std::slice::from_ref(&current)
    );
    assert_eq!(
        server.hashes_in_store().await,
        std::slice::from_ref(&current)
    );
    assert_eq!(
        server.events(1130).await.len(),
        2,
        "the 100-day one and one more"
    );
    assert!(server.sync_cycle_enabled().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_links_at_once_make_one_change() {
    let server = Server::with(slow()).await;
    json_of(&server.app("register", "hybrid.admin", &[]).await);
    let (a, b) = tokio::join!(
        server.app("link", "hybrid.admin", &[]),
        server.app("link", "hybrid.admin", &[])
    );
    one_changed_the_other_waited(&a, &b, "link");
    assert_eq!(server.events(1120).await.len(), 1);
    assert!(server.application().await["application_id"].is_string());
    assert!(server.sync_cycle_enabled().await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_registrations_at_once_make_one_application() {
    let server = Server::with(slow()).await;
    let (a, b) = tokio::join!(
        server.app("register", "hybrid.admin", &[]),
        server.app("register", "hybrid.admin", &[])
    );
    let done = one_changed_the_other_waited(&a, &b, "register");
    let registered = json_of(done);
    let apps = server.provisioning_apps().await;
    assert_eq!(apps.len(), 1, "{apps:?}");
    assert_eq!(apps[0]["appId"], registered["app_id"], "{registered}");
    assert_eq!(server.hashes_in_store().await.len(), 1);
    assert!(server.sync_cycle_enabled().await);
}

/// `scheduler set` while a rotation has sync cycles off waits for it, then
/// applies: the setting ends as the administrator last set it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduler_set_during_a_rotation_waits_and_its_setting_stands() {
    let server = Server::onboarded(slow(), None).await;
    let rotation = server.app_itself("rotate", &[], vec![]);
    let set = async {
        server.until_a_change_runs().await;
        let args = ["scheduler", "set", "--sync-cycle-enabled", "false"].map(String::from);
        server.run(args.to_vec(), String::new(), vec![]).await
    };
    let (rotation, set) = tokio::join!(rotation, set);
    json_of(&rotation);
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(
        stderr(&set).contains("waiting for the change already running: rotate started "),
        "{}",
        stderr(&set)
    );
    assert!(!server.sync_cycle_enabled().await);
    let changes = server.events(1200).await;
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(
        changes[0]["message"]
            .as_str()
            .unwrap()
            .contains("SyncCycleEnabled true -> false"),
        "{changes:?}"
    );
}

/// A process killed with the lock held blocks nothing: the kernel released
/// its lock. The next change does not wait, and the rotation resumes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_holder_killed_blocks_nothing() {
    let server = Server::onboarded(slow(), None).await;
    let mut holder = server.spawn(&["app", "rotate"]);
    server.until_a_change_runs().await;
    holder.kill().unwrap();
    holder.wait().unwrap();
    let args = ["scheduler", "set", "--interval-minutes", "45"].map(String::from);
    let set = server.run(args.to_vec(), String::new(), vec![]).await;
    assert!(set.status.success(), "{}", stderr(&set));
    assert!(!stderr(&set).contains("waiting"), "{}", stderr(&set));
    // The killed rotation left sync cycles off; its rerun resumes and puts them back.
    json_of(&server.app_itself("rotate", &[], vec![]).await);
    assert!(server.sync_cycle_enabled().await);
    assert_eq!(server.events(1130).await.len(), 1);
}

/// `app remove-key` killed after the key was looked up or removed: the rerun
/// completes the removal (it knows which key it asked for) and writes its
/// event once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remove_key_killed_after_any_step_resumes() {
    // Each kill point is a server and a tenant of its own: both at once.
    futures::future::join_all(["find-key", "remove-key"].map(|step| async move {
        let server = Server::onboarded(SandboxConfig::default(), None).await;
        let (app_id, current) = server.application_and_certificate().await;
        let foreign = tenant::TestCert::new();
        server
            .add_key_as_global_admin(&app_id, foreign.key_credential())
            .await;
        let (_, keys) = server.keys(&app_id).await;
        let foreign_id = keys
            .iter()
            .find(|k| {
                k["key"].as_str().map(|key| STANDARD.decode(key).unwrap())
                    == Some(foreign.der.clone())
            })
            .map(|k| k["keyId"].as_str().unwrap().to_string())
            .expect("the foreign key");
        let abort = vec![(
            "ENTRA_CONNECT_TEST_ABORT_AFTER".to_string(),
            step.to_string(),
        )];
        let remove = ["--certificate-id", foreign_id.as_str()];
        let killed = server.app_itself("remove-key", &remove, abort).await;
        assert!(stderr(&killed).contains("aborting after step"), "{step}");

        let rerun = server.app_itself("remove-key", &remove, vec![]).await;
        assert!(rerun.status.success(), "{step}: {}", stderr(&rerun));
        assert_eq!(json_of(&rerun)["key_id"], foreign_id.as_str(), "{step}");
        assert_eq!(
            server.key_hashes(&app_id).await,
            std::slice::from_ref(&current),
            "{step}"
        );
        assert_eq!(server.events(1132).await.len(), 1, "{step}");
    }))
    .await;
}
