//! Saves each state's cursor in local time (UTC+2) without a zone,
//! {"updated_at": "2020-01-01T18:40:00"} for a record at 16:40Z, and reads
//! it back as local time: right by its own reckoning, but anyone else reads
//! the cursor as UTC, two hours ahead. Caught by
//! incremental/second_read_respects_state, whose fix names the missing zone.
//!
//! ctest: fails incremental/second_read_respects_state
//! ctest: fails incremental/sequential_slices
//! ctest: says record index 0 of stream `users` in the second read (from the state {"updated_at":"2020-01-01T18:40:00"}) has `updated_at` "2020-01-01T16:40:00Z", before the state's cursor
//! ctest: says fix: streams `users`, `products`, `purchases`: a date-time without a time zone is read as UTC
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config};
use chrono::{DateTime, Duration, NaiveDateTime};
use faker::Faker;
use serde_json::{Value, json};

const LOCAL: Duration = Duration::hours(2);
const FORMAT: &str = "%Y-%m-%dT%H:%M:%S";

/// `2020-01-01T16:40:00Z` -> `2020-01-01T18:40:00` (far-future cursors as they are).
fn to_local(cursor: &str) -> String {
    match DateTime::parse_from_rfc3339(cursor) {
        Ok(t) if t.naive_utc().and_utc().timestamp() < 200_000_000_000 => {
            (t.naive_utc() + LOCAL).format(FORMAT).to_string()
        }
        _ => cursor.to_string(),
    }
}

/// `2020-01-01T18:40:00` -> `2020-01-01T16:40:00Z`.
fn from_local(cursor: &str) -> String {
    match NaiveDateTime::parse_from_str(cursor, FORMAT) {
        Ok(t) => format!("{}Z", (t - LOCAL).format(FORMAT)),
        Err(_) => cursor.to_string(),
    }
}

fn map_cursor(state: &Value, f: fn(&str) -> String) -> Value {
    match state.get("updated_at").and_then(Value::as_str) {
        Some(c) => json!({ "updated_at": f(c) }),
        None => state.clone(),
    }
}

struct LocalTime;
impl Defect for LocalTime {
    fn read(config: &Value, catalog: ConfiguredCatalog, state: State) -> Result<Messages, Error> {
        let mut utc = State::default();
        for s in &catalog.streams {
            if let Some(v) = state.get(&s.name) {
                utc.insert(&s.name, map_cursor(v, from_local));
            }
        }
        let messages = Faker::read(faker_config(config)?, catalog, utc)?;
        Ok(Box::new(messages.map(|m| match m {
            Ok(Message::State { stream, data }) => {
                let v: Value = serde_json::from_str(&data).expect("faker's state is JSON");
                Ok(Message::State {
                    stream,
                    data: map_cursor(&v, to_local).to_string(),
                })
            }
            other => other,
        })))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<LocalTime>);
