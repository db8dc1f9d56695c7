//! The `oauth2` crate's HTTP seam ([`AsyncHttpClient`]) over our one
//! [`HttpClient`]: every request the grants make goes through
//! [`HttpClient::send`], so throttling, server errors, connection failures
//! and "not replicated yet" answers are retried (and announced) in one place,
//! with the sandbox CA and without redirects. `oauth2` builds the request
//! once; a parameter that must differ on every attempt (the client assertion:
//! a `jti` is never sent twice) is renewed here for each retry.
//!
//! The adapter also keeps what `oauth2` drops: the status and URL of the last
//! answer and its full Microsoft error (with `error_codes`), so
//! [`OAuthHttp::entra_error`], the one place `oauth2`'s errors become ours,
//! reports them.

use super::http::{HttpClient, Reply, RetryReason};
use super::oauth_error::MicrosoftTokenError;
use super::{EntraError, Secret};
use oauth2::{AsyncHttpClient, ErrorResponse, HttpRequest, HttpResponse, RequestTokenError};
use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use tokio::sync::Notify;

/// What came back last: kept for the error mapping.
#[derive(Debug, Clone)]
struct Answer {
    url: String,
    status: u16,
    /// The body's OAuth error, read in full.
    error: Option<MicrosoftTokenError>,
}

/// How a form parameter is renewed on each retry.
pub(crate) trait Renew {
    /// The form body for a retry of `body`.
    fn renew(&self, body: &[u8]) -> Result<Vec<u8>, EntraError>;
}

/// Every attempt sends the same body.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SameBody;

impl Renew for SameBody {
    fn renew(&self, body: &[u8]) -> Result<Vec<u8>, EntraError> {
        Ok(body.to_vec())
    }
}

/// Each retry replaces the form parameter `name` with what `value` makes.
pub(crate) struct Fresh<F> {
    name: &'static str,
    value: F,
}

impl<F: Fn() -> Result<Secret, EntraError>> Renew for Fresh<F> {
    fn renew(&self, body: &[u8]) -> Result<Vec<u8>, EntraError> {
        let fresh = (self.value)()?;
        let mut form = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in url::form_urlencoded::parse(body) {
            if name == self.name {
                form.append_pair(&name, fresh.expose());
            } else {
                form.append_pair(&name, &value);
            }
        }
        Ok(form.finish().into_bytes())
    }
}

/// `oauth2`'s HTTP client for one grant request (or one device-code poll).
pub(crate) struct OAuthHttp<'a, R = SameBody> {
    http: &'a HttpClient,
    renew: R,
    not_replicated: fn(&MicrosoftTokenError) -> Option<RetryReason>,
    last: Mutex<Option<Answer>>,
    /// Set by [`stop_on_failure`](Self::stop_on_failure): a request that our
    /// client gave up on is held here instead of being handed to `oauth2`
    /// (whose device poll would keep polling through it).
    hold_failures: bool,
    failure: Mutex<Option<EntraError>>,
    failed: Notify,
}

impl<'a> OAuthHttp<'a, SameBody> {
    pub(crate) fn new(http: &'a HttpClient) -> Self {
        OAuthHttp {
            http,
            renew: SameBody,
            not_replicated: |_| None,
            last: Mutex::new(None),
            hold_failures: false,
            failure: Mutex::new(None),
            failed: Notify::new(),
        }
    }

    /// Retries renew the form parameter `name` with `value()` (the first
    /// attempt sends what `oauth2` built).
    pub(crate) fn fresh<F>(self, name: &'static str, value: F) -> OAuthHttp<'a, Fresh<F>>
    where
        F: Fn() -> Result<Secret, EntraError>,
    {
        OAuthHttp {
            http: self.http,
            renew: Fresh { name, value },
            not_replicated: self.not_replicated,
            last: self.last,
            hold_failures: self.hold_failures,
            failure: self.failure,
            failed: self.failed,
        }
    }
}

impl<R: Renew> OAuthHttp<'_, R> {
    /// Error answers that mean "exists, but not visible yet": our client
    /// retries them within its replication budget, with progress notices.
    pub(crate) fn not_replicated(
        mut self,
        why: fn(&MicrosoftTokenError) -> Option<RetryReason>,
    ) -> Self {
        self.not_replicated = why;
        self
    }

    /// A request our client gave up on ends the whole exchange: see
    /// [`failure`](Self::failure).
    pub(crate) fn stop_on_failure(mut self) -> Self {
        self.hold_failures = true;
        self
    }

    /// Resolves with the first request failure, when built with
    /// [`stop_on_failure`](Self::stop_on_failure) (never otherwise). Race it
    /// against the `oauth2` future, which then waits forever.
    pub(crate) async fn failure(&self) -> EntraError {
        loop {
            self.failed.notified().await;
            if let Some(error) = lock(&self.failure).take() {
                return error;
            }
        }
    }

    /// One `oauth2` request through our client.
    async fn exchange(&self, request: HttpRequest) -> Result<HttpResponse, EntraError> {
        let result = self.send(request).await;
        match result {
            Err(error) if self.hold_failures => {
                *lock(&self.failure) = Some(error);
                self.failed.notify_one();
                std::future::pending().await
            }
            other => other,
        }
    }

    async fn send(&self, request: HttpRequest) -> Result<HttpResponse, EntraError> {
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let attempts = AtomicU32::new(0);
        let make = |client: &reqwest::Client| {
            let body = match attempts.fetch_add(1, Ordering::Relaxed) {
                0 => body.clone(),
                _ => self.renew.renew(&body)?,
            };
            Ok(client
                .request(parts.method.clone(), url.as_str())
                .headers(parts.headers.clone())
                .body(body))
        };
        let not_replicated = |reply: &Reply| {
            if reply.status.is_success() {
                return None;
            }
            (self.not_replicated)(&MicrosoftTokenError::parse(&reply.body)?)
        };
        let reply = self.http.send(make, not_replicated).await?;
        // An OAuth error is an error whatever status it comes with: some
        // servers send `authorization_pending` with 200, which `oauth2` would
        // otherwise read as a token answer that lacks its token.
        let error = MicrosoftTokenError::parse(&reply.body);
        let status = match (&error, reply.status.is_success()) {
            (Some(_), true) => reqwest::StatusCode::BAD_REQUEST,
            _ => reply.status,
        };
        *lock(&self.last) = Some(Answer {
            url: reply.url.clone(),
            status: reply.status.as_u16(),
            error,
        });
        let mut response = HttpResponse::new(reply.body);
        *response.status_mut() = status;
        Ok(response)
    }

    /// `oauth2`'s error as ours: the one place its variants are mapped.
    ///
    /// - a server error answer becomes [`EntraError::Token`] with the status it
    ///   came with and its AADSTS number, read from the body as the server sent
    ///   it (so `error_codes` survive even where `oauth2` parses into its own
    ///   type, as the device poll does);
    /// - a request our client gave up on stays what it was ([`EntraError::Transport`], ...);
    /// - anything unreadable becomes [`EntraError::Parse`].
    pub(crate) fn entra_error<TE>(&self, error: RequestTokenError<EntraError, TE>) -> EntraError
    where
        TE: ErrorResponse + 'static,
    {
        let last = lock(&self.last).take();
        let (url, status) = last
            .as_ref()
            .map(|answer| (answer.url.clone(), answer.status))
            .unwrap_or_default();
        match error {
            RequestTokenError::Request(error) => error,
            RequestTokenError::ServerResponse(response) => {
                let as_sent = serde_json::to_value(&response)
                    .ok()
                    .and_then(|value| serde_json::from_value::<MicrosoftTokenError>(value).ok());
                match (as_sent, last.and_then(|answer| answer.error)) {
                    // The same error as the last answer's body: take the body's.
                    (Some(parsed), Some(read)) if parsed.error == read.error => {
                        read.into_entra(status)
                    }
                    // Not from an answer (the device code ran out locally).
                    (Some(parsed), _) => parsed.into_entra(status),
                    (None, _) => EntraError::Parse {
                        url,
                        why: format!("unreadable OAuth error: {response}"),
                    },
                }
            }
            RequestTokenError::Parse(why, _) if status == 200 => EntraError::Parse {
                url,
                why: format!("HTTP {status}: {why}"),
            },
            RequestTokenError::Parse(..) => EntraError::Parse {
                url,
                why: format!("HTTP {status} without an OAuth error"),
            },
            // Nothing was sent: oauth2 could not build the request.
            RequestTokenError::Other(why) if last.is_none() => {
                EntraError::Config(format!("cannot build the OAuth request: {why}"))
            }
            RequestTokenError::Other(why) => EntraError::Parse {
                url,
                why: format!("HTTP {status}: {why}"),
            },
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Call<'c> = Pin<Box<dyn Future<Output = Result<HttpResponse, EntraError>> + Send + 'c>>;
type LocalCall<'c> = Pin<Box<dyn Future<Output = Result<HttpResponse, EntraError>> + 'c>>;

/// The plain adapter: its requests can move between threads (the wizard runs
/// the sign-in on a spawned task).
impl<'c> AsyncHttpClient<'c> for OAuthHttp<'_, SameBody> {
    type Error = EntraError;
    type Future = Call<'c>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.exchange(request))
    }
}

/// With a renewed parameter: as thread-bound as what renews it (the key store
/// that signs assertions need not be `Sync`).
impl<'c, F> AsyncHttpClient<'c> for OAuthHttp<'_, Fresh<F>>
where
    F: Fn() -> Result<Secret, EntraError> + 'c,
{
    type Error = EntraError;
    type Future = LocalCall<'c>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(self.exchange(request))
    }
}
