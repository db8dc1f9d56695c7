//! `service-account use` (record the legacy connector account),
//! `service-account add` (Add-ADSyncAADServiceAccount: roll back to it) and
//! `service-account remove` (Remove-ADSyncAADServiceAccount).

use super::app::show_outcome;
use super::connection::{ConnectionArgs, DryRunArg, Invocation, SignInArgs};
use super::output::Output;
use crate::domain::{SignInAnswer, Upn};
use crate::engine::service_account::{
    AccountName, RemoveServiceAccount, RollBack, UseServiceAccount,
};
use crate::engine::{LocalServer, OperationRequest};
use crate::entra::client::DEFAULT_ADMIN_CLIENT_ID;
use clap::{Args, Subcommand};
use std::io::IsTerminal;

#[derive(Debug, Subcommand)]
pub enum ServiceAccountCommand {
    /// Record the connector account this server signs in with (Sync_<HOST>_<id>@…): its password
    /// is checked, then stored protected; the server then reads ServiceAccount.
    Use(Box<UseArgs>),
    /// Roll back to a service account (the one kept when the server moved to an application, or a
    /// new one an administrator creates); the application stays in place.
    Add(Box<AddArgs>),
    /// Delete a legacy directory synchronization account by name (Remove-ADSyncAADServiceAccount);
    /// never the one in use, nor the way back without --force-forget-rollback.
    Remove(Box<RemoveArgs>),
}

#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The administrator: a Privileged Authentication Administrator or a Global Administrator (the
    /// account holds a privileged role, which a User Administrator may not delete).
    #[command(flatten)]
    sign_in: SignInArgs,
    /// The account's name: its UPN's part before @ (e.g. Sync_CONNECT01_1a2b3c4d5e6f).
    #[arg(long)]
    name: AccountName,
    /// Remove the account this server keeps as its way back (a later rollback then needs a new
    /// account).
    #[arg(long)]
    force_forget_rollback: bool,
    /// Confirm --force-forget-rollback without being asked (needed when there is no terminal to
    /// ask on).
    #[arg(long, requires = "force_forget_rollback")]
    yes: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct UseArgs {
    /// The connector account (a member of Directory Synchronization Accounts).
    #[arg(long, value_name = "SYNC_UPN")]
    upn: Upn,
    /// Read its password from standard input (otherwise asked for on the terminal, not echoed).
    #[arg(long)]
    password_stdin: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The administrator, needed only when a new account must be created: a Global Administrator,
    /// or a User Administrator who is also Privileged Role Administrator.
    #[command(flatten)]
    sign_in: SignInArgs,
    /// Do not wait for a new account to sign in (it can take up to 15 minutes).
    #[arg(long)]
    no_wait: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

pub fn run(
    command: ServiceAccountCommand,
    server: &mut LocalServer,
    out: &Output,
) -> anyhow::Result<()> {
    let (invocation, request, dry_run) = match command {
        ServiceAccountCommand::Use(args) => {
            // The account itself signs in, with its password.
            let invocation = Invocation {
                connection: args.connection.inputs(),
                replication_budget: args.connection.replication_budget(),
                upn: Some(args.upn.clone()),
                sign_in: SignInAnswer::Password,
                password_stdin: args.password_stdin,
                admin_client_id: DEFAULT_ADMIN_CLIENT_ID.to_string(),
            };
            let request = OperationRequest::UseServiceAccount(UseServiceAccount { upn: args.upn });
            (invocation, request, args.dry_run)
        }
        ServiceAccountCommand::Add(args) => {
            let invocation = Invocation::new(&args.connection, &args.sign_in);
            let request = OperationRequest::RollBack(RollBack {
                wait: !args.no_wait,
            });
            (invocation, request, args.dry_run)
        }
        ServiceAccountCommand::Remove(args) => {
            if args.force_forget_rollback && !args.yes && !args.dry_run.dry_run {
                confirm_forgetting_the_way_back(&args.name)?;
            }
            let invocation = Invocation::new(&args.connection, &args.sign_in);
            let request = OperationRequest::RemoveServiceAccount(RemoveServiceAccount {
                name: args.name,
                forget_rollback: args.force_forget_rollback,
            });
            (invocation, request, args.dry_run)
        }
    };
    match invocation.perform(server, request, dry_run, out)? {
        None => Ok(()),
        Some(outcome) => show_outcome(server, out, outcome),
    }
}

/// What `--force-forget-rollback` costs, said before anything is sent; the
/// administrator confirms on the terminal by typing the account's name, or
/// with `--yes` where there is no terminal.
fn confirm_forgetting_the_way_back(name: &AccountName) -> anyhow::Result<()> {
    let cost = "--force-forget-rollback removes the account this server keeps as its way back: a later rollback then needs a new account, which only a Global Administrator (or a User Administrator with Privileged Role Administrator) can create";
    if !(std::io::stdin().is_terminal() && std::io::stderr().is_terminal()) {
        anyhow::bail!(
            "{cost}. Nothing was changed. There is no terminal to confirm on: add --yes to confirm."
        );
    }
    eprint!("{cost}.\nType the account's name ({name}) to confirm: ");
    let mut typed = String::new();
    std::io::stdin().read_line(&mut typed)?;
    if typed.trim() != name.to_string() {
        anyhow::bail!("not confirmed (the name typed was not {name}); nothing was changed");
    }
    Ok(())
}
