//! Every request to Entra goes through [`HttpClient::send`], so there is one
//! retry policy: 429/503 honour Retry-After, other 5xx and connection failures
//! back off exponentially with jitter, and the caller-named "not replicated
//! yet" answers are retried within a time budget. Each retry is announced to
//! the observer, which the engine turns into progress.

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
    /// How long to keep retrying answers that mean "not replicated yet".
    pub replication_budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            replication_budget: Duration::from_secs(300),
        }
    }
}

/// A retry about to happen: why, and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    pub attempt: u32,
    pub reason: String,
    pub delay: Duration,
}

pub type RetryObserver = Arc<dyn Fn(RetryNotice) + Send + Sync>;

/// An answer, read whole (bodies here are small JSON documents).
#[derive(Debug)]
pub struct Reply {
    pub url: String,
    pub status: StatusCode,
    pub retry_after: Option<Duration>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json<T: serde::de::DeserializeOwned>(&self) -> Result<T, EntraError> {
        serde_json::from_slice(&self.body).map_err(|e| EntraError::Parse {
            url: self.url.clone(),
            why: format!("HTTP {}: {e}", self.status.as_u16()),
        })
    }
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
        if let Some(path) = extra_root {
            let pem = std::fs::read(path).map_err(|e| {
                EntraError::Config(format!("cannot read --ca-cert {}: {e}", path.display()))
            })?;
            let certificate = reqwest::Certificate::from_pem(&pem).map_err(|e| {
                EntraError::Config(format!(
                    "--ca-cert {} is not a PEM certificate: {e}",
                    path.display()
                ))
            })?;
            builder = builder.tls_certs_merge([certificate]);
        }
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
    /// assertions are fresh) until it gets an
    /// answer that is not worth retrying. `not_replicated` names answers that
    /// mean "exists, but not visible yet"; those are retried within the
    /// replication budget, then returned as they are for the caller to report.
    pub async fn send(
        &self,
        make: impl Fn(&reqwest::Client) -> Result<reqwest::RequestBuilder, EntraError>,
        not_replicated: impl Fn(&Reply) -> Option<String>,
    ) -> Result<Reply, EntraError> {
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let backoff = self.backoff(attempt);
            let (reason, delay) = match make(&self.client)?.send().await {
                Err(error) => {
                    let url = error.url().map(|u| u.to_string()).unwrap_or_default();
                    let why = describe_transport(&error);
                    // An untrusted certificate will not become trusted by waiting.
                    if attempt >= self.policy.max_attempts || is_tls_refusal(&error) {
                        return Err(EntraError::Transport { url, why });
                    }
                    (format!("connection failed ({why})"), backoff)
                }
                Ok(response) => {
                    let reply = read(response).await?;
                    let status = reply.status;
                    if status == StatusCode::TOO_MANY_REQUESTS
                        || status == StatusCode::SERVICE_UNAVAILABLE
                    {
                        let delay = reply
                            .retry_after
                            .unwrap_or(backoff)
                            .min(self.policy.max_delay);
                        let reason = format!("throttled (HTTP {})", status.as_u16());
                        if attempt >= self.policy.max_attempts {
                            return Ok(reply);
                        }
                        (reason, delay)
                    } else if status.is_server_error() {
                        if attempt >= self.policy.max_attempts {
                            return Ok(reply);
                        }
                        (format!("server error (HTTP {})", status.as_u16()), backoff)
                    } else if let Some(why) = not_replicated(&reply) {
                        let delay = backoff.min(Duration::from_secs(10));
                        if started.elapsed() + delay > self.policy.replication_budget {
                            return Ok(reply);
                        }
                        (why, delay)
                    } else {
                        return Ok(reply);
                    }
                }
            };
            tracing::info!(attempt, %reason, delay_ms = delay.as_millis() as u64, "retrying");
            (self.observer)(RetryNotice {
                attempt,
                reason,
                delay,
            });
            tokio::time::sleep(delay).await;
        }
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
