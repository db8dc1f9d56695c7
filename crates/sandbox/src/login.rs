//! What the sandbox's two sign-in pages share: the device login page
//! (`device.rs`) and the browser sign-in of the authorization code flow
//! (`authorize.rs`). A person signs in with a password, then, where the user
//! must use multifactor authentication (per user, or `--conditional-access
//! require-mfa`), answers a second-factor step for which the sandbox stands in
//! as the authenticator app (approve or deny). Approving then meets the
//! consent prompt's rules: a user who may consent for the organization
//! (Global, Privileged Role, Application or Cloud Application Administrator)
//! adds what the client lacks to the tenant's consent; anyone else's sign-in
//! ends with "need admin approval".
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - entra/identity-platform/v2-admin-consent (who may consent for the organization)
//! - entra/identity/authentication/concept-mfa-howitworks (a second factor after the password)

use super::AppState;
use super::directory::{Directory, RolePermission, User};
use super::errors::OAuthError;
use super::grants::{
    Consent, Form, consent, find_resource, grant_consent, known_client, parse_scope,
};
use super::pages::{hidden, page};
use axum::response::Html;
use std::time::Instant;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SignInError {
    #[error("the user {0} does not exist")]
    UnknownUser(String),
    #[error("the password is wrong")]
    WrongPassword,
    #[error("the account is disabled")]
    Disabled,
    #[error("the second-factor step has expired or belongs to another sign-in: sign in again")]
    SecondFactorExpired,
}

/// Where a sign-in form's submission leads.
pub(crate) enum Step {
    /// Signed in (password, and the second factor where needed): the user's id.
    SignedIn(String),
    /// The password was right; the second factor comes next: the step's token.
    SecondFactor(String),
    /// The user declined, or denied the second factor: the user's id.
    Declined(String),
}

/// Reads a sign-in form posted for the sign-in `flow`: the password step
/// (`upn`, `password`, `action`) or the second-factor step (`mfa`, `action`).
pub(crate) fn submit(state: &AppState, form: &Form, flow: &str) -> Result<Step, SignInError> {
    let instant = Instant::now();
    let declined = form.get("action") == Some("decline");
    let mut directory = state.directory();
    if let Some(token) = form.get("mfa") {
        let user_id = directory
            .sign_ins
            .answer(token, flow, instant)
            .ok_or(SignInError::SecondFactorExpired)?;
        return Ok(match declined {
            true => Step::Declined(user_id),
            false => Step::SignedIn(user_id),
        });
    }
    let upn = form.get("upn").unwrap_or_default();
    let user = directory
        .user(upn, instant)
        .ok_or_else(|| SignInError::UnknownUser(upn.to_string()))?;
    if form.get("password") != Some(user.password.as_str()) {
        return Err(SignInError::WrongPassword);
    }
    if !user.account_enabled {
        return Err(SignInError::Disabled);
    }
    let user_id = user.id.clone();
    // Declining needs no second factor.
    if declined {
        return Ok(Step::Declined(user_id));
    }
    match state.config.needs_mfa(&directory, user) {
        true => Ok(Step::SecondFactor(
            directory.sign_ins.challenge(&user_id, flow, instant),
        )),
        false => Ok(Step::SignedIn(user_id)),
    }
}

/// The user `--auto-approve` signs in as: the request's `login_hint` when
/// `auto_approve_as_hinted` is set and it names a user of the tenant, else
/// the configured one; none without `--auto-approve`.
pub(crate) fn auto_approver(
    state: &AppState,
    directory: &Directory,
    login_hint: Option<&str>,
    instant: Instant,
) -> Option<String> {
    let configured = state.config.auto_approve.as_ref()?;
    let hinted = login_hint
        .filter(|_| state.config.auto_approve_as_hinted)
        .and_then(|hint| directory.user(hint, instant));
    Some(hinted.map_or_else(|| configured.clone(), |user: &User| user.upn.clone()))
}

/// What a signed-in user's approval came to at the consent prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The client already held the consent asked for (or, for a `/.default`
    /// request it holds nothing for, there was nothing to consent to:
    /// redeeming then answers AADSTS65001).
    Approved,
    /// Consented for the organization to what the client lacked.
    ApprovedWithConsent,
    /// The client lacks consent the user may not grant.
    AdminConsentRequired,
    Declined,
}

impl Decision {
    pub(crate) fn status(self) -> &'static str {
        match self {
            Decision::Approved => "approved",
            Decision::ApprovedWithConsent => "consented",
            Decision::AdminConsentRequired => "admin_consent_required",
            Decision::Declined => "declined",
        }
    }
}

/// The consent prompt for `user_id` approving `client_id`'s request for
/// `scope`: what the client lacks is consented for the organization when the
/// user may do so (and recorded in `directory`).
pub(crate) fn consent_prompt(
    state: &AppState,
    directory: &mut Directory,
    user_id: &str,
    client_id: &str,
    scope: &str,
    instant: Instant,
) -> Result<Decision, OAuthError> {
    let may_consent = directory
        .user_permissions(user_id)
        .contains(&RolePermission::GrantTenantWideConsent);
    // What the prompt would show: the permissions the client lacks.
    let (resource_app_id, missing) = {
        let scope = parse_scope(scope)?;
        let client = known_client(directory, client_id, instant)?;
        let resource = find_resource(state, directory, &scope.resource, instant)?;
        match consent(client, resource, &scope) {
            Consent::Granted(_) => (resource.app_id.clone(), None),
            Consent::Missing(missing) => (resource.app_id.clone(), Some(missing)),
        }
    };
    Ok(match missing {
        None => Decision::Approved,
        // "Consent on behalf of your organization".
        Some(missing) if may_consent && !missing.is_empty() => {
            grant_consent(directory, client_id, &resource_app_id, &missing);
            Decision::ApprovedWithConsent
        }
        Some(_) if may_consent => Decision::Approved,
        Some(_) => Decision::AdminConsentRequired,
    })
}

/// What the pages say when the client asks for what only an administrator may grant.
pub(crate) const NEED_ADMIN_APPROVAL: &str = "Need admin approval: the application asks for permissions only an administrator can consent to for your organization.";

/// The second-factor step, posting to `action` with `fields` (what names
/// the sign-in) and the step's `token`.
pub(crate) fn mfa_page(action: &str, fields: &[(&str, &str)], token: &str) -> Html<String> {
    let form = format!(
        "<form method=\"post\" action=\"{}\">\n{}{}\
         <p><button name=\"action\" value=\"approve\">Approve</button>\n\
         <button name=\"action\" value=\"decline\">Deny</button></p>\n</form>",
        crate::pages::escape(action),
        hidden(fields),
        hidden(&[("mfa", token)]),
    );
    page(
        "Approve sign-in request",
        "Your organization requires multifactor authentication. The sandbox stands in for your authenticator app: approve the sign-in request to continue, or deny it.",
        &form,
    )
}
