//! The overview: this node's requests over the last hour, by service and by `responseCode`
//! class, its latency percentiles (`request_ring.rs`), and notifications from the store.

use super::ConsoleError;
use super::auth::Session;
use super::charts::{Series, lines, stacked_bars};
use super::layout::page;
use crate::request_ring::{CLASSES, MINUTES, Minute, RING, SERVICES, latency_quantile};
use crate::state::AppState;
use axum::extract::State;
use axum::response::Html;
use maud::{Markup, html};
use std::time::{Duration, SystemTime};

/// `GET /`.
pub(crate) async fn overview(
    State(state): State<AppState>,
    session: Session,
) -> Result<Html<String>, ConsoleError> {
    let hour = RING.last_hour(SystemTime::now());
    let notifications = super::notifications::overview_chart(&state).await?;
    let content = html! {
        (figures(&hour))
        div.charts {
            (by_service(&hour))
            (by_class(&hour))
            (latency(&hour))
            (notifications)
        }
    };
    Ok(page(Some(&session), "Overview", "/", content))
}

fn milliseconds(latency: Option<Duration>) -> String {
    latency.map_or("—".to_owned(), |l| {
        format!("{:.1} ms", l.as_secs_f64() * 1e3)
    })
}

/// The hour's totals in words, for a quick read (and screen readers).
fn figures(hour: &[Minute]) -> Markup {
    let total: u64 = hour.iter().map(Minute::total).sum();
    let last = hour.last().map_or(0, Minute::total);
    let class_total = |class: usize| -> u64 {
        hour.iter()
            .map(|m| m.counts.iter().map(|s| s[class]).sum::<u64>())
            .sum()
    };
    html! {
        div.figures #figures {
            div.figure { "Requests, last hour" b #requests-hour { (total) } }
            div.figure { "Last minute" b #requests-minute { (last) } }
            @for (index, class) in CLASSES.iter().enumerate() {
                div.figure { (class) b data-class=(class) { (class_total(index)) } }
            }
            div.figure { "p50 latency" b #p50 { (milliseconds(latency_quantile(hour, 0.5))) } }
            div.figure { "p99 latency" b #p99 { (milliseconds(latency_quantile(hour, 0.99))) } }
        }
    }
}

/// "-60m", "-45m", … "now" under the minute axis.
fn minute_labels() -> Vec<(usize, String)> {
    (0..=4)
        .map(|i| {
            let position = (MINUTES - 1) * i / 4;
            let ago = MINUTES - 1 - position;
            let label = if ago == 0 {
                "now".to_owned()
            } else {
                format!("-{ago}m")
            };
            (position, label)
        })
        .collect()
}

fn by_service(hour: &[Minute]) -> Markup {
    let series: Vec<Series<'_>> = SERVICES
        .iter()
        .enumerate()
        .map(|(index, service)| Series {
            label: service,
            values: hour
                .iter()
                .map(|m| m.counts[index].iter().sum::<u64>() as f64)
                .collect(),
        })
        .collect();
    stacked_bars(
        "Requests per minute by service",
        "req",
        &series,
        &minute_labels(),
    )
}

fn by_class(hour: &[Minute]) -> Markup {
    let series: Vec<Series<'_>> = CLASSES
        .iter()
        .enumerate()
        .map(|(index, class)| Series {
            label: class,
            values: hour
                .iter()
                .map(|m| m.counts.iter().map(|s| s[index]).sum::<u64>() as f64)
                .collect(),
        })
        .collect();
    stacked_bars(
        "Requests per minute by responseCode class",
        "req",
        &series,
        &minute_labels(),
    )
}

fn latency(hour: &[Minute]) -> Markup {
    let per_minute = |quantile: f64| -> Vec<f64> {
        hour.iter()
            .map(|m| {
                latency_quantile(std::slice::from_ref(m), quantile)
                    .map_or(0.0, |l| l.as_secs_f64() * 1e3)
            })
            .collect()
    };
    let series = [
        Series {
            label: "p50",
            values: per_minute(0.5),
        },
        Series {
            label: "p99",
            values: per_minute(0.99),
        },
    ];
    lines("Latency per minute", "ms", &series, &minute_labels())
}
