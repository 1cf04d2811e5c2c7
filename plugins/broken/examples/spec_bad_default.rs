//! A default of the wrong type and an example that breaks its format. Caught
//! by spec/defaults_valid.
//!
//! ctest: fails spec/defaults_valid
//! ctest: says 2 are not
//! ctest: says `/properties/count/default` = "lots"
//! ctest: says `/properties/start_date/examples/1` = "yesterday"
use broken_plugins::{Broken, Defect, Value, faker_config, json};
use ctest_sdk::prelude::*;
use faker::Faker;

struct BadDefault;
impl Defect for BadDefault {
    fn check(config: &Value) -> Result<CheckOutcome, Error> {
        // Its `check` keeps the spec it states (the values, not the examples).
        if let Some(start) = config.get("start_date")
            && start
                .as_str()
                .is_none_or(|s| chrono::DateTime::parse_from_rfc3339(s).is_err())
        {
            return Ok(CheckOutcome::Failed(
                "`start_date` must be an RFC 3339 date-time".into(),
            ));
        }
        match faker_config(config) {
            Ok(c) => Faker::check(c),
            Err(e) => Ok(CheckOutcome::Failed(e.message)),
        }
    }
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["count"]["default"] = json!("lots");
        spec.connection_specification["properties"]["start_date"] = json!({
            "type": "string",
            "format": "date-time",
            "examples": ["2024-01-01T00:00:00Z", "yesterday"]
        });
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<BadDefault>);
