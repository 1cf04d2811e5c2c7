//! `discover` offers `users` twice. Caught by discovery/unique_stream_names.
//!
//! ctest: fails discovery/unique_stream_names
//! ctest: says `users` (2 times)
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Duplicate;
impl Defect for Duplicate {
    fn discover(mut streams: Vec<Stream>) -> Vec<Stream> {
        streams.push(streams[0].clone());
        streams
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Duplicate>);
