//! Microsoft's own client library accepts the sandbox: MSAL for Python, over
//! HTTPS with the sandbox's CA, acquires a client-credentials token with a
//! certificate registered through Graph, and signs a user in with the device
//! code flow. Needs python3 and PyPI; the venv is
//! made once in target/msal-venv. If it cannot be made, this test fails.

use crate::harness::tenant::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entra_connect::sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn venv_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/msal-venv")
}

fn run(command: &mut Command) -> Result<(), String> {
    let output = command
        .output()
        .map_err(|e| format!("cannot run {command:?}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{command:?} failed ({}): {}{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ))
    }
}

/// The venv's python with msal importable, made once per test run: the tests
/// run in parallel, and two creating the same venv (and calling apt-get) at
/// once break each other.
fn msal_python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON.get_or_init(create_msal_venv).clone()
}

/// Creates the venv with msal if it is missing; returns its python.
fn create_msal_venv() -> PathBuf {
    let venv = venv_dir();
    let python = venv.join("bin/python");
    let ready = || {
        Command::new(&python)
            .args(["-c", "import msal"])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if ready() {
        return python;
    }
    let create = || run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    if let Err(first) = create() {
        // Debian splits venv out of python3; install it where we can.
        let _ = std::fs::remove_dir_all(&venv);
        let installed = run(Command::new("apt-get").args(["install", "-y", "-q", "python3-venv"]));
        if let Err(second) = installed.and_then(|_| create()) {
            panic!(
                "cannot create the MSAL venv in {}: {first}; installing python3-venv did not help: {second}. \
                 Install python3 and python3-venv, then rerun.",
                venv.display()
            );
        }
    }
    if let Err(error) = run(Command::new(venv.join("bin/pip")).args(["install", "-q", "msal"])) {
        panic!(
            "cannot install msal from PyPI into {}: {error}",
            venv.display()
        );
    }
    assert!(ready(), "msal is installed but does not import");
    python
}

/// Runs one of the MSAL scripts in `tests/` with the sandbox's CA and
/// `settings`, bounded by `limit`; returns the JSON line it prints.
async fn run_msal(
    python: &Path,
    script: &str,
    ca: &Path,
    settings: &[(&str, String)],
    limit: Duration,
) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/emulator")
        .join(script);
    let mut command = tokio::process::Command::new(python);
    command
        .arg(script)
        .envs(settings.iter().map(|(name, value)| (*name, value.as_str())))
        .env("REQUESTS_CA_BUNDLE", ca)
        .env_remove("HTTPS_PROXY")
        .env_remove("https_proxy")
        .env("NO_PROXY", "127.0.0.1,localhost")
        .kill_on_drop(true);
    let output = tokio::time::timeout(limit, command.output())
        .await
        .unwrap_or_else(|_| panic!("MSAL finishes within {limit:?}"))
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "MSAL did not get a token: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("one JSON line")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_acquires_a_client_credentials_token_over_https() {
    let python = tokio::task::spawn_blocking(msal_python)
        .await
        .expect("venv setup");

    let workdir = tempfile::tempdir().unwrap();
    let sb = start_with(SandboxConfig {
        tls: true,
        ca_cert_path: Some(workdir.path().join("sandbox-ca.pem")),
        ..SandboxConfig::default()
    })
    .await;
    let ca = sb.ca_cert.clone().expect("a CA file with TLS");
    assert!(sb.authority_host.starts_with("https://127.0.0.1:"));

    // Register the application through Graph, over the same HTTPS endpoint.
    let key = rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, rcgen::RsaKeySize::_2048)
        .unwrap();
    let der = entra_connect::keys::self_signed(&key, 30).unwrap();
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .no_proxy()
        .tls_certs_only([reqwest::Certificate::from_pem(&std::fs::read(&ca).unwrap()).unwrap()])
        .build()
        .unwrap();
    let user = sb.user("hybrid.admin").unwrap().clone();
    let token: serde_json::Value = client
        .post(sb.token_endpoint())
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs([
                    ("grant_type", "password"),
                    ("client_id", GRAPH_CLI),
                    ("username", user.upn.as_str()),
                    ("password", user.password.as_str()),
                    ("scope", GRAPH_SCOPE),
                ])
                .finish(),
        )
        .send()
        .await
        .expect("HTTPS token request")
        .json()
        .await
        .unwrap();
    let admin = token["access_token"]
        .as_str()
        .expect("admin token")
        .to_string();
    let graph_post = |path: &str, body: serde_json::Value| {
        client
            .request(Method::POST, format!("{}{path}", sb.graph_url))
            .bearer_auth(&admin)
            .json(&body)
            .send()
    };
    let app: serde_json::Value = graph_post(
        "/applications",
        json!({
            "displayName": "ConnectSyncProvisioning_MSAL_0123456789ab",
            "keyCredentials": [{ "type": "AsymmetricX509Cert", "usage": "Verify",
                                 "key": base64::engine::general_purpose::STANDARD.encode(&der) }],
        }),
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let app_id = app["appId"].as_str().expect("appId").to_string();
    let response = graph_post("/servicePrincipals", json!({ "appId": app_id }))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);

    let key_path = workdir.path().join("key.pem");
    let cert_path = workdir.path().join("cert.pem");
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    std::fs::write(
        &cert_path,
        pem::encode(&pem::Pem::new("CERTIFICATE", der.clone())),
    )
    .unwrap();
    let settings = [
        ("SANDBOX_AUTHORITY", sb.authority()),
        ("SANDBOX_CLIENT_ID", app_id.clone()),
        ("SANDBOX_KEY_PEM", key_path.display().to_string()),
        ("SANDBOX_CERT_PEM", cert_path.display().to_string()),
        ("SANDBOX_SCOPE", SYNC_SCOPE.to_string()),
    ];
    let limit = Duration::from_secs(60);
    let result = run_msal(&python, "msal_client_credentials.py", &ca, &settings, limit).await;
    assert_eq!(result["token_type"], "Bearer");
    let payload = URL_SAFE_NO_PAD
        .decode(result["access_token_payload"].as_str().unwrap())
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["appid"], app_id.as_str());
    assert_eq!(claims["aud"], SYNC_APP_ID);
    assert_eq!(claims["tid"], sb.tenant_id.as_str());
}

/// MSAL's device code flow as a public client (Microsoft Graph Command Line
/// Tools, consented in the seed) against the sandbox over HTTPS; the sandbox
/// approves the code for the Hybrid Identity Administrator.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_python_signs_in_with_the_device_code_over_https() {
    let python = tokio::task::spawn_blocking(msal_python)
        .await
        .expect("venv setup");
    let workdir = tempfile::tempdir().unwrap();
    let admin = "hybrid.admin@contoso-sandbox.onmicrosoft.com";
    let sb = start_with(SandboxConfig {
        tls: true,
        ca_cert_path: Some(workdir.path().join("sandbox-ca.pem")),
        auto_approve: Some(admin.into()),
        auto_approve_delay: Duration::from_millis(300),
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let ca = sb.ca_cert.clone().expect("a CA file with TLS");
    let settings = [
        ("SANDBOX_AUTHORITY", sb.authority()),
        ("SANDBOX_CLIENT_ID", GRAPH_CLI.to_string()),
        (
            "SANDBOX_SCOPES",
            "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Application.Read.All"
                .to_string(),
        ),
    ];
    let limit = Duration::from_secs(90);
    let result = run_msal(&python, "msal_device_code.py", &ca, &settings, limit).await;
    let payload = URL_SAFE_NO_PAD
        .decode(result["access_token_payload"].as_str().unwrap())
        .unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["upn"], admin, "{claims}");
    let scopes = claims["scp"].as_str().unwrap_or_default();
    assert!(
        scopes.contains("User.Read") && scopes.contains("Application.Read.All"),
        "{claims}"
    );
}
