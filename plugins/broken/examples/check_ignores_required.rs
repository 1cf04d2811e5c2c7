//! `check` accepts a config without the required `count` (it validates the
//! fields that are present, and fills in a missing `count`). Caught by
//! connection/rejects_missing_required.
//!
//! ctest: fails connection/rejects_missing_required
//! ctest: says without the required field `count`
use broken_plugins::{Broken, Defect, ctest_sdk::prelude::*, faker_config, json};
use faker::Faker;
use serde_json::Value;

struct IgnoresRequired;
impl Defect for IgnoresRequired {
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        let mut config = config.clone();
        if let Some(map) = config.as_object_mut() {
            map.entry("count").or_insert(json!(1000));
        }
        match faker_config(&config) {
            Ok(c) => Faker::check(c),
            Err(e) => Ok(CheckOutcome::Failed(e.message)),
        }
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<IgnoresRequired>);
