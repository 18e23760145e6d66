//! `qr decode` and `qr render`: offline tools for QRIS payloads (no database, no server).

use crate::cli::args::{QrArgs, QrCommand};
use crate::cli::show::say;
use anyhow::{Context, anyhow};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The PNG scale when `--scale` is not given: pixels per module.
const DEFAULT_SCALE: u32 = 8;

/// Runs one `qr …` command.
pub(crate) fn run(args: QrArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        QrCommand::Decode { payload } => decode(&payload)?,
        QrCommand::Render {
            payload,
            out,
            scale,
        } => render(&payload, &out, scale)?,
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints the description on stdout; an invalid payload is still described as far as it goes,
/// then fails with the parser's error.
fn decode(payload: &str) -> anyhow::Result<()> {
    let text = snapqris_qris::describe(payload);
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    match snapqris_qris::parse(payload) {
        Ok(_) => Ok(()),
        Err(err) => Err(anyhow!("invalid QRIS payload: {err}")),
    }
}

/// The image formats `render` writes.
#[derive(Debug, Clone, Copy)]
enum Format {
    Png,
    Svg,
}

/// Draws a valid payload into `out`, the format taken from its extension.
fn render(payload: &str, out: &Path, scale: Option<u32>) -> anyhow::Result<()> {
    let extension = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let format = match extension.as_deref() {
        Some("png") => Format::Png,
        Some("svg") => Format::Svg,
        _ => {
            return Err(anyhow!("--out {} must end in .png or .svg", out.display()));
        }
    };
    if let Err(err) = snapqris_qris::parse(payload) {
        return Err(anyhow!("invalid QRIS payload, not drawn: {err}"));
    }
    let bytes = match format {
        Format::Png => snapqris_qrimage::render_png(payload, scale.unwrap_or(DEFAULT_SCALE)),
        Format::Svg if scale.is_some() => {
            return Err(anyhow!(
                "--scale applies to PNG only, not to {}",
                out.display()
            ));
        }
        Format::Svg => snapqris_qrimage::render_svg(payload).map(String::into_bytes),
    }
    .context("cannot draw the QR code")?;
    write_atomically(out, &bytes)?;
    say!("wrote {}", out.display())?;
    Ok(())
}

/// Writes `FILE.tmp` next to `out`, then renames it over `out`: a reader never sees half an image.
fn write_atomically(out: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut tmp_name = out.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    let written = std::fs::write(&tmp, bytes)
        .and_then(|()| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|()| std::fs::rename(&tmp, out));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err).with_context(|| format!("cannot write {}", out.display()));
    }
    Ok(())
}
