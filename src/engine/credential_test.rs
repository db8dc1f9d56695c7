//! `credential test`: sign in with the connector's current credential for the
//! synchronization service, and say who, with what, until when.

use super::certificates::usable_certificate;
use super::operation::{Check, Run};
use super::progress::ProgressSender;
use super::service_account::legacy_sign_in;
use super::{EngineError, LocalServer};
use crate::domain::{ConnectorCredential, SYNC_SERVICE_APP_ID, ServiceAccountCredential};
use crate::entra::client::{ConnectionSettings, EntraClient};
use crate::host::passwords;
use serde::Serialize;

const TOKEN: Check = Check::new("token", "Sign in with the connector credential");

#[derive(Debug, Clone, Serialize)]
pub struct CredentialTest {
    pub client_id: String,
    pub tenant_id: String,
    pub roles: Vec<String>,
    pub expires_in_seconds: u64,
    /// The legacy account signed in (ServiceAccount); none for an application.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_principal_name: Option<String>,
}

pub async fn test_credential(
    server: &LocalServer,
    connection: ConnectionSettings,
    progress: ProgressSender,
) -> Result<CredentialTest, EngineError> {
    let app = match server.credential()? {
        ConnectorCredential::Application(app) => app,
        ConnectorCredential::ServiceAccount(account) => {
            return test_service_account(server, connection, progress, account).await;
        }
        ConnectorCredential::None => return Err(EngineError::NoApplicationCredential),
    };
    let stored = usable_certificate(server, &app.certificate_sha256)?;
    let store = server.key_store()?;
    let mut run = Run::untracked("credential-test", &[TOKEN.plan("")], progress);
    let client = EntraClient::new(connection, run.retry_observer())?;
    let token = run
        .check(TOKEN, async || {
            let token = client
                .app_token(
                    &store,
                    &stored.info,
                    &app.application_id,
                    &format!("{SYNC_SERVICE_APP_ID}/.default"),
                )
                .await?;
            Ok((token, String::new()))
        })
        .await?;
    let claims = token.claims();
    Ok(CredentialTest {
        client_id: app.application_id,
        tenant_id: claims.tid.unwrap_or(app.tenant_id),
        roles: claims.roles,
        expires_in_seconds: token.lifetime.as_secs(),
        user_principal_name: None,
    })
}

/// The legacy account signs in with its stored password (password grant)
/// for the synchronization service.
async fn test_service_account(
    server: &LocalServer,
    connection: ConnectionSettings,
    progress: ProgressSender,
    account: ServiceAccountCredential,
) -> Result<CredentialTest, EngineError> {
    let upn = account.user_principal_name;
    let password = passwords::load(server.state_dir(), &upn)?
        .ok_or_else(|| EngineError::PasswordLost { upn: upn.clone() })?;
    let client_id = connection.admin_client_id.clone();
    let mut run = Run::untracked("credential-test", &[TOKEN.plan("")], progress);
    let client = EntraClient::new(connection, run.retry_observer())?;
    let token = run
        .check(TOKEN, async || {
            let token = legacy_sign_in(&client, &upn, &password).await?;
            Ok((token, String::new()))
        })
        .await?;
    let claims = token.claims();
    Ok(CredentialTest {
        client_id,
        tenant_id: claims.tid.unwrap_or_default(),
        roles: claims.roles,
        expires_in_seconds: token.lifetime.as_secs(),
        user_principal_name: Some(upn),
    })
}
