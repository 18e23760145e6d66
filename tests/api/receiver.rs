//! A partner's notification receiver for the delivery tests: a hyper server on
//! `127.0.0.1:0` (plain, or TLS with `testdata/tls`'s certificate) that records every request
//! and answers as the test's script says.

use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use snapqris_test_support::testdata;
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request as received.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) path: String,
    /// Header names lowercased.
    pub(crate) headers: HashMap<String, String>,
    pub(crate) body: Vec<u8>,
    /// When its headers arrived.
    pub(crate) at: Instant,
    /// The sender's address: one per connection.
    pub(crate) peer: SocketAddr,
}

impl Received {
    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", String::as_str)
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    /// `additionalInfo.notificationId`.
    pub(crate) fn notification_id(&self) -> String {
        self.json()["additionalInfo"]["notificationId"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

/// How the receiver answers one request.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    /// `200 {"responseCode":"2005200",…}`.
    Ack,
    /// This status with this body.
    Status(u16, &'static str),
    /// `429` with `Retry-After: SECONDS`.
    TooManyRequests(u64),
    /// `302` to elsewhere.
    Redirect,
    /// No answer for a minute.
    Hang,
    /// The acknowledgement, this long after the request.
    AckAfter(Duration),
    /// `200` and a body trickling a byte per 300 ms, for a minute.
    SlowBody,
}

/// Decides the answer to a request from it and every request received before it.
type Script = dyn Fn(&Received, &[Received]) -> Answer + Send + Sync;

/// A running receiver; stops when dropped.
pub(crate) struct Receiver {
    pub(crate) base_url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    /// A plain-http receiver answering as `script` says; its base URL ends with `/partner`.
    pub(crate) async fn start(
        script: impl Fn(&Received, &[Received]) -> Answer + Send + Sync + 'static,
    ) -> Receiver {
        Self::start_with(Arc::new(script), None, None).await
    }

    /// A plain-http receiver acknowledging all that closes each connection `after` it was
    /// accepted (a server's keep-alive timeout).
    pub(crate) async fn start_closing_after(after: Duration) -> Receiver {
        Self::start_with(
            Arc::new(|_: &Received, _: &[Received]| Answer::Ack),
            None,
            Some(after),
        )
        .await
    }

    /// An https receiver with `testdata/tls/server.pem` (for `127.0.0.1`), acknowledging all.
    pub(crate) async fn start_tls() -> Receiver {
        use rustls_pki_types::pem::PemObject;
        let certificates =
            rustls_pki_types::CertificateDer::pem_file_iter(testdata("tls/server.pem"))
                .unwrap()
                .collect::<Result<Vec<_>, _>>()
                .unwrap();
        let key =
            rustls_pki_types::PrivateKeyDer::from_pem_file(testdata("tls/server-key.pem")).unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(certificates, key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Self::start_with(
            Arc::new(|_: &Received, _: &[Received]| Answer::Ack),
            Some(acceptor),
            None,
        )
        .await
    }

    async fn start_with(
        script: Arc<Script>,
        tls: Option<tokio_rustls::TlsAcceptor>,
        close_after: Option<Duration>,
    ) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = received.clone();
        let server = tokio::spawn(async move {
            loop {
                let Ok((stream, peer)) = listener.accept().await else {
                    continue;
                };
                let (script, kept, tls) = (script.clone(), kept.clone(), tls.clone());
                let connection = async move {
                    let service = hyper::service::service_fn(move |request| {
                        answer(request, peer, script.clone(), kept.clone())
                    });
                    let http = hyper::server::conn::http1::Builder::new();
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                let _ = http.serve_connection(TokioIo::new(stream), service).await;
                            }
                        }
                        None => {
                            let _ = http.serve_connection(TokioIo::new(stream), service).await;
                        }
                    }
                };
                tokio::spawn(async move {
                    match close_after {
                        Some(after) => {
                            let _ = tokio::time::timeout(after, connection).await;
                        }
                        None => connection.await,
                    }
                });
            }
        });
        Receiver {
            base_url: format!("{scheme}://{address}/partner"),
            received,
            server,
        }
    }

    /// Every request so far.
    pub(crate) fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Waits (at most `limit`) until `done` holds for the requests received; returns them.
    pub(crate) async fn wait_for(
        &self,
        limit: Duration,
        done: impl Fn(&[Received]) -> bool,
    ) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        loop {
            let received = self.received();
            if done(&received) {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "the receiver did not get what was awaited within {limit:?}; it got {} requests: {:#?}",
                received.len(),
                received
                    .iter()
                    .map(|r| (&r.path, String::from_utf8_lossy(&r.body)))
                    .collect::<Vec<_>>()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

type Body = http_body_util::combinators::UnsyncBoxBody<Bytes, Infallible>;

async fn answer(
    request: Request<Incoming>,
    peer: SocketAddr,
    script: Arc<Script>,
    kept: Arc<Mutex<Vec<Received>>>,
) -> Result<Response<Body>, Infallible> {
    let at = Instant::now();
    let path = request.uri().path().to_owned();
    let headers = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes().to_vec())
        .unwrap_or_default();
    let this = Received {
        path,
        headers,
        body,
        at,
        peer,
    };
    let decided = {
        let mut received = kept.lock().unwrap();
        let decided = script(&this, &received);
        received.push(this);
        decided
    };
    let json = |status: u16, body: &'static str| {
        Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from_static(body.as_bytes())).boxed_unsync())
            .unwrap()
    };
    Ok(match decided {
        Answer::Ack => json(
            200,
            r#"{"responseCode":"2005200","responseMessage":"Successful"}"#,
        ),
        Answer::Status(status, body) => json(status, body),
        Answer::TooManyRequests(seconds) => {
            let mut response = json(429, r#"{"responseCode":"4295200"}"#);
            response
                .headers_mut()
                .insert("retry-after", seconds.to_string().parse().unwrap());
            response
        }
        Answer::Redirect => {
            let mut response = json(302, "");
            response
                .headers_mut()
                .insert("location", "http://127.0.0.1:9/elsewhere".parse().unwrap());
            response
        }
        Answer::AckAfter(delay) => {
            tokio::time::sleep(delay).await;
            json(
                200,
                r#"{"responseCode":"2005200","responseMessage":"Successful"}"#,
            )
        }
        Answer::Hang => {
            tokio::time::sleep(Duration::from_secs(60)).await;
            json(200, "{}")
        }
        Answer::SlowBody => {
            let frames = futures_util::stream::unfold(0, |n| async move {
                if n >= 200 {
                    return None;
                }
                tokio::time::sleep(Duration::from_millis(300)).await;
                Some((
                    Ok::<_, Infallible>(Frame::data(Bytes::from_static(b" "))),
                    n + 1,
                ))
            });
            Response::builder()
                .status(200)
                .body(StreamBody::new(frames).boxed_unsync())
                .unwrap()
        }
    })
}
