//! What an operation needs of the administrator who signs in, and the check
//! that runs right after sign-in, before any change. In Microsoft Graph a
//! delegated call needs both: a scope consented for the sign-in client in
//! this tenant (the token's `scp`) and a directory role of the user that
//! allows it. A refusal names what is missing, who can grant it, and how.

use super::EngineError;
use crate::domain::{AuditKind, GLOBAL_ADMINISTRATOR, HYBRID_IDENTITY_ADMINISTRATOR, Removal};
use crate::entra::graph::{DirectoryRole, GRAPH_APP_ID};
use std::collections::HashSet;
use std::fmt;

/// A built-in directory role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    pub template_id: &'static str,
    pub name: &'static str,
}

pub const HYBRID_IDENTITY_ADMIN: Role = Role {
    template_id: HYBRID_IDENTITY_ADMINISTRATOR,
    name: "Hybrid Identity Administrator",
};
pub const GLOBAL_ADMIN: Role = Role {
    template_id: GLOBAL_ADMINISTRATOR,
    name: "Global Administrator",
};
pub const APPLICATION_ADMIN: Role = Role {
    template_id: "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
    name: "Application Administrator",
};
pub const CLOUD_APPLICATION_ADMIN: Role = Role {
    template_id: "158c047a-c907-4556-b7ef-446551a6b5f7",
    name: "Cloud Application Administrator",
};
pub const PRIVILEGED_ROLE_ADMIN: Role = Role {
    template_id: "e8611ab8-c189-46e8-94e1-60213ab1f814",
    name: "Privileged Role Administrator",
};
pub const USER_ADMIN: Role = Role {
    template_id: "fe930be7-5e62-47db-91af-98c3a49a38b1",
    name: "User Administrator",
};
pub const PRIVILEGED_AUTHENTICATION_ADMIN: Role = Role {
    template_id: "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    name: "Privileged Authentication Administrator",
};

/// Who may grant tenant-wide (admin) consent to delegated Graph permissions.
pub const CONSENT_GRANTERS: [Role; 4] = [
    GLOBAL_ADMIN,
    PRIVILEGED_ROLE_ADMIN,
    CLOUD_APPLICATION_ADMIN,
    APPLICATION_ADMIN,
];

/// A delegated Microsoft Graph permission, by its bare name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scope(pub &'static str);

impl Scope {
    /// The scopes that include this one (Graph's "higher privileged").
    fn satisfied_by(self) -> &'static [&'static str] {
        match self.0 {
            "User.Read" => &[
                "User.ReadWrite",
                "User.Read.All",
                "User.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            "Application.Read.All" => &[
                "Application.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            "Directory.Read.All" => &["Directory.ReadWrite.All"],
            // Graph lists no higher scope for writing applications.
            "User.ReadWrite.All" => &["Directory.ReadWrite.All"],
            "RoleManagement.Read.Directory" => &[
                "RoleManagement.ReadWrite.Directory",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            _ => &[],
        }
    }

    fn granted_in(self, granted: &HashSet<String>) -> bool {
        granted.contains(self.0) || self.satisfied_by().iter().any(|s| granted.contains(*s))
    }

    /// The scope as the token endpoint takes it: Graph's application id
    /// prefix works in every cloud.
    pub fn request(self) -> String {
        format!("{GRAPH_APP_ID}/{}", self.0)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// What an operation needs of the administrator: Graph scopes (least
/// privileged, explicit, never `.default`) and one of some directory roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Needs {
    pub scopes: &'static [Scope],
    /// Any one of these, activated, will do; the first is the one to ask for.
    /// None (and none `or_together`): any member of the tenant will do.
    pub roles: &'static [Role],
    /// Or all of these together (none when empty).
    pub or_together: &'static [Role],
}

/// Registering this server's application: create it and its service
/// principal, and grant it the synchronization role. Graph lets more roles
/// grant that app role (Privileged Role and User Administrators among them)
/// and lets members register applications when the tenant allows it, but
/// none of those may create the service principal of an application they do
/// not own without being an Application Developer
/// (graph/api/serviceprincipal-post-serviceprincipals): these four may do all three.
pub const REGISTER: Needs = Needs {
    scopes: &[
        Scope("User.Read"),
        Scope("Application.ReadWrite.All"),
        Scope("AppRoleAssignment.ReadWrite.All"),
    ],
    roles: &[
        HYBRID_IDENTITY_ADMIN,
        GLOBAL_ADMIN,
        APPLICATION_ADMIN,
        CLOUD_APPLICATION_ADMIN,
    ],
    or_together: &[],
};

/// Checking an existing application (Bring Your Own Application): reads only.
/// Reading applications, service principals and their app role assignments
/// is a default permission of every member of the tenant
/// (entra/fundamentals/users-default-permissions; graph/api/application-get),
/// so only the consent matters.
pub const CHECK_APPLICATION: Needs = Needs {
    scopes: &[Scope("User.Read"), Scope("Application.Read.All")],
    roles: &[],
    or_together: &[],
};

/// The audit's administrator read: the application's owners and federated
/// credentials, its service principal (secrets, app roles, owners) with
/// Application.Read.All; owners and delegated grants need Directory.Read.All
/// too, and reading grants a role that may (Graph's oauth2permissiongrant-list).
pub const AUDIT: Needs = Needs {
    scopes: &[
        Scope("User.Read"),
        Scope("Application.Read.All"),
        Scope("Directory.Read.All"),
    ],
    roles: &[
        HYBRID_IDENTITY_ADMIN,
        GLOBAL_ADMIN,
        APPLICATION_ADMIN,
        CLOUD_APPLICATION_ADMIN,
        PRIVILEGED_ROLE_ADMIN,
    ],
    or_together: &[],
};

/// `app revoke`'s sign-in: the audit's read and every removal's scope, asked
/// at once so the review and the removals share one sign-in; any role that
/// may remove something. [`revoking`] says which each removal needs.
pub const REVOKE: Needs = Needs {
    scopes: &[
        Scope("User.Read"),
        Scope("Application.ReadWrite.All"),
        Scope("Directory.Read.All"),
        Scope("AppRoleAssignment.ReadWrite.All"),
        Scope("DelegatedPermissionGrant.ReadWrite.All"),
    ],
    roles: AUDIT.roles,
    or_together: &[],
};

/// Removing a client secret or a federated identity credential
/// (application-removepassword, serviceprincipal-removepassword,
/// federatedidentitycredential-delete): a credential update, which a Hybrid
/// Identity Administrator may not make.
const REVOKE_CREDENTIALS: Needs = Needs {
    scopes: &[Scope("Application.ReadWrite.All")],
    roles: &[APPLICATION_ADMIN, CLOUD_APPLICATION_ADMIN, GLOBAL_ADMIN],
    or_together: &[],
};

/// Removing an owner (application-delete-owners, serviceprincipal-delete-owners).
const REVOKE_OWNERS: Needs = Needs {
    scopes: &[Scope("Application.ReadWrite.All")],
    roles: &[
        APPLICATION_ADMIN,
        CLOUD_APPLICATION_ADMIN,
        HYBRID_IDENTITY_ADMIN,
        GLOBAL_ADMIN,
    ],
    or_together: &[],
};

/// Removing an app role assignment of another resource
/// (serviceprincipal-delete-approleassignments).
const REVOKE_APP_ROLES: Needs = Needs {
    scopes: &[Scope("AppRoleAssignment.ReadWrite.All")],
    roles: &[
        APPLICATION_ADMIN,
        CLOUD_APPLICATION_ADMIN,
        HYBRID_IDENTITY_ADMIN,
        PRIVILEGED_ROLE_ADMIN,
        GLOBAL_ADMIN,
    ],
    or_together: &[],
};

/// Removing an app role of Microsoft Graph: application permissions to Graph
/// are privileged, granted and removed only by these two.
const REVOKE_GRAPH_APP_ROLES: Needs = Needs {
    scopes: &[Scope("AppRoleAssignment.ReadWrite.All")],
    roles: &[PRIVILEGED_ROLE_ADMIN, GLOBAL_ADMIN],
    or_together: &[],
};

/// Removing a delegated permission grant (oauth2permissiongrant-delete).
const REVOKE_GRANTS: Needs = Needs {
    scopes: &[Scope("DelegatedPermissionGrant.ReadWrite.All")],
    roles: &[
        APPLICATION_ADMIN,
        CLOUD_APPLICATION_ADMIN,
        PRIVILEGED_ROLE_ADMIN,
        GLOBAL_ADMIN,
    ],
    or_together: &[],
};

/// What removing `removal` needs of the administrator; none for a
/// certificate key, which the application removes itself (removeKey).
pub fn revoking(removal: &Removal) -> Option<&'static Needs> {
    match removal.kind {
        AuditKind::CertificateKey | AuditKind::DisabledServicePrincipal => None,
        AuditKind::ClientSecret
        | AuditKind::ServicePrincipalSecret
        | AuditKind::FederatedCredential => Some(&REVOKE_CREDENTIALS),
        AuditKind::ApplicationOwner | AuditKind::ServicePrincipalOwner => Some(&REVOKE_OWNERS),
        AuditKind::AppRole if removal.graph_app_role => Some(&REVOKE_GRAPH_APP_ROLES),
        AuditKind::AppRole => Some(&REVOKE_APP_ROLES),
        AuditKind::DelegatedGrant => Some(&REVOKE_GRANTS),
    }
}

/// Replacing an application's certificates as an administrator (rotation
/// when the application cannot roll its own key): a credential update, which
/// a Hybrid Identity Administrator may not make.
pub const UPDATE_CREDENTIALS: Needs = Needs {
    scopes: &[Scope("User.Read"), Scope("Application.ReadWrite.All")],
    roles: &[APPLICATION_ADMIN, CLOUD_APPLICATION_ADMIN, GLOBAL_ADMIN],
    or_together: &[],
};

/// Rolling back to a new directory synchronization account: create the
/// user and assign it the Directory Synchronization Accounts role. A Hybrid
/// Identity Administrator can do neither through Graph.
pub const CREATE_SYNC_ACCOUNT: Needs = Needs {
    scopes: &[
        Scope("User.Read"),
        Scope("User.ReadWrite.All"),
        Scope("RoleManagement.ReadWrite.Directory"),
    ],
    roles: &[GLOBAL_ADMIN],
    or_together: &[USER_ADMIN, PRIVILEGED_ROLE_ADMIN],
};

/// Listing the directory synchronization accounts and removing one: the
/// role's members are read, the user deleted. Directory Synchronization
/// Accounts is a privileged role, so Graph lets only a Privileged
/// Authentication Administrator or a Global Administrator delete its
/// members, and only with Directory.AccessAsUser.All (a User Administrator
/// deletes non-administrators only).
pub const DELETE_SYNC_ACCOUNT: Needs = Needs {
    scopes: &[
        Scope("User.Read"),
        Scope("User.ReadWrite.All"),
        Scope("Directory.AccessAsUser.All"),
        Scope("RoleManagement.Read.Directory"),
    ],
    roles: &[PRIVILEGED_AUTHENTICATION_ADMIN, GLOBAL_ADMIN],
    or_together: &[],
};

impl Needs {
    /// Whether a member of the tenant needs no directory role for it.
    fn any_member(&self) -> bool {
        self.roles.is_empty() && self.or_together.is_empty()
    }

    /// Whether a user holding `roles` (activated) has a role this needs.
    pub fn held_by(&self, roles: &[DirectoryRole]) -> bool {
        let holds = |role: &Role| roles.iter().any(|r| r.role_template_id == role.template_id);
        self.any_member()
            || self.roles.iter().any(holds)
            || (!self.or_together.is_empty() && self.or_together.iter().all(holds))
    }

    pub fn request_scopes(&self) -> Vec<String> {
        self.scopes.iter().map(|scope| scope.request()).collect()
    }

    /// What the account must hold, as doctor and plans say it.
    pub fn describe(&self) -> String {
        self.planned().to_string()
    }

    /// What the plan says the sign-in is checked for.
    pub fn planned(&self) -> super::operation::Needs {
        let each = |roles: &[Role]| roles.iter().map(|role| role.name.to_string()).collect();
        super::operation::Needs {
            roles: each(self.roles),
            roles_together: each(self.or_together),
            consent: self.scopes.iter().map(ToString::to_string).collect(),
        }
    }

    /// Compares what the operation needs with what the signed-in user has:
    /// `granted` is the token's `scp`, `roles` the user's activated roles.
    pub fn check(
        &self,
        granted: &HashSet<String>,
        roles: &[DirectoryRole],
        who: &Grantee,
    ) -> Result<(), EngineError> {
        let missing: Vec<Scope> = self
            .scopes
            .iter()
            .copied()
            .filter(|scope| !scope.granted_in(granted))
            .collect();
        if !missing.is_empty() {
            return Err(EngineError::ConsentMissing(Box::new(who.consent(&missing))));
        }
        match self.held_by(roles) {
            true => Ok(()),
            false => Err(EngineError::RoleMissing {
                upn: who.upn.clone(),
                roles: self.planned().role_names(),
            }),
        }
    }
}

fn names(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|role| role.name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The signed-in administrator and the client and tenant they signed in to:
/// what a refusal needs to say who can fix it and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grantee {
    pub upn: String,
    pub client_id: String,
    pub tenant: String,
    /// The identity platform host, e.g. `https://login.microsoftonline.com`.
    pub authority_host: String,
}

impl Grantee {
    /// The refusal for scopes the client has no consent for.
    pub fn consent(&self, missing: &[Scope]) -> ConsentMissing {
        let scopes: Vec<String> = missing.iter().map(|scope| scope.request()).collect();
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("client_id", &self.client_id)
            .append_pair("scope", &scopes.join(" "))
            .append_pair("redirect_uri", "http://localhost")
            .finish();
        ConsentMissing {
            client_id: self.client_id.clone(),
            scopes: missing.iter().map(ToString::to_string).collect(),
            consent_url: format!(
                "{}/{}/v2.0/adminconsent?{query}",
                self.authority_host.trim_end_matches('/'),
                self.tenant
            ),
        }
    }
}

/// The sign-in client lacks admin consent for scopes an operation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentMissing {
    pub client_id: String,
    pub scopes: Vec<String>,
    pub consent_url: String,
}

impl fmt::Display for ConsentMissing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the sign-in client {} has no admin consent in this tenant for {}; nothing was changed. \
             Tenant-wide consent is granted once, by a {} (a Hybrid Identity Administrator cannot): \
             open {} and accept, or sign in with the device code as one of them, which asks for it. \
             An organisation may sign in with its own public client registration instead",
            self.client_id,
            self.scopes.join(", "),
            names(&CONSENT_GRANTERS).replacen(", ", " or ", CONSENT_GRANTERS.len() - 1),
            self.consent_url
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn granted(scopes: &[&str]) -> HashSet<String> {
        scopes.iter().map(|s| s.to_string()).collect()
    }

    fn role(template_id: &str) -> DirectoryRole {
        DirectoryRole {
            id: "r".into(),
            display_name: None,
            role_template_id: template_id.into(),
        }
    }

    fn grantee() -> Grantee {
        Grantee {
            upn: "hybrid.admin@contoso.onmicrosoft.com".into(),
            client_id: "14d82eec-204b-4c2f-b7e8-296a70dab67e".into(),
            tenant: "contoso.onmicrosoft.com".into(),
            authority_host: "https://login.microsoftonline.com/".into(),
        }
    }

    #[test]
    fn registration_needs_consent_for_each_scope_and_names_what_is_missing() {
        let hia = [role(HYBRID_IDENTITY_ADMINISTRATOR)];
        let all = granted(&[
            "User.Read",
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
        ]);
        assert!(REGISTER.check(&all, &hia, &grantee()).is_ok());
        let partial = granted(&["User.Read", "Application.ReadWrite.All"]);
        let error = REGISTER.check(&partial, &hia, &grantee()).unwrap_err();
        let EngineError::ConsentMissing(missing) = &error else {
            panic!("{error}");
        };
        assert_eq!(missing.scopes, ["AppRoleAssignment.ReadWrite.All"]);
        assert!(missing.consent_url.starts_with(
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0/adminconsent?client_id=14d82eec-204b-4c2f-b7e8-296a70dab67e&scope=00000003-0000-0000-c000-000000000000%2FAppRoleAssignment.ReadWrite.All"
        ), "{}", missing.consent_url);
        let text = error.to_string();
        assert!(
            text.contains("Global Administrator or Privileged Role Administrator or Cloud Application Administrator or Application Administrator"),
            "{text}"
        );
        assert!(
            text.contains("its own public client registration"),
            "{text}"
        );
        assert_eq!(
            error.remedies(),
            [crate::domain::Remedy::give(
                crate::domain::Input::AdminClientId
            )]
        );
    }

    #[test]
    fn a_higher_scope_satisfies_a_lower_one() {
        let directory = granted(&["Directory.ReadWrite.All", "User.Read"]);
        let ga = [role(GLOBAL_ADMINISTRATOR)];
        assert!(CHECK_APPLICATION.check(&directory, &ga, &grantee()).is_ok());
        // ...but nothing stands in for writing applications or granting roles.
        let error = REGISTER.check(&directory, &ga, &grantee()).unwrap_err();
        let EngineError::ConsentMissing(missing) = &error else {
            panic!("{error}");
        };
        assert_eq!(
            missing.scopes,
            [
                "Application.ReadWrite.All",
                "AppRoleAssignment.ReadWrite.All"
            ]
        );
    }

    #[test]
    fn checking_an_application_needs_consent_but_no_role() {
        let consented = granted(&["User.Read", "Application.Read.All"]);
        assert!(CHECK_APPLICATION.check(&consented, &[], &grantee()).is_ok());
        let error = CHECK_APPLICATION
            .check(&granted(&["User.Read"]), &[], &grantee())
            .unwrap_err();
        assert!(
            matches!(&error, EngineError::ConsentMissing(missing) if missing.scopes == ["Application.Read.All"]),
            "{error}"
        );
        assert_eq!(
            CHECK_APPLICATION.describe(),
            "consent for User.Read, Application.Read.All (any member of the tenant; no directory role)"
        );
        // Registering still needs a role.
        let all = granted(&[
            "User.Read",
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
        ]);
        assert!(REGISTER.check(&all, &[], &grantee()).is_err());
    }

    #[test]
    fn consent_is_not_enough_without_a_role() {
        let all = granted(&[
            "User.Read",
            "Application.ReadWrite.All",
            "AppRoleAssignment.ReadWrite.All",
        ]);
        let error = REGISTER
            .check(&all, &[role(PRIVILEGED_ROLE_ADMIN.template_id)], &grantee())
            .unwrap_err();
        assert!(
            matches!(&error, EngineError::RoleMissing { roles, .. } if roles.starts_with("Hybrid Identity Administrator")),
            "{error}"
        );
    }
}
