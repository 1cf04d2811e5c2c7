//! A default of the wrong type and an example that breaks its format. Caught
//! by spec/defaults_valid.
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct BadDefault;
impl Defect for BadDefault {
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
