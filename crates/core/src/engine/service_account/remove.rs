//! Remove-ADSyncAADServiceAccount: a legacy directory synchronization
//! account deleted by its name, and the list of those accounts with what
//! this server does with each.

use crate::domain::{ConnectorCredential, DIRECTORY_SYNCHRONIZATION_ACCOUNTS, EventId, EventLevel};
use crate::engine::admin::{plan_sign_in_as, sign_in_checked_as};
use crate::engine::operation::{
    Change, Check, Done, Journaled, Operation, PlannedStep, Run, Step, Target,
};
use crate::engine::progress::ProgressSender;
use crate::engine::{EngineError, EntraRequest, LocalServer, permissions};
use crate::entra::EntraError;
use crate::host::{credential, events, passwords};
use serde::Serialize;

pub const FIND_SYNC_ACCOUNT: Check = Check::new(
    "find-account",
    "Find the account among the directory synchronization accounts",
);
pub const DELETE_ACCOUNT: Step<()> = Step::new("delete-account", "Delete the account");
const READ_SYNC_ACCOUNTS: Check = Check::new(
    "read-accounts",
    "Read the directory synchronization accounts",
);

/// Remove-ADSyncAADServiceAccount: deletes a legacy directory
/// synchronization account by its name (the UPN's part before `@`). Never
/// the account the connector signs in with; the one kept as the way back
/// only when `forget_rollback` says so.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemoveServiceAccount {
    pub name: AccountName,
    pub forget_rollback: bool,
}

/// A directory synchronization account as the removal task lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SyncAccount {
    pub user_principal_name: String,
    pub use_on_this_server: AccountUse,
}

/// A directory synchronization account the removal deleted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RemovedAccount {
    pub user_principal_name: String,
    /// It was this server's way back, which the server has forgotten: a
    /// rollback now needs a new account.
    pub way_back_forgotten: bool,
}

/// What this server does with a directory synchronization account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountUse {
    /// The connector signs in with it.
    InUse,
    /// Kept as the way back (rollback) while the connector uses an application.
    WayBack,
    /// Not this server's (another server's, or left over).
    None,
}

impl AccountUse {
    pub fn describe(self) -> &'static str {
        match self {
            AccountUse::InUse => "in use by this server's connector",
            AccountUse::WayBack => "kept by this server as the way back",
            AccountUse::None => "not used by this server",
        }
    }
}

/// How this server uses `upn`.
fn account_use(server: &LocalServer, upn: &str) -> Result<AccountUse, EngineError> {
    let same = |other: &str| other.eq_ignore_ascii_case(upn);
    Ok(match server.credential()? {
        ConnectorCredential::ServiceAccount(account) if same(&account.user_principal_name) => {
            AccountUse::InUse
        }
        ConnectorCredential::Application(_)
            if server
                .read(credential::service_account)?
                .is_some_and(|kept| same(&kept)) =>
        {
            AccountUse::WayBack
        }
        _ => AccountUse::None,
    })
}

/// The account named `name` (the part before `@`) if this server knows it
/// (the record keeps the account in use, or the way back), and its use.
fn named_account_use(
    server: &LocalServer,
    name: &AccountName,
) -> Result<Option<(String, AccountUse)>, EngineError> {
    match server.read(credential::service_account)? {
        Some(upn) if name.names(&upn) => {
            let usage = account_use(server, &upn)?;
            Ok(Some((upn, usage)))
        }
        _ => Ok(None),
    }
}

/// The name of a directory synchronization account: the part of its UPN
/// before `@` (what Remove-ADSyncAADServiceAccount takes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct AccountName(String);

impl AccountName {
    /// Whether `upn` is this account's.
    pub fn names(&self, upn: &str) -> bool {
        upn.split_once('@')
            .is_some_and(|(name, _)| name.eq_ignore_ascii_case(&self.0))
    }
}

impl std::fmt::Display for AccountName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for AccountName {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let allowed = |c: char| c.is_ascii_alphanumeric() || "._-'".contains(c);
        match text {
            "" => Err(
                "the account name is empty: give the part of its UPN before @ (Sync_<HOST>_<id>)"
                    .into(),
            ),
            _ if text.contains('@') => Err(format!(
                "give the account's name, the part of its UPN before @ (here {:?}), not the whole UPN",
                text.split('@').next().unwrap_or_default()
            )),
            _ if text.len() > 64 || !text.chars().all(allowed) => Err(format!(
                "{text:?} is not a user name: up to 64 letters, digits and . _ - '"
            )),
            _ => Ok(AccountName(text.to_string())),
        }
    }
}

/// The directory synchronization accounts in the tenant, each with what
/// this server does with it (the removal task's list).
pub async fn sync_accounts(
    server: &LocalServer,
    entra: &EntraRequest,
    progress: ProgressSender,
) -> Result<Vec<SyncAccount>, EngineError> {
    let steps = [SIGN_IN_REMOVER.id, READ_SYNC_ACCOUNTS.id];
    let mut run = Run::untracked("sync-accounts", &steps, progress);
    let client = entra.client(&run)?;
    let graph = sign_in_checked_as(
        SIGN_IN_REMOVER,
        &mut run,
        &client,
        entra,
        &permissions::DELETE_SYNC_ACCOUNT,
    )
    .await?;
    run.check(READ_SYNC_ACCOUNTS, async || {
        let members = graph
            .role_members(DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
            .await?;
        let accounts = members
            .into_iter()
            .map(|user| {
                Ok(SyncAccount {
                    use_on_this_server: account_use(server, &user.user_principal_name)?,
                    user_principal_name: user.user_principal_name,
                })
            })
            .collect::<Result<Vec<_>, EngineError>>()?;
        let summary = format!("{} found", accounts.len());
        Ok((accounts, summary))
    })
    .await
}

pub const SIGN_IN_REMOVER: Check = Check::new(
    "sign-in",
    "Sign in as an administrator who may delete the account",
);

/// What the removal starts from.
pub(crate) struct Known {
    /// The account by that name this server knows (in use, or the way
    /// back), with its use.
    account: Option<(String, AccountUse)>,
    /// An earlier, unfinished run of this removal deleted it.
    deleted_earlier: bool,
}

impl Operation for RemoveServiceAccount {
    const KIND: &'static str = "service-account-remove";
    type Output = RemovedAccount;
    type Situation = Known;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        earlier: &Journaled,
    ) -> Result<Known, EngineError> {
        let account = named_account_use(server, &self.name)?;
        match &account {
            Some((upn, AccountUse::InUse)) => {
                return Err(EngineError::AccountInUse { upn: upn.clone() });
            }
            Some((upn, AccountUse::WayBack)) if !self.forget_rollback => {
                return Err(EngineError::AccountIsWayBack { upn: upn.clone() });
            }
            _ => {}
        }
        Ok(Known {
            account,
            deleted_earlier: earlier.completed(DELETE_ACCOUNT.id.name),
        })
    }

    fn plan(
        &self,
        known: &Known,
        _server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let forgets_way_back = match &known.account {
            Some((upn, AccountUse::WayBack)) => Some(upn.clone()),
            _ => None,
        };
        Ok(vec![
            plan_sign_in_as(SIGN_IN_REMOVER, target, &permissions::DELETE_SYNC_ACCOUNT),
            FIND_SYNC_ACCOUNT.plan(Change::FindSyncAccount {
                name: self.name.to_string(),
            }),
            DELETE_ACCOUNT.plan(Change::DeleteSyncAccount {
                name: self.name.to_string(),
                forgets_way_back,
            }),
        ])
    }

    async fn execute(
        &self,
        known: Known,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<RemovedAccount, EngineError> {
        let client = entra.client(run)?;
        let graph = sign_in_checked_as(
            SIGN_IN_REMOVER,
            run,
            &client,
            entra,
            &permissions::DELETE_SYNC_ACCOUNT,
        )
        .await?;
        let name = &self.name;
        let user = run
            .check(FIND_SYNC_ACCOUNT, async || {
                let members = graph
                    .role_members(DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
                    .await?;
                if let Some(user) = members.iter().find(|u| name.names(&u.user_principal_name)) {
                    let upn = user.user_principal_name.clone();
                    return Ok((
                        Some(user.clone()),
                        format!("{upn} is a directory synchronization account"),
                    ));
                }
                // Already deleted by an earlier run that stopped before it finished?
                if known.deleted_earlier {
                    return Ok((None, "deleted by an earlier run".to_string()));
                }
                let upn = format!("{name}@{}", graph.initial_domain().await?);
                match graph.user(&upn).await? {
                    Some(user) => Err(EngineError::NotASyncAccount {
                        upn: user.user_principal_name,
                    }),
                    None => Err(EngineError::SyncAccountNotFound {
                        name: name.to_string(),
                        accounts: members
                            .iter()
                            .map(|u| u.user_principal_name.clone())
                            .collect::<Vec<_>>()
                            .join(", "),
                    }),
                }
            })
            .await?;
        let upn = match &user {
            Some(user) => user.user_principal_name.clone(),
            None => known
                .account
                .map(|(upn, _)| upn)
                .unwrap_or_else(|| name.to_string()),
        };
        let usage = account_use(server, &upn)?;
        if usage == AccountUse::InUse {
            return Err(EngineError::AccountInUse { upn });
        }
        run.step(server, DELETE_ACCOUNT, async |_| {
            if let Some(user) = &user {
                match graph.delete_user(&user.id).await {
                    Ok(()) | Err(EntraError::Graph { status: 404, .. }) => {}
                    Err(other) => return Err(other.into()),
                }
            }
            let message = format!(
                "Removed the directory synchronization account {upn}{}.",
                match usage {
                    AccountUse::WayBack => "; it was this server's way back, which is forgotten",
                    _ => "",
                }
            );
            let forget = usage == AccountUse::WayBack;
            Ok(
                Done::new((), format!("deleted {upn}")).with_local(move |tx| {
                    if forget {
                        credential::forget_service_account(tx)?;
                    }
                    events::record(
                        tx,
                        EventLevel::Information,
                        EventId::SERVICE_ACCOUNT_REMOVED,
                        &message,
                    )
                }),
            )
        })
        .await?;
        if usage == AccountUse::WayBack {
            passwords::forget_others(server.state_dir(), None)?;
        }
        Ok(RemovedAccount {
            user_principal_name: upn,
            way_back_forgotten: usage == AccountUse::WayBack,
        })
    }
}
