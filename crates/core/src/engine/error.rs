//! Why an operation did not happen or stopped: what was wrong, as the
//! message, and what puts it right, as [`Remedy`] values the front ends word.

use super::{link, operation, permissions};
use crate::domain::{
    CertificateHash, Input, MethodError, NextCommand, Remedy, SYNC_SERVICE_APP_ID,
};
use crate::entra::EntraError;
use crate::host::{self, StateError};
use crate::keys::KeyError;

/// Moving the connector to application identity: guided, or not.
pub(super) const MOVE_TO_APPLICATION: [Remedy; 2] = [
    Remedy::Run {
        command: NextCommand::Wizard,
    },
    Remedy::Run {
        command: NextCommand::RegisterAndLink,
    },
];

/// One variant per refusal. The message says what was wrong (and names no
/// flag or command); [`EngineError::remedies`] what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    Entra(#[from] EntraError),
    #[error(transparent)]
    Method(#[from] MethodError),
    #[error(
        "the certificate {0} is the connector's current credential; it cannot be deleted while the connector signs in with it"
    )]
    CertificateInUse(CertificateHash),
    #[error("the connector already signs in as application {app_id}; nothing was changed")]
    AlreadyApplication { app_id: String },
    #[error("the account signed in is {actual}, not {expected}; nothing was changed")]
    WrongAccount { expected: String, actual: String },
    #[error(
        "the tenant has no service principal for the Microsoft Entra AD Synchronization Service ({}); is directory synchronization enabled for this tenant?",
        SYNC_SERVICE_APP_ID
    )]
    SyncServiceMissing,
    #[error("{0}")]
    ConsentMissing(Box<permissions::ConsentMissing>),
    #[error(
        "{upn} holds none of the roles this change needs ({roles}); nothing was changed. A Privileged Role Administrator or Global Administrator can assign one (if it is eligible in Privileged Identity Management, activate it first), then run again"
    )]
    RoleMissing { upn: String, roles: String },
    #[error("the service principal {resource} offers no app role {role}")]
    AppRoleMissing { resource: String, role: String },
    #[error(
        "this server's application {name} ({app_id}) already exists with other certificates; nothing was changed. To use it, link it as your own application with a certificate it carries"
    )]
    ApplicationHasOtherCertificates { name: String, app_id: String },
    #[error(
        "no application was registered on this server yet: register one first, or give the application (client) id of your own"
    )]
    NothingRegistered,
    #[error(
        "the application registration saved on this server cannot be read ({0}); registering again finds its application in the tenant, or give the application (client) id of your own"
    )]
    RegistrationUnreadable(serde_json::Error),
    #[error(
        "no application with application id {app_id} in this tenant (the application (client) id, not the object id)"
    )]
    ApplicationNotFound { app_id: String },
    #[error(
        "the application {name} ({app_id}) cannot be used yet; nothing was changed: {}",
        missing.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    ApplicationNotReady {
        name: String,
        app_id: String,
        missing: Vec<link::Missing>,
    },
    #[error("the connector has no application credential to test; configure one first")]
    NoApplicationCredential,
    /// A local precondition of one step failed while planning.
    #[error("{refusal}; nothing was changed")]
    StepRefused {
        step: &'static str,
        refusal: Box<EngineError>,
    },
    #[error(
        "this server's state changed since the plan was made; nothing was changed. Look at the plan again and confirm it"
    )]
    PlanChanged,
    #[error(
        "another change is running on this server ({}) and did not finish within {} s; nothing was changed. Run again when it has finished",
        holder.as_ref().map_or("its name is not known yet".to_string(), |h| h.to_string()),
        waited.as_secs()
    )]
    ChangeRunning {
        holder: Option<Box<host::lock::LockHolder>>,
        waited: std::time::Duration,
    },
    #[error(
        "while this change waited, another one ({holder}) changed this server; nothing was changed by this one. Look at the state again and run it again if it is still needed"
    )]
    ChangedWhileWaiting { holder: Box<host::lock::LockHolder> },
    #[error("internal error: waiting for the state lock stopped")]
    LockWaitFailed,
    #[error("internal error: the step \"{0}\" is not in the confirmed plan; it was not run")]
    Unplanned(&'static str),
    #[error(
        "internal error: the step \"{0}\" of the confirmed plan neither ran nor said why it was skipped; the run is recorded as failed. Run the same change again to resume it"
    )]
    StepUnaccounted(&'static str),
    #[error("cannot journal the operation's progress: {0}")]
    Journal(serde_json::Error),
    #[error(
        "the journal of an earlier run cannot be read at step \"{step}\" ({error}); nothing was changed by this run"
    )]
    JournalUnreadable {
        step: &'static str,
        error: serde_json::Error,
    },
    #[error("no tenant given (it is remembered once an operation works)")]
    NoTenant,
    #[error("test fault after step {0} (ENTRA_CONNECT_TEST_FAIL_AFTER)")]
    InjectedFault(&'static str),
    #[error(
        "it needs an administrator (the current certificate cannot prove the application's key)."
    )]
    AdministratorNeeded,
    #[error("sign in first: the operation needs the administrator's sign-in")]
    NotSignedIn,
    #[error("cancelled: the scheduler was restored; run the same change again to resume it")]
    Cancelled,
    #[error(
        "the connector signs in with {identity}, not an application; this applies to application identity only"
    )]
    RotationNeedsApplication { identity: String },
    #[error(
        "the certificate in use is yours (Bring Your Own Certificate or Application), so this server does not make its successor; nothing was changed"
    )]
    RotationNeedsCertificate,
    #[error("the certificate {0} is the one in use already; nothing was changed. Give another one")]
    SameCertificate(CertificateHash),
    #[error(
        "the application cannot roll its own key: {why}. Nothing was changed. An administrator who may update application credentials (Application Administrator, Cloud Application Administrator or Global Administrator; not a Hybrid Identity Administrator) replaces the application's keys instead"
    )]
    RotationNeedsAdministrator { why: String },
    #[error(
        "the application could not add its new key itself ({0}); the connector still signs in with its current certificate. An Application Administrator, Cloud Application Administrator or Global Administrator can add the key instead (PATCH keyCredentials)"
    )]
    SelfRotationRefused(Box<EntraError>),
    #[error(
        "key {key_id} is the one the connector signs in with; nothing was changed. Rotate first, then remove the old key"
    )]
    KeyInUse { key_id: String },
    #[error("the application has no key {key_id}; nothing was changed. Its keys: {keys}")]
    KeyUnknown { key_id: String, keys: String },
    #[error(
        "nothing with the id {id} can sign in as this server's connector; nothing was changed. What can: {items}"
    )]
    NothingWithId { id: String, items: String },
    #[error("{what} is not revoked: {why}; nothing was changed")]
    NotRevocable { what: String, why: &'static str },
    #[error(
        "{upn} may not remove {what}: that needs one of the roles {roles}; nothing was changed. Sign in as one of them, or have a Privileged Role Administrator or Global Administrator assign one (activate it first if it is eligible in Privileged Identity Management)"
    )]
    RevokeNotAllowed {
        upn: String,
        what: String,
        roles: String,
    },
    #[error(
        "key {key_id} is the application's last valid key; it is not removed (the application could no longer sign in)"
    )]
    LastValidKey { key_id: String },
    #[error("the password of {upn} is needed (it is stored protected, never printed)")]
    PasswordNeeded { upn: String },
    #[error(
        "{upn} is not in the Directory Synchronization Accounts role, so it is not a connector account; nothing was changed. Give the account the Connect wizard created (Sync_<HOST>_<id>@…)"
    )]
    NotASyncAccount { upn: String },
    #[error(
        "the connector signs in with {identity}, not an application, so there is nothing to roll back; nothing was changed"
    )]
    RollbackNeedsApplication { identity: String },
    #[error(
        "the stored password of {upn} is missing from this server's state directory; the account cannot be used"
    )]
    PasswordLost { upn: String },
    #[error(
        "{upn} is the account the connector signs in with; nothing was changed. Move the connector to an application first"
    )]
    AccountInUse { upn: String },
    #[error(
        "{upn} is this server's way back (the connector returns to it on a rollback); nothing was changed. If it is removed all the same, a later rollback needs a new account, which only a Global Administrator (or a User Administrator with Privileged Role Administrator) can create"
    )]
    AccountIsWayBack { upn: String },
    #[error(
        "no directory synchronization account is named {name}; nothing was changed. The accounts in the Directory Synchronization Accounts role: {accounts}"
    )]
    SyncAccountNotFound { name: String, accounts: String },
    #[error(
        "the connector credential record is complete{}; there is nothing to repair",
        if app_id.is_empty() { String::new() } else { format!(" (application {app_id})") }
    )]
    RecordComplete { app_id: String },
    #[error(
        "tenant {tenant} holds no application {name} for this server; nothing was changed (the record cannot be rebuilt from another tenant)"
    )]
    NoApplicationForServer { name: String, tenant: String },
    #[error(
        "none of the application {app_id}'s keys ({keys}) belongs to a certificate with a private key in this server's store ({store}); nothing was changed. Import the certificate, or rotate from the server that holds it"
    )]
    NoCertificateOnApplication {
        app_id: String,
        keys: String,
        store: String,
    },
}

impl EngineError {
    /// Wraps a local precondition of `step` found while planning.
    pub(super) fn refused_at(step: operation::StepId) -> impl FnOnce(EngineError) -> EngineError {
        move |refusal| EngineError::StepRefused {
            step: step.title,
            refusal: Box::new(refusal),
        }
    }

    /// The ids Microsoft support asks for, when Entra gave them.
    pub fn support_ids(&self) -> Option<&str> {
        match self {
            EngineError::Entra(error) => error.support_ids(),
            EngineError::StepRefused { refusal, .. } => refusal.support_ids(),
            _ => None,
        }
    }

    /// What puts it right; any one of them will do (none: the message says
    /// all there is, or nothing but waiting or asking someone else helps).
    pub fn remedies(&self) -> Vec<Remedy> {
        use NextCommand as Next;
        let run = |command| vec![Remedy::run(command)];
        match self {
            EngineError::State(error) => error.remedies(),
            EngineError::Key(error) => error.remedies(),
            EngineError::Entra(error) => error.remedies(),
            EngineError::StepRefused { refusal, .. } => refusal.remedies(),
            EngineError::ConsentMissing(_) => vec![Remedy::give(Input::AdminClientId)],
            EngineError::WrongAccount { .. } => vec![Remedy::correct(Input::Upn)],
            EngineError::ApplicationHasOtherCertificates { app_id, .. } => {
                run(Next::LinkApplication {
                    app_id: app_id.clone(),
                })
            }
            EngineError::NothingRegistered | EngineError::RegistrationUnreadable(_) => vec![
                Remedy::run(Next::RegisterApplication),
                Remedy::give(Input::ApplicationAppId),
            ],
            EngineError::ApplicationNotFound { .. } => {
                vec![Remedy::correct(Input::ApplicationAppId)]
            }
            EngineError::NoApplicationCredential
            | EngineError::RotationNeedsApplication { .. }
            | EngineError::AccountInUse { .. } => MOVE_TO_APPLICATION.to_vec(),
            EngineError::ChangedWhileWaiting { .. } => run(Next::ShowCredential),
            EngineError::NoTenant => vec![Remedy::give(Input::Tenant)],
            EngineError::RotationNeedsCertificate => vec![Remedy::give(Input::CertificateHash)],
            EngineError::SameCertificate(_) => vec![Remedy::correct(Input::CertificateHash)],
            EngineError::RotationNeedsAdministrator { .. }
            | EngineError::SelfRotationRefused(_)
            | EngineError::AdministratorNeeded => vec![Remedy::give(Input::Upn)],
            EngineError::KeyInUse { .. } => run(Next::Rotate),
            EngineError::NothingWithId { .. } => run(Next::AuditWithAdministrator),
            EngineError::RevokeNotAllowed { .. } => vec![Remedy::correct(Input::Upn)],
            EngineError::PasswordNeeded { .. } => vec![Remedy::give(Input::Password)],
            EngineError::PasswordLost { .. } => vec![
                Remedy::run(Next::ReplaceServiceAccount),
                Remedy::run(Next::UseServiceAccount),
            ],
            EngineError::AccountIsWayBack { .. } => vec![Remedy::give(Input::ForgetWayBack)],
            EngineError::RecordComplete { .. } => run(Next::TestCredential),
            EngineError::NoApplicationForServer { .. } => {
                vec![Remedy::correct(Input::Tenant), Remedy::run(Next::Wizard)]
            }
            EngineError::NoCertificateOnApplication { .. } => run(Next::ImportCertificate),
            _ => Vec::new(),
        }
    }

    /// A stable name of what went wrong, for automation (`--json` progress).
    pub fn kind(&self) -> &'static str {
        match self {
            EngineError::State(_) => "state",
            EngineError::Key(_) => "key",
            EngineError::Entra(_) => "entra",
            EngineError::Method(_) => "method",
            EngineError::CertificateInUse(_) => "certificate-in-use",
            EngineError::AlreadyApplication { .. } => "already-application",
            EngineError::WrongAccount { .. } => "wrong-account",
            EngineError::SyncServiceMissing => "sync-service-missing",
            EngineError::ConsentMissing(_) => "consent-missing",
            EngineError::RoleMissing { .. } => "role-missing",
            EngineError::AppRoleMissing { .. } => "app-role-missing",
            EngineError::ApplicationHasOtherCertificates { .. } => {
                "application-has-other-certificates"
            }
            EngineError::NothingRegistered => "nothing-registered",
            EngineError::RegistrationUnreadable(_) => "registration-unreadable",
            EngineError::ApplicationNotFound { .. } => "application-not-found",
            EngineError::ApplicationNotReady { .. } => "application-not-ready",
            EngineError::NoApplicationCredential => "no-application-credential",
            EngineError::StepRefused { refusal, .. } => refusal.kind(),
            EngineError::PlanChanged => "plan-changed",
            EngineError::ChangeRunning { .. } => "change-running",
            EngineError::ChangedWhileWaiting { .. } => "changed-while-waiting",
            EngineError::LockWaitFailed => "lock-wait-failed",
            EngineError::Unplanned(_) => "unplanned",
            EngineError::StepUnaccounted(_) => "step-unaccounted",
            EngineError::Journal(_) => "journal",
            EngineError::JournalUnreadable { .. } => "journal-unreadable",
            EngineError::NoTenant => "no-tenant",
            EngineError::InjectedFault(_) => "injected-fault",
            EngineError::AdministratorNeeded => "administrator-needed",
            EngineError::NotSignedIn => "not-signed-in",
            EngineError::Cancelled => "cancelled",
            EngineError::RotationNeedsApplication { .. } => "rotation-needs-application",
            EngineError::RotationNeedsCertificate => "rotation-needs-certificate",
            EngineError::SameCertificate(_) => "same-certificate",
            EngineError::RotationNeedsAdministrator { .. } => "rotation-needs-administrator",
            EngineError::SelfRotationRefused(_) => "self-rotation-refused",
            EngineError::KeyInUse { .. } => "key-in-use",
            EngineError::KeyUnknown { .. } => "key-unknown",
            EngineError::NothingWithId { .. } => "nothing-with-id",
            EngineError::NotRevocable { .. } => "not-revocable",
            EngineError::RevokeNotAllowed { .. } => "revoke-not-allowed",
            EngineError::LastValidKey { .. } => "last-valid-key",
            EngineError::PasswordNeeded { .. } => "password-needed",
            EngineError::NotASyncAccount { .. } => "not-a-sync-account",
            EngineError::RollbackNeedsApplication { .. } => "rollback-needs-application",
            EngineError::PasswordLost { .. } => "password-lost",
            EngineError::AccountInUse { .. } => "account-in-use",
            EngineError::AccountIsWayBack { .. } => "account-is-way-back",
            EngineError::SyncAccountNotFound { .. } => "sync-account-not-found",
            EngineError::RecordComplete { .. } => "record-complete",
            EngineError::NoApplicationForServer { .. } => "no-application-for-server",
            EngineError::NoCertificateOnApplication { .. } => "no-certificate-on-application",
        }
    }
}
