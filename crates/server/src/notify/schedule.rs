//! When a failed notification is tried again (CONTRACT §6.2): after failed attempt n of a
//! round, attempt n+1 starts `delay[n]` (±20 % jitter) after attempt n ended; a longer
//! `Retry-After` on a 429 or 503 replaces the delay, up to twice it; past the last delay the
//! notification has failed. One pure function, [`RetrySchedule::after_failure`], that tests
//! call directly (Svix's `calculate_retry_delay`).

use std::fmt;
use std::time::{Duration, SystemTime};

/// The default `notify-retry-schedule`, in seconds: 8 attempts in all.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5,300,1800,7200,18000,36000,36000";

/// How far a delay is moved at random, either way, so that notifications failed together
/// (a receiver's outage) do not all come back at the same instant.
const JITTER: f64 = 0.2;

/// The longest delay accepted: ten years, like every other duration setting.
const MAX_DELAY: Duration = crate::config::MAX_DURATION;

/// The delays before each retry of a round, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

/// Why a text is not a retry schedule; `Display` is the one line the CLI prints.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("notify-retry-schedule {text:?}: {why}")]
pub struct RetryScheduleError {
    text: String,
    why: String,
}

/// What follows a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NextAttempt {
    /// Try again this long after the failed attempt ended.
    After(Duration),
    /// That was the last attempt of the round: the notification has failed.
    GiveUp,
}

impl RetrySchedule {
    /// Parses comma-separated whole seconds (`5,300,1800`); spaces around a number are allowed.
    /// An empty text is a schedule without retries (one attempt, then failed).
    pub fn parse(text: &str) -> Result<RetrySchedule, RetryScheduleError> {
        let refuse = |why: String| RetryScheduleError {
            text: text.to_owned(),
            why,
        };
        if text.trim().is_empty() {
            return Ok(RetrySchedule(Vec::new()));
        }
        text.split(',')
            .map(|item| {
                let item = item.trim();
                let seconds: u64 = item
                    .parse()
                    .ok()
                    .filter(|_| item.bytes().all(|b| b.is_ascii_digit()))
                    .ok_or_else(|| {
                        refuse(format!(
                            "{item:?} is not a whole number of seconds (0 or more)"
                        ))
                    })?;
                let delay = Duration::from_secs(seconds);
                if delay > MAX_DELAY {
                    return Err(refuse(format!("{seconds} s is longer than ten years")));
                }
                Ok(delay)
            })
            .collect::<Result<_, _>>()
            .map(RetrySchedule)
    }

    /// The delays, in order.
    pub fn delays(&self) -> &[Duration] {
        &self.0
    }

    /// What follows the failure of an attempt that had `round_attempts` attempts of its round
    /// before it (0 for the first). `retry_after` is the receiver's `Retry-After` on a 429 or
    /// 503 (the caller ignores it on other statuses); `jitter` is a random number in
    /// `[-1, 1]` scaling the ±20 %.
    ///
    /// A `Retry-After` longer than the jittered delay replaces it, capped at twice the
    /// scheduled delay; it is not jittered, since the receiver asked for no earlier.
    pub fn after_failure(
        &self,
        round_attempts: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> NextAttempt {
        let Some(&delay) = usize::try_from(round_attempts)
            .ok()
            .and_then(|n| self.0.get(n))
        else {
            return NextAttempt::GiveUp;
        };
        let jitter = if jitter.is_finite() {
            jitter.clamp(-1.0, 1.0)
        } else {
            0.0
        };
        let jittered = delay.mul_f64(1.0 + JITTER * jitter);
        match retry_after {
            Some(asked) if asked > jittered => NextAttempt::After(asked.min(delay * 2)),
            _ => NextAttempt::After(jittered),
        }
    }
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule::parse(DEFAULT_RETRY_SCHEDULE).expect("the default schedule parses")
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, delay) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{}", delay.as_secs())?;
        }
        Ok(())
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): whole seconds, or an HTTP date (how long from
/// `now`; a date already past is zero). `None` when it is neither.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Absurdly many digits still mean "a long time": the schedule caps it anyway.
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// A random number in `[-1, 1]` for [`RetrySchedule::after_failure`].
pub(crate) fn random_jitter() -> f64 {
    let mut bytes = [0_u8; 8];
    // A failing system generator only loses the spread: no jitter is still a valid delay.
    if aws_lc_rs::rand::fill(&mut bytes).is_err() {
        return 0.0;
    }
    let unit = (u64::from_le_bytes(bytes) >> 11) as f64 / (1_u64 << 53) as f64;
    unit * 2.0 - 1.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn the_default_schedule_makes_eight_attempts_then_gives_up() {
        let schedule = RetrySchedule::default();
        assert_eq!(schedule.to_string(), DEFAULT_RETRY_SCHEDULE);
        let expected = [5, 300, 1800, 7200, 18000, 36000, 36000];
        for (n, delay) in expected.into_iter().enumerate() {
            assert_eq!(
                schedule.after_failure(n as u32, None, 0.0),
                NextAttempt::After(secs(delay)),
                "after attempt {}",
                n + 1
            );
        }
        assert_eq!(schedule.after_failure(7, None, 0.0), NextAttempt::GiveUp);
        assert_eq!(
            schedule.after_failure(u32::MAX, None, 0.0),
            NextAttempt::GiveUp
        );
    }

    #[test]
    fn jitter_moves_the_delay_by_at_most_twenty_percent() {
        let schedule = RetrySchedule::parse("100").unwrap();
        assert_eq!(
            schedule.after_failure(0, None, -1.0),
            NextAttempt::After(secs(80))
        );
        assert_eq!(
            schedule.after_failure(0, None, 1.0),
            NextAttempt::After(secs(120))
        );
        assert_eq!(
            schedule.after_failure(0, None, 7.0),
            NextAttempt::After(secs(120)),
            "clamped"
        );
        assert_eq!(
            schedule.after_failure(0, None, f64::NAN),
            NextAttempt::After(secs(100))
        );
    }

    #[test]
    fn a_longer_retry_after_replaces_the_delay_up_to_twice_it() {
        let schedule = RetrySchedule::parse("100").unwrap();
        let after = |asked| schedule.after_failure(0, Some(secs(asked)), 0.0);
        assert_eq!(after(150), NextAttempt::After(secs(150)));
        assert_eq!(after(1000), NextAttempt::After(secs(200)), "capped at 2×");
        assert_eq!(after(10), NextAttempt::After(secs(100)), "shorter: ignored");
        assert_eq!(
            schedule.after_failure(1, Some(secs(150)), 0.0),
            NextAttempt::GiveUp,
            "no retry is left to delay"
        );
    }

    #[test]
    fn a_schedule_is_whole_seconds_separated_by_commas() {
        assert_eq!(
            RetrySchedule::parse(" 1, 2 ,3").unwrap().delays(),
            [secs(1), secs(2), secs(3)]
        );
        assert!(RetrySchedule::parse("").unwrap().delays().is_empty());
        assert_eq!(RetrySchedule::parse("0").unwrap().delays(), [secs(0)]);
        for bad in ["-5", "1,,2", "1.5", "5s", "abc", "+5", "1,2,", "315576001"] {
            let error = RetrySchedule::parse(bad).unwrap_err();
            assert!(
                error.to_string().starts_with("notify-retry-schedule "),
                "{error}"
            );
        }
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = SystemTime::UNIX_EPOCH + secs(1_784_000_000);
        assert_eq!(parse_retry_after("120", now), Some(secs(120)));
        assert_eq!(parse_retry_after(" 7 ", now), Some(secs(7)));
        let later = httpdate::fmt_http_date(now + secs(90));
        assert_eq!(parse_retry_after(&later, now), Some(secs(90)));
        let earlier = httpdate::fmt_http_date(now - secs(90));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-3", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn random_jitter_stays_within_one_either_way() {
        for _ in 0..1000 {
            let jitter = random_jitter();
            assert!((-1.0..=1.0).contains(&jitter), "{jitter}");
        }
    }

    proptest! {
        #[test]
        fn every_retry_lies_within_the_jitter_or_the_retry_after_cap(
            delays in proptest::collection::vec(0_u64..100_000, 0..10),
            round in 0_u32..12,
            asked in proptest::option::of(0_u64..1_000_000),
            jitter in -1.0_f64..=1.0,
        ) {
            let text = delays.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
            let schedule = RetrySchedule::parse(&text).unwrap();
            prop_assert_eq!(schedule.to_string(), text);
            match schedule.after_failure(round, asked.map(secs), jitter) {
                NextAttempt::GiveUp => prop_assert!(round as usize >= delays.len()),
                NextAttempt::After(wait) => {
                    let delay = secs(delays[round as usize]);
                    prop_assert!(wait >= delay.mul_f64(0.8));
                    prop_assert!(wait <= (delay * 2).max(delay.mul_f64(1.2)));
                    if asked.is_none() {
                        prop_assert!(wait <= delay.mul_f64(1.2));
                    }
                }
            }
        }
    }
}
