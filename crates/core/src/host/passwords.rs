//! The legacy connector accounts' passwords, never in the database: sealed
//! to the TPM when one answers (`<upn>.sealed`: an AES-256-GCM ciphertext
//! whose key is a TPM sealed data object under the storage primary, so the
//! file is useless off this TPM), else an owner-only file (`<upn>.password`),
//! in an owner-only directory under the state dir. A password is written
//! before the account it belongs to is created, so a crash can never leave an
//! account whose password is lost.

use super::{StateError, create_private_dir};
use crate::entra::Secret;
use crate::keys::{KeyError, Tpm};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

pub(crate) const DIRECTORY: &str = "service-accounts";
const PLAIN: &str = "password";
const SEALED: &str = "sealed";

fn directory(state_dir: &Path) -> PathBuf {
    state_dir.join(DIRECTORY)
}

/// The file of `upn`'s password, plain or sealed (the UPN is checked by the
/// caller's types; only characters a UPN allows reach here, and `/` is refused).
fn file(state_dir: &Path, upn: &str, kind: &str) -> PathBuf {
    directory(state_dir).join(format!("{}.{kind}", upn.replace('/', "_")))
}

fn unusable(path: &Path) -> impl FnOnce(std::io::Error) -> StateError + '_ {
    move |error| StateError::Directory {
        path: path.to_path_buf(),
        error,
    }
}

fn sealing(path: &Path) -> impl FnOnce(KeyError) -> StateError + '_ {
    move |error| StateError::Sealed {
        path: path.to_path_buf(),
        error: Box::new(error),
    }
}

/// Writes `contents` to `path` as the key store writes its files (0600,
/// through a rename).
fn write_private(path: &Path, contents: &[u8]) -> Result<(), StateError> {
    crate::keys::write_private(path, contents).map_err(|error| match error {
        KeyError::Io { path, error } => StateError::Directory { path, error },
        other => sealing(path)(other),
    })
}

fn remove_if_present(path: &Path) -> Result<(), StateError> {
    match std::fs::remove_file(path) {
        Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(unusable(path)(error)),
        _ => Ok(()),
    }
}

/// Stores `upn`'s password (replacing an earlier one): sealed to the TPM
/// when one answers, else in an owner-only file.
pub fn save(state_dir: &Path, tpm: &Tpm, upn: &str, password: &Secret) -> Result<(), StateError> {
    create_private_dir(&directory(state_dir))?;
    let sealed = file(state_dir, upn, SEALED);
    let plain = file(state_dir, upn, PLAIN);
    if tpm.is_available() {
        let contents = tpm
            .seal(password.expose().as_bytes())
            .map_err(sealing(&sealed))?;
        write_private(&sealed, &contents)?;
        remove_if_present(&plain)
    } else {
        write_private(&plain, password.expose().as_bytes())?;
        remove_if_present(&sealed)
    }
}

/// Refuses a password file others may read.
fn owner_only(path: &Path) -> Result<bool, StateError> {
    match std::fs::metadata(path) {
        Ok(metadata) if metadata.permissions().mode() & 0o077 != 0 => Err(StateError::TooOpen {
            mode: metadata.permissions().mode() & 0o777,
            path: path.to_path_buf(),
        }),
        Ok(_) => Ok(true),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(error) => Err(unusable(path)(error)),
    }
}

/// `upn`'s stored password, if there is one (unsealed by the TPM when it
/// was sealed).
pub(crate) fn load(state_dir: &Path, tpm: &Tpm, upn: &str) -> Result<Option<Secret>, StateError> {
    let sealed = file(state_dir, upn, SEALED);
    if owner_only(&sealed)? {
        let contents = std::fs::read(&sealed).map_err(unusable(&sealed))?;
        let password = tpm.unseal(&contents).map_err(sealing(&sealed))?;
        let text = std::str::from_utf8(&password).map_err(|_| StateError::Sealed {
            path: sealed.clone(),
            error: Box::new(crate::keys::KeyError::Malformed {
                what: "sealed password".into(),
                why: "it is not UTF-8".into(),
            }),
        })?;
        return Ok(Some(Secret::new(text)));
    }
    let path = file(state_dir, upn, PLAIN);
    if !owner_only(&path)? {
        return Ok(None);
    }
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(Secret::new(text))),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(error) => Err(unusable(&path)(error)),
    }
}

/// Forgets every stored password but `keep`'s.
pub(crate) fn forget_others(state_dir: &Path, keep: Option<&str>) -> Result<(), StateError> {
    let dir = directory(state_dir);
    let entries = match std::fs::read_dir(&dir) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(unusable(&dir)(error)),
    };
    let kept: Vec<PathBuf> = keep
        .map(|upn| vec![file(state_dir, upn, PLAIN), file(state_dir, upn, SEALED)])
        .unwrap_or_default();
    for entry in entries {
        let path = entry.map_err(unusable(&dir))?.path();
        if !kept.contains(&path) {
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
        // No TPM: the owner-only file.
        let tpm = Tpm::new(crate::keys::TctiSetting {
            tcti: "device:/nonexistent/tpm".into(),
            source: crate::keys::TctiSource::Given,
        });
        let upn = "Sync_HOST_0123456789ab@contoso.onmicrosoft.com";
        assert!(load(state.path(), &tpm, upn).unwrap().is_none());
        save(state.path(), &tpm, upn, &Secret::new("first")).unwrap();
        save(state.path(), &tpm, upn, &Secret::new("second")).unwrap();
        let path = file(state.path(), upn, PLAIN);
        let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(&directory(state.path())), 0o700);
        let loaded = load(state.path(), &tpm, upn).unwrap().unwrap();
        assert_eq!(loaded.expose(), "second");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let refused = load(state.path(), &tpm, upn).unwrap_err().to_string();
        assert!(refused.contains("chmod 600"), "{refused}");

        forget_others(state.path(), None).unwrap();
        assert!(!path.exists());
    }
}
