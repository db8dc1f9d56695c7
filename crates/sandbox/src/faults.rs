//! Injected latency and faults. Every random draw comes from one seeded RNG, so
//! a run with the same `--fault-seed` and the same request order fails the same
//! way. The sandbox's own control endpoints (device approval) are never faulted.
//!
//! A test can also stall the tenant (`SandboxConfig::stall`): requests get no
//! answer while it is set.
//!
//! Two kinds of fault:
//! - before the handler (`--fault-rate`): the request is answered with 429 or
//!   503 and `Retry-After`, and nothing happens;
//! - after a Graph write (`--post-write-fault-rate`): the handler has run and
//!   its change is committed, but the client gets 500, 503 or 504 with a Graph
//!   error body, or the connection is closed without a response. Writes that
//!   failed, and reads, are never post-faulted.
//!
//! Dropping a connection needs the connection: [`ConnectionAcceptor`] wraps
//! every accepted TCP stream (under TLS, when there is TLS) in a
//! [`TrackedStream`] registered by the client's address, which the middleware
//! finds through `ConnectInfo` and cuts off before the response is written.
//!
//! Follows Microsoft Learn (learn.microsoft.com/…):
//! - graph/throttling (429/503 with Retry-After)

use super::errors::{GraphError, OAuthError};
use super::{AppState, Shared};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngExt;
use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Seconds a faulted client is told to wait.
const RETRY_AFTER_SECONDS: u32 = 1;

/// What a committed write is answered with, when it is post-faulted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PostWriteFault {
    Status(StatusCode),
    DropConnection,
}

/// The post-write forms, drawn with equal weight.
const POST_WRITE_FORMS: [PostWriteFault; 4] = [
    PostWriteFault::Status(StatusCode::INTERNAL_SERVER_ERROR),
    PostWriteFault::Status(StatusCode::SERVICE_UNAVAILABLE),
    PostWriteFault::Status(StatusCode::GATEWAY_TIMEOUT),
    PostWriteFault::DropConnection,
];

pub(crate) async fn latency_and_faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let _answering = Answering::new(&state);
    let path = request.uri().path();
    let control = path.starts_with("/sandbox/") || path.starts_with("/devicelogin");
    let graph = path.starts_with("/v1.0/");
    let write = graph
        && matches!(
            *request.method(),
            Method::POST | Method::PATCH | Method::PUT | Method::DELETE
        );
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    if control {
        return next.run(request).await;
    }
    if state.config.stall.load(Ordering::SeqCst) {
        // Never answered; the request ends when the client gives up or the
        // sandbox stops.
        return std::future::pending().await;
    }
    if let Some(status) = pre_handler_fault(&state) {
        return fault_response(status, graph);
    }
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    let response = next.run(request).await;
    if !write || !response.status().is_success() {
        return response;
    }
    state.writes.fetch_add(1, Ordering::Relaxed);
    let fault = post_write_fault(&state);
    if fault.is_some() {
        state.post_write_faults.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        None => response,
        Some(PostWriteFault::Status(status)) => post_write_response(status),
        Some(PostWriteFault::DropConnection) => {
            if peer.is_some_and(|peer| state.connections.cut(peer)) {
                // Never delivered: the stream refuses to write it.
                StatusCode::BAD_GATEWAY.into_response()
            } else {
                tracing::warn!("no connection to drop for a post-write fault; answering 504");
                post_write_response(StatusCode::GATEWAY_TIMEOUT)
            }
        }
    }
}

/// One request being answered, for the count of rounds: the first of a
/// round finds none in flight. Dropped when the answer is ready (or the
/// request is abandoned).
struct Answering<'a>(&'a Shared);

impl<'a> Answering<'a> {
    fn new(shared: &'a Shared) -> Self {
        if shared.in_flight.fetch_add(1, Ordering::SeqCst) == 0 {
            shared.rounds.fetch_add(1, Ordering::SeqCst);
        }
        Answering(shared)
    }
}

impl Drop for Answering<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

fn rng(shared: &Shared) -> MutexGuard<'_, rand_chacha::ChaCha8Rng> {
    shared
        .faults
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A reproducible choice among `count` possibilities (`0..count`), from the
/// fault RNG, for handlers that answer one of several real forms.
pub(crate) fn pick(shared: &Shared, count: usize) -> usize {
    if count <= 1 {
        return 0;
    }
    rng(shared).random_range(0..count)
}

/// With probability `rate`, the fault `pick` chooses, both drawn from the one
/// seeded RNG (so a seed reproduces a run).
fn draw<T>(
    shared: &Shared,
    rate: f64,
    pick: impl FnOnce(&mut rand_chacha::ChaCha8Rng) -> T,
) -> Option<T> {
    if rate <= 0.0 {
        return None;
    }
    let mut rng = rng(shared);
    rng.random_bool(rate.min(1.0)).then(|| pick(&mut rng))
}

fn pre_handler_fault(shared: &Shared) -> Option<StatusCode> {
    draw(shared, shared.config.fault_rate, |rng| {
        if rng.random_bool(0.5) {
            StatusCode::TOO_MANY_REQUESTS
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    })
}

fn post_write_fault(shared: &Shared) -> Option<PostWriteFault> {
    draw(shared, shared.config.post_write_fault_rate, |rng| {
        POST_WRITE_FORMS[rng.random_range(0..POST_WRITE_FORMS.len())]
    })
}

fn fault_response(status: StatusCode, graph: bool) -> Response {
    let mut response = if graph {
        let code = if status == StatusCode::TOO_MANY_REQUESTS {
            "TooManyRequests"
        } else {
            "ServiceUnavailable"
        };
        GraphError::new(
            status,
            code,
            "The sandbox injected this fault (--fault-rate).",
        )
        .into_response()
    } else {
        let (error, code) = if status == StatusCode::TOO_MANY_REQUESTS {
            ("temporarily_unavailable", 50196)
        } else {
            ("temporarily_unavailable", 90033)
        };
        OAuthError::new(
            status,
            error,
            code,
            "The server is temporarily unavailable (fault injected by the sandbox). Retry later.",
        )
        .into_response()
    };
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    response
}

/// A Graph server error for a write that was in fact committed.
fn post_write_response(status: StatusCode) -> Response {
    let code = match status {
        StatusCode::SERVICE_UNAVAILABLE => "serviceNotAvailable",
        StatusCode::GATEWAY_TIMEOUT => "UnknownError",
        _ => "Service_InternalServerError",
    };
    let mut response = GraphError::new(
        status,
        code,
        "The sandbox injected this fault (--post-write-fault-rate).",
    )
    .into_response();
    if status == StatusCode::SERVICE_UNAVAILABLE {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(RETRY_AFTER_SECONDS));
    }
    response
}

/// The open connections by client address, each with its cut-off switch.
#[derive(Clone, Default)]
pub(crate) struct Connections(Arc<Mutex<HashMap<SocketAddr, Arc<AtomicBool>>>>);

impl Connections {
    fn lock(&self) -> MutexGuard<'_, HashMap<SocketAddr, Arc<AtomicBool>>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn register(&self, peer: SocketAddr) -> Arc<AtomicBool> {
        let switch = Arc::new(AtomicBool::new(false));
        self.lock().insert(peer, switch.clone());
        switch
    }

    /// Cuts the connection from `peer`: it neither reads nor writes again.
    fn cut(&self, peer: SocketAddr) -> bool {
        match self.lock().get(&peer) {
            Some(switch) => {
                switch.store(true, Ordering::SeqCst);
                true
            }
            None => false,
        }
    }

    fn forget(&self, peer: SocketAddr, switch: &Arc<AtomicBool>) {
        let mut open = self.lock();
        if open.get(&peer).is_some_and(|s| Arc::ptr_eq(s, switch)) {
            open.remove(&peer);
        }
    }
}

/// Registers every accepted connection in [`Connections`].
#[derive(Clone)]
pub(crate) struct ConnectionAcceptor {
    connections: Connections,
}

impl ConnectionAcceptor {
    pub(crate) fn new(connections: &Connections) -> Self {
        ConnectionAcceptor {
            connections: connections.clone(),
        }
    }
}

impl<S> axum_server::accept::Accept<TcpStream, S> for ConnectionAcceptor {
    type Stream = TrackedStream;
    type Service = S;
    type Future = std::future::Ready<io::Result<(TrackedStream, S)>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        std::future::ready(stream.peer_addr().map(|peer| {
            let cut = self.connections.register(peer);
            let tracked = TrackedStream {
                inner: stream,
                peer,
                cut,
                connections: self.connections.clone(),
            };
            (tracked, service)
        }))
    }
}

/// A TCP stream that fails every read and write once it is cut, so the
/// server closes it without sending what it was about to.
pub(crate) struct TrackedStream {
    inner: TcpStream,
    peer: SocketAddr,
    cut: Arc<AtomicBool>,
    connections: Connections,
}

impl TrackedStream {
    fn check(&self) -> io::Result<()> {
        if self.cut.load(Ordering::SeqCst) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "connection dropped by an injected post-write fault",
            ))
        } else {
            Ok(())
        }
    }
}

impl Drop for TrackedStream {
    fn drop(&mut self) {
        self.connections.forget(self.peer, &self.cut);
    }
}

impl AsyncRead for TrackedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(error) = this.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TrackedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(error) = this.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Err(error) = this.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if let Err(error) = this.check() {
            return Poll::Ready(Err(error));
        }
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.cut.load(Ordering::SeqCst) {
            // Nothing more goes out; dropping the stream closes the socket.
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.inner).poll_shutdown(cx)
    }
}
