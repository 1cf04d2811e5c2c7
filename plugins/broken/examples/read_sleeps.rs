//! Blocks in a host call (a one-hour sleep) during its read, where epoch
//! interruption cannot reach it. Caught by basic_read/read, as a timeout.
//!
//! ctest: fails basic_read/read
//! ctest: says did not finish within its time limit
//! ctest: args --timeout 2
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Sleeps;
impl Defect for Sleeps {
    fn messages(messages: Messages) -> Messages {
        Box::new(messages.inspect(|_| std::thread::sleep(std::time::Duration::from_secs(3600))))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Sleeps>);
