//! Browser sign-in: the authorization code flow with PKCE (RFC 7636, S256),
//! `state` and `nonce`, for tenants whose Conditional Access blocks the
//! device code flow. The redirect is `http://localhost:PORT`, a listener on
//! 127.0.0.1 that this sign-in opens and closes; where the browser runs on
//! another machine (an SSH console), that address fails to load there, but
//! the browser's address bar holds it: pasted back, it serves the same. The
//! first redirect to arrive either way is taken; the code is redeemed once.
//! Neither the code nor the verifier is ever logged.

use super::{AccessToken, EntraError, HttpClient, OAuthHttp, Url, access_token, scopes};
use crate::entra::OAuthErrorCode;
use crate::entra::discovery::TenantEndpoints;
use axum::Router;
use axum::http::Uri;
use axum::response::Html;
use oauth2::{AuthUrl, AuthorizationCode, CsrfToken, PkceCodeChallenge, RedirectUrl, TokenUrl};
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, mpsc};

/// How long the sign-in waits for the browser: as long as Entra's
/// authorization codes and sign-in pages last.
pub(crate) const WAIT: Duration = Duration::from_secs(600);

/// What the loopback page says once the browser got there.
const SIGNED_IN_PAGE: &str = "<!doctype html><html><head><title>entra-connect</title></head>\
<body><p>The sign-in reached entra-connect. You may close this window.</p></body></html>";

/// Redirect addresses the administrator pastes (the CLI's standard input,
/// the wizard's sign-in page): each line is tried as the redirect.
#[derive(Clone)]
pub struct PastedRedirects(Arc<Mutex<mpsc::UnboundedReceiver<String>>>);

/// Never what was pasted: it holds an authorization code.
impl std::fmt::Debug for PastedRedirects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PastedRedirects")
    }
}

/// A channel for pasted redirect addresses: the sender for the front end,
/// the receiver for the sign-in.
pub fn pasted_redirects() -> (mpsc::UnboundedSender<String>, PastedRedirects) {
    let (sender, receiver) = mpsc::unbounded_channel();
    (sender, PastedRedirects(Arc::new(Mutex::new(receiver))))
}

/// Signs `upn` in through a browser for `scope` (and `openid`, for the
/// nonce's ID token): `show` gets the address to open. Waits at most
/// [`WAIT`] for the redirect, from the loopback listener or `pasted`.
pub(crate) async fn sign_in(
    http: &HttpClient,
    endpoints: &TenantEndpoints,
    client_id: &str,
    scope: &[String],
    upn: &str,
    pasted: &PastedRedirects,
    show: impl FnOnce(&str),
) -> Result<AccessToken, EntraError> {
    let authorize = endpoints
        .authorize
        .as_ref()
        .ok_or(EntraError::NoAuthorizationEndpoint)?;
    let token = &endpoints.token;
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .map_err(|e| {
            EntraError::Config(format!("cannot listen on 127.0.0.1 for the browser: {e}"))
        })?;
    let port = listener
        .local_addr()
        .map_err(|e| EntraError::Config(format!("cannot listen on 127.0.0.1: {e}")))?
        .port();
    let redirect = format!("http://localhost:{port}");
    let client = super::oauth_client(client_id)
        .set_auth_uri(AuthUrl::from_url(authorize.clone()))
        .set_token_uri(TokenUrl::from_url(token.clone()))
        .set_redirect_uri(
            RedirectUrl::new(redirect).map_err(|e| EntraError::Config(e.to_string()))?,
        );
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let nonce = CsrfToken::new_random();
    let mut asked: Vec<String> = scope.to_vec();
    asked.push("openid".into());
    let (address, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scopes(scopes(&asked))
        .set_pkce_challenge(challenge)
        .add_extra_param("nonce", nonce.secret())
        .add_extra_param("login_hint", upn)
        .url();
    show(address.as_str());
    let arrived = tokio::time::timeout(WAIT, first_redirect(listener, pasted))
        .await
        .map_err(|_| EntraError::BrowserSignInTimedOut {
            minutes: WAIT.as_secs() / 60,
        })??;
    let code = authorization_code(&arrived, state.secret())?;
    let http = OAuthHttp::new(http);
    let answer = client
        .exchange_code(code)
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .map_err(|error| http.entra_error(error))?;
    check_nonce(&answer, nonce.secret(), token)?;
    access_token(&answer, token)
}

/// The first redirect to arrive: a request to the loopback listener, or a
/// pasted address. The listener is closed when this returns (after the
/// browser got its page).
async fn first_redirect(
    listener: tokio::net::TcpListener,
    pasted: &PastedRedirects,
) -> Result<Url, EntraError> {
    let (arrived, mut redirects) = mpsc::unbounded_channel::<String>();
    // Only the redirect itself counts (a browser also asks for its favicon).
    let app = Router::new().fallback(move |uri: Uri| {
        let arrived = arrived.clone();
        async move {
            let query = uri.query().unwrap_or_default();
            if uri.path() == "/" && !query.is_empty() {
                let _ = arrived.send(format!("http://localhost/?{query}"));
            }
            Html(SIGNED_IN_PAGE)
        }
    });
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = axum::serve(listener, app).with_graceful_shutdown(async {
        let _ = stopped.await;
    });
    let mut server = AbortOnDrop(tokio::spawn(async move { server.await }));
    let mut pasted = pasted.0.lock().await;
    let redirect = loop {
        let line = tokio::select! {
            Some(line) = redirects.recv() => line,
            Some(line) = pasted.recv() => line,
            else => break Err(EntraError::Config("the browser sign-in lost its listener".into())),
        };
        match Url::parse(line.trim()) {
            Ok(url) if url.query().is_some() => break Ok(url),
            // Not an address with an answer (an empty line, a stray word):
            // keep waiting.
            _ => continue,
        }
    };
    let _ = stop.send(());
    // The page goes out before the listener closes; bounded all the same.
    let _ = tokio::time::timeout(Duration::from_secs(5), &mut server.0).await;
    redirect
}

/// The listener's task, ended when the sign-in is (done, timed out, or
/// cancelled by dropping it): no listener outlives its sign-in.
struct AbortOnDrop<T>(tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The code from the redirect, once its `state` is this sign-in's; an
/// error the redirect carries (declined, a policy) as Entra's.
fn authorization_code(redirect: &Url, state: &str) -> Result<AuthorizationCode, EntraError> {
    let field = |name: &str| {
        redirect
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    if let Some(error) = field("error") {
        return Err(EntraError::Token {
            status: 400,
            code: OAuthErrorCode::from(error),
            aadsts: None,
            description: field("error_description").unwrap_or_default(),
        });
    }
    if field("state").as_deref() != Some(state) {
        return Err(EntraError::BrowserStateMismatch);
    }
    let code = field("code").ok_or_else(|| EntraError::Parse {
        url: "the redirect".into(),
        why: "it carries neither a code nor an error".into(),
    })?;
    Ok(AuthorizationCode::new(code))
}

/// The ID token must carry this sign-in's nonce: the answer belongs to it.
fn check_nonce(answer: &super::TokenResponse, nonce: &str, token: &Url) -> Result<(), EntraError> {
    #[derive(serde::Deserialize)]
    struct Nonce {
        nonce: Option<String>,
    }
    let id_token = answer.extra_fields().id_token.as_deref();
    let claimed = id_token
        .and_then(crate::entra::token_claims::<Nonce>)
        .and_then(|claims| claims.nonce);
    match claimed.as_deref() == Some(nonce) {
        true => Ok(()),
        false => Err(EntraError::Parse {
            url: token.to_string(),
            why: "the ID token does not carry this sign-in's nonce".into(),
        }),
    }
}
