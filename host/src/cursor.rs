//! Cursor values: where a cursor is in a record or a state, and how two values
//! compare, by the type the stream's schema gives the cursor field.

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime};
use serde_json::Value;

use crate::checks::doc::{Kind, Tree};
use crate::schema;

/// How a cursor field's values compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CursorKind {
    Integer,
    Number,
    /// RFC 3339, and the lenient forms Airbyte accepts (a space for `T`, no zone
    /// meaning UTC, a bare date meaning its midnight).
    DateTime,
    Date,
    /// Compared as strings.
    Text,
}

/// A parsed cursor value.
#[derive(Debug, Clone, PartialEq)]
enum Parsed {
    Number(f64),
    /// Seconds and nanoseconds since the Unix epoch.
    Instant(i64, u32),
    Text(String),
}

impl CursorKind {
    /// The kind of the cursor field at `path` in a stream's schema.
    pub fn of(stream_schema: &Value, path: &[String]) -> CursorKind {
        let Some(field) = schema::field_schema(stream_schema, path) else {
            return CursorKind::Text;
        };
        let types = schema::declared_types(field);
        let format = field.get("format").and_then(Value::as_str);
        if types.contains(&"integer") {
            CursorKind::Integer
        } else if types.contains(&"number") {
            CursorKind::Number
        } else if format == Some("date-time") {
            CursorKind::DateTime
        } else if format == Some("date") {
            CursorKind::Date
        } else {
            CursorKind::Text
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            CursorKind::Integer => "integer",
            CursorKind::Number => "number",
            CursorKind::DateTime => "date-time",
            CursorKind::Date => "date",
            CursorKind::Text => "string",
        }
    }

    fn parse<'a>(self, value: impl Tree<'a>) -> Result<Parsed, String> {
        let bad = || format!("{} is not a {} cursor value", value.to_value(), self.name());
        match (self, value.kind()) {
            (CursorKind::Integer | CursorKind::Number, Kind::Number(n)) => {
                n.as_f64().map(Parsed::Number).ok_or_else(bad)
            }
            (CursorKind::Integer | CursorKind::Number, Kind::Str(s)) => s
                .trim()
                .parse::<f64>()
                .map(Parsed::Number)
                .map_err(|_| bad()),
            (CursorKind::DateTime | CursorKind::Date, Kind::Str(s)) => parse_instant(s)
                .map(|(secs, nanos)| Parsed::Instant(secs, nanos))
                .ok_or_else(bad),
            (CursorKind::Text, Kind::Str(s)) => Ok(Parsed::Text(s.to_owned())),
            (CursorKind::Text, _) => Ok(Parsed::Text(value.to_value().to_string())),
            _ => Err(bad()),
        }
    }

    /// How `a` compares to `b`; `Err` when either is not a value of this kind.
    pub fn compare(self, a: &Value, b: &Value) -> Result<Ordering, String> {
        let (a, b) = (self.parse(a)?, self.parse(b)?);
        Ok(match (a, b) {
            (Parsed::Number(x), Parsed::Number(y)) => x.total_cmp(&y),
            (Parsed::Instant(s1, n1), Parsed::Instant(s2, n2)) => (s1, n1).cmp(&(s2, n2)),
            (Parsed::Text(x), Parsed::Text(y)) => x.cmp(&y),
            _ => unreachable!("one kind parses to one variant"),
        })
    }

    /// A fixed-size rank of a cursor value that orders as [`CursorKind::compare`]
    /// does, for numbers and instants (`None` for text, or a value not of
    /// this kind): kept per key without keeping the value.
    pub(crate) fn rank<'a>(self, value: impl Tree<'a>) -> Option<(i64, u32)> {
        if let (CursorKind::DateTime, Kind::Str(text)) = (self, value.kind())
            && let Some(instant) = utc_instant(text)
        {
            return Some(instant);
        }
        match self.parse(value).ok()? {
            Parsed::Instant(secs, nanos) => Some((secs, nanos)),
            Parsed::Number(x) => {
                // f64's total order as an integer's.
                let bits = x.to_bits() as i64;
                Some((bits ^ (((bits >> 63) as u64) >> 1) as i64, 0))
            }
            Parsed::Text(_) => None,
        }
    }

    /// A value far past any real data, for the "abnormally large state" test.
    pub fn far_future(self) -> Value {
        match self {
            CursorKind::Integer => Value::from(9_007_199_254_740_991i64),
            CursorKind::Number => Value::from(9.0e15),
            CursorKind::DateTime => Value::from("9999-12-31T23:59:59Z"),
            CursorKind::Date => Value::from("9999-12-31"),
            CursorKind::Text => Value::from("\u{10FFFF}"),
        }
    }
}

/// Seconds and nanoseconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS[.f]Z`,
/// the form most cursors take, without a general parser; `None` for any
/// other form (then [`parse_instant`] decides).
fn utc_instant(s: &str) -> Option<(i64, u32)> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        b[r].iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, m, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hh, mm, ss) = (num(11..13)?, num(14..16)?, num(17..19)?);
    // A leap second (`:60`) is left to the parser, which ranks it as the
    // last second of its minute.
    if hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    if !is_calendar_day(y, m, d) {
        return None;
    }
    let (frac, zone) = match b[19] {
        b'Z' if b.len() == 20 => (0u32, 20),
        b'.' => {
            let digits = b[20..].iter().take_while(|c| c.is_ascii_digit()).count();
            if digits == 0 || digits > 9 || b.len() != 21 + digits || b[20 + digits] != b'Z' {
                return None;
            }
            let n = num(20..20 + digits)? * 10i64.pow(9 - digits as u32);
            (n as u32, 21 + digits)
        }
        _ => return None,
    };
    debug_assert_eq!(zone, b.len());
    // Days from the civil date (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some((days * 86_400 + hh * 3600 + mm * 60 + ss, frac))
}

/// Whether day `d` of month `m` of year `y` (0 to 9999) is on the
/// proleptic Gregorian calendar, as chrono's dates are.
fn is_calendar_day(y: i64, m: i64, d: i64) -> bool {
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&d)
}

/// Whether `s` is a date-time as the `date-time` format of a record's schema
/// takes it: RFC 3339 or a lenient form [`parse_instant`] reads, with a time
/// of day. The usual `YYYY-MM-DDTHH:MM:SS[.f]Z` is told without a parser.
pub fn is_date_time(s: &str) -> bool {
    utc_instant(s).is_some() || (parse_instant(s).is_some() && s.contains(['T', 't', ' ']))
}

/// Whether `s` is a calendar date `YYYY-MM-DD` (the `date` format): the
/// usual all-digit form told without a parser.
pub fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 {
        return false;
    }
    let digits = |r: std::ops::Range<usize>| {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    if b[4] == b'-'
        && b[7] == b'-'
        && let (Some(y), Some(m), Some(d)) = (digits(0..4), digits(5..7), digits(8..10))
    {
        return NaiveDate::from_ymd_opt(y as i32, m, d).is_some();
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok()
}

/// Seconds and nanoseconds since the Unix epoch of a date-time in RFC 3339 or a
/// lenient form (a space for `T`, no zone meaning UTC, a bare date).
pub fn parse_instant(s: &str) -> Option<(i64, u32)> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some((t.timestamp(), t.timestamp_subsec_nanos()));
    }
    let with_t = s.replacen(' ', "T", 1);
    if let Ok(t) = DateTime::parse_from_rfc3339(&with_t) {
        return Some((t.timestamp(), t.timestamp_subsec_nanos()));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(&with_t, format) {
            let utc = t.and_utc();
            return Some((utc.timestamp(), utc.timestamp_subsec_nanos()));
        }
    }
    let date = NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()?;
    Some((date.and_hms_opt(0, 0, 0)?.and_utc().timestamp(), 0))
}

/// Whether a date-time names its time zone (`Z` or an offset); a lenient
/// form without one is read as UTC.
pub fn has_zone(s: &str) -> bool {
    let s = s.trim();
    utc_instant(s).is_some()
        || DateTime::parse_from_rfc3339(s).is_ok()
        || DateTime::parse_from_rfc3339(&s.replacen(' ', "T", 1)).is_ok()
}

/// Where the cursor is in a stream's state: at the cursor field's path, or
/// under its last name at the top level.
pub fn in_state<'a>(state: &'a Value, cursor: &[String]) -> Option<&'a Value> {
    schema::value_at(state, cursor).or_else(|| state.get(cursor.last()?))
}

/// `state` with its cursor replaced by `value` (added under the cursor's name
/// when the state has none).
pub fn with_cursor(state: &Value, cursor: &[String], value: Value) -> Value {
    match cursor.last() {
        Some(last) if schema::value_at(state, cursor).is_none() => {
            with_value_at(state, std::slice::from_ref(last), value)
        }
        _ => with_value_at(state, cursor, value),
    }
}

/// `state` with `value` at `path` (field names from the root), the objects on
/// the way created or replaced as needed: a far-future state for a state of
/// the connector's own shape (`cursor_paths`).
pub fn with_value_at(state: &Value, path: &[String], value: Value) -> Value {
    let mut out = if state.is_object() {
        state.clone()
    } else {
        Value::Object(Default::default())
    };
    let mut slot = &mut out;
    for name in path {
        if !slot.is_object() {
            *slot = Value::Object(Default::default());
        }
        slot = slot
            .as_object_mut()
            .expect("made an object above")
            .entry(name.clone())
            .or_insert(Value::Null);
    }
    *slot = value;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fast_utc_form_agrees_with_the_parser() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2024-02-29T23:59:59Z",
            "2000-03-01T00:00:00.5Z",
            "1999-12-31T12:34:56.123456789Z",
            "2100-01-01T00:00:00Z",
        ] {
            assert_eq!(utc_instant(text), parse_instant(text), "{text}");
        }
        for other in [
            "2024-01-01T00:00:00+02:00",
            "2024-01-01 00:00:00Z",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-04-31T00:00:00Z",
            "2024-01-01T23:59:60Z",
        ] {
            assert_eq!(utc_instant(other), None, "{other}");
        }
    }

    /// The formats' quick answers are the parsers' answers: strings made by
    /// changing characters of date-times and dates at random (digits,
    /// separators, zones, spaces) are judged alike with and without them.
    #[test]
    fn the_quick_formats_agree_with_the_parsers() {
        let slow_date_time = |s: &str| parse_instant(s).is_some() && s.contains(['T', 't', ' ']);
        let slow_date = |s: &str| s.len() == 10 && NaiveDate::parse_from_str(s, "%Y-%m-%d").is_ok();
        let alphabet = b"0123456789012345678901239-:.TZtz +\x00";
        let mut next = crate::test_random(0x2545_f491_4f6c_dd1du64);
        let (mut date_times, mut dates) = (0, 0);
        for template in [
            "2024-02-29T23:59:59Z",
            "2000-12-31T00:00:00.123456Z",
            "1999-01-01T12:30:45+02:00",
            "2024-02-29",
            "0000-01-01",
        ] {
            for _ in 0..20_000 {
                let mut b = template.as_bytes().to_vec();
                for _ in 0..=(next() % 2) {
                    let at = (next() % b.len() as u64) as usize;
                    b[at] = alphabet[(next() % alphabet.len() as u64) as usize];
                }
                let s = String::from_utf8(b).unwrap();
                assert_eq!(is_date_time(&s), slow_date_time(&s), "date-time {s:?}");
                assert_eq!(is_date(&s), slow_date(&s), "date {s:?}");
                date_times += usize::from(is_date_time(&s));
                dates += usize::from(is_date(&s));
            }
        }
        // Both answers occur: the strings reach either side of each check.
        assert!(date_times > 10_000 && dates > 5_000, "{date_times} {dates}");
    }

    /// The calendar rule of the quick date-time form is chrono's: every
    /// year, month and day around the valid ones.
    #[test]
    fn calendar_days_are_chronos_days() {
        for y in 0..=2500 {
            for m in -1..=13 {
                for d in -1..=32 {
                    let chrono = u32::try_from(m)
                        .ok()
                        .zip(u32::try_from(d).ok())
                        .and_then(|(m, d)| NaiveDate::from_ymd_opt(y as i32, m, d))
                        .is_some();
                    assert_eq!(is_calendar_day(y, m, d), chrono, "{y}-{m}-{d}");
                }
            }
        }
    }
    use serde_json::json;

    #[test]
    fn date_times_compare_as_instants_across_zones_and_lenient_forms() {
        let k = CursorKind::DateTime;
        let cmp = |a: &str, b: &str| k.compare(&json!(a), &json!(b)).unwrap();
        assert_eq!(
            cmp("2024-01-01T10:00:00+02:00", "2024-01-01T08:00:00Z"),
            Ordering::Equal
        );
        assert_eq!(
            cmp("2024-01-01 08:00:01", "2024-01-01T08:00:00Z"),
            Ordering::Greater
        );
        assert_eq!(cmp("2024-01-01", "2023-12-31T23:59:59Z"), Ordering::Greater);
        assert_eq!(
            cmp("2024-01-01T08:00:00.5Z", "2024-01-01T08:00:00.25Z"),
            Ordering::Greater
        );
        assert!(
            k.compare(&json!("yesterday"), &json!("2024-01-01"))
                .is_err()
        );
    }

    #[test]
    fn numbers_compare_numerically_not_as_text() {
        let k = CursorKind::Integer;
        assert_eq!(k.compare(&json!(10), &json!(9)).unwrap(), Ordering::Greater);
        assert_eq!(
            k.compare(&json!("10"), &json!(9)).unwrap(),
            Ordering::Greater
        );
        assert_eq!(
            CursorKind::Text.compare(&json!("10"), &json!("9")).unwrap(),
            Ordering::Less
        );
    }

    #[test]
    fn kinds_come_from_the_schema() {
        let schema = json!({"properties": {
            "n": {"type": ["null", "integer"]}, "x": {"type": "number"},
            "t": {"type": "string", "format": "date-time"}, "d": {"type": "string", "format": "date"},
            "s": {"type": "string"}
        }});
        let kind = |f: &str| CursorKind::of(&schema, &[f.to_string()]);
        assert_eq!(
            ["n", "x", "t", "d", "s"].map(kind),
            [
                CursorKind::Integer,
                CursorKind::Number,
                CursorKind::DateTime,
                CursorKind::Date,
                CursorKind::Text
            ]
        );
    }

    #[test]
    fn cursor_in_state_and_replacing_it() {
        let path = vec!["updated_at".to_string()];
        let state = json!({"updated_at": "2024-01-01", "page": 3});
        assert_eq!(in_state(&state, &path), Some(&json!("2024-01-01")));
        let future = with_cursor(&state, &path, json!("9999-12-31"));
        assert_eq!(future, json!({"updated_at": "9999-12-31", "page": 3}));
        assert_eq!(
            with_cursor(&json!(null), &path, json!(1)),
            json!({"updated_at": 1})
        );
        let own = vec!["checkpoint".to_string(), "position".to_string()];
        assert_eq!(
            with_value_at(
                &json!({"checkpoint": {"position": 3, "page": 1}, "v": 2}),
                &own,
                json!(9)
            ),
            json!({"checkpoint": {"position": 9, "page": 1}, "v": 2})
        );
        assert_eq!(
            with_value_at(&json!({"checkpoint": 5}), &own, json!(9)),
            json!({"checkpoint": {"position": 9}})
        );
    }
}
