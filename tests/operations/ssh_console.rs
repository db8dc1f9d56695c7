//! Issue 22 done: a tenant that blocks the device code flow and requires
//! MFA, reached through an authenticated proxy, is onboarded, rotated and
//! rolled back from an SSH console with no browser on the server. The
//! administrator's browser runs elsewhere (here, an HTTP client that follows
//! the sign-in address directly, as the administrator's own machine would,
//! and that the sandbox approves at once); each redirect, which would not
//! load there, is pasted back on the tool's standard input. Every request
//! of the tool goes through the proxy.

use super::browser::{redirect_of, sign_in_address};
use crate::harness::process::Running;
use crate::harness::tenant;
use crate::harness::tinyproxy::{Tinyproxy, through};
use entra_connect::sandbox::{ConditionalAccess, SandboxConfig, SandboxHandle};
use serde_json::Value;

/// `entra-connect --json ARGS` on the console: a browser sign-in whose
/// address the administrator opens on their own machine, pasting back where
/// it ended. Its JSON output.
async fn signed_in_over_ssh(
    sb: &SandboxHandle,
    state: &std::path::Path,
    args: &[&str],
    env: &[(String, String)],
) -> Value {
    let mut all: Vec<String> = ["--json"]
        .into_iter()
        .chain(args.iter().copied())
        .map(String::from)
        .collect();
    all.extend(["--sign-in".into(), "browser".into()]);
    let mut console = Running::start(state, &all, env);
    let address = sign_in_address(&mut console);
    let redirect = redirect_of(sb, &address).await;
    console.type_line(redirect.as_str());
    let (exit, stdout, stderr) = console.finish();
    assert_eq!(exit, Some(0), "{args:?}: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|_| panic!("{args:?}: {stdout}"))
}

/// `entra-connect --json ARGS` on the console, with `stdin`, no administrator.
async fn on_the_console(
    state: &std::path::Path,
    args: &[&str],
    stdin: String,
    env: Vec<(String, String)>,
) -> Value {
    let mut all = vec!["--json".to_string()];
    all.extend(args.iter().map(|word| word.to_string()));
    let output = crate::harness::process::run_async(state, all, stdin, env).await;
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_is_onboarded_rotated_and_rolled_back_over_ssh_through_a_proxy_where_device_codes_are_blocked_and_mfa_required()
 {
    let proxy = Tinyproxy::start();
    let sb = tenant::start_with(SandboxConfig {
        tls: true,
        conditional_access: vec![
            ConditionalAccess::BlockDeviceCode,
            ConditionalAccess::RequireMfa,
        ],
        auto_approve: Some(tenant::seeded_upn("hybrid.admin")),
        ..SandboxConfig::default()
    })
    .await;
    let ca = sb.ca_cert.clone().expect("a CA with tls");
    let ca = ca.to_str().unwrap();
    let sandbox = sb.authority_host.trim_start_matches("https://").to_string();
    let state = tempfile::tempdir().unwrap();
    // The console's environment: the proxy, and nothing reached directly.
    let env = through(&proxy.url(), "");
    let admin = sb.user("hybrid.admin").unwrap().upn.clone();
    let legacy = sb.user("Sync_CONNECT01_1a2b3c4d5e6f").unwrap().clone();
    let mut connection = tenant::connection_waiting(&sb);
    connection.extend(["--ca-cert".into(), ca.into()]);
    let connection: Vec<&str> = connection.iter().map(String::as_str).collect();

    // The server's legacy connector account, recorded (the policy excludes
    // directory synchronization accounts from MFA, as it must).
    let mut args = vec![
        "service-account",
        "use",
        "--upn",
        &legacy.upn,
        "--password-stdin",
    ];
    args.extend(&connection);
    on_the_console(
        state.path(),
        &args,
        format!("{}\n", legacy.password),
        env.clone(),
    )
    .await;

    // Onboarding, signed in through the administrator's own browser.
    let mut args = vec!["app", "register", "--upn", &admin];
    args.extend(&connection);
    signed_in_over_ssh(&sb, state.path(), &args, &env).await;
    // Linking what this server registered: the application proves itself.
    let link = ["app", "link", "--upn", &admin, "--sign-in", "browser"];
    let linked = on_the_console(state.path(), &link, String::new(), env.clone()).await;
    let onboarded = proxy.connects_to(&sandbox);
    assert!(onboarded > 0, "onboarding went through the proxy");

    // Rotation: the application rolls its own key; nobody signs in.
    let rotated =
        on_the_console(state.path(), &["app", "rotate"], String::new(), env.clone()).await;
    assert_eq!(rotated["app_id"], linked["app_id"], "{rotated}");
    assert!(
        proxy.connects_to(&sandbox) > onboarded,
        "rotation went through the proxy"
    );

    // Rollback to the retained account, which still signs in: no
    // administrator is needed (one given would sign in the same way).
    let rollback = [
        "service-account",
        "add",
        "--upn",
        &admin,
        "--sign-in",
        "browser",
    ];
    let rolled_back = on_the_console(state.path(), &rollback, String::new(), env.clone()).await;
    assert_eq!(
        rolled_back["user_principal_name"],
        legacy.upn.as_str(),
        "{rolled_back}"
    );
    let tested = on_the_console(state.path(), &["credential", "test"], String::new(), env).await;
    assert_eq!(
        tested["user_principal_name"],
        legacy.upn.as_str(),
        "{tested}"
    );
}
