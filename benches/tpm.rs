//! The key stores side by side (`cargo bench --bench tpm`): key and
//! certificate creation, signing latency (RS256, PS256), and the cold
//! `credential test` wall time (a new process: open the state, reach the
//! store, sign the client assertion, get a token from the in-process sandbox
//! on loopback) with the software store and with the TPM store on swtpm.

#[path = "../tests/harness/swtpm.rs"]
#[allow(dead_code)]
mod tpm_support;

#[path = "support/tenant.rs"]
mod tenant;

use entra_connect::domain::{ConnectionInputs, Method};
use entra_connect::engine::connection::remember;
use entra_connect::engine::onboard::Onboard;
use entra_connect::engine::{
    EntraRequest, LocalServer, OperationRequest, StoreChoice, execute, plan,
};
use entra_connect::entra::Secret;
use entra_connect::entra::client::{ConnectionSettings, DEFAULT_ADMIN_CLIENT_ID, UserSignIn};
use entra_connect::keys::{
    KeyStore, SigningAlgorithm, SoftwareKeyStore, TctiSetting, Tpm, TpmKeyStore,
};
use entra_connect::sandbox::SandboxHandle;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tpm_support::Swtpm;

const CREATIONS: usize = 10;
const SIGNATURES: usize = 50;
const COLD_RUNS: usize = 10;

fn main() {
    // `cargo bench` passes `--bench`; a filter that is not ours means "not me".
    if std::env::args()
        .skip(1)
        .any(|arg| !arg.starts_with('-') && !"tpm".contains(arg.as_str()))
    {
        return;
    }
    let tpm = Swtpm::start();
    let tcti = tpm.tcti();
    println!("TPM: swtpm at {tcti}");

    let mut rows = Vec::new();
    for (name, store, state) in stores(&tcti) {
        let (created, hash) = creation(store.as_ref());
        rows.push((format!("{name}: key + certificate creation"), created));
        for (algorithm, label) in [
            (SigningAlgorithm::Rs256, "RS256"),
            (SigningAlgorithm::Ps256, "PS256"),
        ] {
            let times = signing(store.as_ref(), &hash, algorithm);
            rows.push((format!("{name}: signature {label}"), times));
        }
        drop(store);
        // A process's first signature: open the store (the TPM: connect,
        // derive the primary, start the session, load the key), then sign.
        let times = (0..COLD_RUNS)
            .map(|_| {
                let started = Instant::now();
                let store = reopen(name, state.path(), &tcti);
                store
                    .sign(&hash, SigningAlgorithm::Ps256, &[b'a'; 600])
                    .expect("signature");
                let elapsed = started.elapsed();
                drop(store);
                elapsed
            })
            .collect();
        rows.push((format!("{name}: first PS256 after opening"), times));
    }

    let (runtime, sandbox) = tenant::start();
    for (name, choice) in [
        ("software", StoreChoice::Software),
        ("TPM", StoreChoice::Tpm),
    ] {
        let state = tempfile::tempdir().expect("state dir");
        runtime.block_on(onboard(&sandbox, state.path(), &tcti, choice));
        let times = cold_credential_test(state.path(), &tcti);
        rows.push((format!("{name}: cold `credential test` (process)"), times));
    }
    drop(tpm);

    println!();
    println!(
        "{:<48} {:>10} {:>10} {:>10}",
        "measure", "median", "min", "max"
    );
    println!("{}", "-".repeat(81));
    for (label, mut times) in rows {
        times.sort();
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        // The median: the middle time, or the mean of the two middle ones.
        let middle = times.len() / 2;
        let median = match times.len() % 2 {
            1 => times[middle],
            _ => (times[middle - 1] + times[middle]) / 2,
        };
        println!(
            "{label:<48} {:>10} {:>10} {:>10}",
            ms(median),
            ms(times[0]),
            ms(times[times.len() - 1])
        );
    }
}

/// A software store and a TPM store, each in its own state directory (the
/// TPM store's connection closes when it is dropped: swtpm serves one
/// connection at a time).
fn stores(tcti: &str) -> Vec<(&'static str, Box<dyn KeyStore>, tempfile::TempDir)> {
    let software = tempfile::tempdir().expect("state");
    let in_tpm = tempfile::tempdir().expect("state");
    let tpm = Arc::new(Tpm::new(TctiSetting::resolve(Some(tcti))));
    vec![
        (
            "software",
            Box::new(SoftwareKeyStore::open(software.path()).expect("software store")),
            software,
        ),
        (
            "TPM (swtpm)",
            Box::new(TpmKeyStore::open(in_tpm.path(), tpm).expect("TPM store")),
            in_tpm,
        ),
    ]
}

fn reopen(name: &str, state: &Path, tcti: &str) -> Box<dyn KeyStore> {
    match name {
        "software" => Box::new(SoftwareKeyStore::open(state).expect("software store")),
        _ => Box::new(
            TpmKeyStore::open(state, Arc::new(Tpm::new(TctiSetting::resolve(Some(tcti)))))
                .expect("TPM store"),
        ),
    }
}

fn creation(store: &dyn KeyStore) -> (Vec<Duration>, entra_connect::domain::CertificateHash) {
    let mut times = Vec::new();
    let mut hash = None;
    for _ in 0..CREATIONS {
        let started = Instant::now();
        let created = store.create(180).expect("key and certificate");
        times.push(started.elapsed());
        hash = Some(created.info.sha256);
    }
    (times, hash.expect("at least one key"))
}

fn signing(
    store: &dyn KeyStore,
    hash: &entra_connect::domain::CertificateHash,
    algorithm: SigningAlgorithm,
) -> Vec<Duration> {
    // About the size of a client assertion's header and claims.
    let message = vec![b'a'; 600];
    (0..SIGNATURES)
        .map(|_| {
            let started = Instant::now();
            store.sign(hash, algorithm, &message).expect("signature");
            started.elapsed()
        })
        .collect()
}

/// Managed onboarding in `state`, the key where `choice` says.
async fn onboard(sandbox: &SandboxHandle, state: &Path, tcti: &str, choice: StoreChoice) {
    let mut server = LocalServer::open(state).expect("state");
    server.use_tpm_tcti(tcti);
    server.choose_store(choice);
    let inputs = ConnectionInputs {
        tenant: Some(sandbox.tenant_id.parse().expect("tenant")),
        authority_host: Some(sandbox.authority_host.parse().expect("loopback URL")),
        graph_url: Some(sandbox.graph_url.parse().expect("loopback URL")),
        ..ConnectionInputs::default()
    };
    let connection: ConnectionSettings = entra_connect::engine::connection::settings(
        &inputs,
        DEFAULT_ADMIN_CLIENT_ID,
        Duration::from_secs(30),
        Default::default(),
    )
    .expect("connection");
    let request = EntraRequest {
        connection,
        admin: Some(UserSignIn::Password {
            upn: sandbox.admin_upn.clone(),
            password: Secret::new(sandbox.admin_password.clone()),
        }),
    };
    let onboarding = OperationRequest::Onboard(Onboard {
        method: Method::Managed,
        password_writeback: false,
    });
    let plan = plan(&server, request.target(), onboarding).expect("plan");
    let (progress, mut events) = tokio::sync::mpsc::unbounded_channel();
    let drain = tokio::spawn(async move { while events.recv().await.is_some() {} });
    execute(&mut server, &request, &plan, progress)
        .await
        .expect("onboarding");
    let _ = drain.await;
    remember(&mut server, &inputs).expect("connection remembered");
}

fn cold_credential_test(state: &Path, tcti: &str) -> Vec<Duration> {
    let binary = assert_cmd::cargo::cargo_bin("entra-connect");
    (0..COLD_RUNS)
        .map(|_| {
            let started = Instant::now();
            let output = std::process::Command::new(&binary)
                .args(["credential", "test"])
                .env("ENTRA_CONNECT_STATE_DIR", state)
                .env("ENTRA_CONNECT_TPM_TCTI", tcti)
                .output()
                .expect("run entra-connect");
            let elapsed = started.elapsed();
            assert!(
                output.status.success(),
                "credential test: {}",
                String::from_utf8_lossy(&output.stderr)
            );
            elapsed
        })
        .collect()
}
