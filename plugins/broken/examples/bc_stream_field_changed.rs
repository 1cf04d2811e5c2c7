//! A new version where `users.age` became a string. Caught by
//! backward_compatibility/catalog_fields_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, stream_mut};

struct FieldChanged;
impl Defect for FieldChanged {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").json_schema["properties"]["age"] =
            json!({"type": "string"});
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<FieldChanged>);
