//! A new version where `users` is incremental on `created_at`. Caught by
//! backward_compatibility/catalog_cursors_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct CursorChanged;
impl Defect for CursorChanged {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").default_cursor_field = vec!["created_at".into()];
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<CursorChanged>);
