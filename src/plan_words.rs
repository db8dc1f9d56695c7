//! A plan in words: what the Ready page and `--dry-run` both show for the
//! engine's typed [`Change`]s. The engine says what will change; this is the
//! one place that says it in a sentence.

use crate::domain::{
    AuditKind, EventId, MANAGED_CERTIFICATE_SUBJECT, PASSWORD_WRITEBACK_ROLES, SYNC_SERVICE_ROLE,
    format_time,
};
use crate::engine::operation::{ApplicationLookup, CertificateSummary, KeyWriter, Replicating};
use crate::engine::{Change, Condition, PlannedStep};
use crate::keys::Placement;

/// Where a plan is shown: on the Ready page, where confirming runs it, or
/// as a dry run, which runs nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shown {
    Ready,
    DryRun,
}

/// The line above a plan: whether running it starts afresh or continues an
/// earlier run that stopped part way; for a dry run, what would happen.
pub fn intro(steps: &[PlannedStep], shown: Shown) -> &'static str {
    let resumed = steps.iter().any(|step| step.done_earlier);
    match (shown, resumed) {
        (Shown::Ready, true) => {
            "An earlier run of this change stopped part way. It continues from there; what it completed is kept, not repeated:"
        }
        (Shown::Ready, false) => "Nothing has changed yet. These steps run, in this order:",
        (Shown::DryRun, true) => {
            "Dry run: nothing was changed. An earlier run of this change stopped part way; running it would continue from there, keeping what it completed, not repeating it:"
        }
        (Shown::DryRun, false) => {
            "Dry run: nothing was changed. These steps would run, in this order:"
        }
    }
}

/// Each step as its numbered heading and what it does.
pub fn numbered(steps: &[PlannedStep]) -> impl Iterator<Item = (String, String)> + '_ {
    steps
        .iter()
        .enumerate()
        .map(|(index, step)| (heading(step, index + 1), detail(step)))
}

/// `3. Register this server's application`, marked when it changes nothing.
fn heading(step: &PlannedStep, number: usize) -> String {
    let marker = match (step.done_earlier, step.changes) {
        (true, _) => " (done in an earlier run)",
        (false, false) => " (no change)",
        (false, true) => "",
    };
    format!("{number}. {}{marker}", step.title)
}

/// What the step does, with the case it is limited to.
fn detail(step: &PlannedStep) -> String {
    let text = change(&step.change);
    match step.only_if {
        None => text,
        Some(Condition::NewAccountNeeded) => {
            let mut chars = text.chars();
            let first = chars.next().map(|c| c.to_lowercase().to_string());
            format!(
                "Only for a new account: {}{}",
                first.unwrap_or_default(),
                chars.as_str()
            )
        }
    }
}

fn change(change: &Change) -> String {
    match change {
        Change::SignIn {
            account,
            tenant,
            needs,
        } => format!(
            "Sign in as {} to tenant {tenant} and check, before any change, that the account holds {needs}",
            account
                .as_deref()
                .unwrap_or("an administrator (none given yet)")
        ),
        Change::SchedulerOff { sync_cycle_enabled } => format!(
            "Turn sync cycles off during the change (SyncCycleEnabled is {sync_cycle_enabled}); the last step puts them back"
        ),
        Change::SchedulerBack { sync_cycle_enabled } => format!(
            "Set SyncCycleEnabled back to {sync_cycle_enabled}, as it was, whether the change succeeds or stops"
        ),
        Change::NewCertificate { days, placement } => {
            let (place, kept) = match placement {
                Placement::Tpm { tcti } => (
                    format!("the TPM at {tcti}"),
                    "; the private key is created in the TPM and never leaves it",
                ),
                Placement::Software { chosen: true } => {
                    ("the software key store (the store chosen for new keys)".to_string(), "")
                }
                Placement::Software { chosen: false } => {
                    ("the software key store (no TPM)".to_string(), "")
                }
            };
            format!(
                "Create an RSA 2048 key and a self-signed certificate {MANAGED_CERTIFICATE_SUBJECT}, valid {days} days, in {place}{kept}"
            )
        }
        Change::PreparedCertificate { sha256 } => {
            format!("Certificate {sha256} (prepared earlier)")
        }
        Change::ReuseCertificate {
            sha256,
            application,
        } => format!(
            "Reuse certificate {sha256} of this server's application {application} (kept when the connector rolled back to a service account); no new key"
        ),
        Change::UseCertificate { certificate } => {
            format!("Use certificate {} from the key store", described(certificate))
        }
        Change::ImportCertificate { certificate } => format!(
            "Import certificate {} and its private key into the software key store",
            described(certificate)
        ),
        Change::DeleteCertificate {
            sha256,
            subject,
            store,
        } => format!(
            "Delete certificate {sha256} ({subject}) and its private key from the {store} key store"
        ),
        Change::RegisterApplication { name, tenant } => format!(
            "Register the application {name} in tenant {tenant} (this organization only) with the certificate, unless it exists there already with it"
        ),
        Change::CreateServicePrincipal => "Create its service principal, unless it has one".into(),
        Change::GrantAppRoles { password_writeback } => {
            format!("Grant it {}", app_roles(*password_writeback))
        }
        Change::SaveRegistration => {
            "Keep the application's ids in this server's state, for `entra-connect app link`".into()
        }
        Change::UseExistingApplication {
            app_id,
            certificate,
            password_writeback,
        } => format!(
            "Use the existing application {app_id} with certificate {} ({}): nothing is created in Entra; it must carry the certificate and hold {}",
            certificate.sha256,
            certificate.subject,
            app_roles(*password_writeback)
        ),
        Change::UseRegisteredApplication { name, app_id } => {
            format!("Use the application {name} ({app_id}) registered on this server")
        }
        Change::CheckApplication { app_id, sha256 } => format!(
            "Check that application {app_id} exists, carries certificate {sha256} and holds {SYNC_SERVICE_ROLE}; nothing is created in Entra"
        ),
        Change::AcquireSyncToken { waiting_for } => match waiting_for {
            Replicating::ApplicationAndGrant => format!(
                "Acquire a token for the synchronization service with the certificate, waiting for Entra to replicate the application and its grant until the token carries {SYNC_SERVICE_ROLE}"
            ),
            Replicating::NewKey => format!(
                "Acquire a token for the synchronization service with the new certificate, waiting for Entra to replicate the key, until it carries {SYNC_SERVICE_ROLE}"
            ),
            Replicating::Nothing => format!(
                "Acquire a token for the synchronization service as that application with that certificate; it must carry {SYNC_SERVICE_ROLE} before anything is saved"
            ),
        },
        Change::SwitchToApplication { from } => {
            format!("Switch the connector credential from {from} to Application")
        }
        Change::AddKey { by, why } => match by {
            KeyWriter::Application { app_id, current } => format!(
                "As application {app_id} (an app-only Graph token with the current certificate {current}), add the new certificate to its keys with addKey and a proof signed by the current key. Why this path: {why}"
            ),
            KeyWriter::Administrator { upn } => format!(
                "As {}, read the application's keys and write them back with the new certificate added (PATCH keyCredentials replaces the whole collection; every other key is kept). Why this path: {why}",
                upn.as_deref()
                    .unwrap_or("the administrator of the earlier run")
            ),
        },
        Change::SwitchCertificate { from } => format!(
            "Switch the connector credential from certificate {from} to the new one (event {})",
            EventId::ROTATION_DONE.0
        ),
        Change::RemoveOldKey { sha256, yours } => format!(
            "Remove the old key (certificate {sha256}) from the application with removeKey and a proof signed by the new key; never the last valid key. If that fails the rotation stands: error event {} names the key and the command that removes it.{}",
            EventId::OLD_KEY_NOT_REMOVED.0,
            match yours {
                true => {
                    " The old certificate is yours (Bring Your Own Certificate): it stays in the key store."
                }
                false => "",
            }
        ),
        Change::DeleteOldCertificate { sha256 } => format!(
            "Delete the old key and certificate {sha256} from the key store (made here, and not needed once the new one works)"
        ),
        Change::FindKey { app_id, key_id } => format!(
            "As application {app_id} (an app-only Graph token with the certificate in use), find key {key_id} among its keys; refuse the key in use and an unknown id"
        ),
        Change::RemoveKey {
            key_id,
            signed_with,
        } => format!(
            "Remove key {key_id} from the application with removeKey and a proof signed by the key in use (certificate {signed_with}); never the last valid key"
        ),
        Change::MayRevoke { each } => format!(
            "Check, before any removal, that the account may make each: {}",
            each.iter()
                .map(|group| format!(
                    "{} needs one of the roles {}",
                    group.removals.join(", "),
                    group.needs.role_names()
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Change::Revoke { removals } => {
            let named: Vec<String> = removals.iter().map(|removal| removal.describe()).collect();
            let how = match removals.first().map(|removal| removal.kind) {
                Some(AuditKind::CertificateKey) => {
                    " as the application itself (removeKey, with a proof signed by the key in use)"
                }
                _ => "",
            };
            format!(
                "Remove {}{how}; what is gone already counts as removed",
                named.join(", ")
            )
        }
        Change::FindApplication {
            by,
            blank,
            all_blank,
            tenant,
        } => format!(
            "{}. Read the application {} in tenant {tenant}, its service principal and its keys, and find the certificate in this server's key store whose key is on it; nothing is changed in Entra",
            match all_blank {
                true => "The record holds no application".to_string(),
                false => format!("Blank in the record: {}", blank.join(", ")),
            },
            match by {
                ApplicationLookup::Name { name } => format!("{name} (this server's unique name)"),
                ApplicationLookup::AppId { app_id } => {
                    format!("{app_id} (the application id the record still holds)")
                }
            }
        ),
        Change::WriteRepairedCredential => format!(
            "Write the rebuilt connector credential (tenant, application, service principal, certificate hash, who manages each), as the previous steps show it (event {})",
            EventId::CREDENTIAL_REPAIRED.0
        ),
        Change::FindSyncAccount { name } => format!(
            "Find {name}@… among the members of Directory Synchronization Accounts; any other account is refused"
        ),
        Change::DeleteSyncAccount {
            name,
            forgets_way_back,
        } => format!(
            "Delete the user {name}@… (Entra keeps it in deleted users for 30 days){} (event {})",
            forgets_way_back.as_ref().map_or(String::new(), |upn| format!(
                "; this server forgets {upn} as its way back (a rollback will then need a new account, which only a Global Administrator, or a User Administrator with Privileged Role Administrator, can create)"
            )),
            EventId::SERVICE_ACCOUNT_REMOVED.0
        ),
        Change::CheckAccount { upn } => format!(
            "Sign in as {upn} with its password (password grant) for the synchronization service, and check that it holds Directory Synchronization Accounts"
        ),
        Change::RecordAccount {
            upn,
            password_folder,
        } => format!(
            "Record {upn} as the connector's account (ServiceAccount); its password goes to an owner-only file under {}, never to the database (event {})",
            password_folder.display(),
            EventId::SERVICE_ACCOUNT_RECORDED.0
        ),
        Change::TryRetainedAccount { upn } => format!(
            "Sign in as {upn} with its stored password; if that works nothing changes in the directory, and the steps marked \"only for a new account\" do nothing"
        ),
        Change::CreateSyncAccount { name } => format!(
            "Create the cloud user {name}@<the tenant's initial domain> with a random 72-character password that never expires and need not be changed (kept only in an owner-only file on this server; event {})",
            EventId::SERVICE_ACCOUNT_CREATED.0
        ),
        Change::AssignSyncRole => {
            "Assign it Directory Synchronization Accounts at tenant scope (roleManagement/directory/roleAssignments)".into()
        }
        Change::VerifyAccount {
            waits_minutes: Some(minutes),
        } => format!(
            "Sign in as the account with its password for the synchronization service; a new account can take up to {minutes} minutes to work, and this waits for it"
        ),
        Change::VerifyAccount {
            waits_minutes: None,
        } => "Sign in as the retained account; a new account is not waited for (--no-wait): the connector may fail to sign in for up to 15 minutes, which `doctor` and `scheduler show` report".into(),
        Change::SwitchToServiceAccount => format!(
            "Switch the connector credential from Application to ServiceAccount (event {}); the application stays in place, so moving to it again reuses it",
            EventId::ROLLBACK_DONE.0
        ),
        Change::SetScheduler { changed } => match changed.is_empty() {
            true => "Nothing: the settings are already so".into(),
            false => format!("Set {}", changed.join(", ")),
        },
    }
}

/// `HASH (SUBJECT, valid until TIME)`.
fn described(certificate: &CertificateSummary) -> String {
    format!(
        "{} ({}, valid until {})",
        certificate.sha256,
        certificate.subject,
        format_time(certificate.not_after)
    )
}

/// The app roles registration grants, as the plan names them.
fn app_roles(password_writeback: bool) -> String {
    let mut roles = format!("{SYNC_SERVICE_ROLE} (Microsoft Entra AD Synchronization Service)");
    if password_writeback {
        roles.push_str(&format!(
            ", {} (Microsoft password reset service, if present)",
            PASSWORD_WRITEBACK_ROLES.join(", ")
        ));
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::operation::StepId;

    const STEP: StepId = StepId {
        name: "sign-in",
        title: "Sign in",
    };

    fn sign_in() -> Change {
        Change::SignIn {
            account: None,
            tenant: "contoso.onmicrosoft.com".into(),
            needs: crate::engine::operation::Needs {
                roles: vec!["Global Administrator".into()],
                roles_together: vec![],
                consent: vec!["User.Read".into()],
            },
        }
    }

    #[test]
    fn a_step_limited_to_a_case_says_so_before_what_it_does() {
        let step = STEP
            .planned(sign_in(), false)
            .only_if(Condition::NewAccountNeeded);
        let (heading, detail) = numbered(std::slice::from_ref(&step)).next().unwrap();
        assert_eq!(heading, "1. Sign in (no change)");
        assert_eq!(
            detail,
            "Only for a new account: sign in as an administrator (none given yet) to tenant contoso.onmicrosoft.com and check, before any change, that the account holds one of the roles Global Administrator and consent for User.Read"
        );
    }

    #[test]
    fn a_plan_resumed_says_it_continues() {
        let mut step = STEP.planned(sign_in(), false);
        let fresh = std::slice::from_ref(&step);
        assert!(intro(fresh, Shown::Ready).starts_with("Nothing has changed yet"));
        step.done_earlier = true;
        let steps = [step];
        assert!(intro(&steps, Shown::Ready).starts_with("An earlier run of this change stopped"));
        assert_eq!(
            numbered(&steps).next().unwrap().0,
            "1. Sign in (done in an earlier run)"
        );
    }

    #[test]
    fn a_dry_run_says_what_would_run_and_that_nothing_changed() {
        let mut step = STEP.planned(sign_in(), false);
        let fresh = intro(std::slice::from_ref(&step), Shown::DryRun);
        assert_eq!(
            fresh,
            "Dry run: nothing was changed. These steps would run, in this order:"
        );
        step.done_earlier = true;
        let resumed = intro(std::slice::from_ref(&step), Shown::DryRun);
        assert!(
            resumed.starts_with("Dry run: nothing was changed. An earlier run")
                && resumed.contains("running it would continue from there"),
            "{resumed}"
        );
    }
}
