//! The master key file (CONTRACT §8): reading it, making it (`keygen --master-key`), and
//! sealing what was stored before it (`admin rekey`).

use crate::cli::show::say;
use anyhow::{Context, bail};
use snapqris_store::{MASTER_KEY_LEN, MasterKey, StoreOptions};
use std::io::{Read, Write};
use std::path::Path;

/// Reads a master key file: exactly 32 raw bytes, readable by its owner only.
pub(crate) fn load(path: &Path) -> anyhow::Result<MasterKey> {
    let unreadable = || format!("cannot read master key file {}", path.display());
    let mut file = std::fs::File::open(path)
        .with_context(|| format!("cannot open master key file {}", path.display()))?;
    let metadata = file.metadata().with_context(unreadable)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0 {
            bail!(
                "master key file {} is readable by group or others (mode {:o}); chmod 600 it",
                path.display(),
                mode & 0o777
            );
        }
    }
    if metadata.len() != MASTER_KEY_LEN as u64 {
        bail!(
            "master key file {} holds {} bytes, not the {MASTER_KEY_LEN} raw bytes of a master \
             key (snapqris keygen --master-key FILE makes one)",
            path.display(),
            metadata.len()
        );
    }
    let mut bytes = [0_u8; MASTER_KEY_LEN];
    file.read_exact(&mut bytes).with_context(unreadable)?;
    MasterKey::from_bytes(&bytes).context("unusable master key")
}

/// Writes a new master key to `path`, owner-only; refuses to replace an existing file (the
/// secrets sealed under it would be lost).
pub(crate) fn create(path: &Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} already exists; not overwriting it", path.display())
        } else {
            anyhow::Error::new(e).context(format!("cannot create {}", path.display()))
        }
    })?;
    file.write_all(&MasterKey::generate_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    say!(
        "wrote master key {} (keep a copy apart from the database: without it the sealed secrets are lost)",
        path.display()
    )?;
    Ok(())
}

/// `admin rekey`: seals every secret stored in clear under the master key, and re-seals under
/// it what only the key in `previous` opens.
pub(crate) async fn rekey(
    url: &str,
    options: &StoreOptions,
    previous: Option<&Path>,
) -> anyhow::Result<()> {
    if options.master_key.is_none() {
        bail!("admin rekey needs the master key to seal under: --master-key-file FILE");
    }
    let previous = previous.map(load).transpose()?;
    let done = snapqris_store::rekey(url, options, previous.as_ref())
        .await
        .context("cannot seal the secrets")?;
    say!(
        "rekey: {} sealed, {} re-sealed from the previous key, {} already sealed under this key",
        done.sealed,
        done.resealed,
        done.unchanged
    )?;
    Ok(())
}
