//! `doctor`: every check, no change. What this server and the tenant look
//! like from here: the scheduler, the key store, the connector credential
//! and its certificate, the endpoints, the clock, a token with the current
//! credential, and (with an administrator) what each operation would need of
//! them. One finding per check, with the fix when it is not OK.

use super::admin::consent_required;
use super::audit::{Audit, AuditItem, Revocation, audit_by_signed_in_administrator};
use super::credential_test::{connector_token, may_synchronize};
use super::operation::{Check, Run};
use super::permissions::{self, Grantee, Needs};
use super::progress::{Progress, ProgressSender};
use super::{EngineError, LocalServer, MOVE_TO_APPLICATION};
use crate::domain::{
    ConnectorCredential, Input, NextCommand, ROTATION_WARNING_DAYS, Remedy, SYNC_SERVICE_ROLE,
    StoreKind, format_time,
};
use crate::entra::client::{ConnectionSettings, EntraClient, UserSignIn};
use crate::entra::discovery::Authority;
use crate::entra::graph::{DirectoryRole, GRAPH_APP_ID, GraphClient};
use crate::entra::http::HttpClient;
use crate::entra::proxy::{ProxySettings, Route};
use serde::Serialize;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use time::OffsetDateTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Verdict {
    Ok,
    Warn,
    Fail,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "OK",
            Verdict::Warn => "WARN",
            Verdict::Fail => "FAIL",
        }
    }
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub check: String,
    pub verdict: Verdict,
    pub detail: String,
    /// What puts it right when it is not OK; any one will do.
    #[serde(rename = "remedies", skip_serializing_if = "Vec::is_empty")]
    pub fix: Vec<Remedy>,
    /// The state directory checked (on the "state directory" finding).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_dir: Option<PathBuf>,
}

impl Finding {
    fn new(check: impl Into<String>, verdict: Verdict, detail: impl Into<String>) -> Self {
        Finding {
            check: check.into(),
            verdict,
            detail: detail.into(),
            fix: Vec::new(),
            state_dir: None,
        }
    }

    fn fix(mut self, fix: impl IntoIterator<Item = Remedy>) -> Self {
        self.fix.extend(fix);
        self
    }

    /// Advice for something done outside this tool.
    fn advice(self, advice: impl Into<String>) -> Self {
        self.fix([Remedy::outside(advice)])
    }

    fn run(self, command: NextCommand) -> Self {
        self.fix([Remedy::run(command)])
    }

    /// The finding of a check that failed with `error`, and its remedies.
    fn failed(check: &str, error: &EngineError) -> Self {
        Finding::new(check, Verdict::Fail, error.to_string()).fix(error.remedies())
    }
}

/// Clock skew beyond which tokens and assertions start to be refused.
const SKEW_FAIL: Duration = Duration::from_secs(300);
const SKEW_WARN: Duration = Duration::from_secs(60);

/// The operations whose needs `doctor --upn` checks, by the command that runs
/// them, and how a missing permission counts: onboarding fails without it;
/// the others need a more privileged administrator only now and then.
const OPERATIONS: [(&str, Needs, Verdict); 5] = [
    (
        "app register / wizard (Managed, BYOC)",
        permissions::REGISTER,
        Verdict::Fail,
    ),
    (
        "app link (BYOA)",
        permissions::CHECK_APPLICATION,
        Verdict::Fail,
    ),
    (
        "app rotate with an administrator (current key expired or missing)",
        permissions::UPDATE_CREDENTIALS,
        Verdict::Warn,
    ),
    (
        "service-account add (when a new account is needed)",
        permissions::CREATE_SYNC_ACCOUNT,
        Verdict::Warn,
    ),
    (
        "service-account remove",
        permissions::DELETE_SYNC_ACCOUNT,
        Verdict::Warn,
    ),
];

const SIGN_IN: Check = Check::new("sign-in", "Sign in as the administrator");

/// Runs every check. `connection` is where the tenant is (or why that is
/// not known); `admin` who to sign in as for the permission checks.
pub async fn doctor(
    server: &LocalServer,
    connection: Result<ConnectionSettings, EngineError>,
    admin: Option<UserSignIn>,
    progress: ProgressSender,
) -> Vec<Finding> {
    let now = server.now();
    let mut findings = local_findings(server, now);
    let connection = match connection {
        Ok(connection) => connection,
        Err(error) => {
            findings
                .push(Finding::failed("endpoints", &error).fix([Remedy::give(Input::Connection)]));
            return findings;
        }
    };
    findings.push(proxy_finding(&connection));
    findings.extend(endpoint_findings(&connection).await);
    let mut run = Run::untracked("doctor", &[SIGN_IN.id], progress);
    let client = match EntraClient::new(connection.clone(), run.retry_observer()) {
        Ok(client) => client,
        Err(error) => {
            findings.push(Finding::failed("endpoints", &error.into()));
            return findings;
        }
    };
    // One sign-in for every check that needs the administrator.
    let administrator = match &admin {
        Some(admin) => Some(sign_in_administrator(&mut run, &client, &connection, admin).await),
        None => None,
    };
    match server.credential().unwrap_or(ConnectorCredential::None) {
        ConnectorCredential::None => {}
        ConnectorCredential::ServiceAccount(_) => {
            findings.push(token_finding(server, &client).await);
        }
        ConnectorCredential::Application(_) => {
            findings.push(token_finding(server, &client).await);
            let audit = key_audit(server, &connection, &client, administrator.as_ref()).await;
            findings.push(audit);
        }
    }
    if let (Some(admin), Some(administrator)) = (&admin, &administrator) {
        findings.extend(admin_findings(&connection, admin, administrator));
    }
    findings
}

/// What this server's own state says, with no network.
fn local_findings(server: &LocalServer, now: OffsetDateTime) -> Vec<Finding> {
    let mut findings = state_findings(server);
    findings.push(match server.scheduler() {
        Ok(s) if s.scheduler_suspended => Finding::new(
            "scheduler",
            Verdict::Warn,
            "the scheduler is suspended: nothing runs",
        )
        .run(NextCommand::ResumeScheduler),
        Ok(s) if !s.sync_cycle_enabled => Finding::new(
            "scheduler",
            Verdict::Warn,
            "SyncCycleEnabled is False: synchronization does not run",
        )
        .run(NextCommand::EnableSyncCycle),
        Ok(s) => Finding::new(
            "scheduler",
            Verdict::Ok,
            // Get-ADSyncScheduler's names and values (True/False).
            format!(
                "SyncCycleEnabled True, MaintenanceEnabled {}, every {} minutes",
                ["False", "True"][usize::from(s.maintenance_enabled)],
                s.interval_minutes
            ),
        ),
        Err(error) => Finding::failed("scheduler", &error),
    });
    match super::operation::interrupted(server) {
        Ok(interrupted) if interrupted.is_empty() => {}
        Ok(interrupted) => findings.extend(interrupted.into_iter().map(|op| {
            Finding::new(
                "interrupted operation",
                Verdict::Fail,
                format!(
                    "the {} operation started {} stopped with sync cycles disabled",
                    op.kind, op.started_at
                ),
            )
            .advice(
                "run the same operation again to resume it; any operation puts the scheduler back",
            )
        })),
        Err(error) => findings.push(Finding::failed("interrupted operation", &error)),
    }
    findings.push(tpm_finding(server));
    findings.push(key_store_finding(server));
    let credential = match server.credential() {
        Ok(ConnectorCredential::None) => Finding::new(
            "credential",
            Verdict::Warn,
            "the connector has no credential configured",
        )
        .fix(MOVE_TO_APPLICATION),
        Ok(ConnectorCredential::ServiceAccount(account)) => Finding::new(
            "credential",
            Verdict::Warn,
            format!(
                "the connector signs in with the service account {} (a password)",
                account.user_principal_name
            ),
        )
        .fix(MOVE_TO_APPLICATION),
        Ok(ConnectorCredential::Application(app)) => {
            findings.push(Finding::new(
                "credential",
                Verdict::Ok,
                format!("application {}", app.application_id),
            ));
            certificate_finding(server, &app.certificate_sha256, now)
        }
        Err(error) => Finding::failed("credential", &error),
    };
    findings.push(credential);
    if let Some(clone) = clone_finding(server) {
        findings.push(clone);
    }
    findings
}

/// Which state directory this is and, in the system one, whether root's
/// per-user directory still holds the configured state of an older version.
fn state_findings(server: &LocalServer) -> Vec<Finding> {
    let dir = server.state_dir();
    let system = crate::host::is_system_state(dir);
    let mut here = Finding::new(
        "state directory",
        Verdict::Ok,
        match system {
            true => format!(
                "{}: this server's state, the one the scheduler service uses",
                dir.display()
            ),
            false => dir.display().to_string(),
        },
    );
    here.state_dir = Some(dir.to_path_buf());
    let mut findings = vec![here];
    if system {
        findings.extend(left_behind_finding(server));
    }
    findings
}

/// Root's per-user directory (where root's state was kept before it moved
/// to the system directory) holding a configured state this one lacks.
fn left_behind_finding(server: &LocalServer) -> Option<Finding> {
    let dir = server.state_dir();
    let old = crate::host::user_state_dir().filter(|old| old != dir)?;
    if !matches!(server.credential(), Ok(ConnectorCredential::None)) {
        return None;
    }
    let identity = crate::host::configured_identity(&old)?;
    let (dir, old) = (shell_word(dir), shell_word(&old));
    Some(
        Finding::new(
            "old state directory",
            Verdict::Warn,
            format!(
                "{old}, root's per-user directory, holds a configured state (ConnectorIdentityType {identity}) that this server's state {dir} lacks: every command and the scheduler service use {dir}, so nothing looks after it"
            ),
        )
        .advice(format!(
            "stop the scheduler service if it runs (systemctl stop entra-connect-scheduler), move the unconfigured state aside and the old one in its place: `mv -T {dir} {dir}.unused && mv -T {old} {dir} && chmod 0700 {dir}`, then start the service again"
        )),
    )
}

/// `path` as one shell word (quoted when it holds anything but the usual characters).
fn shell_word(path: &Path) -> String {
    let text = path.display().to_string();
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+@%:,".contains(c);
    match !text.is_empty() && text.chars().all(plain) {
        true => text,
        false => format!("'{}'", text.replace('\'', "'\\''")),
    }
}

/// Whether a TPM answers at the configured TCTI.
fn tpm_finding(server: &LocalServer) -> Finding {
    match server.tpm_status() {
        Ok(info) => Finding::new(
            "TPM",
            Verdict::Ok,
            format!(
                "a TPM 2.0 ({}) answers at {}: new keys are created in it",
                info.manufacturer, info.tcti
            ),
        ),
        Err(unavailable) => Finding::new(
            "TPM",
            Verdict::Warn,
            format!("{unavailable}: new keys go to the software key store"),
        )
        .advice(crate::keys::HOW_TO_ENABLE)
        .fix(crate::keys::WITHOUT_A_TPM),
    }
}

/// Where the connector's private key is: in the TPM (it cannot be copied
/// off this server) or a file of the software store.
fn key_store_finding(server: &LocalServer) -> Finding {
    let files = server.state_dir().join("keys");
    let tpm = server.tpm_status();
    let current = match server.credential() {
        Ok(ConnectorCredential::Application(app)) => server
            .certificate(&app.certificate_sha256)
            .ok()
            .map(|stored| (app.certificate_sha256, stored.store)),
        _ => None,
    };
    if let Err(error) = server.key_store() {
        return Finding::failed("key store", &error);
    }
    match (current, tpm) {
        (Some((hash, StoreKind::Tpm)), _) => Finding::new(
            "key store",
            Verdict::Ok,
            format!(
                "the connector's private key (certificate {hash}) is in the TPM: it cannot be copied off this server"
            ),
        ),
        (Some((hash, StoreKind::Software)), Ok(info)) => Finding::new(
            "key store",
            Verdict::Warn,
            format!(
                "the connector's private key (certificate {hash}) is a file in {} (software store), though a TPM answers at {}",
                files.display(),
                info.tcti
            ),
        )
        .run(NextCommand::RotateIntoTpm),
        (None, Ok(info)) => Finding::new(
            "key store",
            Verdict::Ok,
            format!("new private keys are created in the TPM at {}", info.tcti),
        ),
        (_, Err(_)) => Finding::new(
            "key store",
            Verdict::Warn,
            format!(
                "private keys are files in {} (software store, no TPM)",
                files.display()
            ),
        )
        .advice("keep the state directory owner-only and backed up securely"),
    }
}

/// Whether this state was set up on another machine (a copied server).
fn clone_finding(server: &LocalServer) -> Option<Finding> {
    use super::maintenance::{SETUP_MACHINE_ID, machine_id};
    let recorded = server
        .read(|conn| crate::host::settings::get(conn, SETUP_MACHINE_ID))
        .ok()??;
    let current = machine_id()?;
    Some(match recorded == current {
        true => Finding::new("clone check", Verdict::Ok, "set up on this machine"),
        false => Finding::new(
            "clone check",
            Verdict::Fail,
            format!("set up on machine {recorded}, this is {current}: a copied server shares its application with the original"),
        )
        .advice("give this server its own application, or remove the copy; rotating here would break one of them (AADSTS700027)")
        .run(NextCommand::SetUpAfresh),
    })
}

fn certificate_finding(
    server: &LocalServer,
    hash: &crate::domain::CertificateHash,
    now: OffsetDateTime,
) -> Finding {
    let stored = match server.certificate(hash) {
        Ok(stored) => stored,
        Err(error) => {
            return Finding::failed("certificate", &error)
                .advice("the connector cannot sign in without it: configure the credential again")
                .run(NextCommand::Wizard);
        }
    };
    let not_after = stored.info.not_after;
    let left = not_after - now;
    if left.is_negative() {
        return Finding::new(
            "certificate",
            Verdict::Fail,
            format!("{hash} expired on {}", format_time(not_after)),
        )
        .advice("replace the certificate: the connector cannot sign in")
        .run(NextCommand::RotateWithAdministrator);
    }
    if left.whole_days() <= ROTATION_WARNING_DAYS {
        return Finding::new(
            "certificate",
            Verdict::Warn,
            format!(
                "{hash} expires on {} ({} days)",
                format_time(not_after),
                left.whole_days()
            ),
        )
        .advice("plan its replacement before it expires")
        .run(NextCommand::Rotate);
    }
    Finding::new(
        "certificate",
        Verdict::Ok,
        format!("{hash} valid until {}", format_time(not_after)),
    )
}

/// The way each endpoint is reached: through the environment's proxy (named
/// without its password) or directly.
fn proxy_finding(connection: &ConnectionSettings) -> Finding {
    let proxies = match ProxySettings::from_env() {
        Ok(proxies) => proxies,
        Err(error) => {
            return Finding::failed("proxy", &error.into())
                .advice("https_proxy, HTTPS_PROXY, all_proxy and ALL_PROXY take http://[user:password@]host:port");
        }
    };
    let endpoints = &connection.endpoints;
    let routes: Vec<String> = [&endpoints.authority_host, &endpoints.graph_url]
        .into_iter()
        .map(|url| {
            let route = match proxies.route(url) {
                Route::Direct => "direct".to_string(),
                Route::Through(proxy) => format!("through {proxy}"),
            };
            format!("{} {route}", url.origin().ascii_serialization())
        })
        .collect();
    Finding::new("proxy", Verdict::Ok, routes.join("; "))
}

/// Discovery, and the clock against the authority's.
async fn endpoint_findings(connection: &ConnectionSettings) -> Vec<Finding> {
    let observer: crate::entra::http::RetryObserver = std::sync::Arc::new(|_| {});
    let http = match HttpClient::new(
        connection.ca_cert.as_deref(),
        connection.retry.clone(),
        observer,
    ) {
        Ok(http) => http,
        Err(error) => return vec![Finding::failed("endpoints", &error.into())],
    };
    let authority = Authority::new(
        http,
        connection.endpoints.authority_host.clone(),
        &connection.tenant,
    );
    let endpoints = match authority.endpoints().await {
        Ok(endpoints) => endpoints,
        Err(error) => {
            return vec![
                Finding::failed("endpoints", &error.into())
                    .fix([Remedy::correct(Input::Connection)])
                    .advice("check the network path to the identity platform (proxy, firewall)"),
            ];
        }
    };
    let mut findings = vec![Finding::new(
        "endpoints",
        Verdict::Ok,
        format!(
            "tenant {} at {} (token endpoint {})",
            endpoints.tenant_id,
            authority.url(),
            endpoints.token
        ),
    )];
    findings.push(match endpoints.clocks {
        None => Finding::new(
            "clock",
            Verdict::Warn,
            "the identity platform sent no Date header to compare with",
        ),
        Some((theirs, ours)) => clock_finding(theirs, ours),
    });
    findings
}

fn clock_finding(theirs: SystemTime, ours: SystemTime) -> Finding {
    let skew = theirs
        .duration_since(ours)
        .or_else(|_| ours.duration_since(theirs))
        .unwrap_or_default();
    let detail = format!("{} s from the identity platform's clock", skew.as_secs());
    match skew {
        s if s > SKEW_FAIL => Finding::new("clock", Verdict::Fail, detail)
            .advice("synchronize this server's clock (NTP): tokens and assertions are refused"),
        s if s > SKEW_WARN => Finding::new("clock", Verdict::Warn, detail)
            .advice("synchronize this server's clock (NTP)"),
        _ => Finding::new("clock", Verdict::Ok, detail),
    }
}

/// The application audit: everything that can sign in as the connector that this
/// server did not add. Without an administrator the unattended audit (the
/// application's keys and secrets), saying what it cannot check; with one
/// whose roles and consent allow [`permissions::AUDIT`], the audit `app audit
/// --upn` runs, read with doctor's sign-in.
async fn key_audit(
    server: &LocalServer,
    connection: &ConnectionSettings,
    client: &EntraClient,
    administrator: Option<&Result<SignedInAdministrator, EngineError>>,
) -> Finding {
    let (audit, refused) = match administrator {
        None => (
            super::maintenance::unattended_audit(server, connection).await,
            None,
        ),
        Some(Ok(signed_in)) => match signed_in.may(&permissions::AUDIT) {
            Ok(()) => {
                let graph = &signed_in.graph;
                let audit = audit_by_signed_in_administrator(server, client, graph).await;
                (audit, None)
            }
            Err(refused) => (
                super::maintenance::unattended_audit(server, connection).await,
                Some(AuditRefused {
                    why: refused.to_string(),
                    fix: refused.remedies(),
                }),
            ),
        },
        // The administrator finding says why and what to do.
        Some(Err(error)) => (
            super::maintenance::unattended_audit(server, connection).await,
            Some(AuditRefused {
                why: format!("the administrator did not sign in: {error}"),
                fix: Vec::new(),
            }),
        ),
    };
    match audit {
        Ok(audit) => key_audit_finding(&audit, admin_upn(administrator), refused),
        Err(error) => Finding::failed("application audit", &error),
    }
}

/// Why the administrator's part of the audit was not read, and what allows it.
struct AuditRefused {
    why: String,
    fix: Vec<Remedy>,
}

fn admin_upn(administrator: Option<&Result<SignedInAdministrator, EngineError>>) -> Option<&str> {
    match administrator {
        Some(Ok(signed_in)) => Some(&signed_in.grantee.upn),
        _ => None,
    }
}

/// The application audit's finding: WARN naming each unknown item (kind and id) with
/// what revokes it, or when the administrator's read was refused; and what
/// was not checked, and why.
fn key_audit_finding(audit: &Audit, upn: Option<&str>, refused: Option<AuditRefused>) -> Finding {
    let unknown: Vec<&AuditItem> = audit.unknown().collect();
    let not_checked = match (&refused, audit.needs_administrator.is_empty()) {
        (_, true) => String::new(),
        (Some(_), false) => format!(
            "; not checked, the administrator's read was refused: {}",
            audit.needs_administrator.join("; ")
        ),
        (None, false) => match upn {
            Some(upn) => format!(
                "; not checked, {upn} may not read them: {}",
                audit.needs_administrator.join("; ")
            ),
            None => format!(
                "; not checked, these need an administrator (doctor --upn UPN): {}",
                audit.needs_administrator.join("; ")
            ),
        },
    };
    let checked = match upn.is_some() && refused.is_none() {
        true => "the application, its service principal, owners and grants",
        false => "the application's keys and client secrets",
    };
    if unknown.is_empty() {
        let verdict = match refused {
            Some(_) => Verdict::Warn,
            None => Verdict::Ok,
        };
        let finding = Finding::new(
            "application audit",
            verdict,
            format!(
                "{checked}: nothing this server did not add ({} item(s)){not_checked}",
                audit.items.len()
            ),
        );
        return match refused {
            Some(refused) => finding.advice(refused.why).fix(refused.fix),
            None => finding,
        };
    }
    let named: Vec<String> = unknown
        .iter()
        .map(|item| format!("{} {}", item.kind.describe(), item.id))
        .collect();
    let finding = Finding::new(
        "application audit",
        Verdict::Warn,
        format!(
            "{checked}: what this server did not add: {}; whoever holds them can sign in as this connector{not_checked}",
            named.join(", ")
        ),
    )
    .advice("if they are not yours, revoke them");
    let revocations = unknown.iter().filter_map(|item| item.revoke.as_ref());
    let finding = finding.fix(revocations.map(|revoke| match revoke {
        Revocation::Run(command) => Remedy::run(command.clone()),
        Revocation::GraphPowerShell(cmdlet) => {
            Remedy::outside(format!("with Microsoft Graph PowerShell: {cmdlet}"))
        }
    }));
    match refused {
        Some(refused) => finding.advice(refused.why).fix(refused.fix),
        None => finding,
    }
}

/// A token with the current credential that lets the connector synchronize.
async fn token_finding(server: &LocalServer, client: &EntraClient) -> Finding {
    match connector_token(server, client).await {
        Ok((connector, token)) if may_synchronize(&connector, &token) => Finding::new(
            "token",
            Verdict::Ok,
            format!("{connector} gets a token for the synchronization service"),
        ),
        Ok((connector, _)) => Finding::new(
            "token",
            Verdict::Fail,
            format!("the token of {connector} does not carry {SYNC_SERVICE_ROLE}"),
        )
        .advice(format!(
            "grant the application {SYNC_SERVICE_ROLE} on the Microsoft Entra AD Synchronization Service (API permissions, admin consent)"
        )),
        Err(error) => {
            let finding = Finding::failed("token", &error);
            match server.credential() {
                Ok(ConnectorCredential::ServiceAccount(_)) => finding
                    .advice("an account created in the last 15 minutes (by a rollback that did not wait for it) may not sign in yet: check again later; otherwise record its current password")
                    .run(NextCommand::UseServiceAccount),
                _ => finding,
            }
        }
    }
}

/// The administrator as doctor signs them in: with every consented scope,
/// their directory roles, and who they are for a refusal's wording.
struct SignedInAdministrator {
    graph: GraphClient,
    scopes: HashSet<String>,
    roles: Vec<DirectoryRole>,
    grantee: Grantee,
}

impl SignedInAdministrator {
    /// Whether their roles and the client's consent allow what `needs` lists.
    fn may(&self, needs: &Needs) -> Result<(), EngineError> {
        needs.check(&self.scopes, &self.roles, &self.grantee)
    }
}

fn grantee(connection: &ConnectionSettings, admin: &UserSignIn) -> Grantee {
    Grantee {
        upn: admin.upn().to_string(),
        client_id: connection.admin_client_id.clone(),
        tenant: connection.tenant.to_string(),
        authority_host: connection.endpoints.authority_host.to_string(),
    }
}

/// Signs the administrator in, with every consented scope (to say what each
/// operation would get), and reads their roles.
async fn sign_in_administrator(
    run: &mut Run,
    client: &EntraClient,
    connection: &ConnectionSettings,
    admin: &UserSignIn,
) -> Result<SignedInAdministrator, EngineError> {
    let progress = run.progress().clone();
    let (graph, scopes, roles) = run
        .check(SIGN_IN, async || {
            let everything = [format!("{GRAPH_APP_ID}/.default")];
            let graph = client
                .sign_in_user(admin, &everything, |prompt| {
                    let _ = progress.send(Progress::from(prompt));
                })
                .await?;
            let roles = graph.my_directory_roles().await?;
            let scopes = graph.token_scopes();
            Ok(((graph, scopes, roles), String::new()))
        })
        .await?;
    Ok(SignedInAdministrator {
        graph,
        scopes,
        roles,
        grantee: grantee(connection, admin),
    })
}

/// Says, for each operation, whether the administrator's roles and the
/// client's consent allow it.
fn admin_findings(
    connection: &ConnectionSettings,
    admin: &UserSignIn,
    signed_in: &Result<SignedInAdministrator, EngineError>,
) -> Vec<Finding> {
    let signed_in = match signed_in {
        Ok(signed_in) => signed_in,
        // Nothing consented at all: every operation lacks all it asks for.
        Err(EngineError::Entra(error)) if error.aadsts().is_some_and(consent_required) => {
            let refused_to = grantee(connection, admin);
            let mut findings = vec![Finding::new(
                "administrator",
                Verdict::Fail,
                format!("{} cannot sign in to this client: {error}", admin.upn()),
            )];
            findings.extend(OPERATIONS.iter().map(|(operation, needs, missing_is)| {
                let missing =
                    EngineError::ConsentMissing(Box::new(refused_to.consent(needs.scopes)));
                Finding::new(
                    *operation,
                    *missing_is,
                    format!("needs {}", needs.describe()),
                )
                .advice(missing.to_string())
                .fix(missing.remedies())
            }));
            return findings;
        }
        Err(error) => return vec![Finding::failed("administrator", error)],
    };
    let mut findings = vec![Finding::new(
        "administrator",
        Verdict::Ok,
        format!(
            "{} holds {}; consented scopes: {}",
            admin.upn(),
            role_list(&signed_in.roles),
            sorted(&signed_in.scopes)
        ),
    )];
    findings.extend(OPERATIONS.iter().map(|(operation, needs, missing_is)| {
        match signed_in.may(needs) {
            Ok(()) => Finding::new(
                *operation,
                Verdict::Ok,
                format!("allowed: {}", needs.describe()),
            ),
            Err(error) => Finding::new(
                *operation,
                *missing_is,
                format!("needs {}", needs.describe()),
            )
            .advice(error.to_string())
            .fix(error.remedies()),
        }
    }));
    findings
}

fn role_list(roles: &[DirectoryRole]) -> String {
    match roles.is_empty() {
        true => "no directory role".into(),
        false => roles
            .iter()
            .map(|r| {
                r.display_name
                    .clone()
                    .unwrap_or_else(|| r.role_template_id.clone())
            })
            .collect::<Vec<_>>()
            .join(", "),
    }
}

fn sorted(scopes: &HashSet<String>) -> String {
    let mut scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    scopes.sort_unstable();
    match scopes.is_empty() {
        true => "none".into(),
        false => scopes.join(" "),
    }
}

/// Whether the findings allow exit code 0: nothing failed.
pub fn healthy(findings: &[Finding]) -> bool {
    findings.iter().all(|f| f.verdict != Verdict::Fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_skew_warns_then_fails() {
        let ours = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(clock_finding(ours, ours).verdict, Verdict::Ok);
        let late = ours + Duration::from_secs(90);
        assert_eq!(clock_finding(late, ours).verdict, Verdict::Warn);
        let early = ours - Duration::from_secs(400);
        let finding = clock_finding(early, ours);
        assert_eq!(finding.verdict, Verdict::Fail);
        assert!(finding.detail.starts_with("400 s"), "{}", finding.detail);
    }

    #[test]
    fn a_path_in_a_command_is_one_shell_word() {
        assert_eq!(
            shell_word(Path::new("/root/.local/share/entra-connect")),
            "/root/.local/share/entra-connect"
        );
        assert_eq!(
            shell_word(Path::new("/home/a b/it's")),
            r"'/home/a b/it'\''s'"
        );
    }
}
