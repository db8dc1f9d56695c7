//! One Connect server for the tests of the tool's changes: a sandbox tenant of
//! its own on loopback and a fresh state directory pointed at it; the tool run
//! as a process, signed in as a seeded user; and what the tenant holds
//! afterwards, as an administrator reads it through Graph.

use super::process::{self, json_of, stderr};
use super::tenant::{self, SYNC_APP_ID, SYNC_ROLE_ID, admin_token, graph, user_token};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use entra_connect::sandbox::{SandboxConfig, SandboxHandle};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Digest;
use std::process::Output;
use std::sync::Mutex;
use tempfile::TempDir;

/// The Directory Synchronization Accounts role's template id.
pub const SYNC_ACCOUNTS_ROLE: &str = "d29b2b05-8046-44ba-8758-1e26182fcf32";

pub struct Server {
    pub sb: SandboxHandle,
    pub state: TempDir,
    /// Every command runs with `-v`, so a secret in a log line would show.
    verbose: bool,
    /// Everything the tool printed, to look for secrets in.
    printed: Mutex<String>,
}

impl Server {
    pub async fn new() -> Server {
        Server::with(SandboxConfig::default()).await
    }

    pub async fn with(config: SandboxConfig) -> Server {
        Server {
            sb: tenant::start_with(config).await,
            state: tempfile::tempdir().expect("a temporary state directory"),
            verbose: false,
            printed: Mutex::default(),
        }
    }

    /// Diagnostics on (`-v`) for every command from now on.
    pub fn verbose(mut self) -> Server {
        self.verbose = true;
        self
    }

    /// A server onboarded Managed (or BYOC with a new certificate of its store
    /// when `certificate` is given) by hybrid.admin.
    pub async fn onboarded(config: SandboxConfig, certificate: Option<&str>) -> Server {
        let server = Server::with(config).await;
        let mut extra = vec![];
        if certificate.is_some() {
            extra = vec![
                "--certificate-sha256".to_string(),
                server.new_certificate().await,
            ];
        }
        let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
        json_of(&server.app("register", "hybrid.admin", &extra).await);
        json_of(&server.app("link", "hybrid.admin", &[]).await);
        server
    }

    /// A server linked (Bring Your Own Application) to an application a
    /// Global Administrator registered with a certificate of this server's store.
    pub async fn linked_to_own_application() -> Server {
        let server = Server::new().await;
        let hash = server.new_certificate().await;
        let pem = std::fs::read(server.state.path().join(format!("keys/{hash}.crt")))
            .expect("the new certificate's file");
        let der = pem::parse(pem).expect("PEM").into_contents();
        let key =
            json!({ "type": "AsymmetricX509Cert", "usage": "Verify", "key": STANDARD.encode(der) });
        let app = tenant::register_app_with_key(&server.sb, key).await;
        let extra = [
            "--application-app-id",
            app.app_id.as_str(),
            "--certificate-sha256",
            hash.as_str(),
        ];
        json_of(&server.app("link", "hybrid.admin", &extra).await);
        server
    }

    /// The flags that point a command at this server's tenant.
    pub fn connection(&self) -> Vec<String> {
        tenant::connection(&self.sb)
    }

    /// [`Server::connection`] and the replication timeout, unless `extra` sets one.
    fn connection_for(&self, extra: &[&str]) -> Vec<String> {
        match extra.contains(&"--replication-timeout") {
            true => self.connection(),
            false => tenant::connection_waiting(&self.sb),
        }
    }

    /// Runs the binary with `args`, `stdin` and extra environment, off the
    /// async runtime, and keeps what it printed.
    pub async fn run(
        &self,
        args: Vec<String>,
        stdin: String,
        env: Vec<(String, String)>,
    ) -> Output {
        let mut all = Vec::new();
        if self.verbose {
            all.push("-v".to_string());
        }
        all.extend(args);
        let output = process::run_async(self.state.path(), all, stdin, env).await;
        let mut printed = self.printed.lock().expect("no test panicked holding it");
        printed.push_str(&String::from_utf8_lossy(&output.stdout));
        printed.push_str(&String::from_utf8_lossy(&output.stderr));
        output
    }

    /// Everything every command of this server printed so far.
    pub fn printed(&self) -> String {
        self.printed
            .lock()
            .expect("no test panicked holding it")
            .clone()
    }

    /// `--json <command…>` signed in with the password grant as the seeded `user`.
    pub async fn as_user(
        &self,
        command: &[&str],
        user: &str,
        extra: &[&str],
        env: Vec<(String, String)>,
    ) -> Output {
        let user = self.sb.user(user).expect("a seeded user").clone();
        let mut args: Vec<String> = vec!["--json".into()];
        args.extend(command.iter().map(|s| s.to_string()));
        args.extend([
            "--upn".into(),
            user.upn.clone(),
            "--sign-in".into(),
            "password".into(),
            "--password-stdin".into(),
        ]);
        args.extend(self.connection_for(extra));
        args.extend(extra.iter().map(|s| s.to_string()));
        self.run(args, format!("{}\n", user.password), env).await
    }

    /// `app <command>` signed in as the seeded `user`.
    pub async fn app(&self, command: &str, user: &str, extra: &[&str]) -> Output {
        self.as_user(&["app", command], user, extra, vec![]).await
    }

    /// [`Server::app`] with extra environment.
    pub async fn app_with(
        &self,
        command: &str,
        user: &str,
        extra: &[&str],
        env: Vec<(String, String)>,
    ) -> Output {
        self.as_user(&["app", command], user, extra, env).await
    }

    /// `app <command>` with no administrator: the application acts for itself.
    pub async fn app_itself(
        &self,
        command: &str,
        extra: &[&str],
        env: Vec<(String, String)>,
    ) -> Output {
        let mut args: Vec<String> = vec!["--json".into(), "app".into(), command.into()];
        args.extend(self.connection_for(extra));
        args.extend(extra.iter().map(|s| s.to_string()));
        self.run(args, String::new(), env).await
    }

    /// `app <command>` as the seeded `user`, signed in with the device code
    /// (the sandbox approves it when its configuration says so).
    pub async fn app_device_code(&self, command: &str, user: &str) -> Output {
        let upn = self.sb.user(user).expect("a seeded user").upn.clone();
        let mut args: Vec<String> = vec!["--json".into(), "app".into(), command.into()];
        args.extend(["--upn".into(), upn]);
        args.extend(self.connection());
        self.run(args, String::new(), vec![]).await
    }

    /// A local `--json` command's answer; the test fails when it fails.
    pub async fn local(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json".to_string()];
        all.extend(args.iter().map(|s| s.to_string()));
        json_of(&self.run(all, String::new(), vec![]).await)
    }

    /// `cert new`: the new certificate's hash.
    pub async fn new_certificate(&self) -> String {
        let output = self
            .run(vec!["cert".into(), "new".into()], String::new(), vec![])
            .await;
        assert!(output.status.success(), "{}", stderr(&output));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    }

    /// `credential show`.
    pub async fn credential(&self) -> Value {
        self.local(&["credential", "show"]).await
    }

    /// The application part of `credential show`.
    pub async fn application(&self) -> Value {
        self.credential().await["application"].clone()
    }

    /// The connector's application id and certificate hash.
    pub async fn application_and_certificate(&self) -> (String, String) {
        let application = self.application().await;
        let text = |field: &str| {
            application[field]
                .as_str()
                .unwrap_or_else(|| panic!("{field} in {application}"))
                .to_string()
        };
        (text("application_id"), text("certificate_sha256"))
    }

    /// The hashes of the certificates in this server's store.
    pub async fn hashes_in_store(&self) -> Vec<String> {
        let list = self.local(&["cert", "list"]).await;
        list.as_array()
            .expect("a list")
            .iter()
            .map(|c| c["sha256"].as_str().expect("sha256").to_string())
            .collect()
    }

    /// This server's events with the id `id`.
    pub async fn events(&self, id: u32) -> Vec<Value> {
        let events = self.local(&["events", "--id", &id.to_string()]).await;
        events.as_array().expect("a list").clone()
    }

    pub async fn sync_cycle_enabled(&self) -> bool {
        self.local(&["scheduler", "show"]).await["sync_cycle_enabled"]
            .as_bool()
            .expect("sync_cycle_enabled")
    }

    /// Every byte of the state directory's database files, as text.
    pub fn database_text(&self) -> String {
        let mut text = String::new();
        for entry in std::fs::read_dir(self.state.path()).expect("the state directory") {
            let path = entry.expect("an entry").path();
            if path.to_string_lossy().contains("entra-connect.db") {
                let bytes = std::fs::read(&path).expect("a database file");
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
        text
    }

    /// `entra-connect <args>` started now against this server's state and
    /// tenant: a process the test can kill.
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        process::binary()
            .env("ENTRA_CONNECT_STATE_DIR", self.state.path())
            .args(args)
            .args(self.connection())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start entra-connect")
    }
}

/// What the tenant holds, as an administrator reads it through Graph.
impl Server {
    /// Every application of this tool in the tenant.
    pub async fn provisioning_apps(&self) -> Vec<Value> {
        tenant::provisioning_apps(&self.sb).await
    }

    /// The app role assignments of the service principal of `app_id`.
    pub async fn assignments(&self, app_id: &str) -> Vec<Value> {
        let token = admin_token(&self.sb).await;
        let path = format!("/servicePrincipals(appId='{app_id}')");
        let (status, sp) = graph(&self.sb, &token, Method::GET, &path, None).await;
        assert!(status.is_success(), "{sp}");
        let id = sp["id"].as_str().expect("a service principal");
        let path = format!("/servicePrincipals/{id}/appRoleAssignments");
        let (status, list) = graph(&self.sb, &token, Method::GET, &path, None).await;
        assert!(status.is_success(), "{list}");
        list["value"].as_array().expect("a list").clone()
    }

    pub async fn sync_service_principal_id(&self) -> String {
        let token = admin_token(&self.sb).await;
        let path = format!("/servicePrincipals(appId='{SYNC_APP_ID}')");
        let (status, sp) = graph(&self.sb, &token, Method::GET, &path, None).await;
        assert!(status.is_success(), "{sp}");
        sp["id"].as_str().expect("id").to_string()
    }

    /// The tenant holds exactly one application of this tool, with the
    /// certificate `hash` as its only key and only the synchronization role granted.
    pub async fn assert_one_application(&self, app_id: &str, hash: &str) {
        let apps = self.provisioning_apps().await;
        assert_eq!(apps.len(), 1, "{apps:#?}");
        assert_eq!(apps[0]["appId"], app_id);
        let keys = apps[0]["keyCredentials"]
            .as_array()
            .expect("keyCredentials");
        assert_eq!(keys.len(), 1, "{keys:?}");
        let thumbprint = self.local(&["cert", "show", hash]).await["thumbprint"].clone();
        let raw = hex::decode(thumbprint.as_str().expect("thumbprint")).expect("hex");
        assert_eq!(
            keys[0]["customKeyIdentifier"],
            STANDARD.encode(raw).as_str()
        );
        assert_eq!(
            apps[0]["requiredResourceAccess"],
            json!([{ "resourceAppId": SYNC_APP_ID, "resourceAccess": [{ "id": SYNC_ROLE_ID, "type": "Role" }] }])
        );
        let assignments = self.assignments(app_id).await;
        assert_eq!(assignments.len(), 1, "{assignments:?}");
        assert_eq!(assignments[0]["appRoleId"], SYNC_ROLE_ID);
        assert_eq!(
            assignments[0]["resourceId"],
            self.sync_service_principal_id().await.as_str()
        );
    }

    /// This server's connector is the application `app_id` with the
    /// certificate `hash`, managed as `certificate_managed_by` says.
    pub async fn assert_application_credential(
        &self,
        app_id: &str,
        hash: &str,
        certificate_managed_by: &str,
    ) {
        let credential = self.credential().await;
        assert_eq!(credential["connector_identity_type"], "Application");
        let application = &credential["application"];
        assert_eq!(application["application_id"], app_id);
        assert_eq!(application["tenant_id"], self.sb.tenant_id.as_str());
        assert_eq!(application["certificate_sha256"], hash);
        assert_eq!(
            application["certificate_managed_by"],
            certificate_managed_by
        );
    }

    /// The application's object id and keys as a Global Administrator reads them (with `key`).
    pub async fn keys(&self, app_id: &str) -> (String, Vec<Value>) {
        let token = admin_token(&self.sb).await;
        let path = format!("/applications(appId='{app_id}')?$select=id,keyCredentials");
        let (status, app) = graph(&self.sb, &token, Method::GET, &path, None).await;
        assert!(status.is_success(), "{app}");
        let id = app["id"].as_str().expect("id").to_string();
        (id, app["keyCredentials"].as_array().expect("keys").clone())
    }

    /// SHA-256 hashes of the application's key certificates.
    pub async fn key_hashes(&self, app_id: &str) -> Vec<String> {
        let (_, keys) = self.keys(app_id).await;
        keys.iter()
            .map(|k| {
                let der = STANDARD
                    .decode(k["key"].as_str().expect("key"))
                    .expect("base64");
                hex::encode_upper(sha2::Sha256::digest(der))
            })
            .collect()
    }

    /// A Global Administrator adds `key` to the application behind the
    /// server's back (a PATCH that keeps every other key).
    pub async fn add_key_as_global_admin(&self, app_id: &str, key: Value) {
        let (object_id, mut keys) = self.keys(app_id).await;
        keys.push(key);
        self.set_keys_as_global_admin(&object_id, keys).await;
    }

    /// A Global Administrator replaces the keys of the application whose
    /// object id is `object_id` with `keys`.
    pub async fn set_keys_as_global_admin(&self, object_id: &str, keys: Vec<Value>) {
        let token = user_token(&self.sb, "global.admin").await;
        let path = format!("/applications/{object_id}");
        let body = Some(json!({ "keyCredentials": keys }));
        let (status, body) = graph(&self.sb, &token, Method::PATCH, &path, body).await;
        assert!(status.is_success(), "{body}");
    }

    /// The application signs in with the certificate `new` and is refused
    /// (AADSTS700027) with `old`, both keys read from the store.
    pub async fn assert_only_new_signs_in(&self, app_id: &str, new: &str, old: &str) {
        let key = |hash: &str| {
            std::fs::read(self.state.path().join(format!("keys/{hash}.key"))).expect("a key file")
        };
        let (status, body) = self.token_with(app_id, new, &key(new)).await;
        assert_eq!(status, 200, "{body}");
        let (status, body) = self.token_with(app_id, old, &key(old)).await;
        assert_eq!(status, 401, "{body}");
        assert_eq!(tenant::aadsts(&body), 700027, "{body}");
    }

    /// A client-credentials request signed with the key file `key_pem` of
    /// the certificate `hash`: (status, body).
    pub async fn token_with(&self, app_id: &str, hash: &str, key_pem: &[u8]) -> (u16, Value) {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
        header.x5t_s256 = Some(URL_SAFE_NO_PAD.encode(hex::decode(hash).expect("hex")));
        let now = tenant::now();
        let claims = json!({
            "aud": self.sb.token_endpoint(), "iss": app_id, "sub": app_id,
            "jti": uuid::Uuid::new_v4().to_string(), "nbf": now, "iat": now, "exp": now + 300,
        });
        let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem).expect("an RSA key");
        let assertion = jsonwebtoken::encode(&header, &claims, &key).expect("signed");
        let (status, body) =
            tenant::client_credentials(&self.sb, app_id, &assertion, tenant::SYNC_SCOPE).await;
        (status.as_u16(), body)
    }

    /// The UPNs in the Directory Synchronization Accounts role.
    pub async fn sync_accounts(&self) -> Vec<String> {
        let token = user_token(&self.sb, "global.admin").await;
        let path = format!("/directoryRoles(roleTemplateId='{SYNC_ACCOUNTS_ROLE}')/members");
        let (status, body) = graph(&self.sb, &token, Method::GET, &path, None).await;
        assert!(status.is_success(), "{body}");
        body["value"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|u| u["userPrincipalName"].as_str().expect("a UPN").to_string())
            .collect()
    }

    /// Deletes a user as a Global Administrator.
    pub async fn delete_user(&self, upn: &str) {
        let token = user_token(&self.sb, "global.admin").await;
        let path = format!("/users/{upn}");
        let (status, user) = graph(&self.sb, &token, Method::GET, &path, None).await;
        assert!(status.is_success(), "{user}");
        let path = format!("/users/{}", user["id"].as_str().expect("id"));
        let (status, body) = graph(&self.sb, &token, Method::DELETE, &path, None).await;
        assert!(status.is_success(), "{body}");
    }

    /// Creates a directory synchronization account as a Global Administrator.
    pub async fn create_sync_account(&self, name: &str) -> String {
        let token = user_token(&self.sb, "global.admin").await;
        let upn = format!("{name}@{}", self.sb.tenant_domain);
        let user = json!({
            "accountEnabled": true, "displayName": "On-Premises Directory Synchronization Service Account",
            "mailNickname": name, "userPrincipalName": upn,
            "passwordProfile": { "password": "Another-sync-account-password-1", "forceChangePasswordNextSignIn": false },
        });
        let (status, created) = graph(&self.sb, &token, Method::POST, "/users", Some(user)).await;
        assert!(status.is_success(), "{created}");
        let assignment = json!({
            "principalId": created["id"], "roleDefinitionId": SYNC_ACCOUNTS_ROLE, "directoryScopeId": "/",
        });
        let path = "/roleManagement/directory/roleAssignments";
        let (status, body) = graph(&self.sb, &token, Method::POST, path, Some(assignment)).await;
        assert!(status.is_success(), "{body}");
        upn
    }
}

/// The command was refused (exit 1) with every one of `texts` in what it said.
pub fn refused(output: &Output, texts: &[&str]) {
    let said = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{said}");
    for text in texts {
        assert!(said.contains(text), "expected {text:?} in:\n{said}");
    }
}
