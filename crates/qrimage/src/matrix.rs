//! The module grid shared by every renderer: encoding at level M plus the quiet zone.

use qrcode::{EcLevel, QrCode, types::QrError};

use crate::RenderError;

/// Light modules around the code on every side, as ISO/IEC 18004 asks.
pub(crate) const QUIET_ZONE: usize = 4;

/// A QR code's modules with the quiet zone included: `side` × `side`, row-major.
pub(crate) struct Matrix {
    side: usize,
    dark: Vec<bool>,
}

impl Matrix {
    /// Encodes `payload` at error-correction level M.
    pub(crate) fn encode(payload: &str) -> Result<Matrix, RenderError> {
        let code =
            QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).map_err(|err| {
                match err {
                    QrError::DataTooLong => RenderError::TooLong { len: payload.len() },
                    other => RenderError::Encode(other.to_string()),
                }
            })?;
        let width = code.width();
        let side = width + 2 * QUIET_ZONE;
        let mut dark = vec![false; side * side];
        for (i, color) in code.into_colors().into_iter().enumerate() {
            let (x, y) = (i % width + QUIET_ZONE, i / width + QUIET_ZONE);
            dark[y * side + x] = color == qrcode::Color::Dark;
        }
        Ok(Matrix { side, dark })
    }

    /// Modules per side, quiet zone included.
    pub(crate) fn side(&self) -> usize {
        self.side
    }

    /// Whether the module at column `x`, row `y` is dark; outside the grid is light.
    pub(crate) fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.side && y < self.side && self.dark[y * self.side + x]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::samples;

    #[test]
    fn payloads_are_encoded_at_error_correction_level_m() {
        for (label, payload) in samples() {
            let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).unwrap();
            let matrix = Matrix::encode(&payload).unwrap();
            assert_eq!(matrix.side(), code.width() + 8, "sample {label}");
            for y in 0..code.width() {
                for x in 0..code.width() {
                    let dark = code[(x, y)] == qrcode::Color::Dark;
                    assert_eq!(
                        matrix.is_dark(x + 4, y + 4),
                        dark,
                        "sample {label} ({x}, {y})"
                    );
                }
            }
        }
    }

    #[test]
    fn the_quiet_zone_is_four_light_modules_on_every_side() {
        let matrix = Matrix::encode("00020101021126570011ID.DANA.WWW").unwrap();
        let side = matrix.side();
        for i in 0..side {
            for d in 0..QUIET_ZONE {
                assert!(!matrix.is_dark(i, d) && !matrix.is_dark(i, side - 1 - d));
                assert!(!matrix.is_dark(d, i) && !matrix.is_dark(side - 1 - d, i));
            }
        }
        assert!(
            matrix.is_dark(QUIET_ZONE, QUIET_ZONE),
            "the finder pattern's corner"
        );
    }

    #[test]
    fn a_payload_too_long_for_level_m_is_an_error_naming_its_length() {
        // 2,331 bytes is the most a version-40 code holds at level M.
        assert!(Matrix::encode(&"x".repeat(2_331)).is_ok());
        let err = Matrix::encode(&"x".repeat(2_332)).err().unwrap();
        assert!(
            matches!(err, RenderError::TooLong { len: 2_332 }),
            "{err:?}"
        );
    }
}
