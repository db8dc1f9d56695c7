//! `service-account use`: the connector account this server already signs
//! in with, checked and recorded.

use super::legacy_sign_in;
use crate::domain::{
    ConnectorCredential, DIRECTORY_SYNCHRONIZATION_ACCOUNTS, EventId, EventLevel,
    ServiceAccountCredential, Upn,
};
use crate::engine::operation::{
    Change, Check, Done, Journaled, Operation, PlannedStep, Run, Step, Target,
};
use crate::engine::{EngineError, EntraRequest, LocalServer};
use crate::entra::client::UserSignIn;
use crate::entra::graph::GRAPH_APP_ID;
use crate::host::{credential, events, passwords};
use serde::Serialize;

pub const CHECK_ACCOUNT: Check = Check::new(
    "check-account",
    "Sign in as the connector account with its password",
);
pub const RECORD_ACCOUNT: Step<()> = Step::new("record-account", "Record the connector account");

/// `service-account use`: records the connector account this server already
/// signs in with, after checking that its password works and that it is a
/// directory synchronization account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UseServiceAccount {
    pub upn: Upn,
}

impl Operation for UseServiceAccount {
    const KIND: &'static str = "service-account-use";
    type Output = ServiceAccountCredential;
    /// Nothing beyond the precondition: the connector is not an application.
    type Situation = ();

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<(), EngineError> {
        match server.credential()? {
            ConnectorCredential::Application(app) => Err(EngineError::AlreadyApplication {
                app_id: app.application_id,
            }),
            _ => Ok(()),
        }
    }

    fn plan(
        &self,
        _situation: &(),
        server: &LocalServer,
        _target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        Ok(vec![
            CHECK_ACCOUNT.plan(Change::CheckAccount {
                upn: self.upn.to_string(),
            }),
            RECORD_ACCOUNT.plan(Change::RecordAccount {
                upn: self.upn.to_string(),
                password_folder: server.state_dir().join("service-accounts"),
            }),
        ])
    }

    async fn execute(
        &self,
        _situation: (),
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<ServiceAccountCredential, EngineError> {
        let upn = self.upn.to_string();
        let Some(UserSignIn::Password { password, .. }) = &entra.admin else {
            return Err(EngineError::PasswordNeeded { upn });
        };
        let client = entra.client(run)?;
        run.check(CHECK_ACCOUNT, async || {
            let sign_in = UserSignIn::Password {
                upn: upn.clone(),
                password: password.clone(),
            };
            let graph = client
                .sign_in_user(&sign_in, &[format!("{GRAPH_APP_ID}/User.Read")], |_| {})
                .await?;
            let roles = graph.my_directory_roles().await?;
            if !roles
                .iter()
                .any(|r| r.role_template_id == DIRECTORY_SYNCHRONIZATION_ACCOUNTS)
            {
                return Err(EngineError::NotASyncAccount { upn: upn.clone() });
            }
            legacy_sign_in(&client, &upn, password).await?;
            Ok((
                (),
                format!("{upn} signs in and is a directory synchronization account"),
            ))
        })
        .await?;
        let account = ServiceAccountCredential {
            user_principal_name: upn.clone(),
            configured_at: server.now(),
        };
        let recorded = ConnectorCredential::ServiceAccount(account.clone());
        passwords::save(server.state_dir(), server.tpm(), &upn, password)?;
        run.step(server, RECORD_ACCOUNT, async |_| {
            let message = format!("The connector signs in with the service account {upn}.");
            Ok(
                Done::new((), format!("recorded {upn}")).with_local(move |tx| {
                    credential::save(tx, &recorded)?;
                    events::record(
                        tx,
                        EventLevel::Information,
                        EventId::SERVICE_ACCOUNT_RECORDED,
                        &message,
                    )
                }),
            )
        })
        .await?;
        passwords::forget_others(server.state_dir(), Some(&upn))?;
        Ok(account)
    }
}
