//! `purchases` declares no sync mode. Caught by discovery/sync_modes_declared.
//!
//! ctest: fails discovery/sync_modes_declared
//! ctest: says stream `purchases` declares no sync mode
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct NoSyncModes;
impl Defect for NoSyncModes {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "purchases")
            .supported_sync_modes
            .clear();
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<NoSyncModes>);
