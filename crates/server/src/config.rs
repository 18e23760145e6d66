//! The server's settings (CONTRACT §3 "Settings"), independent of how the CLI gathers them,
//! and the ranges they must lie in (CONTRACT §8: checked at start, before anything listens).

use crate::notify::RetrySchedule;
use rustls_pki_types::CertificateDer;
use snapqris_protocol::SignatureTolerance;
use std::time::Duration;

/// Everything that shapes how the API answers.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Allowed distance of `X-TIMESTAMP` from the server clock.
    pub timestamp_window: Duration,
    /// Access-token lifetime.
    pub token_ttl: Duration,
    /// Which body variants a transaction signature may cover.
    pub signature_tolerance: SignatureTolerance,
    /// Whether `X-CHANNEL-ID` / `CHANNEL-ID` is mandatory.
    pub require_channel_id: bool,
    /// A prefix the API is served under (`/snap`), part of the signed path; empty for none.
    pub path_prefix: String,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Longest a request may take before it is answered `504xx00`.
    pub request_timeout: Duration,
    /// Requests per second per partner; 0 turns the limit off.
    pub rate_limit: u32,
    /// `X-EXTERNAL-ID` claims per partner per Jakarta day; 0 is off (CONTRACT §6.5).
    pub daily_claim_limit: u32,
    /// Default life of a dynamic QR.
    pub dynamic_validity: Duration,
    /// Largest amount a QR may carry, in sen.
    pub max_amount_sen: i64,
    /// How long after a payment it may be refunded (CONTRACT §6.5 `refund-window`).
    pub refund_window: Duration,
    /// Tag 26 sub-tag 00 of generated payloads.
    pub acquirer_domain: String,
    /// The acquirer's NNS, the first 8 digits of merchant PANs.
    pub acquirer_nns: String,
    /// How long one notification attempt may take, connecting included (CONTRACT §6.5).
    pub notify_timeout: Duration,
    /// The delays before each retry of a notification.
    pub notify_retry_schedule: RetrySchedule,
    /// Whether attempts may reach loopback and private addresses.
    pub notify_allow_private_networks: bool,
    /// Extra CA certificates trusted for `https` callbacks (`notify-ca-file`, read with
    /// [`crate::read_ca_file`]), beside the bundled roots.
    pub notify_ca_certificates: Vec<CertificateDer<'static>>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            timestamp_window: Duration::from_secs(300),
            token_ttl: Duration::from_secs(900),
            signature_tolerance: SignatureTolerance::Lenient,
            require_channel_id: false,
            path_prefix: String::new(),
            body_limit: 65_536,
            request_timeout: Duration::from_secs(10),
            rate_limit: 0,
            daily_claim_limit: 0,
            dynamic_validity: Duration::from_secs(1800),
            max_amount_sen: 1_000_000_000,
            refund_window: Duration::from_secs(2_592_000),
            acquirer_domain: "ID.CO.SNAPQRIS.WWW".to_owned(),
            acquirer_nns: "93600999".to_owned(),
            notify_timeout: Duration::from_secs(10),
            notify_retry_schedule: RetrySchedule::default(),
            notify_allow_private_networks: false,
            notify_ca_certificates: Vec::new(),
        }
    }
}

/// The longest any duration setting may be: ten years (of 365.25 days). Beyond it time
/// arithmetic (a token's expiry, a QR's validity, their Jakarta dates) could overflow, and no
/// deployment means it.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(315_576_000);

/// The largest `max-amount`: 9999999999.99, the largest amount whose every smaller amount fits
/// in QR tag 54's 13 characters (`10000000000.01` would need 14).
pub(crate) const MAX_AMOUNT_SEN: i64 = 999_999_999_999;

/// A setting outside its range; `Display` is the one line the CLI prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{setting} {value} is out of range: {range}")]
pub struct ConfigError {
    setting: &'static str,
    value: String,
    range: &'static str,
}

impl ServerConfig {
    /// Refuses values the server could not honour: a duration of zero or beyond ten years, a
    /// body limit of zero, a `max-amount` that is not positive or that tag 54 cannot carry.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let durations = [
            ("timestamp-window", self.timestamp_window),
            ("token-ttl", self.token_ttl),
            ("request-timeout", self.request_timeout),
            ("dynamic-validity", self.dynamic_validity),
            ("notify-timeout", self.notify_timeout),
            ("refund-window", self.refund_window),
        ];
        for (setting, value) in durations {
            if value.is_zero() || value > MAX_DURATION {
                return Err(ConfigError {
                    setting,
                    value: format!("{} s", value.as_secs()),
                    range: "1 s to ten years (315576000 s)",
                });
            }
        }
        if self.body_limit == 0 {
            return Err(ConfigError {
                setting: "body-limit",
                value: "0".to_owned(),
                range: "at least 1 byte",
            });
        }
        if !(1..=MAX_AMOUNT_SEN).contains(&self.max_amount_sen) {
            return Err(ConfigError {
                setting: "max-amount",
                value: snapqris_protocol::Amount::from_sen(self.max_amount_sen).to_string(),
                range: "0.01 to 9999999999.99 (a QR's amount holds 13 characters)",
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_in_range() {
        assert_eq!(ServerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn a_duration_of_zero_or_beyond_ten_years_is_refused() {
        for (value, ok) in [
            (Duration::ZERO, false),
            (Duration::from_secs(1), true),
            (MAX_DURATION, true),
            (MAX_DURATION + Duration::from_secs(1), false),
            (Duration::from_secs(u64::MAX), false),
        ] {
            let configs = [
                ServerConfig {
                    timestamp_window: value,
                    ..Default::default()
                },
                ServerConfig {
                    token_ttl: value,
                    ..Default::default()
                },
                ServerConfig {
                    request_timeout: value,
                    ..Default::default()
                },
                ServerConfig {
                    dynamic_validity: value,
                    ..Default::default()
                },
                ServerConfig {
                    notify_timeout: value,
                    ..Default::default()
                },
            ];
            for config in configs {
                assert_eq!(config.validate().is_ok(), ok, "{value:?}");
            }
        }
        let error = ServerConfig {
            token_ttl: Duration::from_secs(u64::MAX),
            ..Default::default()
        }
        .validate()
        .unwrap_err();
        assert!(error.to_string().starts_with("token-ttl "), "{error}");
    }

    #[test]
    fn the_longest_validity_still_has_a_jakarta_date() {
        let now = time::OffsetDateTime::now_utc();
        let expires = now + MAX_DURATION;
        assert!(snapqris_protocol::format_rfc3339_jakarta(expires).starts_with('2'));
    }

    #[test]
    fn a_max_amount_tag_54_cannot_carry_is_refused() {
        for (sen, ok) in [
            (0, false),
            (1, true),
            (MAX_AMOUNT_SEN, true),
            (MAX_AMOUNT_SEN + 1, false),
            (i64::MAX, false),
        ] {
            let config = ServerConfig {
                max_amount_sen: sen,
                ..Default::default()
            };
            assert_eq!(config.validate().is_ok(), ok, "{sen}");
        }
        // The largest amount fits tag 54; one sen past the next rupiah does not.
        assert!(snapqris_qris::format_amount(MAX_AMOUNT_SEN).is_ok());
        assert!(snapqris_qris::format_amount(MAX_AMOUNT_SEN + 2).is_err());
    }

    #[test]
    fn a_body_limit_of_zero_is_refused() {
        let config = ServerConfig {
            body_limit: 0,
            ..Default::default()
        };
        assert!(config.validate().is_err());
    }
}
