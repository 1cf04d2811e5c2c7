//! A release of source-faker whose `users` cursor is the user's to choose
//! (`source_defined_cursor: false`). Its successor, source-faker itself,
//! chooses the cursor: backward_compatibility/catalog_cursors_kept says so
//! (host/tests/integration/backward_compatibility.rs). On its own it passes every test.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
//! ctest: tested-in host/tests/integration/verdicts.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct UserChosen;
impl Defect for UserChosen {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").source_defined_cursor = false;
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<UserChosen>);
