//! One delivery attempt (CONTRACT §6.2): resolve the callback's host, refuse non-public
//! addresses, use a connection to an address checked (never resolving twice, so a name cannot
//! be re-pointed between check and use), speak TLS for `https`, `POST` the stored body signed
//! afresh, and judge the answer. HTTP/1 over hyper's `client::conn`, on a connection kept from
//! an earlier attempt to the same receiver when there is one (`pool.rs`), no redirect followed,
//! the whole attempt bounded by `notify-timeout`.

use crate::notify::address::is_public;
use crate::notify::pool::{AbortOnDrop, Connection, Pool, ReceiverKey};
use crate::notify::schedule::parse_retry_after;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use hyper::header::{CONTENT_TYPE, HOST, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls_pki_types::ServerName;
use snapqris_protocol::{RsaPrivateKey, XTimestamp, sign_notification};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::runtime::Handle;
use tokio_rustls::TlsConnector;

/// The path of service 52 under a partner's base URL.
pub const NOTIFY_PATH: &str = "/v1.0/qr/qr-mpm-notify";

/// How much of an answer's body is read: enough for any acknowledgement, and a receiver
/// streaming megabytes cannot make the worker hold them.
const MAX_ANSWER_BODY: usize = 16 * 1024;

/// `User-Agent` of every attempt.
const USER_AGENT_VALUE: &str = concat!("snapqris/", env!("CARGO_PKG_VERSION"));

/// What one attempt sends.
pub(crate) struct Outgoing {
    /// The partner's base URL, as stored (checked when it was set).
    pub(crate) base_url: String,
    /// The receiving partner: `X-PARTNER-ID`.
    pub(crate) client_id: String,
    /// The body exactly as stored.
    pub(crate) body: Bytes,
    /// The notification key in force.
    pub(crate) key: Arc<RsaPrivateKey>,
}

/// How an attempt went; the worker turns it into the stored attempt row and the next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttemptReport {
    /// Whether the receiver acknowledged it.
    pub(crate) delivered: bool,
    /// The answer's status, when one came.
    pub(crate) http_status: Option<u16>,
    /// The answer's `responseCode`, when its body was JSON carrying one.
    pub(crate) response_code: Option<String>,
    /// Why the attempt failed without (or despite) an answer.
    pub(crate) error: Option<String>,
    /// A `Retry-After` on a 429 or 503.
    pub(crate) retry_after: Option<Duration>,
    /// From the start of the attempt to its end.
    pub(crate) latency: Duration,
}

/// Makes attempts; one per process, shared by the worker's tasks.
#[derive(Clone)]
pub(crate) struct DeliveryClient {
    tls: TlsConnector,
    runtime: Handle,
    allow_private_networks: bool,
    timeout: Duration,
    pool: Arc<Pool>,
}

/// A failure before any answer came.
type Failure = String;

impl DeliveryClient {
    /// A client using `tls` for `https`, making attempts on `runtime` (the idle-priority one,
    /// `background.rs`), refusing non-public addresses unless `allow_private_networks`, giving
    /// each attempt `timeout`.
    pub(crate) fn new(
        tls: Arc<rustls::ClientConfig>,
        runtime: Handle,
        allow_private_networks: bool,
        timeout: Duration,
    ) -> Self {
        DeliveryClient {
            tls: TlsConnector::from(tls),
            runtime,
            allow_private_networks,
            timeout,
            pool: Arc::default(),
        }
    }

    /// Makes one attempt on the attempts' runtime; never fails itself: every failure is in
    /// the report. Dropped (an abandoned attempt), it ends the attempt too.
    pub(crate) async fn attempt(&self, outgoing: Outgoing) -> AttemptReport {
        let client = self.clone();
        let mut task = AbortOnDrop(
            self.runtime
                .spawn(async move { client.run(outgoing).await }),
        );
        match (&mut task.0).await {
            Ok(report) => report,
            Err(error) => AttemptReport {
                delivered: false,
                http_status: None,
                response_code: None,
                error: Some(format!("the attempt ended early: {error}")),
                retry_after: None,
                latency: Duration::ZERO,
            },
        }
    }

    async fn run(&self, outgoing: Outgoing) -> AttemptReport {
        // Signed before the attempt's clock starts: on a busy node the signature waits for the
        // CPU the API leaves (`background.rs`), and that wait is no fault of the receiver's.
        let signed = sign(&outgoing);
        let started = Instant::now();
        let answer = match signed {
            Ok((target, signed)) => {
                let exchange = self.exchange(&target, &signed, outgoing);
                tokio::time::timeout(self.timeout, exchange).await
            }
            Err(error) => Ok(Err(error)),
        };
        let latency = started.elapsed();
        let failed = |error: String| AttemptReport {
            delivered: false,
            http_status: None,
            response_code: None,
            error: Some(error),
            retry_after: None,
            latency,
        };
        match answer {
            Err(_) => failed(format!(
                "no complete answer within notify-timeout ({} ms)",
                self.timeout.as_millis()
            )),
            Ok(Err(error)) => failed(error),
            Ok(Ok(answer)) => answer.judge(latency),
        }
    }

    async fn exchange(
        &self,
        target: &Target,
        signed: &Signed,
        outgoing: Outgoing,
    ) -> Result<Answer, Failure> {
        let addresses = self.resolve(target).await?;
        for address in &addresses {
            let key = target.key(*address);
            let Some(mut kept) = self.pool.take(&key) else {
                continue;
            };
            // The receiver may have closed a kept connection a moment ago: a request it never
            // carried goes out on a fresh one. One it carried is not sent twice.
            match send(&mut kept, signed_request(target, signed, &outgoing)?).await {
                Sent::Answered(response) => return self.read(key, kept, response).await,
                Sent::NotCarried(_) => break,
                Sent::Failed(error) => return Err(error),
            }
        }
        let (address, stream) = connect(&addresses).await?;
        let mut fresh = self.open(target, stream).await?;
        let key = target.key(address);
        match send(&mut fresh, signed_request(target, signed, &outgoing)?).await {
            Sent::Answered(response) => self.read(key, fresh, response).await,
            Sent::NotCarried(error) | Sent::Failed(error) => Err(error),
        }
    }

    /// TLS for `https`, then the HTTP/1 handshake, over a connected `stream`.
    async fn open(&self, target: &Target, stream: TcpStream) -> Result<Connection, Failure> {
        if target.https {
            let name = ServerName::try_from(target.host.clone())
                .map_err(|_| format!("{:?} is not a valid TLS server name", target.host))?;
            let tls = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|e| format!("TLS handshake with {} failed: {e}", target.host))?;
            handshake(tls).await
        } else {
            handshake(stream).await
        }
    }

    /// Reads the answer (its body up to [`MAX_ANSWER_BODY`]); keeps the connection when the
    /// body was read to its end.
    async fn read(
        &self,
        key: ReceiverKey,
        connection: Connection,
        response: Response<Incoming>,
    ) -> Result<Answer, Failure> {
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        let mut body = response.into_body();
        let mut read = BytesMut::new();
        let mut ended = false;
        while read.len() < MAX_ANSWER_BODY {
            match body.frame().await {
                None => {
                    ended = true;
                    break;
                }
                Some(Err(e)) => return Err(format!("answer {status} cut short: {e}")),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        let room = MAX_ANSWER_BODY - read.len();
                        read.extend_from_slice(&data[..data.len().min(room)]);
                    }
                }
            }
        }
        if ended || body.is_end_stream() {
            self.pool.put(key, connection);
        }
        Ok(Answer {
            status,
            retry_after,
            body: read.freeze(),
        })
    }

    /// Resolves the host now: the addresses an attempt may connect to.
    async fn resolve(&self, target: &Target) -> Result<Vec<SocketAddr>, Failure> {
        let addresses: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, target.port)],
            Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
                .await
                .map_err(|e| format!("cannot resolve {}: {e}", target.host))?
                .collect(),
        };
        let (allowed, refused): (Vec<_>, Vec<_>) = addresses
            .into_iter()
            .partition(|address| self.allow_private_networks || is_public(address.ip()));
        if allowed.is_empty() {
            return Err(match refused.first() {
                Some(address) => format!(
                    "refused: {} is {}, not a public address (notify-allow-private-networks is off)",
                    target.host,
                    address.ip()
                ),
                None => format!("cannot resolve {}: no address", target.host),
            });
        }
        Ok(allowed)
    }
}

/// Connects to the first of `addresses` that answers.
async fn connect(addresses: &[SocketAddr]) -> Result<(SocketAddr, TcpStream), Failure> {
    let mut last_error = None;
    for &address in addresses {
        match TcpStream::connect(address).await {
            Ok(stream) => {
                // One request written at once: no point in Nagle's delay.
                let _ = stream.set_nodelay(true);
                return Ok((address, stream));
            }
            Err(e) => last_error = Some(format!("cannot connect to {address}: {e}")),
        }
    }
    Err(last_error.unwrap_or_default())
}

/// The parts of a base URL an attempt needs.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    https: bool,
    /// Without an IPv6 literal's brackets.
    host: String,
    port: u16,
    /// `Host:` as the URL spells it.
    authority: String,
    /// The base URL's own path followed by [`NOTIFY_PATH`]: what is requested and signed.
    path: String,
}

impl Target {
    /// Which kept connections to `address` may carry this attempt.
    fn key(&self, address: SocketAddr) -> ReceiverKey {
        ReceiverKey {
            https: self.https,
            host: self.host.clone(),
            address,
        }
    }

    fn parse(base_url: &str) -> Result<Target, Failure> {
        let unusable = || format!("the callback URL {base_url:?} is not usable");
        let (https, rest) = match base_url.split_once("://") {
            Some(("https", rest)) => (true, rest),
            Some(("http", rest)) => (false, rest),
            _ => return Err(unusable()),
        };
        let (authority, base_path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => {
                (host, port.parse::<u16>().map_err(|_| unusable())?)
            }
            _ => (authority, if https { 443 } else { 80 }),
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(unusable());
        }
        Ok(Target {
            https,
            host: host.to_owned(),
            port,
            authority: authority.to_owned(),
            path: format!("{}{NOTIFY_PATH}", base_path.trim_end_matches('/')),
        })
    }
}

/// An HTTP answer, before it is judged.
struct Answer {
    status: StatusCode,
    retry_after: Option<Duration>,
    body: Bytes,
}

impl Answer {
    /// CONTRACT §6.2: a 2xx whose body, when JSON with a `responseCode`, has one starting
    /// with `2`; redirects are not followed.
    fn judge(self, latency: Duration) -> AttemptReport {
        let response_code = response_code(&self.body);
        let status_ok = self.status.is_success();
        let code_ok = response_code.as_deref().is_none_or(|c| c.starts_with('2'));
        let error = if self.status.is_redirection() {
            Some(format!("redirect ({}) not followed", self.status.as_u16()))
        } else {
            None
        };
        let retry_after = match self.status {
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE => self.retry_after,
            _ => None,
        };
        AttemptReport {
            delivered: status_ok && code_ok,
            http_status: Some(self.status.as_u16()),
            response_code,
            error,
            retry_after,
            latency,
        }
    }
}

/// The `responseCode` of a JSON answer (a string, or a number some receivers send).
fn response_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    match value.get("responseCode")? {
        serde_json::Value::String(code) => Some(code.clone()),
        serde_json::Value::Number(code) => Some(code.to_string()),
        _ => None,
    }
}

/// The HTTP/1 handshake over `stream`, its connection driven by a task of its own (ended with
/// the connection: an abandoned attempt must not leave a task reading a hung receiver).
async fn handshake<S>(stream: S) -> Result<Connection, Failure>
where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = hyper::client::conn::http1::Builder::new()
        .title_case_headers(true)
        .handshake::<_, Full<Bytes>>(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let driver = AbortOnDrop(tokio::spawn(async move {
        let _ = connection.await;
    }));
    Ok(Connection {
        sender,
        _driver: driver,
    })
}

/// What became of a request sent on a connection.
enum Sent {
    /// An answer's head came.
    Answered(Response<Incoming>),
    /// The connection was closed before it carried the request.
    NotCarried(Failure),
    /// The request went out, and no answer came.
    Failed(Failure),
}

/// Sends `request` on `connection` once it is ready.
async fn send(connection: &mut Connection, request: Request<Full<Bytes>>) -> Sent {
    if let Err(e) = connection.sender.ready().await {
        return Sent::NotCarried(format!("no answer: {e}"));
    }
    match connection.sender.try_send_request(request).await {
        Ok(response) => Sent::Answered(response),
        Err(mut e) => {
            let failure = format!("no answer: {}", e.error());
            if e.take_message().is_some() {
                Sent::NotCarried(failure)
            } else {
                Sent::Failed(failure)
            }
        }
    }
}

/// A signature and the `X-TIMESTAMP` it covers.
struct Signed {
    timestamp: XTimestamp,
    signature: String,
    /// `X-EXTERNAL-ID`: one per attempt, the same if the attempt moves to a fresh connection.
    external_id: String,
}

/// The attempt's target and its signature, timestamped now.
fn sign(outgoing: &Outgoing) -> Result<(Target, Signed), Failure> {
    let target = Target::parse(&outgoing.base_url)?;
    let timestamp = XTimestamp::from_instant_jakarta(time::OffsetDateTime::now_utc());
    let signature = sign_notification(
        &outgoing.key,
        &target.path,
        &outgoing.body,
        timestamp.as_str(),
    );
    Ok((
        target,
        Signed {
            timestamp,
            signature,
            external_id: fresh_external_id(),
        },
    ))
}

/// The `POST` with exactly CONTRACT §6.2's headers, with its signature.
fn signed_request(
    target: &Target,
    signed: &Signed,
    outgoing: &Outgoing,
) -> Result<Request<Full<Bytes>>, Failure> {
    let header = |value: &str| {
        HeaderValue::from_str(value).map_err(|_| format!("{value:?} cannot be a header value"))
    };
    Request::post(target.path.as_str())
        .header(HOST, header(&target.authority)?)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .header("X-TIMESTAMP", header(signed.timestamp.as_str())?)
        .header("X-PARTNER-ID", header(&outgoing.client_id)?)
        .header("X-EXTERNAL-ID", header(&signed.external_id)?)
        .header("X-SIGNATURE", header(&signed.signature)?)
        .header(USER_AGENT, HeaderValue::from_static(USER_AGENT_VALUE))
        .body(Full::new(outgoing.body.clone()))
        .map_err(|e| format!("cannot build the request: {e}"))
}

/// 32 random hex digits: new for every attempt (CONTRACT §6.2), within `X-EXTERNAL-ID`'s 36.
fn fresh_external_id() -> String {
    let mut bytes = [0_u8; 16];
    aws_lc_rs::rand::fill(&mut bytes).expect("the system random generator failed");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(url: &str) -> Target {
        Target::parse(url).unwrap()
    }

    #[test]
    fn a_base_url_gives_host_port_and_the_full_signed_path() {
        let t = target("https://partner.example/snap");
        assert!(t.https);
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.authority.as_str(),
                t.path.as_str()
            ),
            (
                "partner.example",
                443,
                "partner.example",
                "/snap/v1.0/qr/qr-mpm-notify"
            )
        );
        let t = target("http://127.0.0.1:8090");
        assert_eq!(
            (t.https, t.host.as_str(), t.port, t.path.as_str()),
            (false, "127.0.0.1", 8090, NOTIFY_PATH)
        );
        let t = target("https://[::1]:8443/a/b");
        assert_eq!(
            (
                t.host.as_str(),
                t.port,
                t.authority.as_str(),
                t.path.as_str()
            ),
            ("::1", 8443, "[::1]:8443", "/a/b/v1.0/qr/qr-mpm-notify")
        );
        assert_eq!(target("http://[::1]").port, 80);
        for bad in ["ftp://x", "x", "http://:80", "http://h:99999"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
    }

    fn answer(status: u16, body: &str) -> AttemptReport {
        Answer {
            status: StatusCode::from_u16(status).unwrap(),
            retry_after: Some(Duration::from_secs(9)),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
        .judge(Duration::ZERO)
    }

    #[test]
    fn a_2xx_is_delivered_unless_its_response_code_does_not_start_with_2() {
        assert!(answer(200, r#"{"responseCode":"2005200"}"#).delivered);
        assert!(answer(204, "").delivered);
        assert!(answer(200, "OK").delivered, "not JSON: the status decides");
        assert!(answer(200, r#"{"other":1}"#).delivered);
        let refused = answer(200, r#"{"responseCode":"5005201","responseMessage":"x"}"#);
        assert!(!refused.delivered);
        assert_eq!(refused.response_code.as_deref(), Some("5005201"));
        assert!(!answer(200, r#"{"responseCode":4015200}"#).delivered);
    }

    #[test]
    fn other_statuses_fail_and_only_429_and_503_keep_retry_after() {
        let redirect = answer(302, "");
        assert!(!redirect.delivered);
        assert_eq!(
            redirect.error.as_deref(),
            Some("redirect (302) not followed")
        );
        assert_eq!(redirect.retry_after, None);
        assert!(!answer(500, r#"{"responseCode":"2005200"}"#).delivered);
        assert_eq!(answer(429, "").retry_after, Some(Duration::from_secs(9)));
        assert_eq!(answer(503, "").retry_after, Some(Duration::from_secs(9)));
        assert_eq!(answer(500, "").retry_after, None);
    }

    #[test]
    fn external_ids_are_fresh_and_fit_the_field() {
        let a = fresh_external_id();
        assert_eq!(a.len(), 32);
        assert!(snapqris_protocol::ExternalId::parse(&a).is_ok());
        assert_ne!(a, fresh_external_id());
    }

    #[tokio::test]
    async fn a_loopback_callback_is_refused_unless_private_networks_are_allowed() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let key = Arc::new(RsaPrivateKey::generate().unwrap());
        let tls = crate::notify::tls::client_config(&[]).unwrap();
        let background = crate::notify::background::BackgroundRuntime::start(1).unwrap();
        let outgoing = || Outgoing {
            base_url: url.clone(),
            client_id: "partner-1".to_owned(),
            body: Bytes::from_static(b"{}"),
            key: key.clone(),
        };
        let strict = DeliveryClient::new(
            tls.clone(),
            background.handle(),
            false,
            Duration::from_secs(5),
        );
        let report = strict.attempt(outgoing()).await;
        assert!(!report.delivered);
        assert!(
            report
                .error
                .as_deref()
                .unwrap()
                .starts_with("refused: 127.0.0.1"),
            "{report:?}"
        );
        let localhost = Outgoing {
            base_url: "http://localhost:9".to_owned(),
            ..outgoing()
        };
        assert!(
            strict
                .attempt(localhost)
                .await
                .error
                .unwrap()
                .starts_with("refused")
        );

        // Allowed, it reaches the listener, which answers nothing: a timeout.
        let lenient =
            DeliveryClient::new(tls, background.handle(), true, Duration::from_millis(300));
        let report = lenient.attempt(outgoing()).await;
        assert!(
            report.error.as_deref().unwrap().contains("notify-timeout"),
            "{report:?}"
        );
        assert!(report.latency >= Duration::from_millis(300));
    }
}
