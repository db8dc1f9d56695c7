//! The way back: the server's legacy connector account, a directory
//! synchronization account (`Sync_<HOST>_<installation id>`) that signs in
//! with a password. `service-account use` records the existing one
//! ([`UseServiceAccount`]); Add-ADSyncAADServiceAccount (`service-account
//! add`, [`RollBack`]) rolls the connector back to it, or, when it no longer
//! signs in, to a new one an administrator creates;
//! Remove-ADSyncAADServiceAccount ([`RemoveServiceAccount`]) deletes one. The password lives in an owner-only file
//! (`host::passwords`), never in the database, an event or the output.

mod remove;
mod rollback;
mod use_account;

pub use remove::{
    AccountName, AccountUse, DELETE_ACCOUNT, FIND_SYNC_ACCOUNT, RemoveServiceAccount,
    RemovedAccount, SIGN_IN_REMOVER, SyncAccount, sync_accounts,
};
pub use rollback::{
    ASSIGN_ROLE, CREATE_ACCOUNT, NEW_ACCOUNT_WAIT, NewAccount, RollBack, RolledBack,
    SIGN_IN_ACCOUNT_ADMIN, SWITCH_BACK, TRY_RETAINED, VERIFY_ACCOUNT,
};
pub use use_account::{CHECK_ACCOUNT, RECORD_ACCOUNT, UseServiceAccount};

use crate::domain::SYNC_SERVICE_APP_ID;
use crate::entra::client::{EntraClient, UserSignIn};
use crate::entra::{EntraError, Secret};

/// The delegated scope the legacy account signs in to the synchronization service for.
fn sync_service_scope() -> String {
    format!("{SYNC_SERVICE_APP_ID}/user_impersonation")
}

/// A password grant for the synchronization service as `upn`.
pub(super) async fn legacy_sign_in(
    client: &EntraClient,
    upn: &str,
    password: &Secret,
) -> Result<crate::entra::oauth::AccessToken, EntraError> {
    let sign_in = UserSignIn::Password {
        upn: upn.to_string(),
        password: password.clone(),
    };
    client
        .user_token(&sign_in, &[sync_service_scope()], |_| {})
        .await
}
