//! What the scheduler does every interval (`scheduler run`): the certificate
//! expiry events and the clone check; when maintenance is enabled, the audit
//! of the application's keys and the automatic rotation of a Managed
//! certificate that is due; when sync cycles are enabled, the sync-cycle
//! check (a token with the current credential). Nothing runs while the
//! scheduler is suspended. "Now" is the server's [`Clock`], so tests put it
//! anywhere.

use super::credential_test::{Connector, connector_token, may_synchronize};
use super::{EngineError, LocalServer};
use crate::domain::{
    ConnectorCredential, EventId, EventLevel, NextCommand, ROTATION_WARNING_DAYS,
    SYNC_SERVICE_ROLE, format_time,
};
use crate::entra::client::{ConnectionSettings, EntraClient};
use crate::host::{events, settings};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The tick reads the server's [`Clock`] ([`LocalServer::set_clock`]).
pub use crate::domain::Clock;

/// The machine id recorded when the connector switched to an application.
pub const SETUP_MACHINE_ID: &str = "setup_machine_id";
/// The last result of each part of the scheduler's work.
const LAST_RUN: &str = "scheduler_last_run";

/// This machine's id (`/etc/machine-id`), to recognise a copied state.
pub fn machine_id() -> Option<String> {
    let id = std::fs::read_to_string("/etc/machine-id").ok()?;
    let id = id.trim();
    (!id.is_empty()).then(|| id.to_string())
}

/// How one part of a scheduler run ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartResult {
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub ok: bool,
    pub summary: String,
}

/// The last result of each part, as `scheduler show` reports them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRun {
    pub maintenance: Option<PartResult>,
    pub sync_cycle_check: Option<PartResult>,
}

pub fn last_run(server: &LocalServer) -> Result<LastRun, EngineError> {
    let saved = server.read(|conn| settings::get(conn, LAST_RUN))?;
    Ok(saved
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default())
}

/// One event the tick wrote.
type Written = (EventLevel, EventId, String);

/// One scheduler run at the server's "now" ([`LocalServer::now`]): the
/// maintenance tick and the sync-cycle check, each when enabled; records
/// their results and the next run time.
pub async fn run_once(
    server: &mut LocalServer,
    connection: Result<ConnectionSettings, EngineError>,
) -> Result<LastRun, EngineError> {
    // The tick changes this server (a rotation, the events it writes): never
    // while an administrator's change runs, and it does not wait for one.
    let _guard = match server.try_take_lock("scheduler tick").await? {
        Ok(guard) => guard,
        Err(holder) => return skip_tick(server, holder),
    };
    let scheduler = server.scheduler()?;
    let mut last = last_run(server)?;
    if scheduler.scheduler_suspended {
        return Ok(last);
    }
    let now = server.now();
    let mut written: Vec<Written> = Vec::new();
    {
        let mut found = certificate_findings(server, now)?;
        if scheduler.maintenance_enabled
            && let Ok(connection) = &connection
        {
            found.extend(audit_and_rotate(server, connection, &found).await?);
        }
        let problems = found
            .iter()
            .filter(|(level, ..)| *level != EventLevel::Information)
            .count();
        last.maintenance = Some(PartResult {
            at: now,
            ok: problems == 0,
            summary: match found.is_empty() {
                true => "nothing to report".into(),
                false => found
                    .iter()
                    .map(|(_, _, m)| m.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
            },
        });
        written.extend(found);
    }
    // Whichever credential the connector has (an application or, after a
    // rollback, a legacy account that may not sign in yet) is checked.
    if scheduler.sync_cycle_enabled
        && let Some(connector) = Connector::of(&server.credential()?)
    {
        let (ok, message) = sync_cycle_check(server, &connector, connection).await;
        let (level, id) = match ok {
            true => (EventLevel::Information, EventId::SYNC_CHECK_OK),
            false => (EventLevel::Error, EventId::SYNC_CHECK_FAILED),
        };
        last.sync_cycle_check = Some(PartResult {
            at: now,
            ok,
            summary: message.clone(),
        });
        written.push((level, id, message));
    }
    let next = now + time::Duration::minutes(i64::from(scheduler.interval_minutes));
    let json = serde_json::to_string(&last).map_err(EngineError::Journal)?;
    server.db.write(|tx| {
        for (level, id, message) in &written {
            events::record(tx, *level, *id, message)?;
        }
        let mut settings = crate::host::scheduler::load(tx)?;
        settings.next_run_at = Some(next);
        crate::host::scheduler::save(tx, &settings)?;
        settings::set(tx, LAST_RUN, &json)
    })?;
    // Between ticks the scheduler holds no TPM connection: a TPM without a
    // resource manager (swtpm, /dev/tpm0) serves one at a time.
    server.release_tpm();
    Ok(last)
}

/// A tick that found another change running: it writes why it skipped its
/// run and changes nothing else; the next tick runs as usual.
fn skip_tick(
    server: &mut LocalServer,
    holder: Option<crate::host::lock::LockHolder>,
) -> Result<LastRun, EngineError> {
    let holder = holder.map_or("a change whose name is not known yet".to_string(), |h| {
        h.to_string()
    });
    let message = format!(
        "The scheduler skipped this run: another change is running on this server ({holder}). The next run goes ahead as usual."
    );
    server
        .db
        .write(|tx| events::record(tx, EventLevel::Information, EventId::TICK_SKIPPED, &message))?;
    last_run(server)
}

/// The certificate's expiry and the clone check, as the events to write.
fn certificate_findings(
    server: &LocalServer,
    now: OffsetDateTime,
) -> Result<Vec<Written>, EngineError> {
    let ConnectorCredential::Application(app) = server.credential()? else {
        return Ok(Vec::new());
    };
    let mut found = Vec::new();
    let hash = &app.certificate_sha256;
    match server.certificate(hash) {
        Ok(stored) => {
            let not_after = stored.info.not_after;
            let left = not_after - now;
            if left.is_negative() {
                found.push((
                    EventLevel::Error,
                    EventId::CERTIFICATE_EXPIRED,
                    format!(
                        "The connector's certificate {hash} expired on {}: the connector cannot sign in. Replace the certificate.",
                        format_time(not_after)
                    ),
                ));
            } else if left.whole_days() <= ROTATION_WARNING_DAYS {
                found.push((
                    EventLevel::Warning,
                    EventId::ROTATION_DUE,
                    format!(
                        "The connector's certificate {hash} expires on {} ({} days left): rotation is due.",
                        format_time(not_after),
                        left.whole_days()
                    ),
                ));
            }
        }
        Err(error) => found.push((
            EventLevel::Error,
            EventId::CERTIFICATE_EXPIRED,
            format!("The connector's certificate {hash} cannot be used: {error}"),
        )),
    }
    let recorded = server.read(|conn| settings::get(conn, SETUP_MACHINE_ID))?;
    if let (Some(recorded), Some(current)) = (recorded, machine_id())
        && recorded != current
    {
        found.push((
            EventLevel::Warning,
            EventId::CLONE_DETECTED,
            format!(
                "This state was set up on another machine (machine id {recorded}, this one is {current}): a copied server shares its application with the original, and rotating here would break one of them (Microsoft documents this as event 906 / AADSTS700027). Automatic rotation is off here. Give this server its own application (set it up afresh: {}), or remove the copy.",
                NextCommand::SetUpAfresh.command_line()
            ),
        ));
    }
    Ok(found)
}

/// With maintenance enabled: keys and secrets on the application this
/// server did not add, and the automatic rotation of a Managed certificate that is due (not
/// on a copied server, whose rotation would break the original).
async fn audit_and_rotate(
    server: &mut LocalServer,
    connection: &ConnectionSettings,
    found: &[Written],
) -> Result<Vec<Written>, EngineError> {
    let ConnectorCredential::Application(app) = server.credential()? else {
        return Ok(Vec::new());
    };
    let (quiet, _) = tokio::sync::mpsc::unbounded_channel();
    let mut written = Vec::new();
    match unattended_audit(server, connection).await {
        // One event per unknown item, its kind's id, naming it and what revokes it.
        Ok(audit) => written.extend(audit.unknown().map(|item| {
            (
                EventLevel::Warning,
                item.kind.unknown_event(),
                item.warning(&app.application_id),
            )
        })),
        Err(error) => written.push((
            EventLevel::Warning,
            EventId::KEY_AUDIT_FAILED,
            format!("The application's keys and secrets could not be audited: {error}"),
        )),
    }
    let due = found
        .iter()
        .any(|(_, id, _)| *id == EventId::ROTATION_DUE || *id == EventId::CERTIFICATE_EXPIRED);
    let clone = found
        .iter()
        .any(|(_, id, _)| *id == EventId::CLONE_DETECTED);
    let managed = app.certificate_managed_by == crate::domain::ManagedBy::EntraConnect;
    if due
        && !clone
        && managed
        && let Err(error) = rotate_now(server, connection, quiet).await
    {
        written.push((
            EventLevel::Error,
            EventId::AUTOMATIC_ROTATION_FAILED,
            format!(
                "Automatic rotation of the connector's certificate failed: {error} Rotate it by hand: {} (or, if the certificate has expired, with an Application Administrator: {}).",
                NextCommand::Rotate.command_line(),
                NextCommand::RotateWithAdministrator.command_line()
            ),
        ));
    }
    Ok(written)
}

/// The unattended audit (the application's own read of its keys and
/// secrets), as the tick and `doctor` run it: quietly.
pub async fn unattended_audit(
    server: &LocalServer,
    connection: &ConnectionSettings,
) -> Result<super::audit::Audit, EngineError> {
    let (quiet, _) = tokio::sync::mpsc::unbounded_channel();
    super::audit::unattended(server, connection, quiet).await
}

/// A Managed rotation by the application itself, as `app rotate` runs it
/// (it writes its own events). One that needs an administrator is refused.
async fn rotate_now(
    server: &mut LocalServer,
    connection: &ConnectionSettings,
    progress: super::progress::ProgressSender,
) -> Result<(), EngineError> {
    let request = super::OperationRequest::Rotate(super::rotate::Rotate {
        certificate: super::rotate::NewCertificate::Managed {
            days: crate::domain::CertificateDays::default(),
        },
    });
    let entra = super::EntraRequest {
        connection: connection.clone(),
        // The application rotates its own key: nobody signs in.
        admin: None,
    };
    let plan = super::plan(server, entra.target(), request)?;
    // Any administrator's sign-in in the plan means it cannot run unattended.
    let sign_in = super::admin::SIGN_IN.id.name;
    if plan.steps.iter().any(|step| step.name == sign_in) {
        return Err(EngineError::AdministratorNeeded);
    }
    super::execute(server, &entra, &plan, progress).await?;
    Ok(())
}

/// A token with the current credential (`connector`'s) for the
/// synchronization service.
async fn sync_cycle_check(
    server: &LocalServer,
    connector: &Connector,
    connection: Result<ConnectionSettings, EngineError>,
) -> (bool, String) {
    let result = async {
        let client = EntraClient::new(connection?, std::sync::Arc::new(|_| {}))?;
        connector_token(server, &client).await
    }
    .await;
    match result {
        Ok((connector, token)) if may_synchronize(&connector, &token) => (
            true,
            format!(
                "Sync-cycle check: {connector} signed in for the synchronization service{}.",
                match connector {
                    Connector::Application { .. } => format!(" with {SYNC_SERVICE_ROLE}"),
                    Connector::ServiceAccount { .. } => String::new(),
                }
            ),
        ),
        Ok((connector, _)) => (
            false,
            format!(
                "Sync-cycle check failed: the token of {connector} does not carry {SYNC_SERVICE_ROLE}; grant it on the Microsoft Entra AD Synchronization Service."
            ),
        ),
        Err(error) => (
            false,
            format!("Sync-cycle check of {connector} failed: {error}"),
        ),
    }
}
