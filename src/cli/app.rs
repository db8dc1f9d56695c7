//! `app register` and `app link` (Add-EntraApplicationRegistration,
//! Add-ADSyncApplicationRegistration), `app rotate`
//! (Invoke-ADSyncApplicationCredentialRotation), `app remove-key`
//! (Remove-EntraApplicationKey), `app keys`, `app audit` and `app revoke`.

use super::connection::{
    CertificateArg, ConnectionArgs, DryRunArg, Invocation, SignInArgs, SignInOptions, human_plan,
    run_operation,
};
use super::output::{Output, fields, or_dash, table, yes_no};
use super::values::one_of;
use crate::domain::{AppId, ApplicationCredential, CertificateDays, Upn};
use crate::engine::audit::Audit;
use crate::engine::connection::{for_credential, remember};
use crate::engine::link::{Link, LinkChoice};
use crate::engine::register::{CertificateSource, Register, Registration};
use crate::engine::remove_key::{RemoveKey, RemovedKey};
use crate::engine::revoke::{self, Revoked, Selection};
use crate::engine::rotate::{NewCertificate, Rotate, Rotation};
use crate::engine::{
    ApplicationKey, EntraRequest, LocalServer, OperationRequest, Outcome, StoreChoice,
    application_keys,
};
use crate::entra::client::DEFAULT_ADMIN_CLIENT_ID;
use clap::{Args, Subcommand};
use serde::Serialize;

#[derive(Debug, Subcommand)]
pub enum AppCommand {
    /// Register this server's application in Entra (Managed, or BYOC with --certificate-sha256).
    Register(Box<RegisterArgs>),
    /// Make an application the connector's credential (the one registered, or BYOA with --application-app-id).
    Link(Box<LinkArgs>),
    /// Rotate the application's certificate (the application adds its new key itself; an administrator with --upn when it cannot).
    Rotate(Box<RotateArgs>),
    /// Remove a key from the application (revocation), by its keyId; never the key in use.
    RemoveKey(Box<RemoveKeyArgs>),
    /// List the application's keys: keyId, thumbprint, validity, whether in use.
    Keys(Box<ConnectionArgs>),
    /// Everything that can sign in as the connector, each with its verdict and what revokes it;
    /// exit 3 when something is unknown.
    Audit(Box<AuditArgs>),
    /// Remove what can sign in as the connector and this server did not put there (client
    /// secrets, federated credentials, owners, extra app roles and grants, unknown keys), by
    /// the ids `app audit --upn` lists or every unknown one; shows the plan first.
    Revoke(Box<RevokeArgs>),
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The administrator who reviews and removes: an Application Administrator or Cloud
    /// Application Administrator for credentials and owners, a Privileged Role Administrator or
    /// Global Administrator for app roles of Microsoft Graph (the plan says which each needs).
    #[arg(long, value_name = "UPN")]
    upn: Upn,
    /// The id of an item `app audit --upn` lists (repeatable); an id two items share (a user
    /// owning both the application and its service principal) removes both.
    #[arg(
        long = "id",
        value_name = "ID",
        required_unless_present = "all_unknown"
    )]
    ids: Vec<String>,
    /// Every item the audit finds unknown (not a disabled service principal: enable it again).
    #[arg(long, conflicts_with = "ids")]
    all_unknown: bool,
    #[command(flatten)]
    how: SignInOptions,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// An administrator who may read the application (Hybrid Identity Administrator or higher):
    /// also audits the service principal, federated credentials, owners and grants. Without it,
    /// the application reads only its own keys and secrets.
    #[arg(long, value_name = "UPN")]
    upn: Option<Upn>,
    #[command(flatten)]
    how: SignInOptions,
    #[command(flatten)]
    connection: ConnectionArgs,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    certificate: CertificateArg,
    /// Validity of a new managed certificate, in days (1-730).
    #[arg(long, value_name = "N", default_value_t = CertificateDays::default())]
    days: CertificateDays,
    /// Where a new managed key goes (auto: a TPM when one answers, else software). Default: the
    /// same kind of store as the current key.
    #[arg(long, value_parser = one_of::<StoreChoice>(), conflicts_with = "certificate_sha256")]
    store: Option<StoreChoice>,
    /// An administrator who may update application credentials (Application Administrator,
    /// Cloud Application Administrator, Global Administrator): needed only when the application
    /// cannot add its key itself (current certificate expired or missing); given, the administrator
    /// replaces the keys.
    #[arg(long, value_name = "UPN")]
    upn: Option<Upn>,
    #[command(flatten)]
    how: SignInOptions,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct RemoveKeyArgs {
    /// The keyId of the key to remove (`entra-connect app keys` lists them).
    #[arg(long, value_name = "KEYID")]
    certificate_id: uuid::Uuid,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct RegisterArgs {
    #[command(flatten)]
    sign_in: SignInArgs,
    #[command(flatten)]
    certificate: CertificateArg,
    /// Where a new managed key goes (auto: a TPM when one answers, else software, with event 1014).
    #[arg(long, value_parser = one_of::<StoreChoice>(), conflicts_with = "certificate_sha256")]
    store: Option<StoreChoice>,
    /// Also grant the password writeback roles (when the password reset service is in the tenant).
    #[arg(long)]
    password_writeback: bool,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

#[derive(Debug, Args)]
pub struct LinkArgs {
    #[command(flatten)]
    sign_in: SignInArgs,
    #[command(flatten)]
    certificate: CertificateArg,
    /// Bring Your Own Application: its application (client) id.
    #[arg(long, value_name = "APPID", requires = "certificate_sha256")]
    application_app_id: Option<AppId>,
    #[command(flatten)]
    connection: ConnectionArgs,
    #[command(flatten)]
    dry_run: DryRunArg,
}

/// What `app register`/`app link` print: enough to find the objects again.
#[derive(Serialize)]
struct Printed {
    credential_type: &'static str,
    tenant_id: String,
    app_id: String,
    service_principal_id: String,
    certificate_sha256: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    duplicates: Vec<String>,
}

impl Printed {
    fn registered(registration: Registration, credential_type: &'static str) -> Printed {
        Printed {
            credential_type,
            tenant_id: registration.tenant_id,
            app_id: registration.application.app_id,
            service_principal_id: registration.service_principal_id,
            certificate_sha256: registration.certificate.sha256.to_string(),
            duplicates: registration.duplicates,
        }
    }

    fn linked(credential: ApplicationCredential) -> Printed {
        Printed {
            credential_type: "Application",
            tenant_id: credential.tenant_id,
            app_id: credential.application_id,
            service_principal_id: credential.service_principal_id,
            certificate_sha256: credential.certificate_sha256.to_string(),
            duplicates: Vec::new(),
        }
    }
}

fn human(printed: &Printed) -> String {
    let mut rows = vec![
        ("ConnectorIdentityType", printed.credential_type.to_string()),
        ("TenantId", printed.tenant_id.clone()),
        ("ApplicationId", printed.app_id.clone()),
        ("ServicePrincipalId", printed.service_principal_id.clone()),
        ("CertificateSHA256Hash", printed.certificate_sha256.clone()),
    ];
    if !printed.duplicates.is_empty() {
        rows.push((
            "OtherApplicationsForThisHost",
            printed.duplicates.join(", "),
        ));
    }
    fields(&rows)
}

fn human_rotation(rotation: &Rotation) -> String {
    let mut text = fields(&[
        ("ApplicationId", rotation.app_id.clone()),
        (
            "OldCertificateSHA256Hash",
            rotation.old_certificate_sha256.to_string(),
        ),
        (
            "NewCertificateSHA256Hash",
            rotation.new_certificate_sha256.to_string(),
        ),
        ("KeyAddedBy", rotation.path.describe().to_string()),
        ("Why", rotation.why.to_string()),
        ("OldKey", rotation.old_key.describe()),
        (
            "OldCertificateInStore",
            match rotation.old_certificate_deleted {
                true => "deleted".to_string(),
                false => "kept".to_string(),
            },
        ),
    ]);
    for warning in &rotation.warnings {
        text.push_str(&format!("WARNING: {warning}\n"));
    }
    text
}

fn human_removed(removed: &RemovedKey) -> String {
    fields(&[
        ("ApplicationId", removed.app_id.clone()),
        ("RemovedKeyId", removed.key_id.clone()),
        ("Thumbprint", removed.thumbprint.clone().unwrap_or_default()),
    ])
}

fn keys(connection: ConnectionArgs, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let (inputs, settings) = connection.for_credential(server, DEFAULT_ADMIN_CLIENT_ID)?;
    let settings = settings?;
    let keys = run_operation(server, out, async |server, progress| {
        application_keys(server, settings, progress).await
    })?;
    remember(server, &inputs)?;
    out.show(&keys, |keys| keys_table(keys))
}

fn audit(args: AuditArgs, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let (inputs, connection) = args
        .connection
        .for_credential(server, &args.how.admin_client_id())?;
    let admin = args.how.sign_in_if(args.upn.as_ref())?;
    let entra = EntraRequest {
        connection: connection?,
        admin,
    };
    let audit = run_operation(server, out, async |server, progress| {
        crate::engine::audit::audit(server, &entra, progress).await
    })?;
    remember(server, &inputs)?;
    out.show(&audit, audit_table)?;
    let unknown = audit.unknown().count();
    match unknown {
        0 => Ok(()),
        _ => Err(super::AuditFoundUnknown { unknown }.into()),
    }
}

/// `app revoke`: the administrator signs in once; the audit they read is the
/// review the removals are chosen from; the plan lists each removal (all a
/// dry run does); the run makes them.
fn revoke(args: RevokeArgs, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let (inputs, connection) = args
        .connection
        .for_credential(server, &args.how.admin_client_id())?;
    let entra = EntraRequest {
        connection: connection?,
        admin: Some(args.how.sign_in(&args.upn)?),
    };
    let selection = match args.all_unknown {
        true => Selection::AllUnknown,
        false => Selection::Ids(args.ids),
    };
    let audit = run_operation(server, out, async |server, progress| {
        revoke::review(server, &entra, progress).await
    })?;
    let chosen = revoke::choose(server, &audit, &selection)?;
    if chosen.removals.is_empty() {
        let nothing = Revoked {
            app_id: audit.app_id,
            removed: Vec::new(),
        };
        return out.show(&nothing, revoked_table);
    }
    let plan = crate::engine::plan(server, entra.target(), OperationRequest::Revoke(chosen))?;
    if args.dry_run.dry_run {
        return out.show(&plan, |plan| human_plan(&plan.steps));
    }
    let outcome = run_operation(server, out, async |server, progress| {
        crate::engine::execute(server, &entra, &plan, progress).await
    })?;
    remember(server, &inputs)?;
    show_outcome(server, out, outcome)
}

/// What `app revoke` removed, one row each.
fn revoked_table(revoked: &Revoked) -> String {
    if revoked.removed.is_empty() {
        return format!(
            "Nothing this server did not put there can sign in as application {}: nothing to revoke.\n",
            revoked.app_id
        );
    }
    let rows = revoked.removed.iter().map(|removal| {
        vec![
            removal.kind.describe().to_string(),
            removal.id.clone(),
            removal.label.clone(),
        ]
    });
    let mut text = format!("Removed from application {}:\n", revoked.app_id);
    text.push_str(&table(&["Kind", "Id", "What"], rows));
    text
}

/// The audit, one row per item, and what was not checked without an administrator.
pub fn audit_table(audit: &Audit) -> String {
    let rows = audit.items.iter().map(|item| {
        vec![
            item.kind.describe().to_string(),
            item.id.clone(),
            or_dash(item.display_name.as_ref()),
            or_dash(item.detail.as_ref()),
            or_dash(item.end.as_ref()),
            item.verdict.describe().to_string(),
            or_dash(
                item.revoke
                    .as_ref()
                    .map(|revoke| revoke.command_line())
                    .as_ref(),
            ),
        ]
    });
    let mut text = table(
        &[
            "Kind",
            "Id",
            "Name",
            "Detail",
            "End",
            "Verdict",
            "Revoke with",
        ],
        rows,
    );
    if !audit.needs_administrator.is_empty() {
        text.push_str(&format!(
            "Not checked without an administrator (app audit --upn UPN): {}.\n",
            audit.needs_administrator.join("; ")
        ));
    }
    text
}

/// The application's keys with the audit's verdict, one row each.
pub fn keys_table(keys: &[ApplicationKey]) -> String {
    let rows = keys.iter().map(|key| {
        vec![
            key.key_id.clone(),
            or_dash(key.thumbprint.as_ref()),
            or_dash(key.start.as_ref()),
            or_dash(key.end.as_ref()),
            key.origin.describe().to_string(),
        ]
    });
    table(&["KeyId", "Thumbprint", "Start", "End", "Key"], rows)
}

pub fn run(command: AppCommand, server: &mut LocalServer, out: &Output) -> anyhow::Result<()> {
    let (invocation, request, dry_run) = match command {
        AppCommand::Keys(connection) => return keys(*connection, server, out),
        AppCommand::Audit(args) => return audit(*args, server, out),
        AppCommand::Revoke(args) => return revoke(*args, server, out),
        AppCommand::Rotate(args) => {
            let certificate = match args.certificate.certificate_sha256 {
                Some(hash) => NewCertificate::Existing(hash),
                None => NewCertificate::Managed { days: args.days },
            };
            if let Some(store) = args.store {
                server.choose_store(store);
            }
            let request = OperationRequest::Rotate(Rotate { certificate });
            let connection = for_credential(server, args.connection.inputs())?;
            let mut invocation =
                Invocation::optional_admin(&args.connection, args.upn, Some(&args.how));
            invocation.connection = connection;
            (invocation, request, args.dry_run)
        }
        AppCommand::RemoveKey(args) => {
            let request = OperationRequest::RemoveKey(RemoveKey {
                key_id: args.certificate_id.to_string(),
            });
            let connection = for_credential(server, args.connection.inputs())?;
            let mut invocation = Invocation::optional_admin(&args.connection, None, None);
            invocation.connection = connection;
            (invocation, request, args.dry_run)
        }
        AppCommand::Register(args) => {
            let certificate = match args.certificate.certificate_sha256 {
                Some(hash) => CertificateSource::Existing(hash),
                None => CertificateSource::Managed,
            };
            if let Some(store) = args.store {
                server.choose_store(store);
            }
            let request = OperationRequest::Register(Register {
                certificate,
                password_writeback: args.password_writeback,
            });
            let invocation = Invocation::new(&args.connection, &args.sign_in);
            (invocation, request, args.dry_run)
        }
        AppCommand::Link(args) => {
            let choice = match (args.application_app_id, args.certificate.certificate_sha256) {
                (Some(app_id), Some(certificate)) => LinkChoice::Existing {
                    app_id,
                    certificate,
                },
                _ => LinkChoice::Registered,
            };
            let request = OperationRequest::Link(Link { choice });
            let invocation = Invocation::new(&args.connection, &args.sign_in);
            (invocation, request, args.dry_run)
        }
    };
    match invocation.perform(server, request, dry_run, out)? {
        None => Ok(()),
        Some(outcome) => show_outcome(server, out, outcome),
    }
}

/// Prints what an operation produced (warnings on stderr first).
pub fn show_outcome(server: &LocalServer, out: &Output, outcome: Outcome) -> anyhow::Result<()> {
    match outcome {
        Outcome::Registered(registration) => {
            let credential_type = server.credential()?.identity_type().as_str();
            out.show(&Printed::registered(registration, credential_type), human)
        }
        Outcome::Credential(credential) | Outcome::Repaired(credential) => {
            out.show(&Printed::linked(credential), human)
        }
        Outcome::ServiceAccountRemoved(account) => out.show(&account, |account| {
            fields(&[
                ("Removed", account.user_principal_name.clone()),
                (
                    "WayBack",
                    match account.way_back_forgotten {
                        true => {
                            "forgotten (it was this server's; a rollback now needs a new account)"
                        }
                        false => "unchanged (the account was not this server's way back)",
                    }
                    .to_string(),
                ),
            ])
        }),
        Outcome::Rotated(rotation) => {
            for warning in &rotation.warnings {
                eprintln!("WARNING: {warning}");
            }
            out.show(&rotation, human_rotation)
        }
        Outcome::KeyRemoved(removed) => out.show(&removed, human_removed),
        Outcome::Revoked(revoked) => out.show(&revoked, revoked_table),
        Outcome::ServiceAccount(account) => out.show(&account, |account| {
            fields(&[
                ("ConnectorIdentityType", "ServiceAccount".to_string()),
                ("ServiceAccount", account.user_principal_name.clone()),
            ])
        }),
        Outcome::RolledBack(rolled_back) => {
            for warning in &rolled_back.warnings {
                eprintln!("WARNING: {warning}");
            }
            out.show(&rolled_back, |rolled_back| {
                fields(&[
                    ("ConnectorIdentityType", "ServiceAccount".to_string()),
                    ("ServiceAccount", rolled_back.user_principal_name.clone()),
                    ("NewAccountCreated", yes_no(rolled_back.created)),
                    ("SignInVerified", yes_no(rolled_back.verified)),
                ])
            })
        }
    }
}
