//! An application's certificates: read with `key`, rolled by the
//! application itself (`addKey`/`removeKey`), replaced by an administrator.

use super::{
    Application, Consistency, EntraError, GraphClient, KeyCredential, Request, odata_literal,
};
use crate::entra::Secret;
use reqwest::Method;

/// Rolling an application's certificates: its keys read with `key` (a
/// single-object GET selecting `keyCredentials`), `addKey`/`removeKey` by the
/// application itself with a proof of possession, and an administrator's
/// PATCH of the whole collection.
impl GraphClient {
    /// The application with application id `app_id`, its keys, each with
    /// `key` (Graph returns it only on a single GET whose `$select` names
    /// `keyCredentials`), and its client secrets (their hints).
    pub async fn application_keys(&self, app_id: &str) -> Result<Option<Application>, EntraError> {
        self.find(&format!(
            "/applications(appId='{}')?$select=id,appId,displayName,keyCredentials,passwordCredentials",
            odata_literal(app_id)
        ))
        .await
    }

    /// `POST /applications/{id}/addKey`: the application adds a certificate
    /// to its own keys, proving it holds a current one. Never repeated here
    /// after an answer that got lost: the caller looks at the keys first.
    pub async fn add_key(
        &self,
        object_id: &str,
        key: &KeyCredential,
        proof: &Secret,
    ) -> Result<KeyCredential, EntraError> {
        let body = serde_json::json!({
            "keyCredential": key,
            "passwordCredential": null,
            "proof": proof.expose(),
        });
        self.post(
            &format!("/applications/{object_id}/addKey"),
            &body,
            Consistency::Settled,
        )
        .await
    }

    /// `POST /applications/{id}/removeKey`: the application removes one of its
    /// keys, proving it holds a current one.
    pub async fn remove_key(
        &self,
        object_id: &str,
        key_id: &str,
        proof: &Secret,
    ) -> Result<(), EntraError> {
        let body = serde_json::json!({ "keyId": key_id, "proof": proof.expose() });
        self.action(&format!("/applications/{object_id}/removeKey"), &body)
            .await
    }

    /// `PATCH /applications/{id}` with `keyCredentials`: replaces the whole
    /// collection with `keys` (an administrator's credential update). Safe to
    /// repeat: the same collection again changes nothing.
    pub async fn replace_key_credentials(
        &self,
        object_id: &str,
        keys: &[KeyCredential],
    ) -> Result<(), EntraError> {
        let body = serde_json::json!({ "keyCredentials": keys });
        let url = self.url(&format!("/applications/{object_id}"));
        let request = Request {
            body: Some(&body),
            ..Request::new(Method::PATCH, &url)
        };
        self.call(request, Consistency::Settled).await.map(|_| ())
    }
}
