//! `X-TIMESTAMP`: strict RFC 3339 parsing, the freshness window, and the client-side stamp.

use std::fmt;

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use crate::jakarta::JAKARTA;

/// Why an `X-TIMESTAMP` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    /// Not RFC 3339 (`T` separator, `Z` or `±HH:MM`, 1–9 fraction digits), no such
    /// calendar date or time of day, or an instant outside years 0000–9999 in UTC or Jakarta.
    #[error("timestamp is not RFC 3339")]
    Malformed,
    /// Well formed, but further from the server's clock than the allowed window.
    #[error("timestamp is outside the allowed window")]
    OutsideWindow,
}

/// A parsed `X-TIMESTAMP` header: the bytes as sent (they go into the string to sign
/// unchanged) and the instant they name.
///
/// Accepts RFC 3339 with a `T` separator, a `Z` or `±HH:MM` offset and an optional fraction of
/// 1–9 digits: `2024-03-15T10:20:30+07:00`, `2024-03-15T10:20:30.123+07:00`,
/// `2024-03-15T03:20:30.123Z`. Refuses `+0700`, a space separator, lower-case `t`/`z`, a
/// missing offset, trailing bytes, impossible dates (`2024-02-30`), hours over 23, leap
/// seconds (`:60`), and instants outside years 0000–9999 in UTC or in Jakarta
/// (`9999-12-31T23:59:59-23:59`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XTimestamp {
    raw: String,
    instant: OffsetDateTime,
}

impl XTimestamp {
    /// The syntax [`Self::parse`] accepts, as an ECMA-262 regular expression for the API
    /// documentation; `parse` also refuses dates and times that do not exist.
    pub const PATTERN: &'static str = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})$";

    /// Parses an `X-TIMESTAMP` header value.
    pub fn parse(raw: &str) -> Result<Self, TimestampError> {
        let (instant, rest) = parse_date_time(raw.as_bytes(), OffsetSyntax::Rfc3339)
            .ok_or(TimestampError::Malformed)?;
        if !rest.is_empty() || !has_utc_and_jakarta_faces(instant) {
            return Err(TimestampError::Malformed);
        }
        Ok(Self {
            raw: raw.to_owned(),
            instant,
        })
    }

    /// The header value exactly as sent.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The instant the timestamp names.
    pub fn instant(&self) -> OffsetDateTime {
        self.instant
    }

    /// `Err(OutsideWindow)` when the timestamp lies more than `window` before or after `now`.
    pub fn check_window(
        &self,
        now: OffsetDateTime,
        window: time::Duration,
    ) -> Result<(), TimestampError> {
        if (self.instant - now).abs() > window {
            Err(TimestampError::OutsideWindow)
        } else {
            Ok(())
        }
    }

    /// What a client sends: `t` in +07:00 to whole seconds, e.g. `2024-03-15T10:20:30+07:00`.
    pub fn from_instant_jakarta(t: OffsetDateTime) -> Self {
        let raw = crate::jakarta::format_rfc3339_jakarta(t);
        let instant = t.to_offset(JAKARTA).replace_nanosecond(0).unwrap_or(t);
        Self { raw, instant }
    }
}

impl fmt::Display for XTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl AsRef<str> for XTimestamp {
    fn as_ref(&self) -> &str {
        &self.raw
    }
}

/// Whether the instant reads as a date in years 0000–9999 both in UTC and in Jakarta. `time`
/// keeps the offset as written, so `9999-12-31T23:59:59-23:59` parses to an instant whose
/// UTC face lies in year 10000: converting it (to store it, to find its Jakarta day, to show
/// it) would panic, and a year-0000 instant would be shown as `-001-…`.
fn has_utc_and_jakarta_faces(instant: OffsetDateTime) -> bool {
    [UtcOffset::UTC, JAKARTA].into_iter().all(|offset| {
        instant
            .checked_to_offset(offset)
            .is_some_and(|face| (0..=9999).contains(&face.year()))
    })
}

/// Which offset spellings a date-time may use.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OffsetSyntax {
    /// `Z` or `±HH:MM` only.
    Rfc3339,
    /// Also ISO 8601's basic `±HHMM` (accepted for `dateGenerate`, not for headers).
    Iso8601,
}

/// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]offset` from the start of `s`; returns the instant
/// and the unparsed rest.
pub(crate) fn parse_date_time(s: &[u8], offsets: OffsetSyntax) -> Option<(OffsetDateTime, &[u8])> {
    let (date, s) = parse_date(s)?;
    let s = s.strip_prefix(b"T")?;
    let (hour, s) = digits(s, 2)?;
    let s = s.strip_prefix(b":")?;
    let (minute, s) = digits(s, 2)?;
    let s = s.strip_prefix(b":")?;
    let (second, mut s) = digits(s, 2)?;
    let mut nanos = 0u32;
    if let Some(rest) = s.strip_prefix(b".") {
        let len = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if !(1..=9).contains(&len) {
            return None;
        }
        let (value, rest) = digits(rest, len)?;
        nanos = value * 10u32.pow(9 - len as u32);
        s = rest;
    }
    let time = Time::from_hms_nano(
        u8::try_from(hour).ok()?,
        u8::try_from(minute).ok()?,
        u8::try_from(second).ok()?,
        nanos,
    )
    .ok()?;
    let (offset, rest) = parse_offset(s, offsets)?;
    Some((
        PrimitiveDateTime::new(date, time).assume_offset(offset),
        rest,
    ))
}

/// Parses `YYYY-MM-DD` from the start of `s`, validating the calendar.
pub(crate) fn parse_date(s: &[u8]) -> Option<(Date, &[u8])> {
    let (year, s) = digits(s, 4)?;
    let s = s.strip_prefix(b"-")?;
    let (month, s) = digits(s, 2)?;
    let s = s.strip_prefix(b"-")?;
    let (day, s) = digits(s, 2)?;
    let month = Month::try_from(u8::try_from(month).ok()?).ok()?;
    let date =
        Date::from_calendar_date(i32::try_from(year).ok()?, month, u8::try_from(day).ok()?).ok()?;
    Some((date, s))
}

fn parse_offset(s: &[u8], syntax: OffsetSyntax) -> Option<(UtcOffset, &[u8])> {
    if let Some(rest) = s.strip_prefix(b"Z") {
        return Some((UtcOffset::UTC, rest));
    }
    let (sign, s) = match s.first()? {
        b'+' => (1i8, &s[1..]),
        b'-' => (-1i8, &s[1..]),
        _ => return None,
    };
    let (hours, s) = digits(s, 2)?;
    let s = match (s.strip_prefix(b":"), syntax) {
        (Some(rest), _) => rest,
        (None, OffsetSyntax::Iso8601) => s,
        (None, OffsetSyntax::Rfc3339) => return None,
    };
    let (minutes, s) = digits(s, 2)?;
    if hours > 23 || minutes > 59 {
        return None;
    }
    let offset = UtcOffset::from_hms(
        sign * i8::try_from(hours).ok()?,
        sign * i8::try_from(minutes).ok()?,
        0,
    )
    .ok()?;
    Some((offset, s))
}

/// Reads exactly `n` ASCII digits (n ≤ 9).
fn digits(s: &[u8], n: usize) -> Option<(u32, &[u8])> {
    let head = s.get(..n)?;
    if !head.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let value = head
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some((value, &s[n..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn the_usual_jakarta_form_is_accepted() {
        let ts = XTimestamp::parse("2024-03-15T10:20:30+07:00").unwrap();
        assert_eq!(ts.instant(), datetime!(2024-03-15 03:20:30 UTC));
        assert_eq!(ts.as_str(), "2024-03-15T10:20:30+07:00");
    }

    #[test]
    fn milliseconds_utc_and_nanoseconds_are_accepted() {
        let ms = XTimestamp::parse("2024-03-15T10:20:30.123+07:00").unwrap();
        assert_eq!(ms.instant(), datetime!(2024-03-15 03:20:30.123 UTC));
        let utc = XTimestamp::parse("2024-03-15T03:20:30.123Z").unwrap();
        assert_eq!(utc.instant(), ms.instant());
        let nanos = XTimestamp::parse("2024-03-15T03:20:30.123456789Z").unwrap();
        assert_eq!(
            nanos.instant(),
            datetime!(2024-03-15 03:20:30.123456789 UTC)
        );
        let negative = XTimestamp::parse("2024-03-14T22:20:30-05:00").unwrap();
        assert_eq!(negative.instant(), datetime!(2024-03-15 03:20:30 UTC));
    }

    /// Forms refused for their syntax alone, which [`XTimestamp::PATTERN`] refuses too.
    const WRONG_SYNTAX: [&str; 7] = [
        "2024-03-15T10:20:30+0700",
        "2024-03-15 10:20:30+07:00",
        "2024-03-15t10:20:30+07:00",
        "2024-03-15T10:20:30z",
        "2024-03-15T10:20:30",
        "2024-03-15T10:20:30.1234567890Z",
        "2024-03-15T10:20:30+07:00 ",
    ];

    #[test]
    fn the_pattern_matches_every_accepted_form_and_refuses_the_wrong_syntax() {
        let pattern = regex::Regex::new(XTimestamp::PATTERN).unwrap();
        for good in [
            "2024-03-15T10:20:30+07:00",
            "2024-03-15T03:20:30.123Z",
            "2024-03-15T03:20:30.123456789Z",
            "2024-03-14T22:20:30-05:00",
        ] {
            assert!(XTimestamp::parse(good).is_ok(), "{good}");
            assert!(pattern.is_match(good), "{good}");
        }
        for bad in WRONG_SYNTAX {
            assert!(!pattern.is_match(bad), "{bad}");
        }
    }

    #[test]
    fn non_rfc3339_forms_are_malformed() {
        for bad in WRONG_SYNTAX.into_iter().chain([
            "",
            "2024-03-15T10:20:30.Z",
            "2024-03-15T10:20:30+07:00x",
            "2024-02-30T10:20:30+07:00",
            "2023-02-29T10:20:30+07:00",
            "2024-13-01T10:20:30+07:00",
            "2024-03-15T24:00:00+07:00",
            "2024-03-15T10:60:00+07:00",
            "2024-03-15T10:20:60+07:00",
            "2024-03-15T10:20:30+24:00",
            "2024-03-15T10:20+07:00",
            "24-03-15T10:20:30+07:00",
            "2024-3-15T10:20:30+07:00",
            "2024-03-15T10:20:30+07",
        ]) {
            assert_eq!(
                XTimestamp::parse(bad),
                Err(TimestampError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_leap_day_is_a_valid_date() {
        assert!(XTimestamp::parse("2024-02-29T23:59:59+07:00").is_ok());
    }

    #[test]
    fn an_instant_past_year_9999_or_before_year_0000_in_utc_or_jakarta_is_malformed() {
        // Found writing the `timestamp` fuzz target (which now checks it): these parsed, then
        // converting them to UTC or Jakarta time panicked.
        for bad in [
            "9999-12-31T23:59:59-23:59",
            "9999-12-31T23:00:00Z",
            "9999-12-31T20:00:00+03:00",
            "0000-01-01T00:00:00+23:59",
            "0000-01-01T06:59:59+07:00",
        ] {
            assert_eq!(
                XTimestamp::parse(bad),
                Err(TimestampError::Malformed),
                "{bad:?}"
            );
        }
        for ok in ["9999-12-31T16:59:59Z", "0000-01-01T00:00:00Z"] {
            let ts = XTimestamp::parse(ok).unwrap();
            assert!(crate::JakartaDate::of_instant(ts.instant()).date().year() >= 0);
            assert!(!crate::format_rfc3339_jakarta(ts.instant()).starts_with('-'));
        }
    }

    #[test]
    fn the_window_holds_on_both_sides_of_now() {
        let now = datetime!(2024-03-15 03:20:30 UTC);
        let window = time::Duration::seconds(300);
        let at = |s: &str| XTimestamp::parse(s).unwrap().check_window(now, window);
        assert_eq!(at("2024-03-15T10:20:30+07:00"), Ok(()));
        assert_eq!(at("2024-03-15T10:25:30+07:00"), Ok(()));
        assert_eq!(at("2024-03-15T10:15:30+07:00"), Ok(()));
        assert_eq!(
            at("2024-03-15T10:25:31+07:00"),
            Err(TimestampError::OutsideWindow)
        );
        assert_eq!(
            at("2024-03-15T10:15:29+07:00"),
            Err(TimestampError::OutsideWindow)
        );
        // A client stamping +07:00 on a UTC clock is seven hours off.
        assert_eq!(
            at("2024-03-15T03:20:30+07:00"),
            Err(TimestampError::OutsideWindow)
        );
    }

    #[test]
    fn a_client_stamp_is_jakarta_time_to_whole_seconds() {
        let ts = XTimestamp::from_instant_jakarta(datetime!(2024-03-15 03:20:30.987 UTC));
        assert_eq!(ts.as_str(), "2024-03-15T10:20:30+07:00");
        assert_eq!(ts.instant(), datetime!(2024-03-15 03:20:30 UTC));
        assert_eq!(XTimestamp::parse(ts.as_str()).unwrap(), ts);
    }
}
