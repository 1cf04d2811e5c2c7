//! A new version without the `purchases` stream. Caught by
//! backward_compatibility/catalog_streams_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct StreamRemoved;
impl Defect for StreamRemoved {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        streams.retain(|s| s.name != "purchases");
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<StreamRemoved>);
