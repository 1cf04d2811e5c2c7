//! A connector written without the SDK (whose reader cuts batches to size)
//! that answers `reader.next(max)` with one `records` batch of five million
//! empty lines: 5 MB in the guest, five million records once expanded. Caught
//! by basic_read/read before the host allocates any of them: one call may
//! return only the messages it was asked for, a batch counting as its records.
//!
//! ctest: tested-in host/tests/integration/broken_plugins.rs
use std::cell::Cell;

mod raw {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "connector",
    });
}

use raw::ctest::connector::types::{
    Catalog, CheckOutcome, ConfiguredCatalog, ConnectorError, ConnectorSpec, IngestionType,
    Message, RecordBatch, StreamInfo, StreamState, SyncMode,
};
use raw::exports::ctest::connector::source::{Guest, GuestReader, Reader};

struct TooMany;

impl Guest for TooMany {
    type Reader = OneHugeBatch;

    fn spec() -> ConnectorSpec {
        ConnectorSpec {
            name: "broken-read-batch-too-many".into(),
            version: "0.1.0".into(),
            connection_specification: r#"{"type": "object", "properties": {}}"#.into(),
            allowed_hosts: Some(Vec::new()),
            features: Vec::new(),
            documentation_url: None,
        }
    }

    fn check(_config: String) -> Result<CheckOutcome, ConnectorError> {
        Ok(CheckOutcome::Succeeded)
    }

    fn discover(_config: String) -> Result<Catalog, ConnectorError> {
        Ok(Catalog {
            streams: vec![StreamInfo {
                name: "users".into(),
                json_schema: r#"{"type": "object", "properties": {"id": {"type": "integer"}}}"#
                    .into(),
                supported_sync_modes: vec![SyncMode::FullRefresh],
                source_defined_cursor: false,
                default_cursor_field: Vec::new(),
                source_defined_primary_key: vec![vec!["id".into()]],
                ingestion_type: IngestionType::Append,
            }],
        })
    }

    fn read(
        _config: String,
        _catalog: ConfiguredCatalog,
        _state: Vec<StreamState>,
    ) -> Result<Reader, ConnectorError> {
        Ok(Reader::new(OneHugeBatch(Cell::new(false))))
    }
}

struct OneHugeBatch(Cell<bool>);

impl GuestReader for OneHugeBatch {
    fn next(&self, _max: u32) -> Result<Vec<Message>, ConnectorError> {
        if self.0.replace(true) {
            return Ok(Vec::new());
        }
        Ok(vec![Message::Records(RecordBatch {
            stream: "users".into(),
            data: vec![b'\n'; 5_000_000],
            emitted_at: 0,
        })])
    }
}

raw::export!(TooMany with_types_in raw);
