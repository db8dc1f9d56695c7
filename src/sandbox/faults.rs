//! Injected latency and faults. The fault draw comes from one seeded RNG, so a
//! run with the same `--fault-seed` and the same request order fails the same way.
//! The sandbox's own control endpoints (device approval) are never faulted.

use super::AppState;
use super::errors::{GraphError, OAuthError};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngExt;

/// Seconds a faulted client is told to wait.
const RETRY_AFTER_SECONDS: u32 = 1;

pub async fn latency_and_faults(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    state
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = request.uri().path();
    let control = path.starts_with("/sandbox/") || path.starts_with("/devicelogin");
    let graph = path.starts_with("/v1.0/");
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    if control || state.config.fault_rate <= 0.0 {
        return next.run(request).await;
    }
    let fault = {
        let mut rng = state
            .faults
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if rng.random_bool(state.config.fault_rate.min(1.0)) {
            Some(if rng.random_bool(0.5) {
                StatusCode::TOO_MANY_REQUESTS
            } else {
                StatusCode::SERVICE_UNAVAILABLE
            })
        } else {
            None
        }
    };
    match fault {
        None => next.run(request).await,
        Some(status) => fault_response(status, graph),
    }
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
