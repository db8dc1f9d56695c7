//! Add-ADSyncAADServiceAccount, the rollback: the connector signs in with
//! the retained legacy account again, or with a new one an administrator
//! creates when the retained one no longer signs in.

use super::legacy_sign_in;
use crate::domain::{
    ConnectorCredential, DIRECTORY_SYNCHRONIZATION_ACCOUNTS, EventId, EventLevel,
    ServiceAccountCredential,
};
use crate::engine::admin::{plan_sign_in_as, sign_in_checked_as};
use crate::engine::operation::{
    Change, Check, Condition, Done, Journaled, Operation, PlannedStep, Run, Skip, Step, Target,
    plan_scheduler_off,
};
use crate::engine::{EngineError, EntraRequest, LocalServer, permissions, register};
use crate::entra::Secret;
use crate::entra::client::EntraClient;
use crate::entra::graph::{GraphClient, NewUser, Repeat};
use crate::entra::http::{RetryBudget, RetryNotice, RetryReason};
use crate::host::{credential, events, journal, passwords};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

pub const TRY_RETAINED: Check =
    Check::new("try-retained-account", "Try the retained connector account");
pub const SIGN_IN_ACCOUNT_ADMIN: Check = Check::new(
    "sign-in",
    "Sign in as an administrator who may create the account",
);
pub const CREATE_ACCOUNT: Step<NewAccount> = Step::new(
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

/// What the rollback starts from.
pub(crate) struct Start {
    /// `Sync_<HOST>_<installation id>`, as the Connect wizard names its
    /// accounts: the name a new account gets.
    name: String,
    /// The account kept as the way back, with its stored password.
    retained: Option<(String, Secret)>,
    /// The account an earlier, unfinished run of this rollback created.
    created_earlier: Option<NewAccount>,
}

/// The retained account and its stored password, if both are there.
fn retained(server: &LocalServer) -> Result<Option<(String, Secret)>, EngineError> {
    let Some(upn) = server.read(credential::service_account)? else {
        return Ok(None);
    };
    Ok(passwords::load(server.state_dir(), server.tpm(), &upn)?.map(|password| (upn, password)))
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
    type Situation = Start;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        earlier: &Journaled,
    ) -> Result<Start, EngineError> {
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
        Ok(Start {
            name: format!(
                "Sync_{}_{}",
                register::host_name(),
                server.installation_id()?
            ),
            retained: retained(server)?,
            created_earlier: earlier.value(CREATE_ACCOUNT)?,
        })
    }

    fn plan(
        &self,
        start: &Start,
        server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let name = &start.name;
        let mut steps = Vec::new();
        // With a retained account, the steps that make a new one do
        // something only if it no longer signs in.
        let for_new_account = |step: PlannedStep| match &start.retained {
            Some(_) => step.only_if(Condition::NewAccountNeeded),
            None => step,
        };
        if let Some((upn, _)) = &start.retained {
            steps.push(TRY_RETAINED.plan(Change::TryRetainedAccount { upn: upn.clone() }));
        }
        steps.push(for_new_account(plan_sign_in_as(
            SIGN_IN_ACCOUNT_ADMIN,
            target,
            &permissions::CREATE_SYNC_ACCOUNT,
        )));
        steps.push(plan_scheduler_off(server)?);
        steps.push(for_new_account(
            CREATE_ACCOUNT.plan(Change::CreateSyncAccount { name: name.clone() }),
        ));
        steps.push(for_new_account(ASSIGN_ROLE.plan(Change::AssignSyncRole)));
        steps.push(VERIFY_ACCOUNT.plan(Change::VerifyAccount {
            waits_minutes: self.wait.then_some(NEW_ACCOUNT_WAIT.as_secs() / 60),
        }));
        steps.push(SWITCH_BACK.plan(Change::SwitchToServiceAccount));
        Ok(steps)
    }

    async fn execute(
        &self,
        start: Start,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<RolledBack, EngineError> {
        let client = entra.client(run)?;
        let Start {
            name,
            retained,
            created_earlier,
        } = start;
        let retained = match (retained, created_earlier) {
            (Some(_), Some(_)) => {
                let because = "an earlier run of this rollback created a new account".into();
                run.skip(TRY_RETAINED.id, Skip::NotNeeded { because })?;
                None
            }
            (Some((upn, password)), None) => {
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
            (None, _) => None,
        };
        let retained_signs_in = || Skip::NotNeeded {
            because: "the retained account signs in".into(),
        };
        let source = match retained {
            Some((upn, password)) => {
                run.skip(SIGN_IN_ACCOUNT_ADMIN.id, retained_signs_in())?;
                Source::Retained { upn, password }
            }
            None => Source::New(
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

        let (upn, password, new) = match source {
            Source::Retained { upn, password } => {
                run.skip(CREATE_ACCOUNT.id, retained_signs_in())?;
                run.skip(ASSIGN_ROLE.id, retained_signs_in())?;
                (upn, password, false)
            }
            Source::New(graph) => {
                let account = run
                    .step(server, CREATE_ACCOUNT, async |server| {
                        create_account(server, &graph, &name).await
                    })
                    .await?;
                run.step(server, ASSIGN_ROLE, async |_| {
                    assign_sync_role(&graph, &account.object_id).await?;
                    Ok(Done::new((), "assigned"))
                })
                .await?;
                let password = passwords::load(server.state_dir(), server.tpm(), &account.upn)?
                    .ok_or_else(|| EngineError::PasswordLost {
                        upn: account.upn.clone(),
                    })?;
                (account.upn, password, true)
            }
        };
        let mut warnings = Vec::new();
        let verified = match (new, self.wait) {
            (true, false) => {
                run.skip(VERIFY_ACCOUNT.id, Skip::NotWaitedFor)?;
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
            configured_at: server.now(),
        };
        let recorded = ConnectorCredential::ServiceAccount(account);
        let way_forward = match server.credential()? {
            ConnectorCredential::Application(app) => register::way_forward(server, &app)?,
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
                        register::keep_way_forward(tx, json)?;
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

/// Where the account the connector rolls back to comes from.
enum Source {
    /// The retained account, which signs in.
    Retained { upn: String, password: Secret },
    /// A new one, created by the administrator signed in here.
    New(GraphClient),
}

/// Creates `Sync_<HOST>_<id>@<initial domain>` exactly once: its password is
/// stored before the request, and the account is looked up before any
/// (re)send, so a lost answer or a crash never makes a second account.
async fn create_account(
    server: &mut LocalServer,
    graph: &GraphClient,
    name: &str,
) -> Result<Done<NewAccount>, EngineError> {
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
        mail_nickname: name,
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
        Done::new(account, format!("created {upn}")).with_local(move |tx| {
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
                    reason: RetryReason::NewAccount,
                    delay: NEW_ACCOUNT_RETRY,
                    budget: RetryBudget::since(started, NEW_ACCOUNT_WAIT),
                });
                tokio::time::sleep(NEW_ACCOUNT_RETRY).await;
            }
            Err(error) => return Err(error.into()),
        }
    }
}
