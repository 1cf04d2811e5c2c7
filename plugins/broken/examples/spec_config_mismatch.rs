//! The spec rejects the sample config (count is at most 10). Caught by spec/config_matches_spec.
//!
//! ctest: fails spec/config_matches_spec
//! ctest: says at `/count`
//! ctest: says maximum of 10
//! ctest: says config.json
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct ConfigMismatch;
impl Defect for ConfigMismatch {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["count"]["maximum"] = json!(10);
        // Its default within the new bound: only the config breaks the spec.
        spec.connection_specification["properties"]["count"]["default"] = json!(10);
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<ConfigMismatch>);
