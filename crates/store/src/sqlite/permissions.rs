//! The database file and its `-wal`/`-shm` companions are readable by their owner only
//! (CONTRACT §8): they hold the partners' secrets.
//!
//! SQLite creates `-wal` and `-shm` with the permission bits of the database file (unix
//! `findCreateFileMode`), so creating the main file `0600` ourselves, before SQLite opens it,
//! makes all three private. A file made `0644` by an earlier version is tightened to `0600`
//! rather than only warned about: nothing else was meant to read it, and a warning in a log is
//! easily missed while the secrets stay readable.

use std::path::Path;

/// Creates `path` empty and owner-only if it does not exist (SQLite takes an empty file for an
/// empty database), and takes group and other permissions away from it and from its `-wal`
/// and `-shm` files if it does.
#[cfg(unix)]
pub(crate) fn make_private(path: &Path, create: bool) -> std::io::Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    if create {
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    let mut companions = [path.as_os_str().to_owned(), path.into(), path.into()];
    companions[1].push("-wal");
    companions[2].push("-shm");
    for file in companions.iter().map(Path::new) {
        let Ok(metadata) = std::fs::metadata(file) else {
            continue;
        };
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            // Failing here (another user's file) need not stop the store: say so instead.
            match std::fs::set_permissions(file, std::fs::Permissions::from_mode(mode & !0o077)) {
                Ok(()) => tracing::warn!(
                    file = %file.display(),
                    "the database file was readable by others; it is now readable by its owner only"
                ),
                Err(error) => tracing::warn!(
                    file = %file.display(),
                    %error,
                    "the database file is readable by others and cannot be made private"
                ),
            }
        }
    }
    Ok(())
}

/// Elsewhere the platform's defaults stand.
#[cfg(not(unix))]
pub(crate) fn make_private(_path: &Path, _create: bool) -> std::io::Result<()> {
    Ok(())
}
