//! `app revoke`: removes what can sign in as the connector and that this
//! server did not put there. The review is the audit read by the signed-in
//! administrator; the items chosen from it (by id, or every unknown one)
//! become the operation's input, so its plan names every removal. Each kind
//! of item is one journaled step: a rerun resumes after the kinds already
//! removed, and a removal of what is gone already is taken as done.

use super::admin::{plan_sign_in_as, sign_in_checked_as};
use super::audit::{Audit, AuditVerdict, audit_signing_in_for};
use super::operation::{
    Change, Check, Done, Journaled, Operation, PlannedStep, RemovalNeeds, Run, Step, Target,
};
use super::own_keys::app_graph;
use super::permissions::{self, revoking};
use super::progress::ProgressSender;
use super::remove_key::{Current, in_use, remove_own_key};
use super::{EngineError, EntraRequest, LocalServer};
use crate::domain::{
    ApplicationCredential, AuditKind, ConnectorCredential, EventId, EventLevel, Removal,
};
use crate::entra::EntraError;
use crate::entra::client::EntraClient;
use crate::entra::graph::GraphClient;
use crate::host::{events, journal};
use serde::Serialize;

const SIGN_IN_REVOKER: Check = Check::new(
    "sign-in",
    "Sign in as an administrator who may read and revoke",
);
const MAY_REVOKE: Check = Check::new(
    "may-revoke",
    "Check the administrator may make every removal",
);

/// One step per kind of item, in the order they are removed: credentials
/// first (they sign in), then who could add them again, then permissions.
const STEPS: [(AuditKind, Step<Vec<String>>); 8] = [
    (
        AuditKind::ClientSecret,
        Step::new("revoke-client-secrets", "Remove the client secrets"),
    ),
    (
        AuditKind::ServicePrincipalSecret,
        Step::new(
            "revoke-service-principal-secrets",
            "Remove the service principal's client secrets",
        ),
    ),
    (
        AuditKind::FederatedCredential,
        Step::new(
            "revoke-federated-credentials",
            "Remove the federated identity credentials",
        ),
    ),
    (
        AuditKind::CertificateKey,
        Step::new(
            "revoke-certificate-keys",
            "Remove the certificate keys this server does not use",
        ),
    ),
    (
        AuditKind::ApplicationOwner,
        Step::new(
            "revoke-application-owners",
            "Remove the application's owners",
        ),
    ),
    (
        AuditKind::ServicePrincipalOwner,
        Step::new(
            "revoke-service-principal-owners",
            "Remove the service principal's owners",
        ),
    ),
    (
        AuditKind::AppRole,
        Step::new("revoke-app-roles", "Remove the app role assignments"),
    ),
    (
        AuditKind::DelegatedGrant,
        Step::new(
            "revoke-delegated-grants",
            "Remove the delegated permission grants",
        ),
    ),
];

/// What to revoke: the items with these ids, or every unknown one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Ids(Vec<String>),
    AllUnknown,
}

/// The `app revoke` operation: the removals chosen from the review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revoke {
    pub removals: Vec<Removal>,
}

/// What `app revoke` removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Revoked {
    pub app_id: String,
    pub removed: Vec<Removal>,
}

/// The review: the audit as the administrator reads it, signed in for the
/// removals too (one sign-in serves the review and the operation).
pub async fn review(
    server: &LocalServer,
    entra: &EntraRequest,
    progress: ProgressSender,
) -> Result<Audit, EngineError> {
    if entra.admin.is_none() {
        return Err(EngineError::AdministratorNeeded);
    }
    audit_signing_in_for(server, entra, &permissions::REVOKE, progress).await
}

/// The removals `selection` makes of `audit`'s items, refusing an id
/// nothing has (unless an earlier run that stopped part way removed it
/// already) and anything that may not be removed: the key in use, what the
/// connector needs, a disabled service principal.
pub fn choose(
    server: &LocalServer,
    audit: &Audit,
    selection: &Selection,
) -> Result<Revoke, EngineError> {
    let mut removals: Vec<Removal> = match selection {
        Selection::AllUnknown => audit
            .unknown()
            .filter_map(|item| item.removal.clone())
            .collect(),
        Selection::Ids(ids) => {
            let removed_earlier = removed_by_unfinished_run(server)?;
            let mut chosen = Vec::new();
            for id in ids {
                let matching: Vec<_> = audit
                    .items
                    .iter()
                    .filter(|item| item.id.eq_ignore_ascii_case(id))
                    .collect();
                if matching.is_empty()
                    && !removed_earlier.iter().any(|r| r.eq_ignore_ascii_case(id))
                {
                    return Err(EngineError::NothingWithId {
                        id: id.clone(),
                        items: describe_items(audit),
                    });
                }
                for item in matching {
                    let why = match (&item.removal, item.verdict, item.kind) {
                        (Some(removal), _, _) => {
                            chosen.push(removal.clone());
                            continue;
                        }
                        (None, AuditVerdict::InUse, _) => {
                            return Err(EngineError::KeyInUse {
                                key_id: item.id.clone(),
                            });
                        }
                        (None, _, AuditKind::DisabledServicePrincipal) => {
                            "a disabled service principal is enabled again, not removed"
                        }
                        _ => "the connector needs it",
                    };
                    return Err(EngineError::NotRevocable {
                        what: format!("{} {}", item.kind.describe(), item.id),
                        why,
                    });
                }
            }
            chosen
        }
    };
    removals.sort();
    removals.dedup();
    Ok(Revoke { removals })
}

/// Every item of the audit, for a refusal that names what there is.
fn describe_items(audit: &Audit) -> String {
    audit
        .items
        .iter()
        .map(|item| {
            format!(
                "{} {} ({})",
                item.kind.describe(),
                item.id,
                item.verdict.describe()
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The ids the last unfinished `app revoke` removed before it stopped.
fn removed_by_unfinished_run(server: &LocalServer) -> Result<Vec<String>, EngineError> {
    let open = server.read(|conn| journal::open_run(conn, Revoke::KIND, None))?;
    Ok(open
        .map(|run| run.done.into_values().collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .filter_map(|json| serde_json::from_str::<Vec<String>>(json).ok())
        .flatten()
        .collect())
}

/// The removals by kind, each kind with its step, in the steps' order.
fn by_step(removals: &[Removal]) -> Vec<(Step<Vec<String>>, Vec<Removal>)> {
    STEPS
        .iter()
        .filter_map(|(kind, step)| {
            let of_kind: Vec<Removal> = removals
                .iter()
                .filter(|removal| removal.kind == *kind)
                .cloned()
                .collect();
            (!of_kind.is_empty()).then_some((*step, of_kind))
        })
        .collect()
}

/// The removals grouped by what they need of the administrator (a
/// certificate key needs nothing: the application removes it itself).
fn by_needs(removals: &[Removal]) -> Vec<(&'static permissions::Needs, Vec<&Removal>)> {
    let mut groups: Vec<(&'static permissions::Needs, Vec<&Removal>)> = Vec::new();
    for removal in removals {
        let Some(needs) = revoking(removal) else {
            continue;
        };
        match groups.iter_mut().find(|(n, _)| **n == *needs) {
            Some((_, group)) => group.push(removal),
            None => groups.push((needs, vec![removal])),
        }
    }
    groups
}

/// Refuses, naming the items and the roles, when the administrator's roles
/// do not allow a removal.
async fn check_may_revoke(
    graph: &GraphClient,
    removals: &[Removal],
    upn: &str,
) -> Result<String, EngineError> {
    let roles = graph.my_directory_roles().await?;
    for (needs, group) in by_needs(removals) {
        if !needs.held_by(&roles) {
            return Err(EngineError::RevokeNotAllowed {
                upn: upn.to_string(),
                what: group
                    .iter()
                    .map(|removal| removal.describe())
                    .collect::<Vec<_>>()
                    .join(", "),
                roles: needs.planned().role_names(),
            });
        }
    }
    Ok(format!("{upn} may make all {} removal(s)", removals.len()))
}

/// Removes one item as the administrator (`graph`). What is gone already
/// (404) is removed: an earlier run's removal whose answer was lost.
async fn remove(graph: &GraphClient, removal: &Removal) -> Result<(), EngineError> {
    let Removal { id, on, .. } = removal;
    let removed = match removal.kind {
        AuditKind::ClientSecret => {
            graph
                .remove_password(&format!("/applications/{on}"), id)
                .await
        }
        AuditKind::ServicePrincipalSecret => {
            graph
                .remove_password(&format!("/servicePrincipals/{on}"), id)
                .await
        }
        AuditKind::FederatedCredential => {
            graph
                .delete(&format!(
                    "/applications/{on}/federatedIdentityCredentials/{id}"
                ))
                .await
        }
        AuditKind::ApplicationOwner => {
            graph
                .delete(&format!("/applications/{on}/owners/{id}/$ref"))
                .await
        }
        AuditKind::ServicePrincipalOwner => {
            graph
                .delete(&format!("/servicePrincipals/{on}/owners/{id}/$ref"))
                .await
        }
        AuditKind::AppRole => {
            graph
                .delete(&format!("/servicePrincipals/{on}/appRoleAssignments/{id}"))
                .await
        }
        AuditKind::DelegatedGrant => graph.delete(&format!("/oauth2PermissionGrants/{id}")).await,
        AuditKind::CertificateKey | AuditKind::DisabledServicePrincipal => {
            return Err(EngineError::NotRevocable {
                what: removal.describe(),
                why: "only the application removes its own keys",
            });
        }
    };
    match removed {
        Ok(()) | Err(EntraError::Graph { status: 404, .. }) => Ok(()),
        Err(other) => Err(other.into()),
    }
}

/// Removes certificate keys the way `app remove-key` does: the application
/// itself, proving it holds the key in use.
async fn remove_keys(
    server: &LocalServer,
    client: &EntraClient,
    removals: &[Removal],
) -> Result<(), EngineError> {
    let Current {
        credential,
        certificate,
    } = in_use(server)?;
    let store = server.key_store()?;
    let app_id = &credential.application_id;
    let graph = app_graph(client, &store, &certificate, app_id).await?;
    for removal in removals {
        remove_own_key(
            &graph,
            &store,
            &certificate,
            app_id,
            &removal.on,
            &removal.id,
        )
        .await?;
    }
    Ok(())
}

impl Operation for Revoke {
    const KIND: &'static str = "revoke";
    type Output = Revoked;
    type Situation = ApplicationCredential;

    fn situation(
        &self,
        server: &LocalServer,
        _target: &Target,
        _earlier: &Journaled,
    ) -> Result<ApplicationCredential, EngineError> {
        match server.credential()? {
            ConnectorCredential::Application(app) => Ok(app),
            other => Err(EngineError::RotationNeedsApplication {
                identity: other.identity_type().to_string(),
            }),
        }
    }

    fn plan(
        &self,
        _credential: &ApplicationCredential,
        _server: &LocalServer,
        target: &Target,
    ) -> Result<Vec<PlannedStep>, EngineError> {
        let each = by_needs(&self.removals)
            .into_iter()
            .map(|(needs, group)| RemovalNeeds {
                removals: group.iter().map(|removal| removal.describe()).collect(),
                needs: needs.planned(),
            })
            .collect();
        let mut steps = vec![
            plan_sign_in_as(SIGN_IN_REVOKER, target, &permissions::REVOKE),
            MAY_REVOKE.plan(Change::MayRevoke { each }),
        ];
        steps.extend(
            by_step(&self.removals)
                .into_iter()
                .map(|(step, removals)| step.plan(Change::Revoke { removals })),
        );
        Ok(steps)
    }

    async fn execute(
        &self,
        credential: ApplicationCredential,
        run: &mut Run,
        server: &mut LocalServer,
        entra: &EntraRequest,
    ) -> Result<Revoked, EngineError> {
        let client = entra.client(run)?;
        let upn = entra
            .admin
            .as_ref()
            .ok_or(EngineError::AdministratorNeeded)?
            .upn()
            .to_string();
        let graph =
            sign_in_checked_as(SIGN_IN_REVOKER, run, &client, entra, &permissions::REVOKE).await?;
        run.check(MAY_REVOKE, async || {
            let summary = check_may_revoke(&graph, &self.removals, &upn).await?;
            Ok(((), summary))
        })
        .await?;
        let app_id = credential.application_id;
        for (step, removals) in by_step(&self.removals) {
            run.step(server, step, async |server| {
                match removals[0].kind {
                    AuditKind::CertificateKey => remove_keys(server, &client, &removals).await?,
                    _ => {
                        for removal in &removals {
                            remove(&graph, removal).await?;
                        }
                    }
                }
                let named: Vec<String> = removals.iter().map(Removal::describe).collect();
                let message = format!(
                    "{upn} removed from application {app_id} (app revoke): {}.",
                    named.join("; ")
                );
                let ids = removals.iter().map(|removal| removal.id.clone()).collect();
                let summary = format!("removed {}", named.join(", "));
                Ok(Done::new(ids, summary).with_local(move |tx| {
                    events::record(
                        tx,
                        EventLevel::Information,
                        EventId::ACCESS_REVOKED,
                        &message,
                    )
                }))
            })
            .await?;
        }
        Ok(Revoked {
            app_id,
            removed: self.removals.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn removal(kind: AuditKind, id: &str, graph_app_role: bool) -> Removal {
        Removal {
            kind,
            id: id.into(),
            on: "object".into(),
            label: String::new(),
            graph_app_role,
        }
    }

    #[test]
    fn every_kind_that_can_be_removed_has_a_step_and_graph_roles_need_more() {
        for (kind, _) in STEPS {
            let removals = [removal(kind, "x", false)];
            assert_eq!(by_step(&removals).len(), 1, "{kind:?}");
        }
        let removals = [
            removal(AuditKind::AppRole, "a", false),
            removal(AuditKind::AppRole, "b", true),
            removal(AuditKind::ClientSecret, "c", false),
            removal(AuditKind::FederatedCredential, "d", false),
            removal(AuditKind::CertificateKey, "e", false),
        ];
        // One step for both app roles, but two role checks: Graph's own
        // app roles only a Privileged Role or Global Administrator removes.
        assert_eq!(by_step(&removals).len(), 4);
        let needs: Vec<(String, usize)> = by_needs(&removals)
            .into_iter()
            .map(|(needs, group)| (needs.planned().role_names(), group.len()))
            .collect();
        assert_eq!(needs.len(), 3, "{needs:?}");
        assert!(
            needs.contains(&(
                "Privileged Role Administrator, Global Administrator".to_string(),
                1
            )),
            "{needs:?}"
        );
        assert!(
            needs.contains(&(
                "Application Administrator, Cloud Application Administrator, Global Administrator"
                    .to_string(),
                2
            )),
            "{needs:?}"
        );
    }
}
