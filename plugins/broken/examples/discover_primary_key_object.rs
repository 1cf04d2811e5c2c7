//! The `users` primary key is an object field. Caught by discovery/primary_key_scalar.
//!
//! ctest: fails discovery/primary_key_scalar
//! ctest: says `address` is of type object
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, stream_mut};

struct KeyObject;
impl Defect for KeyObject {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        stream_mut(&mut streams, "users").primary_key = vec![vec!["address".into()]];
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<KeyObject>);
