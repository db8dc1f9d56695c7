//! What else can act as an application, read by an administrator for the
//! audit: its service principal (secrets, whether enabled), its federated
//! identity credentials, the owners of both, and the delegated grants to it;
//! and their removal (`app revoke`).

use super::{
    Consistency, DirectoryObject, EntraError, FederatedIdentityCredential, GraphClient,
    PermissionGrant, Request, ServicePrincipal,
};
use reqwest::Method;

impl GraphClient {
    /// The service principal by object id, with its app roles, client
    /// secrets (hints) and `accountEnabled`.
    pub async fn service_principal(&self, id: &str) -> Result<ServicePrincipal, EntraError> {
        self.get(&format!("/servicePrincipals/{id}"), Consistency::Settled)
            .await
    }

    pub async fn federated_identity_credentials(
        &self,
        application_object_id: &str,
    ) -> Result<Vec<FederatedIdentityCredential>, EntraError> {
        let url = self.url(&format!(
            "/applications/{application_object_id}/federatedIdentityCredentials"
        ));
        self.list(url, Consistency::Settled).await
    }

    /// The owners of `/applications/{id}` or `/servicePrincipals/{id}`
    /// (`object` is that path).
    pub async fn owners(&self, object: &str) -> Result<Vec<DirectoryObject>, EntraError> {
        self.list(self.url(&format!("{object}/owners")), Consistency::Settled)
            .await
    }

    /// The delegated grants the service principal holds as a client.
    pub async fn permission_grants_of(
        &self,
        service_principal_id: &str,
    ) -> Result<Vec<PermissionGrant>, EntraError> {
        let url = self.url(&format!(
            "/servicePrincipals/{service_principal_id}/oauth2PermissionGrants"
        ));
        self.list(url, Consistency::Settled).await
    }

    /// `POST {object}/removePassword`: removes the client secret `key_id`
    /// from `/applications/{id}` or `/servicePrincipals/{id}` (`object`).
    pub async fn remove_password(&self, object: &str, key_id: &str) -> Result<(), EntraError> {
        let body = serde_json::json!({ "keyId": key_id });
        self.action(&format!("{object}/removePassword"), &body)
            .await
    }

    /// `DELETE path`: a federated credential, an owner's `$ref`, an app role
    /// assignment or a grant. Safe to repeat: what is gone answers 404.
    pub async fn delete(&self, path: &str) -> Result<(), EntraError> {
        let url = self.url(path);
        self.call(Request::new(Method::DELETE, &url), Consistency::Settled)
            .await
            .map(|_| ())
    }
}
