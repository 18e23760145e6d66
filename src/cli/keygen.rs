//! `keygen`: a fresh RSA-2048 key pair for a partner, or a master key (`master_key.rs`).

use crate::cli::args::KeygenArgs;
use crate::cli::show::say;
use anyhow::Context;
use snapqris_protocol::RsaPrivateKey;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// Writes `DIR/private.pem` (PKCS#8) and `DIR/public.pem` (SPKI); never overwrites.
pub(crate) fn run(args: &KeygenArgs) -> anyhow::Result<ExitCode> {
    let out = match (&args.out, &args.master_key) {
        (_, Some(path)) => {
            crate::cli::master_key::create(path)?;
            return Ok(ExitCode::SUCCESS);
        }
        (Some(out), None) => out,
        (None, None) => anyhow::bail!("keygen needs --out DIR or --master-key FILE"),
    };
    let private_path = out.join("private.pem");
    let public_path = out.join("public.pem");
    // Checked before anything is written, so a refusal leaves the directory as it was.
    for path in [&private_path, &public_path] {
        if path.exists() {
            anyhow::bail!("{} already exists; not overwriting it", path.display());
        }
    }
    std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    let key = RsaPrivateKey::generate().context("cannot generate an RSA key")?;
    write_new(&private_path, key.to_pkcs8_pem().as_bytes(), true)?;
    write_new(
        &public_path,
        key.public_key().to_spki_pem().as_bytes(),
        false,
    )?;
    say!(
        "wrote {} and {}",
        private_path.display(),
        public_path.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

/// Creates `path` (failing if it exists) and writes `contents`; a private key is made
/// readable by its owner only.
fn write_new(path: &Path, contents: &[u8], private: bool) -> anyhow::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))
}
