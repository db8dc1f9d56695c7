//! The files of the key store in `<state_dir>/keys`, shared by both stores:
//! the owner-only directory and files, and which store a certificate's key is in.

use super::KeyError;
use crate::domain::CertificateHash;
use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// A TPM key's blobs beside its certificate.
pub(super) const BLOB_EXTENSION: &str = "tpmkey";

/// Whether the certificate `hash` in `dir` has its key in the TPM.
pub(super) fn is_blob_of(dir: &Path, hash: &CertificateHash) -> bool {
    dir.join(format!("{hash}.{BLOB_EXTENSION}")).exists()
}

/// The key store's directory in the state directory.
pub(crate) const DIRECTORY: &str = "keys";

/// `<state_dir>/keys`, created owner-only if missing.
pub(super) fn open_directory(state_dir: &Path) -> Result<PathBuf, KeyError> {
    let dir = state_dir.join(DIRECTORY);
    if !dir.exists() {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(KeyError::io(&dir))?;
    }
    Ok(dir)
}

/// Refuses a directory or key file that group or others can reach.
pub(super) fn check_private(path: &Path, fix: &'static str) -> Result<(), KeyError> {
    let mode = fs::metadata(path)
        .map_err(KeyError::io(path))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
            fix,
        });
    }
    Ok(())
}

/// Writes `contents` to `path` with mode 0600 through a temporary file and
/// rename, so a crash leaves the old file or the new one, never half of one.
/// Also what the legacy account's stored password is written with.
pub(crate) fn write_private(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let temporary = path.with_extension("partial");
    let _ = fs::remove_file(&temporary);
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&temporary)
        .map_err(KeyError::io(&temporary))?;
    file.write_all(contents)
        .and_then(|_| file.sync_all())
        .map_err(KeyError::io(&temporary))?;
    fs::rename(&temporary, path).map_err(KeyError::io(path))
}
