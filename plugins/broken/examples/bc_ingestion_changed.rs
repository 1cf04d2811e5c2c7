//! A new version where `purchases` is ingested `snapshot` (each read
//! replacing the last) where it was `append`. Caught by
//! backward_compatibility/catalog_ingestion_types_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct IngestionChanged;
impl Defect for IngestionChanged {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "purchases").ingestion_type = IngestionType::Snapshot;
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<IngestionChanged>);
