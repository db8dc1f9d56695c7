//! Cold start: the trusted roots are read only when a TLS handshake needs
//! them. `doctor` reaches the sandbox's endpoints over plain http (the roots
//! bundle is never opened) and then over https (it is opened), watched with
//! inotify, so the test sees every open of the bundle file by any process.

use crate::harness::process;
use crate::harness::tenant;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use inotify::{Inotify, WatchMask};
use serde_json::Value;
use std::path::Path;

/// `doctor` against `sb` with `SSL_CERT_FILE` = `bundle`; its endpoints
/// finding must be OK, so the sandbox was reached.
fn doctor_reaches(sb: &SandboxHandle, bundle: &Path, state: &Path) {
    let mut args = vec![
        "--json".to_string(),
        "doctor".into(),
        "--tenant".into(),
        sb.tenant_id.clone(),
        "--authority-host".into(),
        sb.authority_host.clone(),
        "--graph-url".into(),
        sb.graph_url.clone(),
    ];
    if let Some(ca) = &sb.ca_cert {
        args.extend(["--ca-cert".into(), ca.to_string_lossy().into_owned()]);
    }
    let output = process::binary()
        .env("ENTRA_CONNECT_STATE_DIR", state)
        .env("SSL_CERT_FILE", bundle)
        .args(&args)
        .output()
        .unwrap();
    let findings: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", process::stderr(&output)));
    let endpoints = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["check"] == "endpoints")
        .cloned()
        .unwrap_or_else(|| panic!("no endpoints finding: {findings:#}"));
    assert_eq!(endpoints["verdict"], "OK", "{endpoints:#}");
}

/// How many times the watched file was opened since the last call.
fn opens(watch: &mut Inotify) -> usize {
    let mut buffer = [0u8; 4096];
    match watch.read_events(&mut buffer) {
        Ok(events) => events.count(),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => 0,
        Err(e) => panic!("inotify: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_trusted_roots_are_read_only_for_a_tls_connection() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let https = tenant::start_with(SandboxConfig {
        tls: true,
        ca_cert_path: Some(dir.path().join("sandbox-ca.pem")),
        ..SandboxConfig::default()
    })
    .await;
    let http = tenant::start().await;
    // A bundle of its own, so that only this test's processes open it.
    let bundle = dir.path().join("roots.pem");
    std::fs::copy(https.ca_cert.as_ref().unwrap(), &bundle).unwrap();
    let mut watch = Inotify::init().unwrap();
    watch.watches().add(&bundle, WatchMask::OPEN).unwrap();

    tokio::task::block_in_place(|| doctor_reaches(&http, &bundle, &state));
    assert_eq!(opens(&mut watch), 0, "plain http read the trusted roots");

    tokio::task::block_in_place(|| doctor_reaches(&https, &bundle, &state));
    assert!(opens(&mut watch) >= 1, "https did not read SSL_CERT_FILE");
}
