//! A new version where `users` no longer supports incremental reads. Caught by
//! backward_compatibility/catalog_sync_modes_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct SyncModeRemoved;
impl Defect for SyncModeRemoved {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").supported_sync_modes = vec![SyncMode::FullRefresh];
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<SyncModeRemoved>);
