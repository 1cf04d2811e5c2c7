//! The `users` primary key names a field the schema lacks. Caught by
//! discovery/primary_key_in_schema.
//!
//! ctest: fails discovery/primary_key_in_schema
//! ctest: says primary key field `uuid`
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct KeyMissing;
impl Defect for KeyMissing {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").primary_key = vec![vec!["uuid".into()]];
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<KeyMissing>);
