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
use super::authorize::{AuthorizationCode, AuthorizationRequest};
use super::directory::{Directory, RolePermission, User};
use super::errors::OAuthError;
use super::grants::{
    Consent, Form, consent, find_resource, grant_consent, known_client, parse_scope,
};
use axum::response::Html;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// How long a second-factor step waits for its answer.
const MFA_LIFETIME: Duration = Duration::from_secs(300);

/// Sign-ins in progress; they end with the sandbox that started them.
#[derive(Default)]
pub(crate) struct SignIns {
    /// Browser sign-ins waiting at the sign-in page, by their flow id.
    pub requests: HashMap<String, AuthorizationRequest>,
    /// Authorization codes issued, by value (kept a while after they
    /// expire or are redeemed, so that a late or second use is named as such).
    pub codes: HashMap<String, AuthorizationCode>,
    /// Second-factor steps waiting for an answer, by their token.
    challenges: HashMap<String, MfaChallenge>,
}

/// A password accepted, waiting for the user's second factor.
struct MfaChallenge {
    user_id: String,
    /// The sign-in it belongs to (a device code's user code, a browser
    /// sign-in's flow id): the answer counts for that one only.
    flow: String,
    expires_at: Instant,
}

impl SignIns {
    /// Starts the second-factor step of `user_id`'s sign-in to `flow`: the
    /// token the step's form carries.
    fn challenge(&mut self, user_id: &str, flow: &str, instant: Instant) -> String {
        self.challenges.retain(|_, c| c.expires_at > instant);
        let token = random_token();
        self.challenges.insert(
            token.clone(),
            MfaChallenge {
                user_id: user_id.to_string(),
                flow: flow.to_string(),
                expires_at: instant + MFA_LIFETIME,
            },
        );
        token
    }

    /// The user whose step `token` is, for `flow`; the step is over either way.
    fn answer(&mut self, token: &str, flow: &str, instant: Instant) -> Result<String, SignInError> {
        match self.challenges.remove(token) {
            Some(c) if c.flow == flow && instant < c.expires_at => Ok(c.user_id),
            _ => Err(SignInError::SecondFactorExpired),
        }
    }
}

/// A hard-to-guess value for a flow id, a second-factor step or a code.
pub(crate) fn random_token() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>())
}

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
        let user_id = directory.sign_ins.answer(token, flow, instant)?;
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
    match state.config.needs_mfa(user) {
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

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A sign-in page: `message` (text) above `form` (HTML the caller built).
pub(crate) fn page(title: &str, message: &str, form: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family: sans-serif; max-width: 32em; margin: 3em auto\">\n\
         <h1>{title}</h1>\n<p id=\"message\">{}</p>\n{form}\n</body></html>",
        escape(message),
        title = escape(title),
    ))
}

/// Hidden inputs carrying `fields` through a form.
pub(crate) fn hidden(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">\n",
                escape(name),
                escape(value)
            )
        })
        .collect()
}

/// The second-factor step, posting to `action` with `fields` (what names
/// the sign-in) and the step's `token`.
pub(crate) fn mfa_page(action: &str, fields: &[(&str, &str)], token: &str) -> Html<String> {
    let form = format!(
        "<form method=\"post\" action=\"{}\">\n{}{}\
         <p><button name=\"action\" value=\"approve\">Approve</button>\n\
         <button name=\"action\" value=\"decline\">Deny</button></p>\n</form>",
        escape(action),
        hidden(fields),
        hidden(&[("mfa", token)]),
    );
    page(
        "Approve sign-in request",
        "Your organization requires multifactor authentication. The sandbox stands in for your authenticator app: approve the sign-in request to continue, or deny it.",
        &form,
    )
}
