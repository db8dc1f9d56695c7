//! Microsoft's own client libraries accept the sandbox unmodified, over HTTPS
//! with its CA: MSAL for Python, azure-identity and the Microsoft Graph SDK for
//! Python, pinned in `tests/emulator/python/requirements.txt`. They live in a
//! venv in target/python-venv, which scripts/test fills while the tests
//! build (a test run without it fills it here, once). If it cannot be made,
//! these tests fail.
//!
//! The scripts in `tests/emulator/python/` get nothing but the sandbox's
//! address and CA (and, where a library cannot reach a server on a port of
//! its own, the narrowest setting that tells it so, explained there).

use crate::harness::tenant::*;
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

fn python_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/emulator/python")
}

/// The venv's python with the pinned libraries, installed once per test run
/// (by `tests/emulator/python/install`, which scripts/test runs too): the
/// tests run in parallel, and two filling the same venv break each other.
fn python() -> PathBuf {
    static PYTHON: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    PYTHON
        .get_or_init(|| {
            let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/python-venv");
            let output = Command::new("bash")
                .arg(python_dir().join("install"))
                .arg(&venv)
                .output()
                .expect("bash runs");
            assert!(
                output.status.success(),
                "cannot install Microsoft's client libraries into {} (python3, python3-venv and PyPI are needed; scripts/test installs the first two): {}",
                venv.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            venv.join("bin/python")
        })
        .clone()
}

/// A sandbox over HTTPS, with its CA in a file of the test's own.
struct HttpsTenant {
    sb: SandboxHandle,
    ca: PathBuf,
    workdir: tempfile::TempDir,
}

async fn https_tenant(config: SandboxConfig) -> HttpsTenant {
    let workdir = tempfile::tempdir().expect("a temporary directory");
    let sb = start_with(SandboxConfig {
        tls: true,
        ca_cert_path: Some(workdir.path().join("sandbox-ca.pem")),
        ..config
    })
    .await;
    let ca = sb.ca_cert.clone().expect("a CA file with TLS");
    assert!(sb.authority_host.starts_with("https://127.0.0.1:"));
    HttpsTenant { sb, ca, workdir }
}

impl HttpsTenant {
    /// Settings every script reads: where the tenant is.
    fn settings(&self) -> Vec<(&'static str, String)> {
        vec![
            ("SANDBOX_HOST", self.sb.authority_host.clone()),
            ("SANDBOX_AUTHORITY", self.sb.authority()),
            ("SANDBOX_TENANT_ID", self.sb.tenant_id.clone()),
            ("SANDBOX_GRAPH_URL", self.sb.graph_url.clone()),
        ]
    }

    /// An application registered through Graph with a new certificate, its
    /// key and certificate written as PEM files for the scripts.
    async fn application_with_certificate(&self) -> (App, Vec<(&'static str, String)>) {
        let cert = TestCert::new();
        let app = register_app(&self.sb, &cert).await;
        let (key_path, cert_path) = self.write_pem(&cert, &app.app_id);
        let settings = vec![
            ("SANDBOX_CLIENT_ID", app.app_id.clone()),
            ("SANDBOX_KEY_PEM", key_path),
            ("SANDBOX_CERT_PEM", cert_path),
        ];
        (app, settings)
    }

    /// Writes `cert`'s private key and certificate as PEM files named after
    /// `name`; their paths.
    fn write_pem(&self, cert: &TestCert, name: &str) -> (String, String) {
        let key_path = self.workdir.path().join(format!("{name}-key.pem"));
        let cert_path = self.workdir.path().join(format!("{name}-cert.pem"));
        std::fs::write(&key_path, &cert.key_pem).expect("key file");
        std::fs::write(
            &cert_path,
            pem::encode(&pem::Pem::new("CERTIFICATE", cert.der.clone())),
        )
        .expect("certificate file");
        (
            key_path.display().to_string(),
            cert_path.display().to_string(),
        )
    }

    /// Runs `script` with `args` and these settings, bounded in time; the JSON
    /// line it prints.
    async fn run_script(
        &self,
        script: &str,
        args: &[&str],
        settings: &[(&'static str, String)],
    ) -> Value {
        let python = tokio::task::spawn_blocking(python)
            .await
            .expect("venv setup");
        let limit = Duration::from_secs(90);
        let mut command = tokio::process::Command::new(python);
        command
            .arg(python_dir().join(script))
            .args(args)
            .envs(self.settings())
            .envs(settings.iter().map(|(name, value)| (*name, value.as_str())))
            // requests (MSAL, azure-core) and httpx (the Graph SDK) trust the CA.
            .env("REQUESTS_CA_BUNDLE", &self.ca)
            .env("SSL_CERT_FILE", &self.ca)
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env("NO_PROXY", "127.0.0.1,localhost")
            .kill_on_drop(true);
        let output = tokio::time::timeout(limit, command.output())
            .await
            .unwrap_or_else(|_| panic!("{script} finishes within {limit:?}"))
            .expect("python runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{script} {args:?} failed: {stdout} {}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim()).expect("one JSON line")
    }
}

fn user_settings(sb: &SandboxHandle, name: &str) -> Vec<(&'static str, String)> {
    let user = sb.user(name).expect("seeded user");
    vec![
        ("SANDBOX_USERNAME", user.upn.clone()),
        ("SANDBOX_PASSWORD", user.password.clone()),
    ]
}

/// A sandbox that approves sign-ins by itself for `upn`: a browser sign-in at
/// once, a device flow polled each second shortly after.
fn approving(upn: &str) -> SandboxConfig {
    SandboxConfig {
        auto_approve: Some(upn.into()),
        auto_approve_delay: Duration::from_millis(300),
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    }
}

const USER_SCOPES: &str =
    "https://graph.microsoft.com/User.Read https://graph.microsoft.com/Application.Read.All";

/// What MSAL reports of a user's sign-in and of the two silent calls after
/// it: the account cached from the ID token, a token from the cache, and
/// one renewed with the refresh token.
fn assert_signed_in_then_silent(result: &Value, upn: &str) {
    assert_eq!(result["claims"]["upn"], upn, "{result}");
    assert_eq!(
        result["id_token_claims"]["preferred_username"], upn,
        "{result}"
    );
    assert_eq!(result["accounts"], json!([upn]), "{result}");
    assert_eq!(result["cached_source"], "cache", "{result}");
    assert_eq!(result["renewed_source"], "identity_provider", "{result}");
    let scopes = result["renewed_claims"]["scp"].as_str().unwrap_or_default();
    assert!(
        scopes.contains("User.Read") && scopes.contains("Application.Read.All"),
        "{result}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_acquires_a_client_credentials_token_with_a_certificate() {
    let tenant = https_tenant(SandboxConfig::default()).await;
    let (app, mut settings) = tenant.application_with_certificate().await;
    settings.push(("SANDBOX_SCOPE", SYNC_SCOPE.to_string()));
    let result = tenant
        .run_script("msal_client_credentials.py", &[], &settings)
        .await;
    assert_eq!(result["token_type"], "Bearer");
    let payload = result["access_token_payload"].as_str().unwrap();
    let claims = claims(&format!("header.{payload}.signature"));
    assert_eq!(claims["appid"], app.app_id.as_str());
    assert_eq!(claims["aud"], SYNC_APP_ID);
    assert_eq!(claims["roles"], json!(["ADSynchronization.ReadWrite.All"]));
    assert_eq!(claims["tid"], tenant.sb.tenant_id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_signs_in_with_the_device_code_then_silently_from_cache_and_refresh_token() {
    let upn = "hybrid.admin@contoso-sandbox.onmicrosoft.com";
    let tenant = https_tenant(approving(upn)).await;
    let settings = [
        ("SANDBOX_CLIENT_ID", GRAPH_CLI.to_string()),
        ("SANDBOX_SCOPES", USER_SCOPES.to_string()),
    ];
    let result = tenant
        .run_script("msal_device_code.py", &[], &settings)
        .await;
    assert_signed_in_then_silent(&result, upn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_signs_in_with_the_authorization_code_flow_then_silently() {
    let upn = "hybrid.admin@contoso-sandbox.onmicrosoft.com";
    let tenant = https_tenant(approving(upn)).await;
    let redirect_uri = "http://localhost:43817";
    let settings = [
        ("SANDBOX_CLIENT_ID", GRAPH_CLI.to_string()),
        ("SANDBOX_SCOPES", USER_SCOPES.to_string()),
        ("SANDBOX_REDIRECT_URI", redirect_uri.to_string()),
    ];
    let result = tenant.run_script("msal_auth_code.py", &[], &settings).await;
    assert_signed_in_then_silent(&result, upn);
    assert_eq!(
        result["redirected_to"],
        format!("{redirect_uri}/"),
        "{result}"
    );
    assert_eq!(result["code_challenge_method"], "S256", "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msal_signs_in_with_a_password_through_organizations_then_silently() {
    let tenant = https_tenant(SandboxConfig::default()).await;
    let mut settings = user_settings(&tenant.sb, "hybrid.admin");
    settings.extend([
        (
            "SANDBOX_AUTHORITY",
            format!("{}/organizations", tenant.sb.authority_host),
        ),
        ("SANDBOX_CLIENT_ID", GRAPH_CLI.to_string()),
        ("SANDBOX_SCOPES", USER_SCOPES.to_string()),
    ]);
    let result = tenant.run_script("msal_password.py", &[], &settings).await;
    let upn = tenant.sb.user("hybrid.admin").unwrap().upn.clone();
    assert_signed_in_then_silent(&result, &upn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_identity_certificate_and_client_assertion_credentials_get_app_tokens() {
    let tenant = https_tenant(SandboxConfig::default()).await;
    let (app, mut settings) = tenant.application_with_certificate().await;
    settings.push(("SANDBOX_SCOPE", SYNC_SCOPE.to_string()));
    for credential in ["certificate", "assertion"] {
        let result = tenant
            .run_script("azure_identity_credentials.py", &[credential], &settings)
            .await;
        assert_eq!(result["claims"]["appid"], app.app_id.as_str(), "{result}");
        assert_eq!(
            result["claims"]["roles"],
            json!(["ADSynchronization.ReadWrite.All"]),
            "{result}"
        );
        assert_eq!(result["cached"], true, "{credential}: {result}");
    }
}

/// What azure-identity's user credentials report: an AuthenticationRecord
/// built from the ID token and client_info, then a token for the user.
fn assert_authenticated(result: &Value, sb: &SandboxHandle, upn: &str) {
    let record = &result["record"];
    assert_eq!(record["username"], upn, "{result}");
    assert_eq!(record["tenant_id"], sb.tenant_id.as_str(), "{result}");
    assert_eq!(record["client_id"], GRAPH_CLI, "{result}");
    assert_eq!(
        record["home_account_id"],
        format!(
            "{}.{}",
            result["claims"]["oid"].as_str().unwrap_or("?"),
            sb.tenant_id
        ),
        "{result}"
    );
    assert_eq!(result["claims"]["upn"], upn, "{result}");
    assert_eq!(result["cached"], true, "{result}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_identity_username_password_credential_authenticates() {
    let tenant = https_tenant(SandboxConfig::default()).await;
    let mut settings = user_settings(&tenant.sb, "hybrid.admin");
    settings.extend([
        ("SANDBOX_CLIENT_ID", GRAPH_CLI.to_string()),
        ("SANDBOX_SCOPE", GRAPH_SCOPE.to_string()),
    ]);
    let result = tenant
        .run_script("azure_identity_credentials.py", &["password"], &settings)
        .await;
    let upn = tenant.sb.user("hybrid.admin").unwrap().upn.clone();
    assert_authenticated(&result, &tenant.sb, &upn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn azure_identity_device_code_credential_authenticates() {
    let upn = "hybrid.admin@contoso-sandbox.onmicrosoft.com";
    let tenant = https_tenant(approving(upn)).await;
    let settings = [
        ("SANDBOX_CLIENT_ID", GRAPH_CLI.to_string()),
        ("SANDBOX_SCOPE", GRAPH_SCOPE.to_string()),
    ];
    let result = tenant
        .run_script("azure_identity_credentials.py", &["device-code"], &settings)
        .await;
    assert_authenticated(&result, &tenant.sb, upn);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn msgraph_sdk_registers_rolls_grants_and_reads_as_an_administrator() {
    let tenant = https_tenant(SandboxConfig {
        // Three applications make two pages.
        page_size: 2,
        ..SandboxConfig::default()
    })
    .await;
    let (first, next) = (TestCert::new(), TestCert::new());
    let (key_pem, cert_pem) = tenant.write_pem(&first, "first");
    let (_, next_cert_pem) = tenant.write_pem(&next, "next");
    let mut settings = user_settings(&tenant.sb, "global.admin");
    settings.extend([
        ("SANDBOX_CLIENT_ID", GRAPH_CLI.to_string()),
        ("SANDBOX_KEY_PEM", key_pem),
        ("SANDBOX_CERT_PEM", cert_pem),
        ("SANDBOX_NEXT_CERT_PEM", next_cert_pem),
        ("SANDBOX_SYNC_APP_ID", SYNC_APP_ID.to_string()),
        ("SANDBOX_SYNC_ROLE_ID", SYNC_ROLE_ID.to_string()),
        ("SANDBOX_DOMAIN", tenant.sb.tenant_domain.clone()),
    ]);
    let result = tenant
        .run_script("msgraph_sdk_calls.py", &[], &settings)
        .await;

    assert_eq!(
        result["created"]["tags"],
        json!(["msgraph-sdk"]),
        "{result}"
    );
    assert_eq!(result["listed"]["pages"], 2, "{result}");
    let listed = result["listed"]["names"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "{result}");
    assert_eq!(
        result["selected_key_ids"].as_array().map(Vec::len),
        Some(1),
        "{result}"
    );
    assert_eq!(
        result["remaining_key_ids"],
        json!([result["added_key_id"]]),
        "{result}"
    );
    let principal = &result["service_principal"];
    assert_eq!(principal["created"], principal["by_app_id"], "{result}");
    let assigned = result["granted"]["assigned_to_principals"]
        .as_array()
        .unwrap();
    assert!(assigned.contains(&principal["created"]), "{result}");
    assert_eq!(
        result["user"]["created"], result["user"]["read"],
        "{result}"
    );
    assert_eq!(
        result["memberships"],
        json!(["#microsoft.graph.directoryRole"]),
        "{result}"
    );
    assert_eq!(result["roles"], json!(["Global Administrator"]), "{result}");

    // What the SDK wrote is what the sandbox holds.
    let admin = user_token(&tenant.sb, "global.admin").await;
    let path = format!(
        "/applications/{}",
        result["created"]["id"].as_str().unwrap()
    );
    let (_, stored) = graph(&tenant.sb, &admin, reqwest::Method::GET, &path, None).await;
    assert_eq!(stored["tags"], json!(["msgraph-sdk"]), "{stored}");
    assert_eq!(
        stored["keyCredentials"][0]["keyId"], result["added_key_id"],
        "{stored}"
    );
}
