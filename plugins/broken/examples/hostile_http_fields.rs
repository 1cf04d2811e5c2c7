//! Hostile: `check` makes 100,000 wasi:http `fields` resources and never
//! drops them, to grow the host's memory without bound. ctest caps the live
//! host resources of an instance and fails the test naming the cap
//! (host/tests/integration/hardening.rs).
//!
//! ctest: tested-in host/tests/integration/hardening.rs
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct HoldsFields;
impl Defect for HoldsFields {
    fn check(_config: &Value) -> Result<CheckOutcome, Error> {
        let mut held = Vec::new();
        for i in 0..100_000u32 {
            let fields = wasip2::http::types::Fields::new();
            let _ = fields.append("x-filler", format!("{i:0>1000}").as_bytes());
            held.push(fields);
        }
        Ok(CheckOutcome::Failed(format!(
            "the sandbox let the plugin hold {} header blocks",
            held.len()
        )))
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<HoldsFields>);
