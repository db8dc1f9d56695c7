//! The seed tenant (`assets/sandbox-tenant.json`, or `--seed FILE`) and how it
//! becomes a directory. Passwords are drawn fresh on every start unless the seed
//! fixes them; they are returned to the caller and never logged. `consents`
//! are tenant-wide delegated permission grants per public client (like
//! `oauth2PermissionGrants` with consentType AllPrincipals); a user's role
//! names map to the role templates under `roles`, whose permissions the
//! sandbox knows by template id (`directory::ROLE_DEFINITIONS`).

use super::SandboxError;
use super::directory::{
    AppHome, AppRole, Application, AuthorizationPolicy, Directory, DirectoryRole, ServicePrincipal,
    User, new_id,
};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub(crate) const DEFAULT_SEED: &str = include_str!("../assets/sandbox-tenant.json");

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Seed {
    pub tenant_id: String,
    pub tenant_domain: String,
    pub display_name: String,
    pub roles: Vec<SeedRole>,
    pub users: Vec<SeedUser>,
    pub service_principals: Vec<SeedServicePrincipal>,
    pub public_clients: Vec<SeedPublicClient>,
    /// Tenant-wide consent (admin consent, for all users) per public client.
    #[serde(default)]
    pub consents: Vec<SeedConsent>,
    /// The tenant's authorizationPolicy; Entra's defaults when absent.
    #[serde(default)]
    pub authorization_policy: SeedAuthorizationPolicy,
}

/// `authorizationPolicy.defaultUserRolePermissions`, as far as the sandbox enforces it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedAuthorizationPolicy {
    /// Users can register applications (on in a new tenant).
    #[serde(default = "entra_default")]
    pub allowed_to_create_apps: bool,
}

impl Default for SeedAuthorizationPolicy {
    fn default() -> Self {
        SeedAuthorizationPolicy {
            allowed_to_create_apps: entra_default(),
        }
    }
}

fn entra_default() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedRole {
    pub template_id: String,
    pub display_name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedUser {
    /// The part before the @; the tenant domain follows it.
    pub name: String,
    pub display_name: String,
    pub roles: Vec<String>,
    #[serde(default)]
    pub admin: bool,
    #[serde(default)]
    pub mfa_required: bool,
    #[serde(default)]
    pub password: Option<String>,
}

impl std::fmt::Debug for SeedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeedUser")
            .field("name", &self.name)
            .field("roles", &self.roles)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedServicePrincipal {
    pub app_id: String,
    pub display_name: String,
    pub service_principal_names: Vec<String>,
    pub app_roles: Vec<SeedAppRole>,
    #[serde(default)]
    pub delegated_scopes: Vec<String>,
}

impl SeedServicePrincipal {
    /// Whether `identifier` (an appId or a servicePrincipalName) names this one.
    fn names(&self, identifier: &str) -> bool {
        let identifier = identifier.trim_end_matches('/');
        self.app_id.eq_ignore_ascii_case(identifier)
            || self
                .service_principal_names
                .iter()
                .any(|n| n.trim_end_matches('/').eq_ignore_ascii_case(identifier))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedAppRole {
    pub id: String,
    pub value: String,
    pub display_name: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedPublicClient {
    pub app_id: String,
    pub display_name: String,
    /// Its registered mobile and desktop redirect URIs
    /// (`publicClient.redirectUris`), where `/authorize` may send a code.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// Like an `oauth2PermissionGrant` with consentType `AllPrincipals`: the
/// delegated permissions `client_app_id` holds on `resource` for every user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SeedConsent {
    pub client_app_id: String,
    /// The resource's appId or one of its servicePrincipalNames.
    pub resource: String,
    pub scopes: Vec<String>,
}

/// A seeded user as the startup line and the handle show it.
#[derive(Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SeededUser {
    pub upn: String,
    pub password: String,
    pub roles: Vec<String>,
    pub mfa_required: bool,
    #[serde(skip)]
    pub(crate) admin: bool,
}

impl std::fmt::Debug for SeededUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeededUser")
            .field("upn", &self.upn)
            .field("password", &"[redacted]")
            .field("roles", &self.roles)
            .field("mfa_required", &self.mfa_required)
            .finish()
    }
}

impl Seed {
    pub(crate) fn parse(text: &str) -> Result<Seed, SandboxError> {
        let seed: Seed =
            serde_json::from_str(text).map_err(|e| SandboxError::Seed(e.to_string()))?;
        if seed.users.iter().filter(|u| u.admin).count() != 1 {
            return Err(SandboxError::Seed(
                "exactly one user must be marked \"admin\": true".into(),
            ));
        }
        for consent in &seed.consents {
            seed.check_consent(consent)?;
        }
        for user in &seed.users {
            for role in &user.roles {
                if !seed.roles.iter().any(|r| &r.display_name == role) {
                    return Err(SandboxError::Seed(format!(
                        "user {} holds role {role:?}, which the seed does not define",
                        user.name
                    )));
                }
            }
        }
        Ok(seed)
    }

    fn check_consent(&self, consent: &SeedConsent) -> Result<(), SandboxError> {
        if !self
            .public_clients
            .iter()
            .any(|c| c.app_id.eq_ignore_ascii_case(&consent.client_app_id))
        {
            return Err(SandboxError::Seed(format!(
                "a consent names the client {}, which is not among public_clients",
                consent.client_app_id
            )));
        }
        let resource = self
            .service_principals
            .iter()
            .find(|sp| sp.names(&consent.resource))
            .ok_or_else(|| {
                SandboxError::Seed(format!(
                    "a consent names the resource {}, which is not among service_principals",
                    consent.resource
                ))
            })?;
        for scope in &consent.scopes {
            if !resource.delegated_scopes.iter().any(|s| s == scope) {
                return Err(SandboxError::Seed(format!(
                    "a consent grants {scope}, which {} does not offer (delegated_scopes)",
                    resource.display_name
                )));
            }
        }
        Ok(())
    }

    /// Drops every consent: no client may sign anyone in until an
    /// administrator consents (`sandbox serve --without-consent`).
    pub(crate) fn revoke_consents(&mut self) {
        self.consents.clear();
    }

    /// The UPN of the seeded administrator (the user marked `admin`).
    pub(crate) fn admin_upn(&self) -> Option<String> {
        self.users
            .iter()
            .find(|user| user.admin)
            .map(|user| format!("{}@{}", user.name, self.tenant_domain))
    }

    pub(crate) fn into_directory(self, lag: Duration) -> (Directory, Vec<SeededUser>) {
        let mut directory = Directory::new(
            self.tenant_id.clone(),
            self.tenant_domain.clone(),
            self.display_name,
            lag,
        );
        directory.authorization_policy = AuthorizationPolicy {
            allowed_to_create_apps: self.authorization_policy.allowed_to_create_apps,
            ..AuthorizationPolicy::default()
        };
        // Consented scopes by client appId (lowercase), then resource appId.
        let mut consents: HashMap<String, BTreeMap<String, Vec<String>>> = HashMap::new();
        for consent in &self.consents {
            let resource = self
                .service_principals
                .iter()
                .find(|sp| sp.names(&consent.resource))
                .map_or_else(|| consent.resource.clone(), |sp| sp.app_id.clone());
            let scopes = consents
                .entry(consent.client_app_id.to_ascii_lowercase())
                .or_default()
                .entry(resource)
                .or_default();
            for scope in &consent.scopes {
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
        }
        let now = OffsetDateTime::now_utc();
        // Seeded objects have always been there: no replication lag.
        let visible = Instant::now();
        directory.roles = self
            .roles
            .iter()
            .map(|r| DirectoryRole {
                id: new_id(),
                template_id: r.template_id.clone(),
                display_name: r.display_name.clone(),
                members: Vec::new(),
            })
            .collect();
        let mut seeded = Vec::new();
        for user in self.users {
            let upn = format!("{}@{}", user.name, self.tenant_domain);
            let password = user.password.unwrap_or_else(random_password);
            let id = new_id();
            for role in directory.roles.iter_mut() {
                if user.roles.contains(&role.display_name) {
                    role.members.push(id.clone());
                }
            }
            let seq = directory.next_seq();
            directory.users.push(User {
                id,
                seq,
                upn: upn.clone(),
                display_name: user.display_name,
                mail_nickname: user.name,
                password: password.clone(),
                mfa_required: user.mfa_required,
                force_change_password: false,
                account_enabled: true,
                created: now,
                sessions_valid_from: now,
                visible_from: visible,
                extra: serde_json::Map::new(),
                sign_in_refusals: 0,
            });
            seeded.push(SeededUser {
                upn,
                password,
                roles: user.roles,
                mfa_required: user.mfa_required,
                admin: user.admin,
            });
        }
        for sp in self.service_principals {
            let seq = directory.next_seq();
            directory.service_principals.push(ServicePrincipal {
                id: new_id(),
                seq,
                app_id: sp.app_id,
                display_name: sp.display_name,
                service_principal_names: sp.service_principal_names,
                app_roles: sp
                    .app_roles
                    .into_iter()
                    .map(|r| AppRole {
                        id: r.id,
                        value: r.value,
                        display_name: r.display_name,
                    })
                    .collect(),
                delegated_scopes: sp.delegated_scopes,
                password_credentials: Vec::new(),
                owners: Vec::new(),
                extra: serde_json::Map::new(),
                created: now,
                visible_from: visible,
            });
        }
        for client in self.public_clients {
            let consented = consents.remove(&client.app_id.to_ascii_lowercase());
            let seq = directory.next_seq();
            directory.applications.push(Application {
                id: new_id(),
                seq,
                app_id: client.app_id.clone(),
                display_name: client.display_name.clone(),
                sign_in_audience: "AzureADMultipleOrgs".into(),
                home: AppHome::Microsoft,
                public_client: true,
                key_credentials: Vec::new(),
                password_credentials: Vec::new(),
                federated_credentials: Vec::new(),
                required_resource_access: Vec::new(),
                delegated_permissions: consented.unwrap_or_default(),
                owners: Vec::new(),
                extra: serde_json::Map::from_iter([(
                    "publicClient".to_string(),
                    serde_json::json!({ "redirectUris": client.redirect_uris }),
                )]),
                created: now,
                visible_from: visible,
            });
            let seq = directory.next_seq();
            directory.service_principals.push(ServicePrincipal {
                id: new_id(),
                seq,
                app_id: client.app_id.clone(),
                display_name: client.display_name,
                service_principal_names: vec![client.app_id],
                app_roles: Vec::new(),
                delegated_scopes: Vec::new(),
                password_credentials: Vec::new(),
                owners: Vec::new(),
                extra: serde_json::Map::new(),
                created: now,
                visible_from: visible,
            });
        }
        (directory, seeded)
    }
}

/// 16 characters from three classes, so it meets the tenant's complexity rule.
fn random_password() -> String {
    use rand::RngExt;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    let mut rng = rand::rng();
    let body: String = (0..13)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect();
    format!("Sb{body}7!")
}
