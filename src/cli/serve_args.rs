//! The flags of `serve`: every setting of CONTRACT §3's and §6.5's tables (kept apart from
//! `args.rs`, which holds the other commands).

use crate::cli::args::parse_amount;
use clap::{Args, ValueEnum};
use serde::{Deserialize, Serialize};
use snapqris_protocol::Amount;

/// `serve`: every setting of CONTRACT §3's table. Each is optional here so that a missing
/// flag falls back to its variable, then the file, then the default (see `settings.rs`).
#[derive(Debug, Args)]
pub(crate) struct ServeArgs {
    /// Address to serve on [default: 127.0.0.1:8080]
    #[arg(long, env = "SNAPQRIS_LISTEN", value_name = "ADDR")]
    pub(crate) listen: Option<String>,
    /// Allowed distance of X-TIMESTAMP from the server clock, in seconds [default: 300]
    #[arg(long, env = "SNAPQRIS_TIMESTAMP_WINDOW", value_name = "SECONDS")]
    pub(crate) timestamp_window: Option<u64>,
    /// Access-token lifetime in seconds [default: 900]
    #[arg(long, env = "SNAPQRIS_TOKEN_TTL", value_name = "SECONDS")]
    pub(crate) token_ttl: Option<u64>,
    /// strict: only the whitespace-stripped body hash [default: lenient]
    #[arg(long, env = "SNAPQRIS_SIGNATURE_TOLERANCE", value_name = "MODE")]
    pub(crate) signature_tolerance: Option<Tolerance>,
    /// Make the channel header mandatory [default: false]
    #[arg(long, env = "SNAPQRIS_REQUIRE_CHANNEL_ID", value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) require_channel_id: Option<bool>,
    /// Serve the API under a prefix (/snap → /snap/v1.0/…), signed with it [default: none]
    #[arg(long, env = "SNAPQRIS_PATH_PREFIX", value_name = "PREFIX")]
    pub(crate) path_prefix: Option<String>,
    /// Largest request body in bytes [default: 65536]
    #[arg(long, env = "SNAPQRIS_BODY_LIMIT", value_name = "BYTES")]
    pub(crate) body_limit: Option<usize>,
    /// Slower requests are answered 504xx00, in seconds [default: 10]
    #[arg(long, env = "SNAPQRIS_REQUEST_TIMEOUT", value_name = "SECONDS")]
    pub(crate) request_timeout: Option<u64>,
    /// Requests per second per partner; 0 is off [default: 0]
    #[arg(long, env = "SNAPQRIS_RATE_LIMIT", value_name = "PER_SECOND")]
    pub(crate) rate_limit: Option<u32>,
    /// X-EXTERNAL-ID claims per partner per Jakarta day; 0 is off [default: 0]
    #[arg(long, env = "SNAPQRIS_DAILY_CLAIM_LIMIT", value_name = "CLAIMS")]
    pub(crate) daily_claim_limit: Option<u32>,
    /// Default life of a dynamic QR in seconds [default: 1800]
    #[arg(long, env = "SNAPQRIS_DYNAMIC_VALIDITY", value_name = "SECONDS")]
    pub(crate) dynamic_validity: Option<u64>,
    /// Largest amount a QR may carry [default: 10000000.00]
    #[arg(long, env = "SNAPQRIS_MAX_AMOUNT", value_name = "AMOUNT", value_parser = parse_amount)]
    pub(crate) max_amount: Option<Amount>,
    /// How long after a payment it may be refunded, in seconds [default: 2592000]
    #[arg(long, env = "SNAPQRIS_REFUND_WINDOW", value_name = "SECONDS")]
    pub(crate) refund_window: Option<u64>,
    /// Tag 26 reverse-domain id [default: ID.CO.SNAPQRIS.WWW]
    #[arg(long, env = "SNAPQRIS_ACQUIRER_DOMAIN", value_name = "DOMAIN")]
    pub(crate) acquirer_domain: Option<String>,
    /// The acquirer's NNS, 8 digits [default: 93600999]
    #[arg(long, env = "SNAPQRIS_ACQUIRER_NNS", value_name = "NNS")]
    pub(crate) acquirer_nns: Option<String>,
    /// Log line format on stderr [default: text]
    #[arg(long, env = "SNAPQRIS_LOG_FORMAT", value_name = "FORMAT")]
    pub(crate) log_format: Option<LogFormat>,
    /// power: fsync on every commit [default: process]
    #[arg(long, env = "SNAPQRIS_DURABILITY", value_name = "LEVEL")]
    pub(crate) durability: Option<DurabilityArg>,
    /// How long one notification attempt may take, in seconds [default: 10]
    #[arg(long, env = "SNAPQRIS_NOTIFY_TIMEOUT", value_name = "SECONDS")]
    pub(crate) notify_timeout: Option<u64>,
    /// Delays in seconds before each retry of a notification
    /// [default: 5,300,1800,7200,18000,36000,36000]
    #[arg(long, env = "SNAPQRIS_NOTIFY_RETRY_SCHEDULE", value_name = "SECONDS,…")]
    pub(crate) notify_retry_schedule: Option<String>,
    /// Let notification attempts reach loopback and private addresses [default: false]
    #[arg(long, env = "SNAPQRIS_NOTIFY_ALLOW_PRIVATE_NETWORKS", value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true", value_parser = clap::builder::BoolishValueParser::new())]
    pub(crate) notify_allow_private_networks: Option<bool>,
    /// PEM file of extra CA certificates trusted for https callbacks [default: none]
    #[arg(long, env = "SNAPQRIS_NOTIFY_CA_FILE", value_name = "FILE")]
    pub(crate) notify_ca_file: Option<String>,
    /// Serve the operator console on this address too (an operations network) [default: none]
    #[arg(long, env = "SNAPQRIS_CONSOLE_LISTEN", value_name = "ADDR")]
    pub(crate) console_listen: Option<String>,
    /// Print the effective settings as TOML (secrets masked) and exit.
    #[arg(long)]
    pub(crate) print_config: bool,
}

/// Which body variants a transaction signature may cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Tolerance {
    /// Only the whitespace-stripped body.
    Strict,
    /// Raw, whitespace-stripped or re-serialised body.
    Lenient,
}

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Crash durability of commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DurabilityArg {
    /// Survives a crash of the process.
    Process,
    /// Also survives power loss (fsync on every commit).
    Power,
}
