//! `check` accepts `count` of any type. Caught by connection/rejects_wrong_type.
//!
//! ctest: fails connection/rejects_wrong_type
//! ctest: says `count` set to "ctest-not-a-valid-value"
//! ctest: says spec says integer
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*};
use serde_json::Value;

struct IgnoresTypes;
impl Defect for IgnoresTypes {
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        // Checks that `count` is present and the bounds of the numbers it
        // is given, but not their types.
        let below = |key: &str, least: f64| {
            config
                .get(key)
                .and_then(Value::as_f64)
                .is_some_and(|n| n < least)
        };
        Ok(match config.get("count") {
            None => CheckOutcome::Failed("`count` is required".into()),
            Some(_)
                if below("count", 1.0) || below("records_per_state", 1.0) || below("seed", 0.0) =>
            {
                CheckOutcome::Failed(
                    "`count` and `records_per_state` must be at least 1, `seed` at least 0".into(),
                )
            }
            Some(_) => CheckOutcome::Succeeded,
        })
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<IgnoresTypes>);
