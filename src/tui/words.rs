//! How the wizard says what puts a refusal right: with its pages and fields
//! ("Esc to Connect and correct Tenant"). What only the command line does is
//! said as the command to run there. Also what a field says of what it
//! refuses or of what to check in it.

use crate::domain::{AppId, Input, NextCommand, Remedy, SignInAnswer, Tenant, Upn};
use crate::engine::EngineError;

/// What to check when the administrator's account is not in the tenant's
/// domain (a warning: other verified domains and guests sign in too); none
/// when it is, or when the tenant is given by its id.
pub fn account_outside_tenant(upn: &Upn, tenant: &Tenant) -> Option<String> {
    upn.outside(tenant).then(|| {
        format!(
            "{upn} is not under {tenant}: check that {} is a verified domain of that tenant, or that the account is a guest in it; otherwise the sign-in is refused.",
            upn.domain()
        )
    })
}

/// The most characters a field for `input` takes, and what the field says
/// when more is typed or pasted; none for inputs of any length.
pub fn longest(input: Input) -> Option<(usize, String)> {
    Some(match input {
        Input::Tenant => (
            Tenant::MAX_LEN,
            format!(
                "{} characters at most: a tenant id is a GUID, and no domain name is longer",
                Tenant::MAX_LEN
            ),
        ),
        Input::ApplicationAppId => (
            AppId::LEN,
            format!(
                "{} characters at most: an application id is a GUID",
                AppId::LEN
            ),
        ),
        Input::Upn => (
            Upn::MAX_LEN,
            format!(
                "{} characters at most: no user principal name is longer",
                Upn::MAX_LEN
            ),
        ),
        _ => return None,
    })
}

/// An engine error as a page shows it: what was wrong, as a sentence, then
/// what to do, then, on a line of its own, the ids Microsoft support asks
/// for when Entra gave them.
pub fn failure(error: &EngineError) -> String {
    failure_asked(error, Asked::OnSignIn)
}

/// [`failure`] as a page where the sign-in is `asked` shows it.
pub fn failure_asked(error: &EngineError, asked: Asked) -> String {
    let mut sentence = crate::domain::capitalised(&with_remedies_asked(
        &error.to_string(),
        &error.remedies(),
        asked,
    ));
    if let Some(ids) = error.support_ids() {
        sentence.push_str(&format!("\nFor Microsoft support: {ids}"));
    }
    sentence
}

/// Where the administrator's sign-in is asked for, which decides how a
/// remedy that names another sign-in method is said: on the Sign in page,
/// the method is chosen there; a task's own page (no method to choose, no
/// password field) signs in with the session's method, and asking again
/// there moves the session to the device code or the browser a remedy names
/// (see `pages::method_past`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Asked {
    /// On the Sign in page (Esc leads back to it).
    OnSignIn,
    /// On a task's page, where Enter asks again.
    Enter,
    /// On Configuring, where r retries the run.
    Retry,
}

/// `message` followed by what puts it right, if anything does.
pub fn with_remedies(message: &str, remedies: &[Remedy]) -> String {
    with_remedies_asked(message, remedies, Asked::OnSignIn)
}

/// [`with_remedies`] as a page where the sign-in is `asked` says them.
pub fn with_remedies_asked(message: &str, remedies: &[Remedy], asked: Asked) -> String {
    crate::domain::with_remedies(message, remedies, |r| remedy(r, asked))
}

/// The remedies as one clause: any one will do.
pub fn any_of(remedies: &[Remedy]) -> Option<String> {
    crate::domain::any_of(remedies, |r| remedy(r, Asked::OnSignIn))
}

/// What a task's page says of how its administrator signs in: with the
/// session's method, a password only where a page has a field for it (none
/// does but Sign in), so the device code in its place.
pub fn signing_in_with(method: SignInAnswer) -> &'static str {
    match method {
        SignInAnswer::Browser => "the browser",
        SignInAnswer::DeviceCode | SignInAnswer::Password => "a device code",
    }
}

fn method_name(method: SignInAnswer) -> &'static str {
    match method {
        SignInAnswer::DeviceCode => "device code",
        SignInAnswer::Password => "password",
        SignInAnswer::Browser => "browser",
    }
}

fn remedy(remedy: &Remedy, asked: Asked) -> String {
    match remedy {
        Remedy::Give { input } => give(*input),
        Remedy::Correct { input } => correct(*input),
        Remedy::Run { command } => run(command),
        Remedy::SignInWith { method } => {
            let name = method_name(*method);
            match (asked, method) {
                // No task's page has a password field: the Sign in page does.
                (Asked::OnSignIn, _) | (_, SignInAnswer::Password) => {
                    format!("Esc to Sign in and choose the {name}")
                }
                (Asked::Enter, _) => format!("press Enter to sign in again with the {name}"),
                (Asked::Retry, _) => format!("press r to retry, signing in with the {name}"),
            }
        }
        Remedy::Outside { advice } => advice.clone(),
    }
}

fn give(input: Input) -> String {
    match input {
        Input::Tenant | Input::Connection => "Esc to Connect and give the Tenant".into(),
        Input::Upn => "sign in as an administrator who may make this change (Sign in page)".into(),
        Input::Password => "Esc to Sign in and give the Password".into(),
        Input::ApplicationAppId => {
            "Esc to Method, choose your own application and give its Application id".into()
        }
        Input::CertificateHash => {
            "Esc to Certificate and choose one (imported into the key store first)".into()
        }
        Input::ForgetWayBack => "confirm that the way back is removed all the same".into(),
        other => on_the_command_line(other),
    }
}

fn correct(input: Input) -> String {
    match input {
        Input::Tenant => "Esc to Connect and correct Tenant".into(),
        Input::Connection => "Esc to Connect and correct Tenant and the cloud".into(),
        Input::Upn => "Esc to Sign in and correct Account (UPN)".into(),
        Input::ApplicationAppId => {
            "Esc to Your application and correct Application id (the application (client) id, not the object id)".into()
        }
        Input::CertificateHash => "Esc to Certificate and choose another one".into(),
        other => give(other),
    }
}

/// What the wizard does not ask for, as the command line takes it.
fn on_the_command_line(input: Input) -> String {
    match input {
        Input::AdminClientId => "on the command line, give --admin-client-id APPID (the wizard signs in with the default client)".into(),
        Input::KeyFile => "on the command line, run entra-connect cert import with --key FILE".into(),
        Input::StateDir => "start the wizard with --state-dir on another directory".into(),
        Input::CaCert => "check the root certificate given as ca_cert in the answers file".into(),
        Input::TpmTcti => "for a TPM reached another way, start the wizard with --tpm-tcti TCTI (or ENTRA_CONNECT_TPM_TCTI)".into(),
        Input::SoftwareStore => "on the command line, choose --store software (an owner-only key file; warning event 1014)".into(),
        // Asked by the wizard's pages (see `give`).
        Input::Tenant
        | Input::Connection
        | Input::Upn
        | Input::Password
        | Input::ApplicationAppId
        | Input::CertificateHash
        | Input::ForgetWayBack => give(input),
    }
}

fn run(command: &NextCommand) -> String {
    let task = match command {
        NextCommand::Wizard | NextCommand::RegisterAndLink => {
            "Configure application-based authentication"
        }
        NextCommand::RegisterApplication => "Configure application-based authentication (Managed)",
        NextCommand::LinkApplication { app_id } => {
            return format!(
                "Esc to Method, choose your own application and give {app_id} with a certificate it carries"
            );
        }
        NextCommand::ShowCredential => {
            "View or export current configuration, and run it again if it is still needed"
        }
        NextCommand::TestCredential => "Check this server, which tests it",
        NextCommand::Rotate | NextCommand::RotateIntoTpm => "Rotate application certificate",
        NextCommand::RotateWithAdministrator => {
            "Rotate application certificate, signed in as an administrator"
        }
        NextCommand::RemoveKey { .. } => "Remove an application key",
        NextCommand::ResumeScheduler | NextCommand::EnableSyncCycle => "Scheduler settings",
        NextCommand::Doctor => "Check this server",
        NextCommand::Revoke { .. } | NextCommand::AuditWithAdministrator => {
            "Review who can sign in as this connector"
        }
        NextCommand::SetUpAfresh
        | NextCommand::RepairCredential
        | NextCommand::ImportCertificate
        | NextCommand::DeleteCertificate { .. }
        | NextCommand::ListCertificates
        | NextCommand::UseServiceAccount
        | NextCommand::ReplaceServiceAccount => {
            return format!("on the command line, run {}", command.command_line());
        }
    };
    format!("choose {task} (Additional tasks)")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wrong_input_sends_to_its_page_and_field() {
        let message = with_remedies("unknown tenant.", &[Remedy::correct(Input::Tenant)]);
        assert_eq!(
            message,
            "unknown tenant. Esc to Connect and correct Tenant."
        );
    }
}
