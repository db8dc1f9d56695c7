//! Proxies (issue 22): a real proxy (tinyproxy on loopback, with Basic
//! authentication) in front of the sandbox over HTTPS. Onboarding and
//! `credential test` go through it (its log shows the tunnels), `no_proxy`
//! bypasses it, `doctor` names it without its password, a wrong password is
//! refused without being shown, and the password appears in nothing the
//! tool printed at `-vv`.

use crate::harness::process::{json_of, stderr};
use crate::harness::server::Server;
use crate::harness::tinyproxy::{Tinyproxy, through};
use entra_connect::sandbox::SandboxConfig;
use serde_json::Value;

/// `--json -vv credential test` with `env`.
async fn credential_test(server: &Server, env: Vec<(String, String)>) -> std::process::Output {
    let args = ["--json", "-vv", "credential", "test"].map(String::from);
    server.run(args.to_vec(), String::new(), env).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tool_goes_through_an_authenticated_proxy_unless_no_proxy_names_the_host() {
    let proxy = Tinyproxy::start();
    let server = Server::with(SandboxConfig {
        tls: true,
        ..SandboxConfig::default()
    })
    .await;
    let ca = server.sb.ca_cert.clone().expect("a CA file with --tls");
    let ca = ca.to_str().unwrap();
    let sandbox = server
        .sb
        .authority_host
        .trim_start_matches("https://")
        .trim_end_matches('/')
        .to_string();
    let proxied = through(&proxy.url(), "");

    // Onboarding through the proxy: every request is a tunnel it opened.
    let verbose = ["--ca-cert", ca, "-vv"];
    json_of(
        &server
            .app_with("register", "hybrid.admin", &verbose, proxied.clone())
            .await,
    );
    json_of(
        &server
            .app_with("link", "hybrid.admin", &["-vv"], proxied.clone())
            .await,
    );
    let onboarding = proxy.connects_to(&sandbox);
    assert!(onboarding > 0, "tunnels to {sandbox}");

    let tested = credential_test(&server, proxied.clone()).await;
    assert!(tested.status.success(), "{}", stderr(&tested));
    let after_test = proxy.connects_to(&sandbox);
    assert!(
        after_test > onboarding,
        "credential test went through the proxy"
    );

    // doctor names the proxy for both endpoints, never its password.
    let doctor = server
        .run(
            ["--json", "doctor"].map(String::from).to_vec(),
            String::new(),
            proxied.clone(),
        )
        .await;
    let findings: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let route = findings
        .as_array()
        .unwrap()
        .iter()
        .find(|finding| finding["check"] == "proxy")
        .map(|finding| finding["detail"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("a proxy finding in {findings:#}"));
    let shown = format!("through http://proxyuser:***@127.0.0.1:{}", proxy.port);
    assert_eq!(route.matches(&shown).count(), 2, "{route}");

    // no_proxy naming the sandbox's address: straight there.
    let before_direct = proxy.connects_to(&sandbox);
    let direct = credential_test(&server, through(&proxy.url(), "127.0.0.1")).await;
    assert!(direct.status.success(), "{}", stderr(&direct));
    assert_eq!(proxy.connects_to(&sandbox), before_direct, "no tunnel");
    let doctor = server
        .run(
            ["--json", "doctor"].map(String::from).to_vec(),
            String::new(),
            through(&proxy.url(), "127.0.0.1"),
        )
        .await;
    assert!(
        String::from_utf8_lossy(&doctor.stdout).contains(&format!("https://{sandbox} direct")),
        "{}",
        String::from_utf8_lossy(&doctor.stdout)
    );

    // A wrong password: refused by the proxy, and not shown either.
    let wrong = "wrong-proxy-password-1234";
    let refused = credential_test(&server, through(&proxy.url_with(wrong), "")).await;
    assert!(!refused.status.success());
    let said = stderr(&refused);
    assert!(!said.contains(wrong), "{said}");
    let shown_wrong = format!(
        "the proxy http://proxyuser:***@127.0.0.1:{} refused",
        proxy.port
    );
    assert!(said.contains(&shown_wrong), "{said}");
    assert!(
        !said.contains("retrying"),
        "a refusal is not retried: {said}"
    );

    let printed = server.printed();
    assert!(
        !printed.contains(&proxy.password),
        "the proxy password was printed"
    );
    assert!(!printed.contains(wrong), "the wrong password was printed");
}
