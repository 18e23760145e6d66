use crate::{RenderError, matrix::Matrix};

/// The widest image [`render_png`] draws, so that a caller-chosen scale cannot ask for gigabytes.
const MAX_SIDE_PIXELS: u64 = 8192;

/// Draws `payload` as a PNG: black modules on white, a 4-module quiet zone, `scale` pixels per
/// module, 1-bit grayscale.
///
/// # Errors
///
/// [`RenderError::TooLong`] if the payload does not fit in a QR code at level M;
/// [`RenderError::Scale`] if `scale` is 0 or the image would be wider than 8,192 pixels.
pub fn render_png(payload: &str, scale: u32) -> Result<Vec<u8>, RenderError> {
    let matrix = Matrix::encode(payload)?;
    let side_pixels = matrix.side() as u64 * u64::from(scale);
    if scale == 0 || side_pixels > MAX_SIDE_PIXELS {
        return Err(RenderError::Scale { scale });
    }
    let side = u32::try_from(side_pixels).map_err(|_| RenderError::Scale { scale })?;
    let scale = scale as usize;

    // One bit per pixel, most significant first, each row padded to a whole byte; 1 is white.
    let row_bytes = (side as usize).div_ceil(8);
    let mut pixels = Vec::with_capacity(row_bytes * side as usize);
    for y in 0..matrix.side() {
        let mut row = vec![0u8; row_bytes];
        for px in 0..side as usize {
            if !matrix.is_dark(px / scale, y) {
                row[px / 8] |= 0x80 >> (px % 8);
            }
        }
        for _ in 0..scale {
            pixels.extend_from_slice(&row);
        }
    }

    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, side, side);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    let mut writer = encoder.write_header().map_err(png_error)?;
    writer.write_image_data(&pixels).map_err(png_error)?;
    writer.finish().map_err(png_error)?;
    Ok(out)
}

fn png_error(err: png::EncodingError) -> RenderError {
    RenderError::Png(Box::new(err))
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;
    use crate::testutil::{long_ascii, samples};

    /// Decodes a PNG into (width, height, one 8-bit gray byte per pixel).
    fn decode_png(bytes: &[u8]) -> (usize, usize, Vec<u8>) {
        let mut decoder = png::Decoder::new(Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().expect("a png header");
        let mut buf = vec![0; reader.output_buffer_size().expect("a small image")];
        let info = reader.next_frame(&mut buf).expect("png image data");
        assert_eq!(info.color_type, png::ColorType::Grayscale);
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        buf.truncate(info.buffer_size());
        (info.width as usize, info.height as usize, buf)
    }

    /// Reads the QR codes in a PNG with a real decoder, as a phone would, checking each is level M.
    fn scan(bytes: &[u8]) -> Vec<String> {
        let (width, height, gray) = decode_png(bytes);
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| gray[y * width + x]);
        image
            .detect_grids()
            .iter()
            .map(|grid| {
                let (meta, text) = grid.decode().expect("a decodable grid");
                // The format field's error-correction bits: 00 is level M.
                assert_eq!(meta.ecc_level, 0, "error-correction level M");
                text
            })
            .collect()
    }

    #[test]
    fn every_sample_payload_scans_back_to_itself() {
        for (label, payload) in samples() {
            let png = render_png(&payload, 4).unwrap();
            assert_eq!(scan(&png), [payload], "sample {label}");
        }
    }

    #[test]
    fn a_500_character_ascii_payload_scans_back_to_itself() {
        let payload = long_ascii();
        let png = render_png(&payload, 3).unwrap();
        assert_eq!(scan(&png), [payload]);
    }

    #[test]
    fn a_code_drawn_one_pixel_per_module_still_scans() {
        let (_, payload) = samples().swap_remove(0);
        assert_eq!(scan(&render_png(&payload, 1).unwrap()), [payload]);
    }

    #[test]
    fn the_image_is_the_code_plus_a_white_quiet_zone_at_the_given_scale() {
        let (_, payload) = &samples()[0];
        let matrix = Matrix::encode(payload).unwrap();
        let (width, height, gray) = decode_png(&render_png(payload, 5).unwrap());
        assert_eq!((width, height), (matrix.side() * 5, matrix.side() * 5));
        for y in 0..height {
            for x in 0..width {
                let expected = if matrix.is_dark(x / 5, y / 5) { 0 } else { 255 };
                assert_eq!(gray[y * width + x], expected, "pixel ({x}, {y})");
            }
        }
        // The top-left finder pattern starts right after the 4-module quiet zone.
        assert_eq!(gray[(4 * 5 - 1) * width + 4 * 5 - 1], 255);
        assert_eq!(gray[(4 * 5) * width + 4 * 5], 0);
    }

    #[test]
    fn the_png_is_small_because_it_is_compressed() {
        let (_, payload) = &samples()[0];
        let png = render_png(payload, 10).unwrap();
        let (width, height, _) = decode_png(&png);
        assert!(png.len() < width * height / 8 / 4, "{} bytes", png.len());
    }

    #[test]
    fn a_zero_scale_is_rejected() {
        let err = render_png("hello", 0).unwrap_err();
        assert!(matches!(err, RenderError::Scale { scale: 0 }), "{err:?}");
    }

    #[test]
    fn a_scale_making_a_huge_image_is_rejected() {
        let err = render_png("hello", 1_000_000).unwrap_err();
        assert!(matches!(err, RenderError::Scale { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            "png scale 1000000 is out of range: the image must be 1 to 8192 pixels wide"
        );
    }

    #[test]
    fn a_payload_too_long_for_any_qr_code_is_rejected() {
        let err = render_png(&"x".repeat(3_000), 4).unwrap_err();
        assert!(
            matches!(err, RenderError::TooLong { len: 3_000 }),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            "payload of 3000 bytes is too long for a qr code at error-correction level M"
        );
    }
}
