//! Where Entra is, from whatever the administrator gave (command line,
//! answers file, wizard) and what the state remembers: one path from those
//! inputs to the settings the client uses. The connection is remembered only
//! after an operation with it worked.

use super::{EngineError, LocalServer};
use crate::domain::{ConnectionInputs, ConnectorCredential};
use crate::entra::cache::TokenCache;
use crate::entra::client::ConnectionSettings;
use crate::entra::{Endpoints, RetryPolicy};
use crate::host::settings;
use std::sync::Arc;
use std::time::Duration;

const SETTING: &str = "connection";

/// The settings a client uses for `inputs`, changing nothing.
pub fn settings(
    inputs: &ConnectionInputs,
    admin_client_id: &str,
    replication_budget: Duration,
    cache: Arc<TokenCache>,
) -> Result<ConnectionSettings, EngineError> {
    let tenant = inputs.tenant.clone().ok_or(EngineError::NoTenant)?;
    let cloud = inputs.cloud.unwrap_or_default();
    let endpoints = Endpoints::new(
        cloud,
        inputs.authority_host.as_ref(),
        inputs.graph_url.as_ref(),
    )?;
    Ok(ConnectionSettings {
        tenant,
        cloud,
        endpoints,
        ca_cert: inputs.ca_cert.clone(),
        admin_client_id: admin_client_id.to_string(),
        retry: RetryPolicy {
            replication_budget,
            ..RetryPolicy::default()
        },
        cache,
    })
}

/// The connection for talking about this server's own credential: what was
/// given, else what was remembered, else the tenant the credential is in.
pub fn for_credential(
    server: &LocalServer,
    given: ConnectionInputs,
) -> Result<ConnectionInputs, EngineError> {
    let tenant = match server.credential()? {
        ConnectorCredential::Application(app) => app.tenant_id.parse().ok(),
        // The legacy account's domain is one of the tenant's verified domains.
        ConnectorCredential::ServiceAccount(account) => account
            .user_principal_name
            .split_once('@')
            .and_then(|(_, domain)| domain.parse().ok()),
        ConnectorCredential::None => None,
    };
    Ok(given.or(remembered(server)?).or(ConnectionInputs {
        tenant,
        ..ConnectionInputs::default()
    }))
}

/// The connection used last (nothing when none was remembered, or when what
/// was remembered no longer reads).
pub fn remembered(server: &LocalServer) -> Result<ConnectionInputs, EngineError> {
    let saved = server.read(|conn| settings::get(conn, SETTING))?;
    Ok(saved
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// Remembers a connection that worked.
pub fn remember(
    server: &mut LocalServer,
    connection: &ConnectionInputs,
) -> Result<(), EngineError> {
    let json = serde_json::to_string(connection).map_err(EngineError::Journal)?;
    server.db.write(|tx| settings::set(tx, SETTING, &json))?;
    Ok(())
}
