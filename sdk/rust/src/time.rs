//! RFC 3339 timestamps (`2025-01-02T03:04:05Z`), the usual form of cursors
//! and of `format: date-time` fields, to and from milliseconds since the Unix
//! epoch (the unit of `emitted_at`).

use chrono::{DateTime, SecondsFormat, Utc};

use crate::Error;

/// `millis` as RFC 3339 in UTC, with milliseconds only when it has some:
/// `2025-01-02T03:04:05Z`, `2025-01-02T03:04:05.120Z`.
pub fn rfc3339_from_millis(millis: i64) -> String {
    match DateTime::<Utc>::from_timestamp_millis(millis) {
        Some(t) if millis % 1000 == 0 => t.to_rfc3339_opts(SecondsFormat::Secs, true),
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Millis, true),
        None => format!("{millis} ms (out of range)"),
    }
}

/// The instant of an RFC 3339 timestamp (any offset), in milliseconds since
/// the Unix epoch; a system error naming the text when it is not one.
pub fn millis_from_rfc3339(text: &str) -> Result<i64, Error> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.timestamp_millis())
        .map_err(|e| {
            Error::system(format!(
                "`{text}` is not an RFC 3339 timestamp (such as 2025-01-02T03:04:05Z): {e}"
            ))
        })
}

/// Now, as RFC 3339 in UTC.
pub fn now_rfc3339() -> String {
    rfc3339_from_millis(crate::now_millis())
}

/// Whether RFC 3339 timestamp `a` is after `b`, compared as instants (so
/// `2025-01-01T01:00:00+01:00` is not after `2025-01-01T00:00:00Z`).
pub fn is_after(a: &str, b: &str) -> Result<bool, Error> {
    Ok(millis_from_rfc3339(a)? > millis_from_rfc3339(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn millis_and_rfc3339_round_trip() {
        assert_eq!(
            rfc3339_from_millis(1_735_689_600_000),
            "2025-01-01T00:00:00Z"
        );
        assert_eq!(
            rfc3339_from_millis(1_735_689_600_120),
            "2025-01-01T00:00:00.120Z"
        );
        assert_eq!(
            millis_from_rfc3339("2025-01-01T00:00:00Z").unwrap(),
            1_735_689_600_000
        );
        assert_eq!(
            millis_from_rfc3339("2025-01-01T01:00:00.5+01:00").unwrap(),
            1_735_689_600_500
        );
    }

    #[test]
    fn instants_compare_across_offsets_and_bad_text_is_named() {
        assert!(!is_after("2025-01-01T01:00:00+01:00", "2025-01-01T00:00:00Z").unwrap());
        assert!(is_after("2025-01-01T00:00:01Z", "2025-01-01T00:00:00Z").unwrap());
        let e = millis_from_rfc3339("yesterday").unwrap_err();
        assert!(
            e.message
                .contains("`yesterday` is not an RFC 3339 timestamp"),
            "{}",
            e.message
        );
    }
}
