//! How the command line says what puts a refusal right: with its flags and
//! commands. The library hands over [`Remedy`] values; this is the one place
//! they become command-line words (a command to run is said by
//! [`NextCommand::command_line`], which the event log shares).

use crate::domain::{Input, NextCommand, Remedy};
use crate::engine::EngineError;
use crate::entra::EntraError;
use crate::host::StateError;
use crate::keys::KeyError;

/// `message` followed by what puts it right, if anything does.
pub fn with_remedies(message: &str, remedies: &[Remedy]) -> String {
    crate::domain::with_remedies(message, remedies, remedy)
}

/// The remedies as one clause: any one will do.
pub fn any_of(remedies: &[Remedy]) -> Option<String> {
    crate::domain::any_of(remedies, remedy)
}

/// The library's error inside `error`: the first of its causes that is one.
enum LibraryError<'a> {
    Engine(&'a EngineError),
    State(&'a StateError),
    Key(&'a KeyError),
    Entra(&'a EntraError),
}

fn library_error(error: &anyhow::Error) -> Option<LibraryError<'_>> {
    error.chain().find_map(|cause| {
        let engine = cause
            .downcast_ref::<EngineError>()
            .map(LibraryError::Engine);
        engine
            .or_else(|| cause.downcast_ref::<StateError>().map(LibraryError::State))
            .or_else(|| cause.downcast_ref::<KeyError>().map(LibraryError::Key))
            .or_else(|| cause.downcast_ref::<EntraError>().map(LibraryError::Entra))
    })
}

/// The remedies of the library's error inside `error`, if it has any.
pub fn remedies_of(error: &anyhow::Error) -> Vec<Remedy> {
    match library_error(error) {
        Some(LibraryError::Engine(error)) => error.remedies(),
        Some(LibraryError::State(error)) => error.remedies(),
        Some(LibraryError::Key(error)) => error.remedies(),
        Some(LibraryError::Entra(error)) => error.remedies(),
        None => Vec::new(),
    }
}

/// The ids Microsoft support asks for, from the library's error inside
/// `error`, when Entra gave them.
pub fn support_ids_of(error: &anyhow::Error) -> Option<String> {
    let ids = match library_error(error)? {
        LibraryError::Engine(error) => error.support_ids(),
        LibraryError::Entra(error) => error.support_ids(),
        LibraryError::State(_) | LibraryError::Key(_) => None,
    };
    ids.map(str::to_string)
}

pub fn remedy(remedy: &Remedy) -> String {
    match remedy {
        Remedy::Give { input } => give(*input),
        Remedy::Correct { input } => correct(*input),
        Remedy::Run { command } => run(command),
        Remedy::SignInWith { method } => format!("sign in with --sign-in {}", method.as_str()),
        Remedy::Outside { advice } => advice.clone(),
    }
}

fn run(command: &NextCommand) -> String {
    format!("run {}", command.command_line())
}

/// An input that was not given, as the flag that gives it.
fn give(input: Input) -> String {
    match input {
        Input::Tenant => "add --tenant ID-OR-DOMAIN".into(),
        Input::Connection => {
            "give --tenant ID-OR-DOMAIN (and --cloud or --authority-host and --graph-url)".into()
        }
        Input::Upn => "run again with --upn UPN of an administrator who may make this change".into(),
        Input::Password => "give it on standard input with --password-stdin".into(),
        Input::AdminClientId => "give that registration with --admin-client-id APPID".into(),
        Input::ApplicationAppId => "give --application-app-id APPID".into(),
        Input::CertificateHash => "give the new one with --certificate-sha256 HASH (import it first with entra-connect cert import)".into(),
        Input::KeyFile => "give the key's file with --key FILE".into(),
        Input::StateDir => correct(Input::StateDir),
        Input::CaCert => "give the root certificate with --ca-cert PEM".into(),
        Input::TpmTcti => "for a TPM reached another way, give --tpm-tcti TCTI or ENTRA_CONNECT_TPM_TCTI (e.g. swtpm:host=127.0.0.1,port=2321)".into(),
        Input::SoftwareStore => {
            "choose --store software (an owner-only key file; warning event 1014)".into()
        }
        Input::ForgetWayBack => {
            "to remove it all the same, give --force-forget-rollback".into()
        }
    }
}

/// An input that was given and is wrong, as the flag to check.
fn correct(input: Input) -> String {
    match input {
        Input::Tenant => {
            "check --tenant: use the tenant id or a verified domain such as contoso.onmicrosoft.com"
                .into()
        }
        Input::Connection => {
            "check --tenant and --cloud (or --authority-host and --graph-url)".into()
        }
        Input::Upn => "sign in with the account given in --upn".into(),
        Input::ApplicationAppId => {
            "check --application-app-id (the application (client) id, not the object id)".into()
        }
        Input::CertificateHash => "give another certificate with --certificate-sha256 HASH".into(),
        Input::StateDir => {
            "choose a writable directory with --state-dir or ENTRA_CONNECT_STATE_DIR".into()
        }
        Input::CaCert => "check the file given with --ca-cert".into(),
        Input::TpmTcti => "check --tpm-tcti (or ENTRA_CONNECT_TPM_TCTI)".into(),
        other => give(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::SignInAnswer;

    #[test]
    fn remedies_follow_the_message_as_one_sentence() {
        let remedies = [
            Remedy::run(NextCommand::RegisterApplication),
            Remedy::give(Input::ApplicationAppId),
        ];
        assert_eq!(
            with_remedies("no application was registered", &remedies),
            "no application was registered. Run entra-connect app register, or give --application-app-id APPID."
        );
        assert_eq!(with_remedies("done.", &[]), "done.");
        let mfa = [Remedy::SignInWith {
            method: SignInAnswer::DeviceCode,
        }];
        assert_eq!(
            with_remedies("it needs MFA.", &mfa),
            "it needs MFA. Sign in with --sign-in device-code."
        );
    }
}
