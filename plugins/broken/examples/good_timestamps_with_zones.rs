//! Good: every date-time of source-faker is declared `airbyte_type:
//! timestamp_with_timezone`, and each carries its zone (`Z`, or an offset
//! such as `+05:30`). Every test passes (host/tests/integration/verdicts.rs).
//!
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, map_records};

struct Zoned;
impl Defect for Zoned {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        for stream in &mut streams {
            if let Some(props) = stream.json_schema["properties"].as_object_mut() {
                for field in props.values_mut() {
                    if field["format"] == json!("date-time") {
                        field["airbyte_type"] = json!("timestamp_with_timezone");
                    }
                }
            }
        }
        streams
    }
    fn messages(messages: Messages) -> Messages {
        map_records(messages, "users", |r| {
            if r["id"] == json!(5) {
                r["created_at"] = json!("2024-03-01T15:30:00+05:30");
            }
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Zoned>);
