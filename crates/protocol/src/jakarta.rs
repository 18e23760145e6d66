//! Asia/Jakarta (UTC+07:00, no daylight saving) clock faces and business days.

use std::fmt;

use time::{Date, OffsetDateTime, Time, UtcOffset};

use crate::fields::FieldError;
use crate::timestamp::{OffsetSyntax, parse_date, parse_date_time};

/// Asia/Jakarta's offset, +07:00; Indonesia has had no daylight saving since 1964.
pub const JAKARTA: UtcOffset = time::macros::offset!(+7);

/// `2024-05-15 14:20:49`: `t` in Jakarta local time, whole seconds (truncated). The form of
/// `generate_time` and `expired_date` in the generate-list answer.
pub fn format_jakarta_local(t: OffsetDateTime) -> String {
    let mut text = String::with_capacity(19);
    push_jakarta_local(&mut text, t);
    text
}

/// Appends [`format_jakarta_local`]'s text to `out`, without the formatting machinery (the
/// generate-list answer writes two per item).
pub fn push_jakarta_local(out: &mut String, t: OffsetDateTime) {
    let Some(t) = t.checked_to_offset(JAKARTA) else {
        // Past the end of the calendar `time` knows: shown as it is rather than panicking.
        out.push_str(&t.to_string());
        return;
    };
    let year = t.year();
    if !(0..=9999).contains(&year) {
        let (hour, minute, second) = t.to_hms();
        out.push_str(&format!(
            "{} {hour:02}:{minute:02}:{second:02}",
            DateFace(t.date())
        ));
        return;
    }
    let year = year as u32;
    let fields = [
        (year / 100) as u8,
        (year % 100) as u8,
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    ];
    let separators = ["", "", "-", "-", " ", ":", ":"];
    for (value, separator) in fields.into_iter().zip(separators) {
        out.push_str(separator);
        out.push(char::from(b'0' + value / 10));
        out.push(char::from(b'0' + value % 10));
    }
}

/// `2024-05-15T14:20:49+07:00`: `t` as RFC 3339 in +07:00, whole seconds (truncated).
pub fn format_rfc3339_jakarta(t: OffsetDateTime) -> String {
    let t = t.to_offset(JAKARTA);
    format!(
        "{}T{:02}:{:02}:{:02}+07:00",
        DateFace(t.date()),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Shows a date as `YYYY-MM-DD`.
struct DateFace(Date);

impl fmt::Display for DateFace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(
            f,
            "{:04}-{:02}-{:02}",
            d.year(),
            u8::from(d.month()),
            d.day()
        )
    }
}

/// The Asia/Jakarta business day a request names (`dateGenerate`), or the one an instant
/// falls on.
///
/// [`JakartaDate::parse`] takes the date *as written*: `2024-03-15T23:00:00Z` names
/// 2024-03-15, not the Jakarta day that instant falls on (CONTRACT §4.3).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct JakartaDate(Date);

impl JakartaDate {
    /// Parses `dateGenerate`: an ISO 8601 date-time with offset (`2024-03-15T00:00:00+07:00`,
    /// `…Z`, `….123+07:00`, `…+0700`) or a plain `2024-03-15`. The whole string is validated
    /// (`2024-02-30`, `25:00` are refused). Errors name the field `dateGenerate`: empty is
    /// `Missing`, anything else unparsable is `InvalidFormat`.
    pub fn parse(date_generate: &str) -> Result<Self, FieldError> {
        const FIELD: &str = "dateGenerate";
        if date_generate.is_empty() {
            return Err(FieldError::missing(FIELD));
        }
        let bytes = date_generate.as_bytes();
        let date = if bytes.len() == 10 {
            parse_date(bytes)
                .filter(|(_, rest)| rest.is_empty())
                .map(|(d, _)| d)
        } else {
            parse_date_time(bytes, OffsetSyntax::Iso8601)
                .filter(|(_, rest)| rest.is_empty())
                // The date as written: the local date before any offset conversion.
                .map(|(t, _)| t.date())
        };
        date.map(Self).ok_or_else(|| FieldError::invalid(FIELD))
    }

    /// The Jakarta day `t` falls on.
    pub fn of_instant(t: OffsetDateTime) -> Self {
        Self(t.to_offset(JAKARTA).date())
    }

    /// Wraps a calendar date.
    pub fn from_date(d: Date) -> Self {
        Self(d)
    }

    /// The calendar date.
    pub fn date(self) -> Date {
        self.0
    }

    /// `[start, end)` of the day as UTC instants: 00:00+07:00 up to the next day's 00:00+07:00.
    pub fn bounds(self) -> (OffsetDateTime, OffsetDateTime) {
        // At the edges of `time`'s range one face of an instant may not exist: the UTC face of
        // -9999-01-01 00:00+07:00, the +07:00 face of the midnight after 9999-12-31. Take the
        // UTC face when there is one and add the day there; the instants are the same.
        let utc = |t: OffsetDateTime| t.checked_to_offset(UtcOffset::UTC).unwrap_or(t);
        let start = utc(self.0.with_time(Time::MIDNIGHT).assume_offset(JAKARTA));
        let end = utc(start + time::Duration::DAY);
        (start, end)
    }
}

impl fmt::Display for JakartaDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        DateFace(self.0).fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fields::FieldErrorKind;
    use time::macros::{date, datetime};

    #[test]
    fn date_generate_accepts_the_seed_form_and_a_plain_date() {
        for ok in [
            "2024-03-15T00:00:00+07:00",
            "2024-03-15",
            "2024-03-15T00:00:00.000+07:00",
            "2024-03-15T00:00:00Z",
            "2024-03-15T23:00:00Z",
            "2024-03-15T01:00:00-05:00",
            "2024-03-15T00:00:00+0700",
        ] {
            let day = JakartaDate::parse(ok).unwrap();
            assert_eq!(day.date(), date!(2024 - 03 - 15), "{ok}");
        }
    }

    #[test]
    fn date_generate_refuses_impossible_or_partial_values() {
        for bad in [
            "2024-02-30",
            "2024-02-30T00:00:00+07:00",
            "2024-03-15T25:00:00+07:00",
            "2024-03-15T00:00:00",
            "2024-03-15 00:00:00+07:00",
            "15-03-2024",
            "2024/03/15",
            "2024-03-15x",
            "2024-03-15T00:00:00+07:00 ",
            "yesterday",
        ] {
            let err = JakartaDate::parse(bad).unwrap_err();
            assert_eq!(err.kind(), FieldErrorKind::InvalidFormat, "{bad}");
            assert_eq!(err.field(), "dateGenerate");
        }
    }

    #[test]
    fn an_empty_date_generate_is_missing() {
        let err = JakartaDate::parse("").unwrap_err();
        assert_eq!(err.kind(), FieldErrorKind::Missing);
        assert_eq!(err.field(), "dateGenerate");
    }

    #[test]
    fn an_instant_falls_on_its_jakarta_day() {
        let late_utc = datetime!(2024-03-15 17:00 UTC);
        assert_eq!(
            JakartaDate::of_instant(late_utc).date(),
            date!(2024 - 03 - 16)
        );
        let early_utc = datetime!(2024-03-15 16:59:59 UTC);
        assert_eq!(
            JakartaDate::of_instant(early_utc).date(),
            date!(2024 - 03 - 15)
        );
    }

    #[test]
    fn a_day_spans_jakarta_midnight_to_midnight() {
        let (start, end) = JakartaDate::from_date(date!(2024 - 03 - 15)).bounds();
        assert_eq!(start, datetime!(2024-03-14 17:00 UTC));
        assert_eq!(end, datetime!(2024-03-15 17:00 UTC));
        assert_eq!(start.offset(), UtcOffset::UTC);
        assert_eq!(
            JakartaDate::from_date(date!(2024 - 03 - 15)).to_string(),
            "2024-03-15"
        );
    }

    #[test]
    fn the_days_at_the_edges_of_the_calendar_have_bounds() {
        // Found writing the `timestamp` fuzz target (which now checks it): `9999-12-31` parsed,
        // then `bounds` panicked adding a day to 9999-12-31 00:00+07:00.
        let last = JakartaDate::parse("9999-12-31").unwrap();
        assert_eq!(
            last.bounds(),
            (
                datetime!(9999-12-30 17:00 UTC),
                datetime!(9999-12-31 17:00 UTC)
            )
        );
        let (start, end) = JakartaDate::from_date(Date::MIN).bounds();
        assert_eq!(end - start, time::Duration::DAY);
        assert_eq!(
            JakartaDate::of_instant(start),
            JakartaDate::from_date(Date::MIN)
        );
    }

    #[test]
    fn times_are_shown_on_the_jakarta_clock() {
        let t = datetime!(2024-05-15 07:20:49.999 UTC);
        assert_eq!(format_jakarta_local(t), "2024-05-15 14:20:49");
        assert_eq!(format_rfc3339_jakarta(t), "2024-05-15T14:20:49+07:00");
    }

    #[test]
    fn the_digit_writer_agrees_with_the_formatter_on_every_kind_of_instant() {
        let reference = |t: OffsetDateTime| {
            let t = t.to_offset(JAKARTA);
            let (hour, minute, second) = t.to_hms();
            format!("{} {hour:02}:{minute:02}:{second:02}", DateFace(t.date()))
        };
        let mut instants = vec![
            datetime!(0000-01-01 00:00 +07:00),
            datetime!(0009-09-09 09:09:09 UTC),
            datetime!(1999-12-31 16:59:59 UTC),
            datetime!(2024-02-29 23:59:59.999 +07:00),
            datetime!(9999-12-31 16:59:59 UTC),
            // Outside four-digit years: the fallback path.
            datetime!(-0001-06-01 00:00 UTC),
        ];
        // One instant every 997,001 seconds from 1970 to 2100: every field takes many values.
        let mut t = datetime!(1970-01-01 00:00 UTC);
        while t.year() < 2100 {
            instants.push(t);
            t += time::Duration::seconds(997_001);
        }
        for t in instants {
            assert_eq!(format_jakarta_local(t), reference(t), "{t}");
        }
        // Jakarta's clock would leave the calendar: no panic.
        assert!(!format_jakarta_local(datetime!(9999-12-31 17:00 UTC)).is_empty());
    }
}
