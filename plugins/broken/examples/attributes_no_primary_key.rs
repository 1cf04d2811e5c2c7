//! `purchases` has no primary key. Caught by
//! connector_attributes/primary_keys_defined.
//!
//! ctest: fails connector_attributes/primary_keys_defined
//! ctest: says stream `purchases` has no primary key
//! ctest: says streams_without_primary_key
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct NoPrimaryKey;
impl Defect for NoPrimaryKey {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "purchases").primary_key = Vec::new();
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NoPrimaryKey>);
