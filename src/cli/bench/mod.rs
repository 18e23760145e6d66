//! `bench`: a load generator for SNAP endpoints. Every SNAP request needs a fresh signature and a
//! unique `X-EXTERNAL-ID`, which no generic tool produces, so all requests are signed **before**
//! the clock starts, then sent by `--concurrency` workers, each over its own keep-alive HTTP/1.1
//! connection to the one `--base-url`. It prints requests/s, latency percentiles and a count per
//! `responseCode` (HTTP status for `/health`); `--json` prints a machine-readable summary.
//!
//! With `--duration`, how many requests to sign is sized from a short calibration run (the
//! server's rate times the duration, plus a margin), and the duration must fit in the server's
//! timestamp window, since every request's `X-TIMESTAMP` is taken when it is signed.

use crate::cli::args::{PartnerKeys, SignatureArg};
use crate::cli::show::say;
use anyhow::{Context, anyhow, bail};
use bytes::Bytes;
use clap::{Args, ValueEnum};
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::client::conn::http1::SendRequest;
use hyper::header::{HOST, HeaderValue};
use hyper_util::rt::TokioIo;
use serde_json::json;
use snapqris_client::{PartnerSession, PreparedRequest, TransactionAuth, fresh_external_id};
use snapqris_protocol::{JakartaDate, RsaPrivateKey, ServiceCode, XTimestamp};
use std::process::ExitCode;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

mod report;
mod sign;

use report::{Outcome, Summary};

/// The most requests one run signs (bounds memory and signing time).
const MAX_REQUESTS: u64 = 1_000_000;
/// Seconds kept free inside the timestamp window, for signing and clock skew.
const WINDOW_MARGIN_SECS: f64 = 30.0;

/// `bench`.
#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The server, with any path prefix: http://HOST:PORT[/PREFIX]
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub(crate) base_url: String,
    /// What to call.
    #[arg(long, value_name = "ENDPOINT")]
    pub(crate) endpoint: BenchEndpoint,
    /// Concurrent workers, one keep-alive connection each.
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub(crate) concurrency: u32,
    /// Send exactly this many requests (at most 1000000).
    #[arg(long, value_name = "N", required_unless_present = "duration",
          conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..=MAX_REQUESTS))]
    pub(crate) requests: Option<u64>,
    /// Send for this many seconds (at most the timestamp window minus 30 s).
    #[arg(long, value_name = "SECONDS")]
    pub(crate) duration: Option<f64>,
    /// The server's timestamp window in seconds, which bounds --duration.
    #[arg(long, value_name = "SECONDS", default_value_t = 300)]
    pub(crate) timestamp_window: u64,
    /// The partner's client id (every endpoint but health).
    #[arg(long, value_name = "ID")]
    pub(crate) client_id: Option<String>,
    /// How the partner signs.
    #[command(flatten)]
    pub(crate) keys: PartnerKeys,
    /// The merchant (generate and list).
    #[arg(long, value_name = "ID")]
    pub(crate) merchant_id: Option<String>,
    /// The day to list, yyyy-MM-dd [default: today in Jakarta]
    #[arg(long, value_name = "DATE")]
    pub(crate) date: Option<String>,
    /// The amount of each generated (dynamic) QR.
    #[arg(long, value_name = "AMOUNT", default_value = "9000.00")]
    pub(crate) amount: String,
    /// Send at this fixed rate (requests/s over all workers) instead of as fast as answers
    /// come; latencies count from each request's scheduled moment, so a stalled server shows.
    #[arg(long, value_name = "PER_SECOND")]
    pub(crate) rate: Option<f64>,
    /// Print a JSON summary instead of the table.
    #[arg(long)]
    pub(crate) json: bool,
}

/// What `bench` calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum BenchEndpoint {
    /// `GET /health` (counts HTTP statuses).
    Health,
    /// Service 73, a fresh RSA-signed token request each.
    Token,
    /// Service 47, a dynamic QR with a unique partnerReferenceNo each.
    Generate,
    /// Service 90 for one merchant and day.
    List,
    /// Service 50 paying one static QR of the merchant (generated first) for `--amount`, a
    /// unique payer `partnerReferenceNo` each (the partner must be granted 50).
    Payment,
    /// No server: RSA-2048 notification signatures on one thread for `--duration` seconds,
    /// the cost of one delivery attempt and so the limit of delivery throughput per core.
    Sign,
    /// Service 78 refunding 0.01 at a time of one payment of 9000000.00 (a static QR of the
    /// merchant, generated and paid first), a unique `partnerRefundNo` each (the partner must
    /// be granted 50 and 78).
    Refund,
}

impl BenchEndpoint {
    fn name(self) -> &'static str {
        match self {
            BenchEndpoint::Health => "health",
            BenchEndpoint::Token => "token",
            BenchEndpoint::Generate => "generate",
            BenchEndpoint::List => "list",
            BenchEndpoint::Payment => "payment",
            BenchEndpoint::Sign => "sign",
            BenchEndpoint::Refund => "refund",
        }
    }
}

/// Runs the benchmark and prints its summary.
pub(crate) async fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    if args.endpoint == BenchEndpoint::Sign {
        return sign::run(&args);
    }
    if args
        .rate
        .is_some_and(|rate| !(rate > 0.0 && rate.is_finite()))
    {
        bail!("--rate must be a positive number of requests per second");
    }
    let target = Target::new(&args).await?;
    let started_signing = Instant::now();
    let (count, deadline) = match (args.requests, args.duration) {
        (Some(count), _) => (count, None),
        (None, Some(seconds)) => {
            let limit = args.timestamp_window as f64 - WINDOW_MARGIN_SECS;
            if !(seconds > 0.0 && seconds <= limit) {
                bail!(
                    "--duration must lie in (0, {limit}] seconds: every X-TIMESTAMP is signed \
                     before the run and must stay inside the server's {} s window",
                    args.timestamp_window
                );
            }
            let rate = match args.rate {
                Some(rate) => rate,
                None => calibrate(&target, &args).await?,
            };
            let cap = (rate * seconds * 1.6).ceil() as u64 + u64::from(args.concurrency) * 8;
            (
                cap.min(MAX_REQUESTS),
                Some(Duration::from_secs_f64(seconds)),
            )
        }
        (None, None) => bail!("give --requests or --duration"),
    };
    let requests = target.sign(count, &args)?;
    let signing = started_signing.elapsed();
    if signing.as_secs_f64() + deadline.map_or(0.0, |d| d.as_secs_f64())
        > args.timestamp_window as f64 - 5.0
    {
        bail!(
            "signing took {:.1} s: the first X-TIMESTAMP would leave the server's {} s window \
             during the run; ask for fewer requests or a shorter duration",
            signing.as_secs_f64(),
            args.timestamp_window
        );
    }
    let outcome = drive(&target, requests, args.concurrency, deadline, args.rate).await?;
    if let Some(limit) = deadline
        && outcome.elapsed < limit.mul_f64(0.95)
    {
        eprintln!(
            "note: the {count} signed requests ran out after {:.2} s of {:.2} s; requests/s is \
             over the time actually run",
            outcome.elapsed.as_secs_f64(),
            limit.as_secs_f64()
        );
    }
    let summary = Summary::new(&args, &outcome, count, signing);
    if args.json {
        say!("{}", summary.json())?;
    } else {
        say!("{}", summary.text())?;
    }
    if outcome.latencies_ns.is_empty() {
        bail!("no request got an answer");
    }
    Ok(ExitCode::SUCCESS)
}

/// Where requests go and how they are signed.
struct Target {
    /// `host:port`.
    authority: String,
    host: HeaderValue,
    endpoint: BenchEndpoint,
    /// The signing partner (every endpoint but health), with its token in hmac mode.
    session: Option<PartnerSession>,
    /// The JSON body before its per-request fields (generate: without partnerReferenceNo).
    body: serde_json::Value,
}

impl Target {
    async fn new(args: &BenchArgs) -> anyhow::Result<Self> {
        let rest = args
            .base_url
            .strip_prefix("http://")
            .ok_or_else(|| anyhow!("--base-url must be http://HOST:PORT[/PREFIX]"))?;
        let authority = rest.split('/').next().unwrap_or_default().to_owned();
        let host = HeaderValue::from_str(&authority).context("--base-url host")?;
        let endpoint = args.endpoint;
        let merchant = || {
            args.merchant_id.clone().ok_or_else(|| {
                anyhow!("--merchant-id is needed for --endpoint {}", endpoint.name())
            })
        };
        let body = match endpoint {
            BenchEndpoint::Health | BenchEndpoint::Sign => serde_json::Value::Null,
            BenchEndpoint::Token => json!({"grantType": "client_credentials"}),
            BenchEndpoint::Generate => json!({
                "merchantId": merchant()?,
                "amount": {"value": args.amount, "currency": "IDR"},
            }),
            BenchEndpoint::Payment | BenchEndpoint::Refund => serde_json::Value::Null,
            BenchEndpoint::List => {
                let date = args.date.clone().unwrap_or_else(|| {
                    JakartaDate::of_instant(OffsetDateTime::now_utc()).to_string()
                });
                json!({"dateGenerate": date, "additionalInfo": {"merchantId": merchant()?}})
            }
        };
        let session = match endpoint {
            BenchEndpoint::Health => None,
            _ => Some(session(args, endpoint).await?),
        };
        let body = match (endpoint, &session) {
            (BenchEndpoint::Payment, Some(session)) => {
                let (_, qr_content) = static_qr(session, &merchant()?).await?;
                json!({"qrContent": qr_content, "amount": {"value": args.amount, "currency": "IDR"}})
            }
            (BenchEndpoint::Refund, Some(session)) => {
                let merchant_id = merchant()?;
                let (id_qr, payment_id) = paid_static_qr(session, &merchant_id).await?;
                json!({"merchantId": merchant_id, "originalReferenceNo": id_qr,
                    "refundAmount": {"value": "0.01", "currency": "IDR"},
                    "additionalInfo": {"paymentId": payment_id}})
            }
            _ => body,
        };
        Ok(Target {
            authority,
            host,
            endpoint,
            session,
            body,
        })
    }

    /// Signs `count` requests, each with a fresh timestamp and (transactions) a unique
    /// `X-EXTERNAL-ID`, on every core.
    fn sign(&self, count: u64, args: &BenchArgs) -> anyhow::Result<Vec<Request<Full<Bytes>>>> {
        let count = usize::try_from(count)?;
        if self.endpoint == BenchEndpoint::Health {
            return (0..count).map(|_| self.health_request()).collect();
        }
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let per_thread = count.div_ceil(threads);
        tokio::task::block_in_place(|| {
            std::thread::scope(|scope| {
                let handles: Vec<_> = (0..threads)
                    .map(|i| {
                        let n = per_thread.min(count.saturating_sub(i * per_thread));
                        scope.spawn(move || {
                            (0..n)
                                .map(|_| self.signed_request())
                                .collect::<anyhow::Result<Vec<_>>>()
                        })
                    })
                    .collect();
                let mut all = Vec::with_capacity(count);
                for handle in handles {
                    let part = handle
                        .join()
                        .map_err(|_| anyhow!("a signing thread panicked"))??;
                    all.extend(part);
                }
                Ok::<_, anyhow::Error>(all)
            })
        })
        .with_context(|| format!("signing {count} requests for {}", args.endpoint.name()))
    }

    fn health_request(&self) -> anyhow::Result<Request<Full<Bytes>>> {
        Ok(Request::get("/health")
            .header(HOST, self.host.clone())
            .body(Full::new(Bytes::new()))?)
    }

    fn signed_request(&self) -> anyhow::Result<Request<Full<Bytes>>> {
        let session = self.session.as_ref().context("no partner")?;
        let now = XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc());
        let prepared = match self.endpoint {
            BenchEndpoint::Health | BenchEndpoint::Sign => return self.health_request(),
            BenchEndpoint::Token => session.prepare_token(),
            BenchEndpoint::Generate => {
                let mut body = self.body.clone();
                body["partnerReferenceNo"] = json!(fresh_external_id());
                session.prepare_with(
                    ServiceCode::GenerateQr.path(),
                    body.to_string().as_bytes(),
                    &fresh_external_id(),
                    &now,
                )
            }
            BenchEndpoint::List => session.prepare_with(
                ServiceCode::GenerateList.path(),
                self.body.to_string().as_bytes(),
                &fresh_external_id(),
                &now,
            ),
            BenchEndpoint::Payment => {
                let mut body = self.body.clone();
                body["partnerReferenceNo"] = json!(fresh_external_id());
                session.prepare_with(
                    ServiceCode::Payment.path(),
                    body.to_string().as_bytes(),
                    &fresh_external_id(),
                    &now,
                )
            }
            BenchEndpoint::Refund => {
                let mut body = self.body.clone();
                body["partnerRefundNo"] = json!(fresh_external_id());
                session.prepare_with(
                    ServiceCode::Refund.path(),
                    body.to_string().as_bytes(),
                    &fresh_external_id(),
                    &now,
                )
            }
        };
        self.to_hyper(prepared)
    }

    fn to_hyper(&self, prepared: PreparedRequest) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut builder = Request::builder()
            .method(prepared.method.as_str())
            .uri(prepared.path.as_str())
            .header(HOST, self.host.clone());
        for (name, value) in &prepared.headers {
            builder = builder.header(name.as_str(), value.as_str());
        }
        Ok(builder.body(Full::new(Bytes::from(prepared.body)))?)
    }
}

/// Generates one static QR of `merchant_id` (service 47) and answers its `id_qr` and payload,
/// for the payment endpoint to pay over and over.
async fn static_qr(
    session: &PartnerSession,
    merchant_id: &str,
) -> anyhow::Result<(String, String)> {
    let body = json!({"partnerReferenceNo": fresh_external_id(), "merchantId": merchant_id});
    let (_, response) = session
        .call(ServiceCode::GenerateQr.path(), &body)
        .await
        .context("generating the QR to pay")?;
    response
        .json()
        .and_then(|answer| {
            let id_qr = answer["referenceNo"].as_str()?.to_owned();
            Some((id_qr, answer["qrContent"].as_str()?.to_owned()))
        })
        .ok_or_else(|| {
            anyhow!(
                "generating the QR to pay failed: {}",
                crate::cli::show::body(&response)
            )
        })
}

/// Generates a static QR of `merchant_id` and pays it 9000000.00 (service 50), for the refund
/// endpoint to refund a sen at a time: its `id_qr` and the `paymentId`.
async fn paid_static_qr(
    session: &PartnerSession,
    merchant_id: &str,
) -> anyhow::Result<(String, String)> {
    let (id_qr, qr_content) = static_qr(session, merchant_id).await?;
    let body = json!({"partnerReferenceNo": fresh_external_id(), "qrContent": qr_content,
        "amount": {"value": "9000000.00", "currency": "IDR"}});
    let (_, response) = session
        .call(ServiceCode::Payment.path(), &body)
        .await
        .context("paying the QR to refund")?;
    let payment_id = response
        .json()
        .and_then(|answer| answer["referenceNo"].as_str().map(str::to_owned))
        .ok_or_else(|| {
            anyhow!(
                "paying the QR to refund failed: {}",
                crate::cli::show::body(&response)
            )
        })?;
    Ok((id_qr, payment_id))
}

/// The partner session the flags describe; in hmac mode it takes a token first.
async fn session(args: &BenchArgs, endpoint: BenchEndpoint) -> anyhow::Result<PartnerSession> {
    let client_id = args
        .client_id
        .as_deref()
        .ok_or_else(|| anyhow!("--client-id is needed for --endpoint {}", endpoint.name()))?;
    let path = args.keys.private_key.as_ref().ok_or_else(|| {
        anyhow!(
            "--private-key is needed for --endpoint {} (it signs token requests)",
            endpoint.name()
        )
    })?;
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read private key {}", path.display()))?;
    let key = RsaPrivateKey::parse_pem(&pem)
        .with_context(|| format!("private key {}", path.display()))?;
    let needs_token = endpoint != BenchEndpoint::Token && args.keys.signature == SignatureArg::Hmac;
    let auth = match args.keys.signature {
        SignatureArg::Hmac if needs_token => TransactionAuth::Hmac {
            client_secret: args
                .keys
                .client_secret
                .clone()
                .ok_or_else(|| anyhow!("--client-secret is needed in hmac mode"))?,
        },
        _ => TransactionAuth::Rsa,
    };
    let mut session = PartnerSession::new(&args.base_url, client_id, key, auth)?;
    if needs_token {
        let (_, response) = session.take_token().await?;
        if session.token().is_none() {
            bail!(
                "no token: the server answered HTTP {} {}",
                response.status,
                response.response_code().unwrap_or_default()
            );
        }
    }
    Ok(session)
}

/// Requests per second measured on a short run (a few hundred requests).
/// Runs until a batch lasts at least half a second (at most four batches), so that start-up
/// effects do not dominate.
async fn calibrate(target: &Target, args: &BenchArgs) -> anyhow::Result<f64> {
    let mut count = (u64::from(args.concurrency) * 8).clamp(200, 2000);
    let mut rate = 0.0;
    for _ in 0..4 {
        let requests = target.sign(count, args)?;
        let outcome = drive(target, requests, args.concurrency, None, None).await?;
        if outcome.latencies_ns.is_empty() {
            bail!("calibration: no request got an answer");
        }
        let elapsed = outcome.elapsed.as_secs_f64();
        rate = outcome.latencies_ns.len() as f64 / elapsed;
        if elapsed >= 0.5 {
            break;
        }
        count = ((rate * 0.6).ceil() as u64).clamp(count, 200_000);
    }
    Ok(rate)
}

/// Opens one connection per worker, then starts the clock and sends every request (or until
/// `deadline`), each worker taking the next signed request from the shared queue; with `rate`,
/// request n waits for its moment `n / rate` after the start.
async fn drive(
    target: &Target,
    requests: Vec<Request<Full<Bytes>>>,
    concurrency: u32,
    deadline: Option<Duration>,
    rate: Option<f64>,
) -> anyhow::Result<Outcome> {
    let mut connections = Vec::new();
    for _ in 0..concurrency {
        connections.push(connect(&target.authority).await?);
    }
    let queue = std::sync::Arc::new(Mutex::new(requests.into_iter().enumerate()));
    let health = target.endpoint == BenchEndpoint::Health;
    let start = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for sender in connections {
        let queue = queue.clone();
        workers.spawn(worker(sender, queue, start, deadline, health, rate));
    }
    let mut outcome = Outcome::default();
    while let Some(result) = workers.join_next().await {
        let part = result.context("a worker panicked")?;
        outcome.latencies_ns.extend(part.latencies_ns);
        for (code, n) in part.codes {
            *outcome.codes.entry(code).or_default() += n;
        }
        outcome.transport_errors += part.transport_errors;
        outcome.first_error = outcome.first_error.or(part.first_error);
    }
    outcome.elapsed = start.elapsed();
    Ok(outcome)
}

type Queue = std::sync::Arc<Mutex<std::iter::Enumerate<std::vec::IntoIter<Request<Full<Bytes>>>>>>;

async fn connect(authority: &str) -> anyhow::Result<SendRequest<Full<Bytes>>> {
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .with_context(|| format!("cannot connect to {authority}"))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    Ok(sender)
}

async fn worker(
    mut sender: SendRequest<Full<Bytes>>,
    queue: Queue,
    start: Instant,
    deadline: Option<Duration>,
    health: bool,
    rate: Option<f64>,
) -> Outcome {
    let mut outcome = Outcome::default();
    loop {
        if deadline.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        let Some((n, request)) = queue.lock().ok().and_then(|mut q| q.next()) else {
            break;
        };
        let sent = match rate {
            Some(rate) => {
                let due = start + Duration::from_secs_f64(n as f64 / rate);
                tokio::time::sleep_until(due.into()).await;
                due
            }
            None => Instant::now(),
        };
        let answer = async {
            sender.ready().await?;
            let response = sender.send_request(request).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, hyper::Error>((status, body))
        }
        .await;
        match answer {
            Ok((status, body)) => {
                outcome.latencies_ns.push(sent.elapsed().as_nanos() as u64);
                let code = if health {
                    status.to_string()
                } else {
                    response_code(&body).unwrap_or_else(|| format!("HTTP {status}"))
                };
                *outcome.codes.entry(code).or_default() += 1;
            }
            Err(error) => {
                outcome.transport_errors += 1;
                outcome.first_error.get_or_insert_with(|| error.to_string());
                // The connection is gone (or unusable): stop this worker.
                break;
            }
        }
    }
    outcome
}

/// The `responseCode` of a SNAP answer, found without parsing the whole (maybe large) body.
fn response_code(body: &[u8]) -> Option<String> {
    const KEY: &[u8] = b"\"responseCode\"";
    let at = body.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let rest = &body[at..];
    let open = rest.iter().position(|&b| b == b'"')?;
    if !rest[..open]
        .iter()
        .all(|&b| b == b':' || b.is_ascii_whitespace())
    {
        return None;
    }
    let value = &rest[open + 1..];
    let close = value.iter().position(|&b| b == b'"')?;
    std::str::from_utf8(&value[..close]).ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::response_code;

    #[test]
    fn the_response_code_is_found_without_parsing() {
        let body =
            br#"{"responseCode" : "2009000","responseMessage":"Successful","dataDetail":[]}"#;
        assert_eq!(response_code(body).as_deref(), Some("2009000"));
        assert_eq!(response_code(b"{}"), None);
        assert_eq!(response_code(br#"{"responseCode":1,"x":"y"}"#), None);
    }
}
