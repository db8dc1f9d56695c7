//! `entra-connect sandbox serve` as a process: the first stdout line is the
//! startup JSON, the server answers, and it stops when killed.

use crate::harness::process;
use entra_connect::sandbox::StartupInfo;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::DirBuilderExt;
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::time::Duration;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn serve(args: &[&str]) -> (Killed, StartupInfo) {
    let mut child = process::binary()
        .args(["sandbox", "serve", "--port", "0"])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn entra-connect");
    let stdout = child.stdout.take().expect("stdout");
    let child = Killed(child);
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = send.send(line);
    });
    let line = receive
        .recv_timeout(Duration::from_secs(20))
        .expect("a startup line within 20 s");
    let info: StartupInfo = serde_json::from_str(&line).expect("the first line is JSON");
    (child, info)
}

#[tokio::test]
async fn serve_prints_startup_json_then_answers() {
    let (_child, info) = serve(&[]);
    assert!(
        info.authority_host.starts_with("http://127.0.0.1:"),
        "{info:?}"
    );
    assert_eq!(info.graph_url, format!("{}/v1.0", info.authority_host));
    assert_eq!(info.tenant_domain, "contoso-sandbox.onmicrosoft.com");
    assert!(info.ca_cert.is_none());
    // Every seeded user, with the role names that matter for the permission model.
    let roles_of = |name: &str| -> Vec<String> {
        info.user(name)
            .unwrap_or_else(|| panic!("{name} is listed"))
            .roles
            .clone()
    };
    for (name, role) in [
        ("hybrid.admin", "Hybrid Identity Administrator"),
        ("global.admin", "Global Administrator"),
        ("app.admin", "Application Administrator"),
        ("cloudapp.admin", "Cloud Application Administrator"),
        ("role.admin", "Privileged Role Administrator"),
        ("user.admin", "User Administrator"),
        (
            "Sync_CONNECT01_1a2b3c4d5e6f",
            "Directory Synchronization Accounts",
        ),
    ] {
        assert_eq!(roles_of(name), vec![role.to_string()], "{name}");
    }
    assert!(roles_of("plain.user").is_empty());
    assert_eq!(info.users.len(), 9);
    assert!(info.users.iter().all(|u| !u.password.is_empty()));
    let admin = info
        .users
        .iter()
        .find(|u| u.upn == info.admin_upn)
        .expect("admin listed");
    assert_eq!(admin.password, info.admin_password);
    assert_eq!(
        admin.roles,
        vec!["Hybrid Identity Administrator".to_string()]
    );
    assert!(info.users.iter().any(|u| u.mfa_required));
    let sync = info
        .users
        .iter()
        .find(|u| u.upn.starts_with("Sync_"))
        .expect("sync account");
    let (name, domain) = sync.upn.split_once('@').unwrap();
    assert_eq!(domain, info.tenant_domain);
    let suffix = name.rsplit('_').next().unwrap();
    assert_eq!(suffix.len(), 12);
    assert!(suffix.chars().all(|c| c.is_ascii_hexdigit()));

    let url = format!(
        "{}/{}/v2.0/.well-known/openid-configuration",
        info.authority_host, info.tenant_id
    );
    let document: serde_json::Value = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(url)
        .send()
        .await
        .expect("the server answers")
        .json()
        .await
        .unwrap();
    assert_eq!(
        document["token_endpoint"],
        format!(
            "{}/{}/oauth2/v2.0/token",
            info.authority_host, info.tenant_id
        )
    );
}

#[tokio::test]
async fn serve_with_tls_names_its_ca_file() {
    let (_child, info) = serve(&["--tls", "--fault-rate", "0", "--latency-ms", "0"]);
    assert!(info.authority_host.starts_with("https://127.0.0.1:"));
    let ca = info.ca_cert.clone().expect("ca_cert with --tls");
    let pem = std::fs::read(&ca).expect("the CA file exists");
    assert_keys_served_trusting(&info, &pem).await;
}

/// The sandbox `info` describes serves its keys over HTTPS to a client that
/// trusts only the CA `pem`.
async fn assert_keys_served_trusting(info: &StartupInfo, pem: &[u8]) {
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .tls_certs_only([reqwest::Certificate::from_pem(pem).unwrap()])
        .build()
        .unwrap();
    let response = client
        .get(format!(
            "{}/{}/discovery/v2.0/keys",
            info.authority_host, info.tenant_domain
        ))
        .send()
        .await
        .expect("HTTPS with the sandbox's CA");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
}

/// With `--data-dir`, a restarted `sandbox serve` has the same CA file (so
/// a client that trusts it still connects) and the same seeded passwords.
#[tokio::test]
async fn serve_with_a_data_dir_keeps_its_ca_and_passwords_across_a_restart() {
    let work = tempfile::tempdir().expect("temporary directory");
    let dir = work.path().join("tenant");
    let args = ["--tls", "--data-dir", dir.to_str().expect("a UTF-8 path")];
    let (child, first) = serve(&args);
    let ca = first.ca_cert.clone().expect("ca_cert with --tls");
    assert_eq!(ca, dir.join("ca.pem"));
    let pem = std::fs::read(&ca).expect("the CA file");
    drop(child);

    let (_child, second) = serve(&args);
    assert_eq!(second.ca_cert.as_ref(), Some(&ca));
    assert_eq!(std::fs::read(&ca).expect("the CA file"), pem);
    assert_eq!(second.users, first.users, "the seeded users changed");
    assert_eq!(second.admin_password, first.admin_password);
    // The CA file from before the restart is still the one to trust.
    assert_keys_served_trusting(&second, &pem).await;
}

#[test]
fn serve_refuses_a_data_dir_whose_tenant_file_is_damaged() {
    let work = tempfile::tempdir().expect("temporary directory");
    let dir = work.path().join("tenant");
    std::fs::DirBuilder::new().mode(0o700).create(&dir).unwrap();
    let file = dir.join(entra_connect::sandbox::TENANT_FILE);
    std::fs::write(&file, "{\"format\": 1, \"keys\": ").unwrap();
    let mut child = process::binary()
        .args(["sandbox", "serve", "--port", "0", "--data-dir"])
        .arg(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn entra-connect");
    // One that serves instead would never exit: it is given 20 s.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("its output");
            panic!("it served a damaged tenant file: {output:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("its output");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains(&file.display().to_string()), "{stderr}");
    assert!(output.stdout.is_empty(), "it served: {output:?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\"format\": 1, \"keys\": "
    );
}

#[test]
fn serve_refuses_a_bad_fault_rate() {
    let output = process::binary()
        .args(["sandbox", "serve", "--fault-rate", "1.5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// `--conditional-access` reaches the tenant: each policy named is enforced.
#[tokio::test]
async fn serve_with_conditional_access_enforces_each_policy_named() {
    use crate::harness::tenant::*;
    let (_child, info) = serve(&[
        "--conditional-access",
        "block-device-code",
        "--conditional-access",
        "require-mfa",
    ]);
    let admin = info.user("hybrid.admin").expect("the admin");
    let (_, body) = password_grant(&info, &admin.upn, &admin.password, GRAPH_SCOPE).await;
    assert_eq!(aadsts(&body), 50076, "{body}");

    let code = device_code(&info, GRAPH_SCOPE).await;
    let approve = format!("{}/sandbox/device/approve", info.authority_host);
    let body = serde_json::json!({ "user_code": code["user_code"], "upn": admin.upn });
    let approved = http().post(approve).json(&body).send().await.unwrap();
    assert!(approved.status().is_success());
    let (_, body) = poll_device_code(&info, &code).await;
    assert_eq!(aadsts(&body), 53003, "{body}");
}

#[test]
fn serve_refuses_an_unknown_conditional_access_policy() {
    let output = process::binary()
        .args([
            "sandbox",
            "serve",
            "--conditional-access",
            "block-everything",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("block-device-code"), "{stderr}");
}
