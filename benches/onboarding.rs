//! A whole Managed onboarding (sign-in, key and certificate, application,
//! service principal, role, token check, local switch) against the in-process
//! sandbox on loopback: wall time per run, and the HTTP requests it makes.
//! Criterion's summary is the mean; the median is printed after it
//! (`support/criterion_median.rs`).

#[path = "support/criterion_median.rs"]
mod criterion_median;

#[path = "support/tenant.rs"]
mod tenant;

use criterion::{Criterion, criterion_group};
use entra_connect::domain::{Cloud, Method};
use entra_connect::engine::onboard::Onboard;
use entra_connect::engine::{EntraRequest, LocalServer, OperationRequest, execute, plan};
use entra_connect::entra::client::{ConnectionSettings, DEFAULT_ADMIN_CLIENT_ID, UserSignIn};
use entra_connect::entra::{Endpoints, RetryPolicy, Secret};
use entra_connect::sandbox::SandboxHandle;
use std::time::SystemTime;

fn request(sandbox: &SandboxHandle) -> EntraRequest {
    EntraRequest {
        connection: ConnectionSettings {
            tenant: sandbox.tenant_id.parse().expect("tenant id"),
            cloud: Cloud::Public,
            endpoints: Endpoints::new(
                Cloud::Public,
                Some(&sandbox.authority_host.parse().expect("loopback URL")),
                Some(&sandbox.graph_url.parse().expect("loopback URL")),
            )
            .expect("loopback endpoints"),
            ca_cert: None,
            admin_client_id: DEFAULT_ADMIN_CLIENT_ID.into(),
            retry: RetryPolicy::default(),
            cache: Default::default(),
        },
        admin: Some(UserSignIn::Password {
            upn: sandbox.admin_upn.clone(),
            password: Secret::new(sandbox.admin_password.clone()),
        }),
    }
}

/// One onboarding on a fresh server state; returns the requests it made.
async fn onboard_once(sandbox: &SandboxHandle) -> u64 {
    let state = tempfile::tempdir().expect("state dir");
    let mut server = LocalServer::open(state.path()).expect("state");
    let onboarding = OperationRequest::Onboard(Onboard {
        method: Method::Managed,
        password_writeback: false,
    });
    let request = request(sandbox);
    let plan = plan(&server, request.target(), onboarding).expect("plan");
    let (progress, mut events) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
    let before = sandbox.requests_served();
    execute(&mut server, &request, &plan, progress)
        .await
        .expect("onboarding succeeds");
    let _ = drain.await;
    sandbox.requests_served() - before
}

fn managed_onboarding(c: &mut Criterion) {
    let (runtime, sandbox) = tenant::start();
    let requests = runtime.block_on(onboard_once(&sandbox));
    println!("managed onboarding: {requests} HTTP requests");
    let mut group = c.benchmark_group("onboarding");
    group.sample_size(10);
    group.bench_function("managed", |b| {
        b.iter(|| runtime.block_on(onboard_once(&sandbox)));
    });
    group.finish();
}

criterion_group!(benches, managed_onboarding);
fn main() {
    let started = SystemTime::now();
    benches();
    Criterion::default().configure_from_args().final_summary();
    criterion_median::print_median("onboarding/managed", started);
}
