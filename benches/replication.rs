//! How close a Managed registration gets to the floor the tenant imposes when
//! new objects replicate slowly. Against the in-process sandbox at 50 ms of
//! latency per request, with 3 s and 10 s of replication lag: the service
//! principal waits for the application to replicate, the grant for the
//! service principal, so the floor is 2 × lag plus the same registration's
//! time with no lag (every round trip of the critical path). Reported:
//! median wall time / floor (target ≤ 1.15). Run: `cargo bench --bench replication`.

use entra_connect::domain::{Cloud, ConnectionInputs};
use entra_connect::engine::connection::settings;
use entra_connect::engine::register::{CertificateSource, Register};
use entra_connect::engine::{EntraRequest, LocalServer, OperationRequest, execute, plan};
use entra_connect::entra::Secret;
use entra_connect::entra::client::{DEFAULT_ADMIN_CLIENT_ID, UserSignIn};
use entra_connect::sandbox::{Sandbox, SandboxConfig};
use std::time::{Duration, Instant};

const LATENCY: Duration = Duration::from_millis(50);
const RUNS: usize = 3;

/// One Managed registration on a fresh state against a new sandbox with `lag`.
async fn register_once(lag: Duration) -> Duration {
    let sandbox = Sandbox::start(SandboxConfig {
        latency: LATENCY,
        replication_lag: lag,
        ..SandboxConfig::default()
    })
    .await
    .expect("sandbox");
    let state = tempfile::tempdir().expect("state dir");
    let mut server = LocalServer::open(state.path()).expect("state");
    let admin = sandbox.user("hybrid.admin").expect("seeded admin").clone();
    let inputs = ConnectionInputs {
        tenant: Some(sandbox.tenant_id.parse().expect("tenant")),
        cloud: Some(Cloud::Public),
        authority_host: Some(sandbox.authority_host.parse().expect("URL")),
        graph_url: Some(sandbox.graph_url.parse().expect("URL")),
        ca_cert: None,
    };
    let request = EntraRequest {
        connection: settings(
            &inputs,
            DEFAULT_ADMIN_CLIENT_ID,
            Duration::from_secs(120),
            Default::default(),
        )
        .expect("settings"),
        admin: Some(UserSignIn::Password {
            upn: admin.upn.clone(),
            password: Secret::new(admin.password.clone()),
        }),
    };
    let register = OperationRequest::Register(Register {
        certificate: CertificateSource::Managed,
        password_writeback: false,
    });
    let plan = plan(&server, request.target(), register).expect("plan");
    let (progress, mut events) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
    let started = Instant::now();
    execute(&mut server, &request, &plan, progress)
        .await
        .expect("registration succeeds");
    let elapsed = started.elapsed();
    let _ = drain.await;
    elapsed
}

async fn median_of(lag: Duration) -> Duration {
    let mut times = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        times.push(register_once(lag).await);
    }
    times.sort();
    times[RUNS / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let no_lag = runtime.block_on(median_of(Duration::ZERO));
    println!(
        "Managed registration, {} ms latency, no lag: {:.2} s (median of {RUNS})",
        LATENCY.as_millis(),
        no_lag.as_secs_f64()
    );
    for lag in [Duration::from_secs(3), Duration::from_secs(10)] {
        let time = runtime.block_on(median_of(lag));
        let floor = lag * 2 + no_lag;
        println!(
            "lag {:>2} s: {:.2} s, floor {:.2} s, ratio {:.3} (target <= 1.15)",
            lag.as_secs(),
            time.as_secs_f64(),
            floor.as_secs_f64(),
            time.as_secs_f64() / floor.as_secs_f64()
        );
    }
}
