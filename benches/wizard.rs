//! The wizard's performance report (`cargo bench --bench wizard`): time from
//! process start to first frame, CPU while idle and while the sign-in page
//! waits for approval, peak memory over a whole onboarding (all in tmux, on the
//! release binary), and the render time of each page at 120x40 (through the
//! library, with ratatui's `TestBackend`).

#[path = "../tests/harness/terminal.rs"]
#[allow(dead_code)]
mod tmux;

use entra_connect::domain::{ConnectionInputs, Method};
use entra_connect::engine::onboard::Onboard;
use entra_connect::engine::progress::{Progress, StepStatus};
use entra_connect::engine::{LocalServer, StoreChoice, create_certificate};
use entra_connect::engine::{OperationRequest, Target, plan};
use entra_connect::tui::app::{Model, update, view};
use entra_connect::tui::load_context;
use entra_connect::tui::model::{Context, EngineEvent, Message, OpId, WizardData};
use entra_connect::tui::pages::Page;
use entra_connect::tui::theme::Theme;
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use std::path::Path;
use std::time::{Duration, Instant};
use tmux::{Tmux, has_line, wizard_command};

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
    for (page, time) in &renders {
        row(
            &format!("render {page} (120x40), median of {RENDERS}"),
            format!("{:.1} µs", time.as_secs_f64() * 1e6),
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

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
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

/// Walks a model through every page (BYOC, so the certificate picker is
/// included) with the messages the app loop would deliver, keeping each page.
fn pages() -> (Model, Vec<(&'static str, Page, WizardData, Context)>) {
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
    let mut model = Model::new(context.clone(), data, Theme { color: true });
    let mut pages = Vec::new();
    let mut keep = |name, model: &Model, expected: fn(&Page) -> bool| {
        assert!(
            expected(&model.page),
            "{name}: the model is on {:?}",
            model.page
        );
        pages.push((
            name,
            model.page.clone(),
            model.data.clone(),
            model.context.clone(),
        ));
    };
    keep("Welcome", &model, |p| matches!(p, Page::Welcome(_)));
    update(&mut model, key(KeyCode::Enter));
    keep("Connect", &model, |p| matches!(p, Page::Connect(_)));
    update(&mut model, key(KeyCode::Enter));
    keep("Sign in", &model, |p| matches!(p, Page::SignIn(_)));
    update(&mut model, key(KeyCode::Enter));
    // What the running engine task reports.
    let engine = |model: &mut Model, event| {
        let op = model.running.unwrap_or(OpId(0));
        update(model, Message::Engine(op, event));
    };
    engine(
        &mut model,
        EngineEvent::Progress(Progress::SignInCode {
            verification_uri: "http://127.0.0.1:41089/devicelogin".into(),
            user_code: "Z2ZTCQQDC".into(),
            expires_in_seconds: 900,
        }),
    );
    for _ in 0..37 {
        update(&mut model, Message::Tick);
    }
    keep("Sign in (waiting)", &model, |p| {
        matches!(p, Page::SignIn(_))
    });
    engine(&mut model, EngineEvent::SignedIn(Ok(upn.clone())));
    keep("Method", &model, |p| matches!(p, Page::Method(_)));
    update(&mut model, key(KeyCode::Down));
    update(&mut model, key(KeyCode::Enter));
    keep("Certificate", &model, |p| matches!(p, Page::Certificate(_)));
    update(&mut model, key(KeyCode::Enter));
    keep("Options", &model, |p| matches!(p, Page::Options(_)));
    update(&mut model, key(KeyCode::Enter));
    let onboarding = OperationRequest::Onboard(Onboard {
        method: Method::Byoc(hash.clone()),
        password_writeback: false,
    });
    let target = Target {
        tenant: tenant.into(),
        admin_upn: upn,
    };
    let planned = plan(&server, target, onboarding).map_err(std::sync::Arc::new);
    update(&mut model, Message::Planned(planned));
    keep("Ready", &model, |p| matches!(p, Page::Ready(_)));
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
    keep("Configuring", &model, |p| matches!(p, Page::Configuring(_)));
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
    keep("Done", &model, |p| matches!(p, Page::Done(_)));

    let mut second = context;
    second.configured = Some(entra_connect::domain::ConnectorIdentityType::Application);
    let tasks = Model::new(second, WizardData::default(), Theme { color: true });
    keep("Tasks (second pass)", &tasks, |p| {
        matches!(p, Page::Tasks(_))
    });
    (model, pages)
}

/// Median time of one full frame (view, diff against an empty screen, write
/// to the test backend) per page.
fn render_times() -> Vec<(&'static str, Duration)> {
    let (mut model, pages) = pages();
    let mut results = Vec::new();
    for (name, page, data, context) in pages {
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
        results.push((name, median(&times)));
    }
    results
}
