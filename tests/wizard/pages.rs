//! The wizard without a terminal: the state machine driven by messages (update
//! tests), and every page rendered on ratatui's TestBackend at 80x24 and
//! 120x40 (insta snapshots in the top-level `snapshots/` folder). Clock, ids
//! and certificates are fixed here, so snapshots hold no real dates or secrets.
//! The plans the Ready and Configuring pages show are the engine's, made on a
//! state directory without a tenant (see [`engine_plan`]).

use crate::harness::process;
use entra_connect::domain::{
    AppId, ApplicationCredential, AuditKind, CertificateHash, ConnectionInputs,
    ConnectorCredential, ConnectorIdentityType, ManagedBy, Method, MethodAnswer, NextCommand,
    Remedy, Removal, SchedulerSettings, ServiceAccountCredential, SignInAnswer, StoreKind,
};
use entra_connect::engine::audit::{Audit, AuditItem, AuditVerdict, Revocation};
use entra_connect::engine::doctor::{Finding, Verdict};
use entra_connect::engine::link::{Link, LinkChoice};
use entra_connect::engine::onboard::Onboard;
use entra_connect::engine::operation::PathReason;
use entra_connect::engine::permissions::{self, Grantee};
use entra_connect::engine::progress::{Progress, StepStatus};
use entra_connect::engine::remove_key::{RemoveKey, RemovedKey};
use entra_connect::engine::revoke::{Revoke, Revoked, Selection};
use entra_connect::engine::rotate::{
    NewCertificate, OldKeyRemoval, Rotate, Rotation, RotationPath,
};
use entra_connect::engine::service_account::{
    AccountUse, RemoveServiceAccount, RemovedAccount, RollBack, RolledBack, SyncAccount,
};
use entra_connect::engine::{
    self, ApplicationKey, CertificateSection, ConfigurationReport, EngineError, KeyOrigin,
    OperationRequest, Outcome, Plan, StoreChoice, Target, create_certificate, register,
};
use entra_connect::entra::{EntraError, NewObject, RetryBudget, RetryReason, Secret};
use entra_connect::host;
use entra_connect::keys::{CertificateInfo, KeyError, StoredCertificate, TpmInfo, TpmUnavailable};
use entra_connect::tui::app::{self, Model};
use entra_connect::tui::model::{
    Command, Context, EngineEvent, Failure, Message, OpId, Task, TpmCheck, WizardData,
};
use entra_connect::tui::pages::Page;
use entra_connect::tui::summary::exit_summary;
use entra_connect::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Size;
use std::sync::Arc;
use time::macros::datetime;

const NOW: time::OffsetDateTime = datetime!(2026-11-24 12:00 UTC);

fn hash(fill: &str) -> CertificateHash {
    fill.repeat(32).parse().unwrap()
}

fn certificate(
    fill: &str,
    subject: &str,
    not_after: time::OffsetDateTime,
    has_key: bool,
) -> StoredCertificate {
    StoredCertificate {
        info: CertificateInfo {
            sha256: hash(fill),
            thumbprint: fill.repeat(20),
            subject: subject.into(),
            issuer: subject.into(),
            serial_number: "0123456789ABCDEF".into(),
            not_before: datetime!(2026-01-01 00:00 UTC),
            not_after,
            key_algorithm: "RSA".into(),
            key_bits: 2048,
            signature_algorithm: "sha256WithRSAEncryption".into(),
            der: Vec::new(),
            rsa_public_key: Vec::new(),
        },
        store: StoreKind::Software,
        has_private_key: has_key,
    }
}

fn context(configured: ConnectorIdentityType) -> Context {
    Context {
        configured: Some(configured),
        tpm: TpmCheck::NotFound(no_tpm()),
        certificates: vec![
            certificate(
                "AB",
                "CN=Contoso Sync",
                datetime!(2027-06-01 00:00 UTC),
                true,
            ),
            certificate("CD", "CN=Old Sync", datetime!(2026-03-01 00:00 UTC), true),
            certificate("EF", "CN=Keyless", datetime!(2027-06-01 00:00 UTC), false),
        ],
        configuration: Some(ConfigurationReport {
            identity_type: configured,
            installation_id: "0123456789ab".into(),
            service_account: (configured == ConnectorIdentityType::ServiceAccount)
                .then(|| "Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com".into()),
            rollback_service_account: (configured == ConnectorIdentityType::Application)
                .then(|| "Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com".into()),
            tenant_id: (configured == ConnectorIdentityType::Application)
                .then(|| "5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f".into()),
            application_id: (configured == ConnectorIdentityType::Application)
                .then(|| "11111111-2222-3333-4444-555555555555".into()),
            service_principal_id: (configured == ConnectorIdentityType::Application)
                .then(|| "22222222-3333-4444-5555-666666666666".into()),
            application_managed_by: (configured == ConnectorIdentityType::Application)
                .then_some(ManagedBy::EntraConnect),
            certificate: (configured == ConnectorIdentityType::Application).then(|| {
                CertificateSection {
                    managed_by: ManagedBy::EntraConnect,
                    automatic_rotation_enabled: true,
                    key_store: StoreKind::Software,
                    sha256_hash: hash("AB").to_string(),
                    details: Some(
                        certificate(
                            "AB",
                            "CN=Entra Connect Sync Provisioning",
                            datetime!(2027-06-01 00:00 UTC),
                            true,
                        )
                        .info,
                    ),
                }
            }),
            application_audit: None,
        }),
        scheduler: SchedulerSettings::default(),
        sandbox: None,
        now: NOW,
    }
}

/// What the background probe answers on a machine without a TPM.
fn no_tpm() -> TpmUnavailable {
    TpmUnavailable {
        tcti: "device:/dev/tpmrm0".into(),
        why: "/dev/tpmrm0 does not exist: this machine shows no TPM".into(),
    }
}

fn a_tpm() -> TpmInfo {
    TpmInfo {
        tcti: "device:/dev/tpmrm0".into(),
        manufacturer: "MSFT".into(),
    }
}

fn data() -> WizardData {
    WizardData {
        connection: ConnectionInputs {
            tenant: Some("contoso.onmicrosoft.com".parse().unwrap()),
            ..ConnectionInputs::default()
        },
        upn: Some(ADMIN.parse().unwrap()),
        ..WizardData::default()
    }
}

const ADMIN: &str = "admin@contoso.onmicrosoft.com";

/// The wizard on a server whose connector signs in as `configured`, with
/// the usual data, in monochrome (as the snapshots are taken).
fn model_on(configured: ConnectorIdentityType) -> Model {
    Model::new(context(configured), data(), Theme { color: false })
}

fn first_pass() -> Model {
    model_on(ConnectorIdentityType::None)
}

fn key(code: KeyCode) -> Message {
    Message::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn ctrl_c() -> Message {
    Message::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL))
}

fn send(model: &mut Model, message: Message) -> Option<Command> {
    app::update(model, message)
}

/// What the running engine task reports (the model's current task).
fn engine(model: &mut Model, event: EngineEvent) -> Option<Command> {
    let op = model.running.expect("an engine task is running");
    send(model, Message::Engine(op, event))
}

fn failure(error: EngineError) -> Failure {
    Arc::new(error)
}

fn graph_403() -> Failure {
    failure(EngineError::Entra(EntraError::Graph {
        status: 403,
        code: "Authorization_RequestDenied".into(),
        message: "Insufficient privileges to complete the operation.".into(),
    }))
}

fn onboarding() -> OperationRequest {
    OperationRequest::Onboard(Onboard {
        method: Method::Managed,
        password_writeback: false,
    })
}

fn type_text(model: &mut Model, text: &str) {
    for c in text.chars() {
        send(model, key(KeyCode::Char(c)));
    }
}

fn clear(model: &mut Model, count: usize) {
    for _ in 0..count {
        send(model, key(KeyCode::Backspace));
    }
}

fn title(model: &Model) -> &'static str {
    match model.page {
        Page::Welcome(_) => "welcome",
        Page::Connect(_) => "connect",
        Page::SignIn(_) => "sign-in",
        Page::Method(_) => "method",
        Page::Certificate(_) => "certificate",
        Page::AppId(_) => "app-id",
        Page::Options(_) => "options",
        Page::Ready(_) => "ready",
        Page::Configuring(_) => "configuring",
        Page::Done(_) => "done",
        Page::Tasks(_) => "tasks",
        Page::ViewConfig(_) => "view-config",
        Page::Scheduler(_) => "scheduler",
        Page::Doctor(_) => "doctor",
        Page::Rotate(_) => "rotate",
        Page::Keys(_) => "keys",
        Page::RollBack(_) => "rollback",
        Page::SyncAccounts(_) => "sync-accounts",
        Page::Review(_) => "review",
    }
}

// --- the engine's plans ---------------------------------------------------------------

/// The server a plan is made on, as the pages' contexts describe it.
#[derive(Clone, Copy)]
enum Planning {
    /// A new installation.
    Fresh,
    /// A connector on the application `11111111-…` with a Managed certificate
    /// in the software store, and, with `way_back`, the legacy account
    /// [`WAY_BACK`] kept with its password.
    Application { way_back: bool },
}

/// The plan the engine makes for `request` on a `server` it plans on
/// without a tenant (no TPM, installation id `0123456789ab`), as the
/// wizard's Ready page receives it. What differs from machine to machine or
/// run to run is written as the contexts have it: this machine's host name
/// as `CONNECT01`, the new certificate's hash as `ABAB…`.
fn engine_plan(server: Planning, target: Target, request: OperationRequest) -> Plan {
    let state = tempfile::tempdir().unwrap();
    let mut local = process::local_server(state.path());
    let db = rusqlite::Connection::open(state.path().join(host::DATABASE_FILE)).unwrap();
    host::settings::set(&db, "installation_id", "0123456789ab").unwrap();
    let application = register::application_name(&local).unwrap();
    let host_name = application
        .strip_prefix("ConnectSyncProvisioning_")
        .and_then(|rest| rest.strip_suffix("_0123456789ab"))
        .expect("ConnectSyncProvisioning_<HOST>_<installation id>")
        .to_string();
    let mut certificate = None;
    if let Planning::Application { way_back } = server {
        if way_back {
            let account = ServiceAccountCredential {
                user_principal_name: WAY_BACK.into(),
                configured_at: NOW,
            };
            host::credential::save(&db, &ConnectorCredential::ServiceAccount(account)).unwrap();
            let password = Secret::new("the way back's stored password");
            host::passwords::save(state.path(), local.tpm(), WAY_BACK, &password).unwrap();
        }
        let created = create_certificate(&mut local, StoreChoice::Software, 180).unwrap();
        let credential = ApplicationCredential {
            certificate_sha256: created.info.sha256.clone(),
            ..application_credential()
        };
        host::credential::save(&db, &ConnectorCredential::Application(credential)).unwrap();
        certificate = Some(created.info.sha256.to_string());
    }
    let mut plan = engine::plan(&local, target, request).unwrap();
    for step in &mut plan.steps {
        // Through JSON, so every string of the typed change is reached.
        let mut change = serde_json::to_string(&step.change)
            .unwrap()
            .replace(&format!("_{host_name}_"), "_CONNECT01_");
        if let Some(certificate) = &certificate {
            change = change.replace(certificate, hash("AB").as_str());
        }
        step.change = serde_json::from_str(&change).unwrap();
    }
    plan
}

/// Bring Your Own Application checks the application before any change,
/// the wizard's onboarding as `app link` does: the same steps in the same
/// order, the check before sync cycles are turned off.
#[test]
fn byoa_checks_the_application_before_turning_sync_cycles_off_as_app_link_does() {
    let state = tempfile::tempdir().unwrap();
    let mut local = process::local_server(state.path());
    let certificate = create_certificate(&mut local, StoreChoice::Software, 180)
        .unwrap()
        .info
        .sha256;
    let app_id: AppId = "33333333-4444-5555-6666-777777777777".parse().unwrap();
    let target = Target {
        tenant: "contoso.onmicrosoft.com".into(),
        admin_upn: ADMIN.into(),
    };
    let steps = |request| -> Vec<&'static str> {
        let plan = engine::plan(&local, target.clone(), request).unwrap();
        plan.steps.iter().map(|step| step.name).collect()
    };
    let wizard = steps(OperationRequest::Onboard(Onboard {
        method: Method::Byoa {
            app_id: app_id.clone(),
            certificate: certificate.clone(),
        },
        password_writeback: false,
    }));
    let cli = steps(OperationRequest::Link(Link {
        choice: LinkChoice::Existing {
            app_id,
            certificate,
        },
    }));
    assert_eq!(wizard, cli);
    let position = |name| wizard.iter().position(|step| *step == name);
    assert!(
        position("check-application") < position("disable-scheduler"),
        "{wizard:?}"
    );
}

/// The onboarding's plan on a new installation, signing in as [`ADMIN`].
fn plan() -> Plan {
    let target = Target {
        tenant: "contoso.onmicrosoft.com".into(),
        admin_upn: ADMIN.into(),
    };
    engine_plan(Planning::Fresh, target, onboarding())
}

/// The connector's application credential of the contexts (certificate `ABAB…`).
fn application_credential() -> ApplicationCredential {
    ApplicationCredential {
        tenant_id: "5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f".into(),
        application_id: "11111111-2222-3333-4444-555555555555".into(),
        service_principal_id: "22222222-3333-4444-5555-666666666666".into(),
        certificate_sha256: hash("AB"),
        key_store: StoreKind::Software,
        application_managed_by: ManagedBy::EntraConnect,
        certificate_managed_by: ManagedBy::EntraConnect,
        configured_at: NOW,
    }
}

fn onboarded() -> Outcome {
    Outcome::Credential(application_credential())
}

/// Drives a first pass up to the page `until` ("sign-in", "method", "ready", ...).
fn drive_to(model: &mut Model, until: &str) {
    type Step = (&'static str, fn(&mut Model));
    let steps: [Step; 6] = [
        ("connect", |m| {
            send(m, key(KeyCode::Enter));
        }),
        ("sign-in", |m| {
            send(m, key(KeyCode::Enter));
        }),
        ("method", |m| {
            send(m, key(KeyCode::Enter));
            engine(m, EngineEvent::SignedIn(Ok(ADMIN.into())));
        }),
        ("options", |m| {
            send(m, key(KeyCode::Enter));
        }),
        ("ready", |m| {
            send(m, key(KeyCode::Enter));
            send(m, Message::Planned(Ok(plan())));
        }),
        ("configuring", |m| {
            send(m, key(KeyCode::Enter));
        }),
    ];
    for (page, step) in steps {
        step(model);
        assert_eq!(title(model), page);
        if page == until {
            return;
        }
    }
}

fn render(model: &Model, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal.draw(|frame| app::view(model, frame)).unwrap();
    terminal.backend().to_string()
}

/// The screen's text as one line of words (the rows' quotes and padding
/// gone), for sentences that wrap.
fn words(screen: &str) -> String {
    screen
        .lines()
        .map(|line| line.trim_matches('"'))
        .collect::<Vec<_>>()
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Snapshots `model` at 80x24 and 120x40 as `<name>@80x24` and `<name>@120x40`.
fn snapshot(name: &str, model: &Model) {
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| {
        insta::assert_snapshot!(format!("{name}@80x24"), render(model, 80, 24));
        insta::assert_snapshot!(format!("{name}@120x40"), render(model, 120, 40));
    });
}

// --- update tests ------------------------------------------------------------------

#[test]
fn first_pass_starts_at_welcome_and_second_pass_at_tasks() {
    assert_eq!(title(&first_pass()), "welcome");
    for configured in [
        ConnectorIdentityType::ServiceAccount,
        ConnectorIdentityType::Application,
    ] {
        let model = model_on(configured);
        assert_eq!(title(&model), "tasks");
    }
}

/// The TPM is asked in the background: the wizard opens saying so, asks the
/// app loop for the probe, and the answer, a message, updates Welcome.
#[test]
fn the_tpm_answer_arrives_after_the_first_frame() {
    let opening = || {
        let mut model = first_pass();
        model.context.tpm = TpmCheck::Checking;
        model
    };
    let mut model = opening();
    assert_eq!(model.init(), Some(Command::ProbeTpm));
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("Checking whether a TPM answers"),
        "{screen}"
    );
    assert!(!screen.contains("No TPM answers"), "{screen}");

    // The answer changes only the TPM line, and keeps a notice shown.
    model.notice = Some("Saved answers.toml".into());
    assert_eq!(send(&mut model, Message::TpmProbed(Ok(a_tpm()))), None);
    assert_eq!(model.context.tpm, TpmCheck::Found(a_tpm()));
    let mut found = first_pass();
    found.context.tpm = TpmCheck::Found(a_tpm());
    found.notice = model.notice.clone();
    assert_eq!(render(&model, 120, 40), render(&found, 120, 40));
    assert!(
        render(&model, 120, 40).contains("A TPM answers (device:/dev/tpmrm0, MSFT)"),
        "{}",
        render(&model, 120, 40)
    );

    let mut model = opening();
    send(&mut model, Message::TpmProbed(Err(no_tpm())));
    assert_eq!(render(&model, 120, 40), render(&first_pass(), 120, 40));

    // A model that knows the answer asks nothing; the pages need not wait for it.
    assert_eq!(first_pass().init(), None);
    let mut model = opening();
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "connect");
    send(&mut model, Message::TpmProbed(Err(no_tpm())));
    assert_eq!(title(&model), "connect");
    assert_eq!(model.context.tpm, TpmCheck::NotFound(no_tpm()));
}

/// The steps along the top take one line at 80 columns on every page of the
/// first pass, BYOA's (every step shown) included: done steps fold into ✓
/// marks as needed, and the current step is always named.
#[test]
fn the_steps_fit_one_line_at_80_columns() {
    let mut model = first_pass();
    // Chosen in an answers file: Certificate and App id show from Welcome on.
    model.data.method = MethodAnswer::Byoa;
    let header_fits = |model: &Model, current: &str| {
        let screen = render(model, 80, 24);
        let rows: Vec<&str> = screen.lines().map(|row| row.trim_matches('"')).collect();
        assert!(rows[0].contains(current), "{current:?} named in {screen}");
        assert!(rows[0].contains(" › "), "{screen}");
        assert_eq!(rows[1].trim(), "", "the steps wrapped: {screen}");
        assert!(rows[2].starts_with("────"), "{screen}");
    };
    header_fits(&model, "Welcome");
    send(&mut model, key(KeyCode::Enter));
    header_fits(&model, "Connect");
    send(&mut model, key(KeyCode::Enter));
    header_fits(&model, "Sign in");
    send(&mut model, key(KeyCode::Enter));
    engine(&mut model, EngineEvent::SignedIn(Ok(ADMIN.into())));
    header_fits(&model, "Method");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "certificate");
    header_fits(&model, "Certificate");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "app-id");
    header_fits(&model, "App id");
    type_text(&mut model, "11111111-2222-3333-4444-555555555555");
    send(&mut model, key(KeyCode::Enter));
    header_fits(&model, "Options");
    send(&mut model, key(KeyCode::Enter));
    send(&mut model, Message::Planned(Ok(plan())));
    header_fits(&model, "Ready");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "configuring");
    header_fits(&model, "Configure");
    engine(&mut model, EngineEvent::Finished(Ok(onboarded())));
    assert_eq!(title(&model), "done");
    header_fits(&model, "✓Configure");
}

#[test]
fn back_navigation_keeps_entered_values() {
    let mut model = first_pass();
    send(&mut model, key(KeyCode::Enter));
    clear(&mut model, 40);
    type_text(&mut model, "fabrikam.onmicrosoft.com");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "sign-in");
    assert_eq!(
        model.data.connection.tenant.as_ref().map(|t| t.as_str()),
        Some("fabrikam.onmicrosoft.com")
    );
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "connect");
    assert!(render(&model, 80, 24).contains("[fabrikam.onmicrosoft.com"));
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "welcome");
}

/// On Sign in (focus on the account): the password method, and `password`
/// typed in its field.
fn type_a_password(model: &mut Model, password: &str) {
    send(model, key(KeyCode::BackTab));
    send(model, key(KeyCode::Down));
    send(model, key(KeyCode::Tab));
    send(model, key(KeyCode::Tab));
    type_text(model, password);
}

fn chord(c: char, modifiers: KeyModifiers) -> Message {
    Message::Key(KeyEvent::new(KeyCode::Char(c), modifiers))
}

/// In a text field Ctrl-U clears what was typed, as in a shell, and no
/// other Ctrl or Alt chord types its letter.
#[test]
fn ctrl_u_clears_a_field_and_chords_type_nothing() {
    let mut model = first_pass();
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "connect");
    assert!(render(&model, 80, 24).contains("[contoso.onmicrosoft.com▏]"));
    send(&mut model, chord('u', KeyModifiers::CONTROL));
    assert!(render(&model, 80, 24).contains("Tenant            [▏]"));
    type_text(&mut model, "fabrikam.com");
    for (c, modifiers) in [
        ('a', KeyModifiers::CONTROL),
        ('e', KeyModifiers::CONTROL),
        ('w', KeyModifiers::CONTROL),
        ('b', KeyModifiers::ALT),
        ('f', KeyModifiers::ALT),
        ('u', KeyModifiers::ALT),
    ] {
        send(&mut model, chord(c, modifiers));
    }
    let screen = render(&model, 80, 24);
    assert!(
        screen.contains("Tenant            [fabrikam.com▏]"),
        "{screen}"
    );
    snapshot("connect-chords-typed-nothing", &model);
    send(&mut model, key(KeyCode::Enter));
    // The password field too.
    type_a_password(&mut model, "Pa55word!");
    assert!(render(&model, 100, 30).contains("[•••••••••▏]"));
    send(&mut model, chord('u', KeyModifiers::CONTROL));
    assert!(render(&model, 100, 30).contains("Password          [▏]"));
}

#[test]
fn an_invalid_tenant_is_refused_with_a_message() {
    let mut model = first_pass();
    send(&mut model, key(KeyCode::Enter));
    clear(&mut model, 40);
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "connect");
    assert!(render(&model, 100, 30).contains("\"\" is not a tenant: expected the tenant id"));
    type_text(&mut model, "not a tenant");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "connect");
    assert!(
        render(&model, 120, 30)
            .contains("\"not a tenant\" is not a tenant: expected the tenant id")
    );
    snapshot("connect-invalid", &model);
}

#[test]
fn sign_in_asks_the_engine_and_sends_a_password_only_when_chosen() {
    let mut model = first_pass();
    drive_to(&mut model, "sign-in");
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Start {
            op: OpId(1),
            task: Task::SignIn {
                upn: ADMIN.parse().unwrap(),
                password: None
            }
        })
    );
    assert!(model.wants_ticks(), "the spinner animates while waiting");
    let refused = EntraError::Token {
        status: 400,
        code: "invalid_grant".into(),
        aadsts: Some(50126),
        description: "AADSTS50126: Error validating credentials due to invalid username or password. Trace ID: 0b6c3f1e-2a4d-4c8e-9f10-123456789abc Correlation ID: 7d2e9a41-5b3c-4f6d-8e7a-abcdef012345 Timestamp: 2026-12-07 10:00:00Z".into(),
    };
    engine(
        &mut model,
        EngineEvent::SignedIn(Err(failure(refused.into()))),
    );
    assert_eq!(title(&model), "sign-in");
    assert!(!model.wants_ticks());
    // The refusal is a sentence; the ids for Microsoft support have a line
    // of their own, after what to do.
    let screen = render(&model, 120, 30);
    let refusal = screen
        .lines()
        .find(|line| line.contains("AADSTS50126"))
        .unwrap_or_else(|| panic!("{screen}"));
    assert!(
        refusal.contains("Sign-in refused (invalid_grant): AADSTS50126")
            && !refusal.contains("Trace ID"),
        "{screen}"
    );
    assert!(
        screen.lines().any(|line| line
            .trim_matches(|c| c == '"' || c == ' ')
            .starts_with("For Microsoft support: Trace ID: 0b6c3f1e-2a4d-4c8e-9f10-123456789abc Correlation ID:")),
        "{screen}"
    );
    snapshot("sign-in-refused", &model);

    // Password: choose the method, type it (masked), Enter.
    type_a_password(&mut model, "Pa55word!");
    let screen = render(&model, 100, 30);
    assert!(
        screen.contains("•••••••••") && !screen.contains("Pa55word!"),
        "{screen}"
    );
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Start {
            op: OpId(2),
            task: Task::SignIn {
                upn: ADMIN.parse().unwrap(),
                password: Some(Secret::new("Pa55word!"))
            }
        })
    );
    assert_eq!(model.data.sign_in, SignInAnswer::Password);
}

/// What a browser sign-in asks the administrator to open (the sign-in
/// reports it; its state, challenge and nonce are made up here).
const BROWSER_ADDRESS: &str = "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/authorize?response_type=code&client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e&state=Zm9vYmFyYmF6cXV4cXV1eA&code_challenge=47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU&code_challenge_method=S256&redirect_uri=http%3A%2F%2Flocalhost%3A43123&scope=https%3A%2F%2Fgraph.microsoft.com%2FUser.Read+https%3A%2F%2Fgraph.microsoft.com%2FApplication.ReadWrite.All+https%3A%2F%2Fgraph.microsoft.com%2FAppRoleAssignment.ReadWrite.All+offline_access+openid&nonce=bm9uY2Vub25jZW5vbmNl&login_hint=admin%40contoso.onmicrosoft.com";

/// The address a browser on another machine ends on: its query holds the code.
const REDIRECT: &str = "http://localhost:43123/?code=0.AXoA-the-authorization-code&state=Zm9vYmFyYmF6cXV4cXV1eA&session_state=1b2c3d4e";

/// The field holding [`REDIRECT`], focused: its query is not shown.
const REDIRECT_SHOWN: &str = "[http://localhost:43123/?… (86 characters hidden)▏]";

/// Sign in with the browser chosen among its methods.
fn assert_browser_chosen(model: &Model) {
    let screen = render(model, 120, 40);
    assert!(
        screen.contains("(•) Browser (when the device code is blocked)"),
        "{screen}"
    );
}

/// The screen's rows from the one that starts with `start` while they hold
/// no space, joined: an identifier wider than the page, as it was cut.
fn identifier_on(screen: &str, start: &str) -> String {
    screen
        .lines()
        .map(|row| row.trim_matches(|c| c == '"' || c == ' '))
        .skip_while(|row| !row.starts_with(start))
        .take_while(|row| !row.is_empty() && !row.contains(' '))
        .collect()
}

/// The third method: the page shows the address to open, whole, and what
/// to do from a browser elsewhere; the address pasted back goes to the
/// sign-in on Enter and is never shown with its query (the code), nor
/// kept in debug output. Esc gives the sign-in up and stays, on the browser.
#[test]
fn the_browser_sign_in_shows_the_address_and_sends_the_pasted_redirect_unshown() {
    let mut model = first_pass();
    drive_to(&mut model, "sign-in");
    // From the account back to the methods, then down to the third.
    send(&mut model, key(KeyCode::BackTab));
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Down));
    assert_browser_chosen(&model);
    assert!(!render(&model, 120, 40).contains("Password"));
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Start {
            op: OpId(1),
            task: Task::SignIn {
                upn: ADMIN.parse().unwrap(),
                password: None
            }
        })
    );
    assert_eq!(model.data.sign_in, SignInAnswer::Browser);
    engine(
        &mut model,
        EngineEvent::Progress(Progress::SignInBrowser {
            url: BROWSER_ADDRESS.into(),
        }),
    );
    assert_the_browser_waits(&model);
    assert!(
        render(&model, 80, 24).contains("Enter send the pasted address  Esc cancel the sign-in")
    );
    snapshot("sign-in-browser-waiting", &model);
    paste_the_redirect(&mut model);
    snapshot("sign-in-browser-pasted", &model);
    // Sent once; it stays until something is typed, which starts another address.
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    send(&mut model, key(KeyCode::Down));
    assert!(render(&model, 120, 40).contains(REDIRECT_SHOWN));
    type_text(&mut model, "h");
    assert!(render(&model, 120, 40).contains("Address           [h▏]"));

    // Esc gives the sign-in up: its task is cancelled, and what it still
    // reports is dropped; the choice stays on the browser.
    let op = model.running.expect("the sign-in runs");
    assert_eq!(
        send(&mut model, key(KeyCode::Esc)),
        Some(Command::Cancel(op))
    );
    assert_eq!(model.running, None);
    assert!(!model.wants_ticks());
    send(
        &mut model,
        Message::Engine(op, EngineEvent::SignedIn(Ok(ADMIN.into()))),
    );
    assert_eq!(title(&model), "sign-in");
    assert_browser_chosen(&model);
    // Esc again goes back, as on the form it always did.
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "connect");
}

/// Entra's refusal of a device code that Conditional Access blocks (AADSTS53003).
fn blocked_device_code() -> Failure {
    failure(EntraError::Token {
        status: 400,
        code: "invalid_grant".into(),
        aadsts: Some(53003),
        description: "AADSTS53003: Access has been blocked by Conditional Access policies. The access policy does not allow token issuance. Trace ID: 0b6c3f1e-2a4d-4c8e-9f10-123456789abc Correlation ID: 7d2e9a41-5b3c-4f6d-8e7a-abcdef012345 Timestamp: 2026-12-07 10:00:00Z".into(),
    }.into())
}

/// A waiting device code is given up with Esc, as the browser is. Entra's
/// refusal of a device code that Conditional Access blocks (AADSTS53003):
/// the page says to use the browser and has chosen it, so Enter signs in
/// with it. A password refused for MFA moves to the device code.
#[test]
fn a_blocked_device_code_moves_the_choice_to_the_browser() {
    let mut model = first_pass();
    drive_to(&mut model, "sign-in");
    send(&mut model, key(KeyCode::Enter));
    let op = model.running.expect("the sign-in runs");
    assert_eq!(
        send(&mut model, key(KeyCode::Esc)),
        Some(Command::Cancel(op))
    );
    assert_eq!(title(&model), "sign-in");
    assert!(!model.wants_ticks());
    assert!(render(&model, 120, 40).contains("(•) Device code"));
    send(&mut model, key(KeyCode::Enter));
    engine(
        &mut model,
        EngineEvent::SignedIn(Err(blocked_device_code())),
    );
    let screen = render(&model, 120, 40);
    assert!(
        words(&screen).contains("Conditional Access")
            && words(&screen).contains("Esc to Sign in and choose the browser."),
        "{screen}"
    );
    assert_browser_chosen(&model);
    snapshot("sign-in-device-code-blocked", &model);
    let command = send(&mut model, key(KeyCode::Enter));
    assert!(
        matches!(
            command,
            Some(Command::Start {
                task: Task::SignIn { password: None, .. },
                ..
            })
        ),
        "{command:?}"
    );
    assert_eq!(model.data.sign_in, SignInAnswer::Browser);

    let mut model = first_pass();
    drive_to(&mut model, "sign-in");
    type_a_password(&mut model, "Pa55word!");
    send(&mut model, key(KeyCode::Enter));
    let mfa = EntraError::Token {
        status: 400,
        code: "invalid_grant".into(),
        aadsts: Some(50076),
        description: "AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.".into(),
    };
    engine(&mut model, EngineEvent::SignedIn(Err(failure(mfa.into()))));
    let screen = render(&model, 120, 40);
    assert!(screen.contains("(•) Device code"), "{screen}");
    assert!(!screen.contains("Password          ["), "{screen}");
}

/// An answers file's `sign_in = "browser"` opens Sign in on the browser,
/// and the answers the wizard saves keep it.
#[test]
fn an_answers_file_that_signs_in_with_the_browser_opens_sign_in_on_it() {
    let mut model = first_pass();
    model.data.sign_in = SignInAnswer::Browser;
    drive_to(&mut model, "sign-in");
    assert_browser_chosen(&model);
    drive_to_ready_from_sign_in(&mut model);
    send(&mut model, key(KeyCode::Char('s')));
    let Some(Command::SaveAnswers(_, answers)) = send(&mut model, key(KeyCode::Enter)) else {
        panic!("no answers saved");
    };
    let toml = answers.to_toml().unwrap();
    assert!(toml.contains("sign_in = \"browser\""), "{toml}");
    let read = entra_connect::domain::Answers::parse(&toml).unwrap();
    assert_eq!(read.sign_in, SignInAnswer::Browser);
}

/// From Sign in (signed in at once) to Ready with the plan, Managed.
fn drive_to_ready_from_sign_in(model: &mut Model) {
    send(model, key(KeyCode::Enter));
    engine(model, EngineEvent::SignedIn(Ok(ADMIN.into())));
    assert_eq!(title(model), "method");
    send(model, key(KeyCode::Enter));
    send(model, key(KeyCode::Enter));
    send(model, Message::Planned(Ok(plan())));
    assert_eq!(title(model), "ready");
}

/// The first pass's sign-in, refused because the sign-in client has no
/// admin consent for what registration needs.
fn refused_for_consent() -> Model {
    let mut model = first_pass();
    drive_to(&mut model, "sign-in");
    send(&mut model, key(KeyCode::Enter));
    let grantee = Grantee {
        upn: ADMIN.into(),
        client_id: "14d82eec-204b-4c2f-b7e8-296a70dab67e".into(),
        tenant: "contoso.onmicrosoft.com".into(),
        authority_host: "https://login.microsoftonline.com".into(),
    };
    let missing = grantee.consent(permissions::REGISTER.scopes);
    let refused = failure(EngineError::ConsentMissing(Box::new(missing)));
    engine(&mut model, EngineEvent::SignedIn(Err(refused)));
    model
}

#[test]
fn missing_consent_is_explained_on_the_sign_in_page() {
    let mut model = refused_for_consent();
    assert_eq!(title(&model), "sign-in");
    let screen = render(&model, 120, 40);
    for expected in [
        "has no admin consent in this tenant for User.Read,",
        "Privileged Role Administrator",
        "--admin-client-id",
    ] {
        assert!(
            words(&screen).contains(expected),
            "{expected:?} in {screen}"
        );
    }
    // The consent URL, wider than the page, starts a line of its own and
    // runs on over the next lines (cut only because it must be).
    let url = identifier_on(&screen, "https://login.microsoftonline.com/");
    assert!(
        url.contains("/adminconsent?client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e&scope="),
        "{url} in {screen}"
    );
    snapshot("sign-in-consent-missing", &model);
    // At 80x24 the explanation runs past the page: PgDn shows the rest.
    for _ in 0..3 {
        send(&mut model, key(KeyCode::PageDown));
    }
    let screen = render(&model, 80, 24);
    assert!(screen.contains("--admin-client-id"), "{screen}");
    snapshot("sign-in-consent-missing-scrolled", &model);
}

/// The last column with text on each row of `screen` below the header.
fn text_widths(screen: &str) -> Vec<usize> {
    screen
        .lines()
        .skip(3)
        .map(|row| row.trim_matches('"').trim_end().chars().count())
        .collect()
}

/// On a wide terminal sentences wrap at 100 columns, where they stay
/// readable; a URL wider than that still takes the page's width, whole.
#[test]
fn sentences_wrap_at_100_columns_and_identifiers_keep_the_page_width() {
    let welcome = first_pass();
    let widths = text_widths(&render(&welcome, 160, 40));
    // The text starts after a margin of 2.
    let widest = widths.iter().max().copied().unwrap_or(0);
    assert!((90..=102).contains(&widest), "{widths:?}");

    let model = refused_for_consent();
    let screen = render(&model, 160, 40);
    let url_row = screen
        .lines()
        .find(|row| row.contains("https://login.microsoftonline.com/contoso"))
        .unwrap_or_else(|| panic!("no consent URL in {screen}"));
    assert_eq!(
        url_row.trim_matches('"').trim_end().chars().count(),
        158,
        "{screen}"
    );
    // Every other row with words (the URL's rows have none) wraps at 100.
    let rows = screen
        .lines()
        .skip(3)
        .map(|row| row.trim_matches('"').trim_end());
    for row in rows.filter(|row| row.trim().contains(' ')) {
        assert!(row.chars().count() <= 102, "{row:?} in {screen}");
    }
}

/// A tenant given as a domain that the administrator's account is not
/// under is flagged on Connect and Sign in, with what to check, but not
/// refused (other verified domains and guests sign in too). A subdomain, or
/// a tenant given by its id, is not flagged.
#[test]
fn an_account_outside_the_tenants_domain_is_flagged_not_refused() {
    let check = "admin@contoso.onmicrosoft.com is not under fabrikam.com: check that contoso.onmicrosoft.com is a verified domain of that tenant, or that the account is a guest in it; otherwise the sign-in is refused.";
    let mut model = first_pass();
    send(&mut model, key(KeyCode::Enter));
    assert!(!render(&model, 120, 40).contains("is not under"));
    send(&mut model, chord('u', KeyModifiers::CONTROL));
    type_text(&mut model, "fabrikam.com");
    let screen = render(&model, 120, 40);
    assert!(words(&screen).contains(check), "{screen}");
    snapshot("connect-account-outside-tenant", &model);
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "sign-in");
    let screen = render(&model, 120, 40);
    assert!(words(&screen).contains(check), "{screen}");
    snapshot("sign-in-account-outside-tenant", &model);
    for (account, flagged) in [
        ("admin@eu.fabrikam.com", false),
        ("admin@FABRIKAM.COM", false),
        ("admin@notfabrikam.com", true),
    ] {
        send(&mut model, chord('u', KeyModifiers::CONTROL));
        type_text(&mut model, account);
        let screen = render(&model, 120, 40);
        assert_eq!(
            screen.contains("is not under fabrikam.com"),
            flagged,
            "{screen}"
        );
    }
    let command = send(&mut model, key(KeyCode::Enter));
    let signs_in = matches!(started(&command), Some(Task::SignIn { .. }));
    assert!(signs_in, "{command:?}");

    let mut by_id = first_pass();
    send(&mut by_id, key(KeyCode::Enter));
    send(&mut by_id, chord('u', KeyModifiers::CONTROL));
    type_text(&mut by_id, "5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f");
    send(&mut by_id, key(KeyCode::Enter));
    assert_eq!(title(&by_id), "sign-in");
    assert!(!render(&by_id, 120, 40).contains("is not under"));
}

#[test]
fn an_account_without_at_sign_is_refused() {
    let mut model = first_pass();
    drive_to(&mut model, "sign-in");
    clear(&mut model, 60);
    type_text(&mut model, "admin");
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert!(render(&model, 120, 30).contains("\"admin\" is not a user principal name"));
    snapshot("sign-in-invalid", &model);
}

#[test]
fn managed_goes_straight_to_options_and_ready_builds_the_plan() {
    let mut model = first_pass();
    drive_to(&mut model, "method");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "options");
    send(&mut model, key(KeyCode::Char(' ')));
    assert!(model.data.password_writeback);
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "ready");
    assert_eq!(
        command,
        Some(Command::Plan(OperationRequest::Onboard(Onboard {
            method: Method::Managed,
            password_writeback: true,
        })))
    );
    send(&mut model, Message::Planned(Ok(plan())));
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Start {
            op: OpId(2),
            task: Task::Run(plan())
        })
    );
    assert_eq!(title(&model), "configuring");
}

#[test]
fn byoc_picks_a_usable_certificate_only() {
    let mut model = first_pass();
    drive_to(&mut model, "method");
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "certificate");
    // The expired one is refused with its reason.
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "certificate");
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("Cannot be used: it expired on 2026-03-01T00:00:00Z"),
        "{screen}"
    );
    assert!(screen.contains("Choose a usable certificate"), "{screen}");
    snapshot("certificate-refused", &model);
    send(&mut model, key(KeyCode::Up));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "options");
    assert_eq!(model.data.method, MethodAnswer::Byoc);
    assert_eq!(model.data.certificate, Some(hash("AB")));
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(
        title(&model),
        "certificate",
        "back from options returns to the picker"
    );
}

/// The certificate picker on a first pass (BYOC chosen on Method).
fn certificate_picker(context: Context) -> Model {
    let mut model = Model::new(context, data(), Theme { color: false });
    drive_to(&mut model, "method");
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "certificate");
    model
}

/// The table row of the certificate whose subject starts with `subject`.
fn table_row(screen: &str, subject: &str) -> String {
    screen
        .lines()
        .find(|row| row.trim_matches('"').trim_start().starts_with(subject))
        .unwrap_or_else(|| panic!("no row of {subject:?} in {screen}"))
        .to_string()
}

/// Text cut to its column ends with "…"; statuses show whole, and the hash
/// shows whole where the page has room for it beside the subject.
#[test]
fn the_certificate_table_marks_what_it_cuts_and_shows_the_hash_whole_with_room() {
    let mut context = context(ConnectorIdentityType::None);
    let mut sha1 = certificate(
        "12",
        "CN=Entra Connect Sync Provisioning",
        datetime!(2027-06-01 00:00 UTC),
        true,
    );
    sha1.info.signature_algorithm = "sha1WithRSAEncryption".into();
    context.certificates.push(sha1);
    let model = certificate_picker(context);
    let row = table_row(&render(&model, 80, 24), "CN=Entra");
    assert!(row.contains("CN=Entra Connect Sync"), "{row}");
    assert!(row.contains("…  "), "the subject is cut with …: {row}");
    assert!(row.contains(" not SHA-256 "), "{row}");
    assert!(row.contains(&hash("12").short()), "{row}");
    let row = table_row(&render(&model, 120, 40), "CN=Entra");
    assert!(row.contains("CN=Entra Connect Sync Provisioning "), "{row}");
    assert!(row.contains(&hash("12").short()), "{row}");
    let row = table_row(&render(&model, 160, 40), "CN=Entra");
    assert!(row.contains("CN=Entra Connect Sync Provisioning "), "{row}");
    assert!(row.contains(&hash("12").to_string()), "{row}");
    snapshot("certificate-cut", &model);
}

/// The picker starts on the first certificate that can be used, and a
/// refusal goes once the cursor moves to another certificate.
#[test]
fn the_certificate_picker_starts_on_a_usable_one_and_forgets_a_refusal_on_moving() {
    let mut context = context(ConnectorIdentityType::None);
    context.certificates.rotate_left(1);
    assert_eq!(context.certificates[0].info.subject, "CN=Old Sync");
    let mut model = certificate_picker(context);
    let screen = render(&model, 120, 40);
    assert!(screen.contains("Issuer   CN=Contoso Sync"), "{screen}");
    snapshot("certificate-expired-first", &model);
    send(&mut model, key(KeyCode::Up));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "certificate");
    assert!(render(&model, 120, 40).contains("Choose a usable certificate"));
    send(&mut model, key(KeyCode::Down));
    let screen = render(&model, 120, 40);
    assert!(!screen.contains("Choose a usable certificate"), "{screen}");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "options");
    assert_eq!(model.data.certificate, Some(hash("AB")));
}

#[test]
fn byoa_asks_for_a_guid_application_id() {
    let mut model = first_pass();
    drive_to(&mut model, "method");
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "app-id");
    type_text(&mut model, "my-app");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "app-id");
    assert!(render(&model, 120, 30).contains("\"my-app\" is not an application id"));
    snapshot("app-id-invalid", &model);
    clear(&mut model, 6);
    type_text(&mut model, "11111111-2222-3333-4444-555555555555");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "options");
    let app_id = "11111111-2222-3333-4444-555555555555";
    assert_eq!(
        model.data.app_id.as_ref().map(|id| id.as_str()),
        Some(app_id)
    );
    let answers = model.data.answers().unwrap();
    assert_eq!(answers.method, MethodAnswer::Byoa);
    assert_eq!(
        answers.application_app_id.as_ref().map(|id| id.as_str()),
        Some(app_id)
    );
}

/// A field that holds a GUID or a tenant takes no more than the longest
/// of those, as typed or pasted (a paste arrives as keys), and says why.
#[test]
fn a_guid_or_tenant_field_refuses_what_runs_past_the_longest() {
    let pasted = "11111111-2222-3333-4444-555555555555".repeat(8);
    assert_eq!(pasted.len(), 288);
    let mut model = first_pass();
    drive_to(&mut model, "method");
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "app-id");
    type_text(&mut model, &pasted);
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("[11111111-2222-3333-4444-555555555555▏]  36 characters at most: an application id is a GUID"),
        "{screen}"
    );
    snapshot("app-id-too-long", &model);
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "options");
    assert_eq!(
        model.data.app_id.as_ref().map(|id| id.as_str()),
        Some("11111111-2222-3333-4444-555555555555")
    );

    // No administrator known yet: the tenant is not checked against one.
    let mut model = Model::new(
        context(ConnectorIdentityType::None),
        WizardData::default(),
        Theme { color: false },
    );
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "connect");
    // Five labels of 63 letters: the first 253 characters are a domain name.
    type_text(&mut model, &format!("{}.", "a".repeat(63)).repeat(5));
    let screen = words(&render(&model, 120, 40));
    assert!(
        screen.contains(
            "▏] 253 characters at most: a tenant id is a GUID, and no domain name is longer"
        ),
        "{screen}"
    );
    snapshot("connect-too-long", &model);
    // Backspace makes room, and the field stops saying why.
    send(&mut model, key(KeyCode::Backspace));
    assert!(!render(&model, 120, 40).contains("characters at most"));
    type_text(&mut model, "aa");
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "sign-in");
    let tenant = model
        .data
        .connection
        .tenant
        .as_ref()
        .map(|t| t.as_str().len());
    assert_eq!(tenant, Some(253));
}

#[test]
fn ctrl_c_asks_first_and_cancels_a_running_change() {
    let mut model = first_pass();
    assert_eq!(send(&mut model, ctrl_c()), None);
    assert!(model.confirm_quit && !model.quit);
    assert!(render(&model, 80, 24).contains("Quit the wizard? (y/n)"));
    send(&mut model, key(KeyCode::Char('n')));
    assert!(!model.confirm_quit && !model.quit);
    assert_eq!(title(&model), "welcome");

    drive_to(&mut model, "configuring");
    send(&mut model, ctrl_c());
    assert!(
        render(&model, 120, 30)
            .contains("Quit and cancel the running change? The scheduler is put back. (y/n)")
    );
    let running = model.running.expect("the change runs");
    assert_eq!(
        send(&mut model, key(KeyCode::Char('y'))),
        Some(Command::Cancel(running))
    );
    assert!(model.quit);
}

/// q asks the question Ctrl-C asks, on every page that offers it, except on
/// Done, where both quit at once.
#[test]
fn q_asks_as_ctrl_c_does_except_on_done() {
    let mut model = first_pass();
    assert_eq!(send(&mut model, key(KeyCode::Char('q'))), None);
    assert!(model.confirm_quit && !model.quit);
    let screen = render(&model, 80, 24);
    assert!(screen.contains("Quit the wizard? (y/n)"), "{screen}");
    snapshot("welcome-quit-question", &model);
    send(&mut model, key(KeyCode::Char('n')));
    assert!(!model.confirm_quit && !model.quit);
    assert_eq!(title(&model), "welcome");
    send(&mut model, key(KeyCode::Char('q')));
    send(&mut model, key(KeyCode::Char('y')));
    assert!(model.quit);

    let mut tasks = application_server();
    send(&mut tasks, key(KeyCode::Char('q')));
    assert!(tasks.confirm_quit && !tasks.quit);
    assert_eq!(title(&tasks), "tasks");

    // A failed run: q asks too; y quits.
    let mut model = first_pass();
    drive_to(&mut model, "configuring");
    engine(&mut model, EngineEvent::Finished(Err(graph_403())));
    send(&mut model, key(KeyCode::Char('q')));
    assert!(model.confirm_quit && !model.quit);
    send(&mut model, key(KeyCode::Char('y')));
    assert!(model.quit);

    // Done: q and Ctrl-C quit at once.
    for quit in [key(KeyCode::Char('q')), ctrl_c()] {
        let mut model = first_pass();
        drive_to(&mut model, "configuring");
        engine(&mut model, EngineEvent::Finished(Ok(onboarded())));
        assert_eq!(title(&model), "done");
        send(&mut model, quit);
        assert!(model.quit && !model.confirm_quit);
    }
}

/// A window too small for the pages says which keys work there, and they
/// do: q and Ctrl-C ask the quit question, shown on that screen; other keys
/// do nothing to the page it hides (q is not typed into a field).
#[test]
fn a_window_too_small_lists_its_keys_and_they_work() {
    let mut model = first_pass();
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "connect");
    send(&mut model, Message::Resize(Size::new(60, 20)));
    let screen = render(&model, 60, 20);
    assert!(screen.contains("q quit  Ctrl-C quit"), "{screen}");
    assert_eq!(send(&mut model, key(KeyCode::Char('x'))), None);
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert_eq!(title(&model), "connect");
    send(&mut model, key(KeyCode::Char('q')));
    assert!(model.confirm_quit && !model.quit);
    let screen = render(&model, 60, 20);
    assert!(screen.contains("Quit the wizard? (y/n)"), "{screen}");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("too-small-quit-question@60x20", screen));
    send(&mut model, key(KeyCode::Char('n')));
    // Larger again: the page as it was, nothing typed into it.
    send(&mut model, Message::Resize(Size::new(80, 24)));
    let screen = render(&model, 80, 24);
    assert!(screen.contains("[contoso.onmicrosoft.com▏]"), "{screen}");
    send(&mut model, Message::Resize(Size::new(60, 20)));
    send(&mut model, ctrl_c());
    assert!(model.confirm_quit);
    send(&mut model, key(KeyCode::Char('y')));
    assert!(model.quit);
}

#[test]
fn a_failed_step_offers_retry_back_and_quit() {
    let mut model = first_pass();
    drive_to(&mut model, "configuring");
    engine(&mut model, EngineEvent::Finished(Err(graph_403())));
    assert_eq!(title(&model), "configuring");
    assert!(!model.wants_ticks());
    let retry = send(&mut model, key(KeyCode::Char('r')));
    assert_eq!(
        retry,
        Some(Command::Start {
            op: OpId(3),
            task: Task::Run(plan())
        })
    );
    engine(&mut model, EngineEvent::Finished(Err(graph_403())));
    // Back asks for the plan again, worked out from the server as it now is,
    // and Ready shows it.
    let back = send(&mut model, key(KeyCode::Char('b')));
    assert_eq!(title(&model), "ready");
    assert_eq!(back, Some(Command::Plan(onboarding())));
    assert!(render(&model, 120, 40).contains("Working out the changes"));
    // The failed run had made its certificate: the plan says it is kept.
    let mut resuming = plan();
    resuming.steps[2].done_earlier = true;
    send(&mut model, Message::Planned(Ok(resuming.clone())));
    let screen = render(&model, 120, 40);
    for expected in [
        "stopped part way",
        "1. Sign in as Hybrid Identity Administrator (no change)",
        "3. Prepare the certificate (done in an earlier run)",
        "8. Switch the connector to application identity",
    ] {
        assert!(screen.contains(expected), "{expected:?} in {screen}");
    }
    snapshot("ready-after-failure", &model);
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Start {
            op: OpId(4),
            task: Task::Run(resuming)
        })
    );
    assert_eq!(title(&model), "configuring");
}

#[test]
fn a_result_of_a_cancelled_or_replaced_task_is_dropped() {
    let mut model = first_pass();
    drive_to(&mut model, "configuring");
    let current = model.running.expect("the change runs");
    let stale = OpId(current.0 - 1);
    send(
        &mut model,
        Message::Engine(stale, EngineEvent::Finished(Ok(onboarded()))),
    );
    assert_eq!(
        title(&model),
        "configuring",
        "a stale result changes nothing"
    );
    assert_eq!(model.running, Some(current));
    engine(&mut model, EngineEvent::Finished(Ok(onboarded())));
    assert_eq!(title(&model), "done");
    assert_eq!(model.running, None);
}

#[test]
fn second_pass_tasks_follow_the_credential() {
    let service_account = model_on(ConnectorIdentityType::ServiceAccount);
    assert!(
        render(&service_account, 100, 30).contains("Configure application-based authentication")
    );
    let mut application = model_on(ConnectorIdentityType::Application);
    assert!(!render(&application, 100, 30).contains("Configure application-based authentication"));
    // Check this server: the checks are asked for on entering, and shown.
    let command = open_task(&mut application, "Check this server");
    assert_eq!(title(&application), "doctor");
    assert_eq!(command, Some(Command::Doctor));
    assert!(render(&application, 100, 30).contains("Checking: endpoints"));
    send(&mut application, Message::Doctored(findings()));
    let screen = render(&application, 120, 40);
    assert!(screen.contains("[WARN] key store"), "{screen}");
    assert!(
        screen.contains("fix: synchronize this server's clock (NTP)"),
        "{screen}"
    );
    send(&mut application, key(KeyCode::Esc));
    assert_eq!(title(&application), "tasks");
    open_task(&mut application, "Scheduler settings");
    assert_eq!(title(&application), "scheduler");
    // Turning sync cycles off is asked first; n keeps them on.
    assert_eq!(send(&mut application, key(KeyCode::Char('s'))), None);
    assert!(
        words(&render(&application, 120, 40)).contains(
            "Turn sync cycles off? The directory stops synchronizing to Entra until they are turned on again. (y/n)"
        )
    );
    assert_eq!(send(&mut application, key(KeyCode::Char('n'))), None);
    assert!(!render(&application, 120, 40).contains("(y/n)"));
    send(&mut application, key(KeyCode::Char('s')));
    assert_eq!(
        send(&mut application, key(KeyCode::Char('y'))),
        Some(Command::SetScheduler {
            sync_cycle_enabled: Some(false),
            maintenance_enabled: None
        })
    );
    // Turning maintenance off says what stops: automatic rotation of this
    // certificate, and the key audit; Esc only cancels the question.
    assert_eq!(send(&mut application, key(KeyCode::Char('m'))), None);
    let screen = render(&application, 120, 40);
    assert!(
        words(&screen).contains("Turn maintenance off? Automatic rotation stops: the certificate expires on 2027-06-01 and will not be rotated, and the application's keys are no longer audited. (y/n)"),
        "{screen}"
    );
    snapshot("scheduler-maintenance-off", &application);
    assert_eq!(send(&mut application, key(KeyCode::Esc)), None);
    assert_eq!(title(&application), "scheduler");
    send(&mut application, key(KeyCode::Char('m')));
    assert_eq!(
        send(&mut application, key(KeyCode::Char('y'))),
        Some(Command::SetScheduler {
            sync_cycle_enabled: None,
            maintenance_enabled: Some(false)
        })
    );
    // Turning it on again is not asked.
    application.context.scheduler.maintenance_enabled = false;
    assert_eq!(
        send(&mut application, key(KeyCode::Char('m'))),
        Some(Command::SetScheduler {
            sync_cycle_enabled: None,
            maintenance_enabled: Some(true)
        })
    );
    send(&mut application, key(KeyCode::Esc));
    open_task(&mut application, "View or export current configuration");
    assert_eq!(title(&application), "view-config");
    send(&mut application, key(KeyCode::Char('e')));
    let command = send(&mut application, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Export("entra-connect-configuration.json".into()))
    );
}

/// Additional tasks lists only keys that work there (Esc goes nowhere from
/// the top menu); a server still on its service account opens on the switch
/// to application identity; and coming back from a task, the menu is on it.
#[test]
fn the_task_menu_starts_where_it_matters_and_remembers_where_it_was() {
    let mut legacy = model_on(ConnectorIdentityType::ServiceAccount);
    let screen = render(&legacy, 80, 24);
    assert!(
        screen.contains("(•) Configure application-based authentication"),
        "{screen}"
    );
    assert!(
        screen.contains("↑↓ choose  Enter continue  q quit"),
        "{screen}"
    );
    assert!(!screen.contains("Esc"), "{screen}");
    assert_eq!(send(&mut legacy, key(KeyCode::Esc)), None);
    assert_eq!(title(&legacy), "tasks");
    send(&mut legacy, key(KeyCode::Enter));
    assert_eq!(title(&legacy), "connect");
    send(&mut legacy, key(KeyCode::Esc));
    assert_eq!(title(&legacy), "tasks");
    assert!(render(&legacy, 120, 40).contains("(•) Configure application-based authentication"));

    let mut application = application_server();
    assert!(render(&application, 120, 40).contains("(•) View or export current configuration"));
    for (label, page) in [
        ("Check this server", "doctor"),
        ("Scheduler settings", "scheduler"),
        ("Roll back to a service account", "rollback"),
        ("Remove an application key", "keys"),
        ("Review who can sign in as this connector", "sign-in"),
        ("Remove a legacy service account", "sync-accounts"),
        ("Rotate application certificate", "rotate"),
        ("View or export current configuration", "view-config"),
    ] {
        open_task(&mut application, label);
        assert_eq!(title(&application), page);
        send(&mut application, key(KeyCode::Esc));
        assert_eq!(title(&application), "tasks");
        let screen = render(&application, 120, 40);
        assert!(screen.contains(&format!("(•) {label}")), "{screen}");
    }
    // On 80x24 the menu is taller than the page: it follows the cursor.
    for _ in 0..10 {
        send(&mut application, key(KeyCode::Down));
    }
    let screen = render(&application, 80, 24);
    assert!(screen.contains("(•) Scheduler settings"), "{screen}");
    assert!(screen.contains("more above"), "{screen}");
    // From a rotation's plan, back twice: on Rotate.
    open_task(&mut application, "Rotate application certificate");
    send(&mut application, key(KeyCode::Enter));
    assert_eq!(title(&application), "ready");
    send(&mut application, key(KeyCode::Esc));
    send(&mut application, key(KeyCode::Esc));
    assert!(render(&application, 120, 40).contains("(•) Rotate application certificate"));
    snapshot("tasks-back-from-rotate", &application);
}

// --- snapshots of every page in its states --------------------------------------------

#[test]
fn snapshots_first_pass() {
    let mut with_tpm = first_pass();
    with_tpm.context.tpm = TpmCheck::Found(a_tpm());
    snapshot("welcome-tpm", &with_tpm);
    let mut checking = first_pass();
    checking.context.tpm = TpmCheck::Checking;
    snapshot("welcome-checking", &checking);
    let mut model = first_pass();
    snapshot("welcome", &model);
    send(&mut model, key(KeyCode::Enter));
    snapshot("connect", &model);
    send(&mut model, key(KeyCode::Enter));
    snapshot("sign-in", &model);
    send(&mut model, key(KeyCode::Enter));
    snapshot("sign-in-starting", &model);
    engine(
        &mut model,
        EngineEvent::Progress(Progress::SignInCode {
            verification_uri: "https://microsoft.com/devicelogin".into(),
            user_code: "F7K2QWXZ9".into(),
            expires_in_seconds: 900,
        }),
    );
    for _ in 0..23 {
        send(&mut model, Message::Tick);
    }
    snapshot("sign-in-waiting", &model);
    engine(
        &mut model,
        EngineEvent::SignedIn(Err(failure(EntraError::DeviceCodeDeclined.into()))),
    );
    snapshot("sign-in-failed", &model);
    send(&mut model, key(KeyCode::Enter));
    engine(&mut model, EngineEvent::SignedIn(Ok(ADMIN.into())));
    snapshot("method", &model);
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    snapshot("certificate", &model);
    send(&mut model, key(KeyCode::Enter));
    send(&mut model, key(KeyCode::Char(' ')));
    snapshot("options", &model);
    send(&mut model, key(KeyCode::Enter));
    // Nothing to confirm while the plan is worked out: Enter is not offered.
    let planning = render(&model, 120, 40);
    assert!(!planning.contains("make these changes"), "{planning}");
    snapshot("ready-planning", &model);
    send(&mut model, Message::Planned(Ok(plan())));
    // A certificate of the administrator's own: its renewal is theirs, said
    // before the change.
    assert!(
        words(&render(&model, 120, 40)).contains(
            "No automatic rotation: this certificate is yours and expires on 2027-06-01. Renewing it is your job"
        ),
        "{}",
        render(&model, 120, 40)
    );
    snapshot("ready", &model);
    send(&mut model, key(KeyCode::Char('s')));
    // The file name is typed below a plan taller than 80x24: it stays in view.
    let small = render(&model, 80, 24);
    assert!(small.contains("Save answers to"), "{small}");
    snapshot("ready-save-answers", &model);
    send(&mut model, key(KeyCode::Esc));
    send(&mut model, key(KeyCode::Enter));
    let step = |name, title, status| {
        EngineEvent::Progress(Progress::Step {
            operation: "op".into(),
            step: name,
            title,
            status,
        })
    };
    engine(
        &mut model,
        step(
            "sign-in",
            "Sign in as Hybrid Identity Administrator",
            StepStatus::Done {
                detail: "signed in as admin@contoso.onmicrosoft.com".into(),
            },
        ),
    );
    engine(
        &mut model,
        step(
            "disable-scheduler",
            "Disable the sync scheduler for the change",
            StepStatus::Done {
                detail: "SyncCycleEnabled was true, now false until the change is done".into(),
            },
        ),
    );
    engine(
        &mut model,
        step(
            "certificate",
            "Prepare the certificate",
            StepStatus::AlreadyDone,
        ),
    );
    engine(
        &mut model,
        step(
            "application",
            "Register this server's application",
            StepStatus::Running,
        ),
    );
    for _ in 0..37 {
        send(&mut model, Message::Tick);
    }
    snapshot("configuring-running", &model);
    // Closed now (Ctrl-C then y), the summary left on the normal screen says
    // where the change stopped and what was put back; a scheduler that
    // could not be put back is said as such.
    let summary = exit_summary(&model, Some(&Err(failure(EngineError::Cancelled)))).join("\n");
    for said in [
        "entra-connect: The switch to application identity cancelled at step 4 of 9",
        "(Register this server's application)",
        "The scheduler was put back as it was (SyncCycleEnabled restored).",
        "Done before it stopped, and kept for the rerun: Prepare the certificate.",
        "Run entra-connect wizard again to resume it.",
    ] {
        assert!(summary.contains(said), "{said:?} in {summary}");
    }
    let stuck = failure(EngineError::NotSignedIn);
    let summary = exit_summary(&model, Some(&Err(stuck.clone()))).join("\n");
    assert!(
        summary.contains("The scheduler could NOT be put back")
            && !summary.contains("was put back as it was"),
        "{summary}"
    );
    engine(
        &mut model,
        step(
            "application",
            "Register this server's application",
            StepStatus::Retrying {
                why: RetryReason::Throttled { http_status: 429 },
                delay_ms: 1500,
                budget: RetryBudget::Attempts { next: 2, of: 6 },
            },
        ),
    );
    // A retry says how much of its allowance is spent.
    assert!(
        words(&render(&model, 120, 40))
            .contains("throttled (HTTP 429); retrying in 1.5 s (attempt 2 of 6)")
    );
    snapshot("configuring-retrying", &model);
    engine(
        &mut model,
        step(
            "application",
            "Register this server's application",
            StepStatus::Retrying {
                why: RetryReason::NotVisibleYet {
                    what: NewObject::DirectoryObject,
                },
                delay_ms: 1000,
                budget: RetryBudget::Time {
                    waited_ms: 15_400,
                    budget_ms: 300_000,
                },
            },
        ),
    );
    assert!(
        words(&render(&model, 120, 40)).contains("retrying in 1.0 s (0:15 of 5:00)"),
        "{}",
        render(&model, 120, 40)
    );
    engine(
        &mut model,
        step(
            "application",
            "Register this server's application",
            StepStatus::Failed {
                kind: graph_403().kind(),
                message: graph_403().to_string(),
                remedies: graph_403().remedies(),
            },
        ),
    );
    engine(&mut model, EngineEvent::Finished(Err(graph_403())));
    snapshot("configuring-failed", &model);
    send(&mut model, key(KeyCode::Char('r')));
    engine(&mut model, EngineEvent::Finished(Ok(onboarded())));
    assert_eq!(title(&model), "done");
    // A new installation: no service account was replaced, so none is
    // offered for removal; the certificate's renewal is said.
    let fresh = render(&model, 120, 40);
    assert!(!fresh.contains("Sync_"), "{fresh}");
    assert!(!fresh.contains("Recommended next step"), "{fresh}");
    // The app loop reloads the server's configuration after a change: here,
    // the application Managed onboarding made, with maintenance on.
    model.context.configuration = context(ConnectorIdentityType::Application).configuration;
    model
        .context
        .configuration
        .as_mut()
        .unwrap()
        .rollback_service_account = None;
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains(
            "The certificate expires on 2027-06-01 and is rotated automatically before then."
        ),
        "{screen}"
    );
    assert!(!screen.contains("Sync_"), "{screen}");
    // The certificate whole, and with the SHA-1 thumbprint the Entra
    // portal lists it by (Certificates & secrets).
    assert!(
        words(&screen).contains(&format!(
            "Certificate SHA-256 {} Thumbprint (SHA-1) {}",
            hash("AB"),
            "AB".repeat(20)
        )),
        "{screen}"
    );
    snapshot("done", &model);
    // On an existing server the service account it used is the way back:
    // named, and removing it is the administrator's choice.
    model.context.configuration = context(ConnectorIdentityType::Application).configuration;
    let screen = render(&model, 120, 40);
    assert!(
        words(&screen).contains("The connector no longer signs in with Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com; this server keeps it as the way back"),
        "{screen}"
    );
    snapshot("done-with-way-back", &model);
}

#[test]
fn snapshots_plan_refused_and_empty_store() {
    let mut model = first_pass();
    drive_to(&mut model, "options");
    send(&mut model, key(KeyCode::Enter));
    let refusal = EngineError::StepRefused {
        step: "Prepare the certificate",
        refusal: Box::new(EngineError::Key(KeyError::NotFound(hash("AB")))),
    };
    send(&mut model, Message::Planned(Err(failure(refusal))));
    snapshot("ready-refused", &model);

    let mut empty = Model::new(
        Context {
            certificates: Vec::new(),
            ..context(ConnectorIdentityType::None)
        },
        WizardData {
            method: MethodAnswer::Byoc,
            ..data()
        },
        Theme { color: false },
    );
    drive_to(&mut empty, "method");
    send(&mut empty, key(KeyCode::Down));
    send(&mut empty, key(KeyCode::Enter));
    send(&mut empty, key(KeyCode::Enter));
    snapshot("certificate-empty-store", &empty);
}

#[test]
fn snapshots_second_pass() {
    let mut model = model_on(ConnectorIdentityType::ServiceAccount);
    snapshot("tasks-service-account", &model);
    open_task(&mut model, "View or export current configuration");
    snapshot("view-config-service-account", &model);
    let mut model = model_on(ConnectorIdentityType::Application);
    snapshot("tasks-application", &model);
    send(&mut model, key(KeyCode::Enter));
    snapshot("view-config-application", &model);
    send(&mut model, key(KeyCode::Char('e')));
    snapshot("view-config-exporting", &model);
    send(&mut model, key(KeyCode::Enter));
    send(
        &mut model,
        Message::Exported(Ok("entra-connect-configuration.json".into())),
    );
    snapshot("view-config-exported", &model);
    send(&mut model, key(KeyCode::Esc));
    open_task(&mut model, "Check this server");
    snapshot("doctor-checking", &model);
    send(&mut model, Message::Doctored(findings()));
    snapshot("doctor", &model);
    send(&mut model, key(KeyCode::Esc));
    open_task(&mut model, "Scheduler settings");
    snapshot("scheduler", &model);
}

// --- the credential's life: rotation and key removal ------------------------------------

/// The configuration view shows the facts `config export` prints (the
/// application's keys are read from the tenant only by the export, and it
/// says so); on a small window the rest is scrolled to.
#[test]
fn the_configuration_view_shows_what_config_export_shows() {
    let mut model = model_on(ConnectorIdentityType::Application);
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "view-config");
    let screen = words(&render(&model, 120, 40));
    for fact in [
        "Installation id 0123456789ab",
        "Rollback service account Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com",
        "Service principal id 22222222-3333-4444-5555-666666666666",
        "Application managed by EntraConnect",
        "Key store Software",
        "Key algorithm RSA 2048",
        "Signature algorithm sha256WithRSAEncryption",
        "Keys and secrets read from the tenant by the export (e), each with the audit's verdict",
    ] {
        assert!(screen.contains(fact), "{fact:?} not in: {screen}");
    }
    let small = render(&model, 80, 24);
    assert!(small.contains("more below"), "{small}");
    send(&mut model, key(KeyCode::End));
    let end = words(&render(&model, 80, 24));
    assert!(
        end.contains("Keys and secrets read from the tenant"),
        "{end}"
    );

    let mut model = model_on(ConnectorIdentityType::ServiceAccount);
    open_task(&mut model, "View or export current configuration");
    let screen = words(&render(&model, 120, 40));
    assert!(screen.contains("Installation id 0123456789ab"), "{screen}");
    assert!(!screen.contains("Keys and secrets"), "{screen}");
}

/// A second pass on a server whose connector signs in with an application.
fn application_server() -> Model {
    Model::new(
        context(ConnectorIdentityType::Application),
        WizardData::default(),
        Theme { color: false },
    )
}

/// A plan on the second pass of the application server, with the
/// administrator `admin` (none: "").
fn application_plan(admin: &str, request: OperationRequest) -> Plan {
    let target = Target {
        tenant: "5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f".into(),
        admin_upn: admin.into(),
    };
    engine_plan(Planning::Application { way_back: true }, target, request)
}

fn keys() -> Vec<ApplicationKey> {
    let key = |id: &str, thumbprint: &str, origin| ApplicationKey {
        key_id: id.into(),
        thumbprint: Some(thumbprint.repeat(20)),
        start: Some("2026-06-01T00:00:00Z".into()),
        end: Some("2027-06-01T00:00:00Z".into()),
        origin,
    };
    vec![
        key(
            "0aaaaaaa-1111-2222-3333-444444444444",
            "AB",
            KeyOrigin::InUse,
        ),
        key(
            "0bbbbbbb-1111-2222-3333-444444444444",
            "CD",
            KeyOrigin::ThisServer,
        ),
        key(
            "0ccccccc-1111-2222-3333-444444444444",
            "99",
            KeyOrigin::Unknown,
        ),
    ]
}

#[test]
fn rotating_the_certificate_from_the_second_pass() {
    let mut model = application_server();
    let screen = render(&model, 100, 30);
    assert!(
        screen.contains("Rotate application certificate"),
        "{screen}"
    );
    assert!(screen.contains("Remove an application key"), "{screen}");
    // An administrator known from elsewhere (wizard --sandbox knows one) is
    // not offered: the application rotates its own key.
    model.data.upn = Some(ADMIN.parse().unwrap());
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "rotate");
    let screen = render(&model, 100, 30);
    assert!(!screen.contains(ADMIN), "{screen}");
    snapshot("rotate-managed", &model);

    // A malformed administrator is refused on the page; none at all is the usual case.
    type_text(&mut model, "not-an-account");
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert_eq!(title(&model), "rotate");
    assert!(render(&model, 100, 30).contains("Administrator:"));
    clear(&mut model, "not-an-account".len());
    let command = send(&mut model, key(KeyCode::Enter));
    let managed = OperationRequest::Rotate(Rotate {
        certificate: NewCertificate::Managed {
            days: Default::default(),
        },
    });
    assert_eq!(command, Some(Command::Plan(managed.clone())));
    assert_eq!(model.data.upn, None);
    assert_eq!(title(&model), "ready");
    send(
        &mut model,
        Message::Planned(Ok(application_plan("", managed.clone()))),
    );
    snapshot("ready-rotate", &model);
    // No answers file for a rotation; no first-pass steps in the header.
    assert_eq!(send(&mut model, key(KeyCode::Char('s'))), None);
    assert!(!render(&model, 120, 40).contains("Welcome"));

    let command = send(&mut model, key(KeyCode::Enter));
    assert!(
        matches!(&command, Some(Command::Start { task: Task::Run(plan), .. }) if plan.request == managed),
        "{command:?}"
    );
    assert_eq!(title(&model), "configuring");
    engine(
        &mut model,
        EngineEvent::Finished(Ok(Outcome::Rotated(Rotation {
            app_id: "11111111-2222-3333-4444-555555555555".into(),
            old_certificate_sha256: hash("AB"),
            new_certificate_sha256: hash("12"),
            path: RotationPath::Application,
            why: PathReason::CurrentValid,
            old_key: OldKeyRemoval::NotRemoved {
                key_id: Some("0aaaaaaa-1111-2222-3333-444444444444".into()),
                reason: "Graph answered 503".into(),
                command: "entra-connect app remove-key --certificate-id 0aaaaaaa-1111-2222-3333-444444444444".into(),
            },
            old_certificate_deleted: true,
            warnings: vec!["the old key was not removed from the application".into()],
            old_certificate_thumbprint: Some("AB".repeat(20)),
            new_certificate_thumbprint: "12".repeat(20),
        }))),
    );
    assert_eq!(title(&model), "done");
    snapshot("done-rotated", &model);
    let screen = render(&model, 120, 40);
    // Both certificates whole, each with its SHA-1 thumbprint (as onboarding's Done shows them).
    for expected in [
        format!(
            "New certificate {} New thumbprint (SHA-1) {}",
            hash("12"),
            "12".repeat(20)
        ),
        format!(
            "Old certificate {} (deleted from the key store) Old thumbprint (SHA-1) {}",
            hash("AB"),
            "AB".repeat(20)
        ),
    ] {
        assert!(
            words(&screen).contains(&expected),
            "{expected:?} not in: {screen}"
        );
    }
    // On a small window the rest of the page is scrolled to.
    let small = render(&model, 80, 24);
    assert!(small.contains("more below"), "{small}");
    send(&mut model, key(KeyCode::End));
    let end = words(&render(&model, 80, 24));
    assert!(end.contains("rotated automatically before then"), "{end}");
    assert!(
        screen
            .contains("NOT removed (Graph answered 503): remove it with Remove an application key"),
        "{screen}"
    );
    assert!(
        !screen.contains("entra-connect app"),
        "no command line in the wizard: {screen}"
    );
    // A certificate of the administrator's own (BYOC, BYOA) is not rotated
    // automatically: Done says its renewal is theirs, and by when.
    let certificate = model
        .context
        .configuration
        .as_mut()
        .and_then(|configuration| configuration.certificate.as_mut())
        .expect("the application's certificate");
    certificate.managed_by = ManagedBy::Customer;
    certificate.automatic_rotation_enabled = false;
    let screen = render(&model, 120, 40);
    assert!(
        words(&screen).contains("No automatic rotation: this certificate is yours and expires on 2027-06-01. Renewing it is your job"),
        "{screen}"
    );
}

#[test]
fn rotating_to_a_certificate_of_yours_with_an_administrator() {
    let mut context = context(ConnectorIdentityType::Application);
    let configuration = context.configuration.as_mut().unwrap();
    configuration.certificate.as_mut().unwrap().managed_by = ManagedBy::Customer;
    context.certificates.push(certificate(
        "12",
        "CN=Contoso Sync 2027",
        datetime!(2027-12-01 00:00 UTC),
        true,
    ));
    let mut model = Model::new(context, WizardData::default(), Theme { color: false });
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Enter));
    // Every certificate of yours but the one in use is listed; those that
    // cannot be used say why, and the cursor starts on the first usable one.
    let screen = render(&model, 120, 40);
    assert!(screen.contains("(•) CN=Contoso Sync 2027"), "{screen}");
    assert!(
        screen.contains("( ) CN=Old Sync (unusable: expired)"),
        "{screen}"
    );
    assert!(
        screen.contains("( ) CN=Keyless (unusable: no key)"),
        "{screen}"
    );
    assert_eq!(screen.matches("CN=Contoso Sync").count(), 1, "{screen}");
    // The hash whole where it fits beside its date, shortened where not.
    assert!(
        screen.contains(&format!("{}, until 2027-12-01", hash("12"))),
        "{screen}"
    );
    let narrow = render(&model, 80, 24);
    assert!(
        narrow.contains(&format!("{}, until 2027-12-01", hash("12").short())),
        "{narrow}"
    );
    snapshot("rotate-yours", &model);
    // An unusable one is refused with its reason, which goes once the cursor moves.
    send(&mut model, key(KeyCode::Up));
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert_eq!(title(&model), "rotate");
    let refusal =
        "CN=Keyless cannot be used: its private key is missing. Choose a usable certificate.";
    assert!(words(&render(&model, 120, 40)).contains(refusal));
    snapshot("rotate-yours-refused", &model);
    send(&mut model, key(KeyCode::Down));
    assert!(!words(&render(&model, 120, 40)).contains(refusal));
    send(&mut model, key(KeyCode::Tab));
    type_text(&mut model, "app.admin@contoso.onmicrosoft.com");
    // At 80x24 the page scrolls to the field being typed in.
    let narrow = render(&model, 80, 24);
    assert!(
        narrow.contains("Administrator     [app.admin@contoso.onmicrosoft.com▏]"),
        "{narrow}"
    );
    let command = send(&mut model, key(KeyCode::Enter));
    let request = OperationRequest::Rotate(Rotate {
        certificate: NewCertificate::Existing(hash("12")),
    });
    assert_eq!(command, Some(Command::Plan(request)));
    assert_eq!(
        model.data.upn.as_ref().map(ToString::to_string).as_deref(),
        Some("app.admin@contoso.onmicrosoft.com")
    );
    // Back from Ready returns to the rotation page, then to the tasks.
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "rotate");
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "tasks");
}

#[test]
fn removing_a_key_lists_them_and_refuses_the_one_in_use() {
    let mut model = application_server();
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Down));
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(title(&model), "keys");
    assert_eq!(command, Some(Command::ListKeys));
    snapshot("keys-reading", &model);
    send(&mut model, Message::KeysListed(Ok(keys())));
    // Each key with the dates it is valid between, not only its end.
    let screen = render(&model, 80, 24);
    assert_eq!(
        screen.matches("valid 2026-06-01 to 2027-06-01;").count(),
        3,
        "{screen}"
    );
    snapshot("keys", &model);
    // The key in use: refused, with what to do instead.
    send(&mut model, key(KeyCode::Up));
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert_eq!(title(&model), "keys");
    let screen = render(&model, 120, 40);
    assert!(screen.contains("rotate first"), "{screen}");
    // The unknown key.
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Down));
    let command = send(&mut model, key(KeyCode::Enter));
    let request = OperationRequest::RemoveKey(RemoveKey {
        key_id: "0ccccccc-1111-2222-3333-444444444444".into(),
    });
    assert_eq!(command, Some(Command::Plan(request.clone())));
    assert_eq!(title(&model), "ready");
    // Back reads the keys again (one may have changed meanwhile).
    assert_eq!(send(&mut model, key(KeyCode::Esc)), Some(Command::ListKeys));
    assert_eq!(title(&model), "keys");
    send(
        &mut model,
        Message::KeysListed(Err(failure(EngineError::NoApplicationCredential))),
    );
    snapshot("keys-unreadable", &model);

    let mut model = application_server();
    model.page = Page::Configuring(entra_connect::tui::pages::configuring::State::new(
        application_plan("", request),
    ));
    model.running = Some(OpId(7));
    send(
        &mut model,
        Message::Engine(
            OpId(7),
            EngineEvent::Finished(Ok(Outcome::KeyRemoved(RemovedKey {
                app_id: "11111111-2222-3333-4444-555555555555".into(),
                key_id: "0ccccccc-1111-2222-3333-444444444444".into(),
                thumbprint: Some("99".repeat(20)),
            }))),
        ),
    );
    assert_eq!(title(&model), "done");
    let screen = words(&render(&model, 120, 40));
    assert!(
        screen.contains(&format!("Thumbprint (SHA-1) {}", "99".repeat(20))),
        "{screen}"
    );
    snapshot("done-key-removed", &model);
}

#[test]
fn an_administrators_device_code_shows_while_a_rotation_runs() {
    let mut model = application_server();
    model.page = Page::Configuring(entra_connect::tui::pages::configuring::State::new(
        application_plan(
            "app.admin@contoso.onmicrosoft.com",
            OperationRequest::Rotate(Rotate {
                certificate: NewCertificate::Managed {
                    days: Default::default(),
                },
            }),
        ),
    ));
    model.running = Some(OpId(3));
    let progress = |p| Message::Engine(OpId(3), EngineEvent::Progress(p));
    send(
        &mut model,
        progress(Progress::SignInCode {
            verification_uri: "https://microsoft.com/devicelogin".into(),
            user_code: "ABCD-EFGH".into(),
            expires_in_seconds: 900,
        }),
    );
    let screen = render(&model, 120, 40);
    assert!(
        words(&screen).contains("enter the code ABCD-EFGH"),
        "{screen}"
    );
    send(
        &mut model,
        progress(Progress::Step {
            operation: "rotate".into(),
            step: "sign-in",
            title: "Sign in",
            status: StepStatus::Done {
                detail: String::new(),
            },
        }),
    );
    assert!(!render(&model, 120, 40).contains("ABCD-EFGH"));
}

// --- the way back: rollback and the legacy accounts -------------------------------------

const WAY_BACK: &str = "Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com";

/// Opens the task `label` of Additional tasks: to the top, Down until it is
/// chosen, then Enter.
fn open_task(model: &mut Model, label: &str) -> Option<Command> {
    for _ in 0..10 {
        send(model, key(KeyCode::Up));
    }
    for _ in 0..10 {
        if render(model, 120, 40).contains(&format!("(•) {label}")) {
            return send(model, key(KeyCode::Enter));
        }
        send(model, key(KeyCode::Down));
    }
    panic!("no task {label:?} on:\n{}", render(model, 120, 40));
}

/// The rollback's plan, signing in as [`ADMIN`] if a new account is needed;
/// `way_back`: this server kept its legacy account.
fn rollback_plan(wait: bool, way_back: bool) -> Plan {
    let target = Target {
        tenant: "5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f".into(),
        admin_upn: ADMIN.into(),
    };
    let request = OperationRequest::RollBack(RollBack { wait });
    engine_plan(Planning::Application { way_back }, target, request)
}

/// The model on `page` with `plan` running as task 5, as Configuring shows it.
fn configuring(mut model: Model, plan: Plan) -> Model {
    model.page = Page::Configuring(entra_connect::tui::pages::configuring::State::new(plan));
    model.running = Some(OpId(5));
    model
}

#[test]
fn rolling_back_explains_the_way_back_and_plans_with_the_choices() {
    let mut model = model_on(ConnectorIdentityType::Application);
    let screen = render(&model, 100, 30);
    assert!(
        screen.contains("Roll back to a service account"),
        "{screen}"
    );
    open_task(&mut model, "Roll back to a service account");
    assert_eq!(title(&model), "rollback");
    let screen = render(&model, 120, 40);
    for expected in [
        WAY_BACK,
        "nothing changes in the directory",
        "the application stays in place",
        "up to 15 minutes",
        &format!("[{ADMIN}"),
        "[x] Wait for a new account to sign in",
    ] {
        assert!(
            words(&screen).contains(expected),
            "{expected:?} in {screen}"
        );
    }
    snapshot("rollback", &model);

    // A malformed administrator is refused; none at all is allowed (the retained account may do).
    type_text(&mut model, "!");
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert!(render(&model, 120, 40).contains("Administrator:"));
    clear(&mut model, 60);
    send(&mut model, key(KeyCode::Tab));
    send(&mut model, key(KeyCode::Char(' ')));
    assert!(render(&model, 120, 40).contains("[ ] Wait for a new account"));
    let command = send(&mut model, key(KeyCode::Enter));
    let no_wait = OperationRequest::RollBack(RollBack { wait: false });
    assert_eq!(command, Some(Command::Plan(no_wait.clone())));
    assert_eq!(model.data.upn, None);
    assert_eq!(title(&model), "ready");
    // Back keeps the choice.
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "rollback");
    assert!(render(&model, 120, 40).contains("[ ] Wait for a new account"));
    send(&mut model, key(KeyCode::Tab));
    send(&mut model, key(KeyCode::Char(' ')));
    type_text(&mut model, ADMIN);
    let wait = OperationRequest::RollBack(RollBack { wait: true });
    assert_eq!(
        send(&mut model, key(KeyCode::Enter)),
        Some(Command::Plan(wait.clone()))
    );
    send(&mut model, Message::Planned(Ok(rollback_plan(true, true))));
    let screen = render(&model, 120, 40);
    assert!(screen.contains("Ready to roll back"), "{screen}");
    assert!(!screen.contains("Welcome"), "{screen}");
    snapshot("ready-rollback", &model);
    assert_eq!(send(&mut model, key(KeyCode::Char('s'))), None);

    let command = send(&mut model, key(KeyCode::Enter));
    assert!(
        matches!(&command, Some(Command::Start { task: Task::Run(plan), .. }) if plan.request == wait),
        "{command:?}"
    );
    assert_eq!(title(&model), "configuring");
    engine(
        &mut model,
        EngineEvent::Finished(Ok(Outcome::RolledBack(RolledBack {
            user_principal_name: WAY_BACK.into(),
            created: false,
            verified: true,
            warnings: Vec::new(),
        }))),
    );
    assert_eq!(title(&model), "done");
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("Rolled back: the connector signs in with a service account again."),
        "{screen}"
    );
    snapshot("done-rolled-back", &model);
}

#[test]
fn rolling_back_without_a_retained_account_needs_an_administrator() {
    let mut context = context(ConnectorIdentityType::Application);
    if let Some(report) = context.configuration.as_mut() {
        report.rollback_service_account = None;
    }
    let mut model = Model::new(context, WizardData::default(), Theme { color: false });
    open_task(&mut model, "Roll back to a service account");
    send(&mut model, key(KeyCode::Tab));
    send(&mut model, key(KeyCode::Char(' ')));
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("This server kept no service account, so a new one is created."),
        "{screen}"
    );
    snapshot("rollback-new-account", &model);

    // A new account was made; the rollback's warnings show on Done.
    let mut model = configuring(model, rollback_plan(false, false));
    send(
        &mut model,
        Message::Engine(
            OpId(5),
            EngineEvent::Progress(Progress::SignInCode {
                verification_uri: "https://microsoft.com/devicelogin".into(),
                user_code: "WXYZ-1234".into(),
                expires_in_seconds: 900,
            }),
        ),
    );
    assert!(words(&render(&model, 120, 40)).contains("enter the code WXYZ-1234"));
    send(
        &mut model,
        Message::Engine(
            OpId(5),
            EngineEvent::Finished(Ok(Outcome::RolledBack(RolledBack {
                user_principal_name: "Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com".into(),
                created: true,
                verified: false,
                warnings: vec![
                    "the new account was not waited for: the connector may fail to sign in for up to 15 minutes".into(),
                ],
            }))),
        ),
    );
    assert_eq!(title(&model), "done");
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("new (the retained one no longer signed in)"),
        "{screen}"
    );
    snapshot("done-rolled-back-new-account", &model);
}

fn sync_account(upn: &str, use_on_this_server: AccountUse) -> SyncAccount {
    SyncAccount {
        user_principal_name: upn.into(),
        use_on_this_server,
    }
}

/// The tenant's directory synchronization accounts as an application server sees them.
fn sync_accounts() -> Vec<SyncAccount> {
    vec![
        sync_account(WAY_BACK, AccountUse::WayBack),
        sync_account(
            "Sync_CONNECT02_fedcba987654@contoso.onmicrosoft.com",
            AccountUse::None,
        ),
        sync_account(
            "Sync_OLDSYNC_00aa11bb22cc@contoso.onmicrosoft.com",
            AccountUse::None,
        ),
    ]
}

fn removal(name: &str, forget_rollback: bool) -> OperationRequest {
    OperationRequest::RemoveServiceAccount(RemoveServiceAccount {
        name: name.parse().unwrap(),
        forget_rollback,
    })
}

fn removal_plan(request: OperationRequest) -> Plan {
    let target = Target {
        tenant: "5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f".into(),
        admin_upn: USER_ADMIN.into(),
    };
    engine_plan(Planning::Application { way_back: true }, target, request)
}

const USER_ADMIN: &str = "user.admin@contoso.onmicrosoft.com";

/// The engine task `command` starts, if it starts one.
fn started(command: &Option<Command>) -> Option<&Task> {
    match command {
        Some(Command::Start { task, .. }) => Some(task),
        _ => None,
    }
}

/// `command` starts the sign-in and read of the legacy accounts.
fn assert_lists_the_accounts(command: Option<Command>) {
    let lists = matches!(started(&command), Some(Task::ListSyncAccounts { .. }));
    assert!(lists, "{command:?}");
}

#[test]
fn removing_a_legacy_account_signs_in_lists_and_confirms_the_way_back() {
    let mut model = application_server();
    assert_eq!(
        open_task(&mut model, "Remove a legacy service account"),
        None
    );
    assert_eq!(title(&model), "sync-accounts");
    // The administrator is required here.
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert!(render(&model, 120, 40).contains("Enter the administrator who lists the accounts."));
    type_text(&mut model, USER_ADMIN);
    snapshot("sync-accounts-administrator", &model);
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Start {
            op: OpId(1),
            task: Task::ListSyncAccounts {
                admin: USER_ADMIN.parse().unwrap()
            }
        })
    );
    assert!(model.wants_ticks(), "the spinner animates while reading");
    // (Esc gives the sign-in up: esc_gives_up_the_legacy_accounts_sign_in.)
    // Ctrl-C says what quitting abandons.
    engine(
        &mut model,
        EngineEvent::Progress(Progress::SignInCode {
            verification_uri: "https://microsoft.com/devicelogin".into(),
            user_code: "ABCD-EFGH".into(),
            expires_in_seconds: 900,
        }),
    );
    assert!(words(&render(&model, 120, 40)).contains("enter the code ABCD-EFGH"));
    snapshot("sync-accounts-reading", &model);
    send(&mut model, ctrl_c());
    assert!(
        render(&model, 120, 40)
            .contains("Quit? The sign-in is abandoned; nothing has been changed. (y/n)")
    );
    send(&mut model, key(KeyCode::Char('n')));

    engine(
        &mut model,
        EngineEvent::SyncAccountsListed(Ok(sync_accounts())),
    );
    assert!(!model.wants_ticks());
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("(•) Sync_CONNECT02_fedcba987654"),
        "{screen}"
    );
    assert!(
        screen.contains("kept by this server as the way back"),
        "{screen}"
    );
    assert!(screen.contains("not used by this server"), "{screen}");
    snapshot("sync-accounts", &model);

    // The way back: only after an explicit yes, which forgets it.
    send(&mut model, key(KeyCode::Up));
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert_eq!(title(&model), "sync-accounts");
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("Remove it and forget the way back? (y/n)"),
        "{screen}"
    );
    snapshot("sync-accounts-way-back", &model);
    assert_eq!(send(&mut model, key(KeyCode::Esc)), None);
    assert_eq!(
        title(&model),
        "sync-accounts",
        "Esc only cancels the question"
    );
    assert!(!render(&model, 120, 40).contains("(y/n)"));
    send(&mut model, key(KeyCode::Enter));
    let forget = removal("Sync_CONNECT01_0123456789ab", true);
    assert_eq!(
        send(&mut model, key(KeyCode::Char('y'))),
        Some(Command::Plan(forget))
    );
    assert_eq!(title(&model), "ready");

    // Back: the administrator stays; the accounts are read again.
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "sync-accounts");
    assert!(render(&model, 120, 40).contains(&format!("[{USER_ADMIN}")));
    assert_lists_the_accounts(send(&mut model, key(KeyCode::Enter)));
    engine(
        &mut model,
        EngineEvent::SyncAccountsListed(Ok(sync_accounts())),
    );
    let other = removal("Sync_CONNECT02_fedcba987654", false);
    assert_eq!(
        send(&mut model, key(KeyCode::Enter)),
        Some(Command::Plan(other.clone()))
    );
    send(
        &mut model,
        Message::Planned(Ok(removal_plan(other.clone()))),
    );
    let screen = render(&model, 120, 40);
    assert!(screen.contains("Ready to remove the account"), "{screen}");
    snapshot("ready-remove-account", &model);
    let command = send(&mut model, key(KeyCode::Enter));
    assert!(
        matches!(&command, Some(Command::Start { task: Task::Run(plan), .. }) if plan.request == other),
        "{command:?}"
    );
    let screen = removed(
        &mut model,
        "Sync_CONNECT02_fedcba987654@contoso.onmicrosoft.com",
        false,
    );
    assert!(
        screen.contains("unchanged: the account was not this server's way back"),
        "{screen}"
    );
    snapshot("done-account-removed", &model);
}

/// The removal of `upn` finished (the way back forgotten or not): the Done
/// page, rendered at 120x40.
fn removed(model: &mut Model, upn: &str, way_back_forgotten: bool) -> String {
    engine(
        model,
        EngineEvent::Finished(Ok(Outcome::ServiceAccountRemoved(RemovedAccount {
            user_principal_name: upn.into(),
            way_back_forgotten,
        }))),
    );
    assert_eq!(title(model), "done");
    render(model, 120, 40)
}

/// "Remove a legacy service account" on an application server, read as
/// [`USER_ADMIN`]: `listed`, as the tenant answered.
fn legacy_accounts_read(listed: Result<Vec<SyncAccount>, Failure>) -> Model {
    let mut model = application_server();
    open_task(&mut model, "Remove a legacy service account");
    type_text(&mut model, USER_ADMIN);
    send(&mut model, key(KeyCode::Enter));
    engine(&mut model, EngineEvent::SyncAccountsListed(listed));
    model
}

/// Done after removing the way back says it is forgotten (it said "kept
/// by this server as the way back", the account's use before the removal).
#[test]
fn removing_the_way_back_says_it_is_forgotten() {
    let mut model = legacy_accounts_read(Ok(sync_accounts()));
    send(&mut model, key(KeyCode::Up));
    send(&mut model, key(KeyCode::Enter));
    let forget = removal("Sync_CONNECT01_0123456789ab", true);
    assert_eq!(
        send(&mut model, key(KeyCode::Char('y'))),
        Some(Command::Plan(forget.clone()))
    );
    send(&mut model, Message::Planned(Ok(removal_plan(forget))));
    send(&mut model, key(KeyCode::Enter));
    let screen = removed(
        &mut model,
        "Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com",
        true,
    );
    assert!(
        screen.contains("forgotten: it was this server's; a rollback now needs a new account"),
        "{screen}"
    );
    assert!(!screen.contains("kept by this server"), "{screen}");
    snapshot("done-way-back-removed", &model);
}

#[test]
fn the_account_in_use_cannot_be_removed_and_a_refusal_can_be_retried() {
    let mut model = model_on(ConnectorIdentityType::ServiceAccount);
    let screen = render(&model, 100, 30);
    assert!(
        screen.contains("Remove a legacy service account"),
        "{screen}"
    );
    assert!(!screen.contains("Roll back"), "{screen}");
    open_task(&mut model, "Remove a legacy service account");
    assert_eq!(title(&model), "sync-accounts");
    // The wizard's administrator is offered; a Hybrid Identity Administrator is refused.
    assert!(render(&model, 120, 40).contains(&format!("[{ADMIN}")));
    send(&mut model, key(KeyCode::Enter));
    let refused = EngineError::RoleMissing {
        upn: ADMIN.into(),
        roles: "User Administrator, Privileged Authentication Administrator, Global Administrator"
            .into(),
    };
    engine(
        &mut model,
        EngineEvent::SyncAccountsListed(Err(failure(refused))),
    );
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("The accounts could not be read:"),
        "{screen}"
    );
    snapshot("sync-accounts-unreadable", &model);
    // Another administrator, and Enter reads again.
    clear(&mut model, 60);
    type_text(&mut model, USER_ADMIN);
    assert_lists_the_accounts(send(&mut model, key(KeyCode::Enter)));
    engine(
        &mut model,
        EngineEvent::SyncAccountsListed(Ok(vec![
            sync_account(
                "Sync_CONNECT01_0123456789ab@contoso.onmicrosoft.com",
                AccountUse::InUse,
            ),
            sync_account(
                "Sync_CONNECT02_fedcba987654@contoso.onmicrosoft.com",
                AccountUse::None,
            ),
        ])),
    );
    send(&mut model, key(KeyCode::Up));
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("The connector signs in with this account"),
        "{screen}"
    );
    snapshot("sync-accounts-in-use", &model);
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "tasks");
}

// --- Review who can sign in as this connector ------------------------------------------

const APP_ADMIN: &str = "app.admin@contoso.onmicrosoft.com";
const PLANTED_SECRET: &str = "0ddddddd-1111-2222-3333-444444444444";
const APPLICATION_OBJECT: &str = "33333333-4444-5555-6666-777777777777";
const SERVICE_PRINCIPAL: &str = "22222222-3333-4444-5555-666666666666";

/// An item of the audit; `removable`: `app revoke` may remove it.
fn audit_item(
    kind: AuditKind,
    id: &str,
    name: Option<&str>,
    detail: &str,
    verdict: AuditVerdict,
    removable: bool,
) -> AuditItem {
    let on = match kind {
        AuditKind::CertificateKey | AuditKind::ClientSecret => APPLICATION_OBJECT,
        _ => SERVICE_PRINCIPAL,
    };
    let label = [name, Some(detail)].into_iter().flatten();
    AuditItem {
        kind,
        id: id.into(),
        display_name: name.map(Into::into),
        detail: Some(detail.into()),
        start: Some("2026-06-01T00:00:00Z".into()),
        end: (kind != AuditKind::AppRole).then(|| "2027-06-01T00:00:00Z".into()),
        verdict,
        revoke: removable.then(|| Revocation::Run(NextCommand::Revoke { id: id.into() })),
        removal: removable.then(|| Removal {
            kind,
            id: id.into(),
            on: on.into(),
            label: label.collect::<Vec<_>>().join(", "),
            graph_app_role: false,
        }),
    }
}

/// What an Application Administrator reads of the connector of
/// [`application_server`]: the key in use, a key this server added, the
/// sync role, and, with `planted`, a client secret someone else added.
fn audit(planted: bool) -> Audit {
    let mut items = vec![
        audit_item(
            AuditKind::CertificateKey,
            "0aaaaaaa-1111-2222-3333-444444444444",
            None,
            &format!("thumbprint {}", "AB".repeat(20)),
            AuditVerdict::InUse,
            false,
        ),
        audit_item(
            AuditKind::CertificateKey,
            "0bbbbbbb-1111-2222-3333-444444444444",
            None,
            &format!("thumbprint {}", "CD".repeat(20)),
            AuditVerdict::ThisServer,
            true,
        ),
        audit_item(
            AuditKind::AppRole,
            "3eeeeeee-1111-2222-3333-444444444444",
            Some("ADSynchronization.ReadWrite.All"),
            "on Microsoft Entra AD Synchronization Service",
            AuditVerdict::Expected,
            false,
        ),
    ];
    if planted {
        items.insert(
            2,
            audit_item(
                AuditKind::ClientSecret,
                PLANTED_SECRET,
                Some("planted"),
                "hint Zx9",
                AuditVerdict::Unknown,
                true,
            ),
        );
    }
    Audit {
        app_id: "11111111-2222-3333-4444-555555555555".into(),
        items,
        needs_administrator: Vec::new(),
    }
}

/// The revocation of the planted secret, as `revoke::choose` makes it.
fn revocation() -> Revoke {
    let secret = audit(true).items.remove(2);
    Revoke {
        removals: secret.removal.into_iter().collect(),
    }
}

/// Opens the review on [`application_server`] and signs in as [`APP_ADMIN`]
/// with a password; the task it starts.
fn review_signed_in_with_a_password(model: &mut Model) -> Option<Command> {
    assert_eq!(
        open_task(model, "Review who can sign in as this connector"),
        None
    );
    assert_eq!(title(model), "sign-in");
    // Back to the method, the password, then the account and the password.
    send(model, key(KeyCode::BackTab));
    send(model, key(KeyCode::Down));
    send(model, key(KeyCode::Tab));
    type_text(model, APP_ADMIN);
    send(model, key(KeyCode::Tab));
    type_text(model, "the administrator's password");
    send(model, key(KeyCode::Enter))
}

#[test]
fn reviewing_who_can_sign_in_marks_the_unknown_and_plans_their_revocation() {
    let mut model = application_server();
    // The review signs in on the sign-in page, with the roles it needs said,
    // outside the first pass's steps.
    open_task(&mut model, "Review who can sign in as this connector");
    let screen = words(&render(&model, 120, 40));
    assert!(
        screen.contains("an Application Administrator, Cloud Application Administrator or Global Administrator removes credentials and owners"),
        "{screen}"
    );
    assert!(!screen.contains("Welcome"), "{screen}");
    snapshot("sign-in-review", &model);
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "tasks");
    assert!(render(&model, 120, 40).contains("(•) Review who can sign in as this connector"));

    let command = review_signed_in_with_a_password(&mut model);
    assert!(
        matches!(
            &command,
            Some(Command::Start { task: Task::Review { upn, password: Some(_) }, .. })
                if upn.to_string() == APP_ADMIN
        ),
        "{command:?}"
    );
    assert_eq!(title(&model), "sign-in");
    assert!(words(&render(&model, 120, 40)).contains(&format!(
        "Signing in as {APP_ADMIN} and reading who can sign in as this connector"
    )));
    engine(&mut model, EngineEvent::Reviewed(Ok(audit(true))));
    assert_eq!(title(&model), "review");
    // Every item with its verdict; the unknown secret marked, the key this
    // server added not; the key in use and the sync role not markable, with why.
    let screen = render(&model, 120, 40);
    for expected in [
        "[x] client secret \"planted\": UNKNOWN: not added by this server",
        "[ ] certificate key: added by this server",
        "     certificate key: in use",
        "     app role assignment \"ADSynchronization.ReadWrite.All\": expected",
    ] {
        assert!(screen.contains(expected), "{expected:?} in {screen}");
    }
    let text = words(&screen);
    for expected in [
        &format!("id {PLANTED_SECRET}; hint Zx9; ends 2027-06-01"),
        "the connector signs in with it (Rotate application certificate replaces it)",
        "; the connector needs it",
    ] {
        assert!(text.contains(expected), "{expected:?} in {text}");
    }
    snapshot("review", &model);

    // Space unmarks the secret under the cursor; Enter with nothing marked
    // says so and stays.
    send(&mut model, key(KeyCode::Char(' ')));
    assert!(render(&model, 120, 40).contains("[ ] client secret \"planted\""));
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert_eq!(title(&model), "review");
    assert!(words(&render(&model, 120, 40)).contains(
        "Nothing is marked: Space marks the item under the cursor, a every unknown one."
    ));
    snapshot("review-nothing-marked", &model);
    // Up: the key this server added, which may be marked; Up again: the key
    // in use, which may not, and Space says why.
    send(&mut model, key(KeyCode::Up));
    send(&mut model, key(KeyCode::Char(' ')));
    assert!(render(&model, 120, 40).contains("[x] certificate key: added by this server"));
    send(&mut model, key(KeyCode::Char(' ')));
    send(&mut model, key(KeyCode::Up));
    assert_eq!(send(&mut model, key(KeyCode::Char(' '))), None);
    let screen = words(&render(&model, 120, 40));
    assert!(
        screen.contains("This certificate key cannot be removed: the connector signs in with it"),
        "{screen}"
    );
    assert!(!screen.contains("[x]"), "{screen}");
    send(&mut model, key(KeyCode::Down));
    send(&mut model, key(KeyCode::Down));
    // `a` marks every unknown one; Enter asks the engine for their revocation.
    send(&mut model, key(KeyCode::Char('a')));
    assert!(render(&model, 120, 40).contains("[ ] certificate key: added by this server"));
    let command = send(&mut model, key(KeyCode::Enter));
    assert_eq!(
        command,
        Some(Command::Choose {
            audit: Box::new(audit(true)),
            selection: Selection::Ids(vec![PLANTED_SECRET.into()]),
        })
    );
    // What the engine refuses is said on the page.
    send(
        &mut model,
        Message::Chosen(Err(failure(EngineError::NotRevocable {
            what: format!("client secret {PLANTED_SECRET}"),
            why: "the connector needs it",
        }))),
    );
    assert_eq!(title(&model), "review");
    assert!(words(&render(&model, 120, 40)).contains("the connector needs it"));

    // The engine's revocation: its own plan on Ready.
    let request = OperationRequest::Revoke(revocation());
    let command = send(&mut model, Message::Chosen(Ok(revocation())));
    assert_eq!(command, Some(Command::Plan(request.clone())));
    assert_eq!(title(&model), "ready");
    send(
        &mut model,
        Message::Planned(Ok(application_plan(APP_ADMIN, request.clone()))),
    );
    let screen = words(&render(&model, 120, 40));
    assert!(screen.contains("Ready to revoke"), "{screen}");
    assert!(
        screen.contains(&format!(
            "3. Remove the client secrets Remove client secret {PLANTED_SECRET} (planted, hint Zx9)"
        )),
        "{screen}"
    );
    snapshot("ready-revoke", &model);
    // Back reads the review again, signing in anew.
    assert_eq!(send(&mut model, key(KeyCode::Esc)), None);
    assert_eq!(title(&model), "sign-in");
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "tasks");

    // Confirmed, it runs and reaches Done.
    let mut model = configuring(application_server(), application_plan(APP_ADMIN, request));
    send(
        &mut model,
        Message::Engine(
            OpId(5),
            EngineEvent::Finished(Ok(Outcome::Revoked(Revoked {
                app_id: "11111111-2222-3333-4444-555555555555".into(),
                removed: revocation().removals,
            }))),
        ),
    );
    assert_eq!(title(&model), "done");
    let screen = words(&render(&model, 120, 40));
    assert!(
        screen.contains(&format!(
            "Removed client secret {PLANTED_SECRET} (planted, hint Zx9)"
        )),
        "{screen}"
    );
    snapshot("done-revoked", &model);
}

#[test]
fn a_clean_review_says_so_and_offers_only_going_back() {
    let mut model = application_server();
    review_signed_in_with_a_password(&mut model);
    engine(&mut model, EngineEvent::Reviewed(Ok(audit(false))));
    assert_eq!(title(&model), "review");
    let screen = render(&model, 120, 40);
    assert!(
        words(&screen).contains("Nothing this server did not put there can sign in as application 11111111-2222-3333-4444-555555555555, as app.admin@contoso.onmicrosoft.com read it: nothing to revoke."),
        "{screen}"
    );
    assert!(!screen.contains('['), "nothing to mark: {screen}");
    assert!(screen.contains("↑↓ scroll  Esc back  q quit"), "{screen}");
    snapshot("review-clean", &model);
    for code in [
        KeyCode::Char(' '),
        KeyCode::Char('a'),
        KeyCode::Enter,
        KeyCode::Down,
    ] {
        assert_eq!(send(&mut model, key(code)), None);
        assert_eq!(title(&model), "review");
    }
    send(&mut model, key(KeyCode::Esc));
    assert_eq!(title(&model), "tasks");
}

#[test]
fn what_the_review_cannot_read_or_remove_is_said_and_a_refused_sign_in_stays() {
    let mut model = application_server();
    review_signed_in_with_a_password(&mut model);
    // A refusal stays on the sign-in page, in the wizard's words.
    engine(
        &mut model,
        EngineEvent::Reviewed(Err(failure(EngineError::NotSignedIn))),
    );
    assert_eq!(title(&model), "sign-in");
    assert!(words(&render(&model, 120, 40)).contains("Sign in first: the operation needs"));
    // The password, typed again (the field the refusal left the cursor in).
    type_text(&mut model, "the administrator's password");
    send(&mut model, key(KeyCode::Enter));
    // A disabled service principal is unknown but enabled again, not
    // removed; what the roles did not allow reading is named.
    let mut read = audit(false);
    read.items.push(AuditItem {
        revoke: Some(Revocation::GraphPowerShell(format!(
            "Update-MgServicePrincipal -ServicePrincipalId {SERVICE_PRINCIPAL} -AccountEnabled:$true"
        ))),
        ..audit_item(
            AuditKind::DisabledServicePrincipal,
            SERVICE_PRINCIPAL,
            Some("ConnectSyncProvisioning_CONNECT01_0123456789ab"),
            "accountEnabled false: the connector cannot sign in",
            AuditVerdict::Unknown,
            false,
        )
    });
    read.needs_administrator = vec!["delegated permission grants to it"];
    engine(&mut model, EngineEvent::Reviewed(Ok(read)));
    assert_eq!(title(&model), "review");
    let screen = words(&render(&model, 120, 40));
    assert!(
        screen.contains(&format!(
            "nothing to remove: enable the service principal again: Update-MgServicePrincipal -ServicePrincipalId {SERVICE_PRINCIPAL} -AccountEnabled:$true"
        )),
        "{screen}"
    );
    assert!(
        screen.contains("Not read with app.admin@contoso.onmicrosoft.com's roles: delegated permission grants to it."),
        "{screen}"
    );
    // Nothing unknown may be removed: nothing starts marked, and the
    // disabled service principal cannot be.
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
    assert!(words(&render(&model, 120, 40)).contains("Nothing is marked"));
    for _ in 0..5 {
        send(&mut model, key(KeyCode::Down));
    }
    send(&mut model, key(KeyCode::Char(' ')));
    assert!(
        words(&render(&model, 120, 40))
            .contains("This disabled service principal cannot be removed: nothing to remove")
    );
    assert_eq!(send(&mut model, key(KeyCode::Enter)), None);
}

/// The remedies that name `app revoke` and `app audit --upn` send to the
/// review, as the other task-backed commands send to their tasks.
#[test]
fn revoking_and_the_administrators_audit_are_the_review_task() {
    for command in [
        NextCommand::Revoke {
            id: PLANTED_SECRET.into(),
        },
        NextCommand::AuditWithAdministrator,
    ] {
        let said = entra_connect::tui::words::with_remedies("Unknown.", &[Remedy::run(command)]);
        assert_eq!(
            said,
            "Unknown. Choose Review who can sign in as this connector (Additional tasks)."
        );
    }
}

/// What "Check this server" shows, one finding of each verdict.
fn findings() -> Vec<Finding> {
    let finding = |check: &str, verdict, detail: &str, fix: Option<&str>| Finding {
        check: check.into(),
        verdict,
        detail: detail.into(),
        fix: fix.map(Remedy::outside).into_iter().collect(),
        state_dir: None,
    };
    vec![
        finding(
            "scheduler",
            Verdict::Ok,
            "SyncCycleEnabled True, MaintenanceEnabled true, every 30 minutes",
            None,
        ),
        finding(
            "key store",
            Verdict::Warn,
            "private keys are files in /var/lib/entra-connect/keys (software store, no TPM)",
            Some("keep the state directory owner-only and backed up securely"),
        ),
        finding(
            "credential",
            Verdict::Ok,
            "application 11111111-2222-3333-4444-555555555555",
            None,
        ),
        finding(
            "endpoints",
            Verdict::Ok,
            "tenant 5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f at https://login.microsoftonline.com/contoso.onmicrosoft.com",
            None,
        ),
        finding(
            "clock",
            Verdict::Fail,
            "412 s from the identity platform's clock",
            Some("synchronize this server's clock (NTP): tokens and assertions are refused"),
        ),
    ]
}

#[test]
fn below_80x24_asks_for_a_larger_window() {
    let model = first_pass();
    let screen = render(&model, 79, 24);
    assert!(screen.contains("Make the window larger"), "{screen}");
    let screen = render(&model, 80, 23);
    assert!(
        screen.contains("needs at least 80x24 (now 80x23)"),
        "{screen}"
    );
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings.bind(|| insta::assert_snapshot!("too-small@60x20", render(&model, 60, 20)));
}

// --- a task's administrator signs in as the session does ------------------------------------

/// What a waiting browser sign-in shows, on Sign in as on a task's page:
/// the address whole, what to do from a browser elsewhere, the field for
/// the address it ends on, and the key help says Enter sends it.
fn assert_the_browser_waits(model: &Model) {
    for (width, height) in [(80, 24), (120, 40)] {
        let screen = render(model, width, height);
        assert_eq!(
            identifier_on(&screen, "https://"),
            BROWSER_ADDRESS,
            "{screen}"
        );
        assert!(
            words(&screen).contains(
                "A browser on this machine finishes by itself. A browser on another machine ends on an address starting http://localhost that does not load there: paste that address here, then Enter."
            ),
            "{screen}"
        );
        assert!(screen.contains("Address           [▏]"), "{screen}");
        assert!(screen.contains("Enter send the pasted address"), "{screen}");
    }
}

/// The redirect pasted (a paste arrives as keys) and sent with Enter: the
/// sign-in gets it whole; its query (the code) is never on the screen, in
/// the page's debug output or in the command's.
fn paste_the_redirect(model: &mut Model) {
    type_text(model, REDIRECT);
    let screen = render(model, 120, 40);
    assert!(screen.contains(REDIRECT_SHOWN), "{screen}");
    let command = send(model, key(KeyCode::Enter));
    assert_eq!(command, Some(Command::PasteRedirect(Secret::new(REDIRECT))));
    let screen = render(model, 80, 24);
    assert!(screen.contains(REDIRECT_SHOWN), "{screen}");
    assert!(
        screen.contains("Sent: waiting for the sign-in to finish"),
        "{screen}"
    );
    for shown in [
        screen,
        render(model, 120, 40),
        format!("{:?}", model.page),
        format!("{command:?}"),
    ] {
        assert!(!shown.contains("the-authorization-code"), "{shown}");
    }
}

/// The session chose the browser: "Remove a legacy service account" says
/// its administrator signs in with it, and while the accounts are read the
/// page shows the address and the field for the redirect, as Sign in does.
#[test]
fn the_legacy_accounts_page_signs_in_with_the_browser_the_session_chose() {
    let browser = WizardData {
        sign_in: SignInAnswer::Browser,
        ..WizardData::default()
    };
    let application = context(ConnectorIdentityType::Application);
    let mut model = Model::new(application, browser, Theme { color: false });
    open_task(&mut model, "Remove a legacy service account");
    assert!(
        words(&render(&model, 120, 40)).contains("Global Administrator (the role is privileged, so a User Administrator may not), who signs in with the browser."),
        "{}",
        render(&model, 120, 40)
    );
    type_text(&mut model, USER_ADMIN);
    assert_lists_the_accounts(send(&mut model, key(KeyCode::Enter)));
    engine(
        &mut model,
        EngineEvent::Progress(Progress::SignInBrowser {
            url: BROWSER_ADDRESS.into(),
        }),
    );
    assert_the_browser_waits(&model);
    snapshot("sync-accounts-browser", &model);
    paste_the_redirect(&mut model);
    engine(
        &mut model,
        EngineEvent::SyncAccountsListed(Ok(sync_accounts())),
    );
    let listed = render(&model, 120, 40);
    let field_gone = !listed.contains("Address");
    assert!(
        listed.contains("Enter remove this account") && field_gone,
        "{listed}"
    );
}

/// A device code that Conditional Access blocks, on the legacy accounts'
/// page: the refusal says Enter signs in again with the browser, and it
/// does (for the rest of the session).
#[test]
fn a_blocked_device_code_on_a_task_page_says_enter_signs_in_with_the_browser() {
    let mut model = legacy_accounts_read(Err(blocked_device_code()));
    let screen = render(&model, 120, 40);
    assert!(
        words(&screen).contains("Press Enter to sign in again with the browser."),
        "{screen}"
    );
    assert!(!words(&screen).contains("Esc to Sign in"), "{screen}");
    assert_eq!(model.data.sign_in, SignInAnswer::DeviceCode);
    assert_lists_the_accounts(send(&mut model, key(KeyCode::Enter)));
    assert_eq!(model.data.sign_in, SignInAnswer::Browser);
}

/// A rollback whose administrator signs in with the browser the session
/// chose: Configuring shows the address and the field while the sign-in
/// step runs. Refused where the device code is blocked, r retries with
/// the browser.
#[test]
fn configuring_waits_on_the_browser_with_the_paste_field() {
    let mut model = model_on(ConnectorIdentityType::Application);
    model.data.sign_in = SignInAnswer::Browser;
    let mut model = configuring(model, rollback_plan(false, false));
    assert!(!render(&model, 120, 40).contains("Enter send the pasted address"));
    send(
        &mut model,
        Message::Engine(
            OpId(5),
            EngineEvent::Progress(Progress::SignInBrowser {
                url: BROWSER_ADDRESS.into(),
            }),
        ),
    );
    assert_the_browser_waits(&model);
    snapshot("configuring-browser", &model);
    paste_the_redirect(&mut model);

    let mut model = configuring(
        model_on(ConnectorIdentityType::Application),
        rollback_plan(false, false),
    );
    send(
        &mut model,
        Message::Engine(OpId(5), EngineEvent::Finished(Err(blocked_device_code()))),
    );
    let screen = render(&model, 120, 40);
    assert!(
        words(&screen).contains("Press r to retry, signing in with the browser."),
        "{screen}"
    );
    let command = send(&mut model, key(KeyCode::Char('r')));
    let runs = matches!(started(&command), Some(Task::Run(_)));
    assert!(runs, "{command:?}");
    assert_eq!(model.data.sign_in, SignInAnswer::Browser);
}

/// Esc on the legacy accounts page while its administrator signs in gives
/// the sign-in (and the read) up, as on the Sign in page: the task is
/// cancelled, what it still reports is dropped, and the page asks for the
/// administrator again.
#[test]
fn esc_gives_up_the_legacy_accounts_sign_in() {
    let mut model = application_server();
    open_task(&mut model, "Remove a legacy service account");
    type_text(&mut model, USER_ADMIN);
    assert_lists_the_accounts(send(&mut model, key(KeyCode::Enter)));
    engine(
        &mut model,
        EngineEvent::Progress(Progress::SignInBrowser {
            url: BROWSER_ADDRESS.into(),
        }),
    );
    assert!(
        render(&model, 120, 40).contains("Esc cancel the sign-in"),
        "{}",
        render(&model, 120, 40)
    );
    let op = model.running.expect("the sign-in runs");
    assert_eq!(
        send(&mut model, key(KeyCode::Esc)),
        Some(Command::Cancel(op))
    );
    assert_eq!(model.running, None);
    send(
        &mut model,
        Message::Engine(op, EngineEvent::SyncAccountsListed(Ok(sync_accounts()))),
    );
    let screen = render(&model, 120, 40);
    assert!(
        screen.contains("Enter sign in and list the accounts"),
        "{screen}"
    );
    assert_eq!(title(&model), "sync-accounts");
}
