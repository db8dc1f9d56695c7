//! The administrator's sign-in, shared by every operation that changes the
//! tenant: signs in for exactly the Graph scopes the operation needs, then
//! checks the account, its roles and the consented scopes before any change.

use super::operation::{Change, Check, PlannedStep, Run, Target};
use super::permissions::{self, Grantee, Needs};
use super::progress::{Progress, ProgressSender};
use super::{EngineError, EntraRequest};
use crate::entra::client::EntraClient;
use crate::entra::graph::GraphClient;

pub(super) const SIGN_IN: Check = Check::new("sign-in", "Sign in as Hybrid Identity Administrator");

/// Whether a sign-in's AADSTS code means consent is missing: 65001 (the user
/// or administrator has not consented) or 90094 (admin approval required).
pub(super) fn consent_required(aadsts: u32) -> bool {
    matches!(aadsts, 65001 | 90094)
}

/// The sign-in of an administrator who may update application credentials
/// (rotation when the application cannot roll its own key).
pub(super) const SIGN_IN_CREDENTIAL_ADMIN: Check = Check::new(
    "sign-in",
    "Sign in as an administrator who may update application credentials",
);

/// The sign-in in a plan.
pub(super) fn plan_sign_in(target: &Target, needs: &Needs) -> PlannedStep {
    plan_sign_in_as(SIGN_IN, target, needs)
}

/// The sign-in in a plan, under `check`'s title.
pub(super) fn plan_sign_in_as(check: Check, target: &Target, needs: &Needs) -> PlannedStep {
    check.plan(Change::SignIn {
        account: Some(target.admin_upn.clone()).filter(|upn| !upn.is_empty()),
        tenant: target.tenant.clone(),
        needs: needs.planned(),
    })
}

/// Signs the administrator in and checks the account, its roles and the
/// scopes consented for the sign-in client against `needs`.
pub(super) async fn sign_in_checked(
    run: &mut Run,
    client: &EntraClient,
    request: &EntraRequest,
    needs: &Needs,
) -> Result<GraphClient, EngineError> {
    sign_in_checked_as(SIGN_IN, run, client, request, needs).await
}

/// [`sign_in_checked`] under `check`'s title.
pub(super) async fn sign_in_checked_as(
    check: Check,
    run: &mut Run,
    client: &EntraClient,
    request: &EntraRequest,
    needs: &Needs,
) -> Result<GraphClient, EngineError> {
    let progress = run.progress().clone();
    let connection = &request.connection;
    let admin = request.admin.as_ref().ok_or(EngineError::NotSignedIn)?;
    let grantee = Grantee {
        upn: admin.upn().to_string(),
        client_id: connection.admin_client_id.clone(),
        tenant: connection.tenant.to_string(),
        authority_host: connection.endpoints.authority_host.to_string(),
    };
    run.check(check, async || {
        let scopes = needs.request_scopes();
        let signed_in = client
            .sign_in_user(admin, &scopes, |prompt| {
                let _ = progress.send(Progress::from(prompt));
            })
            .await;
        let graph = match signed_in {
            Err(error) if error.aadsts().is_some_and(consent_required) => {
                let missing = grantee.consent(needs.scopes);
                return Err(EngineError::ConsentMissing(Box::new(missing)));
            }
            other => other?,
        };
        let (me, roles) = tokio::join!(graph.me(), graph.my_directory_roles());
        let me = me?;
        let expected = admin.upn();
        if !me.user_principal_name.eq_ignore_ascii_case(expected) {
            return Err(EngineError::WrongAccount {
                expected: expected.to_string(),
                actual: me.user_principal_name,
            });
        }
        needs.check(&graph.token_scopes(), &roles?, &grantee)?;
        let summary = format!(
            "signed in as {}; roles and consent allow this change",
            me.user_principal_name
        );
        Ok((graph, summary))
    })
    .await
}

/// The wizard's sign-in page: signs in for what onboarding needs (the method
/// is chosen after sign-in, and Bring Your Own Application needs less) and
/// checks account, roles and consent, changing nothing. The token stays in
/// the request's cache for the operation that follows. Returns the account.
pub async fn sign_in(
    request: &EntraRequest,
    progress: ProgressSender,
) -> Result<String, EngineError> {
    let needs = &permissions::REGISTER;
    let mut run = Run::untracked("sign-in", &[SIGN_IN.id], progress);
    let client = request.client(&run)?;
    sign_in_checked(&mut run, &client, request, needs).await?;
    Ok(request.target().admin_upn)
}
