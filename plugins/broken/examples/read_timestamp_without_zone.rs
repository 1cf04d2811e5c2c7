//! `users.created_at` says it carries a time zone (`airbyte_type:
//! timestamp_with_timezone`), but one record's has none (a form the lenient
//! `date-time` format accepts). Caught by basic_read/records_match_schema.
//!
//! ctest: fails basic_read/records_match_schema
//! ctest: says record index 4 of stream `users`
//! ctest: says `timestamp_with_timezone` value must carry its time zone
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records, stream_mut};

struct NoZone;
impl Defect for NoZone {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        let users = stream_mut(&mut streams, "users");
        users.json_schema["properties"]["created_at"]["airbyte_type"] =
            json!("timestamp_with_timezone");
        streams
    }
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            if r["id"] == json!(5) {
                r["created_at"] = json!("2024-03-01T10:00:00");
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NoZone>);
