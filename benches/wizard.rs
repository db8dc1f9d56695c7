//! The wizard's performance report (`cargo bench --bench wizard`): time from
//! process start to first frame, CPU while idle and while the sign-in page
//! waits for approval, peak memory over a whole onboarding (all in tmux, on the
//! release binary), and the render time of every page at 120x40 (through the
//! library, with ratatui's `TestBackend`): the first pass's pages and the
//! second pass's (the task list and each task's pages, on a server onboarded
//! against the in-process sandbox), every variant of `Page` at least once.

#[path = "../tests/harness/terminal.rs"]
#[allow(dead_code)]
mod tmux;

#[path = "support/tenant.rs"]
mod tenant;

use entra_connect::domain::{ConnectionInputs, Method};
use entra_connect::engine::audit::unattended;
use entra_connect::engine::connection::{for_credential, remember, settings};
use entra_connect::engine::onboard::Onboard;
use entra_connect::engine::progress::{Progress, ProgressSender, StepStatus};
use entra_connect::engine::service_account::{AccountUse, SyncAccount};
use entra_connect::engine::{
    EngineError, EntraRequest, LocalServer, OperationRequest, StoreChoice, Target,
    application_keys, create_certificate, execute, plan,
};
use entra_connect::entra::Secret;
use entra_connect::entra::client::{ConnectionSettings, DEFAULT_ADMIN_CLIENT_ID, UserSignIn};
use entra_connect::sandbox::SandboxHandle;
use entra_connect::tui::app::{Model, update, view};
use entra_connect::tui::load_context;
use entra_connect::tui::model::{
    Command, Context, EngineEvent, Message, OpId, Task as ModelTask, WizardData,
};
use entra_connect::tui::pages::Page;
use entra_connect::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tmux::{Tmux, has_line, wizard_command};
use tokio::sync::mpsc::UnboundedReceiver;

const STARTS: usize = 5;
const IDLE: Duration = Duration::from_secs(10);
const RENDERS: usize = 300;

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours means "not me".
    if std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with('-') && !"wizard".contains(arg.as_str()))
    {
        return;
    }
    tmux::require_tmux();
    let binary = assert_cmd::cargo::cargo_bin("entra-connect");
    println!("wizard benchmark: {}", binary.display());

    let starts = start_to_first_frame(&binary);
    let terminal = in_terminal(&binary);
    let renders = render_times();

    println!();
    println!("{:<58} {:>18}", "measure", "result");
    println!("{}", "-".repeat(77));
    row(
        &format!("start to first frame, wizard --sandbox, median of {STARTS}"),
        format!("{:.1} ms", ms(median(&starts.sandbox))),
    );
    row(
        "  the same without --sandbox (empty state), median",
        format!("{:.1} ms", ms(median(&starts.plain))),
    );
    row(
        "  tmux + 5 ms polling alone (echo), median",
        format!("{:.1} ms", ms(median(&starts.baseline))),
    );
    row(
        &format!("CPU idle on Welcome over {} s", IDLE.as_secs()),
        format!("{:.2} % ({} ticks)", terminal.idle_cpu, terminal.idle_ticks),
    );
    row(
        &format!(
            "CPU waiting for approval over {:.1} s",
            terminal.waiting.as_secs_f64()
        ),
        format!(
            "{:.2} % ({} ticks)",
            terminal.waiting_cpu, terminal.waiting_ticks
        ),
    );
    row(
        "peak memory (VmHWM) after a Managed onboarding",
        format!("{:.1} MiB", terminal.peak_kib as f64 / 1024.0),
    );
    row(
        "  resident memory (VmRSS) on the Done page",
        format!("{:.1} MiB", terminal.rss_kib as f64 / 1024.0),
    );
    println!();
    println!(
        "{:<40} {:<14} {:>20}",
        "render of a full frame at 120x40",
        "page",
        format!("median of {RENDERS}")
    );
    println!("{}", "-".repeat(77));
    for (name, page, time) in &renders {
        println!(
            "{name:<40} {page:<14} {:>20}",
            format!("{:.1} µs", time.as_secs_f64() * 1e6)
        );
    }
    let fastest = renders.iter().min_by_key(|(_, _, time)| *time);
    let slowest = renders.iter().max_by_key(|(_, _, time)| *time);
    if let (Some(fastest), Some(slowest)) = (fastest, slowest) {
        println!(
            "{} pages rendered, every variant of Page: from {:.1} µs ({}) to {:.1} µs ({}).",
            renders.len(),
            fastest.2.as_secs_f64() * 1e6,
            fastest.0,
            slowest.2.as_secs_f64() * 1e6,
            slowest.0
        );
    }
    println!();
    let all = |samples: &[Duration]| {
        samples
            .iter()
            .map(|d| format!("{:.0}", ms(*d)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "First frame (ms), --sandbox: {}; without: {}.",
        all(&starts.sandbox),
        all(&starts.plain)
    );
    println!(
        "CPU is percent of one core: utime+stime of the wizard process (its in-process \
         sandbox included) over the wall time, in clock ticks of 1/{} s. Release build, \
         100x30 tmux window.",
        clock_ticks_per_second()
    );
}

fn row(name: &str, value: String) {
    println!("{name:<58} {value:>18}");
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// The median: the middle sample, or the mean of the two middle ones.
fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let middle = sorted.len() / 2;
    match sorted.len() % 2 {
        1 => sorted[middle],
        _ => (sorted[middle - 1] + sorted[middle]) / 2,
    }
}

const POLL: Duration = Duration::from_millis(5);

/// Times `respawn-pane` of `command` until `ready` holds on the screen.
fn time_until(tmux: &Tmux, command: &str, ready: impl Fn(&str) -> bool) -> Duration {
    let start = Instant::now();
    tmux.run(&["respawn-pane", "-k", "-t", &tmux.session, command]);
    tmux.poll(POLL, tmux::TIMEOUT, ready)
        .unwrap_or_else(|screen| panic!("no first frame:\n{screen}"));
    start.elapsed()
}

struct Starts {
    /// `echo` in the same pane: tmux's and the polling's own latency.
    baseline: Vec<Duration>,
    /// `wizard --sandbox` (what was asked for).
    sandbox: Vec<Duration>,
    /// `wizard` without the sandbox, on an empty state dir.
    plain: Vec<Duration>,
}

/// Start-to-first-frame times over [`STARTS`] runs each.
fn start_to_first_frame(binary: &Path) -> Starts {
    let tmux = Tmux::start("bench-start", 100, 30, "sleep 600");
    let mut baseline = Vec::new();
    let mut first_frame = Vec::new();
    let mut plain = Vec::new();
    for run in 0..STARTS {
        let marker = format!("READY-{run}");
        baseline.push(time_until(
            &tmux,
            &format!("echo {marker}; exec sleep 600"),
            |screen| screen.contains(&marker),
        ));
        let state = tempfile::tempdir().expect("state dir");
        let command = format!(
            "exec {}",
            wizard_command(&std::process::Command::new(binary), state.path())
        );
        first_frame.push(time_until(&tmux, &command, |screen| {
            has_line(screen, "Welcome")
        }));
        let state = tempfile::tempdir().expect("state dir");
        let command = format!(
            "exec env ENTRA_CONNECT_STATE_DIR={} {} wizard",
            tmux::quote(state.path().to_string_lossy()),
            tmux::quote(binary.to_string_lossy())
        );
        plain.push(time_until(&tmux, &command, |screen| {
            has_line(screen, "Welcome")
        }));
    }
    Starts {
        baseline,
        sandbox: first_frame,
        plain,
    }
}

struct TerminalFigures {
    idle_cpu: f64,
    idle_ticks: u64,
    waiting_ticks: u64,
    waiting: Duration,
    waiting_cpu: f64,
    peak_kib: u64,
    rss_kib: u64,
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

/// utime + stime of the whole process, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    let after_name = &stat[stat.rfind(')').expect("stat format") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // Field 3 (state) is fields[0]; utime and stime are fields 14 and 15.
    fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime")
}

fn status_kib(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status");
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {key} in /proc/{pid}/status"))
}

/// Percent of one core used by `pid` between two samples.
fn cpu_percent(ticks: u64, wall: Duration, per_second: f64) -> f64 {
    ticks as f64 / per_second / wall.as_secs_f64() * 100.0
}

/// One wizard in tmux: idle on Welcome, sign-in, a whole Managed onboarding.
fn in_terminal(binary: &Path) -> TerminalFigures {
    let per_second = clock_ticks_per_second();
    let state = tempfile::tempdir().expect("state dir");
    // `exec`: the pane's process is the wizard itself.
    let command = format!(
        "exec {}",
        wizard_command(&std::process::Command::new(binary), state.path())
    );
    let tmux = Tmux::start("bench-run", 100, 30, &command);
    tmux.wait_for_page("Welcome");
    let pid = tmux.pane_pid();
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    assert_eq!(
        comm.trim(),
        "entra-connect",
        "pane pid {pid} is not the wizard"
    );

    std::thread::sleep(Duration::from_secs(1));
    let (before, start) = (cpu_ticks(pid), Instant::now());
    std::thread::sleep(IDLE);
    let idle_ticks = cpu_ticks(pid) - before;
    let idle_cpu = cpu_percent(idle_ticks, start.elapsed(), per_second);

    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Connect to Microsoft Entra ID");
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Sign in");
    tmux.send_keys(&["Enter"]);
    tmux.poll(POLL, tmux::TIMEOUT, |s| s.contains("Waiting for approval"))
        .unwrap_or_else(|screen| panic!("no device code:\n{screen}"));
    let (before, start) = (cpu_ticks(pid), Instant::now());
    tmux.poll(POLL, tmux::TIMEOUT, |s| {
        has_line(s, "Authentication method")
    })
    .unwrap_or_else(|screen| panic!("never signed in:\n{screen}"));
    let waiting = start.elapsed();
    let waiting_ticks = cpu_ticks(pid) - before;
    let waiting_cpu = cpu_percent(waiting_ticks, waiting, per_second);

    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Options");
    tmux.send_keys(&["Enter"]);
    tmux.wait_until("the Ready page's changes", |s| {
        has_line(s, "Ready to configure") && s.contains(" 1. ")
    });
    tmux.send_keys(&["Enter"]);
    tmux.wait_for_page("Done");
    let figures = TerminalFigures {
        idle_cpu,
        idle_ticks,
        waiting_ticks,
        waiting,
        waiting_cpu,
        peak_kib: status_kib(pid, "VmHWM:"),
        rss_kib: status_kib(pid, "VmRSS:"),
    };
    tmux.send_keys(&["q"]);
    figures
}

fn key(code: KeyCode) -> Message {
    Message::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

/// The name of every variant of the wizard's [`Page`]. A match without a
/// wildcard: a page added to the wizard stops this benchmark compiling until
/// it is named here, and [`EVERY_PAGE`] makes the run fail until it is rendered.
fn variant(page: &Page) -> &'static str {
    match page {
        Page::Welcome(_) => "Welcome",
        Page::Connect(_) => "Connect",
        Page::SignIn(_) => "SignIn",
        Page::Method(_) => "Method",
        Page::Certificate(_) => "Certificate",
        Page::AppId(_) => "AppId",
        Page::Options(_) => "Options",
        Page::Ready(_) => "Ready",
        Page::Configuring(_) => "Configuring",
        Page::Done(_) => "Done",
        Page::Tasks(_) => "Tasks",
        Page::Doctor(_) => "Doctor",
        Page::ViewConfig(_) => "ViewConfig",
        Page::Scheduler(_) => "Scheduler",
        Page::Rotate(_) => "Rotate",
        Page::Keys(_) => "Keys",
        Page::RollBack(_) => "RollBack",
        Page::SyncAccounts(_) => "SyncAccounts",
        Page::Review(_) => "Review",
    }
}

const EVERY_PAGE: [&str; 19] = [
    "Welcome",
    "Connect",
    "SignIn",
    "Method",
    "Certificate",
    "AppId",
    "Options",
    "Ready",
    "Configuring",
    "Done",
    "Tasks",
    "Doctor",
    "ViewConfig",
    "Scheduler",
    "Rotate",
    "Keys",
    "RollBack",
    "SyncAccounts",
    "Review",
];

/// A page as the wizard showed it, with what it draws from.
struct Shown {
    name: String,
    page: Page,
    data: WizardData,
    context: Context,
}

/// Keeps the page `model` is on, which must be `expected` (a variant name).
fn keep(shown: &mut Vec<Shown>, name: &str, model: &Model, expected: &str) {
    assert_eq!(
        variant(&model.page),
        expected,
        "{name}: the model is on {:?}",
        model.page
    );
    shown.push(Shown {
        name: name.to_string(),
        page: model.page.clone(),
        data: model.data.clone(),
        context: model.context.clone(),
    });
}

/// What the running engine task reports.
fn engine(model: &mut Model, event: EngineEvent) -> Option<Command> {
    let op = model.running.unwrap_or(OpId(0));
    update(model, Message::Engine(op, event))
}

/// The first pass, walked with the messages the app loop would deliver: BYOC
/// (so the certificate picker is included), then BYOA as far as its App id page.
fn first_pass(shown: &mut Vec<Shown>) {
    let dir = tempfile::tempdir().expect("state dir");
    let mut server = LocalServer::open(dir.path()).expect("state");
    let certificate = create_certificate(&mut server, StoreChoice::Software, 180).expect("cert");
    let hash = certificate.info.sha256.clone();
    let context = load_context(&server, None).expect("context");
    let tenant = "contoso-sandbox.onmicrosoft.com";
    let upn = format!("hybrid.admin@{tenant}");
    let data = WizardData {
        connection: ConnectionInputs {
            tenant: Some(tenant.parse().expect("tenant")),
            ..ConnectionInputs::default()
        },
        upn: Some(upn.parse().expect("upn")),
        ..WizardData::default()
    };
    let mut model = Model::new(context.clone(), data.clone(), Theme { color: true });
    keep(shown, "Welcome", &model, "Welcome");
    update(&mut model, key(KeyCode::Enter));
    keep(shown, "Connect", &model, "Connect");
    update(&mut model, key(KeyCode::Enter));
    keep(shown, "Sign in", &model, "SignIn");
    update(&mut model, key(KeyCode::Enter));
    engine(&mut model, sign_in_code());
    for _ in 0..37 {
        update(&mut model, Message::Tick);
    }
    keep(shown, "Sign in (waiting)", &model, "SignIn");
    engine(&mut model, EngineEvent::SignedIn(Ok(upn.clone())));
    keep(shown, "Method", &model, "Method");
    update(&mut model, key(KeyCode::Down));
    update(&mut model, key(KeyCode::Enter));
    keep(shown, "Certificate", &model, "Certificate");
    update(&mut model, key(KeyCode::Enter));
    keep(shown, "Options", &model, "Options");
    update(&mut model, key(KeyCode::Enter));
    let onboarding = OperationRequest::Onboard(Onboard {
        method: Method::Byoc(hash.clone()),
        password_writeback: false,
    });
    let target = Target {
        tenant: tenant.into(),
        admin_upn: upn.clone(),
    };
    let planned = plan(&server, target, onboarding).map_err(Arc::new);
    update(&mut model, Message::Planned(planned));
    keep(shown, "Ready", &model, "Ready");
    update(&mut model, key(KeyCode::Enter));
    let steps = [
        ("sign-in", "Sign in as Hybrid Identity Administrator"),
        (
            "disable-scheduler",
            "Disable the sync scheduler for the change",
        ),
        ("certificate", "Prepare the certificate"),
        ("application", "Register this server's application"),
    ];
    for (index, (step, title)) in steps.into_iter().enumerate() {
        let status = if index + 1 < steps.len() {
            StepStatus::Done {
                detail: "done".into(),
            }
        } else {
            StepStatus::Running
        };
        let progress = EngineEvent::Progress(Progress::Step {
            operation: "onboard".into(),
            step,
            title,
            status,
        });
        engine(&mut model, progress);
    }
    keep(shown, "Configuring", &model, "Configuring");
    let credential = entra_connect::domain::ApplicationCredential {
        tenant_id: "5b7c1f3e-0000-4e8b-9c6f-0a1b2c3d4e5f".into(),
        application_id: "0e9fc857-a9c5-4310-9120-3d489217e0f5".into(),
        service_principal_id: "22222222-3333-4444-5555-666666666666".into(),
        certificate_sha256: hash,
        key_store: entra_connect::domain::StoreKind::Software,
        application_managed_by: entra_connect::domain::ManagedBy::EntraConnect,
        certificate_managed_by: entra_connect::domain::ManagedBy::EntraConnect,
        configured_at: time::OffsetDateTime::now_utc(),
    };
    let finished =
        EngineEvent::Finished(Ok(entra_connect::engine::Outcome::Credential(credential)));
    engine(&mut model, finished);
    keep(shown, "Done", &model, "Done");

    // Bring your own application: its App id page follows the certificate.
    let mut byoa = Model::new(context, data, Theme { color: true });
    update(&mut byoa, key(KeyCode::Enter));
    update(&mut byoa, key(KeyCode::Enter));
    update(&mut byoa, key(KeyCode::Enter));
    engine(&mut byoa, EngineEvent::SignedIn(Ok(upn)));
    update(&mut byoa, key(KeyCode::Down));
    update(&mut byoa, key(KeyCode::Down));
    update(&mut byoa, key(KeyCode::Enter));
    update(&mut byoa, key(KeyCode::Enter));
    keep(shown, "App id", &byoa, "AppId");
}

/// A progress channel; what was sent is read back with [`sent`].
fn progress() -> (ProgressSender, UnboundedReceiver<Progress>) {
    tokio::sync::mpsc::unbounded_channel()
}

fn sent(mut receiver: UnboundedReceiver<Progress>) -> Vec<Progress> {
    let mut sent = Vec::new();
    while let Ok(progress) = receiver.try_recv() {
        sent.push(progress);
    }
    sent
}

/// A Managed onboarding of `server` against `sandbox`, as the wizard's first
/// pass ends, with the connection remembered.
async fn onboard(sandbox: &SandboxHandle, server: &mut LocalServer) {
    server.choose_store(StoreChoice::Software);
    let inputs = sandbox_inputs(sandbox);
    let request = EntraRequest {
        connection: settings(
            &inputs,
            DEFAULT_ADMIN_CLIENT_ID,
            Duration::from_secs(30),
            Default::default(),
        )
        .expect("connection"),
        admin: Some(admin(sandbox)),
    };
    let onboarding = OperationRequest::Onboard(Onboard {
        method: Method::Managed,
        password_writeback: false,
    });
    let plan = plan(server, request.target(), onboarding).expect("plan");
    let (sender, receiver) = progress();
    execute(server, &request, &plan, sender)
        .await
        .expect("onboarding");
    drop(receiver);
    remember(server, &inputs).expect("connection remembered");
}

fn sandbox_inputs(sandbox: &SandboxHandle) -> ConnectionInputs {
    ConnectionInputs {
        tenant: Some(sandbox.tenant_id.parse().expect("tenant")),
        authority_host: Some(sandbox.authority_host.parse().expect("loopback URL")),
        graph_url: Some(sandbox.graph_url.parse().expect("loopback URL")),
        ..ConnectionInputs::default()
    }
}

fn admin(sandbox: &SandboxHandle) -> UserSignIn {
    UserSignIn::Password {
        upn: sandbox.admin_upn.clone(),
        password: Secret::new(sandbox.admin_password.clone()),
    }
}

/// The connection of this server's credential, as the wizard's second pass uses it.
fn credential_settings(server: &LocalServer) -> Result<ConnectionSettings, EngineError> {
    let inputs = for_credential(server, ConnectionInputs::default())?;
    settings(
        &inputs,
        DEFAULT_ADMIN_CLIENT_ID,
        Duration::from_secs(30),
        Default::default(),
    )
}

/// Answers the Ready page's request for its plan as the app loop does.
fn answer_plan(server: &LocalServer, model: &mut Model, command: Option<Command>) {
    let Some(Command::Plan(request)) = command else {
        panic!("the Ready page asked for no plan: {command:?}");
    };
    let mut target = model.data.target();
    if target.tenant.is_empty() {
        let inputs = for_credential(server, model.data.connection.clone()).expect("tenant");
        target.tenant = inputs.tenant.map(|t| t.to_string()).unwrap_or_default();
    }
    let planned = plan(server, target, request).map_err(Arc::new);
    assert!(planned.is_ok(), "no plan: {planned:?}");
    update(model, Message::Planned(planned));
}

/// The device code a sign-in page shows while it waits for approval.
fn sign_in_code() -> EngineEvent {
    EngineEvent::Progress(Progress::SignInCode {
        verification_uri: "http://127.0.0.1:41089/devicelogin".into(),
        user_code: "Z2ZTCQQDC".into(),
        expires_in_seconds: 900,
    })
}

/// The sandbox's administrator typed on the page `model` is on, then
/// signing in there (Enter, and the device code it shows): both kept, as
/// `name (administrator)` and `name (signing in)`.
fn signing_in(shown: &mut Vec<Shown>, model: &mut Model, sandbox: &SandboxHandle, name: &str) {
    let page = variant(&model.page);
    for typed in sandbox.admin_upn.chars() {
        update(model, key(KeyCode::Char(typed)));
    }
    keep(shown, &format!("{name} (administrator)"), model, page);
    update(model, key(KeyCode::Enter));
    engine(model, sign_in_code());
    keep(shown, &format!("{name} (signing in)"), model, page);
}

/// The second pass on a server onboarded (Managed) against the in-process
/// sandbox: the task list and every task's page, each with what the engine
/// answers it (checks, keys, plans, a rotation run for real). The legacy
/// accounts are made up: the sandbox's seed has no directory synchronization
/// accounts, and listing them needs a device-code sign-in.
fn second_pass(shown: &mut Vec<Shown>) {
    let (runtime, sandbox) = tenant::start();
    let dir = tempfile::tempdir().expect("state dir");
    let mut server = LocalServer::open(dir.path()).expect("state");
    runtime.block_on(onboard(&sandbox, &mut server));
    let context = load_context(&server, None).expect("context");
    // Nothing entered: the second pass starts with no administrator (one
    // given would make the rotation an administrator's).
    let data = WizardData::default();
    let tasks = Model::new(context.clone(), data.clone(), Theme { color: true });
    keep(shown, "Tasks (second pass)", &tasks, "Tasks");

    let mut rotation = None;
    let mut opened = Vec::new();
    // Each task in turn: a fresh wizard, Down to it, Enter.
    for index in 0..12 {
        let mut model = Model::new(context.clone(), data.clone(), Theme { color: true });
        for _ in 0..index {
            update(&mut model, key(KeyCode::Down));
        }
        let command = update(&mut model, key(KeyCode::Enter));
        let page = variant(&model.page);
        if opened.contains(&page) {
            continue;
        }
        opened.push(page);
        match page {
            "ViewConfig" => {
                keep(shown, "View configuration", &model, page);
                update(&mut model, key(KeyCode::Char('e')));
                keep(shown, "View configuration (export to)", &model, page);
            }
            "Doctor" => {
                assert_eq!(command, Some(Command::Doctor));
                keep(shown, "Check this server (checking)", &model, page);
                let (sender, receiver) = progress();
                let findings = runtime.block_on(entra_connect::engine::doctor::doctor(
                    &server,
                    credential_settings(&server),
                    None,
                    sender,
                ));
                drop(receiver);
                update(&mut model, Message::Doctored(findings));
                keep(shown, "Check this server", &model, page);
            }
            "Keys" => {
                assert_eq!(command, Some(Command::ListKeys));
                keep(shown, "Remove a key (reading)", &model, page);
                let (sender, receiver) = progress();
                let settings = credential_settings(&server).expect("connection");
                let keys = runtime.block_on(application_keys(&server, settings, sender));
                drop(receiver);
                assert!(keys.is_ok(), "keys: {keys:?}");
                update(&mut model, Message::KeysListed(keys.map_err(Arc::new)));
                keep(shown, "Remove a key", &model, page);
            }
            "Rotate" => {
                keep(shown, "Rotate", &model, page);
                let command = update(&mut model, key(KeyCode::Enter));
                answer_plan(&server, &mut model, command);
                keep(shown, "Ready (rotate)", &model, "Ready");
                let command = update(&mut model, key(KeyCode::Enter));
                rotation = Some((model, command));
            }
            "RollBack" => {
                keep(shown, "Roll back", &model, page);
                let command = update(&mut model, key(KeyCode::Enter));
                answer_plan(&server, &mut model, command);
                keep(shown, "Ready (roll back)", &model, "Ready");
            }
            "SyncAccounts" => {
                signing_in(shown, &mut model, &sandbox, "Legacy accounts");
                let domain = sandbox.admin_upn.split_once('@').expect("upn").1;
                let accounts = ["CONNECT01_0123456789ab", "CONNECT02_89abcdef0123"]
                    .map(|name| SyncAccount {
                        user_principal_name: format!("Sync_{name}@{domain}"),
                        use_on_this_server: AccountUse::None,
                    })
                    .to_vec();
                engine(&mut model, EngineEvent::SyncAccountsListed(Ok(accounts)));
                keep(shown, "Legacy accounts (listed)", &model, page);
                let command = update(&mut model, key(KeyCode::Enter));
                answer_plan(&server, &mut model, command);
                keep(shown, "Ready (remove account)", &model, "Ready");
            }
            // Review who can sign in as this connector: its sign-in, then
            // the review. What the application reads of itself stands for
            // the administrator's read, which the sandbox's seed does not
            // consent.
            "SignIn" => {
                signing_in(shown, &mut model, &sandbox, "Review");
                let (sender, receiver) = progress();
                let settings = credential_settings(&server).expect("connection");
                let audit = runtime.block_on(unattended(&server, &settings, sender));
                drop(receiver);
                assert!(audit.is_ok(), "audit: {audit:?}");
                engine(&mut model, EngineEvent::Reviewed(audit.map_err(Arc::new)));
                keep(shown, "Review", &model, "Review");
            }
            _ => keep(shown, page, &model, page),
        }
    }

    // The rotation confirmed on its Ready page, run for real; its progress
    // and outcome delivered as the app loop would.
    let (mut model, command) = rotation.expect("a Rotate task");
    let Some(Command::Start {
        task: ModelTask::Run(planned),
        ..
    }) = command
    else {
        panic!("Enter on Ready started no run: {command:?}");
    };
    // The application adds its own key: no administrator.
    let request = EntraRequest {
        connection: credential_settings(&server).expect("connection"),
        admin: None,
    };
    let (sender, receiver) = progress();
    let outcome = runtime.block_on(execute(&mut server, &request, &planned, sender));
    for progress in sent(receiver) {
        engine(&mut model, EngineEvent::Progress(progress));
    }
    keep(shown, "Configuring (rotate)", &model, "Configuring");
    assert!(outcome.is_ok(), "rotation: {outcome:?}");
    engine(&mut model, EngineEvent::Finished(outcome.map_err(Arc::new)));
    keep(shown, "Done (rotate)", &model, "Done");
}

/// Median time of one full frame (view, diff against an empty screen, write
/// to the test backend) per page shown.
fn render_times() -> Vec<(String, &'static str, Duration)> {
    let mut shown = Vec::new();
    first_pass(&mut shown);
    second_pass(&mut shown);
    let missing: Vec<&str> = EVERY_PAGE
        .into_iter()
        .filter(|name| !shown.iter().any(|s| variant(&s.page) == *name))
        .collect();
    assert!(missing.is_empty(), "pages not rendered: {missing:?}");
    let context = shown[0].context.clone();
    let mut model = Model::new(context, WizardData::default(), Theme { color: true });
    let mut results = Vec::new();
    for Shown {
        name,
        page,
        data,
        context,
    } in shown
    {
        let kind = variant(&page);
        model.page = page;
        model.data = data;
        model.context = context;
        let mut terminal = Terminal::new(TestBackend::new(120, 40)).expect("terminal");
        let mut times = Vec::with_capacity(RENDERS);
        for round in 0..RENDERS + 20 {
            terminal.clear().expect("clear");
            let start = Instant::now();
            terminal.draw(|frame| view(&model, frame)).expect("draw");
            if round >= 20 {
                times.push(start.elapsed());
            }
        }
        results.push((name, kind, median(&times)));
    }
    results
}
