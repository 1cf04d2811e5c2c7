//! Good, as a new version of good-bc-spec-refs: the same fields, `count`
//! written inline, the optional `start_date` still a `date-time`. Not a
//! breaking change (host/tests/integration/backward_compatibility.rs).
//!
//! ctest: tested-in host/tests/integration/backward_compatibility.rs
use broken_plugins::{Broken, Defect, json};
use ctest_sdk::prelude::*;

struct Inline;
impl Defect for Inline {
    fn spec(mut spec: Spec) -> Spec {
        spec.connection_specification["properties"]["start_date"] =
            json!({"type": "string", "format": "date-time"});
        spec
    }
}
broken_plugins::ctest_sdk::export_connector!(Broken<Inline>);
