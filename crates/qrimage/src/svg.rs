use std::fmt::Write as _;

use crate::{RenderError, matrix::Matrix};

/// Pixels per module in the SVG's nominal `width` and `height`; the `viewBox` is in modules.
const NOMINAL_SCALE: usize = 8;

/// Draws `payload` as a standalone SVG document: black modules on white, a 4-module quiet zone.
///
/// The `viewBox` counts modules, so the drawing scales to any size without blurring; `width`
/// and `height` say 8 pixels per module for viewers that need a size. The dark modules are one
/// `<path>`, one `Mx yhnv1h-nz` rectangle per horizontal run of `n` dark modules.
///
/// # Errors
///
/// [`RenderError::TooLong`] if the payload does not fit in a QR code at level M.
pub fn render_svg(payload: &str) -> Result<String, RenderError> {
    let matrix = Matrix::encode(payload)?;
    let side = matrix.side();
    let pixels = side * NOMINAL_SCALE;
    let mut svg = format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            "\n",
            r#"<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="{px}" height="{px}""#,
            r#" viewBox="0 0 {side} {side}" shape-rendering="crispEdges">"#,
            "\n",
            r##"<rect width="{side}" height="{side}" fill="#fff"/>"##,
            "\n",
            r##"<path fill="#000" d=""##,
        ),
        px = pixels,
        side = side,
    );
    for y in 0..side {
        let mut x = 0;
        while x < side {
            if !matrix.is_dark(x, y) {
                x += 1;
                continue;
            }
            let start = x;
            while matrix.is_dark(x, y) {
                x += 1;
            }
            let run = x - start;
            // Writing to a String cannot fail.
            let _ = write!(svg, "M{start} {y}h{run}v1h-{run}z");
        }
    }
    svg.push_str("\"/>\n</svg>\n");
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{long_ascii, samples};

    /// The modules the path paints, from its `Mx yhnv1h-nz` runs.
    fn painted(svg: &str) -> Vec<(usize, usize)> {
        let d = svg
            .split(r#" d=""#)
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        assert!(d.starts_with('M'), "{d:?}");
        d.split('M')
            .skip(1)
            .map(|run| {
                let (x, rest) = run.split_once(' ').unwrap();
                let (y, rest) = rest.split_once('h').unwrap();
                let (n, rest) = rest.split_once('v').unwrap();
                assert_eq!(rest, format!("1h-{n}z"));
                let (x, y, n): (usize, usize, usize) =
                    (x.parse().unwrap(), y.parse().unwrap(), n.parse().unwrap());
                (x, y, n)
            })
            .flat_map(|(x, y, n)| (x..x + n).map(move |x| (x, y)))
            .collect()
    }

    #[test]
    fn the_svg_is_a_standalone_document() {
        let svg = render_svg(&samples()[0].1).unwrap();
        assert!(svg.starts_with("<?xml"));
        assert!(svg.contains(r#"<svg xmlns="http://www.w3.org/2000/svg""#));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
        assert_eq!(svg.matches("<path").count(), 1);
    }

    #[test]
    fn the_path_paints_exactly_the_dark_modules() {
        for payload in samples().into_iter().map(|(_, p)| p).chain([long_ascii()]) {
            let matrix = Matrix::encode(&payload).unwrap();
            let svg = render_svg(&payload).unwrap();
            let side = matrix.side();
            assert!(svg.contains(&format!(r#"viewBox="0 0 {side} {side}""#)));

            let mut expected: Vec<_> = (0..side)
                .flat_map(|y| (0..side).map(move |x| (x, y)))
                .filter(|&(x, y)| matrix.is_dark(x, y))
                .collect();
            let mut got = painted(&svg);
            assert!(!got.is_empty());
            expected.sort_unstable();
            got.sort_unstable();
            assert_eq!(got, expected);
        }
    }

    #[test]
    fn a_payload_too_long_for_a_qr_code_is_an_error() {
        assert!(matches!(
            render_svg(&"x".repeat(3_000)),
            Err(RenderError::TooLong { len: 3_000 })
        ));
    }
}
