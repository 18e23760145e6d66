//! The frame every console page shares: head, navigation, logout form, and the stylesheet.

use super::auth::Session;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};
use time::OffsetDateTime;
use time::macros::format_description;

/// The console's one stylesheet, embedded.
const STYLESHEET: &str = include_str!("assets/console.css");

/// The navigation: path, label.
const NAVIGATION: [(&str, &str); 5] = [
    ("/", "Overview"),
    ("/partners", "Partners"),
    ("/merchants", "Merchants"),
    ("/notifications", "Notifications"),
    ("/audit", "Audit log"),
];

/// `GET /assets/console.css`.
pub(crate) async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// A whole page: `title`, the navigation (with `active` marked) when logged in, `content`.
pub(crate) fn page(
    session: Option<&Session>,
    title: &str,
    active: &str,
    content: Markup,
) -> Html<String> {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · snapqris console" }
                link rel="stylesheet" href="/assets/console.css";
            }
            body {
                header.top {
                    span.brand { "snapqris console" }
                    @if let Some(session) = session {
                        nav aria-label="Main" {
                            @for (path, label) in NAVIGATION {
                                @if path == active {
                                    a href=(path) aria-current="page" { (label) }
                                } @else {
                                    a href=(path) { (label) }
                                }
                            }
                        }
                        form.logout method="post" action="/logout" {
                            (csrf_field(session))
                            span.who { (session.operator) }
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
            }
        }
    };
    Html(markup.into_string())
}

/// The hidden CSRF field every action form carries.
pub(crate) fn csrf_field(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.id.csrf_token()); }
}

/// A moment as the console shows it: UTC, to the second.
pub(crate) fn moment(at: OffsetDateTime) -> String {
    at.to_offset(time::UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] UTC"
        ))
        .unwrap_or_default()
}

/// An amount in sen as rupiah with two decimals (`12500` → `125.00`).
pub(crate) fn rupiah(sen: i64) -> String {
    format!("{}.{:02}", sen / 100, (sen % 100).abs())
}
