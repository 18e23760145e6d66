//! What a bench run saw, and its summary in text or JSON.

use super::BenchArgs;
use serde_json::json;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the workers saw.
#[derive(Default)]
pub(super) struct Outcome {
    pub(super) elapsed: Duration,
    pub(super) latencies_ns: Vec<u64>,
    pub(super) codes: BTreeMap<String, u64>,
    pub(super) transport_errors: u64,
    pub(super) first_error: Option<String>,
}

/// The figures of one run.
pub(super) struct Summary {
    endpoint: &'static str,
    concurrency: u32,
    signed: u64,
    signing_s: f64,
    requests: u64,
    elapsed_s: f64,
    rps: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
    mean: f64,
    codes: BTreeMap<String, u64>,
    transport_errors: u64,
    first_error: Option<String>,
}

impl Summary {
    pub(super) fn new(args: &BenchArgs, outcome: &Outcome, signed: u64, signing: Duration) -> Self {
        let mut sorted = outcome.latencies_ns.clone();
        sorted.sort_unstable();
        let ms = |ns: u64| ns as f64 / 1e6;
        let pct = |p: f64| -> f64 {
            if sorted.is_empty() {
                return 0.0;
            }
            // Nearest rank.
            let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
            ms(sorted[rank.clamp(1, sorted.len()) - 1])
        };
        let answered = sorted.len() as u64;
        let elapsed_s = outcome.elapsed.as_secs_f64();
        Summary {
            endpoint: args.endpoint.name(),
            concurrency: args.concurrency,
            signed,
            signing_s: signing.as_secs_f64(),
            requests: answered + outcome.transport_errors,
            elapsed_s,
            rps: if elapsed_s > 0.0 {
                answered as f64 / elapsed_s
            } else {
                0.0
            },
            p50: pct(50.0),
            p90: pct(90.0),
            p99: pct(99.0),
            max: sorted.last().copied().map_or(0.0, ms),
            mean: if answered == 0 {
                0.0
            } else {
                ms(sorted.iter().sum::<u64>()) / answered as f64
            },
            codes: outcome.codes.clone(),
            transport_errors: outcome.transport_errors,
            first_error: outcome.first_error.clone(),
        }
    }

    pub(super) fn json(&self) -> serde_json::Value {
        let round = |x: f64| (x * 1000.0).round() / 1000.0;
        json!({
            "endpoint": self.endpoint,
            "concurrency": self.concurrency,
            "requests": self.requests,
            "elapsed_seconds": round(self.elapsed_s),
            "requests_per_second": round(self.rps),
            "latency_ms": {
                "p50": round(self.p50),
                "p90": round(self.p90),
                "p99": round(self.p99),
                "max": round(self.max),
                "mean": round(self.mean),
            },
            "codes": self.codes,
            "transport_errors": self.transport_errors,
            "first_error": self.first_error,
            "signed": self.signed,
            "signing_seconds": round(self.signing_s),
        })
    }

    pub(super) fn text(&self) -> String {
        let mut out = format!(
            "endpoint {}: {} requests, concurrency {}, {:.3} s ({} signed in {:.2} s before the clock)\n\
             requests/s  {:.1}\n\
             latency ms  p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}  mean {:.3}\n",
            self.endpoint,
            self.requests,
            self.concurrency,
            self.elapsed_s,
            self.signed,
            self.signing_s,
            self.rps,
            self.p50,
            self.p90,
            self.p99,
            self.max,
            self.mean,
        );
        for (code, n) in &self.codes {
            out.push_str(&format!("code {code}  {n}\n"));
        }
        if self.transport_errors > 0 {
            out.push_str(&format!(
                "transport errors  {} (first: {})\n",
                self.transport_errors,
                self.first_error.as_deref().unwrap_or("")
            ));
        }
        out.trim_end().to_owned()
    }
}
