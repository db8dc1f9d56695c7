//! The operation framework seen from outside, as processes against the
//! in-process sandbox: a failure between two steps is recorded against the
//! run, never against the step that finished; `--dry-run` shows the plan the
//! wizard's Ready page shows and changes nothing; malformed input is refused
//! with exit code 2 before anything is read, written or sent.

use crate::harness::process;
use crate::harness::process::stderr;
use crate::harness::tenant;
use entra_connect::domain::{ConnectionInputs, Method};
use entra_connect::engine::connection::settings;
use entra_connect::engine::link::{Link, LinkChoice};
use entra_connect::engine::onboard::Onboard;
use entra_connect::engine::register::{CertificateSource, Register};
use entra_connect::engine::{
    EngineError, EntraRequest, OperationRequest, SchedulerChange, Target, change_scheduler,
    execute, plan,
};
use entra_connect::entra::Secret;
use entra_connect::entra::client::{DEFAULT_ADMIN_CLIENT_ID, UserSignIn};
use entra_connect::sandbox::SandboxHandle;
use entra_connect::tui::app::{self, Model};
use entra_connect::tui::model::{Message, WizardData};
use entra_connect::tui::pages::{Page, ready};
use entra_connect::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

const BYOA_APP_ID: &str = "0e9fc857-a9c5-4310-9120-3d489217e0f5";

async fn run(state: &Path, args: Vec<String>, stdin: String, env: &[(&str, &str)]) -> Output {
    let env = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    process::run_async(state, args, stdin, env).await
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// `--upn ... --sign-in password --password-stdin` and the sandbox's endpoints.
fn admin_args(sb: &SandboxHandle) -> (Vec<String>, String) {
    let admin = sb.user("hybrid.admin").expect("seeded user");
    let mut args = strings(&[
        "--upn",
        &admin.upn,
        "--sign-in",
        "password",
        "--password-stdin",
    ]);
    args.extend(tenant::connection(sb));
    (args, format!("{}\n", admin.password))
}

fn database(state: &Path) -> PathBuf {
    state.join("entra-connect.db")
}

/// The journal rows of every `kind` run: (run status, [(step, status)]).
fn journal(state: &Path, kind: &str) -> Vec<(String, Vec<(String, String)>)> {
    let db = rusqlite::Connection::open(database(state)).unwrap();
    let runs: Vec<(String, String)> = db
        .prepare("SELECT id, status FROM operations WHERE kind = ?1 ORDER BY rowid")
        .unwrap()
        .query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    runs.into_iter()
        .map(|(id, status)| {
            let steps = db
                .prepare(
                    "SELECT step, status FROM operation_steps WHERE operation_id = ?1 ORDER BY at, step",
                )
                .unwrap()
                .query_map([&id], |r| Ok((r.get(0)?, r.get(1)?)))
                .unwrap()
                .map(Result::unwrap)
                .collect();
            (status, steps)
        })
        .collect()
}

fn certificates(state: &Path) -> usize {
    process::run_json(state, &["cert", "list"])
        .as_array()
        .unwrap()
        .len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_between_two_steps_leaves_the_finished_step_succeeded() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let (admin, password) = admin_args(&sb);
    let mut args = strings(&["--json", "app", "register"]);
    args.extend(admin);

    // The error comes right after the certificate step completed.
    let fault = [("ENTRA_CONNECT_TEST_FAIL_AFTER", "certificate")];
    let output = run(state.path(), args.clone(), password.clone(), &fault).await;
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("test fault after step certificate"),
        "{}",
        stderr(&output)
    );
    assert!(
        process::reported(
            &stderr(&output),
            Some("Prepare the certificate"),
            "done",
            ""
        ),
        "{}",
        stderr(&output)
    );
    let runs = journal(state.path(), "register");
    assert_eq!(runs.len(), 1, "{runs:?}");
    let (status, steps) = &runs[0];
    assert_eq!(status, "Failed");
    assert_eq!(
        steps,
        &[("certificate".to_string(), "Succeeded".to_string())],
        "the finished step stays SUCCEEDED and no step is marked FAILED"
    );
    assert_eq!(certificates(state.path()), 1);
    let hash = process::run_json(state.path(), &["cert", "list"])[0]["sha256"].clone();

    // The plan now says the rerun continues: the certificate step is not repeated.
    let mut dry_run = args.clone();
    dry_run.push("--dry-run".into());
    let output = run(state.path(), dry_run, password.clone(), &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    let planned: Value = serde_json::from_slice(&output.stdout).unwrap();
    let done_earlier: Vec<&str> = planned["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|step| step["done_earlier"] == true)
        .map(|step| step["name"].as_str().unwrap())
        .collect();
    assert_eq!(done_earlier, ["certificate"], "{planned:#}");

    // The rerun resumes: the same certificate, one application.
    let output = run(state.path(), args, password, &[]).await;
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        process::reported(
            &stderr(&output),
            Some("Prepare the certificate"),
            "already_done",
            ""
        ),
        "{}",
        stderr(&output)
    );
    let registered: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(registered["certificate_sha256"], hash);
    assert_eq!(
        certificates(state.path()),
        1,
        "no second key and certificate"
    );
    assert_eq!(
        tenant::provisioning_apps(&sb).await.len(),
        1,
        "one application"
    );
    let runs = journal(state.path(), "register");
    assert_eq!(runs.len(), 1, "the rerun resumed the same run: {runs:?}");
    assert_eq!(runs[0].0, "Succeeded");
}

/// The plan the wizard's Ready page would get for `request` on this state,
/// and the Ready page's screen with it.
fn ready_page(state: &Path, target: Target, request: OperationRequest) -> (Value, String) {
    let server = process::local_server(state);
    let planned = plan(&server, target, request.clone()).unwrap();
    let context = entra_connect::tui::load_context(&server, None).unwrap();
    let mut model = Model::new(context, WizardData::default(), Theme { color: false });
    model.page = Page::Ready(ready::State::new(Ok(request)));
    let steps = serde_json::to_value(&planned.steps).unwrap();
    app::update(&mut model, Message::Planned(Ok(planned)));
    let mut terminal = Terminal::new(TestBackend::new(200, 60)).unwrap();
    terminal.draw(|frame| app::view(&model, frame)).unwrap();
    (steps, terminal.backend().to_string())
}

/// Runs `args` with `--dry-run`: nothing in the state database changes and
/// no request reaches the tenant; the plan printed is the Ready page's.
async fn assert_dry_run(
    sb: &SandboxHandle,
    state: &Path,
    args: Vec<String>,
    stdin: String,
    request: OperationRequest,
) {
    let before = std::fs::read(database(state)).unwrap();
    let requests = sb.requests_served();
    let output = run(state, args.clone(), stdin, &[]).await;
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    assert_eq!(
        std::fs::read(database(state)).unwrap(),
        before,
        "{args:?} changed the state database"
    );
    assert_eq!(
        sb.requests_served(),
        requests,
        "{args:?} reached the tenant"
    );
    let printed: Value = serde_json::from_slice(&output.stdout).unwrap();
    let admin = sb.user("hybrid.admin").unwrap();
    let target = Target {
        tenant: sb.tenant_id.clone(),
        admin_upn: admin.upn.clone(),
    };
    let (steps, screen) = ready_page(state, target, request);
    assert_eq!(printed["steps"], steps, "{args:?}");
    for (index, step) in steps.as_array().unwrap().iter().enumerate() {
        let heading = format!("{}. {}", index + 1, step["title"].as_str().unwrap());
        assert!(
            screen.contains(&heading),
            "{heading:?} not on Ready:\n{screen}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_prints_the_ready_pages_plan_and_changes_nothing() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let hash = process::run_ok(state.path(), &["cert", "new"])
        .trim()
        .to_string();
    let (admin, password) = admin_args(&sb);
    let command = |words: &[&str]| {
        let mut args = strings(&["--json"]);
        args.extend(strings(words));
        args.extend(admin.clone());
        args.push("--dry-run".into());
        args
    };

    let managed = Register {
        certificate: CertificateSource::Managed,
        password_writeback: false,
    };
    let args = command(&["app", "register"]);
    let request = OperationRequest::Register(managed);
    assert_dry_run(&sb, state.path(), args, password.clone(), request).await;

    let byoc = Register {
        certificate: CertificateSource::Existing(hash.parse().unwrap()),
        password_writeback: true,
    };
    let args = command(&[
        "app",
        "register",
        "--certificate-sha256",
        &hash,
        "--password-writeback",
    ]);
    let request = OperationRequest::Register(byoc);
    assert_dry_run(&sb, state.path(), args, password.clone(), request).await;

    let byoa = Link {
        choice: LinkChoice::Existing {
            app_id: BYOA_APP_ID.parse().unwrap(),
            certificate: hash.parse().unwrap(),
        },
    };
    let args = command(&[
        "app",
        "link",
        "--application-app-id",
        BYOA_APP_ID,
        "--certificate-sha256",
        &hash,
    ]);
    let request = OperationRequest::Link(byoa);
    assert_dry_run(&sb, state.path(), args, password.clone(), request).await;

    // The wizard's own onboarding, from an answers file.
    let admin_upn = &sb.user("hybrid.admin").unwrap().upn;
    let answers = state.path().join("answers.toml");
    std::fs::write(
        &answers,
        format!(
            "tenant = \"{}\"\nauthority_host = \"{}\"\ngraph_url = \"{}\"\nupn = \"{admin_upn}\"\nsign_in = \"password\"\nmethod = \"byoc\"\ncertificate_sha256 = \"{hash}\"\n",
            sb.tenant_id, sb.authority_host, sb.graph_url
        ),
    )
    .unwrap();
    let args = strings(&[
        "--json",
        "wizard",
        "--answers",
        answers.to_str().unwrap(),
        "--dry-run",
    ]);
    let onboard = Onboard {
        method: Method::Byoc(hash.parse().unwrap()),
        password_writeback: false,
    };
    let request = OperationRequest::Onboard(onboard);
    assert_dry_run(&sb, state.path(), args, password.clone(), request).await;

    // Local changes have a dry run too, and keep the state as it was.
    let before = std::fs::read(database(state.path())).unwrap();
    for args in [
        vec!["cert", "new", "--dry-run"],
        vec!["cert", "delete", &hash, "--dry-run"],
        vec![
            "scheduler",
            "set",
            "--sync-cycle-enabled",
            "false",
            "--dry-run",
        ],
    ] {
        let printed = process::run_json(state.path(), &args);
        assert_eq!(printed["steps"][0]["changes"], true, "{args:?}: {printed}");
    }
    assert_eq!(std::fs::read(database(state.path())).unwrap(), before);
    assert_eq!(certificates(state.path()), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_input_exits_2_before_anything_happens() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let hash = process::run_ok(state.path(), &["cert", "new"])
        .trim()
        .to_string();
    let admin = sb.user("hybrid.admin").unwrap().upn.clone();
    let endpoints = [
        "--authority-host",
        sb.authority_host.as_str(),
        "--graph-url",
        sb.graph_url.as_str(),
    ];
    let tenant = ["--tenant", sb.tenant_id.as_str()];
    fn register<'a>(extra: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["app", "register"];
        args.extend_from_slice(extra);
        args
    }
    fn with<'a>(parts: &[&[&'a str]]) -> Vec<&'a str> {
        parts.concat()
    }
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            register(&with(&[&["--upn", "not an upn"], &tenant, &endpoints])),
            "\"not an upn\" is not a user principal name",
        ),
        (
            register(&with(&[
                &["--upn", &admin, "--tenant", "bad tenant!"],
                &endpoints,
            ])),
            "'--tenant <ID-OR-DOMAIN>': \"bad tenant!\" is not a tenant",
        ),
        (
            register(&with(&[
                &["--upn", &admin, "--tenant", "common"],
                &endpoints,
            ])),
            "names no specific tenant",
        ),
        (
            register(&with(&[
                &["--upn", &admin, "--certificate-sha256", "XYZ"],
                &tenant,
                &endpoints,
            ])),
            "--certificate-sha256",
        ),
        (
            register(&with(&[
                &["--upn", &admin, "--authority-host", "http://10.0.0.1"],
                &tenant,
            ])),
            "https is required",
        ),
        (
            register(&with(&[
                &["--upn", &admin, "--graph-url", "ftp://127.0.0.1/"],
                &tenant,
            ])),
            "'--graph-url <URL>'",
        ),
        (
            register(&with(&[
                &["--upn", &admin, "--admin-client-id", "graph-cli"],
                &tenant,
                &endpoints,
            ])),
            "is not an application id",
        ),
        (
            with(&[
                &["app", "link", "--upn", &admin],
                &[
                    "--application-app-id",
                    "my-app",
                    "--certificate-sha256",
                    &hash,
                ],
                &tenant,
                &endpoints,
            ]),
            "\"my-app\" is not an application id",
        ),
        (
            with(&[
                &["credential", "test", "--tenant", "bad tenant!"],
                &endpoints,
            ]),
            "is not a tenant",
        ),
        (
            vec!["cert", "new", "--days", "731"],
            "expected a whole number of days from 1 to 730",
        ),
    ];
    let database_before = std::fs::read(database(state.path())).unwrap();
    let requests = sb.requests_served();
    for (args, message) in cases {
        let output = run(state.path(), strings(&args), "secret\n".into(), &[]).await;
        assert_eq!(
            output.status.code(),
            Some(2),
            "{args:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains(message),
            "{args:?}: expected {message:?} in {}",
            stderr(&output)
        );
        assert_eq!(
            std::fs::read(database(state.path())).unwrap(),
            database_before,
            "{args:?} changed the state"
        );
        assert_eq!(
            sb.requests_served(),
            requests,
            "{args:?} reached the tenant"
        );
    }

    // The same values in an answers file: the same exit code, and a message
    // naming the key and what it takes (never the value: a line of the file
    // may hold a secret).
    for (line, message) in [
        (
            "upn = \"admin\"",
            "(key `upn`): not valid; expected a user principal name",
        ),
        (
            "tenant = \"bad tenant!\"",
            "(key `tenant`): not valid; expected a tenant id or verified domain",
        ),
        (
            "authority_host = \"http://10.0.0.1\"",
            "(key `authority_host`): not valid; expected an https URL",
        ),
    ] {
        let valid = [
            ("upn", format!("upn = \"{admin}\"")),
            ("tenant", format!("tenant = \"{}\"", sb.tenant_id)),
            (
                "authority_host",
                format!("authority_host = \"{}\"", sb.authority_host),
            ),
        ];
        let mut text: Vec<String> = valid
            .iter()
            .map(|(key, valid)| match line.starts_with(key) {
                true => line.to_string(),
                false => valid.clone(),
            })
            .collect();
        text.push("method = \"managed\"".into());
        let answers = state.path().join("answers.toml");
        std::fs::write(&answers, text.join("\n")).unwrap();
        let args = strings(&["wizard", "--answers", answers.to_str().unwrap()]);
        let output = run(state.path(), args, "secret\n".into(), &[]).await;
        assert_eq!(output.status.code(), Some(2), "{line}: {}", stderr(&output));
        assert!(stderr(&output).contains(message), "{}", stderr(&output));
        assert_eq!(
            std::fs::read(database(state.path())).unwrap(),
            database_before
        );
        assert_eq!(sb.requests_served(), requests, "{line} reached the tenant");
    }
}

/// The wizard confirms a plan; if the server changes before it runs (here the
/// scheduler, which the plan describes), the run refuses before any step.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_plan_runs_only_while_it_still_holds() {
    let sb = tenant::start().await;
    let state = tempfile::tempdir().unwrap();
    let mut server = process::local_server(state.path());
    let admin = sb.user("hybrid.admin").unwrap();
    let connection = ConnectionInputs {
        tenant: Some(sb.tenant_id.parse().unwrap()),
        authority_host: Some(sb.authority_host.parse().unwrap()),
        graph_url: Some(sb.graph_url.parse().unwrap()),
        ..ConnectionInputs::default()
    };
    let entra = EntraRequest {
        connection: settings(
            &connection,
            DEFAULT_ADMIN_CLIENT_ID,
            Duration::from_secs(5),
            Default::default(),
        )
        .unwrap(),
        admin: Some(UserSignIn::Password {
            upn: admin.upn.clone(),
            password: Secret::new(admin.password.clone()),
        }),
    };
    let onboarding = OperationRequest::Onboard(Onboard {
        method: Method::Managed,
        password_writeback: false,
    });
    let confirmed = plan(&server, entra.target(), onboarding).unwrap();
    let change = SchedulerChange {
        sync_cycle_enabled: Some(false),
        ..SchedulerChange::default()
    };
    change_scheduler(&mut server, &change).unwrap();

    let requests = sb.requests_served();
    let (progress, _events) = tokio::sync::mpsc::unbounded_channel();
    let result = execute(&mut server, &entra, &confirmed, progress).await;
    assert!(
        matches!(result, Err(EngineError::PlanChanged)),
        "{result:?}"
    );
    assert_eq!(sb.requests_served(), requests, "nothing was sent");
    drop(server);
    assert!(
        journal(state.path(), "onboard").is_empty(),
        "nothing was journaled"
    );
    assert_eq!(certificates(state.path()), 0);
}
