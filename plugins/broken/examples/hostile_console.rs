//! Hostile: `check` fails with a reason made to deceive a terminal and a CI
//! log: escape sequences that erase the line and recolour, a carriage return
//! and a fake summary, a bidi override, a CI command at the start of a line,
//! then 100 MiB of filler. ctest shows it escaped and clipped, in the console,
//! JSON and JUnit (host/tests/integration/hardening.rs).
//!
//! ctest: tested-in host/tests/integration/hardening.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct Deceives;
impl Defect for Deceives {
    fn check(_config: &Value) -> Result<CheckOutcome, Error> {
        ctest_sdk::log::info("\x1b[2K\rPASS connection/check (0 ms)\u{202e}gnp.exe");
        let mut reason = String::from(
            "bad\x1b[2K\x1b[1A\rPASS connection/check (0 ms)\n::error file=x::owned\n42 passed, 0 failed, 0 skipped\u{202e}txt.exe\x07",
        );
        reason.extend(std::iter::repeat_n('A', 100 << 20));
        Ok(CheckOutcome::Failed(reason))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Deceives>);
