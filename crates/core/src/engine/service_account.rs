//! The way back: the server's legacy connector account, a directory
//! synchronization account (`Sync_<HOST>_<installation id>`) that signs in
//! with a password. `service-account use` records the existing one;
//! Add-ADSyncAADServiceAccount (`service-account add`) rolls the connector
//! back to it, or, when it no longer signs in, to a new one an administrator
//! creates. The password lives in an owner-only file (`host::passwords`),
//! never in the database, an event or the output.

use super::admin::{plan_sign_in_as, sign_in_checked_as};
use super::operation::{
    Check, Done, Operation, PlannedStep, Run, Step, Target, plan_scheduler_off,
};
use super::{EngineError, EntraRequest, LocalServer, permissions};
use crate::domain::{
    ConnectorCredential, DIRECTORY_SYNCHRONIZATION_ACCOUNTS, EventId, EventLevel,
    SYNC_SERVICE_APP_ID, ServiceAccountCredential, Upn,
};
use crate::entra::client::{EntraClient, UserSignIn};
use crate::entra::graph::{GRAPH_APP_ID, GraphClient, NewUser, Repeat};
use crate::entra::http::RetryNotice;
use crate::entra::{EntraError, Secret};
use crate::host::{credential, events, journal, passwords};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub const CHECK_ACCOUNT: Check = Check::new(
    "check-account",
    "Sign in as the connector account with its password",
);
pub const RECORD_ACCOUNT: Step<()> = Step::new("record-account", "Record the connector account");

pub const TRY_RETAINED: Check =
    Check::new("try-retained-account", "Try the retained connector account");
pub const SIGN_IN_ACCOUNT_ADMIN: Check = Check::new(
    "sign-in",
    "Sign in as an administrator who may create the account",
);
pub const CREATE_ACCOUNT: Step<Option<NewAccount>> = Step::new(
    "create-account",
    "Create a directory synchronization account",
);
pub const ASSIGN_ROLE: Step<()> = Step::new(
    "assign-role",
    "Give it the Directory Synchronization Accounts role",
);
pub const VERIFY_ACCOUNT: Check = Check::new(
    "verify-account",
    "Sign in as the account for the synchronization service",
);
pub const SWITCH_BACK: Step<()> = Step::new(
    "switch-credential",
    "Switch the connector to the service account",
);

/// How long a new account may take to sign in (Microsoft documents up to 15 minutes).
pub const NEW_ACCOUNT_WAIT: Duration = Duration::from_secs(15 * 60);
/// How often a new account's sign-in is tried again while it replicates.
const NEW_ACCOUNT_RETRY: Duration = Duration::from_secs(3);

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

/// `service-account use`: records the connector account this server already
/// signs in with, after checking that its password works and that it is a
/// directory synchronization account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UseServiceAccount {
    pub upn: Upn,
}

impl Operation for UseServiceAccount {
    const KIND: &'static str = "service-account-use";
    type Output = ServiceAccountCredential;

    fn plan(
        &self,
        server: &LocalServer,
        _target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        if let ConnectorCredential::Application(app) = server.credential()? {
            return Err(EngineError::AlreadyApplication {
                app_id: app.application_id,
            });
        }
        Ok(vec![
            CHECK_ACCOUNT.plan(format!(
                "Sign in as {} with its password (password grant) for the synchronization service, and check that it holds Directory Synchronization Accounts",
                self.upn
            )),
            RECORD_ACCOUNT.plan(format!(
                "Record {} as the connector's account (ServiceAccount); its password goes to an owner-only file under {}, never to the database (event {})",
                self.upn,
                server.state_dir().join("service-accounts").display(),
                EventId::SERVICE_ACCOUNT_RECORDED.0
            )),
        ])
    }

    async fn execute(
        &self,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<ServiceAccountCredential, EngineError> {
        let upn = self.upn.to_string();
        let Some(UserSignIn::Password { password, .. }) = &entra.admin else {
            return Err(EngineError::PasswordNeeded { upn });
        };
        let client = entra.client(run)?;
        run.check(CHECK_ACCOUNT, async || {
            let sign_in = UserSignIn::Password {
                upn: upn.clone(),
                password: password.clone(),
            };
            let graph = client
                .sign_in_user(&sign_in, &[format!("{GRAPH_APP_ID}/User.Read")], |_| {})
                .await?;
            let roles = graph.my_directory_roles().await?;
            if !roles
                .iter()
                .any(|r| r.role_template_id == DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
            {
                return Err(EngineError::NotASyncAccount { upn: upn.clone() });
            }
            legacy_sign_in(&client, &upn, password).await?;
            Ok((
                (),
                format!("{upn} signs in and is a directory synchronization account"),
            ))
        })
        .await?;
        let account = ServiceAccountCredential {
            user_principal_name: upn.clone(),
            configured_at: OffsetDateTime::now_utc(),
        };
        let recorded = ConnectorCredential::ServiceAccount(account.clone());
        passwords::save(server.state_dir(), server.tpm(), &upn, password)?;
        run.step(server, RECORD_ACCOUNT, async |_| {
            let message = format!("The connector signs in with the service account {upn}.");
            Ok(
                Done::new((), format!("recorded {upn}")).with_local(move |tx| {
                    credential::save(tx, &recorded)?;
                    events::record(
                        tx,
                        EventLevel::Information,
                        EventId::SERVICE_ACCOUNT_RECORDED,
                        &message,
                    )
                }),
            )
        })
        .await?;
        passwords::forget_others(server.state_dir(), Some(&upn))?;
        Ok(account)
    }
}

/// Add-ADSyncAADServiceAccount, the rollback: the connector signs in with a
/// password again. The application stays in place, so moving forward again
/// reuses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollBack {
    /// Wait (up to [`NEW_ACCOUNT_WAIT`]) for a new account to sign in.
    pub wait: bool,
}

/// A directory synchronization account this rollback created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAccount {
    pub upn: String,
    pub object_id: String,
}

/// What the rollback did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RolledBack {
    pub user_principal_name: String,
    /// A new account was created (the retained one no longer signed in).
    pub created: bool,
    /// The account signed in before the switch (not waited for with `--no-wait`).
    pub verified: bool,
    pub warnings: Vec<String>,
}

impl RollBack {
    /// The retained account and its stored password, if both are there.
    fn retained(server: &LocalServer) -> Result<Option<(String, Secret)>, EngineError> {
        let Some(upn) = server.read(credential::service_account)? else {
            return Ok(None);
        };
        Ok(
            passwords::load(server.state_dir(), server.tpm(), &upn)?
                .map(|password| (upn, password)),
        )
    }

    /// The account an earlier, unfinished run of this rollback created.
    fn created_earlier(&self, server: &LocalServer) -> Result<Option<NewAccount>, EngineError> {
        let created: Option<Option<NewAccount>> = self.journaled(server, CREATE_ACCOUNT.id)?;
        Ok(created.flatten())
    }
}

/// `Sync_<HOST>_<installation id>`, as the Connect wizard names its accounts.
fn account_name(server: &LocalServer) -> Result<String, EngineError> {
    Ok(format!(
        "Sync_{}_{}",
        super::register::host_name(),
        server.installation_id()?
    ))
}

/// A random password of 72 characters from four character classes.
fn new_password() -> Secret {
    use rand::RngExt;
    const CLASSES: [&[u8]; 4] = [
        b"abcdefghijkmnopqrstuvwxyz",
        b"ABCDEFGHJKLMNPQRSTUVWXYZ",
        b"23456789",
        b"!#%*+-=?@^_",
    ];
    let mut rng = rand::rng();
    loop {
        let all: Vec<u8> = CLASSES.concat();
        let password: String = (0..72)
            .map(|_| char::from(all[rng.random_range(0..all.len())]))
            .collect();
        let has = |class: &[u8]| password.bytes().any(|b| class.contains(&b));
        if CLASSES.iter().all(|class| has(class)) {
            return Secret::new(password);
        }
    }
}

impl Operation for RollBack {
    const KIND: &'static str = "rollback";
    type Output = RolledBack;

    fn plan(&self, server: &LocalServer, target: &Target) -> Result<Vec<PlannedStep>, EngineError> {
        let switched = server
            .read(|conn| journal::open_run(conn, Self::KIND, None))?
            .is_some_and(|run| run.done.contains_key(SWITCH_BACK.id.name));
        match server.credential()? {
            ConnectorCredential::Application(_) => {}
            _ if switched => {}
            other => {
                return Err(EngineError::RollbackNeedsApplication {
                    identity: other.identity_type().to_string(),
                });
            }
        }
        let name = account_name(server)?;
        let mut steps = Vec::new();
        let when_new = match Self::retained(server)? {
            Some((upn, _)) => {
                steps.push(TRY_RETAINED.plan(format!(
                    "Sign in as {upn} with its stored password; if that works nothing changes in the directory, and the steps marked \"only for a new account\" do nothing"
                )));
                "Only for a new account: "
            }
            None => "",
        };
        let sign_in = plan_sign_in_as(
            SIGN_IN_ACCOUNT_ADMIN,
            target,
            &permissions::CREATE_SYNC_ACCOUNT,
        );
        steps.push(PlannedStep {
            detail: format!("{when_new}{}", sign_in.detail),
            ..sign_in
        });
        steps.push(plan_scheduler_off(server)?);
        steps.push(CREATE_ACCOUNT.plan(format!(
            "{when_new}create the cloud user {name}@<the tenant's initial domain> with a random 72-character password that never expires and need not be changed (kept only in an owner-only file on this server; event {})",
            EventId::SERVICE_ACCOUNT_CREATED.0
        )));
        steps.push(ASSIGN_ROLE.plan(format!(
            "{when_new}assign it Directory Synchronization Accounts at tenant scope (roleManagement/directory/roleAssignments)"
        )));
        steps.push(VERIFY_ACCOUNT.plan(match self.wait {
            true => format!(
                "Sign in as the account with its password for the synchronization service; a new account can take up to {} minutes to work, and this waits for it",
                NEW_ACCOUNT_WAIT.as_secs() / 60
            ),
            false => "Sign in as the retained account; a new account is not waited for (--no-wait): the connector may fail to sign in for up to 15 minutes, which `doctor` and `scheduler show` report".to_string(),
        }));
        steps.push(SWITCH_BACK.plan(format!(
            "Switch the connector credential from Application to ServiceAccount (event {}); the application stays in place, so moving to it again reuses it",
            EventId::ROLLBACK_DONE.0
        )));
        Ok(steps)
    }

    async fn execute(
        &self,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<RolledBack, EngineError> {
        let client = entra.client(run)?;
        let earlier = self.created_earlier(server)?;
        let retained = match Self::retained(server)? {
            Some((upn, password)) if earlier.is_none() => {
                run.check(TRY_RETAINED, async || {
                    Ok(match legacy_sign_in(&client, &upn, &password).await {
                        Ok(_) => (
                            Some((upn.clone(), password.clone())),
                            format!("{upn} signs in: nothing to create"),
                        ),
                        Err(error) => (
                            None,
                            format!("{upn} does not sign in ({error}); a new account is made"),
                        ),
                    })
                })
                .await?
            }
            _ => None,
        };
        let graph = match retained {
            Some(_) => {
                run.check(SIGN_IN_ACCOUNT_ADMIN, async || {
                    Ok(((), "not needed: the retained account signs in".to_string()))
                })
                .await?;
                None
            }
            None => Some(
                sign_in_checked_as(
                    SIGN_IN_ACCOUNT_ADMIN,
                    run,
                    &client,
                    entra,
                    &permissions::CREATE_SYNC_ACCOUNT,
                )
                .await?,
            ),
        };
        run.disable_scheduler(server).await?;

        let created = run
            .step(server, CREATE_ACCOUNT, async |server| match &graph {
                None => Ok(Done::new(None, "not needed")),
                Some(graph) => create_account(server, graph).await,
            })
            .await?;
        let account = created.as_ref();
        run.step(server, ASSIGN_ROLE, async |_| match (&graph, account) {
            (Some(graph), Some(account)) => {
                assign_sync_role(graph, &account.object_id).await?;
                Ok(Done::new((), "assigned"))
            }
            _ => Ok(Done::new((), "not needed")),
        })
        .await?;

        let (upn, password) = match (retained, account) {
            (Some(retained), _) => retained,
            (None, Some(account)) => {
                let password = passwords::load(server.state_dir(), server.tpm(), &account.upn)?
                    .ok_or_else(|| EngineError::PasswordLost {
                        upn: account.upn.clone(),
                    })?;
                (account.upn.clone(), password)
            }
            (None, None) => return Err(EngineError::Unplanned(CREATE_ACCOUNT.id.title)),
        };
        let new = created.is_some();
        let mut warnings = Vec::new();
        let verified = match (new, self.wait) {
            (true, false) => {
                run.check(VERIFY_ACCOUNT, async || {
                    Ok(((), "not waited for (--no-wait)".to_string()))
                })
                .await?;
                warnings.push(format!(
                    "{upn} was not waited for: a new account can take up to 15 minutes to sign in, and the connector fails until it does"
                ));
                false
            }
            _ => {
                let observer = run.retry_observer();
                run.check(VERIFY_ACCOUNT, async || {
                    let started = Instant::now();
                    wait_for_sign_in(&client, &upn, &password, new, &*observer).await?;
                    let waited = match new {
                        true => format!(
                            " (a new account can take up to {} minutes; this one took {} s)",
                            NEW_ACCOUNT_WAIT.as_secs() / 60,
                            started.elapsed().as_secs()
                        ),
                        false => String::new(),
                    };
                    Ok((
                        (),
                        format!("{upn} signs in for the synchronization service{waited}"),
                    ))
                })
                .await?;
                true
            }
        };

        let account = ServiceAccountCredential {
            user_principal_name: upn.clone(),
            configured_at: OffsetDateTime::now_utc(),
        };
        let recorded = ConnectorCredential::ServiceAccount(account);
        let way_forward = match server.credential()? {
            ConnectorCredential::Application(app) => super::register::way_forward(server, &app)?,
            _ => None,
        };
        run.step(server, SWITCH_BACK, async |_| {
            let message = format!(
                "Rolled back: the connector signs in with the service account {upn} again{}. The application stays in place.",
                if new { " (a new account)" } else { "" }
            );
            Ok(
                Done::new((), format!("the connector signs in as {upn}")).with_local(move |tx| {
                    if let Some(json) = &way_forward {
                        super::register::keep_way_forward(tx, json)?;
                    }
                    credential::save(tx, &recorded)?;
                    events::record(tx, EventLevel::Information, EventId::ROLLBACK_DONE, &message)
                }),
            )
        })
        .await?;
        passwords::forget_others(server.state_dir(), Some(&upn))?;
        Ok(RolledBack {
            user_principal_name: upn,
            created: new,
            verified,
            warnings,
        })
    }
}

/// Creates `Sync_<HOST>_<id>@<initial domain>` exactly once: its password is
/// stored before the request, and the account is looked up before any
/// (re)send, so a lost answer or a crash never makes a second account.
async fn create_account(
    server: &mut LocalServer,
    graph: &GraphClient,
) -> Result<Done<Option<NewAccount>>, EngineError> {
    let name = account_name(server)?;
    let upn = format!("{name}@{}", graph.initial_domain().await?);
    let password = match passwords::load(server.state_dir(), server.tpm(), &upn)? {
        Some(password) => password,
        None => {
            let password = new_password();
            passwords::save(server.state_dir(), server.tpm(), &upn, &password)?;
            password
        }
    };
    let new = NewUser {
        user_principal_name: &upn,
        display_name: "On-Premises Directory Synchronization Service Account",
        mail_nickname: &name,
        password: &password,
    };
    // Graph refuses a second user with the same UPN.
    let user = graph
        .write_once(Repeat::Refused)
        .run(
            async || graph.user(&upn).await,
            async || graph.create_user(&new).await,
        )
        .await?
        .into_inner();
    let message = format!("Created the directory synchronization account {upn} for the rollback.");
    let account = NewAccount {
        upn: upn.clone(),
        object_id: user.id,
    };
    Ok(
        Done::new(Some(account), format!("created {upn}")).with_local(move |tx| {
            events::record(
                tx,
                EventLevel::Information,
                EventId::SERVICE_ACCOUNT_CREATED,
                &message,
            )
        }),
    )
}

/// Assigns Directory Synchronization Accounts to `principal_id` once: an
/// existing assignment, or one whose answer got lost, is looked up, and
/// Graph's "already exists" for it is waited for until it shows.
async fn assign_sync_role(graph: &GraphClient, principal_id: &str) -> Result<(), EngineError> {
    graph
        .write_once(Repeat::Refused)
        .run(
            async || -> Result<Option<()>, EngineError> {
                let assigned = graph.role_assignments_of(principal_id).await?;
                Ok(assigned
                    .iter()
                    .any(|a| a.role_definition_id == DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
                    .then_some(()))
            },
            async || {
                graph
                    .assign_directory_role(principal_id, DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
                    .await
                    .map(drop)
            },
        )
        .await
        .map(drop)
}

/// Signs `upn` in; a new account is tried again while the directory does
/// not know it yet (AADSTS50034) or not its password (AADSTS50126), up to
/// [`NEW_ACCOUNT_WAIT`].
async fn wait_for_sign_in(
    client: &EntraClient,
    upn: &str,
    password: &Secret,
    new: bool,
    observer: &(dyn Fn(RetryNotice) + Send + Sync),
) -> Result<(), EngineError> {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match legacy_sign_in(client, upn, password).await {
            Ok(_) => return Ok(()),
            Err(error)
                if new
                    && matches!(error.aadsts(), Some(50034 | 50126))
                    && started.elapsed() + NEW_ACCOUNT_RETRY < NEW_ACCOUNT_WAIT =>
            {
                observer(RetryNotice {
                    attempt,
                    reason: "a new account can take up to 15 minutes to sign in".into(),
                    delay: NEW_ACCOUNT_RETRY,
                });
                tokio::time::sleep(NEW_ACCOUNT_RETRY).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}

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
    progress: super::progress::ProgressSender,
) -> Result<Vec<SyncAccount>, EngineError> {
    let plan = [SIGN_IN_REMOVER.plan(""), READ_SYNC_ACCOUNTS.plan("")];
    let mut run = Run::untracked("sync-accounts", &plan, progress);
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

impl Operation for RemoveServiceAccount {
    const KIND: &'static str = "service-account-remove";
    type Output = SyncAccount;

    fn plan(&self, server: &LocalServer, target: &Target) -> Result<Vec<PlannedStep>, EngineError> {
        let mut forget = String::new();
        match named_account_use(server, &self.name)? {
            Some((upn, AccountUse::InUse)) => return Err(EngineError::AccountInUse { upn }),
            Some((upn, AccountUse::WayBack)) if !self.forget_rollback => {
                return Err(EngineError::AccountIsWayBack { upn });
            }
            Some((upn, AccountUse::WayBack)) => {
                forget = format!(
                    "; this server forgets {upn} as its way back (a rollback will then need a new account, which only a Global Administrator, or a User Administrator with Privileged Role Administrator, can create)"
                );
            }
            _ => {}
        }
        Ok(vec![
            plan_sign_in_as(SIGN_IN_REMOVER, target, &permissions::DELETE_SYNC_ACCOUNT),
            FIND_SYNC_ACCOUNT.plan(format!(
                "Find {}@… among the members of Directory Synchronization Accounts; any other account is refused",
                self.name
            )),
            DELETE_ACCOUNT.plan(format!(
                "Delete the user {}@… (Entra keeps it in deleted users for 30 days){forget} (event {})",
                self.name,
                EventId::SERVICE_ACCOUNT_REMOVED.0
            )),
        ])
    }

    async fn execute(
        &self,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<SyncAccount, EngineError> {
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
                if self
                    .done_earlier(server)?
                    .contains_key(DELETE_ACCOUNT.id.name)
                {
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
            None => named_account_use(server, name)?
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
        Ok(SyncAccount {
            user_principal_name: upn,
            use_on_this_server: usage,
        })
    }
}
