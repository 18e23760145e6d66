use crate::{RenderError, matrix::Matrix};

/// Draws `payload` as text for a terminal: Unicode half blocks (`'▀'`, `'▄'`, `'█'`, `' '`),
/// two rows of modules per line, a 4-module quiet zone of spaces.
///
/// The glyphs are the dark modules and the spaces the light ones, so the code reads dark on
/// light, as a scanner expects, in a terminal with dark text on a light background. In a light-on-dark
/// terminal it shows inverted, which many phone scanners still read but some do not.
/// Every line has the same number of characters and ends with `'\n'`.
///
/// # Errors
///
/// [`RenderError::TooLong`] if the payload does not fit in a QR code at level M.
pub fn render_terminal(payload: &str) -> Result<String, RenderError> {
    let matrix = Matrix::encode(payload)?;
    let side = matrix.side();
    let mut text = String::with_capacity(side.div_ceil(2) * (side * '█'.len_utf8() + 1));
    for y in (0..side).step_by(2) {
        for x in 0..side {
            // Below the last row (the side is odd) counts as light.
            text.push(match (matrix.is_dark(x, y), matrix.is_dark(x, y + 1)) {
                (true, true) => '█',
                (true, false) => '▀',
                (false, true) => '▄',
                (false, false) => ' ',
            });
        }
        text.push('\n');
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{long_ascii, samples};

    #[test]
    fn every_line_has_the_same_width() {
        for payload in samples().into_iter().map(|(_, p)| p).chain([long_ascii()]) {
            let side = Matrix::encode(&payload).unwrap().side();
            let text = render_terminal(&payload).unwrap();
            assert!(text.ends_with('\n'));
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), side.div_ceil(2));
            for line in lines {
                assert_eq!(line.chars().count(), side, "{line:?}");
            }
        }
    }

    #[test]
    fn each_character_holds_the_two_modules_above_one_another() {
        let payload = &samples()[0].1;
        let matrix = Matrix::encode(payload).unwrap();
        let text = render_terminal(payload).unwrap();
        for (line, row) in text.lines().zip((0..).step_by(2)) {
            for (x, glyph) in line.chars().enumerate() {
                let top = matches!(glyph, '█' | '▀');
                let bottom = matches!(glyph, '█' | '▄');
                assert!(matches!(glyph, '█' | '▀' | '▄' | ' '), "{glyph:?}");
                assert_eq!(top, matrix.is_dark(x, row), "({x}, {row})");
                assert_eq!(bottom, matrix.is_dark(x, row + 1), "({x}, {})", row + 1);
            }
        }
    }

    #[test]
    fn the_quiet_zone_is_blank() {
        let text = render_terminal(&samples()[0].1).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        // Four module rows are two lines, four columns are four characters.
        for line in lines[..2].iter().chain(&lines[lines.len() - 2..]) {
            assert!(line.chars().all(|c| c == ' '), "{line:?}");
        }
        for line in &lines {
            assert!(
                line.starts_with("    ") && line.ends_with("    "),
                "{line:?}"
            );
        }
    }
}
