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
use super::proxy::{ProxySettings, Route};
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

/// A retry about to happen: why, when, and how far into what it may spend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryNotice {
    pub attempt: u32,
    pub reason: RetryReason,
    pub delay: Duration,
    pub budget: RetryBudget,
}

/// How much of its allowance a retried request has spent, so a person
/// waiting knows how long it may still take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "limit", rename_all = "kebab-case")]
pub enum RetryBudget {
    /// The retry is attempt `next` of at most `of`.
    Attempts { next: u32, of: u32 },
    /// `waited_ms` waited so far, of at most `budget_ms`.
    Time { waited_ms: u64, budget_ms: u64 },
}

impl RetryBudget {
    /// The time waited since `started`, of `budget`.
    pub fn since(started: Instant, budget: Duration) -> RetryBudget {
        RetryBudget::Time {
            waited_ms: millis(started.elapsed()),
            budget_ms: millis(budget),
        }
    }
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// "attempt 2 of 6", or "0:15 of 5:00" (minutes and seconds).
impl std::fmt::Display for RetryBudget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let clock = |ms: u64| format!("{}:{:02}", ms / 60_000, ms / 1000 % 60);
        match self {
            RetryBudget::Attempts { next, of } => write!(f, "attempt {next} of {of}"),
            RetryBudget::Time {
                waited_ms,
                budget_ms,
            } => write!(f, "{} of {}", clock(*waited_ms), clock(*budget_ms)),
        }
    }
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
    /// The environment's proxies, which the client goes through.
    proxies: Arc<ProxySettings>,
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
        let proxies = ProxySettings::from_env()?;
        builder = proxies.apply(builder)?;
        let client = builder
            .build()
            .map_err(|e| EntraError::Config(format!("cannot set up HTTPS: {e}")))?;
        Ok(HttpClient {
            client,
            policy,
            observer,
            proxies: Arc::new(proxies),
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
            let by_attempts = RetryBudget::Attempts {
                next: attempt + 1,
                of: self.policy.max_attempts,
            };
            let (reason, delay, budget) = match make(&self.client)?.send().await {
                Err(error) => {
                    let route = match error.url() {
                        Some(url) => self.proxies.route(url),
                        None => Route::Direct,
                    };
                    let url = error.url().map(|u| u.to_string()).unwrap_or_default();
                    let why = describe_transport(&error, &route);
                    if let Route::Through(proxy) = route
                        && refused_by_proxy(&error)
                    {
                        return Err(EntraError::ProxyRefused { proxy, url, why });
                    }
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
                    (RetryReason::ConnectionFailed { why }, backoff, by_attempts)
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
                        (reason, delay, by_attempts)
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
                        (reason, backoff, by_attempts)
                    } else if let Some(why) = not_replicated(&reply) {
                        let delay = self.policy.replication_interval;
                        if started.elapsed() + delay > self.policy.replication_budget {
                            return Ok(reply);
                        }
                        let budget = RetryBudget::since(started, self.policy.replication_budget);
                        (why, delay, budget)
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
                budget,
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
            budget: RetryBudget::since(started, self.policy.replication_budget),
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
            // The answer began: the tunnel, if any, is not the problem.
            why: describe_transport(&e, &Route::Direct),
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
/// What went wrong with a request that got no answer, in a few words: the
/// host and the innermost cause (e.g. "cannot connect to
/// login.microsoftonline.com: Connection refused (os error 111)"), not
/// reqwest's and hyper's whole chain of wrappers.
fn describe_transport(error: &reqwest::Error, route: &Route) -> String {
    let host = error
        .url()
        .and_then(|url| url.host_str())
        .unwrap_or("the server");
    let host = match route {
        Route::Direct => host.to_string(),
        Route::Through(proxy) => format!("{host} through the proxy {proxy}"),
    };
    let innermost = innermost_cause(error);
    let cause = match std::ptr::addr_eq(innermost, error as &dyn std::error::Error) {
        true => "no further detail".to_string(),
        false => innermost.to_string(),
    };
    if error.is_timeout() {
        format!("no answer from {host} in time ({cause})")
    } else if error.is_connect() {
        format!("cannot connect to {host}: {cause}")
    } else {
        format!("{host}: {cause}")
    }
}

/// The last error of `error`'s chain of causes (`error` itself when it has none).
fn innermost_cause(error: &reqwest::Error) -> &(dyn std::error::Error + 'static) {
    let mut innermost: &(dyn std::error::Error + 'static) = error;
    while let Some(cause) = innermost.source() {
        innermost = cause;
    }
    innermost
}

/// Whether a proxy answered and refused the tunnel (bad credentials, a
/// destination it does not allow): a connect error whose innermost cause is
/// the proxy's own answer, not an I/O error (a proxy that cannot be reached
/// fails with one, and may come back).
fn refused_by_proxy(error: &reqwest::Error) -> bool {
    error.is_connect()
        && innermost_cause(error)
            .downcast_ref::<std::io::Error>()
            .is_none()
        && !is_tls_refusal(error)
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

#[cfg(test)]
mod tests {
    use super::{RetryBudget, Route, describe_transport};

    #[test]
    fn a_retry_budget_reads_as_attempts_or_minutes_and_seconds() {
        let attempts = RetryBudget::Attempts { next: 2, of: 6 };
        assert_eq!(attempts.to_string(), "attempt 2 of 6");
        let time = RetryBudget::Time {
            waited_ms: 75_900,
            budget_ms: 300_000,
        };
        assert_eq!(time.to_string(), "1:15 of 5:00");
    }

    /// A refused connection is said in a few words (host and cause), not
    /// as reqwest's and hyper's chain of wrappers.
    #[tokio::test]
    async fn a_refused_connection_names_the_host_and_the_cause() {
        let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = closed.local_addr().expect("its address").port();
        drop(closed);
        let error = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}/"))
            .send()
            .await
            .expect_err("nothing listens there");
        let said = describe_transport(&error, &Route::Direct);
        assert!(said.starts_with("cannot connect to 127.0.0.1: "), "{said}");
        assert!(said.to_lowercase().contains("refused"), "{said}");
        for wrapper in ["error sending request", "client error", "tcp connect error"] {
            assert!(!said.contains(wrapper), "{said}");
        }
    }
}
