//! Users and directory roles: the legacy connector account (a directory
//! synchronization account) and the roles that make it one.

use super::{Consistency, EntraError, GraphClient, User, odata_literal};
use crate::entra::Secret;
use serde::Deserialize;

/// A directory role assignment at tenant scope (`unifiedRoleAssignment`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoleAssignment {
    pub id: String,
    pub principal_id: String,
    pub role_definition_id: String,
}

/// A cloud user to create: a directory synchronization account, whose
/// password never expires and is not changed at first sign-in.
pub struct NewUser<'a> {
    pub user_principal_name: &'a str,
    pub display_name: &'a str,
    pub mail_nickname: &'a str,
    pub password: &'a Secret,
}

/// Users and directory roles: the legacy connector account (a directory
/// synchronization account) is a user holding a built-in role.
impl GraphClient {
    pub async fn user(&self, id_or_upn: &str) -> Result<Option<User>, EntraError> {
        let key = url::form_urlencoded::byte_serialize(id_or_upn.as_bytes()).collect::<String>();
        self.find(&format!("/users/{key}")).await
    }

    /// The tenant's initial domain (`<name>.onmicrosoft.com`).
    pub async fn initial_domain(&self) -> Result<String, EntraError> {
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Organization {
            verified_domains: Vec<Domain>,
        }
        #[derive(Deserialize)]
        #[serde(rename_all = "camelCase")]
        struct Domain {
            name: String,
            #[serde(default)]
            is_initial: bool,
        }
        let organizations: Vec<Organization> = self
            .list(self.url("/organization"), Consistency::Settled)
            .await?;
        organizations
            .into_iter()
            .flat_map(|o| o.verified_domains)
            .find(|d| d.is_initial)
            .map(|d| d.name)
            .ok_or_else(|| EntraError::Config("the tenant reports no initial domain".into()))
    }

    /// Creates `user`. A POST: after an ambiguous answer, look it up by its
    /// UPN before ever sending it again.
    pub async fn create_user(&self, user: &NewUser<'_>) -> Result<User, EntraError> {
        let body = serde_json::json!({
            "accountEnabled": true,
            "displayName": user.display_name,
            "mailNickname": user.mail_nickname,
            "userPrincipalName": user.user_principal_name,
            "passwordPolicies": "DisablePasswordExpiration",
            "passwordProfile": {
                "password": user.password.expose(),
                "forceChangePasswordNextSignIn": false,
            },
        });
        self.post("/users", &body, Consistency::Settled).await
    }

    pub async fn delete_user(&self, id: &str) -> Result<(), EntraError> {
        self.delete(&format!("/users/{id}")).await
    }

    /// The tenant-wide assignments of directory roles to `principal_id`
    /// (a user created moments ago, perhaps).
    pub async fn role_assignments_of(
        &self,
        principal_id: &str,
    ) -> Result<Vec<RoleAssignment>, EntraError> {
        let filter = format!("principalId eq '{}'", odata_literal(principal_id));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("$filter", &filter)
            .finish();
        let url = self.url(&format!(
            "/roleManagement/directory/roleAssignments?{query}"
        ));
        self.list(url, Consistency::JustCreated).await
    }

    /// Assigns the built-in role `role_template_id` to `principal_id` at
    /// tenant scope (replication of a new user is waited for).
    pub async fn assign_directory_role(
        &self,
        principal_id: &str,
        role_template_id: &str,
    ) -> Result<RoleAssignment, EntraError> {
        let body = serde_json::json!({
            "principalId": principal_id,
            "roleDefinitionId": role_template_id,
            "directoryScopeId": "/",
        });
        self.post(
            "/roleManagement/directory/roleAssignments",
            &body,
            Consistency::JustCreated,
        )
        .await
    }

    /// The users holding the built-in role `role_template_id`.
    pub async fn role_members(&self, role_template_id: &str) -> Result<Vec<User>, EntraError> {
        let path = format!(
            "/directoryRoles(roleTemplateId='{}')/members",
            odata_literal(role_template_id)
        );
        self.list(self.url(&path), Consistency::Settled).await
    }
}
