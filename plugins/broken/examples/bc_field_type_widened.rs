//! A new version where `users.id` became a number: every value still
//! validates, but a destination's `INTEGER` column no longer fits. Caught by
//! backward_compatibility/catalog_fields_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, stream_mut};

struct Widened;
impl Defect for Widened {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").json_schema["properties"]["id"] =
            json!({"type": "number"});
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Widened>);
