//! What an operation reports while it runs. The CLI prints these as lines; the
//! wizard draws them as a checklist. Events carry their data, so the listener
//! never has to ask.

use crate::domain::Remedy;
use crate::entra::client::SignInPrompt;
pub use crate::entra::{NewObject, RetryBudget, RetryReason};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum StepStatus {
    Running,
    Retrying {
        why: RetryReason,
        delay_ms: u64,
        /// How much of what the request may spend on retries is spent.
        budget: RetryBudget,
    },
    /// Completed in an earlier, interrupted run of the same operation.
    AlreadyDone,
    Done {
        detail: String,
    },
    /// `kind` names the error (see [`EngineError::kind`]), `message` says
    /// what was wrong; each front end words the remedies.
    ///
    /// [`EngineError::kind`]: super::EngineError::kind
    Failed {
        kind: &'static str,
        message: String,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        remedies: Vec<Remedy>,
    },
    /// Planned, and not run: why.
    Skipped(Skip),
}

impl StepStatus {
    /// For a retry: why, when, and how much of its allowance is spent
    /// ("…; retrying in 1.0 s (0:15 of 5:00)"); empty otherwise.
    pub fn retry_line(&self) -> String {
        match self {
            StepStatus::Retrying {
                why,
                delay_ms,
                budget,
            } => format!(
                "{why}; retrying in {:.1} s ({budget})",
                Duration::from_millis(*delay_ms).as_secs_f64()
            ),
            _ => String::new(),
        }
    }
}

/// Why a planned step did not run. Every step of a confirmed plan runs, or
/// says which of these kept it from running.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum Skip {
    /// What the step is for is so already: `because` says what showed it.
    NotNeeded { because: String },
    /// The operation was told not to wait for it (`--no-wait`).
    NotWaitedFor,
}

impl std::fmt::Display for Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Skip::NotNeeded { because } => write!(f, "not needed: {because}"),
            Skip::NotWaitedFor => f.write_str("not waited for, as asked"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Progress {
    Step {
        operation: String,
        step: &'static str,
        title: &'static str,
        #[serde(flatten)]
        status: StepStatus,
    },
    /// Another change holds this server's state lock; this one waits for it.
    WaitingForChange {
        holder: crate::host::lock::LockHolder,
    },
    /// The administrator must enter `user_code` at `verification_uri`.
    SignInCode {
        verification_uri: String,
        user_code: String,
        expires_in_seconds: u64,
    },
    /// The administrator must open `url` in a browser and sign in; where the
    /// browser runs on another machine, paste back the address it ends on.
    SignInBrowser { url: String },
}

impl From<SignInPrompt<'_>> for Progress {
    fn from(prompt: SignInPrompt<'_>) -> Progress {
        match prompt {
            SignInPrompt::DeviceCode(code) => Progress::SignInCode {
                verification_uri: code.verification_uri.clone(),
                user_code: code.user_code.clone(),
                expires_in_seconds: code.expires_in,
            },
            SignInPrompt::Browser { url } => Progress::SignInBrowser {
                url: url.to_string(),
            },
        }
    }
}

pub type ProgressSender = mpsc::UnboundedSender<Progress>;

impl Progress {
    /// One line for a terminal.
    pub fn line(&self) -> String {
        match self {
            Progress::Step { title, status, .. } => match status {
                StepStatus::Running => format!("[ .. ] {title}"),
                StepStatus::Retrying { .. } => format!("[ .. ] {title}: {}", status.retry_line()),
                StepStatus::AlreadyDone => format!("[ ok ] {title} (done in an earlier run)"),
                StepStatus::Done { detail } if detail.is_empty() => format!("[ ok ] {title}"),
                StepStatus::Done { detail } => format!("[ ok ] {title}: {detail}"),
                StepStatus::Failed { message, .. } => format!("[FAIL] {title}: {message}"),
                StepStatus::Skipped(skip) => format!("[skip] {title}: {skip}"),
            },
            Progress::WaitingForChange { holder } => {
                format!("waiting for the change already running: {holder}")
            }
            Progress::SignInCode {
                verification_uri,
                user_code,
                expires_in_seconds,
            } => format!(
                "To sign in, open {verification_uri} in a browser on any device and enter the code {user_code} (valid {} minutes).",
                expires_in_seconds / 60
            ),
            Progress::SignInBrowser { url } => format!(
                "To sign in, open this address in a browser: {url}\nA browser on this machine finishes by itself. One on another machine ends on an address starting http://localhost that does not load there: paste that address here and press Enter."
            ),
        }
    }
}
