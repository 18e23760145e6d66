//! `bench --endpoint sign`: how many notification signatures one core makes per second.
//!
//! Every delivery attempt signs its string-to-sign with the RSA-2048 notification key
//! (CONTRACT §6.2), so this rate is the physical limit of one core's deliveries; `bench/run.sh`
//! sets the delivery throughput measured in the same run against it.

use super::BenchArgs;
use crate::cli::show::say;
use anyhow::Context;
use serde_json::json;
use snapqris_protocol::{RsaPrivateKey, XTimestamp, sign_notification};
use std::process::ExitCode;
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// A notification body of the usual size.
const BODY: &[u8] = br#"{"originalReferenceNo":"123456789012345678","originalPartnerReferenceNo":"ref-1","latestTransactionStatus":"00","transactionStatusDesc":"Success","amount":{"value":"9000.00","currency":"IDR"},"additionalInfo":{"notificationId":"123456789012345679","eventType":"payment","paymentId":"123456789012345680","merchantId":"M1","paidTime":"2026-11-25T15:00:00+07:00"}}"#;

/// Signs on this thread for `--duration` seconds (default 3) and prints the rate.
pub(super) fn run(args: &BenchArgs) -> anyhow::Result<ExitCode> {
    let seconds = args.duration.unwrap_or(3.0);
    anyhow::ensure!(
        seconds > 0.0 && seconds <= 600.0,
        "--duration must lie in (0, 600] seconds"
    );
    let key = RsaPrivateKey::generate().context("cannot generate an RSA-2048 key")?;
    let timestamp = XTimestamp::from_instant_jakarta(OffsetDateTime::now_utc());
    let limit = Duration::from_secs_f64(seconds);
    let start = Instant::now();
    let mut signed = 0u64;
    while start.elapsed() < limit {
        let signature = sign_notification(&key, "/v1.0/qr/qr-mpm-notify", BODY, timestamp.as_str());
        std::hint::black_box(signature);
        signed += 1;
    }
    let per_second = signed as f64 / start.elapsed().as_secs_f64();
    if args.json {
        say!(
            "{}",
            json!({"endpoint": "sign", "signatures": signed, "per_second": per_second})
        )?;
    } else {
        say!("sign: {signed} RSA-2048 signatures on one thread, {per_second:.0}/s")?;
    }
    Ok(ExitCode::SUCCESS)
}
