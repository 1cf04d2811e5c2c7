//! Writes a megabyte to stdout and to stderr before every message of its read:
//! ctest must keep only a bounded part, without trapping the plugin, and the
//! run passes.
//!
//! ctest: tested-in host/tests/integration/sandbox.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};

struct Floods;
impl Defect for Floods {
    fn messages(messages: Messages) -> Messages {
        let line = "spam ".repeat(1 << 18);
        Box::new(messages.enumerate().map(move |(i, m)| {
            if i % 500 == 0 {
                println!("{line}");
                eprintln!("{line}");
            }
            m
        }))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Floods>);
