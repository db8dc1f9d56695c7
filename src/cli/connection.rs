//! The connection options every command that reaches Entra takes, resolved
//! against what the state remembers, and the progress printer.

use crate::domain::{Answers, CertificateHash, SignInAnswer};
use crate::engine::connection::{RememberedConnection, remember, remembered};
use crate::engine::progress::{Progress, ProgressSender};
use crate::engine::{EngineError, EntraRequest, LocalServer};
use crate::entra::client::{AdminSignIn, ConnectionSettings, DEFAULT_ADMIN_CLIENT_ID};
use crate::entra::{Cloud, Endpoints, RetryPolicy, Secret};
use anyhow::Context;
use clap::{Args, ValueEnum};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, Args)]
pub struct ConnectionArgs {
    /// Tenant id or verified domain (remembered from the last run).
    #[arg(long, value_name = "ID-OR-DOMAIN")]
    tenant: Option<String>,
    /// National cloud.
    #[arg(long, value_enum)]
    cloud: Option<Cloud>,
    /// Identity platform host, e.g. https://login.microsoftonline.com.
    #[arg(long, value_name = "URL")]
    authority_host: Option<String>,
    /// Microsoft Graph base, e.g. https://graph.microsoft.com/v1.0.
    #[arg(long, value_name = "URL")]
    graph_url: Option<String>,
    /// A PEM root certificate to trust besides the system's.
    #[arg(long, value_name = "PEM")]
    ca_cert: Option<PathBuf>,
    /// Seconds to keep retrying while Entra replicates new objects.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    replication_timeout: u64,
}

#[derive(Debug, Clone, Args)]
pub struct SignInArgs {
    /// The Hybrid Identity Administrator (or Global Administrator) to sign in as.
    #[arg(long, value_name = "UPN")]
    upn: String,
    /// How the administrator signs in.
    #[arg(long, value_enum, default_value_t = SignInMethod::DeviceCode)]
    sign_in: SignInMethod,
    /// Read the password from standard input (with --sign-in password).
    #[arg(long)]
    password_stdin: bool,
    /// Public client application used for the administrator's sign-in.
    #[arg(long, value_name = "APPID", default_value = DEFAULT_ADMIN_CLIENT_ID)]
    admin_client_id: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SignInMethod {
    DeviceCode,
    Password,
}

/// The hash argument of the application commands.
#[derive(Debug, Clone, Args)]
pub struct CertificateArg {
    /// SHA-256 hash of a certificate in the key store (BYOC/BYOA); omitted: a new managed certificate.
    #[arg(long, value_name = "HASH")]
    pub certificate_sha256: Option<CertificateHash>,
}

impl ConnectionArgs {
    /// The connection an answers file describes.
    pub fn from_answers(answers: &Answers) -> anyhow::Result<ConnectionArgs> {
        let cloud = match &answers.cloud {
            Some(name) => Some(Cloud::from_str(name, true).map_err(|_| {
                anyhow::anyhow!("cloud = {name:?} in the answers file: use public, usgov or china")
            })?),
            None => None,
        };
        Ok(ConnectionArgs {
            tenant: Some(answers.tenant.clone()),
            cloud,
            authority_host: answers.authority_host.clone(),
            graph_url: answers.graph_url.clone(),
            ca_cert: answers.ca_cert.clone(),
            replication_timeout: 300,
        })
    }

    /// Resolves the options against the remembered connection and remembers the result.
    /// `fallback_tenant` is used when neither the options nor the state name one.
    pub fn settings(
        &self,
        server: &mut LocalServer,
        admin_client_id: &str,
        fallback_tenant: Option<String>,
    ) -> anyhow::Result<ConnectionSettings> {
        let last = remembered(server)?;
        let connection = RememberedConnection {
            tenant: self.tenant.clone().or(last.tenant).or(fallback_tenant),
            cloud: self.cloud.or(last.cloud),
            authority_host: self.authority_host.clone().or(last.authority_host),
            graph_url: self.graph_url.clone().or(last.graph_url),
            ca_cert: self.ca_cert.clone().or(last.ca_cert),
        };
        let tenant = connection
            .tenant
            .clone()
            .context("no tenant given: add --tenant ID-OR-DOMAIN (it is remembered afterwards)")?;
        let endpoints = Endpoints::new(
            connection.cloud.unwrap_or(Cloud::Public),
            connection.authority_host.as_deref(),
            connection.graph_url.as_deref(),
        )
        .map_err(EngineError::from)?;
        remember(server, &connection)?;
        Ok(ConnectionSettings {
            tenant,
            endpoints,
            ca_cert: connection.ca_cert,
            admin_client_id: admin_client_id.to_string(),
            retry: RetryPolicy {
                replication_budget: Duration::from_secs(self.replication_timeout),
                ..RetryPolicy::default()
            },
            cache: Default::default(),
        })
    }
}

impl SignInArgs {
    pub fn from_answers(answers: &Answers) -> SignInArgs {
        SignInArgs {
            upn: answers.upn.clone(),
            sign_in: match answers.sign_in {
                SignInAnswer::DeviceCode => SignInMethod::DeviceCode,
                SignInAnswer::Password => SignInMethod::Password,
            },
            password_stdin: true,
            admin_client_id: DEFAULT_ADMIN_CLIENT_ID.to_string(),
        }
    }

    pub fn request(
        &self,
        connection: &ConnectionArgs,
        server: &mut LocalServer,
    ) -> anyhow::Result<EntraRequest> {
        let sign_in = match self.sign_in {
            SignInMethod::DeviceCode => AdminSignIn::DeviceCode {
                upn: self.upn.clone(),
            },
            SignInMethod::Password => AdminSignIn::Password {
                upn: self.upn.clone(),
                password: read_password(self.password_stdin, &self.upn)?,
            },
        };
        Ok(EntraRequest {
            connection: connection.settings(server, &self.admin_client_id, None)?,
            sign_in,
        })
    }
}

fn read_password(from_stdin: bool, upn: &str) -> anyhow::Result<Secret> {
    let password = super::read_secret(&format!("Password for {upn}: "), from_stdin)?;
    anyhow::ensure!(!password.is_empty(), "no password on standard input");
    Ok(Secret::new(password.as_str()))
}

/// Prints progress to stderr as it comes: one line per event, or on a terminal
/// a live line for the running step that its outcome then replaces. Returns
/// the sender for the engine and a handle that finishes once the sender is dropped.
pub fn progress_printer() -> (ProgressSender, tokio::task::JoinHandle<()>) {
    use crate::engine::progress::StepStatus;
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let live = std::io::stderr().is_terminal();
    let printer = tokio::spawn(async move {
        while let Some(progress) = receiver.recv().await {
            let transient = matches!(
                &progress,
                Progress::Step {
                    status: StepStatus::Running | StepStatus::Retrying { .. },
                    ..
                }
            );
            match (live, transient) {
                (true, true) => eprint!("\r\x1b[2K{}", progress.line()),
                (true, false) => eprintln!("\r\x1b[2K{}", progress.line()),
                (false, _) => eprintln!("{}", progress.line()),
            }
        }
    });
    (sender, printer)
}

/// Runs an engine operation on a runtime, printing its progress, and stops it
/// cleanly on Ctrl-C: the scheduler is put back and the journal keeps what
/// was done for a rerun.
pub fn run_operation<T>(
    server: &mut LocalServer,
    operation: impl AsyncFnOnce(&mut LocalServer, ProgressSender) -> Result<T, EngineError>,
) -> anyhow::Result<T> {
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (progress, printer) = progress_printer();
        let outcome = tokio::select! {
            result = operation(server, progress) => Some(result),
            _ = tokio::signal::ctrl_c() => None,
        };
        let _ = printer.await;
        match outcome {
            Some(result) => Ok(result?),
            None => {
                crate::engine::operation::recover_scheduler(server)?;
                anyhow::bail!(
                    "cancelled: the scheduler was restored; run the same command again to resume"
                )
            }
        }
    })
}
