//! `users` declares a `nickname` that no record fills. Caught by
//! basic_read/every_field_has_data with `validate_data_points: true`
//! (host/tests/integration/test_config.rs).
//!
//! ctest: tested-in host/tests/integration/test_config.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, stream_mut};

struct FieldNeverFilled;
impl Defect for FieldNeverFilled {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        let users = stream_mut(&mut streams, "users");
        users.json_schema["properties"]["nickname"] = json!({"type": ["null", "string"]});
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<FieldNeverFilled>);
