//! One connection to a tenant for the length of a run: the authority, the
//! token cache, and the grants wired to them (the MSAL "application" layer).

use super::cache::{CacheKey, TokenCache};
use super::discovery::Authority;
use super::graph::GraphClient;
use super::http::{HttpClient, RetryObserver, RetryPolicy, RetryReason};
use super::oauth::browser;
pub use super::oauth::browser::{PastedRedirects, pasted_redirects};
use super::oauth::{self, AccessToken, DeviceCode};
use super::{Endpoints, EntraError, Secret, assertion};
use crate::domain::{SystemClock, Tenant};
use crate::keys::{CertificateInfo, KeyStore, SigningAlgorithm};
use std::path::PathBuf;
use time::OffsetDateTime;

/// Microsoft Graph Command Line Tools: a public client tenants commonly allow.
pub const DEFAULT_ADMIN_CLIENT_ID: &str = "14d82eec-204b-4c2f-b7e8-296a70dab67e";

/// Where and how to reach Entra.
#[derive(Debug, Clone)]
pub struct ConnectionSettings {
    pub tenant: Tenant,
    /// Which cloud: Graph's upsert is documented for the public cloud only.
    pub cloud: crate::domain::Cloud,
    pub endpoints: Endpoints,
    pub ca_cert: Option<PathBuf>,
    pub admin_client_id: String,
    pub retry: RetryPolicy,
    /// Shared by every client made from these settings, so a sign-in on one
    /// page is not asked for again by the operation that follows.
    pub cache: std::sync::Arc<TokenCache>,
}

/// How a user signs in: an administrator, or the legacy connector account
/// (password only).
#[derive(Debug, Clone)]
pub enum UserSignIn {
    /// Device code flow; the signed-in account must be `upn`.
    DeviceCode { upn: String },
    /// The authorization code flow in a browser (for tenants that block the
    /// device code flow); the redirect arrives at a loopback listener or is
    /// pasted back through `pasted`.
    Browser {
        upn: String,
        pasted: PastedRedirects,
    },
    /// Password grant, for accounts without MFA.
    Password { upn: String, password: Secret },
}

impl UserSignIn {
    pub fn upn(&self) -> &str {
        match self {
            UserSignIn::DeviceCode { upn }
            | UserSignIn::Password { upn, .. }
            | UserSignIn::Browser { upn, .. } => upn,
        }
    }
}

/// What the administrator is asked to do to sign in.
#[derive(Debug, Clone, Copy)]
pub enum SignInPrompt<'a> {
    /// Enter the code at the verification page.
    DeviceCode(&'a DeviceCode),
    /// Open the address in a browser (and, where it runs on another
    /// machine, paste back the address it ends on).
    Browser { url: &'a str },
}

pub struct EntraClient {
    http: HttpClient,
    authority: Authority,
    settings: ConnectionSettings,
}

/// The OpenID scope that asks for a refresh token.
const OFFLINE_ACCESS: &str = "offline_access";

/// `scopes` and `offline_access`, once.
fn with_offline_access(scopes: &[String]) -> Vec<String> {
    let mut asked = scopes.to_vec();
    if !asked.iter().any(|scope| scope == OFFLINE_ACCESS) {
        asked.push(OFFLINE_ACCESS.to_string());
    }
    asked
}

/// The cache's name for a set of scopes: the same whatever their order.
fn scope_key(scopes: &[String]) -> String {
    let mut sorted: Vec<&str> = scopes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    sorted.dedup();
    sorted.join(" ")
}

impl EntraClient {
    pub fn new(settings: ConnectionSettings, observer: RetryObserver) -> Result<Self, EntraError> {
        let http = HttpClient::new(
            settings.ca_cert.as_deref(),
            settings.retry.clone(),
            observer,
        )?;
        let authority = Authority::new(
            http.clone(),
            settings.endpoints.authority_host.clone(),
            &settings.tenant,
        );
        Ok(EntraClient {
            http,
            authority,
            settings,
        })
    }

    /// The tenant's id, from discovery (also proves the tenant exists).
    pub async fn tenant_id(&self) -> Result<String, EntraError> {
        Ok(self.authority.endpoints().await?.tenant_id.clone())
    }

    /// Signs the administrator in for Graph with `scopes` (full scope strings,
    /// `https://graph.microsoft.com/Application.ReadWrite.All`). `prompt` is
    /// called with what the administrator must do (enter a code, open an
    /// address), unless the password or an earlier sign-in serves.
    pub async fn sign_in_user(
        &self,
        sign_in: &UserSignIn,
        scopes: &[String],
        prompt: impl FnOnce(SignInPrompt<'_>),
    ) -> Result<GraphClient, EntraError> {
        let token = self.user_token(sign_in, scopes, prompt).await?;
        Ok(self.graph(token.secret))
    }

    /// The administrator's token for `scopes`, from the cache or a new
    /// sign-in (see [`sign_in_user`](Self::sign_in_user)); its
    /// `scopes` say what was granted.
    pub async fn user_token(
        &self,
        sign_in: &UserSignIn,
        scopes: &[String],
        prompt: impl FnOnce(SignInPrompt<'_>),
    ) -> Result<AccessToken, EntraError> {
        if scopes.is_empty() {
            return Err(EntraError::Config(
                "no scopes to sign the administrator in for".into(),
            ));
        }
        let key = CacheKey {
            authority: self.authority.url(),
            client_id: format!("{}:{}", self.settings.admin_client_id, sign_in.upn()),
            scope: scope_key(scopes),
        };
        if let Some(token) = self.settings.cache.get(&key) {
            return Ok(token);
        }
        let endpoints = self.authority.endpoints().await?;
        let client_id = &self.settings.admin_client_id;
        // A refresh token makes the sign-in last: asked for with every scope set.
        let scopes = &with_offline_access(scopes);
        if let Some(refresh) = self.settings.cache.refresh_token(&key) {
            match oauth::refresh(&self.http, &endpoints.token, client_id, scopes, &refresh).await {
                Ok(token) => {
                    self.settings.cache.put(key.clone(), token.clone());
                    return Ok(token);
                }
                // Refused (revoked, expired, consent or a policy that wants
                // the user again): the user signs in as if it never was.
                Err(EntraError::Token { .. }) => self.settings.cache.forget_refresh_token(&key),
                Err(other) => return Err(other),
            }
        }
        let token = match sign_in {
            UserSignIn::Password { upn, password } => {
                oauth::password(
                    &self.http,
                    &endpoints.token,
                    client_id,
                    scopes,
                    upn,
                    password,
                )
                .await?
            }
            UserSignIn::DeviceCode { upn } => {
                let endpoint = endpoints
                    .device_code
                    .as_ref()
                    .ok_or(EntraError::NoDeviceCode)?;
                let code = oauth::start_device_code(
                    &self.http,
                    endpoint,
                    client_id,
                    scopes,
                    Some(upn),
                    &SystemClock,
                )
                .await?;
                prompt(SignInPrompt::DeviceCode(&code));
                oauth::poll_device_code(
                    &self.http,
                    &endpoints.token,
                    client_id,
                    &code,
                    &SystemClock,
                )
                .await?
            }
            UserSignIn::Browser { upn, pasted } => {
                browser::sign_in(
                    &self.http,
                    endpoints,
                    client_id,
                    scopes,
                    upn,
                    pasted,
                    |url| prompt(SignInPrompt::Browser { url }),
                )
                .await?
            }
        };
        self.settings.cache.put(key, token.clone());
        Ok(token)
    }

    /// A token for `scope` as the application `client_id`, signed in with the
    /// certificate (whose key stays in `store`). Cached for its lifetime.
    pub async fn app_token(
        &self,
        store: &dyn KeyStore,
        certificate: &CertificateInfo,
        client_id: &str,
        scope: &str,
    ) -> Result<AccessToken, EntraError> {
        let key = CacheKey {
            authority: self.authority.url(),
            client_id: format!("{client_id}:{}", certificate.sha256),
            scope: scope.to_string(),
        };
        if let Some(token) = self.settings.cache.get(&key) {
            return Ok(token);
        }
        let endpoints = self.authority.endpoints().await?;
        let token_endpoint = endpoints.token.as_str();
        let assertion = || {
            Ok(assertion::client_assertion(
                store,
                certificate,
                SigningAlgorithm::Ps256,
                client_id,
                token_endpoint,
                OffsetDateTime::now_utc(),
            )?)
        };
        let token =
            oauth::client_credentials(&self.http, &endpoints.token, client_id, scope, assertion)
                .await?;
        self.settings.cache.put(key, token.clone());
        Ok(token)
    }

    /// [`app_token`](Self::app_token) that waits, polling within the
    /// replication budget, until the token carries the app role `role`: right
    /// after a grant Entra issues tokens without it for a while. A token
    /// without the role is not kept in the cache.
    pub async fn app_token_with_role(
        &self,
        store: &dyn KeyStore,
        certificate: &CertificateInfo,
        client_id: &str,
        scope: &str,
        role: &str,
    ) -> Result<AccessToken, EntraError> {
        let started = std::time::Instant::now();
        let reason = RetryReason::RoleNotInTokenYet {
            role: role.to_string(),
        };
        for attempt in 1.. {
            let token = self.app_token(store, certificate, client_id, scope).await?;
            if token.claims().roles.iter().any(|r| r == role) {
                return Ok(token);
            }
            self.settings.cache.forget(&CacheKey {
                authority: self.authority.url(),
                client_id: format!("{client_id}:{}", certificate.sha256),
                scope: scope.to_string(),
            });
            if !self
                .http
                .replication_pause(started, attempt, reason.clone())
                .await
            {
                break;
            }
        }
        Err(EntraError::RoleMissingFromToken {
            role: role.to_string(),
        })
    }

    pub fn graph(&self, token: Secret) -> GraphClient {
        GraphClient::new(
            self.http.clone(),
            self.settings.endpoints.graph_url.clone(),
            token,
        )
    }
}
