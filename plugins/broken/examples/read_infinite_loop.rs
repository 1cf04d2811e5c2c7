//! The read spins forever. Caught by basic_read/read, as a timeout.
//!
//! ctest: fails basic_read/read
//! ctest: says did not finish within its time limit
//! ctest: says --timeout
//! ctest: args --timeout 2
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Spins;
impl Defect for Spins {
    fn messages(_messages: Messages) -> Messages {
        Box::new(std::iter::from_fn(|| {
            let mut x: u64 = 1;
            loop {
                x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
            }
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Spins>);
