//! The read keeps every record it makes, growing without end. Caught by
//! basic_read/read, at the memory limit.
//!
//! ctest: fails basic_read/read
//! ctest: says memory limit of 64 MiB
//! ctest: says --memory-limit
//! ctest: args --memory-limit 64
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Hog;
impl Defect for Hog {
    fn messages(_messages: Messages) -> Messages {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        Box::new(std::iter::from_fn(move || {
            loop {
                hoard.push(vec![7u8; 1 << 20]);
                std::hint::black_box(&hoard);
            }
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Hog>);
