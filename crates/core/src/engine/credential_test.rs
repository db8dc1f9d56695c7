//! `credential test`: sign in with the connector's current credential for the
//! synchronization service, and say who, with what, until when. The same
//! sign-in serves `doctor` and the scheduler's sync-cycle check.

use super::certificates::usable_certificate;
use super::operation::{Check, Run};
use super::progress::ProgressSender;
use super::service_account::legacy_sign_in;
use super::{EngineError, LocalServer};
use crate::domain::{ConnectorCredential, SYNC_SERVICE_APP_ID, SYNC_SERVICE_ROLE};
use crate::entra::client::{ConnectionSettings, EntraClient};
use crate::entra::oauth::AccessToken;
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

/// Who the connector signs in as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Connector {
    Application { app_id: String, tenant_id: String },
    ServiceAccount { upn: String },
}

impl std::fmt::Display for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Application { app_id, .. } => write!(f, "application {app_id}"),
            Connector::ServiceAccount { upn } => write!(f, "the service account {upn}"),
        }
    }
}

impl Connector {
    /// Who signs in for the connector with this credential (nobody with none).
    pub(super) fn of(credential: &ConnectorCredential) -> Option<Self> {
        match credential {
            ConnectorCredential::Application(app) => Some(Connector::Application {
                app_id: app.application_id.clone(),
                tenant_id: app.tenant_id.clone(),
            }),
            ConnectorCredential::ServiceAccount(account) => Some(Connector::ServiceAccount {
                upn: account.user_principal_name.clone(),
            }),
            ConnectorCredential::None => None,
        }
    }
}

/// A token for the synchronization service with the connector's credential:
/// the application's certificate, or the legacy account's stored password.
pub(super) async fn connector_token(
    server: &LocalServer,
    client: &EntraClient,
) -> Result<(Connector, AccessToken), EngineError> {
    let credential = server.credential()?;
    let connector = Connector::of(&credential).ok_or(EngineError::NoApplicationCredential)?;
    let token = match credential {
        ConnectorCredential::Application(app) => {
            let stored = usable_certificate(server, &app.certificate_sha256)?;
            let store = server.key_store()?;
            let scope = format!("{SYNC_SERVICE_APP_ID}/.default");
            client
                .app_token(&store, &stored.info, &app.application_id, &scope)
                .await?
        }
        ConnectorCredential::ServiceAccount(account) => {
            let upn = account.user_principal_name;
            let password = passwords::load(server.state_dir(), server.tpm(), &upn)?
                .ok_or_else(|| EngineError::PasswordLost { upn: upn.clone() })?;
            legacy_sign_in(client, &upn, &password).await?
        }
        ConnectorCredential::None => return Err(EngineError::NoApplicationCredential),
    };
    Ok((connector, token))
}

/// Whether the token lets the connector synchronize: an application's
/// carries the app role; the legacy account's is delegated (its directory
/// role decides), so signing in is the test.
pub(super) fn may_synchronize(connector: &Connector, token: &AccessToken) -> bool {
    match connector {
        Connector::Application { .. } => token
            .claims()
            .roles
            .iter()
            .any(|role| role == SYNC_SERVICE_ROLE),
        Connector::ServiceAccount { .. } => true,
    }
}

pub async fn test_credential(
    server: &LocalServer,
    connection: ConnectionSettings,
    progress: ProgressSender,
) -> Result<CredentialTest, EngineError> {
    let sign_in_client = connection.admin_client_id.clone();
    let mut run = Run::untracked("credential-test", &[TOKEN.id], progress);
    let client = EntraClient::new(connection, run.retry_observer())?;
    let (connector, token) = run
        .check(TOKEN, async || {
            let signed_in = connector_token(server, &client).await?;
            Ok((signed_in, String::new()))
        })
        .await?;
    let claims = token.claims();
    let (client_id, tenant_id, user_principal_name) = match connector {
        Connector::Application { app_id, tenant_id } => (app_id, tenant_id, None),
        Connector::ServiceAccount { upn } => (sign_in_client, String::new(), Some(upn)),
    };
    Ok(CredentialTest {
        client_id,
        tenant_id: claims.tid.unwrap_or(tenant_id),
        roles: claims.roles,
        expires_in_seconds: token.lifetime.as_secs(),
        user_principal_name,
    })
}
