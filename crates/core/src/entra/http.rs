//! Every request to Entra goes through [`HttpClient::send`] (requests that
//! may be repeated) or [`HttpClient::send_write`] (writes that must not be),
//! so there is one retry policy: 429 and 503 wait as long as Retry-After says
//! (within the overall budget), other 5xx and connection failures back off
//! exponentially with jitter, and the caller-named "not replicated yet"
//! answers are polled at a short fixed interval within the replication
//! budget. A write that may have taken effect (a 5xx, a timeout, a dropped
//! connection: Graph can commit and then fail to answer) is never repeated
//! here: it comes back as [`EntraError::Ambiguous`] for the caller to look
//! the object up first. Each retry is announced to the observer, which the
//! engine turns into progress.

use super::EntraError;
use reqwest::StatusCode;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Attempts for throttling, server errors and connection failures.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// How long to keep retrying answers that mean "not replicated yet", and
    /// the most a run waits on Retry-After.
    pub replication_budget: Duration,
    /// How often a "not replicated yet" answer is asked again: short, so a new
    /// object is noticed within a second or two of appearing.
    pub replication_interval: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            replication_budget: Duration::from_secs(300),
            replication_interval: Duration::from_secs(1),
        }
    }
}

/// A retry about to happen: why, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    pub attempt: u32,
    pub reason: RetryReason,
    pub delay: Duration,
}

/// Why a request is asked again.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum RetryReason {
    /// No answer came: the connection failed.
    ConnectionFailed { why: String },
    /// HTTP 429, or 503 to a request safe to repeat (Retry-After honoured).
    Throttled { http_status: u16 },
    /// Another 5xx answer.
    ServerError { http_status: u16 },
    /// Something just made is not visible yet where it is asked for.
    NotVisibleYet { what: NewObject },
    /// The application's token does not carry a role just granted.
    RoleNotInTokenYet { role: String },
    /// Graph says what a write makes exists already; waiting to see it.
    ExistsNotVisible,
    /// A write got no clear answer; looking for what it made.
    AnswerLost,
    /// A new account signs in only once the directory knows it and its
    /// password (up to 15 minutes).
    NewAccount,
}

/// What Entra has not replicated yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NewObject {
    /// A new directory object, to Graph.
    DirectoryObject,
    /// These three, to sign-in.
    Application,
    Certificate,
    ServicePrincipal,
}

impl std::fmt::Display for RetryReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RetryReason::ConnectionFailed { why } => write!(f, "connection failed ({why})"),
            RetryReason::Throttled { http_status } => write!(f, "throttled (HTTP {http_status})"),
            RetryReason::ServerError { http_status } => {
                write!(f, "server error (HTTP {http_status})")
            }
            RetryReason::NotVisibleYet { what } => f.write_str(match what {
                NewObject::DirectoryObject => {
                    "a new directory object is not visible yet (replication)"
                }
                NewObject::Application => {
                    "the application is not visible to sign-in yet (replication)"
                }
                NewObject::Certificate => {
                    "the certificate is not visible to sign-in yet (replication)"
                }
                NewObject::ServicePrincipal => {
                    "the application's service principal is not visible to sign-in yet (replication)"
                }
            }),
            RetryReason::RoleNotInTokenYet { role } => {
                write!(f, "the token does not carry {role} yet (replication)")
            }
            RetryReason::ExistsNotVisible => f.write_str(
                "Graph says it exists already; waiting for it to be visible (replication)",
            ),
            RetryReason::AnswerLost => {
                f.write_str("the last write got no clear answer; looking for what it made")
            }
            RetryReason::NewAccount => {
                f.write_str("a new account can take up to 15 minutes to sign in")
            }
        }
    }
}

pub(crate) type RetryObserver = Arc<dyn Fn(RetryNotice) + Send + Sync>;

/// An answer, read whole (bodies here are small JSON documents).
pub struct Reply {
    pub url: String,
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    /// The server's clock (`Date`), for clock skew checks.
    pub date: Option<std::time::SystemTime>,
    pub body: Vec<u8>,
}

/// Without the body: a token answer's body holds the token.
impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reply")
            .field("url", &self.url)
            .field("status", &self.status)
            .field("retry_after", &self.retry_after)
            .field("date", &self.date)
            .field("body", &format_args!("<{} bytes>", self.body.len()))
            .finish()
    }
}

impl Reply {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, EntraError> {
        serde_json::from_slice(&self.body).map_err(|e| EntraError::Parse {
            url: self.url.clone(),
            why: format!("HTTP {}: {e}", self.status.as_u16()),
        })
    }
}

/// Whether a request may be sent again after an answer that leaves open
/// whether it was carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Repeat {
    Safe,
    NotAfterAmbiguity,
}

#[derive(Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    policy: RetryPolicy,
    observer: RetryObserver,
}

impl HttpClient {
    /// `extra_root`: a PEM CA certificate to trust besides the system's (`--ca-cert`).
    pub fn new(
        extra_root: Option<&Path>,
        policy: RetryPolicy,
        observer: RetryObserver,
    ) -> Result<Self, EntraError> {
        let mut builder = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("entra-connect/", env!("CARGO_PKG_VERSION")));
        let extra = match extra_root {
            Some(path) => super::extra_roots(path).map_err(|e| EntraError::RootCertificate {
                path: path.to_path_buf(),
                why: e.to_string(),
            })?,
            None => Vec::new(),
        };
        // The roots are read on the first handshake, not here.
        let tls = super::tls::client_config(extra)
            .map_err(|e| EntraError::Config(format!("cannot set up HTTPS: {e}")))?;
        builder = builder.tls_backend_preconfigured(tls);
        let client = builder
            .build()
            .map_err(|e| EntraError::Config(format!("cannot set up HTTPS: {e}")))?;
        Ok(HttpClient {
            client,
            policy,
            observer,
        })
    }

    /// Sends the request `make` builds (anew for each attempt, so signed
    /// assertions are fresh) until it gets an answer that is not worth
    /// retrying. For requests that may be repeated: reads, token requests,
    /// updates. `not_replicated` names answers that mean "exists, but not
    /// visible yet"; those are retried within the replication budget, then
    /// returned as they are for the caller to report.
    pub async fn send(
        &self,
        make: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, EntraError>,
        not_replicated: impl Fn(&Reply) -> Option<RetryReason>,
    ) -> Result<Reply, EntraError> {
        self.send_with(Repeat::Safe, make, not_replicated).await
    }

    /// [`send`](Self::send) for a write that must not be repeated blindly (a
    /// create, by POST or by upsert): throttling (429) and "not replicated yet"
    /// answers are retried, since the write was not done; anything after
    /// which it may have been done is [`EntraError::Ambiguous`].
    pub async fn send_write(
        &self,
        make: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, EntraError>,
        not_replicated: impl Fn(&Reply) -> Option<RetryReason>,
    ) -> Result<Reply, EntraError> {
        self.send_with(Repeat::NotAfterAmbiguity, make, not_replicated)
            .await
    }

    async fn send_with(
        &self,
        repeat: Repeat,
        make: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, EntraError>,
        not_replicated: impl Fn(&Reply) -> Option<RetryReason>,
    ) -> Result<Reply, EntraError> {
        let started = Instant::now();
        let ambiguous = |url: String, why: String| match repeat {
            Repeat::Safe => None,
            Repeat::NotAfterAmbiguity => Some(EntraError::Ambiguous { url, why }),
        };
        let mut attempt = 0;
        loop {
            attempt += 1;
            let backoff = self.backoff(attempt);
            let (reason, delay) = match make(&self.client)?.send().await {
                Err(error) => {
                    let url = error.url().map(|u| u.to_string()).unwrap_or_default();
                    let why = describe_transport(&error);
                    // A request that reached the server may have been carried out.
                    if !error.is_connect()
                        && let Some(ambiguous) = ambiguous(url.clone(), why.clone())
                    {
                        return Err(ambiguous);
                    }
                    // An untrusted certificate will not become trusted by waiting.
                    if attempt >= self.policy.max_attempts || is_tls_refusal(&error) {
                        return Err(EntraError::Transport { url, why });
                    }
                    (RetryReason::ConnectionFailed { why }, backoff)
                }
                Ok(response) => {
                    let reply = match read(response).await {
                        Err(EntraError::Transport { url, why }) => {
                            return Err(ambiguous(url.clone(), why.clone())
                                .unwrap_or(EntraError::Transport { url, why }));
                        }
                        other => other?,
                    };
                    let status = reply.status;
                    if status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::SERVICE_UNAVAILABLE && repeat == Repeat::Safe
                    {
                        // Retry-After as the server gives it, within the overall budget.
                        let delay = reply.retry_after.unwrap_or(backoff);
                        let reason = RetryReason::Throttled {
                            http_status: status.as_u16(),
                        };
                        if attempt >= self.policy.max_attempts
                            || started.elapsed().saturating_add(delay)
                                > self.policy.replication_budget
                        {
                            return Ok(reply);
                        }
                        (reason, delay)
                    } else if status.is_server_error() {
                        let why = format!("HTTP {}", status.as_u16());
                        if let Some(ambiguous) = ambiguous(reply.url.clone(), why.clone()) {
                            return Err(ambiguous);
                        }
                        if attempt >= self.policy.max_attempts {
                            return Ok(reply);
                        }
                        let reason = RetryReason::ServerError {
                            http_status: status.as_u16(),
                        };
                        (reason, backoff)
                    } else if let Some(why) = not_replicated(&reply) {
                        let delay = self.policy.replication_interval;
                        if started.elapsed() + delay > self.policy.replication_budget {
                            return Ok(reply);
                        }
                        (why, delay)
                    } else {
                        return Ok(reply);
                    }
                }
            };
            tracing::warn!(attempt, %reason, delay_ms = delay.as_millis() as u64, "retrying");
            (self.observer)(RetryNotice {
                attempt,
                reason,
                delay,
            });
            tokio::time::sleep(delay).await;
        }
    }

    /// Waits one replication interval before looking again for something
    /// that should have appeared, announcing why; false (without waiting)
    /// once the replication budget since `started` is spent.
    pub async fn replication_pause(
        &self,
        started: Instant,
        attempt: u32,
        reason: RetryReason,
    ) -> bool {
        let delay = self.policy.replication_interval;
        if started.elapsed() + delay > self.policy.replication_budget {
            return false;
        }
        (self.observer)(RetryNotice {
            attempt,
            reason,
            delay,
        });
        tokio::time::sleep(delay).await;
        true
    }

    /// base * 2^(attempt-1), capped, with up to 25% random jitter so that many
    /// clients do not retry in step.
    fn backoff(&self, attempt: u32) -> Duration {
        let exponential = self
            .policy
            .base_delay
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let capped = exponential.min(self.policy.max_delay);
        let mut random = [0u8; 2];
        let jitter = match aws_lc_rs::rand::fill(&mut random) {
            Ok(()) => f64::from(u16::from_le_bytes(random)) / f64::from(u16::MAX) * 0.25,
            Err(_) => 0.0,
        };
        capped.mul_f64(1.0 + jitter)
    }
}

async fn read(response: reqwest::Response) -> Result<Reply, EntraError> {
    let url = response.url().to_string();
    let status = response.status();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_secs);
    let date = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| httpdate::parse_http_date(v).ok());
    let body = response
        .bytes()
        .await
        .map_err(|e| EntraError::Transport {
            url: url.clone(),
            why: describe_transport(&e),
        })?
        .to_vec();
    Ok(Reply {
        url,
        status,
        retry_after,
        date,
        body,
    })
}

/// reqwest's message with its causes (the root cause says what really failed).
fn describe_transport(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Whether TLS itself refused the connection (certificate not trusted, wrong
/// name, handshake failure): a rustls error somewhere in the cause chain,
/// possibly inside layers of `io::Error`.
fn is_tls_refusal(error: &reqwest::Error) -> bool {
    fn holds_rustls(error: &(dyn std::error::Error + 'static)) -> bool {
        if error.downcast_ref::<rustls::Error>().is_some() {
            return true;
        }
        let inner = error
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|inner| inner as &(dyn std::error::Error + 'static));
        inner.is_some_and(holds_rustls) || error.source().is_some_and(holds_rustls)
    }
    holds_rustls(error)
}
