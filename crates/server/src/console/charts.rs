//! Charts drawn on the server as inline SVG: no script, no fetched library. Presentation is
//! in attributes only (the console's CSP allows no inline styles).

use maud::{Markup, html};

/// Colours of the series, in order (distinct in grey scale too: dark to light).
pub(crate) const PALETTE: [&str; 8] = [
    "#0b5cad", "#c2410c", "#15803d", "#7c3aed", "#a16207", "#0e7490", "#6b7280", "#be123c",
];

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;

/// One line or one stack layer of a chart.
pub(crate) struct Series<'a> {
    /// What it counts, for the legend.
    pub(crate) label: &'a str,
    /// One value per x position.
    pub(crate) values: Vec<f64>,
}

/// A round axis maximum at or above `max` (1, 2 or 5 times a power of ten).
fn nice_ceiling(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let power = 10_f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|step| step * power)
        .find(|candidate| *candidate >= max)
        .unwrap_or(10.0 * power)
}

fn number(value: f64) -> String {
    if value >= 100.0 || value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.2}")
    }
}

/// The frame: y grid with labels (`unit` after the top one) and the x labels given as
/// (position, text).
fn frame(top: f64, unit: &str, x_labels: &[(usize, String)], points: usize) -> Markup {
    let plot_height = HEIGHT - TOP - BOTTOM;
    let step = (WIDTH - LEFT - RIGHT) / points.max(1) as f64;
    html! {
        @for i in 0..=4 {
            @let value = top * f64::from(i) / 4.0;
            @let y = TOP + plot_height * (1.0 - f64::from(i) / 4.0);
            line x1=(LEFT) x2=(WIDTH - RIGHT) y1=(y) y2=(y) stroke="#d8dde6" stroke-width="1" {}
            text x=(LEFT - 6.0) y=(y + 4.0) text-anchor="end" font-size="11" fill="#5b6577" {
                (number(value)) @if i == 4 { " " (unit) }
            }
        }
        @for (position, label) in x_labels {
            text x=(LEFT + step * (*position as f64 + 0.5)) y=(HEIGHT - 8.0) text-anchor="middle"
                font-size="11" fill="#5b6577" { (label) }
        }
    }
}

fn legend(series: &[Series<'_>]) -> Markup {
    html! {
        div.legend {
            @for (index, s) in series.iter().enumerate() {
                span {
                    svg.swatch width="10" height="10" viewBox="0 0 10 10" aria-hidden="true" {
                        rect width="10" height="10" fill=(PALETTE[index % PALETTE.len()]) {}
                    }
                    (s.label)
                }
            }
        }
    }
}

/// Stacked bars, one per x position, one layer per series.
pub(crate) fn stacked_bars(
    title: &str,
    unit: &str,
    series: &[Series<'_>],
    x_labels: &[(usize, String)],
) -> Markup {
    let points = series.first().map_or(0, |s| s.values.len());
    let totals: Vec<f64> = (0..points)
        .map(|i| series.iter().map(|s| s.values[i]).sum())
        .collect();
    let top = nice_ceiling(totals.iter().copied().fold(0.0, f64::max));
    let plot_height = HEIGHT - TOP - BOTTOM;
    let step = (WIDTH - LEFT - RIGHT) / points.max(1) as f64;
    let scale = |value: f64| plot_height * value / top;
    html! {
        figure {
            figcaption { (title) }
            svg role="img" aria-label=(title) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
                width=(WIDTH) height=(HEIGHT) {
                title { (title) }
                (frame(top, unit, x_labels, points))
                @for i in 0..points {
                    @let mut base = TOP + plot_height;
                    @for (index, s) in series.iter().enumerate() {
                        @let h = scale(s.values[i]);
                        @if h > 0.0 {
                            @let y = { base -= h; base };
                            rect x=(LEFT + step * i as f64 + step * 0.1) y=(y)
                                width=(step * 0.8) height=(h)
                                fill=(PALETTE[index % PALETTE.len()]) {
                                title { (s.label) ": " (number(s.values[i])) }
                            }
                        }
                    }
                }
            }
            (legend(series))
        }
    }
}

/// Lines, one per series, over the x positions.
pub(crate) fn lines(
    title: &str,
    unit: &str,
    series: &[Series<'_>],
    x_labels: &[(usize, String)],
) -> Markup {
    let points = series.first().map_or(0, |s| s.values.len());
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0, f64::max);
    let top = nice_ceiling(max);
    let plot_height = HEIGHT - TOP - BOTTOM;
    let step = (WIDTH - LEFT - RIGHT) / points.max(1) as f64;
    let path = |values: &[f64]| -> String {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let x = LEFT + step * (i as f64 + 0.5);
                let y = TOP + plot_height * (1.0 - v / top);
                format!("{}{x:.1},{y:.1}", if i == 0 { "M" } else { " L" })
            })
            .collect()
    };
    html! {
        figure {
            figcaption { (title) }
            svg role="img" aria-label=(title) viewBox={ "0 0 " (WIDTH) " " (HEIGHT) }
                width=(WIDTH) height=(HEIGHT) {
                title { (title) }
                (frame(top, unit, x_labels, points))
                @for (index, s) in series.iter().enumerate() {
                    path d=(path(&s.values)) fill="none" stroke=(PALETTE[index % PALETTE.len()])
                        stroke-width="2" {
                        title { (s.label) }
                    }
                }
            }
            (legend(series))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_end_on_round_numbers() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.0), 5.0);
        assert_eq!(nice_ceiling(17.0), 20.0);
        assert_eq!(nice_ceiling(100.0), 100.0);
        assert_eq!(nice_ceiling(0.3), 0.5);
    }

    #[test]
    fn a_stacked_bar_is_as_tall_as_its_total() {
        let series = [
            Series {
                label: "a",
                values: vec![2.0, 0.0],
            },
            Series {
                label: "b",
                values: vec![3.0, 1.0],
            },
        ];
        let svg = stacked_bars("t", "req", &series, &[]).into_string();
        // Axis top 5: the first bar's layers fill the plot (180 px) as 72 + 108.
        assert!(svg.contains(r#"height="72""#), "{svg}");
        assert!(svg.contains(r#"height="108""#), "{svg}");
        assert!(svg.contains("<title>b: 1</title>"), "{svg}");
    }
}
