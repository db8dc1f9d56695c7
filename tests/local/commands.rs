//! Every local command as a process against a temporary state directory, in
//! human and JSON form, with its exit code.

use crate::harness::openssl;
use crate::harness::process::{entra, field, run_fails, run_json, run_ok};
use tempfile::TempDir;

fn state() -> TempDir {
    tempfile::tempdir().expect("temporary state dir")
}

#[test]
fn credential_show_reports_none_on_a_new_server() {
    let dir = state();
    let human = run_ok(dir.path(), &["credential", "show"]);
    assert_eq!(
        human.trim(),
        format!(
            "ConnectorIdentityType : None\nStateDirectory        : {}",
            dir.path().display()
        )
    );
    let json = run_json(dir.path(), &["credential", "show"]);
    assert_eq!(json["connector_identity_type"], "None");
    assert_eq!(json["state_dir"], dir.path().to_str().unwrap());
    assert!(json["application"].is_null());
}

#[test]
fn credential_show_reports_an_application_credential() {
    let dir = state();
    run_ok(dir.path(), &["credential", "show"]); // creates the database
    let hash = "AB".repeat(32);
    let db = rusqlite::Connection::open(dir.path().join("entra-connect.db")).unwrap();
    db.execute(
        "UPDATE connector_credential SET identity_type = 'Application', tenant_id = 't-1',
            application_id = 'a-1', service_principal_id = 's-1', certificate_sha256 = ?1,
            key_store = 'Software', application_managed_by = 'EntraConnect',
            certificate_managed_by = 'Customer', configured_at = '2026-11-01T10:00:00Z'",
        [&hash],
    )
    .unwrap();
    drop(db);
    let json = run_json(dir.path(), &["credential", "show"]);
    assert_eq!(json["connector_identity_type"], "Application");
    assert_eq!(json["application"]["application_id"], "a-1");
    assert_eq!(json["application"]["certificate_sha256"], hash.as_str());
    assert_eq!(json["application"]["certificate_managed_by"], "Customer");
    let human = run_ok(dir.path(), &["credential", "show"]);
    assert!(
        human.contains("ConnectorIdentityType : Application"),
        "{human}"
    );
    assert!(
        human.contains(&format!("CertificateSHA256Hash : {hash}")),
        "{human}"
    );
    assert!(
        human.contains("ConfiguredAt          : 2026-11-01T10:00:00Z"),
        "{human}"
    );

    // The export says the certificate is missing rather than failing.
    let export = run_json(dir.path(), &["config", "export", "--offline"]);
    assert_eq!(export["certificate"]["sha256_hash"], hash.as_str());
    assert!(export["certificate"]["details"].is_null());
    // A customer's certificate is not rotated automatically.
    assert_eq!(export["certificate"]["automatic_rotation_enabled"], false);
    let human = run_ok(dir.path(), &["config", "export", "--offline"]);
    assert!(human.contains("MISSING from the key store"), "{human}");
}

/// The account the connector signs in with has one name in every human
/// output: `ServiceAccount`, beside `RollbackServiceAccount` for the way back.
#[test]
fn the_service_account_has_one_name_in_every_human_output() {
    let dir = state();
    run_ok(dir.path(), &["credential", "show"]); // creates the database
    let upn = "Sync_CONNECT01_1a2b3c@contoso.onmicrosoft.com";
    let db = rusqlite::Connection::open(dir.path().join("entra-connect.db")).unwrap();
    db.execute(
        "UPDATE connector_credential SET identity_type = 'ServiceAccount',
            service_account_upn = ?1, configured_at = '2026-11-01T10:00:00Z'",
        [upn],
    )
    .unwrap();
    drop(db);
    for args in [
        &["credential", "show"][..],
        &["config", "export", "--offline"],
    ] {
        let human = run_ok(dir.path(), args);
        assert_eq!(
            field(&human, "ServiceAccount"),
            Some(upn),
            "{args:?}: {human}"
        );
        assert!(!human.contains("UserPrincipalName"), "{args:?}: {human}");
    }
}

/// `app -h` says what the group holds: each of its commands, not two of five.
#[test]
fn the_app_groups_help_names_everything_it_holds() {
    let dir = state();
    let help = run_ok(dir.path(), &["app", "-h"]);
    let about = help.lines().next().unwrap_or_default();
    for command in ["register", "link", "rotate", "keys", "remove"] {
        assert!(about.contains(command), "{command} not in {about:?}");
    }
    let overview = run_ok(dir.path(), &["--help"]);
    let line = overview
        .lines()
        .find(|line| line.trim_start().starts_with("app "))
        .unwrap_or_default();
    assert!(line.contains(about.trim_end_matches('.')), "{overview}");
}

/// A dry run changes nothing, and says the steps would run; the plan's
/// steps are the Ready page's.
#[test]
fn a_dry_run_says_the_steps_would_run() {
    let dir = state();
    let printed = run_ok(dir.path(), &["cert", "new", "--dry-run"]);
    assert_eq!(
        printed.lines().next(),
        Some("Dry run: nothing was changed. These steps would run, in this order:"),
        "{printed}"
    );
    assert!(printed.contains(" 1. "), "{printed}");
    assert_eq!(
        run_json(dir.path(), &["cert", "list"]),
        serde_json::json!([])
    );
}

#[test]
fn scheduler_show_has_the_defaults() {
    let dir = state();
    let json = run_json(dir.path(), &["scheduler", "show"]);
    assert_eq!(json["sync_cycle_enabled"], true);
    assert_eq!(json["maintenance_enabled"], true);
    assert_eq!(json["scheduler_suspended"], false);
    assert_eq!(json["interval_minutes"], 30);
    assert!(json["next_run_at"].is_null());
    let human = run_ok(dir.path(), &["scheduler", "show"]);
    assert_eq!(
        human,
        "SyncCycleEnabled            : True\n\
         MaintenanceEnabled          : True\n\
         SchedulerSuspended          : False\n\
         SyncCycleIntervalMinutes    : 30\n\
         NextSyncCycleStartTimeInUTC : -\n"
    );
}

#[test]
fn scheduler_set_changes_only_what_is_given_and_records_an_event() {
    let dir = state();
    let json = run_json(
        dir.path(),
        &[
            "scheduler",
            "set",
            "--sync-cycle-enabled",
            "false",
            "--interval-minutes",
            "45",
        ],
    );
    assert_eq!(json["sync_cycle_enabled"], false);
    assert_eq!(json["interval_minutes"], 45);
    assert_eq!(json["maintenance_enabled"], true);

    let human = run_ok(dir.path(), &["scheduler", "set", "--suspended", "true"]);
    assert!(
        human.contains("SchedulerSuspended          : True"),
        "{human}"
    );
    assert!(
        human.contains("SyncCycleEnabled            : False"),
        "{human}"
    );

    // Persisted across processes.
    let shown = run_json(dir.path(), &["scheduler", "show"]);
    assert_eq!(shown["scheduler_suspended"], true);
    assert_eq!(shown["interval_minutes"], 45);

    let events = run_json(dir.path(), &["events", "--id", "1200"]);
    let messages: Vec<&str> = events
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].as_str().unwrap())
        .collect();
    assert_eq!(
        messages,
        [
            "Scheduler settings changed: SyncCycleEnabled true -> false, SyncCycleIntervalMinutes 30 -> 45.",
            "Scheduler settings changed: SchedulerSuspended false -> true."
        ]
    );

    // Setting a value it already has changes nothing and records nothing.
    run_ok(dir.path(), &["scheduler", "set", "--suspended", "true"]);
    assert_eq!(
        run_json(dir.path(), &["events", "--id", "1200"])
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn scheduler_set_usage_errors_exit_2() {
    let dir = state();
    let err = run_fails(dir.path(), &["scheduler", "set"], 2);
    assert!(
        err.contains("the following required arguments were not provided"),
        "{err}"
    );
    let err = run_fails(
        dir.path(),
        &["scheduler", "set", "--sync-cycle-enabled", "maybe"],
        2,
    );
    assert!(err.contains("invalid value 'maybe'"), "{err}");
    let err = run_fails(
        dir.path(),
        &["scheduler", "set", "--interval-minutes", "0"],
        2,
    );
    assert!(err.contains("invalid value '0'"), "{err}");
}

#[test]
fn cert_new_list_show_delete_round_trip() {
    let dir = state();
    let hash = run_ok(
        dir.path(),
        &["cert", "new", "--store", "software", "--days", "90"],
    );
    let hash = hash.trim();
    assert_eq!(hash.len(), 64);
    assert!(
        hash.chars()
            .all(|c| c.is_ascii_digit() || ('A'..='F').contains(&c))
    );

    let list = run_json(dir.path(), &["cert", "list"]);
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["sha256"], hash);
    assert_eq!(list[0]["store"], "Software");
    assert_eq!(list[0]["has_private_key"], true);
    assert_eq!(list[0]["subject"], "CN=Entra Connect Sync Provisioning");
    assert_eq!(list[0]["issuer"], "CN=Entra Connect Sync Provisioning");
    assert_eq!(list[0]["key_algorithm"], "RSA");
    assert_eq!(list[0]["key_bits"], 2048);
    assert_eq!(list[0]["signature_algorithm"], "sha256WithRSAEncryption");
    let not_before = time::OffsetDateTime::parse(
        list[0]["not_before"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let not_after = time::OffsetDateTime::parse(
        list[0]["not_after"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!((not_after - not_before).whole_days(), 90);

    let human = run_ok(dir.path(), &["cert", "list"]);
    assert!(
        human.contains(hash) && human.contains("Software") && human.contains("Valid"),
        "{human}"
    );

    // Lower case with colons finds the same certificate.
    let lower_colons = hash
        .to_lowercase()
        .as_bytes()
        .chunks(2)
        .map(|pair| std::str::from_utf8(pair).unwrap())
        .collect::<Vec<_>>()
        .join(":");
    let shown = run_json(dir.path(), &["cert", "show", &lower_colons]);
    assert_eq!(shown["sha256"], hash);
    let human = run_ok(dir.path(), &["cert", "show", hash]);
    assert!(
        human.contains(&format!("SHA256Hash         : {hash}")),
        "{human}"
    );
    assert!(human.contains("KeyAlgorithm       : RSA 2048"), "{human}");
    let pem = run_ok(dir.path(), &["cert", "show", hash, "--pem"]);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
    assert!(!pem.contains("PRIVATE"));

    let deleted = run_json(dir.path(), &["cert", "delete", hash]);
    assert_eq!(deleted["deleted"], hash);
    assert_eq!(
        run_json(dir.path(), &["cert", "list"])
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let empty = run_ok(dir.path(), &["cert", "list"]);
    assert!(empty.contains("holds no certificates"), "{empty}");
    let err = run_fails(dir.path(), &["cert", "delete", hash], 1);
    assert!(err.contains("no certificate with SHA-256 hash"), "{err}");
}

#[test]
fn cert_new_records_created_and_not_in_tpm_events_once() {
    let dir = state();
    let output = entra(dir.path()).args(["cert", "new"]).output().unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("not protected by a TPM (event 1014 recorded)"),
        "{stderr}"
    );
    let hash = String::from_utf8(output.stdout).unwrap().trim().to_string();
    let warnings = run_json(dir.path(), &["events", "--id", "1014"]);
    let warnings = warnings.as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0]["level"], "Warning");
    assert!(warnings[0]["message"].as_str().unwrap().contains(&hash));
    assert_eq!(
        run_json(dir.path(), &["events", "--id", "1100"])
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn cert_new_refuses_out_of_range_days() {
    let dir = state();
    let err = run_fails(dir.path(), &["cert", "new", "--days", "731"], 2);
    assert!(
        err.contains(
            "\"731\" is not a certificate validity: expected a whole number of days from 1 to 730"
        ),
        "{err}"
    );
    let err = run_fails(dir.path(), &["cert", "new", "--store", "floppy"], 2);
    assert!(err.contains("invalid value 'floppy'"), "{err}");
}

#[test]
fn malformed_hash_is_a_usage_error_and_unknown_hash_a_failure() {
    let dir = state();
    let err = run_fails(dir.path(), &["cert", "show", "12345"], 2);
    assert!(
        err.contains("expected 64 hexadecimal digits (any case, colons allowed), found 5 digits"),
        "{err}"
    );
    let err = run_fails(dir.path(), &["cert", "show", &"G".repeat(64)], 2);
    assert!(err.contains("found the character 'G'"), "{err}");
    let unknown = "0".repeat(64);
    let err = run_fails(dir.path(), &["cert", "show", &unknown], 1);
    assert!(
        err.contains(&format!(
            "no certificate with SHA-256 hash {unknown} in the key store"
        )),
        "{err}"
    );
}

#[test]
fn cert_delete_refuses_the_certificate_in_use() {
    let dir = state();
    let hash = run_ok(dir.path(), &["cert", "new"]).trim().to_string();
    let db = rusqlite::Connection::open(dir.path().join("entra-connect.db")).unwrap();
    db.execute(
        "UPDATE connector_credential SET identity_type = 'Application', tenant_id = 't',
            application_id = 'a', service_principal_id = 's', certificate_sha256 = ?1,
            key_store = 'Software', application_managed_by = 'EntraConnect',
            certificate_managed_by = 'EntraConnect'",
        [&hash],
    )
    .unwrap();
    drop(db);
    let err = run_fails(dir.path(), &["cert", "delete", &hash], 1);
    assert!(
        err.contains("is the connector's current credential; it cannot be deleted"),
        "{err}"
    );
    assert_eq!(
        run_json(dir.path(), &["cert", "list"])
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // With the certificate present, the export carries every detail.
    let export = run_json(dir.path(), &["config", "export", "--offline"]);
    let details = &export["certificate"]["details"];
    assert_eq!(details["sha256"], hash.as_str());
    assert_eq!(details["subject"], "CN=Entra Connect Sync Provisioning");
    // Managed, with maintenance on: rotated automatically; off: not.
    assert_eq!(export["certificate"]["automatic_rotation_enabled"], true);
    run_ok(
        dir.path(),
        &["scheduler", "set", "--maintenance-enabled", "false"],
    );
    let off = run_json(dir.path(), &["config", "export", "--offline"]);
    assert_eq!(off["certificate"]["automatic_rotation_enabled"], false);
    run_ok(
        dir.path(),
        &["scheduler", "set", "--maintenance-enabled", "true"],
    );
    assert_eq!(export["certificate"]["managed_by"], "EntraConnect");
    let human = run_ok(dir.path(), &["config", "export", "--offline"]);
    for label in [
        "ApplicationId",
        "CertificateManagedBy",
        "Thumbprint",
        "SHA256Hash",
        "Subject",
        "Issuer",
        "SerialNumber",
        "NotValidBefore",
        "NotValidAfter",
    ] {
        assert!(human.contains(label), "{label} missing from:\n{human}");
    }
    assert!(human.contains("AutomaticRotationEnabled : True"), "{human}");
}

#[test]
fn config_export_writes_the_wizards_json_document_to_a_file_whatever_its_name() {
    let dir = state();
    let human = run_ok(dir.path(), &["config", "export"]);
    assert!(
        human.starts_with("ConnectorIdentityType : None\nInstallationId        : "),
        "{human}"
    );
    let id = human
        .lines()
        .nth(1)
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(id.len(), 12);
    assert!(
        id.chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
    );
    // The document the wizard's export writes: the report as JSON, as
    // --json prints it.
    let document = run_ok(dir.path(), &["--json", "config", "export"]);

    // A name that does not end in .json still gets the JSON document, and
    // nothing on stdout.
    let text_file = dir.path().join("config.txt");
    let output = entra(dir.path())
        .args(["config", "export", "--output", text_file.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("Configuration exported to"));
    assert_eq!(std::fs::read_to_string(&text_file).unwrap(), document);

    let json_file = dir.path().join("config.json");
    run_ok(
        dir.path(),
        &[
            "--json",
            "config",
            "export",
            "-o",
            json_file.to_str().unwrap(),
        ],
    );
    assert_eq!(std::fs::read_to_string(&json_file).unwrap(), document);
    let json: serde_json::Value = serde_json::from_str(&document).unwrap();
    assert_eq!(json["identity_type"], "None");
    assert_eq!(json["installation_id"], id.as_str());
    // The id is generated once.
    assert_eq!(
        run_json(dir.path(), &["config", "export"])["installation_id"],
        id.as_str()
    );
    // --help says what the file holds.
    let help = run_ok(dir.path(), &["config", "export", "--help"]);
    assert!(help.contains("always JSON"), "{help}");
}

#[test]
fn events_filter_by_id_and_time() {
    let dir = state();
    assert_eq!(run_ok(dir.path(), &["events"]).trim(), "No events.");
    assert_eq!(run_json(dir.path(), &["events"]), serde_json::json!([]));
    run_ok(
        dir.path(),
        &["scheduler", "set", "--maintenance-enabled", "false"],
    );
    run_ok(dir.path(), &["cert", "new"]);
    let all = run_json(dir.path(), &["events"]);
    let ids: Vec<u64> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids, [1200, 1100, 1014]);
    let human = run_ok(dir.path(), &["events"]);
    assert!(
        human.contains("Time (UTC)") && human.contains("Warning") && human.contains("1014"),
        "{human}"
    );

    let only = run_json(dir.path(), &["events", "--id", "1100"]);
    assert_eq!(only.as_array().unwrap().len(), 1);
    let future = run_json(dir.path(), &["events", "--since", "2999-01-01T00:00:00Z"]);
    assert_eq!(future, serde_json::json!([]));
    let past = run_json(
        dir.path(),
        &["events", "--since", "2000-01-01T00:00:00+02:00"],
    );
    assert_eq!(past.as_array().unwrap().len(), 3);
    let err = run_fails(dir.path(), &["events", "--since", "yesterday"], 2);
    assert!(err.contains("is not an RFC 3339 time"), "{err}");
}

#[test]
fn cert_hash_prints_the_hash_of_pem_and_der_files_without_a_state_dir() {
    let dir = state();
    let files = tempfile::tempdir().unwrap();
    let (cert, _key) = openssl::certificate(files.path(), "plain", "rsa:2048", &[]);
    let der = files.path().join("plain.cer");
    openssl::run(&[
        "x509",
        "-in",
        cert.to_str().unwrap(),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    let expected = openssl::fingerprint(&cert, "sha256");
    // The state dir is never created for `cert hash`.
    let unused = dir.path().join("never-created");
    assert_eq!(
        run_ok(&unused, &["cert", "hash", cert.to_str().unwrap()]).trim(),
        expected
    );
    assert_eq!(
        run_ok(&unused, &["cert", "hash", der.to_str().unwrap()]).trim(),
        expected
    );
    let json = run_json(&unused, &["cert", "hash", der.to_str().unwrap()]);
    assert_eq!(json["sha256"], expected.as_str());
    assert_eq!(
        json["thumbprint"],
        openssl::fingerprint(&cert, "sha1").as_str()
    );
    assert!(!unused.exists());

    let junk = files.path().join("junk.txt");
    std::fs::write(&junk, "hello").unwrap();
    let err = run_fails(&unused, &["cert", "hash", junk.to_str().unwrap()], 1);
    assert!(err.contains("is not a certificate file"), "{err}");
}

#[test]
fn no_command_is_a_usage_error() {
    let dir = state();
    run_fails(dir.path(), &[], 2);
    run_fails(dir.path(), &["frobnicate"], 2);
}

/// A value no refusal may repeat: a password put in an answers file by mistake.
const SECRET: &str = "Hunter2-Do-Not-Print-9f3c";

/// Runs `args` against a state directory that does not exist yet, in plain
/// and in JSON diagnostics, expecting a usage error (exit 2) that leaves the
/// directory uncreated and never shows [`SECRET`]; returns the plain stderr.
fn usage_error_touches_nothing(args: &[&str]) -> String {
    let parent = state();
    let unused = parent.path().join("never-created");
    let plain = run_fails(&unused, args, 2);
    let mut json_args = vec!["--log-format", "json", "-v"];
    json_args.extend_from_slice(args);
    let json = run_fails(&unused, &json_args, 2);
    for err in [&plain, &json] {
        assert!(!err.contains(SECRET), "{args:?} showed the secret: {err}");
    }
    assert!(!unused.exists(), "{args:?} created the state directory");
    plain
}

#[test]
fn answers_file_errors_exit_2_before_the_state_and_never_quote_the_file() {
    let files = state();
    let write = |name: &str, body: &[u8]| {
        let path = files.path().join(name);
        std::fs::write(&path, body).unwrap();
        path.to_str().unwrap().to_string()
    };
    let start = "tenant = \"contoso.onmicrosoft.com\"\nupn = \"a@contoso.onmicrosoft.com\"\nmethod = \"managed\"\n";
    let missing = files.path().join("missing.toml");
    let directory = files.path().to_str().unwrap().to_string();
    let cases = [
        (missing.to_str().unwrap().to_string(), "cannot be read: No such file"),
        (directory, "cannot be read"),
        (
            write("binary.toml", b"\xff\xfe\x00\x01 password = \"\xc3\x28\""),
            "cannot be read: stream did not contain valid UTF-8",
        ),
        (
            write("syntax.toml", format!("{start}password = \"{SECRET}\n").as_bytes()),
            "is not valid: line 4 (key `password`): not valid TOML",
        ),
        (
            write("unknown.toml", format!("{start}password = \"{SECRET}\"\n").as_bytes()),
            "is not valid: line 4 (key `password`): unknown key",
        ),
        (
            write(
                "type.toml",
                format!("{start}password_writeback = \"{SECRET}\"\n").as_bytes(),
            ),
            "is not valid: line 4 (key `password_writeback`): not valid; expected true or false",
        ),
        (
            write(
                "upn.toml",
                format!("tenant = \"contoso.onmicrosoft.com\"\nupn = \"{SECRET}\"\nmethod = \"managed\"\n")
                    .as_bytes(),
            ),
            "is not valid: line 2 (key `upn`): not valid; expected a user principal name",
        ),
        (
            write("ca.toml", format!("{start}ca_cert = \"/etc/passwd\"\n").as_bytes()),
            "is not valid: key `ca_cert`: the file is not a PEM certificate",
        ),
        (
            write(
                "ca-missing.toml",
                format!("{start}ca_cert = \"/nonexistent/ca.pem\"\n").as_bytes(),
            ),
            "is not valid: key `ca_cert`: the file cannot be read",
        ),
    ];
    for (path, expected) in cases {
        for args in [
            vec!["wizard", "--answers", &path],
            vec!["wizard", "--answers", &path, "--dry-run"],
        ] {
            let err = usage_error_touches_nothing(&args);
            assert!(
                err.contains(&format!("the answers file {path} {expected}")),
                "{err}"
            );
        }
    }
}

#[test]
fn a_ca_cert_that_cannot_be_trusted_is_a_usage_error_before_the_state() {
    let files = state();
    let not_x509 = files.path().join("not-x509.pem");
    std::fs::write(
        &not_x509,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let not_x509 = not_x509.to_str().unwrap();
    for (ca_cert, expected) in [
        ("/etc/passwd", "the file is not a PEM certificate"),
        ("/nonexistent/ca.pem", "the file cannot be read"),
        (
            not_x509,
            "the file holds a CERTIFICATE block that is not an X.509 certificate",
        ),
    ] {
        let tenant = ["--tenant", "contoso.onmicrosoft.com", "--ca-cert", ca_cert];
        for command in [
            &["app", "register", "--upn", "a@b.c"][..],
            &["app", "rotate"],
            &["credential", "test"],
            &["doctor"],
        ] {
            let args: Vec<&str> = command.iter().chain(&tenant).copied().collect();
            let err = usage_error_touches_nothing(&args);
            assert!(err.contains("--ca-cert"), "{err}");
            assert!(err.contains(expected), "{err}");
        }
    }
}

#[test]
fn an_unusable_credential_field_is_said_once_with_its_fix() {
    let dir = state();
    run_ok(dir.path(), &["credential", "show"]); // creates the database
    let db = rusqlite::Connection::open(dir.path().join("entra-connect.db")).unwrap();
    db.execute(
        "UPDATE connector_credential SET identity_type = 'Application', tenant_id = 't-1',
            application_id = 'a-1', service_principal_id = 's-1', certificate_sha256 = '',
            key_store = 'Software', application_managed_by = 'EntraConnect',
            certificate_managed_by = 'EntraConnect', configured_at = '2026-11-01T10:00:00Z'",
        [],
    )
    .unwrap();
    drop(db);
    for args in [
        &["credential", "show"][..],
        &["--json", "credential", "show"],
    ] {
        let err = run_fails(dir.path(), args, 1);
        let line = err
            .lines()
            .find(|line| line.starts_with("error: "))
            .unwrap_or_else(|| panic!("no error line: {err}"));
        assert_eq!(line.matches("credential repair").count(), 1, "{line}");
        assert!(
            line.contains("the connector credential's certificate_sha256 is blank; expected a certificate's SHA-256 hash (64 hexadecimal digits)"),
            "{line}"
        );
        for internal in ["Conversion error", "at index", "index:"] {
            assert!(!line.contains(internal), "{line}");
        }
    }
}

/// doctor says the scheduler's settings as Get-ADSyncScheduler does (True
/// and False), both of them, whatever their values (it said
/// "MaintenanceEnabled false" beside "SyncCycleEnabled True").
#[test]
fn doctor_says_the_scheduler_settings_as_get_adsyncscheduler_does() {
    let dir = state();
    run_ok(
        dir.path(),
        &["scheduler", "set", "--maintenance-enabled", "false"],
    );
    // Exit 1: a new state has no credential, which doctor counts as failed.
    let output = entra(dir.path())
        .args(["--json", "doctor"])
        .output()
        .expect("run entra-connect");
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let findings: serde_json::Value =
        serde_json::from_slice(&output.stdout).expect("doctor's findings as JSON");
    let scheduler = findings
        .as_array()
        .and_then(|all| all.iter().find(|finding| finding["check"] == "scheduler"))
        .unwrap_or_else(|| panic!("no scheduler finding: {findings}"));
    assert_eq!(
        scheduler["detail"], "SyncCycleEnabled True, MaintenanceEnabled False, every 30 minutes",
        "{scheduler}"
    );
}
