//! The `users` cursor names a field the schema lacks. Caught by discovery/cursor_in_schema.
//!
//! ctest: fails discovery/cursor_in_schema
//! ctest: says cursor field `modified_at`
//! ctest: says declared: address
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct CursorMissing;
impl Defect for CursorMissing {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").default_cursor_field = vec!["modified_at".into()];
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<CursorMissing>);
