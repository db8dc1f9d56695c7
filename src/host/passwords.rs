//! The legacy connector accounts' passwords: one owner-only file per account
//! in an owner-only directory under the state dir, never in the database.
//! A password is written before the account it belongs to is created, so a
//! crash can never leave an account whose password is lost.

use super::{StateError, create_private_dir};
use crate::entra::Secret;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const DIRECTORY: &str = "service-accounts";

fn directory(state_dir: &Path) -> PathBuf {
    state_dir.join(DIRECTORY)
}

/// The file of `upn`'s password (the UPN is checked by the caller's types;
/// only characters a UPN allows reach here, and `/` is refused).
fn file(state_dir: &Path, upn: &str) -> PathBuf {
    directory(state_dir).join(format!("{}.password", upn.replace('/', "_")))
}

fn unusable(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |source| StateError::Directory {
        path: path.to_path_buf(),
        source,
    }
}

/// Stores `upn`'s password (replacing an earlier one), through a rename so a
/// crash leaves the old file or the new one, never half of one.
pub fn save(state_dir: &Path, upn: &str, password: &Secret) -> Result<(), StateError> {
    let dir = directory(state_dir);
    create_private_dir(&dir)?;
    let path = file(state_dir, upn);
    let partial = path.with_extension("partial");
    let mut out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&partial)
        .map_err(unusable(&partial))?;
    out.write_all(password.expose().as_bytes())
        .and_then(|()| out.sync_all())
        .map_err(unusable(&partial))?;
    std::fs::rename(&partial, &path).map_err(unusable(&path))
}

/// `upn`'s stored password, if there is one.
pub fn load(state_dir: &Path, upn: &str) -> Result<Option<Secret>, StateError> {
    let path = file(state_dir, upn);
    match std::fs::metadata(&path) {
        Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => {
            return Err(StateError::TooOpen {
                mode: metadata.permissions().mode() & 0o777,
                path,
            });
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(Secret::new(text))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(unusable(&path)(error)),
    }
}

/// Forgets every stored password but `keep`'s.
pub fn forget_others(state_dir: &Path, keep: Option<&str>) -> Result<(), StateError> {
    let dir = directory(state_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(unusable(&dir)(error)),
    };
    let kept = keep.map(|upn| file(state_dir, upn));
    for entry in entries {
        let path = entry.map_err(unusable(&dir))?.path();
        if Some(&path) != kept.as_ref() {
            std::fs::remove_file(&path).map_err(unusable(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_is_kept_owner_only_and_refused_once_others_may_read_it() {
        let state = tempfile::tempdir().unwrap();
        let upn = "Sync_HOST_0123456789ab@contoso.onmicrosoft.com";
        assert!(load(state.path(), upn).unwrap().is_none());
        save(state.path(), upn, &Secret::new("first")).unwrap();
        save(state.path(), upn, &Secret::new("second")).unwrap();
        let path = file(state.path(), upn);
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&directory(state.path())), 0o700);
        let loaded = load(state.path(), upn).unwrap().unwrap();
        assert_eq!(loaded.expose(), "second");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load(state.path(), upn).unwrap_err().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");

        forget_others(state.path(), None).unwrap();
        assert!(!path.exists());
    }
}
