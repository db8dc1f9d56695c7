//! The tenant's directory, in memory. Every object carries a `visible_from`
//! instant: with replication lag, a new object exists (its creator got it back)
//! but other reads and the token endpoint do not see it until then.

use crate::keys::CertificateInfo;
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

pub const HYBRID_IDENTITY_ADMINISTRATOR: &str = "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2";
pub const GLOBAL_ADMINISTRATOR: &str = "62e90394-69f5-4237-9190-012177145e10";
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
pub const GRAPH_URI: &str = "https://graph.microsoft.com";

pub struct Directory {
    pub tenant_id: String,
    pub tenant_domain: String,
    pub display_name: String,
    pub created: OffsetDateTime,
    next_seq: u64,
    lag: Duration,
    pub users: Vec<User>,
    pub roles: Vec<DirectoryRole>,
    pub applications: Vec<Application>,
    pub service_principals: Vec<ServicePrincipal>,
    pub assignments: Vec<AppRoleAssignment>,
    pub device_codes: HashMap<String, DeviceCode>,
    /// Assertion ids already presented, with their expiry (unix seconds), so a
    /// replay is refused for as long as the assertion itself would be valid.
    used_jtis: HashMap<String, i64>,
}

pub struct User {
    pub id: String,
    pub seq: u64,
    pub upn: String,
    pub display_name: String,
    pub mail_nickname: String,
    pub password: String,
    pub mfa_required: bool,
    pub force_change_password: bool,
    pub account_enabled: bool,
    pub created: OffsetDateTime,
    pub visible_from: Instant,
}

pub struct DirectoryRole {
    pub id: String,
    pub template_id: String,
    pub display_name: String,
    pub members: Vec<String>,
}

/// Where an application object lives: first-party clients (Graph Command Line
/// Tools) belong to Microsoft's tenant and are not listed under /applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppHome {
    Microsoft,
    Tenant,
}

pub struct Application {
    pub id: String,
    pub seq: u64,
    pub app_id: String,
    pub display_name: String,
    pub sign_in_audience: String,
    pub home: AppHome,
    pub public_client: bool,
    pub key_credentials: Vec<KeyCredential>,
    pub required_resource_access: Vec<serde_json::Value>,
    /// Delegated permissions a public client may ask for, by resource appId.
    pub delegated_permissions: BTreeMap<String, Vec<String>>,
    pub created: OffsetDateTime,
    pub visible_from: Instant,
}

#[derive(Clone)]
pub struct KeyCredential {
    pub key_id: String,
    pub display_name: Option<String>,
    pub certificate: CertificateInfo,
    pub start: OffsetDateTime,
    pub end: OffsetDateTime,
    pub visible_from: Instant,
}

impl KeyCredential {
    /// Usable to sign at `now`: replicated, and within its start and end dates.
    pub fn is_current(&self, now: OffsetDateTime, instant: Instant) -> bool {
        instant >= self.visible_from && self.start <= now && now <= self.end
    }
}

pub struct ServicePrincipal {
    pub id: String,
    pub seq: u64,
    pub app_id: String,
    pub display_name: String,
    pub service_principal_names: Vec<String>,
    pub app_roles: Vec<AppRole>,
    pub delegated_scopes: Vec<String>,
    pub created: OffsetDateTime,
    pub visible_from: Instant,
}

#[derive(Clone)]
pub struct AppRole {
    pub id: String,
    pub value: String,
    pub display_name: String,
}

pub struct AppRoleAssignment {
    pub id: String,
    pub seq: u64,
    pub principal_id: String,
    pub resource_id: String,
    pub app_role_id: String,
    pub created: OffsetDateTime,
}

pub enum DeviceCodeState {
    Pending,
    Approved { user_id: String },
    Declined,
    Redeemed,
}

pub struct DeviceCode {
    pub user_code: String,
    pub client_id: String,
    pub scope: String,
    pub expires_at: Instant,
    pub interval: Duration,
    pub last_poll: Option<Instant>,
    pub state: DeviceCodeState,
}

pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

impl Directory {
    pub fn new(
        tenant_id: String,
        tenant_domain: String,
        display_name: String,
        lag: Duration,
    ) -> Self {
        Directory {
            tenant_id,
            tenant_domain,
            display_name,
            created: OffsetDateTime::now_utc(),
            next_seq: 0,
            lag,
            users: Vec::new(),
            roles: Vec::new(),
            applications: Vec::new(),
            service_principals: Vec::new(),
            assignments: Vec::new(),
            device_codes: HashMap::new(),
            used_jtis: HashMap::new(),
        }
    }

    /// The next creation sequence number: lists are ordered by it and paged on it.
    pub fn next_seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }

    /// When an object created now becomes visible to everyone else.
    pub fn visible_from_now(&self) -> Instant {
        Instant::now() + self.lag
    }

    pub fn is_tenant(&self, segment: &str) -> bool {
        segment.eq_ignore_ascii_case(&self.tenant_id)
            || segment.eq_ignore_ascii_case(&self.tenant_domain)
    }

    pub fn user(&self, id_or_upn: &str, now: Instant) -> Option<&User> {
        self.users.iter().find(|u| {
            now >= u.visible_from
                && (u.id.eq_ignore_ascii_case(id_or_upn) || u.upn.eq_ignore_ascii_case(id_or_upn))
        })
    }

    pub fn user_roles(&self, user_id: &str) -> impl Iterator<Item = &DirectoryRole> {
        self.roles
            .iter()
            .filter(move |r| r.members.iter().any(|m| m == user_id))
    }

    /// Hybrid Identity Administrator or Global Administrator: may change the directory.
    pub fn user_is_admin(&self, user_id: &str) -> bool {
        self.user_roles(user_id).any(|r| {
            r.template_id == HYBRID_IDENTITY_ADMINISTRATOR || r.template_id == GLOBAL_ADMINISTRATOR
        })
    }

    pub fn application_by_app_id(&self, app_id: &str, now: Instant) -> Option<&Application> {
        self.applications
            .iter()
            .find(|a| now >= a.visible_from && a.app_id.eq_ignore_ascii_case(app_id))
    }

    pub fn service_principal_by_app_id(
        &self,
        app_id: &str,
        now: Instant,
    ) -> Option<&ServicePrincipal> {
        self.service_principals
            .iter()
            .find(|s| now >= s.visible_from && s.app_id.eq_ignore_ascii_case(app_id))
    }

    /// The resource a scope names, by appId or by one of its servicePrincipalNames.
    pub fn resource(&self, identifier: &str, now: Instant) -> Option<&ServicePrincipal> {
        let identifier = identifier.trim_end_matches('/');
        self.service_principals.iter().find(|s| {
            now >= s.visible_from
                && (s.app_id.eq_ignore_ascii_case(identifier)
                    || s.service_principal_names
                        .iter()
                        .any(|n| n.trim_end_matches('/').eq_ignore_ascii_case(identifier)))
        })
    }

    /// The values of the app roles `principal_id` holds on `resource`.
    pub fn assigned_roles(&self, principal_id: &str, resource: &ServicePrincipal) -> Vec<String> {
        self.assignments
            .iter()
            .filter(|a| a.principal_id == principal_id && a.resource_id == resource.id)
            .filter_map(|a| resource.app_roles.iter().find(|r| r.id == a.app_role_id))
            .map(|r| r.value.clone())
            .collect()
    }

    /// Records `jti` as used; false when it was already seen.
    pub fn claim_jti(&mut self, jti: &str, expires: i64, now_unix: i64) -> bool {
        self.used_jtis.retain(|_, exp| *exp + 600 > now_unix);
        if self.used_jtis.contains_key(jti) {
            return false;
        }
        self.used_jtis.insert(jti.to_string(), expires);
        true
    }

    pub fn device_code_by_user_code(&mut self, user_code: &str) -> Option<&mut DeviceCode> {
        let wanted = user_code.trim().to_ascii_uppercase();
        self.device_codes
            .values_mut()
            .find(|d| d.user_code == wanted)
    }
}
