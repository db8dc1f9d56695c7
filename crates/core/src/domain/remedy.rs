//! What puts a refusal or a finding right, as a value: which input to give
//! or correct, what to run next, how to sign in. The library says what was
//! wrong; each front end words the remedy in its own terms (the CLI with its
//! flags and commands, the wizard with its fields and pages).

use super::{CertificateHash, SignInAnswer};
use serde::Serialize;

/// One way to put it right; where a list of them is given, any one will do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "remedy", rename_all = "kebab-case")]
pub enum Remedy {
    /// An input that was not given: give it and run again.
    Give {
        input: Input,
    },
    /// An input that was given and is wrong: correct it.
    Correct {
        input: Input,
    },
    Run {
        command: NextCommand,
    },
    /// Sign the administrator in the other way.
    SignInWith {
        method: SignInAnswer,
    },
    /// Something done outside this tool (the clock, the portal, a file's
    /// mode), in words that name none of its flags or commands.
    Outside {
        advice: String,
    },
}

impl Remedy {
    pub fn give(input: Input) -> Remedy {
        Remedy::Give { input }
    }

    pub fn correct(input: Input) -> Remedy {
        Remedy::Correct { input }
    }

    pub fn run(command: NextCommand) -> Remedy {
        Remedy::Run { command }
    }

    pub fn outside(advice: impl Into<String>) -> Remedy {
        Remedy::Outside {
            advice: advice.into(),
        }
    }
}

/// What the administrator gives an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Input {
    Tenant,
    /// The tenant with its cloud or endpoints.
    Connection,
    /// The administrator who signs in.
    Upn,
    Password,
    /// A public client registration of the organisation's own to sign in with.
    AdminClientId,
    /// An existing application's application (client) id.
    ApplicationAppId,
    /// A certificate of the key store, by its SHA-256 hash.
    CertificateHash,
    /// The private key file of a certificate being imported.
    KeyFile,
    StateDir,
    /// A root certificate to trust besides the system's.
    CaCert,
    /// Where the TPM is reached.
    TpmTcti,
    /// Keeping new keys in the software store (no TPM).
    SoftwareStore,
    /// Removing the account kept as the way back all the same.
    ForgetWayBack,
}

/// A follow-up action of this tool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub enum NextCommand {
    /// Move the connector to application identity, guided.
    Wizard,
    /// The same without the wizard: register, then link.
    RegisterAndLink,
    /// Set this server up afresh, with its own application (a copied server).
    SetUpAfresh,
    RegisterApplication,
    /// Link an existing application as the administrator's own.
    LinkApplication {
        app_id: String,
    },
    ShowCredential,
    TestCredential,
    /// Rebuild the credential record from the tenant (with an administrator).
    RepairCredential,
    Rotate,
    /// Rotate with an administrator who may update application credentials.
    RotateWithAdministrator,
    /// Rotate into a new key inside the TPM.
    RotateIntoTpm,
    /// Revoke a key of the application (its id unknown: list them first).
    RemoveKey {
        key_id: Option<String>,
    },
    /// Remove something else that can sign in as the connector, by its id,
    /// as an administrator.
    Revoke {
        id: String,
    },
    /// Everything that can sign in as the connector, read by an administrator.
    AuditWithAdministrator,
    ImportCertificate,
    DeleteCertificate {
        sha256: CertificateHash,
    },
    ListCertificates,
    /// Unsuspend the scheduler.
    ResumeScheduler,
    EnableSyncCycle,
    /// Record the server's existing connector account and its password.
    UseServiceAccount,
    /// Remove the account, then roll back to a new one.
    ReplaceServiceAccount,
    /// Run every check.
    Doctor,
}

impl NextCommand {
    /// The command line an administrator types for it. The one rendering of a
    /// `NextCommand` as this tool's command line, and in the library because
    /// the event log names it too: events are read outside any front end
    /// (journal, `events`), where the command is the words that help. The CLI
    /// says its remedies with this; the wizard has its own words.
    pub fn command_line(&self) -> String {
        const TOOL: &str = "entra-connect";
        match self {
            NextCommand::Wizard => format!("{TOOL} wizard"),
            NextCommand::RegisterAndLink => {
                format!("{TOOL} app register, then {TOOL} app link")
            }
            NextCommand::SetUpAfresh => {
                format!("{TOOL} --state-dir EMPTY-DIRECTORY wizard")
            }
            NextCommand::RegisterApplication => format!("{TOOL} app register"),
            NextCommand::LinkApplication { app_id } => {
                format!("{TOOL} app link --application-app-id {app_id} --certificate-sha256 HASH")
            }
            NextCommand::ShowCredential => format!("{TOOL} credential show"),
            NextCommand::TestCredential => format!("{TOOL} credential test"),
            NextCommand::RepairCredential => {
                format!("{TOOL} credential repair --upn ADMIN_UPN")
            }
            NextCommand::Rotate => format!("{TOOL} app rotate"),
            NextCommand::RotateWithAdministrator => format!("{TOOL} app rotate --upn UPN"),
            NextCommand::RotateIntoTpm => format!("{TOOL} app rotate --store tpm"),
            NextCommand::RemoveKey { key_id: Some(id) } => {
                format!("{TOOL} app remove-key --certificate-id {id}")
            }
            NextCommand::RemoveKey { key_id: None } => {
                format!("{TOOL} app keys, then {TOOL} app remove-key --certificate-id KEYID")
            }
            NextCommand::Revoke { id } => format!("{TOOL} app revoke --upn ADMIN_UPN --id {id}"),
            NextCommand::AuditWithAdministrator => format!("{TOOL} app audit --upn ADMIN_UPN"),
            NextCommand::ImportCertificate => format!("{TOOL} cert import"),
            NextCommand::DeleteCertificate { sha256 } => format!("{TOOL} cert delete {sha256}"),
            NextCommand::ListCertificates => format!("{TOOL} cert list"),
            NextCommand::ResumeScheduler => format!("{TOOL} scheduler set --suspended false"),
            NextCommand::EnableSyncCycle => {
                format!("{TOOL} scheduler set --sync-cycle-enabled true")
            }
            NextCommand::UseServiceAccount => format!("{TOOL} service-account use"),
            NextCommand::ReplaceServiceAccount => {
                format!("{TOOL} service-account remove NAME, then {TOOL} service-account add")
            }
            NextCommand::Doctor => format!("{TOOL} doctor"),
        }
    }
}

/// `text` with its first letter upper-case, as a sentence starts, unless
/// its first word is an identifier (a UPN, a path, a name with digits or
/// `_`), which is never changed.
pub fn capitalised(text: &str) -> String {
    let first_word = text.split(' ').next().unwrap_or_default();
    let plain_word = first_word
        .chars()
        .all(|c| c.is_ascii_lowercase() || c == '-' || c == '\'' || c == ',' || c == ':');
    if !plain_word {
        return text.to_string();
    }
    let mut letters = text.chars();
    letters
        .next()
        .into_iter()
        .flat_map(char::to_uppercase)
        .chain(letters)
        .collect()
}

/// `message` followed by the remedies as one sentence, each said by `word`
/// (the front end's words); the message alone when there are none.
pub fn with_remedies(
    message: &str,
    remedies: &[Remedy],
    word: impl Fn(&Remedy) -> String,
) -> String {
    let message = message.trim_end();
    let Some(remedy) = any_of(remedies, word) else {
        return message.to_string();
    };
    let sentence = capitalised(&remedy);
    match message.ends_with('.') {
        true => format!("{message} {sentence}."),
        false => format!("{message}. {sentence}."),
    }
}

/// The remedies as one clause, "a, or b": any one will do. Two remedies a
/// front end says alike are said once.
pub fn any_of(remedies: &[Remedy], word: impl Fn(&Remedy) -> String) -> Option<String> {
    let mut said: Vec<String> = Vec::new();
    for text in remedies.iter().map(word) {
        if !said.contains(&text) {
            said.push(text);
        }
    }
    (!said.is_empty()).then(|| said.join(", or "))
}

#[cfg(test)]
mod capitalised_tests {
    use super::capitalised;

    #[test]
    fn a_sentence_starts_upper_case_but_an_identifier_is_never_changed() {
        assert_eq!(
            capitalised("the sign-in was declined"),
            "The sign-in was declined"
        );
        assert_eq!(capitalised("sign-in refused (x)"), "Sign-in refused (x)");
        for identifier in [
            "admin@contoso.onmicrosoft.com holds none of the roles",
            "Sync_CONNECT01_1a2b3c4d5e6f is in use",
            "/var/lib/entra-connect cannot be read",
            "e96b44e190e7 is not a certificate",
        ] {
            assert_eq!(capitalised(identifier), identifier);
        }
        assert_eq!(capitalised(""), "");
    }
}
