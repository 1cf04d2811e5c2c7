//! The config's schema is not a valid JSON Schema. Caught by spec/connection_specification_valid.
//!
//! ctest: fails spec/connection_specification_valid
//! ctest: says at `/properties/count/type`
//! ctest: says integr
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct InvalidSchema;
impl Defect for InvalidSchema {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["count"] = json!({"type": "integr"});
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<InvalidSchema>);
