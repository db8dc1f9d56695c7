//! A tenant that lasts. With a data directory (`sandbox serve --data-dir`,
//! [`SandboxConfig::data_dir`]) the sandbox keeps its whole tenant in one
//! file there: the directory, the seeded users it reports, its token-signing
//! key and its TLS CA. The file is written again (a temporary file renamed
//! over it) after every request that may have changed the directory, and
//! when the sandbox stops; the next start reads it back. The seed makes a
//! tenant only where there is none yet. A file that cannot be read is
//! refused, never replaced with a fresh tenant: it may be all a demo has.

use super::{SandboxConfig, SandboxError};
use crate::directory::Directory;
use crate::seed::{self, DEFAULT_SEED, SeededUser};
use crate::tls::CaKeys;
use crate::tokens::SigningKeys;
use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use serde::{Deserialize, Serialize};
use std::fs::{DirBuilder, File, OpenOptions};
use std::io::Write;
use std::ops::Deref;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

/// The tenant's file in the data directory.
pub const TENANT_FILE: &str = "tenant.json";
/// Held locked while a sandbox serves the directory's tenant.
const LOCK_FILE: &str = "tenant.lock";
/// The CA certificate clients trust, when no other path is asked for.
pub(crate) const CA_FILE: &str = "ca.pem";
/// The layout of [`TENANT_FILE`]; a file of another is refused.
const FORMAT: u32 = 1;

/// What a sandbox serves: its directory, the seeded users it reports, its keys.
pub(crate) struct Tenant {
    pub directory: Directory,
    pub users: Vec<SeededUser>,
    pub keys: Keys,
}

/// What stays as the tenant was made: its keys, and who was seeded.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Keys {
    pub signing: SigningKeys,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_ca: Option<CaKeys>,
    /// The seeded users as first reported (their passwords are the
    /// directory's: see [`Tenant::read`]).
    seeded_users: Vec<SeededUser>,
    admin_upn: String,
}

/// The tenant file: written from borrowed parts, read into owned ones.
#[derive(Serialize, Deserialize)]
struct TenantFile<K, D> {
    format: u32,
    keys: K,
    directory: D,
}

impl Tenant {
    /// A new tenant from the configured seed, with new keys.
    pub(crate) fn new(config: &SandboxConfig) -> Result<Tenant, SandboxError> {
        let mut seed = seed::Seed::parse(config.seed.as_deref().unwrap_or(DEFAULT_SEED))?;
        if config.without_consent {
            seed.revoke_consents();
        }
        let (directory, users) = seed.into_directory(config.replication_lag);
        let admin_upn = users
            .iter()
            .find(|u| u.admin)
            .map(|u| u.upn.clone())
            .ok_or_else(|| SandboxError::Seed("no admin user".into()))?;
        let tls_ca = match config.tls {
            true => Some(CaKeys::generate()?),
            false => None,
        };
        Ok(Tenant {
            directory,
            keys: Keys {
                signing: SigningKeys::generate()?,
                tls_ca,
                seeded_users: users.clone(),
                admin_upn,
            },
            users,
        })
    }

    /// The tenant a data file holds. Its seeded users are reported as the
    /// directory has them now: without those deleted since.
    fn read(path: &Path, bytes: &[u8], config: &SandboxConfig) -> Result<Tenant, SandboxError> {
        let damaged = |why: String| SandboxError::TenantFile {
            path: path.to_path_buf(),
            why,
        };
        #[derive(Deserialize)]
        struct Format {
            format: u32,
        }
        let format: Format = serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
        if format.format != FORMAT {
            return Err(damaged(format!(
                "it is in format {}, this sandbox reads format {FORMAT}",
                format.format
            )));
        }
        let file: TenantFile<Keys, Directory> =
            serde_json::from_slice(bytes).map_err(|e| damaged(e.to_string()))?;
        let (keys, mut directory) = (file.keys, file.directory);
        directory.set_replication_lag(config.replication_lag);
        let users = keys
            .seeded_users
            .iter()
            .filter_map(|seeded| {
                let user = directory
                    .users
                    .iter()
                    .find(|u| u.upn.eq_ignore_ascii_case(&seeded.upn))?;
                Some(SeededUser {
                    password: user.password.clone(),
                    admin: seeded.upn.eq_ignore_ascii_case(&keys.admin_upn),
                    ..seeded.clone()
                })
            })
            .collect();
        Ok(Tenant {
            directory,
            users,
            keys,
        })
    }
}

/// Where a tenant is kept, while its sandbox serves it.
pub(crate) struct Store {
    path: PathBuf,
    keys: Keys,
    saved: Mutex<Saved>,
}

struct Saved {
    /// What the file holds, so an unchanged tenant is not written again.
    bytes: Vec<u8>,
    /// The directory's lock; `None` once the sandbox has stopped, after
    /// which nothing is written (a request still finishing must not
    /// overwrite what the next sandbox on the directory writes).
    lock: Option<File>,
}

impl Store {
    /// The tenant kept in `dir` (a new one from the seed when it holds none),
    /// and its store, which has saved it. `dir` is locked until [`Store::close`].
    pub(crate) fn open(
        dir: &Path,
        config: &SandboxConfig,
    ) -> Result<(Tenant, Store), SandboxError> {
        create_private_dir(dir)?;
        let lock = lock(dir)?;
        let path = dir.join(TENANT_FILE);
        let mut tenant = match std::fs::read(&path) {
            Ok(bytes) => Tenant::read(&path, &bytes, config)?,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Tenant::new(config)?,
            Err(error) => {
                return Err(SandboxError::TenantFile {
                    path,
                    why: error.to_string(),
                });
            }
        };
        if config.tls && tenant.keys.tls_ca.is_none() {
            tenant.keys.tls_ca = Some(CaKeys::generate()?);
        }
        let store = Store {
            path,
            keys: tenant.keys.clone(),
            saved: Mutex::new(Saved {
                bytes: Vec::new(),
                lock: Some(lock),
            }),
        };
        store.save(|| &tenant.directory)?;
        Ok((tenant, store))
    }

    fn saved(&self) -> MutexGuard<'_, Saved> {
        self.saved
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the directory `read` gives with the keys, unless the file
    /// already holds it or the sandbox has stopped. The directory is held
    /// only while it is serialized, not while the file is written; saves
    /// are one at a time, so the file ends with the latest.
    pub(crate) fn save<D: Deref<Target = Directory>>(
        &self,
        read: impl FnOnce() -> D,
    ) -> Result<(), SandboxError> {
        self.save_with(&mut self.saved(), read)
    }

    /// Saves the directory one last time and lets the data directory go.
    pub(crate) fn close<D: Deref<Target = Directory>>(
        &self,
        read: impl FnOnce() -> D,
    ) -> Result<(), SandboxError> {
        let mut saved = self.saved();
        let result = self.save_with(&mut saved, read);
        saved.lock = None;
        result
    }

    fn save_with<D: Deref<Target = Directory>>(
        &self,
        saved: &mut Saved,
        read: impl FnOnce() -> D,
    ) -> Result<(), SandboxError> {
        if saved.lock.is_none() {
            return Ok(());
        }
        let unsaved = |error| SandboxError::DataDir {
            path: self.path.clone(),
            error,
        };
        let bytes = {
            let directory = read();
            let file = TenantFile {
                format: FORMAT,
                keys: &self.keys,
                directory: &*directory,
            };
            serde_json::to_vec(&file).map_err(|e| unsaved(std::io::Error::other(e)))?
        };
        if bytes == saved.bytes {
            return Ok(());
        }
        write_atomically(&self.path, &bytes).map_err(unsaved)?;
        saved.bytes = bytes;
        Ok(())
    }
}

/// Forgets the tenant kept in `dir`: the directory and all in it are removed,
/// unless a sandbox is serving it.
pub(crate) fn discard(dir: &Path) -> Result<(), SandboxError> {
    if !dir.exists() {
        return Ok(());
    }
    let _serving = lock(dir)?;
    std::fs::remove_dir_all(dir).map_err(|error| SandboxError::DataDir {
        path: dir.to_path_buf(),
        error,
    })
}

/// Saves the tenant after every request that may have changed it (all but
/// reads), whatever its answer: a write can be committed and then answered
/// with a fault.
pub(crate) async fn save_after_changes(
    State(state): State<crate::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let reads = matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    let response = next.run(request).await;
    if !reads {
        state.save();
    }
    response
}

/// Creates `dir` owner-only, or checks that it is: it holds private keys and passwords.
fn create_private_dir(dir: &Path) -> Result<(), SandboxError> {
    let unusable = |error| SandboxError::DataDir {
        path: dir.to_path_buf(),
        error,
    };
    match std::fs::metadata(dir) {
        Ok(meta) if !meta.is_dir() => Err(unusable(std::io::Error::new(
            std::io::ErrorKind::NotADirectory,
            "it exists and is not a directory",
        ))),
        Ok(meta) if meta.permissions().mode() & 0o077 != 0 => Err(SandboxError::DataDirOpen {
            path: dir.to_path_buf(),
            mode: meta.permissions().mode() & 0o777,
        }),
        Ok(_) => Ok(()),
        Err(_) => DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(unusable),
    }
}

/// Locks `dir` for this sandbox: two sandboxes writing one tenant would
/// each lose the other's changes.
fn lock(dir: &Path) -> Result<File, SandboxError> {
    let path = dir.join(LOCK_FILE);
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .mode(0o600)
        .open(&path)
        .map_err(|error| SandboxError::DataDir {
            path: path.clone(),
            error,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(SandboxError::DataDirInUse {
            path: dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(error)) => Err(SandboxError::DataDir { path, error }),
    }
}

/// Replaces `path` with `bytes`, owner-only: a crash leaves the old file or
/// the new one, never half of one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("json.tmp");
    // A leftover from a crash may have been made with other permissions.
    let _ = std::fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .create_new(true)
        .write(true)
        .mode(0o600)
        .open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&temporary, path)?;
    if let Some(dir) = path.parent() {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn kept_in(dir: &Path) -> SandboxConfig {
        SandboxConfig {
            data_dir: Some(dir.to_path_buf()),
            replication_lag: Duration::from_secs(3600),
            ..SandboxConfig::default()
        }
    }

    /// Instants are not saved: what was still replicating when the sandbox
    /// stopped is there for everyone after the restart.
    #[test]
    fn objects_read_back_are_visible_at_once() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("tenant");
        let (mut tenant, store) = Store::open(&dir, &kept_in(&dir)).unwrap();
        let upn = tenant.users[0].upn.clone();
        tenant.directory.users[0].visible_from = tenant.directory.visible_from_now();
        assert!(tenant.directory.user(&upn, Instant::now()).is_none());
        store.close(|| &tenant.directory).unwrap();

        let (tenant, _store) = Store::open(&dir, &kept_in(&dir)).unwrap();
        assert!(tenant.directory.user(&upn, Instant::now()).is_some());
        // New objects still wait for the configured lag.
        assert!(tenant.directory.visible_from_now() > Instant::now() + Duration::from_secs(3000));
    }

    #[test]
    fn a_data_directory_open_to_other_users_is_refused() {
        let work = tempfile::tempdir().unwrap();
        let dir = work.path().join("tenant");
        DirBuilder::new().mode(0o755).create(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        match Store::open(&dir, &kept_in(&dir)) {
            Err(SandboxError::DataDirOpen { mode, .. }) => assert_eq!(mode, 0o755),
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => panic!("a tenant was kept where other users can read it"),
        }
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }
}
