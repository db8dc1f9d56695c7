//! What every command that reaches Entra shares: the connection and sign-in
//! options (typed, so a malformed value is refused by clap with exit code 2
//! before anything happens), the plan-then-run path of an operation with
//! `--dry-run`, and the progress printer.

use super::output::Output;
use super::values::one_of;
use crate::domain::{Answers, Cloud, ConnectionInputs, EndpointUrl, SignInAnswer, Tenant, Upn};
use crate::engine::connection::{for_credential, remember, remembered, settings};
use crate::engine::progress::{Progress, ProgressSender, StepStatus};
use crate::engine::{
    EngineError, EntraRequest, LocalServer, OperationRequest, Outcome, PlannedStep, Target,
};
use crate::entra::Secret;
use crate::entra::client::ConnectionSettings;
use crate::entra::client::{
    DEFAULT_ADMIN_CLIENT_ID, PastedRedirects, UserSignIn, pasted_redirects,
};
use crate::plan_words;
use anyhow::Context;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

const DEFAULT_REPLICATION_TIMEOUT: u64 = 300;

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Tenant id or verified domain (remembered once an operation works).
    #[arg(long, value_name = "ID-OR-DOMAIN")]
    tenant: Option<Tenant>,
    /// National cloud.
    #[arg(long, value_parser = one_of::<Cloud>())]
    cloud: Option<Cloud>,
    /// Identity platform host, e.g. https://login.microsoftonline.com.
    #[arg(long, value_name = "URL")]
    authority_host: Option<EndpointUrl>,
    /// Microsoft Graph base, e.g. https://graph.microsoft.com/v1.0.
    #[arg(long, value_name = "URL")]
    graph_url: Option<EndpointUrl>,
    /// A PEM root certificate to trust besides the system's.
    #[arg(long, value_name = "PEM", value_parser = ca_cert)]
    ca_cert: Option<PathBuf>,
    /// Seconds to keep retrying while Entra replicates new objects.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_REPLICATION_TIMEOUT)]
    replication_timeout: u64,
}

/// `--ca-cert`, read and checked with the rest of the command line, so a
/// file that cannot be trusted is a usage error before anything is touched.
fn ca_cert(path: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(path);
    crate::entra::extra_roots(&path).map_err(|e| format!("the file {e}"))?;
    Ok(path)
}

impl ConnectionArgs {
    pub fn inputs(&self) -> ConnectionInputs {
        ConnectionInputs {
            tenant: self.tenant.clone(),
            cloud: self.cloud,
            authority_host: self.authority_host.clone(),
            graph_url: self.graph_url.clone(),
            ca_cert: self.ca_cert.clone(),
        }
    }

    pub fn replication_budget(&self) -> Duration {
        Duration::from_secs(self.replication_timeout)
    }

    /// The connection for this server's own credential (what was given, else
    /// remembered, else the credential's tenant) and the settings for it,
    /// signing in with `admin_client_id` where an administrator signs in.
    pub fn for_credential(
        &self,
        server: &LocalServer,
        admin_client_id: &str,
    ) -> anyhow::Result<(ConnectionInputs, Result<ConnectionSettings, EngineError>)> {
        let inputs = for_credential(server, self.inputs())?;
        let settings = settings(
            &inputs,
            admin_client_id,
            self.replication_budget(),
            Default::default(),
        );
        Ok((inputs, settings))
    }
}

#[derive(Debug, Clone, Args)]
pub struct SignInArgs {
    /// The Hybrid Identity Administrator (or Global Administrator) to sign in as.
    #[arg(long, value_name = "UPN")]
    upn: Upn,
    #[command(flatten)]
    how: SignInOptions,
}

/// How the administrator signs in.
#[derive(Debug, Clone, Args)]
pub struct SignInOptions {
    /// How the administrator signs in.
    #[arg(long, value_parser = one_of::<SignInAnswer>(), default_value_t = SignInAnswer::DeviceCode)]
    sign_in: SignInAnswer,
    /// Read the password from standard input (with --sign-in password).
    #[arg(long)]
    password_stdin: bool,
    /// Public client application used for the administrator's sign-in.
    #[arg(long, value_name = "APPID", default_value = DEFAULT_ADMIN_CLIENT_ID)]
    admin_client_id: crate::domain::AppId,
}

/// The hash argument of the application commands.
#[derive(Debug, Clone, Args)]
pub struct CertificateArg {
    /// SHA-256 hash of a certificate in the key store (BYOC/BYOA); omitted: a new managed certificate.
    #[arg(long, value_name = "HASH")]
    pub certificate_sha256: Option<crate::domain::CertificateHash>,
}

/// `--dry-run`, on every command that changes anything.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct DryRunArg {
    /// Print the plan (every step and what it changes) and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

impl DryRunArg {
    /// With --dry-run, prints the plan of a local change and returns true (the
    /// caller then stops); otherwise returns false.
    pub fn show(
        self,
        out: &Output,
        plan: impl FnOnce() -> Result<Vec<PlannedStep>, EngineError>,
    ) -> anyhow::Result<bool> {
        if self.dry_run {
            #[derive(serde::Serialize)]
            struct LocalPlan {
                steps: Vec<PlannedStep>,
            }
            let plan = LocalPlan { steps: plan()? };
            out.show(&plan, |plan| human_plan(&plan.steps))?;
        }
        Ok(self.dry_run)
    }
}

/// Everything an operation against Entra needs from the command line or an
/// answers file.
pub struct Invocation {
    pub connection: ConnectionInputs,
    pub replication_budget: Duration,
    /// The administrator; none for operations the application does itself
    /// (rotation, key removal), which then sign no one in.
    pub upn: Option<Upn>,
    pub sign_in: SignInAnswer,
    pub password_stdin: bool,
    pub admin_client_id: String,
}

impl Invocation {
    pub fn new(connection: &ConnectionArgs, sign_in: &SignInArgs) -> Invocation {
        Invocation {
            connection: connection.inputs(),
            replication_budget: connection.replication_budget(),
            upn: Some(sign_in.upn.clone()),
            sign_in: sign_in.how.sign_in,
            password_stdin: sign_in.how.password_stdin,
            admin_client_id: sign_in.how.admin_client_id.to_string(),
        }
    }

    /// For operations that need an administrator only in some cases
    /// (`app rotate --upn`), or never (`app remove-key`).
    pub fn optional_admin(
        connection: &ConnectionArgs,
        upn: Option<Upn>,
        how: Option<&SignInOptions>,
    ) -> Invocation {
        Invocation {
            connection: connection.inputs(),
            replication_budget: connection.replication_budget(),
            upn,
            sign_in: how.map_or(SignInAnswer::DeviceCode, |how| how.sign_in),
            password_stdin: how.is_some_and(|how| how.password_stdin),
            admin_client_id: how.map_or(DEFAULT_ADMIN_CLIENT_ID.to_string(), |how| {
                how.admin_client_id.to_string()
            }),
        }
    }

    /// An answers file's connection and sign-in (the password from standard input).
    pub fn from_answers(answers: &Answers) -> Invocation {
        Invocation {
            connection: answers.connection(),
            replication_budget: Duration::from_secs(DEFAULT_REPLICATION_TIMEOUT),
            upn: Some(answers.upn.clone()),
            sign_in: answers.sign_in,
            password_stdin: true,
            admin_client_id: DEFAULT_ADMIN_CLIENT_ID.to_string(),
        }
    }

    /// Plans `request` against this server; with `dry_run` prints the plan and
    /// stops, otherwise signs in, runs it with progress on stderr, and
    /// remembers the connection once it worked. Returns the outcome of a run.
    pub fn perform(
        self,
        server: &mut LocalServer,
        request: OperationRequest,
        dry_run: DryRunArg,
        out: &Output,
    ) -> anyhow::Result<Option<Outcome>> {
        let connection = self.connection.clone().or(remembered(server)?);
        let tenant = connection.tenant.clone().ok_or(EngineError::NoTenant)?;
        let target = Target {
            tenant: tenant.to_string(),
            admin_upn: self
                .upn
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
        };
        let plan = crate::engine::plan(server, target, request).inspect_err(print_refusal)?;
        if dry_run.dry_run {
            out.show(&plan, |plan| human_plan(&plan.steps))?;
            return Ok(None);
        }
        let settings = settings(
            &connection,
            &self.admin_client_id,
            self.replication_budget,
            Default::default(),
        )?;
        let request = EntraRequest {
            connection: settings,
            admin: self
                .upn
                .as_ref()
                .map(|upn| admin_sign_in(upn, self.sign_in, self.password_stdin))
                .transpose()?,
        };
        let outcome = run_operation(server, out, async |server, progress| {
            crate::engine::execute(server, &request, &plan, progress).await
        })?;
        remember(server, &connection)?;
        Ok(Some(outcome))
    }
}

impl SignInOptions {
    pub fn admin_client_id(&self) -> String {
        self.admin_client_id.to_string()
    }

    /// How `upn` signs in (the password is read now, if one is needed).
    pub fn sign_in(&self, upn: &Upn) -> anyhow::Result<UserSignIn> {
        admin_sign_in(upn, self.sign_in, self.password_stdin)
    }

    /// The administrator's sign-in when a command was given `--upn`.
    pub fn sign_in_if(&self, upn: Option<&Upn>) -> anyhow::Result<Option<UserSignIn>> {
        upn.map(|upn| self.sign_in(upn)).transpose()
    }
}

fn admin_sign_in(upn: &Upn, how: SignInAnswer, password_stdin: bool) -> anyhow::Result<UserSignIn> {
    let upn = upn.to_string();
    Ok(match how {
        SignInAnswer::DeviceCode => UserSignIn::DeviceCode { upn },
        SignInAnswer::Password => {
            let password = read_password(password_stdin, &upn)?;
            UserSignIn::Password { upn, password }
        }
        SignInAnswer::Browser => UserSignIn::Browser {
            upn,
            pasted: pasted_from_stdin(),
        },
    })
}

/// Standard input's lines, as redirect addresses pasted back (a terminal's
/// or a pipe's): read on a thread of their own until the input ends or the
/// sign-in no longer listens.
fn pasted_from_stdin() -> PastedRedirects {
    let (sender, pasted) = pasted_redirects();
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if sender.send(line).is_err() {
                break;
            }
        }
    });
    pasted
}

/// A dry run's plan: numbered steps, each with what it does, as the Ready
/// page lists them, under a line that says nothing was changed.
pub fn human_plan(steps: &[PlannedStep]) -> String {
    let mut text = format!("{}\n", plan_words::intro(steps, plan_words::Shown::DryRun));
    for (heading, detail) in plan_words::numbered(steps) {
        text.push_str(&format!(" {heading}\n    {detail}\n"));
    }
    text
}

/// A refusal of one step while planning, in the progress lines' form.
fn print_refusal(error: &EngineError) {
    if let EngineError::StepRefused { step, refusal } = error {
        let line = format!("[FAIL] {step}: {refusal}");
        eprintln!("{}", super::logging::plain(tracing::Level::ERROR, &line));
    }
}

fn read_password(from_stdin: bool, upn: &str) -> anyhow::Result<Secret> {
    let password = super::read_secret(&format!("Password for {upn}: "), from_stdin)?;
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(Secret::new(password.as_str()))
}

/// Prints progress to stderr as it comes: with `--json` one JSON object per
/// event (for automation to follow a run), otherwise one line per event, or
/// on a terminal a live line for the running step that its outcome then
/// replaces. Returns the sender for the engine and a handle that finishes
/// once the sender is dropped.
pub fn progress_printer(out: &Output) -> (ProgressSender, tokio::task::JoinHandle<()>) {
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let live = std::io::stderr().is_terminal();
    let json = out.json;
    let printer = tokio::spawn(async move {
        while let Some(progress) = receiver.recv().await {
            print_progress(&progress, json, live);
        }
    });
    (sender, printer)
}

/// What a local change (scheduler, certificates) says while it waits for
/// another change: the progress line an operation would print.
pub fn lock_notice(out: &Output) -> crate::engine::LockNotice {
    let json = out.json;
    let live = std::io::stderr().is_terminal();
    std::sync::Arc::new(move |holder| {
        let progress = Progress::WaitingForChange {
            holder: holder.clone(),
        };
        print_progress(&progress, json, live);
    })
}

/// One progress event on stderr: a JSON line, or a line for a person (on a
/// terminal, a running step's line is replaced by the next).
fn print_progress(progress: &Progress, json: bool, live: bool) {
    if let Progress::SignInBrowser { url } = progress {
        crate::browser::open(url);
    }
    if json {
        match serde_json::to_string(progress) {
            Ok(line) => eprintln!("{line}"),
            Err(error) => tracing::warn!(%error, "a progress event could not be written as JSON"),
        }
        return;
    }
    let transient = matches!(
        progress,
        Progress::Step {
            status: StepStatus::Running | StepStatus::Retrying { .. },
            ..
        }
    );
    let line = super::logging::plain(level(progress), &progress.line());
    match (live, transient) {
        (true, true) => eprint!("\r\x1b[2K{line}"),
        (true, false) => eprintln!("\r\x1b[2K{line}"),
        (false, _) => eprintln!("{line}"),
    }
}

/// How grave a progress line is: a failed step an error, a retry a warning.
fn level(progress: &Progress) -> tracing::Level {
    match progress {
        Progress::Step {
            status: StepStatus::Failed { .. },
            ..
        } => tracing::Level::ERROR,
        Progress::Step {
            status: StepStatus::Retrying { .. },
            ..
        } => tracing::Level::WARN,
        _ => tracing::Level::INFO,
    }
}

/// Runs an engine operation on a runtime, printing its progress, and stops it
/// cleanly on Ctrl-C: the scheduler is put back and the journal keeps what
/// was done for a rerun.
pub fn run_operation<T>(
    server: &mut LocalServer,
    out: &Output,
    operation: impl AsyncFnOnce(&mut LocalServer, ProgressSender) -> Result<T, EngineError>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (progress, printer) = progress_printer(out);
        let outcome = tokio::select! {
            result = operation(server, progress) => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        };
        let _ = printer.await;
        match outcome {
            Some(result) => Ok(result?),
            None => {
                crate::engine::operation::recover_scheduler(server)?;
                Err(EngineError::Cancelled.into())
            }
        }
    })
}
