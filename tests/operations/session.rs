//! One sign-in per wizard session (issue 22): the administrator's refresh
//! token, held in the session's token cache (memory only), serves every later
//! sign-in of the same administrator for other scopes without a new device
//! code; once Entra refuses it (the sessions revoked), the administrator
//! signs in again. Against the in-process sandbox, with the client a task
//! builds from the session's settings.

use super::scheduler::connection;
use crate::harness::tenant;
use entra_connect::engine::permissions::Scope;
use entra_connect::entra::client::{EntraClient, UserSignIn};
use entra_connect::sandbox::SandboxConfig;
use reqwest::{Method, StatusCode};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

fn graph_scopes(names: &[&'static str]) -> Vec<String> {
    names.iter().map(|name| Scope(name).request()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_device_code_serves_the_sessions_later_sign_ins_until_entra_refuses_it() {
    let admin = "hybrid.admin";
    let sb = tenant::start_with(SandboxConfig {
        auto_approve: Some(tenant::seeded_upn(admin)),
        auto_approve_delay: Duration::from_millis(200),
        device_code_interval: Duration::from_secs(1),
        ..SandboxConfig::default()
    })
    .await;
    let upn = sb.user(admin).unwrap().upn.clone();
    let session = connection(&sb);
    let codes = Arc::new(AtomicUsize::new(0));
    // Each task makes its own client from the session's settings, as the wizard does.
    let sign_in = async |scopes: &[&'static str]| {
        let client = EntraClient::new(session.clone(), Arc::new(|_| {})).unwrap();
        let counted = codes.clone();
        client
            .user_token(
                &UserSignIn::DeviceCode { upn: upn.clone() },
                &graph_scopes(scopes),
                move |_| {
                    counted.fetch_add(1, Ordering::SeqCst);
                },
            )
            .await
            .unwrap()
    };

    let first = sign_in(&["User.Read", "Application.ReadWrite.All"]).await;
    assert_eq!(codes.load(Ordering::SeqCst), 1);
    assert!(first.scopes().contains("Application.ReadWrite.All"));
    let second = sign_in(&["User.Read", "AppRoleAssignment.ReadWrite.All"]).await;
    let third = sign_in(&["User.Read", "User.ReadWrite.All"]).await;
    assert_eq!(codes.load(Ordering::SeqCst), 1, "no second device code");
    assert!(second.scopes().contains("AppRoleAssignment.ReadWrite.All"));
    assert!(!second.scopes().contains("Application.ReadWrite.All"));
    assert!(third.scopes().contains("User.ReadWrite.All"));

    // The administrator's sessions revoked: the refresh token is refused,
    // and the next task signs in again.
    let global = tenant::user_token(&sb, "global.admin").await;
    let id = tenant::seeded_user_id(&sb, &global, admin).await;
    let path = format!("/users/{id}/revokeSignInSessions");
    let (status, body) = tenant::graph(&sb, &global, Method::POST, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let again = sign_in(&["User.Read", "RoleManagement.Read.Directory"]).await;
    assert_eq!(codes.load(Ordering::SeqCst), 2, "signed in again");
    assert!(again.scopes().contains("RoleManagement.Read.Directory"));
}
