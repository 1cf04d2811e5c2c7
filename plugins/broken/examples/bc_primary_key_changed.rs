//! A new version where `users` is keyed on `email`. Caught by
//! backward_compatibility/catalog_primary_keys_kept.
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct KeyChanged;
impl Defect for KeyChanged {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").primary_key = vec![vec!["email".into()]];
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<KeyChanged>);
