//! `app register`, `app link` and `credential test` as processes against the
//! in-process sandbox tenant over loopback: Managed, BYOC and BYOA end to end,
//! what exists in the tenant afterwards, and every refusal before a change.

use crate::harness::process;
use crate::harness::process::{json_of, stderr};
use crate::harness::server::{Server, refused};
use crate::harness::tenant;
use crate::harness::tenant::{GRAPH_CLI, SYNC_ROLE_ID, admin_token, graph};
use entra_connect::sandbox::SandboxConfig;
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_register_then_link() {
    let server = Server::new().await;
    let registered = json_of(&server.app("register", "hybrid.admin", &[]).await);
    let app_id = registered["app_id"].as_str().unwrap().to_string();
    let hash = registered["certificate_sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(registered["credential_type"], "None");
    assert_eq!(
        server.local(&["credential", "show"]).await["connector_identity_type"],
        "None"
    );

    let linked = json_of(&server.app("link", "hybrid.admin", &[]).await);
    assert_eq!(linked["credential_type"], "Application");
    assert_eq!(linked["app_id"], app_id.as_str());
    assert_eq!(
        linked["service_principal_id"],
        registered["service_principal_id"]
    );
    server
        .assert_application_credential(&app_id, &hash, "EntraConnect")
        .await;
    server.assert_one_application(&app_id, &hash).await;
    assert_eq!(
        server.local(&["scheduler", "show"]).await["sync_cycle_enabled"],
        true
    );

    // The credential signs in, and says so without printing the token.
    let tested = server
        .run(
            vec!["--json".into(), "credential".into(), "test".into()],
            String::new(),
            vec![],
        )
        .await;
    let tested = json_of(&tested);
    assert_eq!(tested["client_id"], app_id.as_str());
    assert_eq!(tested["roles"], json!(["ADSynchronization.ReadWrite.All"]));
    assert!(tested["expires_in_seconds"].as_u64().unwrap() > 600);

    // Already Application: register and link refuse before any change.
    refused(
        &server.app("register", "hybrid.admin", &[]).await,
        &["the connector already signs in as application"],
    );
    assert_eq!(server.provisioning_apps().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byoc_register_then_link() {
    let server = Server::new().await;
    let hash = server.new_certificate().await;
    let registered = json_of(
        &server
            .app(
                "register",
                "global.admin",
                &["--certificate-sha256", &hash.to_lowercase()],
            )
            .await,
    );
    assert_eq!(registered["certificate_sha256"], hash.as_str());
    let app_id = registered["app_id"].as_str().unwrap().to_string();
    json_of(&server.app("link", "global.admin", &[]).await);
    server
        .assert_application_credential(&app_id, &hash, "Customer")
        .await;
    server.assert_one_application(&app_id, &hash).await;
    // Warning 1014 once for `cert new` and once for `app link`, which signed with the key.
    let warnings = server.local(&["events", "--id", "1014"]).await;
    assert_eq!(warnings.as_array().unwrap().len(), 2, "{warnings}");
    // The store holds just the administrator's certificate: nothing new was made.
    assert_eq!(
        server
            .local(&["cert", "list"])
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

/// An application made by the administrator, as BYOA expects it.
async fn administrator_application(server: &Server, hash: &str, grant: bool) -> String {
    let token = admin_token(&server.sb).await;
    let pem = server
        .run(
            vec!["cert".into(), "show".into(), hash.into(), "--pem".into()],
            String::new(),
            vec![],
        )
        .await;
    let der = pem::parse(&pem.stdout).unwrap().into_contents();
    use base64::Engine;
    let key = base64::engine::general_purpose::STANDARD.encode(der);
    let (status, app) = graph(
        &server.sb,
        &token,
        Method::POST,
        "/applications",
        Some(json!({
            "displayName": "Contoso sync app",
            "signInAudience": "AzureADMyOrg",
            "keyCredentials": [{ "type": "AsymmetricX509Cert", "usage": "Verify", "key": key }],
        })),
    )
    .await;
    assert!(status.is_success(), "{app}");
    let app_id = app["appId"].as_str().unwrap().to_string();
    let (status, sp) = graph(
        &server.sb,
        &token,
        Method::POST,
        "/servicePrincipals",
        Some(json!({ "appId": app_id })),
    )
    .await;
    assert!(status.is_success(), "{sp}");
    if grant {
        let sync = server.sync_service_principal_id().await;
        let path = format!(
            "/servicePrincipals/{}/appRoleAssignments",
            sp["id"].as_str().unwrap()
        );
        let body =
            json!({ "principalId": sp["id"], "resourceId": sync, "appRoleId": SYNC_ROLE_ID });
        let (status, body) = graph(&server.sb, &token, Method::POST, &path, Some(body)).await;
        assert!(status.is_success(), "{body}");
    }
    app_id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byoa_link() {
    let server = Server::new().await;
    let hash = server.new_certificate().await;
    let app_id = administrator_application(&server, &hash, true).await;
    // Checking an existing application only reads, which Graph lets every
    // member do: a user without a role links it.
    let linked = json_of(
        &server
            .app(
                "link",
                "plain.user",
                &[
                    "--application-app-id",
                    &app_id,
                    "--certificate-sha256",
                    &hash,
                ],
            )
            .await,
    );
    assert_eq!(linked["app_id"], app_id.as_str());
    server
        .assert_application_credential(&app_id, &hash, "Customer")
        .await;
    let credential = server.local(&["credential", "show"]).await;
    assert_eq!(
        credential["application"]["application_managed_by"],
        "Customer"
    );
    // BYOA registers nothing of its own.
    assert!(server.provisioning_apps().await.is_empty());
    assert_eq!(
        server.local(&["scheduler", "show"]).await["sync_cycle_enabled"],
        true
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn byoa_refusals_name_each_missing_piece() {
    let server = Server::new().await;
    let hash = server.new_certificate().await;
    let other = server.new_certificate().await;

    let unknown = "0f0f0f0f-1111-2222-3333-444444444444";
    let output = server
        .app(
            "link",
            "hybrid.admin",
            &[
                "--application-app-id",
                unknown,
                "--certificate-sha256",
                &hash,
            ],
        )
        .await;
    refused(
        &output,
        &[format!("no application with application id {unknown} in this tenant").as_str()],
    );

    let ungranted = administrator_application(&server, &hash, false).await;
    let output = server
        .app(
            "link",
            "hybrid.admin",
            &[
                "--application-app-id",
                &ungranted,
                "--certificate-sha256",
                &other,
            ],
        )
        .await;
    // Named as the portal lists it too (Certificates & secrets shows the SHA-1 thumbprint).
    let listed = server.local(&["cert", "list"]).await;
    let thumbprint = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|certificate| certificate["sha256"] == other.as_str())
        .and_then(|certificate| certificate["thumbprint"].as_str())
        .unwrap_or_else(|| panic!("{other} not in {listed}"))
        .to_string();
    refused(
        &output,
        &[format!("the certificate {other} (thumbprint {thumbprint}) is not among the application's certificates").as_str()],
    );
    refused(&output, &["is not granted ADSynchronization.ReadWrite.All"]);
    assert_eq!(
        server.local(&["credential", "show"]).await["connector_identity_type"],
        "None"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_before_any_change() {
    let server = Server::new().await;
    // No role.
    refused(
        &server.app("register", "plain.user", &[]).await,
        &[
            "holds none of the roles this change needs (Hybrid Identity Administrator, Global Administrator, Application Administrator, Cloud Application Administrator); nothing was changed",
        ],
    );
    // BYOC hash unknown, then a certificate that cannot be used.
    let unknown = "AB".repeat(32);
    refused(
        &server
            .app(
                "register",
                "hybrid.admin",
                &["--certificate-sha256", &unknown],
            )
            .await,
        &[format!("no certificate with SHA-256 hash {unknown} in the key store").as_str()],
    );
    // MFA account with the password grant.
    refused(
        &server.app("register", "mfa.admin", &[]).await,
        &["Sign in with --sign-in device-code"],
    );
    // Nothing was created, not even a certificate.
    assert!(server.provisioning_apps().await.is_empty());
    assert_eq!(server.local(&["cert", "list"]).await, json!([]));

    // Unknown tenant.
    let user = server.sb.user("hybrid.admin").unwrap().clone();
    let args: Vec<String> = [
        "app",
        "register",
        "--upn",
        &user.upn,
        "--sign-in",
        "password",
        "--password-stdin",
        "--tenant",
        "nonexistent.onmicrosoft.com",
        "--authority-host",
        &server.sb.authority_host,
        "--graph-url",
        &server.sb.graph_url,
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let output = server
        .run(args, format!("{}\n", user.password), vec![])
        .await;
    refused(&output, &["AADSTS90002"]);
    refused(&output, &["Check --tenant"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_certificate_is_refused_for_byoc() {
    let server = Server::new().await;
    // A certificate that expired while it sat in the key store: written in the
    // store's own layout, since `cert import` refuses expired certificates.
    server.local(&["cert", "list"]).await;
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

    refused(
        &server
            .app("register", "hybrid.admin", &["--certificate-sha256", &hash])
            .await,
        &[
            format!("the certificate {hash} cannot be used: it expired on 2026-01-01T00:00:00Z")
                .as_str(),
        ],
    );
    assert!(server.provisioning_apps().await.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_survives_replication_lag_and_faults_and_says_so() {
    let config = SandboxConfig {
        replication_lag: Duration::from_millis(2000),
        fault_rate: 0.1,
        fault_seed: 7,
        ..SandboxConfig::default()
    };
    let server = Server::with(config).await;
    let output = server.app("register", "hybrid.admin", &[]).await;
    let registered = json_of(&output);
    let mut log = stderr(&output);
    let output = server.app("link", "hybrid.admin", &[]).await;
    json_of(&output);
    log.push_str(&stderr(&output));
    // Each kind of retry is reported, with its delay, as progress of the step it delays.
    assert!(
        process::reported(&log, None, "retrying", "not-visible-yet"),
        "{log}"
    );
    assert!(
        process::reported(&log, None, "retrying", "throttled"),
        "{log}"
    );
    // Each retry says how much of its allowance is spent: a replication
    // wait in time, a throttled request in attempts.
    for event in log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|event| event["status"] == "retrying")
    {
        let budget = &event["budget"];
        match event["why"]["reason"].as_str() {
            Some("not-visible-yet") => assert!(
                budget["limit"] == "time"
                    && budget["waited_ms"].as_u64() <= budget["budget_ms"].as_u64()
                    && budget["budget_ms"].as_u64() > Some(0),
                "{event}"
            ),
            Some("throttled") => assert!(
                budget["limit"] == "attempts"
                    && budget["next"].as_u64() <= budget["of"].as_u64()
                    && budget["next"].as_u64() >= Some(2),
                "{event}"
            ),
            _ => assert!(budget.is_object(), "{event}"),
        }
    }
    server
        .assert_application_credential(
            registered["app_id"].as_str().unwrap(),
            registered["certificate_sha256"].as_str().unwrap(),
            "EntraConnect",
        )
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn register_resumes_after_a_crash_at_every_step() {
    let server = Server::new().await;
    for step in [
        "certificate",
        "application",
        "service-principal",
        "app-roles",
    ] {
        let output = server
            .app_with(
                "register",
                "hybrid.admin",
                &[],
                vec![("ENTRA_CONNECT_TEST_ABORT_AFTER".into(), step.into())],
            )
            .await;
        assert!(
            !output.status.success(),
            "{step}: the process should have aborted"
        );
        assert!(
            stderr(&output).contains(&format!("aborting after step {step}")),
            "{}",
            stderr(&output)
        );
    }
    let output = server.app("register", "hybrid.admin", &[]).await;
    let log = stderr(&output);
    let registered = json_of(&output);
    assert!(process::reported(&log, None, "already_done", ""), "{log}");
    json_of(&server.app("link", "hybrid.admin", &[]).await);
    let hash = registered["certificate_sha256"].as_str().unwrap();
    server
        .assert_one_application(registered["app_id"].as_str().unwrap(), hash)
        .await;
    // One certificate: the resumed runs reused the first one.
    assert_eq!(
        server
            .local(&["cert", "list"])
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_sign_in_shows_the_code_and_checks_the_account() {
    let config = SandboxConfig {
        auto_approve: Some("global.admin@contoso-sandbox.onmicrosoft.com".into()),
        auto_approve_delay: Duration::from_millis(200),
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    };
    let server = Server::with(config).await;
    let admin = server.sb.user("hybrid.admin").unwrap().upn.clone();
    let mut args: Vec<String> = vec![
        "app".into(),
        "register".into(),
        "--upn".into(),
        admin.clone(),
    ];
    args.extend(server.connection());
    let output = server.run(args, String::new(), vec![]).await;
    refused(
        &output,
        &[format!(
            "the account signed in is global.admin@contoso-sandbox.onmicrosoft.com, not {admin}"
        )
        .as_str()],
    );
    assert!(
        stderr(&output).contains("enter the code"),
        "{}",
        stderr(&output)
    );
    assert!(server.provisioning_apps().await.is_empty());

    let global = server.sb.user("global.admin").unwrap().upn.clone();
    let mut args: Vec<String> = vec![
        "--json".into(),
        "app".into(),
        "register".into(),
        "--upn".into(),
        global,
    ];
    args.extend(server.connection());
    json_of(&server.run(args, String::new(), vec![]).await);
    assert_eq!(server.provisioning_apps().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_code_expired_and_declined_are_reported() {
    let register = |server: &Server| {
        let admin = server.sb.user("hybrid.admin").unwrap().upn.clone();
        let mut args: Vec<String> = vec!["app".into(), "register".into(), "--upn".into(), admin];
        args.extend(server.connection());
        args
    };
    // Expired: a code that lives 3 s, never approved.
    let server = Server::with(SandboxConfig {
        device_code_lifetime: Duration::from_secs(3),
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    refused(
        &server.run(register(&server), String::new(), vec![]).await,
        &["the sign-in code expired before it was used"],
    );

    // Declined: read the code from stderr as an administrator would, decline
    // it (the code lives as long as a real one, however slow the machine).
    let server = Server::with(SandboxConfig {
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let args = register(&server);
    let admin = server.sb.user("hybrid.admin").unwrap().upn.clone();
    let state = server.state.path().to_path_buf();
    let mut child = process::binary()
        .env("ENTRA_CONNECT_STATE_DIR", &state)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr_pipe = child.stderr.take().unwrap();
    let (code, rest) = tokio::task::spawn_blocking(move || {
        use std::io::BufRead;
        let mut lines = std::io::BufReader::new(stderr_pipe).lines();
        let code = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                line.split("enter the code ")
                    .nth(1)
                    .map(|rest| rest.split(' ').next().unwrap_or("").to_string())
            })
            .expect("the code is shown");
        (code, lines)
    })
    .await
    .unwrap();
    let response = tenant::http()
        .post(format!(
            "{}/sandbox/device/approve",
            server.sb.authority_host
        ))
        .json(&json!({ "user_code": code, "upn": admin, "decline": true }))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let tail = tokio::task::spawn_blocking(move || {
        rest.map_while(Result::ok).collect::<Vec<_>>().join("\n")
    })
    .await
    .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(1));
    assert!(tail.contains("the sign-in was declined"), "{tail}");
    let _ = GRAPH_CLI;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_token_key_or_password_in_outputs_events_or_journal() {
    let server = Server::new().await;
    let admin = server.sb.user("hybrid.admin").unwrap().clone();
    let mut transcript = String::new();
    for command in ["register", "link"] {
        let mut args: Vec<String> = vec![
            "-vv".into(),
            "app".into(),
            command.into(),
            "--upn".into(),
            admin.upn.clone(),
        ];
        args.extend([
            "--sign-in".into(),
            "password".into(),
            "--password-stdin".into(),
        ]);
        args.extend(server.connection());
        let output = server
            .run(args, format!("{}\n", admin.password), vec![])
            .await;
        assert!(output.status.success(), "{}", stderr(&output));
        transcript.push_str(&String::from_utf8_lossy(&output.stdout));
        transcript.push_str(&stderr(&output));
    }
    let output = server
        .run(
            vec!["-vv".into(), "credential".into(), "test".into()],
            String::new(),
            vec![],
        )
        .await;
    assert!(output.status.success(), "{}", stderr(&output));
    transcript.push_str(&String::from_utf8_lossy(&output.stdout));
    transcript.push_str(&stderr(&output));

    let db = rusqlite::Connection::open(server.state.path().join("entra-connect.db")).unwrap();
    let mut rows = Vec::new();
    for sql in [
        "SELECT message FROM events",
        "SELECT detail FROM operation_steps",
        "SELECT value FROM settings",
    ] {
        let mut statement = db.prepare(sql).unwrap();
        rows.extend(
            statement
                .query_map([], |r| r.get::<_, String>(0))
                .unwrap()
                .map(Result::unwrap),
        );
    }
    let everything = format!("{transcript}\n{}", rows.join("\n"));
    assert!(
        everything.contains("Sign in as the application"),
        "progress was captured: {everything}"
    );
    assert!(
        !everything.contains(&admin.password),
        "the administrator's password leaked"
    );
    assert!(
        !everything.contains("eyJ"),
        "a JWT (token or assertion) leaked"
    );
    assert!(!everything.contains("PRIVATE KEY"), "a private key leaked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managed_onboarding_over_https_with_the_sandbox_ca() {
    let server = Server::with(SandboxConfig {
        tls: true,
        ..SandboxConfig::default()
    })
    .await;
    assert!(server.sb.authority_host.starts_with("https://127.0.0.1:"));
    let ca = server.sb.ca_cert.clone().expect("a CA file with --tls");
    let ca = ca.to_str().unwrap().to_string();

    // Without the CA the server's certificate is not trusted, and nothing changes.
    let output = server.app("register", "hybrid.admin", &[]).await;
    refused(&output, &["cannot reach https://127.0.0.1:"]);

    let registered = json_of(
        &server
            .app("register", "hybrid.admin", &["--ca-cert", &ca])
            .await,
    );
    // The CA is remembered with the rest of the connection.
    let linked = json_of(&server.app("link", "hybrid.admin", &[]).await);
    assert_eq!(linked["app_id"], registered["app_id"]);
    let app_id = registered["app_id"].as_str().unwrap();
    let hash = registered["certificate_sha256"].as_str().unwrap();
    server
        .assert_application_credential(app_id, hash, "EntraConnect")
        .await;
    let tested = json_of(
        &server
            .run(
                vec!["--json".into(), "credential".into(), "test".into()],
                String::new(),
                vec![],
            )
            .await,
    );
    assert_eq!(tested["client_id"], app_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_register_is_resumed_by_the_next_run_not_repeated() {
    let server = Server::with(SandboxConfig {
        replication_lag: Duration::from_millis(1500),
        ..SandboxConfig::default()
    })
    .await;
    // No patience for replication: the new application is not visible yet
    // when its service principal is created, so the run fails there.
    let output = server
        .app("register", "hybrid.admin", &["--replication-timeout", "0"])
        .await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        process::reported(
            &stderr(&output),
            Some("Create the application's service principal"),
            "failed",
            ""
        ),
        "{}",
        stderr(&output)
    );
    tokio::time::sleep(Duration::from_millis(1600)).await;

    let output = server.app("register", "hybrid.admin", &[]).await;
    let log = stderr(&output);
    let registered = json_of(&output);
    assert!(
        process::reported(&log, Some("Prepare the certificate"), "already_done", ""),
        "{log}"
    );
    assert!(
        process::reported(
            &log,
            Some("Register this server's application"),
            "already_done",
            ""
        ),
        "{log}"
    );
    json_of(&server.app("link", "hybrid.admin", &[]).await);
    let hash = registered["certificate_sha256"].as_str().unwrap();
    server
        .assert_one_application(registered["app_id"].as_str().unwrap(), hash)
        .await;
    assert_eq!(
        server
            .local(&["cert", "list"])
            .await
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_other_inputs_starts_afresh() {
    let server = Server::new().await;
    let byoc = server.new_certificate().await;
    // A BYOC run that stops after its certificate step...
    let fault = vec![(
        "ENTRA_CONNECT_TEST_FAIL_AFTER".to_string(),
        "certificate".to_string(),
    )];
    let output = server
        .app_with(
            "register",
            "hybrid.admin",
            &["--certificate-sha256", &byoc],
            fault,
        )
        .await;
    refused(&output, &["test fault after step certificate"]);
    // ...is not picked up by a Managed run, which is another request.
    let registered = json_of(&server.app("register", "hybrid.admin", &[]).await);
    assert_ne!(registered["certificate_sha256"], byoc.as_str());
    let db = rusqlite::Connection::open(server.state.path().join("entra-connect.db")).unwrap();
    let statuses: Vec<String> = db
        .prepare("SELECT status FROM operations WHERE kind = 'register' ORDER BY rowid")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(statuses, ["Abandoned", "Succeeded"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn other_applications_for_this_host_are_reported_and_left_alone() {
    let server = Server::new().await;
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim().split('.').next().unwrap().to_ascii_uppercase();
    let other_name = format!("ConnectSyncProvisioning_{host}_aaaaaaaaaaaa");
    let token = admin_token(&server.sb).await;
    let (status, other) = graph(
        &server.sb,
        &token,
        Method::POST,
        "/applications",
        Some(json!({ "displayName": other_name, "signInAudience": "AzureADMyOrg" })),
    )
    .await;
    assert!(status.is_success(), "{other}");

    let output = server.app("register", "hybrid.admin", &[]).await;
    let registered = json_of(&output);
    let duplicates = registered["duplicates"]
        .as_array()
        .expect("duplicates listed");
    assert_eq!(duplicates.len(), 1, "{registered}");
    assert!(
        duplicates[0].as_str().unwrap().starts_with(&other_name),
        "{registered}"
    );
    assert!(
        stderr(&output).contains("other applications for this host were left alone"),
        "{}",
        stderr(&output)
    );
    // Both exist, the other one untouched (no key was added to it).
    let apps = server.provisioning_apps().await;
    assert_eq!(apps.len(), 2);
    let untouched = apps
        .iter()
        .find(|a| a["displayName"] == other_name.as_str())
        .unwrap();
    assert_eq!(untouched["keyCredentials"], json!([]));
}
