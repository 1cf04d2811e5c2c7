//! `discover` offers no stream. Caught by discovery/catalog_has_streams.
//!
//! ctest: fails discovery/catalog_has_streams
//! ctest: says it is empty
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Empty;
impl Defect for Empty {
    fn discover(_streams: Vec<Stream>) -> Vec<Stream> {
        Vec::new()
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Empty>);
