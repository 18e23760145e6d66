//! Turns a panic inside a request into the service's `500xx00` answer (CONTRACT §8): a bug
//! costs one request a JSON error, never a dropped connection.

use crate::error::ApiError;
use crate::reply::snap_json;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use futures_util::FutureExt;
use snapqris_protocol::ServiceCode;
use std::any::Any;
use std::panic::AssertUnwindSafe;

/// Runs the rest of the stack, answering `500xx00` (`5000000` off the services' paths) if it
/// panics. What outlives a request is the store and the caches, whose locks recover from
/// poisoning, hence `AssertUnwindSafe`.
pub(crate) async fn catch_panic(request: Request, next: Next) -> Response {
    let service = crate::service_label(request.uri().path())
        .parse::<u8>()
        .ok()
        .and_then(ServiceCode::from_code);
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            let detail = format!("panic: {}", panic_message(panic.as_ref()));
            match service {
                Some(service) => ApiError::Internal(detail.into()).into_response_for(service),
                None => {
                    tracing::error!(error = %detail, "request failed");
                    snap_json(500, "5000000", "General Error")
                }
            }
        }
    }
}

/// The text a panic was raised with, when it is text.
fn panic_message(panic: &(dyn Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(not text)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::Body;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn answer(router: Router, path: &str) -> (u16, serde_json::Value) {
        let request = Request::post(path).body(Body::empty()).unwrap();
        let response = router.oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn panicking_router() -> Router {
        async fn panics() -> Response {
            panic!("a bug")
        }
        Router::new()
            .route(ServiceCode::GenerateList.path(), post(panics))
            .route("/elsewhere", post(panics))
            .route(
                ServiceCode::Query.path(),
                post(|| async { snap_json(200, "2005100", "Successful") }),
            )
            .layer(axum::middleware::from_fn(catch_panic))
    }

    #[tokio::test]
    async fn a_panicking_service_answers_its_500xx00() {
        let (status, body) = answer(panicking_router(), ServiceCode::GenerateList.path()).await;
        assert_eq!(status, 500);
        assert_eq!(
            body,
            serde_json::json!({"responseCode": "5009000", "responseMessage": "General Error"})
        );
    }

    #[tokio::test]
    async fn a_panic_off_the_services_paths_answers_5000000() {
        let (status, body) = answer(panicking_router(), "/elsewhere").await;
        assert_eq!(status, 500);
        assert_eq!(body["responseCode"], "5000000");
    }

    #[tokio::test]
    async fn an_answer_without_a_panic_passes_unchanged() {
        let (status, body) = answer(panicking_router(), ServiceCode::Query.path()).await;
        assert_eq!(status, 200);
        assert_eq!(body["responseCode"], "2005100");
    }
}
