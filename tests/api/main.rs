//! End-to-end tests: the real server on a temporary database, called over HTTP with signed
//! requests. One binary (ripgrep's `tests/tests.rs` idea); a module per concern.
//!
//! Every test runs against SQLite; when `SNAPQRIS_TEST_DATABASE_URL` names a PostgreSQL
//! server, `on_each_backend!` runs each test on a fresh PostgreSQL database as well.

pub(crate) use snapqris_test_support::on_each_backend;

/// Helpers: spawning the app, registering partners and merchants, signing requests.
mod support;

/// Service 73: tokens.
mod token;

/// Service 47: generating QR codes.
mod generate;

/// Service 90: the seed, every row of CONTRACT §4.3's code table.
mod generate_list;

/// Services 51 and 93: query and expire.
mod query_expire;

/// Health, metrics, OpenAPI and the docs page.
mod operations;

/// The request log: one request id on every line of a request, failures with their causes.
mod logs;

/// Real clients' habits: body-hash variants, timestamp forms, header spellings, prefixes.
mod interop;

/// Refusals that must never crash, answer 5xx, or change stored data.
mod bad_input;

/// The `snapqris` binary: admin commands, settings, serve, demo and client.
mod cli;

/// `admin qr pay` (sandbox payments) and `qr decode|render` (QR images).
mod cli_qr;

/// Service 50: payments reported by payer partners.
mod payment;

/// Services 78 and 77: refunds and cancels.
mod refund;

/// `snapqris bench`: signed load against a `serve` process.
mod bench;

/// Races: one X-EXTERNAL-ID, one partnerReferenceNo or many generates sent at once.
mod concurrency;

/// Several `serve` processes on one database: shared tokens, claims, operator changes, migrations.
mod nodes;

/// `kill -9` under load loses no acknowledged QR; SIGTERM finishes in-flight requests.
mod crash;

/// Secrets at rest: the master key, `admin rekey`, owner-only SQLite files.
mod secrets;

/// Slow clients, oversized header blocks, shutdown mid-request, secrets in logs, the handler fuzz corpus.
mod abuse;

/// `notify listen` and the notification signature (CONTRACT §6.2).
mod notify;

/// A scriptable partner receiver for the delivery tests (plain and TLS).
mod receiver;

/// The operator console: operator commands, and every page and action in a real browser.
mod console;
/// Notification delivery by `serve`: signatures, retries, SSRF, https, `kill -9`, two nodes.
mod notify_delivery;
