//! Draws QRIS payloads as scannable QR codes.
//!
//! A payload (as built by `snapqris-qris`) is encoded at error-correction level M, the level
//! QRIS issuers print, and drawn with black modules on white and a 4-module quiet zone:
//!
//! - [`render_png`] gives PNG bytes, `scale` pixels per module, 1-bit grayscale;
//! - [`render_svg`] gives a standalone SVG document that scales without blurring;
//! - [`render_terminal`] gives text in Unicode half blocks, two module rows per line.
//!
//! Each fails with a [`RenderError`] when the payload does not fit in a QR code.
//!
//! # Example
//!
//! ```
//! use snapqris_qrimage::{render_png, render_svg, render_terminal};
//!
//! let qr = "00020101021126570011ID.DANA.WWW011893600915302259148102090225914810303UMI51440014ID.CO.QRIS.WWW0215ID10200176114730303UMI5204581253033605802ID5922Warung Sayur Bu Sugeng6010Kab. Demak610559567630458C7";
//!
//! let png = render_png(qr, 8)?;
//! assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
//!
//! let svg = render_svg(qr)?;
//! assert!(svg.starts_with("<?xml"));
//!
//! let text = render_terminal(qr)?;
//! let widths: Vec<usize> = text.lines().map(|line| line.chars().count()).collect();
//! assert!(widths.iter().all(|&width| width == widths[0]));
//!
//! let too_long = "9".repeat(8_000);
//! assert!(render_svg(&too_long).is_err());
//! # Ok::<(), snapqris_qrimage::RenderError>(())
//! ```
#![deny(missing_docs)]

mod error;
mod matrix;
mod raster;
mod svg;
mod terminal;
#[cfg(test)]
mod testutil;

pub use crate::{
    error::RenderError, raster::render_png, svg::render_svg, terminal::render_terminal,
};
