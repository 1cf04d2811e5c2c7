//! `check` accepts a config without the required `count`. Caught by
//! connection/rejects_missing_required.
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct IgnoresRequired;
impl Defect for IgnoresRequired {
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        // Checks the type of `count` when present, but not that it is present.
        Ok(match config.get("count") {
            Some(c) if !c.is_u64() => CheckOutcome::Failed("`count` must be an integer".into()),
            _ => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<IgnoresRequired>);
