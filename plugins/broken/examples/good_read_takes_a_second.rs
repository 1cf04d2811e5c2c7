//! Good: each read waits 1.2 s before its first record (a slow API). Under
//! `--timeout 2`, every read fits its own limit, while a test's two reads
//! (full_refresh/records_repeatable) take longer than one limit together.
//!
//! ctest: tested-in host/tests/integration/sandbox.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Slow;
impl Defect for Slow {
    fn messages(messages: Messages) -> Messages {
        std::thread::sleep(std::time::Duration::from_millis(1200));
        messages
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Slow>);
