//! The administrator's sign-in, shared by every operation that changes the
//! tenant: signs in, then checks the account and its role before any change.

use super::operation::{Check, PlannedStep, Run, Target};
use super::progress::{Progress, ProgressSender};
use super::{EngineError, EntraRequest};
use crate::domain::{GLOBAL_ADMINISTRATOR, HYBRID_IDENTITY_ADMINISTRATOR};
use crate::entra::client::EntraClient;
use crate::entra::graph::GraphClient;

pub const SIGN_IN: Check = Check::new("sign-in", "Sign in as Hybrid Identity Administrator");

/// The sign-in in a plan.
pub fn plan_sign_in(target: &Target) -> PlannedStep {
    SIGN_IN.plan(format!(
        "Sign in as {} to tenant {} and check the account holds Hybrid Identity Administrator (or Global Administrator)",
        target.admin_upn, target.tenant
    ))
}

/// Signs the administrator in and checks the account and its role.
pub async fn sign_in_checked(
    run: &mut Run,
    client: &EntraClient,
    request: &EntraRequest,
) -> Result<GraphClient, EngineError> {
    let progress = run.progress().clone();
    run.check(SIGN_IN, async || {
        let graph = client
            .sign_in_admin(&request.sign_in, |code| {
                let _ = progress.send(Progress::SignInCode {
                    verification_uri: code.verification_uri.clone(),
                    user_code: code.user_code.clone(),
                    expires_in_seconds: code.expires_in,
                });
            })
            .await?;
        let (me, roles) = tokio::join!(graph.me(), graph.my_directory_roles());
        let me = me?;
        let expected = request.sign_in.upn();
        if !me.user_principal_name.eq_ignore_ascii_case(expected) {
            return Err(EngineError::WrongAccount {
                expected: expected.to_string(),
                actual: me.user_principal_name,
            });
        }
        let allowed = roles?.iter().any(|role| {
            role.role_template_id == HYBRID_IDENTITY_ADMINISTRATOR
                || role.role_template_id == GLOBAL_ADMINISTRATOR
        });
        if !allowed {
            return Err(EngineError::NotAdministrator {
                upn: me.user_principal_name,
            });
        }
        let summary = format!("signed in as {}", me.user_principal_name);
        Ok((graph, summary))
    })
    .await
}

/// The wizard's sign-in page: signs in and checks account and role, changing
/// nothing. The token stays in the request's cache for the operation that
/// follows. Returns the signed-in account.
pub async fn sign_in(
    request: &EntraRequest,
    progress: ProgressSender,
) -> Result<String, EngineError> {
    let plan = [plan_sign_in(&request.target())];
    let mut run = Run::untracked("sign-in", &plan, progress);
    let client = request.client(&run)?;
    sign_in_checked(&mut run, &client, request).await?;
    Ok(request.sign_in.upn().to_string())
}
