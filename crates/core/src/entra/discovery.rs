//! The authority: `{authority_host}/{tenant}`, and the endpoints its OpenID
//! discovery document names. Fetched once per run; nothing else is assumed
//! about paths, so the same code serves Entra, national clouds and the sandbox.

use super::EntraError;
use super::cloud::checked_url;
use super::http::HttpClient;
use super::oauth_error::token_error;
use crate::domain::Tenant;
use serde::Deserialize;
use tokio::sync::OnceCell;
use url::Url;

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OpenIdConfiguration {
    pub issuer: String,
    pub token_endpoint: String,
    pub device_authorization_endpoint: Option<String>,
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
}

/// The endpoints of one tenant, checked to be https (or loopback http).
#[derive(Debug, Clone)]
pub(crate) struct TenantEndpoints {
    /// The tenant's id (a GUID), read from the issuer.
    pub tenant_id: String,
    pub token: Url,
    pub device_code: Option<Url>,
    /// Where a browser signs in (the authorization code flow).
    pub authorize: Option<Url>,
    /// The authority's clock when it answered, and ours at that moment.
    pub clocks: Option<(std::time::SystemTime, std::time::SystemTime)>,
}

pub(crate) struct Authority {
    http: HttpClient,
    host: Url,
    tenant: String,
    endpoints: OnceCell<TenantEndpoints>,
}

impl Authority {
    pub(crate) fn new(http: HttpClient, host: Url, tenant: &Tenant) -> Self {
        Authority {
            http,
            host,
            tenant: tenant.to_string(),
            endpoints: OnceCell::new(),
        }
    }

    /// `{host}/{tenant}`: what the cache keys tokens by.
    pub(crate) fn url(&self) -> String {
        format!(
            "{}/{}",
            self.host.as_str().trim_end_matches('/'),
            self.tenant
        )
    }

    pub(crate) async fn endpoints(&self) -> Result<&TenantEndpoints, EntraError> {
        self.endpoints.get_or_try_init(|| self.discover()).await
    }

    async fn discover(&self) -> Result<TenantEndpoints, EntraError> {
        let url = format!("{}/v2.0/.well-known/openid-configuration", self.url());
        let reply = self
            .http
            .send(|client| Ok(client.get(&url)), |_| None)
            .await?;
        if !reply.status.is_success() {
            return Err(token_error(&reply));
        }
        let document: OpenIdConfiguration = reply.json()?;
        let tenant_id = Url::parse(&document.issuer)
            .ok()
            .and_then(|issuer| issuer.path_segments()?.next().map(str::to_string))
            .filter(|id| !id.is_empty())
            .ok_or_else(|| EntraError::Parse {
                url: url.clone(),
                why: format!("the issuer {:?} names no tenant", document.issuer),
            })?;
        Ok(TenantEndpoints {
            clocks: reply.date.map(|date| (date, std::time::SystemTime::now())),
            tenant_id,
            token: checked_url(&document.token_endpoint)?,
            device_code: document
                .device_authorization_endpoint
                .as_deref()
                .map(checked_url)
                .transpose()?,
            authorize: document
                .authorization_endpoint
                .as_deref()
                .map(checked_url)
                .transpose()?,
        })
    }
}
