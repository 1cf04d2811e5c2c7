//! `check` accepts `count` of any type. Caught by connection/rejects_wrong_type.
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct IgnoresTypes;
impl Defect for IgnoresTypes {
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        // Checks that `count` is present, but not its type.
        Ok(match config.get("count") {
            None => CheckOutcome::Failed("`count` is required".into()),
            Some(_) => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<IgnoresTypes>);
