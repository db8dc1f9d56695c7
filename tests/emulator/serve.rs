//! `entra-connect sandbox serve` as a process: the first stdout line is the
//! startup JSON, the server answers, and it stops when killed.

use crate::harness::process;
use entra_connect::sandbox::StartupInfo;
use std::io::{BufRead, BufReader};
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
    let ca = info.ca_cert.expect("ca_cert with --tls");
    let pem = std::fs::read(&ca).expect("the CA file exists");
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let response = client
        .get(format!(
            "{}/{}/discovery/v2.0/keys",
            info.authority_host, info.tenant_domain
        ))
        .send()
        .await
        .expect("HTTPS with the sandbox CA");
    assert_eq!(response.status(), reqwest::StatusCode::OK);
}

#[test]
fn serve_refuses_a_bad_fault_rate() {
    let output = process::binary()
        .args(["sandbox", "serve", "--fault-rate", "1.5"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}
