//! Applications, their service principals and app role grants: what
//! registration reads and makes, each made exactly once ([`Repeat`]).

use super::{
    AppRoleAssignment, Application, Consistency, EntraError, GraphClient, NewAppRoleAssignment,
    NewApplication, Repeat, ServicePrincipal, Written, odata_literal,
};
use url::Url;

impl GraphClient {
    pub async fn service_principal_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<ServicePrincipal>, EntraError> {
        self.find(&format!(
            "/servicePrincipals(appId='{}')",
            odata_literal(app_id)
        ))
        .await
    }

    pub async fn application_by_app_id(
        &self,
        app_id: &str,
    ) -> Result<Option<Application>, EntraError> {
        self.find(&format!("/applications(appId='{}')", odata_literal(app_id)))
            .await
    }

    /// Applications whose display name starts with `prefix`.
    pub async fn applications_named(&self, prefix: &str) -> Result<Vec<Application>, EntraError> {
        let filter = format!("startswith(displayName,'{}')", odata_literal(prefix));
        let mut url = Url::parse(&self.url("/applications"))
            .map_err(|e| EntraError::Config(format!("Graph URL: {e}")))?;
        url.query_pairs_mut().append_pair("$filter", &filter);
        self.list(url.into(), Consistency::Settled).await
    }

    async fn create_application(
        &self,
        application: &NewApplication,
    ) -> Result<Application, EntraError> {
        self.post("/applications", application, Consistency::Settled)
            .await
    }

    /// Creates (or, when it exists already, updates) the application whose
    /// `uniqueName` is `unique_name`.
    async fn upsert_application(
        &self,
        unique_name: &str,
        application: &NewApplication,
    ) -> Result<(Application, bool), EntraError> {
        self.upsert(
            &application_by_unique_name(unique_name),
            application,
            Consistency::Settled,
        )
        .await
    }

    /// This server's application, made exactly once whatever answers get
    /// lost, by a caller that has just looked for it by name and found
    /// none: Graph's upsert on `unique_name` where the cloud offers it (a
    /// repeat cannot make a second one), a POST elsewhere, whose lost answer
    /// is looked for through replication before it is ever sent again.
    pub async fn ensure_application(
        &self,
        application: &NewApplication,
        upsert: bool,
    ) -> Result<Application, EntraError> {
        let name = &application.display_name;
        let written = match upsert {
            true => {
                self.write_once(Repeat::Upsert)
                    .write_first()
                    .run(
                        async || self.find(&application_by_unique_name(name)).await,
                        async || {
                            let (app, _) = self.upsert_application(name, application).await?;
                            Ok(app)
                        },
                    )
                    .await
            }
            false => {
                self.write_once(Repeat::Duplicates)
                    .write_first()
                    .run(
                        async || self.application_named(name).await,
                        async || self.create_application(application).await,
                    )
                    .await
            }
        };
        written.map(Written::into_inner)
    }

    /// The application whose display name is exactly `name`.
    async fn application_named(&self, name: &str) -> Result<Option<Application>, EntraError> {
        Ok(self
            .applications_named(name)
            .await?
            .into_iter()
            .find(|app| app.display_name == name))
    }

    /// Creates the service principal of an application created moments ago.
    async fn create_service_principal(&self, app_id: &str) -> Result<ServicePrincipal, EntraError> {
        let body = serde_json::json!({ "appId": app_id });
        self.post(
            "/servicePrincipals",
            &body,
            Consistency::NewApplicationsPrincipal,
        )
        .await
    }

    /// The application's service principal, made exactly once: Graph's upsert
    /// on the application id where the cloud offers it; elsewhere found, or
    /// created with a POST (Graph refuses a second one for the application).
    /// Also says whether this call created it (a new one has no grants yet).
    pub async fn ensure_service_principal(
        &self,
        app_id: &str,
        upsert: bool,
    ) -> Result<(ServicePrincipal, bool), EntraError> {
        let lookup = async || {
            let found = self.service_principal_by_app_id(app_id).await?;
            Ok(found.map(|sp| (sp, false)))
        };
        let written = match upsert {
            true => {
                self.write_once(Repeat::Upsert)
                    .write_first()
                    .run(lookup, async || self.upsert_service_principal(app_id).await)
                    .await
            }
            false => {
                self.write_once(Repeat::Refused)
                    .run(lookup, async || {
                        Ok((self.create_service_principal(app_id).await?, true))
                    })
                    .await
            }
        };
        written.map(Written::into_inner)
    }

    /// Creates the service principal of an application created moments ago,
    /// or finds the one it has: Graph's upsert on the application id.
    async fn upsert_service_principal(
        &self,
        app_id: &str,
    ) -> Result<(ServicePrincipal, bool), EntraError> {
        let path = format!("/servicePrincipals(appId='{}')", odata_literal(app_id));
        self.upsert(
            &path,
            &serde_json::json!({}),
            Consistency::NewApplicationsPrincipal,
        )
        .await
    }

    pub async fn app_role_assignments(
        &self,
        service_principal_id: &str,
    ) -> Result<Vec<AppRoleAssignment>, EntraError> {
        // Called with service principals found or created moments before.
        let url = self.url(&format!(
            "/servicePrincipals/{service_principal_id}/appRoleAssignments"
        ));
        self.list(url, Consistency::JustCreated).await
    }

    /// Grants an app role to a service principal, exactly once, by a caller
    /// that has just looked at its grants: after an answer that leaves open
    /// whether it was granted the grants are looked at again, and Graph's
    /// "already exists" for it is waited for (through replication) until it
    /// shows.
    pub async fn ensure_app_role(
        &self,
        assignment: &NewAppRoleAssignment,
    ) -> Result<AppRoleAssignment, EntraError> {
        self.write_once(Repeat::Refused)
            .write_first()
            .run(
                async || {
                    let granted = self.app_role_assignments(&assignment.principal_id).await?;
                    Ok(granted.into_iter().find(|a| assignment.is(a)))
                },
                async || self.assign_app_role(assignment).await,
            )
            .await
            .map(Written::into_inner)
    }

    /// Grants an app role to a service principal created moments ago.
    async fn assign_app_role(
        &self,
        assignment: &NewAppRoleAssignment,
    ) -> Result<AppRoleAssignment, EntraError> {
        let path = format!(
            "/servicePrincipals/{}/appRoleAssignments",
            assignment.principal_id
        );
        self.post(&path, assignment, Consistency::JustCreated).await
    }
}

impl NewAppRoleAssignment {
    fn is(&self, existing: &AppRoleAssignment) -> bool {
        existing.principal_id == self.principal_id
            && existing.resource_id == self.resource_id
            && existing.app_role_id == self.app_role_id
    }
}

fn application_by_unique_name(unique_name: &str) -> String {
    format!("/applications(uniqueName='{}')", odata_literal(unique_name))
}
