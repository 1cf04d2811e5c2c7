//! The `products` schema is not a valid JSON Schema. Caught by discovery/schemas_valid.
//!
//! ctest: fails discovery/schemas_valid
//! ctest: says stream `products`
//! ctest: says objekt
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, json, stream_mut};

struct InvalidSchema;
impl Defect for InvalidSchema {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "products").json_schema["type"] = json!("objekt");
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<InvalidSchema>);
