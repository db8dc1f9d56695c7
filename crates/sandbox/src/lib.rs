//! The sandbox tenant: a strict local emulation of the Microsoft identity
//! platform and the Microsoft Graph subset this tool uses, in the spirit of
//! Azurite. Started by `entra-connect sandbox serve` or in-process with
//! [`Sandbox::start`]; binds 127.0.0.1 only.

// The public surface is what the binary and its tests use; all else is the crate's own.
#![warn(unreachable_pub)]

mod assertion;
mod authorize;
mod certificate;
mod conditional_access;
mod device;
mod directory;
mod errors;
mod faults;
mod grants;
mod graph;
mod identity;
mod login;
mod pages;
mod seed;
mod sessions;
mod sign_ins;
mod store;
mod tls;
mod tokens;

pub use conditional_access::{ConditionalAccess, UnknownPolicy};
use seed::DEFAULT_SEED;
pub use seed::SeededUser;
pub use store::TENANT_FILE;

use axum::Router;
use axum::http::HeaderMap;
use directory::Directory;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokens::TokenSigner;

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("the seed tenant is invalid: {0}")]
    Seed(String),
    #[error("cannot listen on 127.0.0.1:{port}: {error}")]
    Bind { port: u16, error: std::io::Error },
    #[error("cannot write the CA certificate to {path}: {error}")]
    CaFile {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error("{0}")]
    Crypto(String),
    #[error(
        "the sandbox tenant in {path} cannot be read ({why}); it was left as it is: \
         restore it, or move it away to start a new tenant there"
    )]
    TenantFile { path: PathBuf, why: String },
    #[error("cannot keep the sandbox tenant in {path}: {error}")]
    DataDir {
        path: PathBuf,
        error: std::io::Error,
    },
    #[error(
        "{path} is open to other users (mode {mode:03o}) and the sandbox keeps private keys \
         and passwords there: `chmod 700` it, or choose another directory"
    )]
    DataDirOpen { path: PathBuf, mode: u32 },
    #[error(
        "another sandbox is serving the tenant in {path}: stop it first, or choose another directory"
    )]
    DataDirInUse { path: PathBuf },
}

/// How a sandbox behaves. `Default` is what `sandbox serve` uses without options.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// 0 picks a free port.
    pub port: u16,
    /// Serve HTTPS with a generated CA and server certificate.
    pub tls: bool,
    /// Where the CA PEM goes with `tls`; default: `ca.pem` in `data_dir`,
    /// else a file in the temporary directory.
    pub ca_cert_path: Option<PathBuf>,
    /// Keep the whole tenant here (directory, signing key, TLS CA) and find
    /// it again at the next start; the seed (and `without_consent`) make a
    /// tenant only where there is none yet. Without it the tenant lives in
    /// memory only.
    pub data_dir: Option<PathBuf>,
    /// The seed tenant as JSON text; default: `assets/sandbox-tenant.json`.
    pub seed: Option<String>,
    /// Approve every device code for this user after `auto_approve_delay`,
    /// and every browser sign-in (`/authorize`) at once.
    pub auto_approve: Option<String>,
    pub auto_approve_delay: Duration,
    /// With `auto_approve`: approve as the request's `login_hint` instead
    /// when it names a user of the tenant (a demo where any seeded
    /// administrator may sign in).
    pub auto_approve_as_hinted: bool,
    /// Added before every response.
    pub latency: Duration,
    /// New objects stay invisible to other readers and the token endpoint this long.
    pub replication_lag: Duration,
    /// Share of requests (0..=1) answered with 429 or 503.
    pub fault_rate: f64,
    /// Share of Graph writes (0..=1) that are committed and then answered with
    /// 500, 503 or 504, or with a dropped connection.
    pub post_write_fault_rate: f64,
    /// Seeds the one RNG behind every injected fault and random choice.
    pub fault_seed: u64,
    pub device_code_lifetime: Duration,
    pub device_code_interval: Duration,
    /// How long an authorization code may be redeemed (Entra: about 10 minutes).
    pub authorization_code_lifetime: Duration,
    /// The tenant's Conditional Access policies (`--conditional-access`).
    pub conditional_access: Vec<ConditionalAccess>,
    /// Items per Graph list page.
    pub page_size: usize,
    /// Start with no consent for any client (`--without-consent`): delegated
    /// sign-ins get AADSTS65001 until an administrator consents.
    pub without_consent: bool,
    /// While set, `POST /applications/{id}/removeKey` is answered 500 and
    /// removes nothing (a test sets it to make only key removal fail, and
    /// clears it to let the follow-up command work).
    pub refuse_remove_key: Arc<std::sync::atomic::AtomicBool>,
    /// While set, identity and Graph requests get no answer at all (the
    /// connection stays open, as with a hung endpoint or a network gone
    /// quiet): a test of what waits on one sets it after its setup.
    pub stall: Arc<std::sync::atomic::AtomicBool>,
    /// A user created through Graph fails this many password sign-ins as
    /// not found yet (AADSTS50034, what a sign-in of an account Entra does
    /// not know yet answers) before one works. A new directory
    /// synchronization account can take up to 15 minutes to sign in (the
    /// rollback issue quotes Microsoft's Entra Connect documentation;
    /// Add-ADSyncAADServiceAccount is <https://learn.microsoft.com/entra/identity/hybrid/connect/reference-connect-adsync>),
    /// and a count (not a time) makes a test of that wait exact.
    pub new_user_sign_in_refusals: u32,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            port: 0,
            tls: false,
            ca_cert_path: None,
            data_dir: None,
            seed: None,
            auto_approve: None,
            auto_approve_delay: Duration::from_millis(1500),
            auto_approve_as_hinted: false,
            latency: Duration::ZERO,
            replication_lag: Duration::ZERO,
            fault_rate: 0.0,
            post_write_fault_rate: 0.0,
            fault_seed: 0,
            device_code_lifetime: Duration::from_secs(900),
            device_code_interval: Duration::from_secs(5),
            authorization_code_lifetime: Duration::from_secs(600),
            conditional_access: Vec::new(),
            page_size: 10,
            without_consent: false,
            refuse_remove_key: Arc::default(),
            stall: Arc::default(),
            new_user_sign_in_refusals: 0,
        }
    }
}

/// What a started sandbox tells its user: the first stdout line of `sandbox serve`.
#[derive(Clone, Serialize, Deserialize)]
pub struct StartupInfo {
    pub authority_host: String,
    pub graph_url: String,
    pub tenant_id: String,
    pub tenant_domain: String,
    pub admin_upn: String,
    pub admin_password: String,
    pub users: Vec<SeededUser>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub ca_cert: Option<PathBuf>,
}

impl std::fmt::Debug for StartupInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartupInfo")
            .field("authority_host", &self.authority_host)
            .field("graph_url", &self.graph_url)
            .field("tenant_id", &self.tenant_id)
            .field("admin_upn", &self.admin_upn)
            .field("admin_password", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl StartupInfo {
    /// The seeded user whose UPN starts with `name@`.
    pub fn user(&self, name: &str) -> Option<&SeededUser> {
        let prefix = format!("{}@", name.to_ascii_lowercase());
        self.users
            .iter()
            .find(|u| u.upn.to_ascii_lowercase().starts_with(&prefix))
    }

    pub fn authority(&self) -> String {
        format!("{}/{}", self.authority_host, self.tenant_id)
    }

    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority())
    }
}

/// State shared by every request handler.
pub(crate) struct Shared {
    directory: Mutex<Directory>,
    /// Where the tenant is kept, with a data directory.
    store: Option<store::Store>,
    signer: TokenSigner,
    config: SandboxConfig,
    scheme: &'static str,
    faults: Mutex<ChaCha8Rng>,
    /// Open connections, so a post-write fault can drop the one it answers.
    connections: faults::Connections,
    /// Requests answered, control endpoints included (for benchmarks and tests).
    requests: std::sync::atomic::AtomicU64,
    /// Graph writes carried out (whatever their answer).
    writes: std::sync::atomic::AtomicU64,
    /// Committed writes whose answer a post-write fault replaced.
    post_write_faults: std::sync::atomic::AtomicU64,
    /// Requests being answered now, and the rounds begun: a round begins
    /// when a request arrives while none is being answered.
    in_flight: std::sync::atomic::AtomicU64,
    rounds: std::sync::atomic::AtomicU64,
    /// Device codes issued (whatever became of them).
    device_codes: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// The directory, even if a handler panicked while holding it (the data is
    /// still consistent: handlers validate before they mutate).
    fn directory(&self) -> MutexGuard<'_, Directory> {
        self.directory
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Saves the tenant, with a data directory. A failure is logged: the
    /// change is made, and the next save may succeed.
    fn save(&self) {
        if let Some(store) = &self.store
            && let Err(error) = store.save(|| self.directory())
        {
            tracing::error!(%error, "the sandbox tenant was not saved");
        }
    }

    /// This server's base URL as the client addressed it.
    fn base_url(&self, headers: &HeaderMap, port: u16) -> String {
        let host = headers
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '"', '<', '>']))
            .map_or_else(|| format!("127.0.0.1:{port}"), str::to_string);
        format!("{}://{host}", self.scheme)
    }
}

pub(crate) type AppState = Arc<SandboxState>;

pub(crate) struct SandboxState {
    shared: Shared,
    port: u16,
}

impl SandboxState {
    fn base_url(&self, headers: &HeaderMap) -> String {
        self.shared.base_url(headers, self.port)
    }

    /// Whether `identifier` names this sandbox's Graph as a resource: its
    /// scheme and a loopback host name, without a port, as a client derives
    /// Graph's scope from the URL it calls in any cloud (`https://HOST/.default`;
    /// the Graph SDKs drop the port, which Entra refuses in a resource).
    fn is_graph_host(&self, identifier: &str) -> bool {
        url::Url::parse(identifier).is_ok_and(|url| {
            url.scheme() == self.scheme
                && url.port().is_none()
                && matches!(url.path(), "" | "/")
                && url.host().is_some_and(|host| match host {
                    url::Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
                    url::Host::Ipv4(ip) => ip.is_loopback(),
                    url::Host::Ipv6(ip) => ip.is_loopback(),
                })
        })
    }
}

impl std::ops::Deref for SandboxState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.shared
    }
}

pub struct Sandbox;

/// A running sandbox; dropping it stops the server.
pub struct SandboxHandle {
    pub info: StartupInfo,
    /// The CA file the sandbox chose itself, removed when it stops.
    own_ca_file: Option<PathBuf>,
    server: axum_server::Handle<SocketAddr>,
    task: tokio::task::JoinHandle<()>,
    state: AppState,
}

impl SandboxHandle {
    /// How many HTTP requests the sandbox has received so far.
    pub fn requests_served(&self) -> u64 {
        self.state
            .requests
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many Graph writes the sandbox has carried out so far: what a test
    /// checks "nothing was changed in the tenant" against.
    pub fn writes_done(&self) -> u64 {
        self.state.writes.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// How many rounds of requests the sandbox has answered so far: requests
    /// answered at overlapping times are one round, so a client's requests
    /// made together count once and those made one after another each count.
    /// (With no latency, requests made together may not overlap.)
    pub fn request_rounds(&self) -> u64 {
        self.state.rounds.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many device codes the sandbox has issued so far: what a test of
    /// "signed in once" counts the administrator's prompts by.
    pub fn device_codes_issued(&self) -> u64 {
        self.state
            .device_codes
            .load(std::sync::atomic::Ordering::SeqCst)
    }

    /// How many committed writes were answered with a post-write fault so
    /// far: what a test of lost answers checks it met some against.
    pub fn post_write_faults_injected(&self) -> u64 {
        self.state
            .post_write_faults
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl std::ops::Deref for SandboxHandle {
    type Target = StartupInfo;
    fn deref(&self) -> &StartupInfo {
        &self.info
    }
}

impl Drop for SandboxHandle {
    fn drop(&mut self) {
        self.server.shutdown();
        self.task.abort();
        if let Some(store) = &self.state.store
            && let Err(error) = store.close(|| self.state.directory())
        {
            tracing::error!(%error, "the sandbox tenant was not saved");
        }
        if let Some(path) = &self.own_ca_file {
            let _ = std::fs::remove_file(path);
        }
    }
}

impl Sandbox {
    /// The administrator a seed (the built-in one when `None`) signs in as,
    /// known before starting (for `--auto-approve` of that user).
    pub fn seeded_admin(seed: Option<&str>) -> Result<String, SandboxError> {
        seed::Seed::parse(seed.unwrap_or(DEFAULT_SEED))?
            .admin_upn()
            .ok_or_else(|| SandboxError::Seed("no admin user".into()))
    }

    /// Forgets the tenant kept in `data_dir` (removes the directory), so the
    /// next start there makes a new one from the seed; refused while a
    /// sandbox serves it.
    pub fn discard(data_dir: &Path) -> Result<(), SandboxError> {
        store::discard(data_dir)
    }

    /// Starts a sandbox on the current tokio runtime and returns once it listens.
    pub async fn start(config: SandboxConfig) -> Result<SandboxHandle, SandboxError> {
        let (tenant, store) = match &config.data_dir {
            Some(dir) => {
                let (tenant, store) = store::Store::open(dir, &config)?;
                (tenant, Some(store))
            }
            None => (store::Tenant::new(&config)?, None),
        };
        let store::Tenant {
            directory,
            users,
            keys,
        } = tenant;
        let listener =
            std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, config.port)).map_err(|error| {
                SandboxError::Bind {
                    port: config.port,
                    error,
                }
            })?;
        let addr = listener.local_addr().map_err(|error| SandboxError::Bind {
            port: config.port,
            error,
        })?;
        let signer = TokenSigner::new(&keys.signing)?;
        let scheme = if config.tls { "https" } else { "http" };
        let authority_host = format!("{scheme}://127.0.0.1:{}", addr.port());
        let admin = users
            .iter()
            .find(|u| u.admin)
            .cloned()
            .ok_or_else(|| SandboxError::Seed("no admin user".into()))?;
        let mut info = StartupInfo {
            graph_url: format!("{authority_host}/v1.0"),
            authority_host,
            tenant_id: directory.tenant_id.clone(),
            tenant_domain: directory.tenant_domain.clone(),
            admin_upn: admin.upn,
            admin_password: admin.password,
            users,
            ca_cert: None,
        };
        let state = Arc::new(SandboxState {
            shared: Shared {
                directory: Mutex::new(directory),
                store,
                signer,
                faults: Mutex::new(ChaCha8Rng::seed_from_u64(config.fault_seed)),
                connections: faults::Connections::default(),
                scheme,
                config: config.clone(),
                requests: std::sync::atomic::AtomicU64::new(0),
                writes: std::sync::atomic::AtomicU64::new(0),
                post_write_faults: std::sync::atomic::AtomicU64::new(0),
                in_flight: std::sync::atomic::AtomicU64::new(0),
                rounds: std::sync::atomic::AtomicU64::new(0),
                device_codes: std::sync::atomic::AtomicU64::new(0),
            },
            port: addr.port(),
        });
        let app = router(state.clone());
        let server = axum_server::Handle::new();
        let task = if let Some(ca) = keys.tls_ca.as_ref().filter(|_| config.tls) {
            let ca_path = ca_cert_path(&config, addr.port());
            let rustls = tls::server_config(ca, &ca_path).await?;
            info.ca_cert = Some(ca_path);
            let acceptor = axum_server::tls_rustls::RustlsAcceptor::new(rustls)
                .acceptor(faults::ConnectionAcceptor::new(&state.connections));
            let builder = axum_server::from_tcp(listener)
                .map_err(|error| SandboxError::Bind {
                    port: config.port,
                    error,
                })?
                .acceptor(acceptor)
                .handle(server.clone());
            tokio::spawn(async move {
                if let Err(error) = builder
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                {
                    tracing::error!(%error, "sandbox server stopped");
                }
            })
        } else {
            let builder = axum_server::from_tcp(listener)
                .map_err(|error| SandboxError::Bind {
                    port: config.port,
                    error,
                })?
                .acceptor(faults::ConnectionAcceptor::new(&state.connections))
                .handle(server.clone());
            tokio::spawn(async move {
                if let Err(error) = builder
                    .serve(app.into_make_service_with_connect_info::<SocketAddr>())
                    .await
                {
                    tracing::error!(%error, "sandbox server stopped");
                }
            })
        };
        tracing::info!(%addr, "sandbox listening");
        let own_ca_file = match (&config.ca_cert_path, &config.data_dir) {
            (None, None) => info.ca_cert.clone(),
            _ => None,
        };
        Ok(SandboxHandle {
            info,
            own_ca_file,
            server,
            task,
            state,
        })
    }
}

/// Where the CA PEM goes: where asked, else in the data directory, else a
/// file of this process in the temporary directory.
fn ca_cert_path(config: &SandboxConfig, port: u16) -> PathBuf {
    match (&config.ca_cert_path, &config.data_dir) {
        (Some(path), _) => path.clone(),
        (None, Some(dir)) => dir.join(store::CA_FILE),
        (None, None) => std::env::temp_dir().join(format!(
            "entra-connect-sandbox-{}-{port}-ca.pem",
            std::process::id()
        )),
    }
}

fn router(state: AppState) -> Router {
    Router::new()
        .merge(identity::routes())
        .merge(authorize::routes())
        .merge(device::routes())
        .merge(graph::routes())
        // Inside the faults: a committed write is saved whatever it is answered with.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            store::save_after_changes,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            faults::latency_and_faults,
        ))
        .with_state(state)
}

/// The property tests' settings: `cases` of them, and the same cases on
/// every run, so CI is reproducible.
#[cfg(test)]
fn proptest_config(cases: u32) -> proptest::prelude::ProptestConfig {
    proptest::prelude::ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x45434E54),
        ..proptest::prelude::ProptestConfig::default()
    }
}
