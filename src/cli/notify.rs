//! `notify listen`: a partner's development receiver for snapqris's payment notifications
//! (CONTRACT §6.2), like `stripe listen`: it verifies each notification's signature over the raw
//! body and its timestamp window, prints it as one JSON line on stdout, and answers as a partner
//! should (`2005200`, or `4015200` when the notification is not to be trusted).

use crate::cli::args::NotifyListenArgs;
use anyhow::Context;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use snapqris_protocol::{RsaPublicKey, verify_notification};
use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use time::{Duration, OffsetDateTime};

/// Largest notification body read; a real one is under 2 KB.
const BODY_LIMIT: usize = 64 * 1024;

/// How far a notification's `X-TIMESTAMP` may be from this machine's clock.
const WINDOW: Duration = Duration::minutes(5);

/// Listens until killed, printing one line per notification received.
pub(crate) async fn listen(args: &NotifyListenArgs) -> anyhow::Result<ExitCode> {
    let mut keys = Vec::new();
    for path in &args.public_key {
        let pem = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let key = RsaPublicKey::parse(&pem)
            .with_context(|| format!("{} is not a usable RSA public key", path.display()))?;
        keys.push(key);
    }
    let (listener, _) = crate::cli::serve::listen_and_announce(&args.listen).await?;
    receive_on(listener, keys.into(), None).await
}

/// Receives notifications on `listener` until the task is dropped: each verified, printed as
/// one line and answered; with `lines`, each line goes there instead of stdout (the demo
/// prints them between its own steps).
pub(crate) async fn receive_on(
    listener: tokio::net::TcpListener,
    keys: Arc<[RsaPublicKey]>,
    lines: Option<tokio::sync::mpsc::UnboundedSender<Value>>,
) -> anyhow::Result<ExitCode> {
    loop {
        let (stream, _) = listener.accept().await.context("accept failed")?;
        let keys = keys.clone();
        let lines = lines.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                receive(keys.clone(), lines.clone(), request)
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// One notification: verified, printed, answered.
async fn receive(
    keys: Arc<[RsaPublicKey]>,
    lines: Option<tokio::sync::mpsc::UnboundedSender<Value>>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let (parts, body) = request.into_parts();
    let Ok(body) = Limited::new(body, BODY_LIMIT)
        .collect()
        .await
        .map(|b| b.to_bytes())
    else {
        return Ok(answer(StatusCode::BAD_REQUEST, "4005200", "Bad Request"));
    };
    let header = |name: &str| {
        parts
            .headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("")
    };
    let path = parts.uri.path();
    let verdict = verify_notification(
        &keys,
        path,
        &body,
        header("x-timestamp"),
        header("x-signature"),
        OffsetDateTime::now_utc(),
        WINDOW,
    );
    let mut headers = Map::new();
    for (name, value) in &parts.headers {
        headers.insert(
            name.as_str().to_owned(),
            value.to_str().unwrap_or("").into(),
        );
    }
    let body_json = serde_json::from_slice::<Value>(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    let mut line = json!({"path": path, "headers": headers, "body": body_json});
    if let Err(why) = verdict {
        line["refused"] = why.to_string().into();
    }
    match &lines {
        Some(lines) => {
            let _ = lines.send(line);
        }
        None => {
            // One line per notification, whole: scripts read stdout line by line.
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "{line}").and_then(|()| stdout.flush());
        }
    }
    Ok(match verdict {
        Ok(()) => answer(StatusCode::OK, "2005200", "Successful"),
        Err(why) => answer(
            StatusCode::UNAUTHORIZED,
            "4015200",
            &format!("Unauthorized. {why}"),
        ),
    })
}

fn answer(status: StatusCode, code: &str, message: &str) -> Response<Full<Bytes>> {
    let body = json!({"responseCode": code, "responseMessage": message}).to_string();
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}
